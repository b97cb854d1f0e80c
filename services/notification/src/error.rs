//! Notification's errors: the platform's [`ServiceError`] (one mapping to problems and to event-handler
//! outcomes for every service).

pub use bangban_platform::error::ServiceError;

/// Everything that can go wrong in notification.
pub type NotificationError = ServiceError;

pub type Result<T, E = NotificationError> = std::result::Result<T, E>;
