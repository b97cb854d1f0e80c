//! Evaluation's tables.

pub mod appeal;
pub mod case_info;
pub mod evaluation;
pub mod invitation;
pub mod rectification;
pub mod task_info;
