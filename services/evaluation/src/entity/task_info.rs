//! `task_info`: what evaluation knows of a routed task (from routing and deadline events).

use bangban_contracts::planning::Stage;
use sea_orm::entity::prelude::*;

bangban_contracts::labelled_enum! {
    /// How a task concluded (办结结果), as evaluation keeps it for assessment.
    pub enum TaskOutcome {
        /// 准予许可
        Approved = "approved", "准予";
        /// 不予许可
        Rejected = "rejected", "不予";
    }
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "task_info")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub task_id: String,
    pub case_id: String,
    pub code: String,
    pub name: String,
    pub stage: Stage,
    pub unit_code: String,
    pub unit_name: Option<String>,
    pub unit_office: String,
    pub promised_working_days: i32,
    pub received_at: Option<DateTimeUtc>,
    pub concluded_at: Option<DateTimeUtc>,
    pub outcome: Option<TaskOutcome>,
    pub overdue: bool,
    pub working_days: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
