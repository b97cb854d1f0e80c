//! `inbox_notice` (站内通知): the same notices, per person (or unit).

use sea_orm::entity::prelude::*;

use crate::templates::TemplateId;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "inbox_notice")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub dedupe_key: String,
    pub owner: String,
    pub template_id: TemplateId,
    pub title: String,
    pub text: String,
    pub case_id: Option<String>,
    pub task_id: Option<String>,
    pub created_at: DateTimeUtc,
    pub read_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
