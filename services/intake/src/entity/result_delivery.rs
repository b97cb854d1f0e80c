//! `result_delivery`: one delivered result document (结果送达记录).

use bangban_contracts::intake::results::DeliveryMethod;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "result_delivery")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub case_id: String,
    pub document_kind: String,
    pub document_number: String,
    pub issued_by: String,
    pub issued_on: Date,
    pub method: DeliveryMethod,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    pub collected_by: Option<String>,
    pub delivered_on: Date,
    pub note: Option<String>,
    pub recorded_by: String,
    pub recorded_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
