//! The arithmetic of a clock (计时规则), pure: due dates across holidays and make-up days, pauses, extensions
//! and the warning threshold.
//!
//! - A time limit of `n` working days starting on day `d` (the receipt, or the dispatch) ends on the `n`-th
//!   working day after `d` (the start day does not count, 期间开始的当日不计入), and expires at the end of that
//!   day in Asia/Shanghai ([`Calendar::deadline_instant`]).
//! - A closed pause excludes the working days after the day it began up to and including the day it ended
//!   (a pause opened and closed on one day excludes nothing); overlapping pauses are merged. While a pause is
//!   open the clock has no due instant and no alarm.
//! - Extensions add working days.
//! - The warning comes when `max(warn_working_days, ⌈warn_percent × limit⌉)` working days remain (at most the
//!   whole limit), i.e. at the end of the working day that many working days before the due date.

use bangban_workdays::{Calendar, shanghai};
use chrono::{DateTime, Days, NaiveDate, NaiveTime, Utc};

/// The date of an instant in Asia/Shanghai.
pub fn local_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&shanghai()).date_naive()
}

/// The instant a day ends in Asia/Shanghai (00:00 of the next day).
pub fn end_of_day(date: NaiveDate) -> DateTime<Utc> {
    let next = date.checked_add_days(Days::new(1)).unwrap_or(date);
    next.and_time(NaiveTime::MIN)
        .and_local_timezone(shanghai())
        .single()
        .map_or_else(Utc::now, |d| d.with_timezone(&Utc))
}

/// Warning thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    pub warn_working_days: u32,
    pub warn_percent: u32,
}

/// What a clock's schedule is computed from.
#[derive(Debug, Clone)]
pub struct ClockInput {
    pub started_at: DateTime<Utc>,
    pub promised_working_days: u32,
    pub extension_working_days: u32,
    /// Every pause: start and, once closed, end.
    pub pauses: Vec<(DateTime<Utc>, Option<DateTime<Utc>>)>,
}

/// A clock's schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Computed {
    pub paused: bool,
    /// Working days the closed pauses exclude.
    pub excluded_working_days: u32,
    pub due_date: Option<NaiveDate>,
    pub due_at: Option<DateTime<Utc>>,
    pub warn_at: Option<DateTime<Utc>>,
    pub provisional: bool,
}

/// The working days remaining before a time limit of `limit` days expires when the warning comes.
pub fn warning_days(limit: u32, t: Thresholds) -> u32 {
    let by_share = (u64::from(limit) * u64::from(t.warn_percent)).div_ceil(100) as u32;
    t.warn_working_days.max(by_share).min(limit)
}

/// Merges pause intervals (an open one runs to "now", i.e. forever).
fn merged(
    pauses: &[(DateTime<Utc>, Option<DateTime<Utc>>)],
    start: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, Option<DateTime<Utc>>)> {
    let mut v: Vec<_> = pauses
        .iter()
        .map(|(s, e)| ((*s).max(start), e.map(|e| e.max(start))))
        .filter(|(s, e)| e.is_none_or(|e| e >= *s))
        .collect();
    v.sort_by_key(|(s, _)| *s);
    let mut out: Vec<(DateTime<Utc>, Option<DateTime<Utc>>)> = Vec::new();
    for (s, e) in v {
        if let Some(last) = out.last_mut() {
            match last.1 {
                None => continue,
                Some(le) if s <= le => {
                    last.1 = e.map(|e| le.max(e));
                    continue;
                }
                _ => {}
            }
        }
        out.push((s, e));
    }
    out
}

/// Working days the closed pauses exclude.
pub fn excluded_working_days(calendar: &Calendar, input: &ClockInput) -> (u32, bool) {
    let mut days = 0;
    let mut open = false;
    for (s, e) in merged(&input.pauses, input.started_at) {
        match e {
            Some(e) => days += calendar.working_days_between(local_date(s), local_date(e)).value,
            None => open = true,
        }
    }
    (days, open)
}

