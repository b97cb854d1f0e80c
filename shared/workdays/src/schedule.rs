//! One year's official holiday schedule (年度节假日安排) in the holiday-cn day-list format, and its
//! validation.
//!
//! The format is the one of the public holiday-cn data set:
//!
//! ```json
//! {"year": 2025, "papers": ["…source…"], "days": [{"name": "春节", "date": "2025-01-28", "isOffDay": true}]}
//! ```
//!
//! Every day the State Council notice (国务院办公厅关于某年部分节假日安排的通知) changes from the plain
//! Monday–Friday rule is listed: `isOffDay: true` is a day of the holiday (法定节假日 or 放假调休, weekend days
//! inside the holiday included), `isOffDay: false` is a make-up working day on a weekend (调休上班). Days not
//! listed follow the weekday rule.

use chrono::{Datelike, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

/// Why a schedule could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    /// Not JSON, or not the day-list shape.
    #[error("the schedule is not valid day-list JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A `date` that is not a real `YYYY-MM-DD` calendar date (e.g. `2025-02-30`).
    #[error("`{date}` is not a real calendar date (YYYY-MM-DD)")]
    InvalidDate {
        /// The text as given.
        date: String,
    },
    /// A date that lies outside the schedule's `year`.
    #[error("{date} is not in the schedule's year {year}")]
    YearMismatch {
        /// The schedule's `year`.
        year: i32,
        /// The offending date.
        date: NaiveDate,
    },
    /// The same date listed twice.
    #[error("{date} is listed more than once")]
    Duplicate {
        /// The repeated date.
        date: NaiveDate,
    },
    /// A make-up working day (调休上班, `isOffDay: false`) that is not a Saturday or Sunday: only weekend
    /// days can be turned into working days.
    #[error("{date} is a {weekday:?}; a make-up working day (调休上班) must be a Saturday or Sunday")]
    MakeUpNotOnWeekend {
        /// The offending date.
        date: NaiveDate,
        /// Its day of the week.
        weekday: Weekday,
    },
    /// A day without a holiday name.
    #[error("{date} has an empty name")]
    EmptyName {
        /// The offending date.
        date: NaiveDate,
    },
}

/// One listed day of a schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScheduleDay {
    /// The holiday it belongs to (节日名称), e.g. `春节`, `国庆节、中秋节`; make-up working days carry the name of
    /// the holiday they make up for.
    pub name: String,
    /// The date.
    pub date: NaiveDate,
    /// `true`: a day off (放假); `false`: a make-up working day on a weekend (调休上班).
    #[serde(rename = "isOffDay")]
    pub is_off_day: bool,
}

/// A validated schedule of one year (年度节假日安排). Build it with [`load_year_json`]; it serializes back to the
/// same day-list format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct YearSchedule {
    year: i32,
    papers: Vec<String>,
    days: Vec<ScheduleDay>,
}

impl YearSchedule {
    /// The calendar year it covers.
    pub fn year(&self) -> i32 {
        self.year
    }

    /// Where it was transcribed from (the notice, its number and the pages it was checked against).
    pub fn papers(&self) -> &[String] {
        &self.papers
    }

    /// The listed days, in date order.
    pub fn days(&self) -> &[ScheduleDay] {
        &self.days
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSchedule {
    #[serde(rename = "$schema", default)]
    _schema: Option<String>,
    #[serde(rename = "$id", default)]
    _id: Option<String>,
    year: i32,
    #[serde(default)]
    papers: Vec<String>,
    days: Vec<RawDay>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDay {
    name: String,
    date: String,
    #[serde(rename = "isOffDay")]
    is_off_day: bool,
}

/// Parse and validate one year's schedule in the holiday-cn day-list format.
///
/// Checks: every `date` is a real `YYYY-MM-DD` date inside `year`, no date is listed twice, every make-up
/// working day (`isOffDay: false`) is a Saturday or Sunday, and every day has a name. `papers` is optional;
/// holiday-cn's `$schema` and `$id` keys are accepted and ignored, any other key is an error.
pub fn load_year_json(json: &str) -> Result<YearSchedule, CalendarError> {
    let raw: RawSchedule = serde_json::from_str(json)?;
    let mut days = Vec::with_capacity(raw.days.len());
    for day in raw.days {
        let date = parse_date(&day.date)?;
        if date.year() != raw.year {
            return Err(CalendarError::YearMismatch { year: raw.year, date });
        }
        if day.name.trim().is_empty() {
            return Err(CalendarError::EmptyName { date });
        }
        if !day.is_off_day && !is_weekend(date) {
            return Err(CalendarError::MakeUpNotOnWeekend { date, weekday: date.weekday() });
        }
        days.push(ScheduleDay { name: day.name, date, is_off_day: day.is_off_day });
    }
    days.sort_by_key(|d| d.date);
    if let Some(pair) = days.windows(2).find(|w| w[0].date == w[1].date) {
        return Err(CalendarError::Duplicate { date: pair[0].date });
    }
    Ok(YearSchedule { year: raw.year, papers: raw.papers, days })
}

/// Strict `YYYY-MM-DD` (four-digit year, two-digit month and day); chrono alone would accept `2025-2-8`.
fn parse_date(text: &str) -> Result<NaiveDate, CalendarError> {
    let invalid = || CalendarError::InvalidDate { date: text.to_owned() };
    let shape_ok = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
    if !shape_ok {
        return Err(invalid());
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| invalid())
}

/// Saturday or Sunday (周末).
pub(crate) fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}
