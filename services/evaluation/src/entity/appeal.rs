//! `appeal`: an appeal of a rating.

use bangban_contracts::evaluation::AppealStatus;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "appeal")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub evaluation_id: String,
    pub office: String,
    pub filed_by: String,
    pub reason: String,
    pub evidence: String,
    pub status: AppealStatus,
    pub decided_by: Option<String>,
    pub decision_note: Option<String>,
    pub filed_at: DateTimeUtc,
    pub decided_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
