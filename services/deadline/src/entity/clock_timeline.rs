//! `clock_timeline`: One entry of a clock's append-only timeline.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "clock_timeline")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub task_id: String,
    pub at: DateTimeUtc,
    pub kind: String,
    pub actor: String,
    #[sea_orm(column_type = "Text")]
    pub note: String,
    pub due_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
