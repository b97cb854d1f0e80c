//! Property tests of the working-day arithmetic over 2024–2028 (three loaded years, two provisional ones):
//! adding then counting round-trips, `add_working_days` is monotonic in `n` and in the start date, results are
//! working days, and the provisional mark (暂定) is set exactly when an unloaded year was consulted.

use bangban_workdays::{Calendar, Override};
use chrono::{Datelike, NaiveDate};
use proptest::prelude::*;

fn first() -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 1, 1).unwrap()
}

/// A date in 2024-01-01 ..= 2028-12-31.
fn date() -> impl Strategy<Value = NaiveDate> {
    let span = (NaiveDate::from_ymd_opt(2028, 12, 31).unwrap() - first()).num_days() as u64;
    (0..=span).prop_map(|offset| first() + chrono::Days::new(offset))
}

/// The embedded calendar, optionally with a few random local closures and extra working days.
fn calendar() -> impl Strategy<Value = Calendar> {
    prop::collection::vec((date(), any::<bool>()), 0..6).prop_map(|overrides| {
        overrides.into_iter().fold(Calendar::embedded(), |calendar, (date, working)| {
            calendar.with_override(Override { date, working, name: "测试".into(), reason: "proptest".into() })
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn adding_then_counting_round_trips(calendar in calendar(), start in date(), n in 1u32..=200) {
        let end = calendar.add_working_days(start, n);
        prop_assert!(end.value > start);
        let counted = calendar.working_days_between(start, end.value);
        prop_assert_eq!(counted.value, n);
        // Both consult exactly the dates (start, end], so they agree on the mark.
        prop_assert_eq!(counted.provisional, end.provisional);
    }

    #[test]
    fn results_are_working_days(calendar in calendar(), start in date(), n in 0u32..=200) {
        let end = calendar.add_working_days(start, n).value;
        prop_assert!(end >= start);
        prop_assert!(calendar.is_working_day(end).value);
        prop_assert_eq!(calendar.next_working_day(start).value, calendar.add_working_days(start, 1).value);
    }

    #[test]
    fn monotonic_in_n(calendar in calendar(), start in date(), n in 0u32..200) {
        let a = calendar.add_working_days(start, n).value;
        let b = calendar.add_working_days(start, n + 1).value;
        if n == 0 {
            prop_assert!(a <= b);
        } else {
            prop_assert!(a < b);
        }
    }

    #[test]
    fn monotonic_in_the_start_date(calendar in calendar(), x in date(), y in date(), n in 0u32..=200) {
        let (early, late) = if x <= y { (x, y) } else { (y, x) };
        prop_assert!(calendar.add_working_days(early, n).value <= calendar.add_working_days(late, n).value);
    }

    #[test]
    fn counting_is_additive(calendar in calendar(), x in date(), y in date(), z in date()) {
        let mut points = [x, y, z];
        points.sort();
        let [a, b, c] = points;
        let whole = calendar.working_days_between(a, c).value;
        prop_assert_eq!(whole, calendar.working_days_between(a, b).value + calendar.working_days_between(b, c).value);
        prop_assert_eq!(calendar.working_days_between(c, a).value, 0);
    }

    #[test]
    fn provisional_exactly_when_an_unloaded_year_is_consulted(start in date(), n in 0u32..=200) {
        let calendar = Calendar::embedded();
        let end = calendar.add_working_days(start, n);
        // Without overrides the consulted dates run from the first one (start for n = 0, the day after
        // otherwise) to the result; only 2027 and later are unloaded in this range.
        prop_assert_eq!(end.provisional, end.value.year() >= 2027);
        prop_assert_eq!(calendar.is_working_day(start).provisional, start.year() >= 2027);
    }

    #[test]
    fn deadline_is_the_end_of_the_first_working_day_from_the_date(start in date()) {
        let calendar = Calendar::embedded();
        let due = calendar.deadline_instant(start);
        let day = calendar.add_working_days(start, 0);
        prop_assert_eq!(due.provisional, day.provisional);
        let local = due.value.with_timezone(&bangban_workdays::shanghai());
        prop_assert_eq!(local.date_naive(), day.value.succ_opt().unwrap());
        prop_assert_eq!(local.time(), chrono::NaiveTime::MIN);
    }
}
