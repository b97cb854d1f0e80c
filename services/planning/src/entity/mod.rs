//! Planning's tables as sea-orm entities.

pub mod calendar_override;
pub mod calendar_state;
pub mod calendar_year;
pub mod catalog_version;
pub mod plan;
pub mod plan_edit;
pub mod plan_version;
