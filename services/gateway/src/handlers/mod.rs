//! HTTP handlers of `/api/v1`.

pub mod cases;
pub mod consultations;
pub mod directory;
pub mod me;
pub mod registry;
pub mod results;
