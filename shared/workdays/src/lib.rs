//! The Chinese working-day calendar (工作日历) shared by every Bangban service: every time limit in the
//! product (承诺办结时限, 法定时限) is counted in working days (工作日), which the State Council moves every year
//! with its holiday notice (国务院办公厅关于部分节假日安排的通知).
//!
//! - The schedules of 2024, 2025 and 2026 are compiled in ([`Calendar::embedded`]); later years are loaded at
//!   run time from the same holiday-cn day-list JSON ([`load_year_json`], [`Calendar::insert_year`]).
//! - Make-up working days (调休上班, e.g. Saturday 2026-02-14) are working days; statutory holidays (法定节假日)
//!   on weekdays are not.
//! - Local closures and corrections are [`Override`]s and win over every schedule.
//! - Dates in a year without a loaded schedule follow the weekday rule and are **provisional** (暂定); every
//!   result carries that mark in [`Dated::provisional`].
//!
//! ```
//! use bangban_workdays::Calendar;
//! use chrono::NaiveDate;
//!
//! let calendar = Calendar::embedded();
//! let monday = NaiveDate::from_ymd_opt(2025, 1, 27).unwrap();
//! // One working day after the Monday before Spring Festival (春节, 1月28日至2月4日) is Wednesday 2月5日.
//! let due = calendar.add_working_days(monday, 1);
//! assert_eq!(due.value, NaiveDate::from_ymd_opt(2025, 2, 5).unwrap());
//! assert!(!due.provisional);
//! ```

mod calendar;
mod schedule;

pub use calendar::{Calendar, Dated, DayInfo, Override, shanghai};
pub use schedule::{CalendarError, ScheduleDay, YearSchedule, load_year_json};
