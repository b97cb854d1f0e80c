//! The calendar on real dates of 2024–2026 (State Council notices 国办发明电〔2023〕7号, 国办发明电〔2024〕12号 and
//! the 2026 notice of 2025-11-04): Spring Festival (春节), National Day (国庆节), every make-up working day
//! (调休上班), whole-year counts, provisional years (暂定), overrides and deadline instants.

use bangban_workdays::{Calendar, DayInfo, Override, load_year_json};
use chrono::{DateTime, NaiveDate, Utc};

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn days(from: NaiveDate, to: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    from.iter_days().take_while(move |date| *date <= to)
}

fn utc(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

#[test]
fn spring_festival_2025_every_day_is_off() {
    let calendar = Calendar::embedded();
    for date in days(d(2025, 1, 28), d(2025, 2, 4)) {
        let info = calendar.day(date);
        assert!(!info.working_day, "{date} is 春节");
        assert!(!info.provisional);
        assert_eq!(info.name.as_deref(), Some("春节"), "{date}");
    }
    // The days around it are ordinary working days.
    assert!(calendar.is_working_day(d(2025, 1, 27)).value);
    assert!(calendar.is_working_day(d(2025, 2, 5)).value);
}

#[test]
fn spring_festival_2026_every_day_is_off() {
    let calendar = Calendar::embedded();
    for date in days(d(2026, 2, 15), d(2026, 2, 23)) {
        let info = calendar.day(date);
        assert!(!info.working_day, "{date} is 春节");
        assert_eq!(info.name.as_deref(), Some("春节"), "{date}");
    }
    assert!(calendar.is_working_day(d(2026, 2, 24)).value);
}

#[test]
fn every_make_up_day_of_2025_and_2026_is_a_working_day() {
    let calendar = Calendar::embedded();
    let make_up = [
        (d(2025, 1, 26), "春节"),
        (d(2025, 2, 8), "春节"),
        (d(2025, 4, 27), "劳动节"),
        (d(2025, 9, 28), "国庆节、中秋节"),
        (d(2025, 10, 11), "国庆节、中秋节"),
        (d(2026, 1, 4), "元旦"),
        (d(2026, 2, 14), "春节"),
        (d(2026, 2, 28), "春节"),
        (d(2026, 5, 9), "劳动节"),
        (d(2026, 9, 20), "国庆节"),
        (d(2026, 10, 10), "国庆节"),
    ];
    for (date, name) in make_up {
        let info = calendar.day(date);
        assert_eq!(info, DayInfo { date, working_day: true, provisional: false, name: Some(name.to_owned()) });
    }
    // …and these are all of them: every other weekend day of both years is a rest day.
    for year in [2025, 2026] {
        let listed: Vec<_> =
            calendar.year(year).unwrap().days().iter().filter(|day| !day.is_off_day).map(|day| day.date).collect();
        let expected: Vec<_> = make_up
            .iter()
            .map(|(date, _)| *date)
            .filter(|date| date.format("%Y").to_string() == year.to_string())
            .collect();
        assert_eq!(listed, expected, "{year}");
    }
}

#[test]
fn national_day_2025_and_2026() {
    let calendar = Calendar::embedded();
    for date in days(d(2025, 10, 1), d(2025, 10, 8)) {
        assert!(!calendar.is_working_day(date).value, "{date}");
        assert_eq!(calendar.day(date).name.as_deref(), Some("国庆节、中秋节"));
    }
    for date in days(d(2026, 10, 1), d(2026, 10, 7)) {
        assert!(!calendar.is_working_day(date).value, "{date}");
        assert_eq!(calendar.day(date).name.as_deref(), Some("国庆节"));
    }
    assert!(calendar.is_working_day(d(2025, 10, 9)).value);
    assert!(calendar.is_working_day(d(2026, 10, 8)).value);
}

#[test]
fn weekday_statutory_holidays_are_not_working_days() {
    let calendar = Calendar::embedded();
    // Wednesday 元旦 2025, Wednesday 国庆 2025-10-08, Monday 劳动节 2025-05-05, Friday 元旦 2026-01-02, Friday 端午
    // 2026-06-19, Friday 中秋 2026-09-25, Thursday 清明 2024-04-04.
    for date in
        [d(2025, 1, 1), d(2025, 10, 8), d(2025, 5, 5), d(2026, 1, 2), d(2026, 6, 19), d(2026, 9, 25), d(2024, 4, 4)]
    {
        let working = calendar.is_working_day(date);
        assert!(!working.value, "{date}");
        assert!(!working.provisional, "{date}");
    }
    // Plain weekdays and weekends without a notice entry follow the weekday rule, without a name.
    assert_eq!(
        calendar.day(d(2025, 3, 3)),
        DayInfo { date: d(2025, 3, 3), working_day: true, provisional: false, name: None }
    );
    assert_eq!(
        calendar.day(d(2025, 3, 8)),
        DayInfo { date: d(2025, 3, 8), working_day: false, provisional: false, name: None }
    );
}

#[test]
fn whole_year_working_day_counts() {
    let calendar = Calendar::embedded();
    // 2024: 262 weekdays − 19 weekday holidays + 8 make-up days; 2025 and 2026: 261 − 18 + 5 and 261 − 19 + 6.
    for (year, expected) in [(2024, 251), (2025, 248), (2026, 248)] {
        let count = calendar.working_days_between(d(year - 1, 12, 31), d(year, 12, 31));
        assert_eq!(count.value, expected, "{year}");
        assert!(!count.provisional, "{year}");
    }
}

#[test]
fn adding_across_spring_festival_2025() {
    let calendar = Calendar::embedded();
    assert_eq!(calendar.add_working_days(d(2025, 1, 27), 1).value, d(2025, 2, 5));
    assert_eq!(calendar.next_working_day(d(2025, 1, 27)).value, d(2025, 2, 5));
    // Friday 1月24日 + 1 is the make-up Sunday 1月26日, + 2 is Monday 1月27日, + 3 is 2月5日.
    assert_eq!(calendar.add_working_days(d(2025, 1, 24), 1).value, d(2025, 1, 26));
    assert_eq!(calendar.add_working_days(d(2025, 1, 24), 2).value, d(2025, 1, 27));
    assert_eq!(calendar.add_working_days(d(2025, 1, 24), 3).value, d(2025, 2, 5));
    // 2月5日 Wed … 2月7日 Fri, 2月8日 make-up Saturday, then Monday 2月10日.
    assert_eq!(calendar.add_working_days(d(2025, 2, 4), 4).value, d(2025, 2, 8));
    assert_eq!(calendar.add_working_days(d(2025, 2, 4), 5).value, d(2025, 2, 10));
    // n = 0: a working day is itself, a holiday moves to the next working day.
    assert_eq!(calendar.add_working_days(d(2025, 1, 27), 0).value, d(2025, 1, 27));
    assert_eq!(calendar.add_working_days(d(2025, 1, 30), 0).value, d(2025, 2, 5));
    // A typical 20-working-day promise (承诺时限) accepted on Monday 2025-01-20: 1/21–1/24, 1/26 (调休), 1/27,
    // 2/5–2/7, 2/8 (调休), 2/10–2/14, 2/17–2/21.
    assert_eq!(calendar.add_working_days(d(2025, 1, 20), 20).value, d(2025, 2, 21));
}

#[test]
fn adding_across_spring_festival_2026() {
    let calendar = Calendar::embedded();
    // Friday 2月13日 + 1 is the make-up Saturday 2月14日, + 2 is Tuesday 2月24日.
    assert_eq!(calendar.add_working_days(d(2026, 2, 13), 1).value, d(2026, 2, 14));
    assert_eq!(calendar.add_working_days(d(2026, 2, 13), 2).value, d(2026, 2, 24));
    assert_eq!(calendar.working_days_between(d(2026, 2, 13), d(2026, 2, 28)).value, 6);
}

#[test]
fn counting_across_national_day_2025() {
    let calendar = Calendar::embedded();
    // (9月26日 Fri, 10月17日 Fri]: 9/28 (调休), 9/29, 9/30, 10/9, 10/10, 10/11 (调休), 10/13–10/17.
    let count = calendar.working_days_between(d(2025, 9, 26), d(2025, 10, 17));
    assert_eq!(count.value, 11);
    assert!(!count.provisional);
    assert_eq!(calendar.working_days_between(d(2025, 9, 30), d(2025, 10, 8)).value, 0);
    assert_eq!(calendar.add_working_days(d(2025, 9, 30), 1).value, d(2025, 10, 9));
    assert_eq!(calendar.add_working_days(d(2025, 9, 26), 11).value, d(2025, 10, 17));
    // Empty and reversed intervals count nothing.
    assert_eq!(calendar.working_days_between(d(2025, 10, 17), d(2025, 10, 17)).value, 0);
    assert_eq!(calendar.working_days_between(d(2025, 10, 17), d(2025, 9, 26)).value, 0);
}

#[test]
fn dates_past_2026_are_provisional_until_2027_is_loaded() {
    let mut calendar = Calendar::embedded();
    assert_eq!(calendar.last_loaded_year(), Some(2026));
    assert_eq!(calendar.loaded_years().collect::<Vec<_>>(), [2024, 2025, 2026]);
    // Friday 2027-01-01 counts as a working day by the weekday rule only.
    let new_year = calendar.day(d(2027, 1, 1));
    assert_eq!(new_year, DayInfo { date: d(2027, 1, 1), working_day: true, provisional: true, name: None });
    assert!(calendar.is_provisional(d(2027, 6, 1)));
    assert!(calendar.is_provisional(d(2023, 6, 1)), "years before the first schedule are provisional too");
    // The mark travels with results that consult 2027 …
    let due = calendar.add_working_days(d(2026, 12, 30), 2);
    assert_eq!(due.value, d(2027, 1, 1));
    assert!(due.provisional);
    assert!(calendar.working_days_between(d(2026, 12, 1), d(2027, 1, 4)).provisional);
    assert!(calendar.deadline_instant(d(2027, 1, 1)).provisional);
    // … and not with results that stay in 2026, even when they start right before the year ends.
    let due = calendar.add_working_days(d(2026, 12, 30), 1);
    assert_eq!(due.value, d(2026, 12, 31));
    assert!(!due.provisional);
    assert!(!calendar.working_days_between(d(2026, 12, 1), d(2026, 12, 31)).provisional);

    // A 2027 schedule (made up for the test, not the real notice) loaded at run time removes the mark.
    let schedule = load_year_json(
        r#"{"year": 2027, "papers": ["test fixture"], "days": [
            {"name": "元旦", "date": "2027-01-01", "isOffDay": true},
            {"name": "元旦", "date": "2027-01-02", "isOffDay": true},
            {"name": "元旦", "date": "2027-01-03", "isOffDay": true}]}"#,
    )
    .unwrap();
    assert!(calendar.insert_year(schedule).is_none());
    assert_eq!(calendar.last_loaded_year(), Some(2027));
    assert_eq!(
        calendar.day(d(2027, 1, 1)),
        DayInfo { date: d(2027, 1, 1), working_day: false, provisional: false, name: Some("元旦".into()) }
    );
    let due = calendar.add_working_days(d(2026, 12, 30), 2);
    assert_eq!(due.value, d(2027, 1, 4));
    assert!(!due.provisional);
    assert!(calendar.is_provisional(d(2028, 1, 3)));
}

