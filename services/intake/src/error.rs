//! Intake's errors: the platform's [`ServiceError`] (one mapping to problems and to event-handler outcomes for
//! every service), with intake's own texts. (Results and consultations still have their own error types.)

pub use bangban_platform::error::ServiceError;
use bangban_platform::problem::Problem;

use crate::domain::lifecycle::TransitionError;

/// Everything that can go wrong in intake.
pub type IntakeError = ServiceError;

pub type Result<T, E = IntakeError> = std::result::Result<T, E>;

/// No such case (404).
pub fn case_not_found(id: impl std::fmt::Display) -> IntakeError {
    IntakeError::NotFound(format!("案件 {id} 不存在"), format!("case {id} does not exist"))
}

/// The actor may not act for the office (403).
pub fn office_forbidden(office: &str) -> IntakeError {
    IntakeError::Forbidden(
        format!("无权为机构 {office} 受理案件"),
        format!("you may not accept cases for office {office}"),
    )
}

impl From<TransitionError> for ServiceError {
    /// A step the case's state does not allow: 409, naming the state and the states the step needs.
    fn from(e: TransitionError) -> Self {
        ServiceError::Refused(Box::new(Problem::from(e)))
    }
}
