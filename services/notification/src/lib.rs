//! Notification (短信与站内通知): the service is being built — so far the providers, templates and limits.

pub mod delivery;
pub mod limits;
pub mod providers;
pub mod templates;
