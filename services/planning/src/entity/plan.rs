//! `plan`: one service plan per case (代办方案): the working copy and what was last published.

use bangban_contracts::planning::PlanStatus;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "plan")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub case_id: String,
    pub ledger_no: String,
    pub office: String,
    /// The case's `ProjectView`, JSON.
    pub project: String,
    pub applicant_id: String,
    pub specialist_id: String,
    pub status: PlanStatus,
    /// The last published version, 0 before the first.
    pub version: i32,
    pub revision: i32,
    pub catalog_version: i32,
    /// `PlanProfile`, JSON.
    pub profile: String,
    /// `YYYY-MM-DD`.
    pub start_on: String,
    /// The working copy, `Vec<PlanItem>` JSON.
    pub items: String,
    /// The items of the last published version.
    pub published_items: Option<String>,
    /// The last published version's schedule, recomputed when the calendar changes.
    pub published_schedule: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub published_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
