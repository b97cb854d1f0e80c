//! `contact_card`: the contact cards issued (联系卡), the current one with no `superseded_at`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "contact_card")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub applicant_id: String,
    pub case_id: String,
    pub specialist_id: String,
    pub name: String,
    pub number: String,
    pub position: String,
    pub photo_url: Option<String>,
    pub phone: String,
    pub service_items: String,
    pub issued_at: DateTimeUtc,
    pub superseded_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
