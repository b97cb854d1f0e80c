//! Intake's tables as sea-orm entities.

pub mod agreement;
pub mod applicant;
pub mod applicant_change;
pub mod applicant_office;
pub mod case_unit;
pub mod cases;
pub mod contact_card;
pub mod material_review;
pub mod office;
pub mod pii_audit;
pub mod project;
pub mod specialist_change;
pub mod staff;
