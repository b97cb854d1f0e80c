//! `supervision`: A supervision notice (督办单).

use bangban_contracts::deadline::{SupervisionKind, SupervisionStatus};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "supervision")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub number: String,
    pub kind: SupervisionKind,
    pub status: SupervisionStatus,
    pub task_id: String,
    pub case_id: String,
    pub ledger_no: String,
    pub office: String,
    pub task_code: String,
    pub task_name: String,
    pub unit_code: String,
    pub unit_name: Option<String>,
    pub unit_office: String,
    #[sea_orm(column_type = "Text")]
    pub reason: String,
    pub due_at: Option<DateTimeUtc>,
    pub days_overdue: i32,
    pub issued_at: DateTimeUtc,
    pub response_due: String,
    pub escalate_on: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub answer: Option<String>,
    pub resolved_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text", nullable)]
    pub escalation: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub evidence: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub decision: Option<String>,
    pub applicant_id: String,
    pub specialist_id: String,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
