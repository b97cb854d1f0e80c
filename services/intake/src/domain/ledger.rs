//! Ledger numbers (台账编号): `BB-<office>-<year>-<6-digit sequence>`, unique per office and year.

use chrono::{DateTime, Datelike, FixedOffset, Utc};

/// China Standard Time; China keeps no daylight saving, so a fixed offset is exact.
pub fn shanghai() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("valid offset")
}

/// The ledger year of an instant: the calendar year in Asia/Shanghai.
pub fn ledger_year(at: DateTime<Utc>) -> i32 {
    at.with_timezone(&shanghai()).year()
}

/// `BB-371625-2026-000123`.
pub fn ledger_number(office: &str, year: i32, sequence: i64) -> String {
    format!("BB-{office}-{year}-{sequence:06}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn formats_with_six_digits() {
        assert_eq!(ledger_number("371625", 2026, 123), "BB-371625-2026-000123");
        assert_eq!(ledger_number("371600", 2026, 1_000_000), "BB-371600-2026-1000000");
    }

    #[test]
    fn new_year_begins_in_shanghai() {
        // 2026-12-31 16:30 UTC is already 2027-01-01 00:30 in Binzhou.
        let t = Utc.with_ymd_and_hms(2026, 12, 31, 16, 30, 0).unwrap();
        assert_eq!(ledger_year(t), 2027);
        let t = Utc.with_ymd_and_hms(2026, 12, 31, 15, 59, 0).unwrap();
        assert_eq!(ledger_year(t), 2026);
    }
}
