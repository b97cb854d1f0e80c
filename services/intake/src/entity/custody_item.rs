//! `custody_item`: an original material in the agent's custody (代管材料).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "custody_item")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub case_id: String,
    pub material: String,
    pub received_on: Date,
    pub received_from: String,
    pub received_by: String,
    pub note: Option<String>,
    pub returned_on: Option<Date>,
    pub returned_to: Option<String>,
    pub returned_by: Option<String>,
    pub returned_at: Option<DateTimeUtc>,
    pub recorded_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
