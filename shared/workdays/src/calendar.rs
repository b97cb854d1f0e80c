//! The working-day calendar (工作日历): loaded yearly schedules, overrides, and the working-day arithmetic every
//! deadline (办理时限, 承诺时限) is computed with.
//!
//! A date is decided by, in order:
//! 1. an [`Override`] for that date (a local closure or a correction), which always wins;
//! 2. the loaded [`YearSchedule`] of its year: a listed day is off (放假) or a make-up working day (调休上班);
//! 3. the weekday rule: Monday–Friday work, Saturday and Sunday rest.
//!
//! A date whose year has no loaded schedule and no override is **provisional** (暂定): only the weekday rule was
//! applied, and the holidays of that year may still move it. The mark travels: every [`Dated`] result is
//! provisional when any date consulted to compute it was.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, Days, FixedOffset, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

use crate::schedule::{ScheduleDay, YearSchedule, is_weekend, load_year_json};

/// The schedules compiled into the crate, transcribed from the State Council notices (see `data/README.md`).
const EMBEDDED: [&str; 3] =
    [include_str!("../data/2024.json"), include_str!("../data/2025.json"), include_str!("../data/2026.json")];

/// China Standard Time (北京时间, Asia/Shanghai): UTC+8 all year, no daylight saving since 1991, so a fixed
/// offset is exact for every date this calendar deals with.
pub fn shanghai() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

/// A value computed from the calendar, with the mark of whether it rests on a provisional date (暂定).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Dated<T> {
    /// The result.
    pub value: T,
    /// `true` when any date consulted to compute `value` lies in a year without a loaded schedule, so the
    /// result may change once that year's notice is loaded.
    pub provisional: bool,
}

impl<T> Dated<T> {
    /// A result with its mark.
    pub fn new(value: T, provisional: bool) -> Self {
        Self { value, provisional }
    }

    /// Transform the value, keeping the mark.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Dated<U> {
        Dated { value: f(self.value), provisional: self.provisional }
    }
}

/// A local closure or a correction of one date (临时休息或更正), set by an administrator. It wins over every
/// schedule, and the date it covers is not provisional.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Override {
    /// The date.
    pub date: NaiveDate,
    /// `true`: the date is a working day; `false`: it is not.
    pub working: bool,
    /// What the day is called, shown as [`DayInfo::name`] (e.g. `台风停工`); may be empty.
    pub name: String,
    /// Why it was set (the notice or decision), for the audit trail.
    pub reason: String,
}

/// One date as `GET /api/v1/calendar/{date}` returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DayInfo {
    /// The date, `YYYY-MM-DD`.
    pub date: NaiveDate,
    /// Whether it is a working day (工作日).
    pub working_day: bool,
    /// Whether only the weekday rule decided it because its year's schedule is not loaded (暂定).
    pub provisional: bool,
    /// The holiday (节日) or override name: `春节` on a Spring Festival day and on its make-up working days;
    /// `null` on an ordinary weekday or weekend.
    pub name: Option<String>,
}

/// How one date is decided.
#[derive(Debug, Clone, Copy)]
struct Status<'a> {
    working: bool,
    provisional: bool,
    name: Option<&'a str>,
}

/// The working-day calendar: loaded yearly schedules plus overrides. Cheap to query, `Clone + Send + Sync`;
/// a service keeps one behind a lock and replaces years or overrides as the administrator loads them.
#[derive(Debug, Clone)]
pub struct Calendar {
    years: BTreeMap<i32, YearSchedule>,
    listed: HashMap<NaiveDate, ScheduleDay>,
    overrides: BTreeMap<NaiveDate, Override>,
}

impl Default for Calendar {
    /// The same as [`Calendar::embedded`].
    fn default() -> Self {
        Self::embedded()
    }
}

impl Calendar {
    /// A calendar with no schedule at all: every date is provisional and follows the weekday rule.
    pub fn empty() -> Self {
        Self { years: BTreeMap::new(), listed: HashMap::new(), overrides: BTreeMap::new() }
    }

    /// The calendar with the schedules compiled into the crate (2024, 2025 and 2026).
    pub fn embedded() -> Self {
        EMBEDDED.iter().fold(Self::empty(), |calendar, json| {
            calendar.with_year(load_year_json(json).expect("embedded schedules are valid (tested)"))
        })
    }

