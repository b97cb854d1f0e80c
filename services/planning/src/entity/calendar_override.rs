//! `calendar_override`: a local closure or correction of one date.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "calendar_override")]
pub struct Model {
    /// `YYYY-MM-DD`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub date: String,
    pub working: bool,
    pub name: String,
    pub reason: String,
    pub set_by: String,
    pub set_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
