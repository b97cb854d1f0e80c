//! `clock`: A task's working-day clock (计时).

use bangban_contracts::{
    deadline::{AlertLevel, ClockStatus, StartBasis},
    intake::ProjectCategory,
    planning::Stage,
};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "clock")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub task_id: String,
    pub case_id: String,
    pub ledger_no: String,
    pub office: String,
    pub code: String,
    pub name: String,
    pub stage: Stage,
    pub category: Option<ProjectCategory>,
    pub unit_code: String,
    pub unit_name: Option<String>,
    pub unit_office: String,
    pub specialist_id: String,
    pub applicant_id: String,
    pub status: ClockStatus,
    pub alert: AlertLevel,
    pub promised_working_days: i32,
    pub extension_working_days: i32,
    pub paused_working_days: i32,
    pub dispatched_at: Option<DateTimeUtc>,
    pub started_at: Option<DateTimeUtc>,
    pub start_basis: Option<StartBasis>,
    pub due_date: Option<String>,
    pub due_us: Option<i64>,
    pub warn_us: Option<i64>,
    pub provisional: bool,
    pub generation: i32,
    pub linked: bool,
    pub acknowledge_by: Option<DateTimeUtc>,
    pub acknowledged_at: Option<DateTimeUtc>,
    pub finished_at: Option<DateTimeUtc>,
    pub finished_date: Option<String>,
    pub on_time: Option<bool>,
    pub used_working_days: Option<i32>,
    pub last_event_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
