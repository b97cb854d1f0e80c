//! `archive_document`: a filed document (归档资料); its bytes are in the document store.

use bangban_contracts::intake::results::ArchiveDocType;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "archive_document")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub case_id: String,
    pub doc_type: ArchiveDocType,
    pub title: String,
    pub media_type: String,
    pub size: i64,
    pub sha256: String,
    pub object_key: String,
    pub filed_by: String,
    pub filed_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
