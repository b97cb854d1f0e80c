//! `case_plan`: the plan version routed for each case, and whether the case is still open.

use sea_orm::entity::prelude::*;

bangban_contracts::labelled_enum! {
    /// Whether a case's tasks are still being handled (案件推送状态).
    pub enum CaseStatus {
        /// Tasks are open (办理中).
        Open = "open", "办理中";
        /// Every task concluded; `plan.completed` was published (已办结).
        Completed = "completed", "已办结";
        /// The case was terminated; later plan versions are ignored (已终止).
        Terminated = "terminated", "已终止";
    }
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "case_plan")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub case_id: String,
    pub office: String,
    pub ledger_no: String,
    /// The last plan version routed (0: none, the case was terminated first).
    pub version: i32,
    pub status: CaseStatus,
    pub applicant_id: String,
    pub specialist_id: String,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
