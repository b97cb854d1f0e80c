//! `catalog_version`: every version of the approval-item catalog (事项库), whole.

use sea_orm::entity::prelude::*;

bangban_contracts::labelled_enum! {
    /// What made a catalog version (事项库版本来源).
    pub enum CatalogChange {
        /// Version 1, from the data file (数据文件).
        Seed = "seed", "数据文件";
        /// An item added or replaced (新增或修改事项).
        PutItem = "put_item", "新增或修改事项";
        /// An item removed (删除事项).
        RemoveItem = "remove_item", "删除事项";
    }
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "catalog_version")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub version: i32,
    pub change: CatalogChange,
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
