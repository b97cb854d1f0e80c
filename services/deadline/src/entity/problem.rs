//! `problem`: A problem on a task (§7.5.2).

use bangban_contracts::deadline::ProblemStatus;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "problem")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub task_id: String,
    pub case_id: String,
    pub office: String,
    pub unit_office: String,
    pub unit_code: String,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    pub status: ProblemStatus,
    pub recorded_by: String,
    pub recorded_at: DateTimeUtc,
    pub solve_by: String,
    pub referred_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text", nullable)]
    pub referral_reason: Option<String>,
    pub solved_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text", nullable)]
    pub solution: Option<String>,
    pub consultation_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
