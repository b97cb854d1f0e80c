//! `invitation`: an invitation to rate one matter, with the hash of its one-time code.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "invitation")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub matter_key: String,
    pub code_hash: String,
    pub case_id: String,
    pub ledger_no: String,
    pub task_id: Option<String>,
    pub item_name: String,
    pub unit_name: Option<String>,
    pub office: String,
    pub applicant_id: String,
    pub invited_at: DateTimeUtc,
    pub invited_us: i64,
    pub rated_at: Option<DateTimeUtc>,
    pub evaluation_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
