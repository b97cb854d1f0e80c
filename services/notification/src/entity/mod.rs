//! Notification's tables.

pub mod case_info;
pub mod inbox_notice;
pub mod message;
pub mod receipt_replay;
