//! `evaluation`: a rating (append-only; one per matter).

use bangban_contracts::{evaluation::Channel, intake::ProjectCategory, planning::Stage};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "evaluation")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub matter_key: String,
    pub case_id: String,
    pub task_id: Option<String>,
    pub ledger_no: String,
    pub office: String,
    pub item_name: String,
    pub unit_code: Option<String>,
    pub unit_office: Option<String>,
    pub specialist_id: String,
    pub applicant_id: String,
    pub category: Option<ProjectCategory>,
    pub stage: Option<Stage>,
    pub level: i32,
    pub comment: Option<String>,
    pub tags: String,
    pub channel: Channel,
    pub entered_by: Option<String>,
    pub submitted_at: DateTimeUtc,
    pub bad: bool,
    pub rectification_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
