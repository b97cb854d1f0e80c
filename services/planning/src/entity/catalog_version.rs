//! `catalog_version`: every version of the approval-item catalog (事项库), whole.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "catalog_version")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub version: i32,
    /// `seed`, `put_item` or `remove_item`.
    pub change: String,
    pub code: Option<String>,
    pub reason: String,
    /// The whole catalog as a `CatalogDocument`.
    pub document: String,
    pub items: i32,
    pub created_by: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
