//! `task`: one item of a published plan at its responsible unit (推送事项).

use bangban_contracts::{planning::Stage, routing::TaskStatus};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "task")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub case_id: String,
    pub ledger_no: String,
    pub office: String,
    pub plan_version: i32,
    pub code: String,
    pub name: String,
    pub stage: Stage,
    pub unit_code: String,
    pub unit_name: String,
    pub unit_office: String,
    pub status: TaskStatus,
    pub promised_working_days: i32,
    pub materials: String,
    pub predecessors: String,
    pub planned_start: String,
    pub planned_end: String,
    pub applicant_id: String,
    pub specialist_id: String,
    pub dispatched_at: Option<DateTimeUtc>,
    pub received_at: Option<DateTimeUtc>,
    pub paused_since: Option<DateTimeUtc>,
    pub supplement: Option<String>,
    pub result: Option<String>,
    pub rejection: Option<String>,
    pub linked: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
