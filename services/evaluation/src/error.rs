//! Evaluation's errors: the platform's [`ServiceError`] (one mapping to problems and to event-handler outcomes for
//! every service).

pub use bangban_platform::error::ServiceError;

/// Everything that can go wrong in evaluation.
pub type EvaluationError = ServiceError;

pub type Result<T, E = EvaluationError> = std::result::Result<T, E>;
