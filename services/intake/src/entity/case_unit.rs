//! `case_unit`: the responsible units (责任单位) a case's tasks were dispatched to.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "case_unit")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub case_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub unit: String,
    pub office: String,
    pub first_dispatched_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
