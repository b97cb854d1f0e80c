//! Per-number rate limits and quiet hours (频次限制与免打扰时段), as a pure decision: given what was
//! sent to a number and when, send now or wait until a given instant. No I/O and no clock: the caller
//! passes `now` (the platform clock) and the history.
//!
//! - **Limits** are rolling windows: at instant `t` a send at `s` counts in a window of length `w` when
//!   `t - w < s`, i.e. for exactly `w` after it (a message sent at 10:00:00 frees its per-minute slot
//!   at 10:01:00 sharp). Sends recorded after `now` (a replica's clock ahead of ours) count too, until
//!   they leave the window, so skew can only make the limiter stricter.
//! - **Quiet hours** are local times in Asia/Shanghai (UTC+8, no daylight saving), start included,
//!   end excluded, and may span midnight (21:00–08:00 by default): 20:59:59 and 08:00 are outside.
//! - **Urgent** messages ([`crate::templates::TemplateId::is_urgent`]) bypass both; the caller logs why.
//! - **Never dropped**: the answer is [`Decision::SendNow`] or [`Decision::Defer`] with the earliest
//!   instant at which every window has room again and that lies outside quiet hours; deciding again at
//!   that instant with the same history gives `SendNow`.

use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;

use bangban_workdays::shanghai;
use chrono::{DateTime, NaiveTime, TimeDelta, TimeZone, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The limits for one phone number. Counts are at least 1: a limit of 0 would drop messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LimitSettings {
    /// Messages in any 60 seconds.
    pub per_minute: NonZeroU32,
    /// Messages in any 60 minutes.
    pub per_hour: NonZeroU32,
    /// Messages in any 24 hours.
    pub per_day: NonZeroU32,
    /// When non-urgent messages wait (Asia/Shanghai); `None` sends around the clock. In configuration a
    /// string: `"21:00-08:00"` or `"none"`.
    #[serde(serialize_with = "serialize_quiet_hours", deserialize_with = "deserialize_quiet_hours")]
    pub quiet_hours: Option<QuietHours>,
}

impl Default for LimitSettings {
    /// 1 a minute, 5 an hour, 10 a day, quiet 21:00–08:00.
    fn default() -> Self {
        Self {
            per_minute: NonZeroU32::MIN,
            per_hour: NonZeroU32::new(5).expect("5 is not zero"),
            per_day: NonZeroU32::new(10).expect("10 is not zero"),
            quiet_hours: Some(QuietHours::default()),
        }
    }
}

/// A daily span of local (Asia/Shanghai) time in which non-urgent messages wait: from `start`
/// (included) to `end` (excluded), over midnight when `start > end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    start: NaiveTime,
    end: NaiveTime,
}

/// Why a quiet-hours setting was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuietHoursError {
    #[error("免打扰时段应为“HH:MM-HH:MM”或“none”，而非“{0}” / quiet hours must be `HH:MM-HH:MM` or `none`, not `{0}`")]
    Syntax(String),
    #[error("免打扰时段的起止时间相同 / quiet hours must start and end at different times")]
    Empty,
}

impl QuietHours {
    /// From `start` (included) to `end` (excluded); they must differ (an empty span and a whole day
    /// are both better written otherwise: `none`, or a limit).
    pub fn new(start: NaiveTime, end: NaiveTime) -> Result<Self, QuietHoursError> {
        if start == end { Err(QuietHoursError::Empty) } else { Ok(Self { start, end }) }
    }

    /// A configuration value: `"HH:MM-HH:MM"` (spaces around the parts allowed) or `"none"` (any case)
    /// for no quiet hours.
    pub fn parse_setting(s: &str) -> Result<Option<Self>, QuietHoursError> {
        if s.trim().eq_ignore_ascii_case("none") { Ok(None) } else { s.parse().map(Some) }
    }

    pub fn start(&self) -> NaiveTime {
        self.start
    }

    pub fn end(&self) -> NaiveTime {
        self.end
    }

    /// Whether a local time of day is quiet.
    pub fn contains(&self, time: NaiveTime) -> bool {
        if self.start < self.end {
            self.start <= time && time < self.end
        } else {
            time >= self.start || time < self.end
        }
    }

