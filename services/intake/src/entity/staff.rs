//! `staff`: the people of the offices and units (工作人员), with what a contact card shows.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "staff")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub name: String,
    pub role: String,
    pub office: String,
    pub unit: Option<String>,
    /// The public number on the contact card (编号).
    pub number: String,
    pub position: String,
    /// The published work phone (§4.2.2: the contact card makes it public).
    pub phone: String,
    pub photo_url: Option<String>,
    /// JSON array of the service items the person handles.
    pub service_items: String,
    pub active: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
