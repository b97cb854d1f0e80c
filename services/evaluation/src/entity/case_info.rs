//! `case_info`: what evaluation knows of a case (from `case.accepted`, `plan.published`, `case.terminated`).

use bangban_contracts::intake::{ProjectCategory, ServiceType};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "case_info")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub case_id: String,
    pub ledger_no: String,
    pub office: String,
    pub applicant_id: String,
    pub specialist_id: String,
    pub service_type: ServiceType,
    pub category: Option<ProjectCategory>,
    pub terminated: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
