//! Intake's tables as sea-orm entities (受理的数据表): cases and the ledger, the register, consultations and
//! joint meetings, results and the archive.

pub mod agreement;
pub mod applicant;
pub mod applicant_change;
pub mod applicant_office;
pub mod archive_document;
pub mod archive_upload_chunk;
pub mod case_unit;
pub mod cases;
pub mod consultation;
pub mod contact_card;
pub mod custody_item;
pub mod joint_meeting;
pub mod material_review;
pub mod office;
pub mod pii_audit;
pub mod project;
pub mod result_delivery;
pub mod specialist_change;
pub mod staff;
pub mod webhook_delivery;
