//! Notification (短信通知): being built (issue 7); for now only the providers' pure signing, request-building and outcome-classification layer.

pub mod providers;
