//! `case_plan`: the plan version routed for each case, and whether the case is still open.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "case_plan")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub case_id: String,
    pub office: String,
    pub ledger_no: String,
    /// The last plan version routed (0: none, the case was terminated first).
    pub version: i32,
    /// `open`, `completed` or `terminated`.
    pub status: String,
    pub applicant_id: String,
    pub specialist_id: String,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
