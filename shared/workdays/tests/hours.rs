//! Working hours (09:00–17:00 Beijing on working days) and counting back working days.

use bangban_workdays::Calendar;
use chrono::{DateTime, NaiveDate, Utc};

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

#[test]
fn working_hours_skip_nights_weekends_and_holidays() {
    let cal = Calendar::embedded();
    // Monday 2026-03-02 09:00 + 8 h = 17:00 the same day.
    assert_eq!(cal.add_working_hours(at("2026-03-02T01:00:00Z"), 8), at("2026-03-02T09:00:00Z"));
    // Friday 15:00 + 4 h = Monday 11:00.
    assert_eq!(cal.add_working_hours(at("2026-03-06T07:00:00Z"), 4), at("2026-03-09T03:00:00Z"));
    // Received at night: counting starts at 09:00 the next working day.
    assert_eq!(cal.add_working_hours(at("2026-03-02T14:00:00Z"), 1), at("2026-03-03T02:00:00Z"));
    // Thursday 2025-09-30 16:00 + 2 h crosses the National Day holiday (10-01…10-08) to 10-09 10:00.
    assert_eq!(cal.add_working_hours(at("2025-09-30T08:00:00Z"), 2), at("2025-10-09T02:00:00Z"));
}

#[test]
fn counting_back_working_days_inverts_counting_forward() {
    let cal = Calendar::embedded();
    assert_eq!(cal.sub_working_days(d("2026-03-16"), 2).value, d("2026-03-12"));
    assert_eq!(cal.sub_working_days(d("2026-03-16"), 0).value, d("2026-03-16"));
    for n in 1..40 {
        let start = d("2025-09-20");
        let end = cal.add_working_days(start, n).value;
        let back = cal.sub_working_days(end, n).value;
        assert_eq!(cal.working_days_between(back, end).value, n);
    }
}
