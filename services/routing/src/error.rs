//! Routing's errors: the platform's [`ServiceError`] (one mapping to problems and to event-handler outcomes for
//! every service), and routing's own not-found texts.

pub use bangban_platform::error::ServiceError;

/// Everything that can go wrong in routing.
pub type RoutingError = ServiceError;

pub type Result<T, E = RoutingError> = std::result::Result<T, E>;

pub fn no_task(id: &str) -> RoutingError {
    RoutingError::NotFound(format!("事项任务 {id} 不存在"), format!("task {id} does not exist"))
}
