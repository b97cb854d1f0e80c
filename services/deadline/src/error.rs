//! Deadline's errors, and how each becomes a problem for the client.

use bangban_platform::problem::{FieldError, Problem};

/// Everything that can go wrong in deadline.
#[derive(Debug, thiserror::Error)]
pub enum DeadlineError {
    /// Fields that are wrong, or break a rule of the data (a cycle, an unknown predecessor) (422).
    #[error("invalid request: {0:?}")]
    Validation(Vec<FieldError>),
    #[error("not found: {1}")]
    NotFound(String, String),
    #[error("conflict: {1}")]
    Conflict(String, String),
    /// A dependency is not ready (e.g. the unit directory is empty); try again later.
    #[error("unavailable: {0}")]
    Unavailable(String),
    #[error("database: {0}")]
    Db(#[from] sea_orm::DbErr),
    #[error("event: {0}")]
    Event(String),
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
}

pub type Result<T, E = DeadlineError> = std::result::Result<T, E>;

impl DeadlineError {
    pub fn field(field: &str, zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, zh, en)])
    }

    pub fn no_task(id: &str) -> Self {
        Self::NotFound(format!("事项任务 {id} 不存在"), format!("task {id} does not exist"))
    }

    pub fn corrupt(what: impl std::fmt::Display) -> Self {
        Self::Corrupt(what.to_string())
    }
}

impl From<DeadlineError> for Problem {
    fn from(e: DeadlineError) -> Self {
        match e {
            DeadlineError::Validation(errors) => Problem::validation(errors),
            DeadlineError::NotFound(zh, en) => Problem::not_found(zh, en),
            DeadlineError::Conflict(zh, en) => Problem::conflict(zh, en),
            other => {
                // The cause is logged here, once; the client learns only that it was our fault.
                tracing::error!(error = %other, "deadline failed");
                Problem::internal()
            }
        }
    }
}

impl DeadlineError {
    pub fn no_clock(id: &str) -> Self {
        Self::NotFound(format!("事项 {id} 尚未计时"), format!("task {id} has no clock"))
    }

    pub fn no_notice(id: &str) -> Self {
        Self::NotFound(format!("督办单 {id} 不存在"), format!("supervision notice {id} does not exist"))
    }

    pub fn no_problem(id: &str) -> Self {
        Self::NotFound(format!("问题 {id} 不存在"), format!("problem {id} does not exist"))
    }
}
