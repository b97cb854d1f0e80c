//! Intake's domain rules as plain functions, without I/O.

pub mod identity;
pub mod ledger;
pub mod lifecycle;
pub mod pii;
pub mod validation;
