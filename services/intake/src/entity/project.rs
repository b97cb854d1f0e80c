//! `project` (项目).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "project")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub name: String,
    pub category: String,
    pub office: String,
    pub code: Option<String>,
    pub investment_wan: Option<f64>,
    pub land_area_m2: Option<f64>,
    pub floor_area_m2: Option<f64>,
    pub newly_settled: bool,
    /// Who invests (投资主体): `InvestmentKind::as_str`, `None` when not given.
    pub investment_kind: Option<String>,
    /// How the land is supplied (土地供应方式): `LandSupply::as_str`.
    pub land_supply: Option<String>,
    /// New construction or not (建设性质): `ConstructionKind::as_str`.
    pub construction: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
