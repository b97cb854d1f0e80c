//! Planning's domain logic, free of I/O: the catalog's rules, which items a project needs, the schedule
//! (预排工期) and what a re-plan changes.

pub mod catalog;
pub mod diff;
pub mod schedule;
pub mod select;
