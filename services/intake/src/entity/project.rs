//! `project` (项目).

use bangban_contracts::{
    intake::ProjectCategory,
    project::{ConstructionKind, InvestmentKind, LandSupply},
};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "project")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub name: String,
    pub category: ProjectCategory,
    pub office: String,
    pub code: Option<String>,
    pub investment_wan: Option<f64>,
    pub land_area_m2: Option<f64>,
    pub floor_area_m2: Option<f64>,
    pub newly_settled: bool,
    /// Who invests (投资主体), `None` when not given.
    pub investment_kind: Option<InvestmentKind>,
    /// How the land is supplied (土地供应方式).
    pub land_supply: Option<LandSupply>,
    /// New construction or not (建设性质).
    pub construction: Option<ConstructionKind>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
