//! `unit`: the responsible-unit directory (责任单位).

use bangban_contracts::planning::{Level, UnitType};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "unit")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub code: String,
    pub name: String,
    pub unit_type: UnitType,
    /// `province`, `city` or `county`.
    pub level: Level,
    pub office: String,
    /// `Vec<UnitContact>`, JSON.
    pub contacts: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
