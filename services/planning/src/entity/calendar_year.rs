//! `calendar_year`: a year's schedule loaded at run time (replaces the compiled-in one of that year).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "calendar_year")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub year: i32,
    /// The holiday-cn day-list document.
    pub document: String,
    pub loaded_by: String,
    pub loaded_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
