//! Loading schedules (年度节假日安排) from the holiday-cn day-list JSON: the embedded files and every validation
//! rule of `load_year_json`.

use bangban_workdays::{CalendarError, load_year_json};
use chrono::{NaiveDate, Weekday};

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn schedule(year: i32, days: &str) -> String {
    format!(r#"{{"year": {year}, "days": [{days}]}}"#)
}

#[test]
fn embedded_files_are_valid_and_round_trip() {
    for (json, year, listed, make_up) in [
        (include_str!("../data/2024.json"), 2024, 38, 8),
        (include_str!("../data/2025.json"), 2025, 33, 5),
        (include_str!("../data/2026.json"), 2026, 39, 6),
    ] {
        let schedule = load_year_json(json).unwrap();
        assert_eq!(schedule.year(), year);
        assert_eq!(schedule.days().len(), listed, "{year}");
        assert_eq!(schedule.days().iter().filter(|day| !day.is_off_day).count(), make_up, "{year}");
        assert!(schedule.papers().iter().any(|paper| paper.contains("国务院办公厅")), "{year} names its source");
        assert!(schedule.days().windows(2).all(|w| w[0].date < w[1].date), "{year} sorted");
        let again = load_year_json(&serde_json::to_string(&schedule).unwrap()).unwrap();
        assert_eq!(again, schedule);
    }
}

#[test]
fn known_facts_of_the_2024_notice() {
    let schedule = load_year_json(include_str!("../data/2024.json")).unwrap();
    let off = |date| schedule.days().iter().any(|day| day.date == date && day.is_off_day);
    let make_up = |date| schedule.days().iter().any(|day| day.date == date && !day.is_off_day);
    assert!(d(2024, 2, 10).iter_days().take(8).all(off), "春节 2月10日至17日");
    assert!(make_up(d(2024, 2, 4)) && make_up(d(2024, 2, 18)));
    assert!(!off(d(2024, 2, 9)), "除夕 was only encouraged as a day off, not a holiday");
}

#[test]
fn papers_is_optional_and_holiday_cn_keys_are_accepted() {
    let json = r#"{"$schema": "https://example/schema.json", "$id": "https://example/2030.json", "year": 2030,
        "days": [{"name": "元旦", "date": "2030-01-01", "isOffDay": true}]}"#;
    let schedule = load_year_json(json).unwrap();
    assert!(schedule.papers().is_empty());
    assert_eq!(schedule.days()[0].date, d(2030, 1, 1));
}

#[test]
fn rejects_malformed_json_and_unknown_keys() {
    assert!(matches!(load_year_json("{"), Err(CalendarError::Json(_))));
    assert!(matches!(load_year_json(r#"{"year": 2030}"#), Err(CalendarError::Json(_))));
    let typo = r#"{"year": 2030, "days": [{"name": "元旦", "date": "2030-01-01", "offDay": true}]}"#;
    assert!(matches!(load_year_json(typo), Err(CalendarError::Json(_))));
}

#[test]
fn rejects_dates_that_do_not_exist() {
    for date in ["2025-02-29", "2025-13-01", "2025-04-31", "2025-2-8", "20250208", "2025-02-08T00:00", ""] {
        let json = schedule(2025, &format!(r#"{{"name": "春节", "date": "{date}", "isOffDay": true}}"#));
        match load_year_json(&json) {
            Err(CalendarError::InvalidDate { date: bad }) => assert_eq!(bad, date),
            other => panic!("{date}: {other:?}"),
        }
    }
    // 2月29日 of a leap year is real.
    let leap = schedule(2024, r#"{"name": "测试", "date": "2024-02-29", "isOffDay": true}"#);
    assert!(load_year_json(&leap).is_ok());
}

#[test]
fn rejects_a_date_outside_the_year() {
    let json = schedule(2025, r#"{"name": "元旦", "date": "2024-12-31", "isOffDay": true}"#);
    assert!(
        matches!(load_year_json(&json), Err(CalendarError::YearMismatch { year: 2025, date }) if date == d(2024, 12, 31))
    );
}

#[test]
fn rejects_duplicates() {
    let json = schedule(
        2025,
        r#"{"name": "春节", "date": "2025-01-28", "isOffDay": true}, {"name": "元旦", "date": "2025-01-01", "isOffDay": true},
           {"name": "春节", "date": "2025-01-28", "isOffDay": true}"#,
    );
    assert!(matches!(load_year_json(&json), Err(CalendarError::Duplicate { date }) if date == d(2025, 1, 28)));
}

#[test]
fn make_up_days_must_be_weekends() {
    // Monday 2025-01-27 cannot be a make-up working day; Sunday 1月26日 and Saturday 2月8日 can.
    let json = schedule(2025, r#"{"name": "春节", "date": "2025-01-27", "isOffDay": false}"#);
    assert!(matches!(
        load_year_json(&json),
        Err(CalendarError::MakeUpNotOnWeekend { date, weekday: Weekday::Mon }) if date == d(2025, 1, 27)
    ));
    let json = schedule(
        2025,
        r#"{"name": "春节", "date": "2025-01-26", "isOffDay": false}, {"name": "春节", "date": "2025-02-08", "isOffDay": false}"#,
    );
    assert!(load_year_json(&json).is_ok());
    // Days off may fall on any day of the week (weekend days inside a holiday are listed too).
    let json = schedule(2025, r#"{"name": "春节", "date": "2025-02-01", "isOffDay": true}"#);
    assert!(load_year_json(&json).is_ok());
}

#[test]
fn rejects_empty_names() {
    let json = schedule(2025, r#"{"name": " ", "date": "2025-01-01", "isOffDay": true}"#);
    assert!(matches!(load_year_json(&json), Err(CalendarError::EmptyName { .. })));
}

#[test]
fn errors_read_well() {
    let json = schedule(2025, r#"{"name": "春节", "date": "2025-01-27", "isOffDay": false}"#);
    let message = load_year_json(&json).unwrap_err().to_string();
    assert_eq!(message, "2025-01-27 is a Mon; a make-up working day (调休上班) must be a Saturday or Sunday");
}
