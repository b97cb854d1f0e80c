//! The delivery state machine of one message (投递状态, [`MessageState`](bangban_contracts::notification::MessageState)), pure: the transitions a provider's answer or
//! receipt causes, and the retry schedule.
//!
//! ```text
//! created ──► sending ──► sent ──► delivered
//!    ▲           │  │        └──► permanent_failure (a failed receipt)
//!    └─ retry ◄──┘  ├──► permanent_failure (no retry)
//!  (temporary_failure while waiting)  └──► technical_failure (retries exhausted, or stuck in sending 72 h)
//! ```
//!
//! Transient errors are retried with exponential backoff (30 s doubling, capped at an hour) until about four
//! hours have passed since the first attempt; permanent ones never.

#[cfg(test)]
use bangban_contracts::notification::MessageState;
use chrono::{DateTime, Duration, Utc};

use crate::providers::SendOutcome;

/// The retry policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub first_delay: Duration,
    pub max_delay: Duration,
    /// No attempt starts later than this after the first one.
    pub give_up_after: Duration,
    /// A message in `sending` this long without an answer becomes `technical_failure`.
    pub stuck_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            first_delay: Duration::seconds(30),
            max_delay: Duration::hours(1),
            give_up_after: Duration::hours(4),
            stuck_after: Duration::hours(72),
        }
    }
}

impl RetryPolicy {
    /// The delay before attempt `attempt + 1` after attempt `attempt` (1-based) failed transiently.
    pub fn delay(&self, attempt: u32) -> Duration {
        let factor = 1i64 << attempt.saturating_sub(1).min(20);
        let delay = self.first_delay.num_milliseconds().saturating_mul(factor);
        Duration::milliseconds(delay).min(self.max_delay)
    }

    /// When to try again, or `None` when the budget is spent.
    pub fn next_attempt(
        &self,
        first_attempt: DateTime<Utc>,
        attempt: u32,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let at = now + self.delay(attempt);
        (at - first_attempt <= self.give_up_after).then_some(at)
    }
}

/// What to do after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterAttempt {
    /// `sent`, with the provider's id for matching receipts.
    Sent { provider_message_id: String },
    /// `temporary_failure` until `retry_at`.
    Retry { retry_at: DateTime<Utc>, reason: String },
    /// `permanent_failure`.
    Failed { reason: String },
    /// `technical_failure`: transient errors until the budget ran out.
    GaveUp { reason: String },
}

/// The provider's answer to attempt `attempt` (1-based), of a message first attempted at `first_attempt`.
pub fn after_attempt(
    policy: &RetryPolicy,
    outcome: &SendOutcome,
    first_attempt: DateTime<Utc>,
    attempt: u32,
    now: DateTime<Utc>,
) -> AfterAttempt {
    match outcome {
        SendOutcome::Accepted { provider_message_id } => {
            AfterAttempt::Sent { provider_message_id: provider_message_id.clone() }
        }
        other if other.is_retryable() => {
            let reason = describe(other);
            match policy.next_attempt(first_attempt, attempt, now) {
                Some(retry_at) => AfterAttempt::Retry { retry_at, reason },
                None => AfterAttempt::GaveUp { reason: format!("重试已达上限 / retries exhausted: {reason}") },
            }
        }
        other => AfterAttempt::Failed { reason: describe(other) },
    }
}

fn describe(outcome: &SendOutcome) -> String {
    match outcome {
        SendOutcome::Temporary { code, message } | SendOutcome::Permanent { code, message } => {
            format!("{code}: {message}")
        }
        SendOutcome::Accepted { .. } => "accepted".into(),
    }
}

/// Whether a message that has been in `sending` since `since` is stuck.
pub fn is_stuck(policy: &RetryPolicy, since: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now - since >= policy.stuck_after
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::FailureKind;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn states_round_trip() {
        for s in MessageState::ALL {
            assert_eq!(MessageState::parse(s.as_str()), Some(*s));
        }
        assert!(MessageState::Delivered.is_final());
        assert!(!MessageState::Sent.is_final());
    }

    #[test]
    fn backoff_doubles_to_an_hour_and_stops_after_about_four_hours() {
        let p = RetryPolicy::default();
        let delays: Vec<i64> = (1..=9).map(|a| p.delay(a).num_seconds()).collect();
        assert_eq!(delays, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
        // Attempts follow one another by those delays until four hours after the first.
        let first = at("2026-03-02T01:00:00Z");
        let mut now = first;
        let mut attempts = 1;
        while let Some(next) = p.next_attempt(first, attempts, now) {
            now = next;
            attempts += 1;
        }
        assert!(now - first <= Duration::hours(4));
        assert!(now - first > Duration::hours(3), "{}", now - first);
        assert_eq!(attempts, 10, "about ten attempts in four hours");
    }

    #[test]
    fn permanent_errors_are_not_retried_and_transient_ones_are() {
        let p = RetryPolicy::default();
        let t = at("2026-03-02T01:00:00Z");
        let permanent = SendOutcome::failure(FailureKind::Permanent, "isv.MOBILE_NUMBER_ILLEGAL", "非法手机号");
        assert!(matches!(after_attempt(&p, &permanent, t, 1, t), AfterAttempt::Failed { .. }));
        let transient = SendOutcome::failure(FailureKind::Temporary, "HTTP 503", "unavailable");
        assert_eq!(
            after_attempt(&p, &transient, t, 1, t),
            AfterAttempt::Retry { retry_at: t + Duration::seconds(30), reason: "HTTP 503: unavailable".into() }
        );
        assert!(matches!(after_attempt(&p, &transient, t, 9, t + Duration::hours(4)), AfterAttempt::GaveUp { .. }));
        let ok = SendOutcome::Accepted { provider_message_id: "biz-1".into() };
        assert_eq!(after_attempt(&p, &ok, t, 1, t), AfterAttempt::Sent { provider_message_id: "biz-1".into() });
        assert!(is_stuck(&p, t, t + Duration::hours(72)));
        assert!(!is_stuck(&p, t, t + Duration::hours(71)));
    }
}