    /// Whether an instant is quiet in Asia/Shanghai.
    pub fn is_quiet(&self, at: DateTime<Utc>) -> bool {
        self.contains(at.with_timezone(&shanghai()).time())
    }

    /// The earliest instant at or after `at` that is not quiet: `at` itself, or the next `end`.
    pub fn next_open(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        if !self.is_quiet(at) {
            return at;
        }
        let local = at.with_timezone(&shanghai()).naive_local();
        let mut end = local.date().and_time(self.end);
        if end <= local {
            end += TimeDelta::days(1);
        }
        // UTC+8 is a fixed offset: every local time exists exactly once.
        shanghai().from_local_datetime(&end).single().map_or(DateTime::<Utc>::MAX_UTC, |t| t.to_utc())
    }
}

impl Default for QuietHours {
    /// 21:00–08:00.
    fn default() -> Self {
        Self {
            start: NaiveTime::from_hms_opt(21, 0, 0).expect("21:00 is a time"),
            end: NaiveTime::from_hms_opt(8, 0, 0).expect("08:00 is a time"),
        }
    }
}

impl FromStr for QuietHours {
    type Err = QuietHoursError;

    /// `"21:00-08:00"`; `"none"` is not a span (see [`QuietHours::parse_setting`]).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let syntax = || QuietHoursError::Syntax(s.to_string());
        let (start, end) = s.split_once('-').ok_or_else(syntax)?;
        let time = |part: &str| {
            let part = part.trim();
            // `%H:%M` alone would also take `8:00`; ask for the two digits the documentation shows.
            if part.len() != 5 {
                return Err(syntax());
            }
            NaiveTime::parse_from_str(part, "%H:%M").map_err(|_| syntax())
        };
        Self::new(time(start)?, time(end)?)
    }
}

impl fmt::Display for QuietHours {
    /// `21:00-08:00`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.start.format("%H:%M"), self.end.format("%H:%M"))
    }
}

fn serialize_quiet_hours<S: Serializer>(value: &Option<QuietHours>, serializer: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(quiet) => serializer.collect_str(quiet),
        None => serializer.serialize_str("none"),
    }
}

fn deserialize_quiet_hours<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<QuietHours>, D::Error> {
    let text = String::deserialize(deserializer)?;
    QuietHours::parse_setting(&text).map_err(serde::de::Error::custom)
}

/// What to do with a message now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    SendNow,
    /// Keep it and try again at `until`.
    Defer {
        until: DateTime<Utc>,
        /// What `until` waits for: the constraint that clears last.
        reason: DeferReason,
    },
}

bangban_contracts::labelled_enum! {
    /// Why a message waits (暂缓原因); its spelling is the identifier in logs and the database.
    pub enum DeferReason {
        /// 免打扰时段: `until` is the end of quiet hours (possibly after a limit cleared inside them).
        QuietHours = "quiet_hours", "免打扰时段";
        /// The number had its messages for the last 60 seconds.
        PerMinute = "per_minute", "每分钟限额";
        /// … for the last 60 minutes.
        PerHour = "per_hour", "每小时限额";
        /// … for the last 24 hours.
        PerDay = "per_day", "每日限额";
    }
}

/// Whether to send a message to a number now, given the instants of the messages already sent to
/// it (in any order; only the last 24 hours matter). See the module documentation.
///
/// When several constraints hold a message back, `until` is the earliest instant free of all of
/// them and `reason` the one that clears last (quiet hours when a limit clears inside them; of two
/// limits clearing at the same instant, the longer window).
pub fn decide(settings: &LimitSettings, sent: &[DateTime<Utc>], now: DateTime<Utc>, urgent: bool) -> Decision {
    if urgent {
        return Decision::SendNow;
    }
    let windows = [
        (TimeDelta::days(1), settings.per_day, DeferReason::PerDay),
        (TimeDelta::hours(1), settings.per_hour, DeferReason::PerHour),
        (TimeDelta::minutes(1), settings.per_minute, DeferReason::PerMinute),
    ];
    let mut until = now;
    let mut reason = None;
    for (window, limit, why) in windows {
        if let Some(room) = room_from(sent, window, limit)
            && room > until
        {
            until = room;
            reason = Some(why);
        }
    }
    if let Some(quiet) = &settings.quiet_hours {
        let open = quiet.next_open(until);
        if open > until {
            until = open;
            reason = Some(DeferReason::QuietHours);
        }
    }
    match reason {
        None => Decision::SendNow,
        Some(reason) => Decision::Defer { until, reason },
    }
}

