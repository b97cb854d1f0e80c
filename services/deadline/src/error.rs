//! Deadline's errors: the platform's [`ServiceError`] (one mapping to problems and to event-handler outcomes for
//! every service), and deadline's own not-found texts.

pub use bangban_platform::error::ServiceError;

/// Everything that can go wrong in deadline.
pub type DeadlineError = ServiceError;

pub type Result<T, E = DeadlineError> = std::result::Result<T, E>;

pub fn no_task(id: &str) -> DeadlineError {
    DeadlineError::NotFound(format!("事项任务 {id} 不存在"), format!("task {id} does not exist"))
}

pub fn no_clock(id: &str) -> DeadlineError {
    DeadlineError::NotFound(format!("事项 {id} 尚未计时"), format!("task {id} has no clock"))
}

pub fn no_notice(id: &str) -> DeadlineError {
    DeadlineError::NotFound(format!("督办单 {id} 不存在"), format!("supervision notice {id} does not exist"))
}

pub fn no_problem(id: &str) -> DeadlineError {
    DeadlineError::NotFound(format!("问题 {id} 不存在"), format!("problem {id} does not exist"))
}
