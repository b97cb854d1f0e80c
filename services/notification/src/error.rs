//! Notification's errors, and how each becomes a problem for the client.

use bangban_platform::problem::{FieldError, Problem};

/// Everything that can go wrong in notification.
#[derive(Debug, thiserror::Error)]
pub enum NotificationError {
    /// Fields that are wrong (422).
    #[error("invalid request: {0:?}")]
    Validation(Vec<FieldError>),
    /// A request that does not prove where it comes from (401), or a problem the verifier states.
    #[error("refused: {0:?}")]
    Refused(Box<Problem>),
    /// A dependency (intake, routing, a provider) is not reachable now; try again later.
    #[error("unavailable: {0}")]
    Unavailable(String),
    #[error("database: {0}")]
    Db(#[from] sea_orm::DbErr),
    #[error("event: {0}")]
    Event(String),
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
}

pub type Result<T, E = NotificationError> = std::result::Result<T, E>;

impl NotificationError {
    pub fn field(field: &str, zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, zh, en)])
    }

    pub fn corrupt(what: impl std::fmt::Display) -> Self {
        Self::Corrupt(what.to_string())
    }
}

impl From<NotificationError> for Problem {
    fn from(e: NotificationError) -> Self {
        match e {
            NotificationError::Validation(errors) => Problem::validation(errors),
            NotificationError::Refused(problem) => *problem,
            NotificationError::Unavailable(m) => {
                tracing::warn!(reason = %m, "notification unavailable");
                Problem::unavailable("通知服务暂不可用，请稍后重试", "notification is unavailable; try again later")
            }
            other => {
                tracing::error!(error = %other, "notification failed");
                Problem::internal()
            }
        }
    }
}

impl From<NotificationError> for bangban_platform::consumer::HandlerError {
    fn from(e: NotificationError) -> Self {
        use bangban_platform::consumer::HandlerError;
        match e {
            NotificationError::Db(e) => HandlerError::Transient(format!("database: {e}")),
            NotificationError::Unavailable(m) => HandlerError::Transient(m),
            other => HandlerError::Permanent(other.to_string()),
        }
    }
}