/// The schedule of a started clock.
pub fn compute(calendar: &Calendar, input: &ClockInput, t: Thresholds) -> Computed {
    let (excluded, paused) = excluded_working_days(calendar, input);
    if paused {
        return Computed {
            paused: true,
            excluded_working_days: excluded,
            due_date: None,
            due_at: None,
            warn_at: None,
            provisional: false,
        };
    }
    let limit = input.promised_working_days + input.extension_working_days;
    let start_day = local_date(input.started_at);
    let due = calendar.add_working_days(start_day, limit + excluded);
    let due_at = calendar.deadline_instant(due.value);
    let warn_days = warning_days(limit, t);
    let warn_at = (warn_days > 0).then(|| {
        let day = calendar.sub_working_days(due.value, warn_days).value;
        end_of_day(day).max(input.started_at)
    });
    Computed {
        paused: false,
        excluded_working_days: excluded,
        due_date: Some(due.value),
        due_at: Some(due_at.value),
        warn_at: warn_at.filter(|w| *w < due_at.value),
        provisional: due.provisional || due_at.provisional,
    }
}

/// Working days left at `now` before `due_date` ends, counting today when it is a working day after the start
/// day (the start day is not part of the time limit); negative: working days overdue (at least 1 once the due
/// instant has passed).
pub fn remaining_working_days(
    calendar: &Calendar,
    start: NaiveDate,
    due_date: NaiveDate,
    due_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> i32 {
    let today = local_date(now);
    if now >= due_at {
        -(calendar.working_days_between(due_date, today).value.max(1) as i32)
    } else {
        let from = today.pred_opt().unwrap_or(today).max(start);
        calendar.working_days_between(from, due_date).value as i32
    }
}

/// Working days used from the start to the finish, the excluded ones left out.
pub fn used_working_days(
    calendar: &Calendar,
    started_at: DateTime<Utc>,
    finished_at: DateTime<Utc>,
    excluded: u32,
) -> u32 {
    calendar.working_days_between(local_date(started_at), local_date(finished_at)).value.saturating_sub(excluded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    const T: Thresholds = Thresholds { warn_working_days: 2, warn_percent: 20 };

    fn input(start: &str, days: u32) -> ClockInput {
        ClockInput { started_at: at(start), promised_working_days: days, extension_working_days: 0, pauses: vec![] }
    }

    #[test]
    fn due_across_the_national_day_holiday_and_make_up_days() {
        let cal = Calendar::embedded();
        // Received Monday 2025-09-29 10:00 (北京时间). 2025: 10-01…10-08 off; Sunday 09-28 and Saturday 10-11 are
        // make-up working days. Five working days: 09-30, 10-09, 10-10, 10-11 (Saturday, make-up), 10-13.
        let c = compute(&cal, &input("2025-09-29T02:00:00Z", 5), T);
        assert_eq!(c.due_date, Some(d("2025-10-13")));
        assert_eq!(c.due_at, Some(at("2025-10-13T16:00:00Z")));
        assert!(!c.provisional);
        // Two working days remain from the end of 10-10 (10-11 and 10-13).
        assert_eq!(c.warn_at, Some(at("2025-10-10T16:00:00Z")));
    }

    #[test]
    fn spring_festival_and_provisional_years() {
        let cal = Calendar::embedded();
        // Received Friday 2025-01-24; 01-26 (Sunday) is a make-up day, 01-28…02-04 off, 02-08 (Saturday) make-up.
        let c = compute(&cal, &input("2025-01-24T01:00:00Z", 3), T);
        assert_eq!(c.due_date, Some(d("2025-02-05")));
        // Beyond the loaded years the weekday rule applies, marked provisional.
        let c = compute(&cal, &input("2027-03-01T01:00:00Z", 5), T);
        assert_eq!(c.due_date, Some(d("2027-03-08")));
        assert!(c.provisional);
    }

    #[test]
    fn warning_threshold_is_the_earlier_of_days_and_share() {
        assert_eq!(warning_days(20, T), 4);
        assert_eq!(warning_days(5, T), 2);
        assert_eq!(warning_days(1, T), 1);
        assert_eq!(warning_days(0, T), 0);
        assert_eq!(warning_days(60, Thresholds { warn_working_days: 2, warn_percent: 0 }), 2);
    }

    #[test]
    fn pauses_exclude_whole_working_days_and_an_open_pause_stops_the_alarms() {
        let cal = Calendar::embedded();
        // 2026-03-02 is a Monday; 10 working days → 2026-03-16.
        let mut i = input("2026-03-02T01:00:00Z", 10);
        assert_eq!(compute(&cal, &i, T).due_date, Some(d("2026-03-16")));
        // Paused Wednesday 03-04, resumed Monday 03-09: Thursday, Friday and Monday excluded.
        i.pauses.push((at("2026-03-04T02:00:00Z"), Some(at("2026-03-09T02:00:00Z"))));
        let c = compute(&cal, &i, T);
        assert_eq!(c.excluded_working_days, 3);
        assert_eq!(c.due_date, Some(d("2026-03-19")));
        // An overlapping pause adds nothing twice; a same-day pause adds nothing.
        i.pauses.push((at("2026-03-05T02:00:00Z"), Some(at("2026-03-06T02:00:00Z"))));
        i.pauses.push((at("2026-03-11T02:00:00Z"), Some(at("2026-03-11T08:00:00Z"))));
        assert_eq!(compute(&cal, &i, T).excluded_working_days, 3);
        // Open: no due instant.
        i.pauses.push((at("2026-03-12T02:00:00Z"), None));
        let c = compute(&cal, &i, T);
        assert!(c.paused);
        assert_eq!(c.due_at, None);
        assert_eq!(c.warn_at, None);
    }

    #[test]
    fn extensions_add_working_days() {
        let cal = Calendar::embedded();
        let mut i = input("2026-03-02T01:00:00Z", 10);
        i.extension_working_days = 10;
        assert_eq!(compute(&cal, &i, T).due_date, Some(d("2026-03-30")));
    }

    #[test]
    fn a_calendar_change_moves_the_due_date() {
        let mut cal = Calendar::embedded();
        let i = input("2026-03-02T01:00:00Z", 10);
        cal.set_override(bangban_workdays::Override {
            date: d("2026-03-10"),
            working: false,
            name: "台风停工".into(),
            reason: "市政府通知".into(),
        });
        assert_eq!(compute(&cal, &i, T).due_date, Some(d("2026-03-17")));
    }

    #[test]
    fn remaining_and_used() {
        let cal = Calendar::embedded();
        let due = d("2026-03-16");
        let due_at = cal.deadline_instant(due).value;
        // Friday 03-13: Friday and Monday remain.
        let start = d("2026-03-02");
        assert_eq!(remaining_working_days(&cal, start, due, due_at, at("2026-03-02T02:00:00Z")), 10);
        assert_eq!(remaining_working_days(&cal, start, due, due_at, at("2026-03-13T02:00:00Z")), 2);
        assert_eq!(remaining_working_days(&cal, start, due, due_at, at("2026-03-16T09:00:00Z")), 1);
        // Tuesday morning: one working day overdue; Saturday after: three (Tue, Wed… Fri = 4).
        assert_eq!(remaining_working_days(&cal, start, due, due_at, at("2026-03-16T17:00:00Z")), -1);
        assert_eq!(remaining_working_days(&cal, start, due, due_at, at("2026-03-21T02:00:00Z")), -4);
        assert_eq!(used_working_days(&cal, at("2026-03-02T01:00:00Z"), at("2026-03-06T08:00:00Z"), 1), 3);
    }
}
