//! Planning's errors, and how each becomes a problem for the client.

use bangban_platform::problem::{FieldError, Problem};

/// Everything that can go wrong in planning.
#[derive(Debug, thiserror::Error)]
pub enum PlanningError {
    /// Fields that are wrong, or break a rule of the data (a cycle, an unknown predecessor) (422).
    #[error("invalid request: {0:?}")]
    Validation(Vec<FieldError>),
    #[error("not found: {1}")]
    NotFound(String, String),
    #[error("conflict: {1}")]
    Conflict(String, String),
    #[error("database: {0}")]
    Db(#[from] sea_orm::DbErr),
    #[error("event: {0}")]
    Event(String),
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
}

pub type Result<T, E = PlanningError> = std::result::Result<T, E>;

impl PlanningError {
    pub fn field(field: &str, zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, zh, en)])
    }

    pub fn no_plan(case_id: &str) -> Self {
        Self::NotFound(format!("案件 {case_id} 尚无代办方案"), format!("case {case_id} has no plan"))
    }

    pub fn corrupt(what: impl std::fmt::Display) -> Self {
        Self::Corrupt(what.to_string())
    }
}

impl From<PlanningError> for Problem {
    fn from(e: PlanningError) -> Self {
        match e {
            PlanningError::Validation(errors) => Problem::validation(errors),
            PlanningError::NotFound(zh, en) => Problem::not_found(zh, en),
            PlanningError::Conflict(zh, en) => Problem::conflict(zh, en),
            other => {
                // The cause is logged here, once; the client learns only that it was our fault.
                tracing::error!(error = %other, "planning failed");
                Problem::internal()
            }
        }
    }
}
