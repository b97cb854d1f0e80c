//! Routing's tables as sea-orm entities.

pub mod case_plan;
pub mod task;
pub mod task_step;
pub mod unit;
