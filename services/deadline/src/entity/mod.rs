//! Deadline's tables.

pub mod alarm;
pub mod calendar_override;
pub mod calendar_state;
pub mod calendar_year;
pub mod case_info;
pub mod clock;
pub mod clock_extension;
pub mod clock_pause;
pub mod clock_timeline;
pub mod consultation;
pub mod problem;
pub mod supervision;
pub mod supervision_seq;
pub mod task_message;