/// The earliest instant from which fewer than `limit` of `sent` lie in the window, or `None` when there
/// are fewer than `limit` sends at all. A send at `s` is in the window until `s + window`, so that
/// instant is the `limit`-th latest `s + window`: from then on at most `limit - 1` remain.
fn room_from(sent: &[DateTime<Utc>], window: TimeDelta, limit: NonZeroU32) -> Option<DateTime<Utc>> {
    let limit = usize::try_from(limit.get()).unwrap_or(usize::MAX);
    if sent.len() < limit {
        return None;
    }
    let mut leaves: Vec<DateTime<Utc>> =
        sent.iter().map(|s| s.checked_add_signed(window).unwrap_or(DateTime::<Utc>::MAX_UTC)).collect();
    let (_, nth, _) = leaves.select_nth_unstable_by(limit - 1, |a, b| b.cmp(a));
    Some(*nth)
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use proptest::prelude::*;

    use super::*;

    /// An instant given in Beijing time.
    fn bj(y: i32, m: u32, d: u32, h: u32, min: u32, s: u32) -> DateTime<Utc> {
        let local = NaiveDate::from_ymd_opt(y, m, d).unwrap().and_hms_opt(h, min, s).unwrap();
        shanghai().from_local_datetime(&local).unwrap().to_utc()
    }

    fn no_quiet() -> LimitSettings {
        LimitSettings { quiet_hours: None, ..LimitSettings::default() }
    }

    fn defer(until: DateTime<Utc>, reason: DeferReason) -> Decision {
        Decision::Defer { until, reason }
    }

    #[test]
    fn the_defaults_are_those_of_the_issue() {
        let settings = LimitSettings::default();
        assert_eq!((settings.per_minute.get(), settings.per_hour.get(), settings.per_day.get()), (1, 5, 10));
        assert_eq!(settings.quiet_hours.map(|q| q.to_string()).as_deref(), Some("21:00-08:00"));
    }

    #[test]
    fn the_first_message_goes_now() {
        assert_eq!(decide(&LimitSettings::default(), &[], bj(2025, 3, 18, 10, 0, 0), false), Decision::SendNow);
    }

    #[test]
    fn a_second_message_within_a_minute_waits_exactly_60_seconds_after_the_first() {
        let first = bj(2025, 3, 18, 10, 0, 0) + TimeDelta::milliseconds(250);
        let now = first + TimeDelta::seconds(20);
        let decision = decide(&LimitSettings::default(), &[first], now, false);
        assert_eq!(decision, defer(first + TimeDelta::seconds(60), DeferReason::PerMinute));
        // At that instant the slot is free; a nanosecond earlier it is not.
        assert_eq!(
            decide(&LimitSettings::default(), &[first], first + TimeDelta::seconds(60), false),
            Decision::SendNow
        );
        assert!(matches!(
            decide(
                &LimitSettings::default(),
                &[first],
                first + TimeDelta::seconds(60) - TimeDelta::nanoseconds(1),
                false
            ),
            Decision::Defer { reason: DeferReason::PerMinute, .. }
        ));
    }

    #[test]
    fn a_sixth_message_in_an_hour_waits_for_the_oldest_of_the_hour_to_leave() {
        // Seven sends, given out of order; the 09:10 one is out of the hour already.
        let sent = [
            bj(2025, 3, 18, 10, 20, 0),
            bj(2025, 3, 18, 9, 10, 0),
            bj(2025, 3, 18, 9, 35, 0),
            bj(2025, 3, 18, 10, 5, 0),
            bj(2025, 3, 18, 9, 50, 0),
            bj(2025, 3, 18, 10, 12, 0),
        ];
        let now = bj(2025, 3, 18, 10, 30, 0);
        // In the last hour: 09:35, 09:50, 10:05, 10:12, 10:20 — five; the oldest leaves at 10:35.
        assert_eq!(
            decide(&LimitSettings::default(), &sent, now, false),
            defer(bj(2025, 3, 18, 10, 35, 0), DeferReason::PerHour)
        );
        assert_eq!(decide(&LimitSettings::default(), &sent, bj(2025, 3, 18, 10, 35, 0), false), Decision::SendNow);
    }

    #[test]
    fn an_eleventh_message_in_a_day_waits_for_the_oldest_of_the_day_to_leave() {
        // Ten sends two hours apart from 08:30 the day before: no hour holds more than one.
        let first = bj(2025, 3, 17, 8, 30, 0);
        let sent: Vec<_> = (0..10).map(|i| first + TimeDelta::hours(2 * i)).collect();
        let now = bj(2025, 3, 18, 7, 0, 0);
        assert_eq!(decide(&no_quiet(), &sent, now, false), defer(bj(2025, 3, 18, 8, 30, 0), DeferReason::PerDay));
        // With quiet hours the same instant is already outside them.
        assert_eq!(
            decide(&LimitSettings::default(), &sent, now, false),
            defer(bj(2025, 3, 18, 8, 30, 0), DeferReason::PerDay)
        );
    }

    #[test]
    fn quiet_hours_defer_to_eight_the_next_morning() {
        let settings = LimitSettings::default();
        assert_eq!(
            decide(&settings, &[], bj(2025, 3, 18, 21, 30, 0), false),
            defer(bj(2025, 3, 19, 8, 0, 0), DeferReason::QuietHours)
        );
        assert_eq!(
            decide(&settings, &[], bj(2025, 3, 18, 21, 0, 0), false),
            defer(bj(2025, 3, 19, 8, 0, 0), DeferReason::QuietHours)
        );
        assert_eq!(
            decide(&settings, &[], bj(2025, 3, 19, 0, 0, 0), false),
            defer(bj(2025, 3, 19, 8, 0, 0), DeferReason::QuietHours)
        );
        assert_eq!(
            decide(&settings, &[], bj(2025, 3, 19, 7, 59, 0), false),
            defer(bj(2025, 3, 19, 8, 0, 0), DeferReason::QuietHours)
        );
        assert_eq!(decide(&settings, &[], bj(2025, 3, 19, 8, 0, 0), false), Decision::SendNow);
        assert_eq!(decide(&settings, &[], bj(2025, 3, 18, 20, 59, 59), false), Decision::SendNow);
    }

    #[test]
    fn a_limit_clearing_inside_quiet_hours_moves_to_their_end() {
        // Sent at 20:59:30; the next slot opens at 21:00:30, inside quiet hours.
        let sent = [bj(2025, 3, 18, 20, 59, 30)];
        assert_eq!(
            decide(&LimitSettings::default(), &sent, bj(2025, 3, 18, 20, 59, 45), false),
            defer(bj(2025, 3, 19, 8, 0, 0), DeferReason::QuietHours)
        );
        // A per-day deferral to 22:00 (when the oldest of the day, sent at 22:00 the day before as an
        // urgent notice, leaves) also moves to 08:00.
        let mut sent = vec![bj(2025, 3, 17, 22, 0, 0)];
        sent.extend((0..9).map(|i| bj(2025, 3, 18, 8, 0, 0) + TimeDelta::hours(i)));
        assert_eq!(
            decide(&no_quiet(), &sent, bj(2025, 3, 18, 19, 0, 0), false),
            defer(bj(2025, 3, 18, 22, 0, 0), DeferReason::PerDay)
        );
        assert_eq!(
            decide(&LimitSettings::default(), &sent, bj(2025, 3, 18, 19, 0, 0), false),
            defer(bj(2025, 3, 19, 8, 0, 0), DeferReason::QuietHours)
        );
    }

    #[test]
    fn a_limit_outlasting_quiet_hours_is_the_reason() {
        // At 07:59:50, sent at 07:59:30: quiet ends at 08:00, the minute slot at 08:00:30.
        let sent = [bj(2025, 3, 19, 7, 59, 30)];
        assert_eq!(
            decide(&LimitSettings::default(), &sent, bj(2025, 3, 19, 7, 59, 50), false),
            defer(bj(2025, 3, 19, 8, 0, 30), DeferReason::PerMinute)
        );
    }

    #[test]
    fn urgent_messages_bypass_limits_and_quiet_hours() {
        let now = bj(2025, 3, 18, 23, 0, 0);
        let sent: Vec<_> = (1..=20).map(|i| now - TimeDelta::seconds(i)).collect();
        assert!(matches!(decide(&LimitSettings::default(), &sent, now, false), Decision::Defer { .. }));
        assert_eq!(decide(&LimitSettings::default(), &sent, now, true), Decision::SendNow);
    }

    #[test]
    fn none_turns_quiet_hours_off() {
        let settings =
            LimitSettings { quiet_hours: QuietHours::parse_setting("none").unwrap(), ..LimitSettings::default() };
        assert_eq!(settings.quiet_hours, None);
        assert_eq!(decide(&settings, &[], bj(2025, 3, 18, 23, 30, 0), false), Decision::SendNow);
        assert_eq!(QuietHours::parse_setting(" NONE "), Ok(None));
    }

    #[test]
    fn quiet_hours_parse_and_print() {
        let quiet = QuietHours::parse_setting("21:00-08:00").unwrap().unwrap();
        assert_eq!(quiet, QuietHours::default());
        assert_eq!(quiet.to_string(), "21:00-08:00");
        assert_eq!("22:30 - 06:45".parse::<QuietHours>().unwrap().to_string(), "22:30-06:45");
        for bad in ["", "21:00", "21:00-", "21-08", "9:00-18:00", "25:00-08:00", "21:00-08:00-09:00", "08:00-08:00"] {
            assert!(QuietHours::parse_setting(bad).is_err(), "{bad:?}");
        }
        assert_eq!("08:00-08:00".parse::<QuietHours>(), Err(QuietHoursError::Empty));
        assert!(QuietHoursError::Syntax("x".into()).to_string().contains("HH:MM-HH:MM"));
    }

    #[test]
    fn quiet_hours_within_a_day_work_too() {
        let settings = LimitSettings { quiet_hours: Some("12:00-14:00".parse().unwrap()), ..no_quiet() };
        assert_eq!(
            decide(&settings, &[], bj(2025, 3, 18, 12, 30, 0), false),
            defer(bj(2025, 3, 18, 14, 0, 0), DeferReason::QuietHours)
        );
        assert_eq!(decide(&settings, &[], bj(2025, 3, 18, 23, 0, 0), false), Decision::SendNow);
        assert_eq!(decide(&settings, &[], bj(2025, 3, 18, 11, 59, 59), false), Decision::SendNow);
    }

    #[test]
    fn sends_recorded_after_now_count() {
        let now = bj(2025, 3, 18, 10, 0, 0);
        let ahead = now + TimeDelta::seconds(5);
        assert_eq!(
            decide(&no_quiet(), &[ahead], now, false),
            defer(ahead + TimeDelta::seconds(60), DeferReason::PerMinute)
        );
    }

    #[test]
    fn settings_read_from_configuration_values() {
        let settings: LimitSettings = serde_json::from_str(r#"{"per_hour": 3, "quiet_hours": "none"}"#).unwrap();
        assert_eq!(settings, LimitSettings { per_hour: NonZeroU32::new(3).unwrap(), ..no_quiet() });
        let settings: LimitSettings = serde_json::from_str(r#"{"quiet_hours": "22:00-07:00"}"#).unwrap();
        assert_eq!(settings.quiet_hours.unwrap().to_string(), "22:00-07:00");
        assert_eq!(serde_json::from_str::<LimitSettings>("{}").unwrap(), LimitSettings::default());
        assert!(serde_json::from_str::<LimitSettings>(r#"{"per_minute": 0}"#).is_err());
        assert!(serde_json::from_str::<LimitSettings>(r#"{"quiet_hours": "late"}"#).is_err());
        let json = serde_json::to_value(LimitSettings::default()).unwrap();
        assert_eq!(json["quiet_hours"], "21:00-08:00");
        assert_eq!(serde_json::to_value(no_quiet()).unwrap()["quiet_hours"], "none");
    }

    fn settings_strategy() -> impl Strategy<Value = LimitSettings> {
        let quiet = prop_oneof![
            1 => Just(None),
            3 => (0u32..1440, 1u32..1440).prop_map(|(start, length)| {
                let time = |m: u32| NaiveTime::from_hms_opt(m / 60 % 24, m % 60, 0).unwrap();
                Some(QuietHours::new(time(start), time((start + length) % 1440)).unwrap())
            }),
        ];
        (1u32..=4, 1u32..=8, 1u32..=14, quiet).prop_map(|(m, h, d, quiet_hours)| LimitSettings {
            per_minute: NonZeroU32::new(m).unwrap(),
            per_hour: NonZeroU32::new(h).unwrap(),
            per_day: NonZeroU32::new(d).unwrap(),
            quiet_hours,
        })
    }

    /// The rule by its definition, counted directly: whether a non-urgent message may go at `t`.
    fn allowed(settings: &LimitSettings, sent: &[DateTime<Utc>], t: DateTime<Utc>) -> bool {
        let within = |window: TimeDelta| sent.iter().filter(|s| t - window < **s).count();
        within(TimeDelta::seconds(60)) < settings.per_minute.get() as usize
            && within(TimeDelta::minutes(60)) < settings.per_hour.get() as usize
            && within(TimeDelta::hours(24)) < settings.per_day.get() as usize
            && settings.quiet_hours.is_none_or(|quiet| !quiet.contains(t.with_timezone(&shanghai()).time()))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        /// `decide` agrees with the rule counted directly; `until` is after now, allowed, the earliest
        /// allowed instant, and deciding there with the same history gives `SendNow`.
        #[test]
        fn a_deferral_ends_exactly_when_sending_is_allowed(
            settings in settings_strategy(),
            now_offset_ms in 0i64..(366 * 86_400_000),
            // Mostly the last two days, some in the minute ahead (clock skew), some clustered.
            offsets_ms in prop::collection::vec(
                prop_oneof![-172_800_000i64..60_000, -120_000i64..0, -4_000_000i64..0],
                0..30,
            ),
        ) {
            let now = bj(2025, 1, 1, 0, 0, 0) + TimeDelta::milliseconds(now_offset_ms);
            let sent: Vec<_> = offsets_ms.iter().map(|ms| now + TimeDelta::milliseconds(*ms)).collect();
            prop_assert_eq!(decide(&settings, &sent, now, true), Decision::SendNow);
            match decide(&settings, &sent, now, false) {
                Decision::SendNow => prop_assert!(allowed(&settings, &sent, now)),
                Decision::Defer { until, reason } => {
                    prop_assert!(until > now);
                    prop_assert!(!allowed(&settings, &sent, now));
                    prop_assert!(allowed(&settings, &sent, until), "not allowed at {until} ({reason})");
                    prop_assert_eq!(decide(&settings, &sent, until, false), Decision::SendNow);
                    // The earliest: a nanosecond before, something still holds it back.
                    let just_before = until - TimeDelta::nanoseconds(1);
                    prop_assert!(!allowed(&settings, &sent, just_before), "{until} is not the earliest ({reason})");
                    prop_assert!(
                        matches!(decide(&settings, &sent, just_before, false), Decision::Defer { .. }),
                        "sending allowed just before {until}"
                    );
                    if reason == DeferReason::QuietHours {
                        prop_assert_eq!(
                            until.with_timezone(&shanghai()).time(),
                            settings.quiet_hours.unwrap().end()
                        );
                    }
                }
            }
        }
    }
}
