//! `applicant_change`: who changed an applicant's name or contact data, when, and which fields (服务对象信息
//! 变更审计) — never the values.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "applicant_change")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub applicant_id: String,
    pub actor_sub: String,
    pub actor_role: String,
    pub actor_office: String,
    /// Which fields changed (`name,phone,contact_person`).
    pub fields: String,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
