//! Evaluation's errors, and how each becomes a problem for the client.

use bangban_platform::problem::{FieldError, Problem};

/// Everything that can go wrong in evaluation.
#[derive(Debug, thiserror::Error)]
pub enum EvaluationError {
    /// Fields that are wrong (422).
    #[error("invalid request: {0:?}")]
    Validation(Vec<FieldError>),
    #[error("not found: {1}")]
    NotFound(String, String),
    #[error("conflict: {1}")]
    Conflict(String, String),
    #[error("forbidden: {1}")]
    Forbidden(String, String),
    /// A dependency is not reachable now; try again later.
    #[error("unavailable: {0}")]
    Unavailable(String),
    #[error("database: {0}")]
    Db(#[from] sea_orm::DbErr),
    #[error("event: {0}")]
    Event(String),
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
}

pub type Result<T, E = EvaluationError> = std::result::Result<T, E>;

impl EvaluationError {
    pub fn field(field: &str, zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, zh, en)])
    }

    pub fn corrupt(what: impl std::fmt::Display) -> Self {
        Self::Corrupt(what.to_string())
    }
}

impl From<EvaluationError> for Problem {
    fn from(e: EvaluationError) -> Self {
        match e {
            EvaluationError::Validation(errors) => Problem::validation(errors),
            EvaluationError::NotFound(zh, en) => Problem::not_found(zh, en),
            EvaluationError::Conflict(zh, en) => Problem::conflict(zh, en),
            EvaluationError::Forbidden(zh, en) => Problem::forbidden(zh, en),
            EvaluationError::Unavailable(m) => {
                tracing::warn!(reason = %m, "evaluation unavailable");
                Problem::unavailable("评价服务暂不可用，请稍后重试", "evaluation is unavailable; try again later")
            }
            other => {
                tracing::error!(error = %other, "evaluation failed");
                Problem::internal()
            }
        }
    }
}

impl From<EvaluationError> for bangban_platform::consumer::HandlerError {
    fn from(e: EvaluationError) -> Self {
        use bangban_platform::consumer::HandlerError;
        match e {
            EvaluationError::Db(e) => HandlerError::Transient(format!("database: {e}")),
            EvaluationError::Unavailable(m) => HandlerError::Transient(m),
            other => HandlerError::Permanent(other.to_string()),
        }
    }
}
