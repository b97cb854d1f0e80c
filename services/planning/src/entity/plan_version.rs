//! `plan_version`: every published version of a plan, as published.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "plan_version")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub case_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub version: i32,
    pub catalog_version: i32,
    pub items: String,
    pub schedule: String,
    pub changes: String,
    pub note: Option<String>,
    pub published_by: String,
    pub published_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
