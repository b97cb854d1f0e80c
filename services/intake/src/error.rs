//! Intake's errors, and how each becomes a problem for the client.

use bangban_platform::problem::{FieldError, Problem};

/// Everything that can go wrong in intake.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error("invalid request: {0:?}")]
    Validation(Vec<FieldError>),
    #[error("case {0} not found")]
    CaseNotFound(String),
    #[error("{actor} may not accept cases for office {office}")]
    OfficeForbidden { actor: String, office: String },
    /// The actor may not do this (403): the reason in Chinese and English.
    #[error("forbidden: {1}")]
    Forbidden(String, String),
    #[error("conflict: {1}")]
    Conflict(String, String),
    #[error(transparent)]
    Transition(#[from] crate::domain::lifecycle::TransitionError),
    #[error("database: {0}")]
    Db(#[from] sea_orm::DbErr),
    #[error("event: {0}")]
    Event(String),
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
}

pub type Result<T, E = IntakeError> = std::result::Result<T, E>;

impl From<IntakeError> for Problem {
    fn from(e: IntakeError) -> Self {
        match e {
            IntakeError::Validation(errors) => Problem::validation(errors),
            IntakeError::CaseNotFound(id) => {
                Problem::not_found(format!("案件 {id} 不存在"), format!("case {id} does not exist"))
            }
            IntakeError::OfficeForbidden { office, .. } => Problem::forbidden(
                format!("无权为机构 {office} 受理案件"),
                format!("you may not accept cases for office {office}"),
            ),
            IntakeError::Forbidden(zh, en) => Problem::forbidden(zh, en),
            IntakeError::Conflict(zh, en) => Problem::conflict(zh, en),
            IntakeError::Transition(e) => e.into(),
            other => {
                // The cause is logged here, once; the client learns only that it was our fault.
                tracing::error!(error = %other, "intake failed");
                Problem::internal()
            }
        }
    }
}
