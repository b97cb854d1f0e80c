//! `cases`: the ledger (台账), one row per case.

use bangban_contracts::intake::{CaseStatus, ServiceType, TerminationReason};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "cases")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub ledger_no: String,
    pub service_type: ServiceType,
    pub status: CaseStatus,
    pub office: String,
    pub applicant_id: String,
    pub project_id: String,
    pub specialist_id: String,
    pub ready_for_results: bool,
    pub termination_reason: Option<TerminationReason>,
    pub termination_note: Option<String>,
    pub terminated_at: Option<DateTimeUtc>,
    pub created_by: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
