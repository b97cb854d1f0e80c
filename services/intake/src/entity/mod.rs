//! Intake's tables as sea-orm entities.

pub mod applicant;
pub mod cases;
pub mod office;
pub mod project;
pub mod staff;
