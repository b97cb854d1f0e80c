//! The platform's one clock (平台时钟): every service reads "now" from here, never from `Utc::now()`.
//!
//! - **System** (the default and the only source in production): the wall clock.
//! - **Rehearsal** (演练, development only): starts at a configured instant and runs `speed` times faster than
//!   the wall clock (`BANGBAN__CLOCK__START`, `BANGBAN__CLOCK__SPEED`), so a case's weeks play out in minutes
//!   for training, demos and black-box tests. The runtime refuses it in production.
//! - **Manual** (tests): stands still until a test sets or advances it.
//!
//! The clock is process-wide: in `bangban serve` every service shares it. Waiters ([`sleep_until`]) wake when
//! the clock is set or advanced, so a test that advances a manual clock sees timers fire at once.

use std::{
    sync::{LazyLock, RwLock},
    time::{Duration as StdDuration, Instant},
};

use chrono::{DateTime, Duration, Utc};
use tokio::sync::Notify;

#[derive(Debug, Clone, Copy)]
enum Source {
    System,
    Scaled { origin: DateTime<Utc>, since: Instant, speed: f64 },
    Manual(DateTime<Utc>),
}

static SOURCE: RwLock<Source> = RwLock::new(Source::System);
static CHANGED: LazyLock<Notify> = LazyLock::new(Notify::new);

fn read() -> Source {
    match SOURCE.read() {
        Ok(s) => *s,
        Err(poisoned) => *poisoned.into_inner(),
    }
}

fn write(source: Source) {
    match SOURCE.write() {
        Ok(mut s) => *s = source,
        Err(poisoned) => *poisoned.into_inner() = source,
    }
    CHANGED.notify_waiters();
}

/// Now, on the platform's clock.
pub fn now() -> DateTime<Utc> {
    match read() {
        Source::System => Utc::now(),
        Source::Scaled { origin, since, speed } => {
            let real = since.elapsed().as_secs_f64() * speed;
            origin + Duration::microseconds((real * 1e6) as i64)
        }
        Source::Manual(at) => at,
    }
}

/// How many platform seconds pass per wall-clock second: 1 for the system clock, 0 for a manual one.
pub fn speed() -> f64 {
    match read() {
        Source::System => 1.0,
        Source::Scaled { speed, .. } => speed,
        Source::Manual(_) => 0.0,
    }
}

/// Whether the clock is anything but the wall clock (a rehearsal or a test).
pub fn is_rehearsal() -> bool {
    !matches!(read(), Source::System)
}

/// Back to the wall clock.
pub fn use_system() {
    write(Source::System);
}

/// A rehearsal clock: `start` now, running `speed` times as fast as the wall clock (`speed > 0`).
pub fn start_rehearsal(start: DateTime<Utc>, speed: f64) {
    let speed = if speed.is_finite() && speed > 0.0 { speed } else { 1.0 };
    write(Source::Scaled { origin: start, since: Instant::now(), speed });
}

/// A clock that stands still at `at` until [`set`] or [`advance`] moves it.
pub fn set_manual(at: DateTime<Utc>) {
    write(Source::Manual(at));
}

/// Moves a manual clock to `at` (a rehearsal clock restarts from `at` at its speed; the system clock becomes
/// manual).
pub fn set(at: DateTime<Utc>) {
    match read() {
        Source::Scaled { speed, .. } => write(Source::Scaled { origin: at, since: Instant::now(), speed }),
        _ => write(Source::Manual(at)),
    }
}

/// Moves the clock forward by `by` (a manual or rehearsal clock; the system clock becomes manual).
pub fn advance(by: Duration) {
    set(now() + by);
}

/// The wall-clock time until the platform clock reaches `at`, or `None` when the clock stands still (manual).
pub fn real_time_until(at: DateTime<Utc>) -> Option<StdDuration> {
    let speed = speed();
    if speed <= 0.0 {
        return None;
    }
    let ahead = (at - now()).num_microseconds().unwrap_or(i64::MAX).max(0) as f64 / 1e6;
    Some(StdDuration::from_secs_f64((ahead / speed).min(1e9)))
}

/// Waits until the platform clock reaches `at`, at most `max` of wall-clock time, or until the clock is set or
/// advanced — whichever comes first. Callers re-check [`now`] after it returns.
pub async fn sleep_until(at: DateTime<Utc>, max: StdDuration) {
    let changed = CHANGED.notified();
    tokio::pin!(changed);
    changed.as_mut().enable();
    let wait = real_time_until(at).map_or(max, |d| d.min(max));
    if wait.is_zero() {
        return;
    }
    tokio::select! {
        _ = tokio::time::sleep(wait) => {}
        _ = changed => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // One test: the clock is process-wide.
    #[tokio::test]
    async fn manual_rehearsal_and_system() {
        let t0 = DateTime::parse_from_rfc3339("2026-01-05T01:00:00Z").unwrap().with_timezone(&Utc);
        set_manual(t0);
        assert_eq!(now(), t0);
        assert!(is_rehearsal());
        assert_eq!(real_time_until(t0 + Duration::hours(1)), None);
        // A waiter on a manual clock wakes when the clock is advanced.
        let waiter = tokio::spawn(sleep_until(t0 + Duration::hours(1), StdDuration::from_secs(30)));
        tokio::task::yield_now().await;
        tokio::time::sleep(StdDuration::from_millis(20)).await;
        advance(Duration::hours(2));
        tokio::time::timeout(StdDuration::from_secs(5), waiter).await.unwrap().unwrap();
        assert_eq!(now(), t0 + Duration::hours(2));

        // A rehearsal clock runs 3600 times as fast: a platform hour is a wall-clock second.
        start_rehearsal(t0, 3600.0);
        let until = real_time_until(t0 + Duration::hours(1)).unwrap();
        assert!(until <= StdDuration::from_secs(1) && until > StdDuration::from_millis(500), "{until:?}");
        std::thread::sleep(StdDuration::from_millis(10));
        assert!(now() - t0 >= Duration::seconds(36), "{}", now() - t0);

        use_system();
        assert!(!is_rehearsal());
        assert!((now() - Utc::now()).num_seconds().abs() < 2);
    }
}
