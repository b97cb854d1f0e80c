//! Notification's tables.

pub mod inbox_notice;
pub mod message;
pub mod receipt_replay;
