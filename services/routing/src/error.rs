//! Routing's errors, and how each becomes a problem for the client.

use bangban_platform::problem::{FieldError, Problem};

/// Everything that can go wrong in routing.
#[derive(Debug, thiserror::Error)]
pub enum RoutingError {
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

pub type Result<T, E = RoutingError> = std::result::Result<T, E>;

impl RoutingError {
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

impl From<RoutingError> for Problem {
    fn from(e: RoutingError) -> Self {
        match e {
            RoutingError::Validation(errors) => Problem::validation(errors),
            RoutingError::NotFound(zh, en) => Problem::not_found(zh, en),
            RoutingError::Conflict(zh, en) => Problem::conflict(zh, en),
            other => {
                // The cause is logged here, once; the client learns only that it was our fault.
                tracing::error!(error = %other, "routing failed");
                Problem::internal()
            }
        }
    }
}
