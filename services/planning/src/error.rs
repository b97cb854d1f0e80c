//! Planning's errors: the platform's [`ServiceError`] (one mapping to problems and to event-handler outcomes for
//! every service), and planning's own not-found texts.

pub use bangban_platform::error::ServiceError;

/// Everything that can go wrong in planning.
pub type PlanningError = ServiceError;

pub type Result<T, E = PlanningError> = std::result::Result<T, E>;

pub fn no_plan(case_id: &str) -> PlanningError {
    PlanningError::NotFound(format!("案件 {case_id} 尚无代办方案"), format!("case {case_id} has no plan"))
}
