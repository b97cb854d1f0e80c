//! Intake's domain rules as plain functions, without I/O.

pub mod ledger;
pub mod validation;
