//! `pii_audit`: who saw an applicant's personal data in full, when and why (个人信息查看审计).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "pii_audit")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub applicant_id: String,
    pub case_id: String,
    pub actor_sub: String,
    pub actor_role: String,
    pub actor_office: String,
    pub purpose: String,
    /// Which fields were shown (`id_number,phone`).
    pub fields: String,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