    /// Add or replace a year's schedule (builder form of [`Calendar::insert_year`]).
    pub fn with_year(mut self, schedule: YearSchedule) -> Self {
        self.insert_year(schedule);
        self
    }

    /// Add a year's schedule loaded at run time (e.g. next year's notice, published every November), or
    /// replace the one already loaded for that year, which is returned.
    pub fn insert_year(&mut self, schedule: YearSchedule) -> Option<YearSchedule> {
        let previous = self.years.remove(&schedule.year());
        if let Some(previous) = &previous {
            for day in previous.days() {
                self.listed.remove(&day.date);
            }
        }
        self.listed.extend(schedule.days().iter().map(|day| (day.date, day.clone())));
        self.years.insert(schedule.year(), schedule);
        previous
    }

    /// The loaded schedule of `year`, if any.
    pub fn year(&self, year: i32) -> Option<&YearSchedule> {
        self.years.get(&year)
    }

    /// The years with a loaded schedule, ascending.
    pub fn loaded_years(&self) -> impl Iterator<Item = i32> + '_ {
        self.years.keys().copied()
    }

    /// The last year with a loaded schedule; dates after it are provisional.
    pub fn last_loaded_year(&self) -> Option<i32> {
        self.years.keys().next_back().copied()
    }

    /// Add or replace an override (builder form of [`Calendar::set_override`]).
    pub fn with_override(mut self, day: Override) -> Self {
        self.set_override(day);
        self
    }

    /// Set the override of its date, returning the one it replaces.
    pub fn set_override(&mut self, day: Override) -> Option<Override> {
        self.overrides.insert(day.date, day)
    }

    /// Remove the override of `date`, returning it.
    pub fn remove_override(&mut self, date: NaiveDate) -> Option<Override> {
        self.overrides.remove(&date)
    }

    /// The overrides, in date order.
    pub fn overrides(&self) -> impl Iterator<Item = &Override> + '_ {
        self.overrides.values()
    }

    fn status(&self, date: NaiveDate) -> Status<'_> {
        if let Some(day) = self.overrides.get(&date) {
            let name = Some(day.name.as_str()).filter(|name| !name.is_empty());
            return Status { working: day.working, provisional: false, name };
        }
        if let Some(day) = self.listed.get(&date) {
            return Status { working: !day.is_off_day, provisional: false, name: Some(day.name.as_str()) };
        }
        Status { working: !is_weekend(date), provisional: !self.years.contains_key(&date.year()), name: None }
    }

    /// Whether `date` is a working day (工作日): make-up working days (调休上班) are, statutory holidays (法定节假日)
    /// on weekdays are not.
    pub fn is_working_day(&self, date: NaiveDate) -> Dated<bool> {
        let status = self.status(date);
        Dated::new(status.working, status.provisional)
    }

    /// Whether `date` is decided by the weekday rule only, its year's schedule not being loaded (暂定).
    pub fn is_provisional(&self, date: NaiveDate) -> bool {
        self.status(date).provisional
    }

    /// Everything known about one date (the body of `GET /api/v1/calendar/{date}`).
    pub fn day(&self, date: NaiveDate) -> DayInfo {
        let status = self.status(date);
        DayInfo {
            date,
            working_day: status.working,
            provisional: status.provisional,
            name: status.name.map(str::to_owned),
        }
    }

    /// The `n`-th working day after `date` (第 n 个工作日), counting the days after `date` only, so
    /// `add_working_days(d, n)` is the last day of a time limit of `n` working days starting the day after `d`.
    ///
    /// `n = 0` returns `date` itself when it is a working day, else the next working day: a time limit that ends
    /// on a rest day moves to the next working day.
    ///
    /// Provisional when any date from the first one consulted (`date` for `n = 0`, the day after otherwise) up to
    /// the result is provisional.
    ///
    /// # Panics
    /// When the result would lie past `NaiveDate::MAX`; see
    /// [`Calendar::checked_add_working_days`].
    pub fn add_working_days(&self, date: NaiveDate, n: u32) -> Dated<NaiveDate> {
        self.checked_add_working_days(date, n).expect("working-day result within chrono's date range")
    }

    /// [`Calendar::add_working_days`], `None` when the result would lie past chrono's last representable date.
    pub fn checked_add_working_days(&self, date: NaiveDate, n: u32) -> Option<Dated<NaiveDate>> {
        let mut provisional = false;
        let mut current = date;
        let mut remaining = n;
        if n == 0 {
            let status = self.status(current);
            provisional |= status.provisional;
            if status.working {
                return Some(Dated::new(current, provisional));
            }
            remaining = 1;
        }
        loop {
            current = current.succ_opt()?;
            let status = self.status(current);
            provisional |= status.provisional;
            if status.working {
                remaining -= 1;
                if remaining == 0 {
                    return Some(Dated::new(current, provisional));
                }
            }
        }
    }

    /// The first working day strictly after `date` (the same as `add_working_days(date, 1)`).
    pub fn next_working_day(&self, date: NaiveDate) -> Dated<NaiveDate> {
        self.add_working_days(date, 1)
    }

    /// The number of working days in `(from, to]`: after `from`, up to and including `to`; `0` when `to <= from`.
    /// Inverse of [`Calendar::add_working_days`]: `working_days_between(d, add_working_days(d, n)) == n` for
    /// `n >= 1`. Provisional when any date in `(from, to]` is.
    pub fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> Dated<u32> {
        let mut count = 0;
        let mut provisional = false;
        for date in from.iter_days().skip(1).take_while(|date| *date <= to) {
            let status = self.status(date);
            provisional |= status.provisional;
            count += u32::from(status.working);
        }
        Dated::new(count, provisional)
    }

    /// The instant a deadline falling on `date` expires (期限届满时刻): the end of that working day in
    /// Asia/Shanghai, i.e. 00:00 (北京时间) of the following calendar day, as an exclusive bound — the deadline
    /// is met by anything strictly before it. If `date` is not a working day the deadline moves to the end of the
    /// next working day (期间届满的最后一日是法定节假日的, 以节假日后的第一日为届满日), as
    /// [`Calendar::add_working_days`] with `n = 0`.
    ///
    /// Example: 2025-01-27 (Monday) → 2025-01-27T16:00:00Z; 2025-01-28 (春节) → 2025-02-05T16:00:00Z.
    pub fn deadline_instant(&self, date: NaiveDate) -> Dated<DateTime<Utc>> {
        self.add_working_days(date, 0).map(|day| {
            let next = day.checked_add_days(Days::new(1)).expect("a day after a working day within chrono's range");
            next.and_time(NaiveTime::MIN)
                .and_local_timezone(shanghai())
                .single()
                .expect("a fixed offset maps every local time once")
                .with_timezone(&Utc)
        })
    }
    /// The working day `n` working days before `date` (`n = 0`: `date`): walking back over rest days, so that
    /// `working_days_between(sub_working_days(d, n), d) == n` when `d` is a working day.
    pub fn sub_working_days(&self, date: NaiveDate, n: u32) -> Dated<NaiveDate> {
        let mut provisional = false;
        let mut current = date;
        let mut remaining = n;
        while remaining > 0 {
            let Some(prev) = current.pred_opt() else { break };
            current = prev;
            let status = self.status(current);
            provisional |= status.provisional;
            if status.working {
                remaining -= 1;
            }
        }
        Dated::new(current, provisional)
    }

    /// `hours` working hours after `from`, working hours being 09:00–17:00 (Asia/Shanghai) on working days
    /// (e.g. the time a unit has to acknowledge a task, 8 working hours = one working day).
    pub fn add_working_hours(&self, from: DateTime<Utc>, hours: u32) -> DateTime<Utc> {
        let tz = shanghai();
        let open = NaiveTime::from_hms_opt(9, 0, 0).unwrap_or(NaiveTime::MIN);
        let close = NaiveTime::from_hms_opt(17, 0, 0).unwrap_or(NaiveTime::MIN);
        let mut now = from.with_timezone(&tz).naive_local();
        let mut remaining = chrono::Duration::hours(i64::from(hours));
        // Ten years of days at most: enough for any time limit, and never an endless loop.
        for _ in 0..3660 {
            let day = now.date();
            if self.status(day).working && now.time() < close {
                let start = now.max(day.and_time(open));
                let available = day.and_time(close) - start;
                if remaining <= available {
                    let end = start + remaining;
                    return end.and_local_timezone(tz).single().map(|d| d.with_timezone(&Utc)).unwrap_or(from);
                }
                remaining -= available;
            }
            let Some(next) = day.succ_opt() else { return from };
            now = next.and_time(open);
        }
        from
    }
}