#[test]
fn replacing_a_year_drops_its_old_days() {
    let mut calendar = Calendar::embedded();
    let corrected =
        load_year_json(r#"{"year": 2025, "days": [{"name": "元旦", "date": "2025-01-01", "isOffDay": true}]}"#)
            .unwrap();
    let previous = calendar.insert_year(corrected).expect("2025 was loaded");
    assert_eq!(previous.year(), 2025);
    assert!(!calendar.is_working_day(d(2025, 1, 1)).value);
    // 春节 is no longer in the (corrected) 2025 schedule: Tuesday 1月28日 is a plain, non-provisional weekday.
    assert_eq!(
        calendar.day(d(2025, 1, 28)),
        DayInfo { date: d(2025, 1, 28), working_day: true, provisional: false, name: None }
    );
    assert!(!calendar.is_working_day(d(2025, 1, 26)).value);
}

#[test]
fn overrides_win_over_schedules_and_the_weekday_rule() {
    let closure =
        Override {
            date: d(2025, 3, 3), working: false, name: "台风停工".into(), reason: "市政府临时停工通知".into()
        };
    let mut calendar = Calendar::embedded().with_override(closure.clone());
    assert_eq!(
        calendar.day(d(2025, 3, 3)),
        DayInfo { date: d(2025, 3, 3), working_day: false, provisional: false, name: Some("台风停工".into()) }
    );
    // Friday 2月28日 + 1 skips the closed Monday.
    assert_eq!(calendar.add_working_days(d(2025, 2, 28), 1).value, d(2025, 3, 4));
    assert_eq!(calendar.working_days_between(d(2025, 2, 28), d(2025, 3, 7)).value, 4);

    // A correction turning a holiday into a working day, and a Saturday into one.
    calendar
        .set_override(Override { date: d(2025, 2, 4), working: true, name: String::new(), reason: "更正".into() });
    calendar.set_override(Override {
        date: d(2025, 3, 8),
        working: true,
        name: "补班".into(),
        reason: "本地安排".into(),
    });
    assert_eq!(calendar.add_working_days(d(2025, 1, 27), 1).value, d(2025, 2, 4));
    assert_eq!(calendar.day(d(2025, 2, 4)).name, None, "an empty override name shows as none");
    assert!(calendar.is_working_day(d(2025, 3, 8)).value);
    assert_eq!(calendar.overrides().map(|o| o.date).collect::<Vec<_>>(), [d(2025, 2, 4), d(2025, 3, 3), d(2025, 3, 8)]);

    // An override in an unloaded year is definite, not provisional.
    calendar
        .set_override(Override { date: d(2027, 2, 8), working: false, name: "测试".into(), reason: "test".into() });
    assert_eq!(calendar.is_working_day(d(2027, 2, 8)), bangban_workdays::Dated { value: false, provisional: false });

    // Replacing returns the old one; removing restores the schedule.
    let replaced = calendar.set_override(Override { reason: "改期".into(), ..closure.clone() });
    assert_eq!(replaced, Some(closure));
    assert!(calendar.remove_override(d(2025, 3, 3)).is_some());
    assert!(calendar.remove_override(d(2025, 2, 4)).is_some());
    assert!(calendar.is_working_day(d(2025, 3, 3)).value);
    assert!(!calendar.is_working_day(d(2025, 2, 4)).value);
    assert!(calendar.remove_override(d(2025, 2, 4)).is_none());
}

#[test]
fn deadline_instant_is_midnight_after_the_working_day_in_shanghai() {
    let calendar = Calendar::embedded();
    // Monday 2025-01-27 ends at 2025-01-28 00:00 +08:00.
    let end = calendar.deadline_instant(d(2025, 1, 27));
    assert_eq!(end.value, utc("2025-01-27T16:00:00Z"));
    assert!(!end.provisional);
    // A deadline on 春节 moves to the end of the first working day after it.
    assert_eq!(
        calendar.deadline_instant(d(2025, 1, 28)).value,
        utc("2025-02-04T16:00:00Z").checked_add_days(chrono::Days::new(1)).unwrap()
    );
    // A make-up Saturday is a working day of its own.
    assert_eq!(calendar.deadline_instant(d(2026, 2, 14)).value, utc("2026-02-14T16:00:00Z"));
    // The last day of a year.
    assert_eq!(calendar.deadline_instant(d(2026, 12, 31)).value, utc("2026-12-31T16:00:00Z"));
    assert_eq!(
        calendar.deadline_instant(d(2026, 12, 31)).value.with_timezone(&bangban_workdays::shanghai()).to_rfc3339(),
        "2027-01-01T00:00:00+08:00"
    );
}

#[test]
fn day_info_serializes_as_the_api_body() {
    let calendar = Calendar::embedded();
    let body = serde_json::to_value(calendar.day(d(2026, 2, 14))).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"date": "2026-02-14", "working_day": true, "provisional": false, "name": "春节"})
    );
    let body = serde_json::to_value(calendar.day(d(2027, 3, 1))).unwrap();
    assert_eq!(body, serde_json::json!({"date": "2027-03-01", "working_day": true, "provisional": true, "name": null}));
    let dated = serde_json::to_value(calendar.add_working_days(d(2025, 1, 27), 1)).unwrap();
    assert_eq!(dated, serde_json::json!({"value": "2025-02-05", "provisional": false}));
}
