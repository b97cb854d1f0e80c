//! The delivery state machine of one message (投递状态), pure: states, the transitions a provider's answer or
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

use chrono::{DateTime, Duration, Utc};

use crate::providers::SendOutcome;

/// Where a message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryState {
    /// Stored, waiting for its send instant (limits and quiet hours may defer it).
    Created,
    /// Handed to the provider; the answer is not in yet.
    Sending,
    /// The provider accepted it; waiting for the receipt.
    Sent,
    /// The handset received it (receipt).
    Delivered,
    /// A transient error; another attempt is scheduled.
    TemporaryFailure,
    /// The provider refused it for good (e.g. an invalid number), or the receipt says it failed.
    PermanentFailure,
    /// Retries exhausted, or no answer within the stuck limit.
    TechnicalFailure,
}

impl DeliveryState {
    pub const ALL: [DeliveryState; 7] = [
        Self::Created,
        Self::Sending,
        Self::Sent,
        Self::Delivered,
        Self::TemporaryFailure,
        Self::PermanentFailure,
        Self::TechnicalFailure,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::TemporaryFailure => "temporary_failure",
            Self::PermanentFailure => "permanent_failure",
            Self::TechnicalFailure => "technical_failure",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// No further change can come, except a late receipt for `sent`.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Delivered | Self::PermanentFailure | Self::TechnicalFailure)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Created => "待发送",
            Self::Sending => "发送中",
            Self::Sent => "已发送",
            Self::Delivered => "已送达",
            Self::TemporaryFailure => "暂时失败，等待重试",
            Self::PermanentFailure => "发送失败",
            Self::TechnicalFailure => "技术故障",
        }
    }
}

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
        for s in DeliveryState::ALL {
            assert_eq!(DeliveryState::parse(s.as_str()), Some(s));
        }
        assert!(DeliveryState::Delivered.is_final());
        assert!(!DeliveryState::Sent.is_final());
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
