//! Results delivery and the archive (告知结果 §7.6, 资料归档 §7.7): deliveries of result documents,
//! the custody list of original materials (代管材料清单), archived documents, and the chunks of large
//! documents staged while they cross the bus.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ResultDelivery {
    Table,
    Id,
    CaseId,
    DocumentKind,
    DocumentNumber,
    IssuedBy,
    IssuedOn,
    Method,
    Carrier,
    TrackingNumber,
    CollectedBy,
    DeliveredOn,
    Note,
    RecordedBy,
    RecordedAt,
}

#[derive(DeriveIden)]
enum CustodyItem {
    Table,
    Id,
    CaseId,
    Material,
    ReceivedOn,
    ReceivedFrom,
    ReceivedBy,
    Note,
    ReturnedOn,
    ReturnedTo,
    ReturnedBy,
    ReturnedAt,
    RecordedAt,
}

#[derive(DeriveIden)]
enum ArchiveDocument {
    Table,
    Id,
    CaseId,
    DocType,
    Title,
    MediaType,
    Size,
    Sha256,
    ObjectKey,
    FiledBy,
    FiledAt,
}

#[derive(DeriveIden)]
enum ArchiveUploadChunk {
    Table,
    UploadId,
    Idx,
    CaseId,
    Data,
    CreatedBy,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ResultDelivery::Table)
                    .col(ColumnDef::new(ResultDelivery::Id).string_len(36).not_null().primary_key())
                    .col(ColumnDef::new(ResultDelivery::CaseId).string_len(36).not_null())
                    .col(ColumnDef::new(ResultDelivery::DocumentKind).string_len(100).not_null())
                    .col(ColumnDef::new(ResultDelivery::DocumentNumber).string_len(100).not_null())
                    .col(ColumnDef::new(ResultDelivery::IssuedBy).string_len(100).not_null())
                    .col(ColumnDef::new(ResultDelivery::IssuedOn).date().not_null())
                    .col(ColumnDef::new(ResultDelivery::Method).string_len(32).not_null())
                    .col(ColumnDef::new(ResultDelivery::Carrier).string_len(50).null())
                    .col(ColumnDef::new(ResultDelivery::TrackingNumber).string_len(40).null())
                    .col(ColumnDef::new(ResultDelivery::CollectedBy).string_len(50).null())
                    .col(ColumnDef::new(ResultDelivery::DeliveredOn).date().not_null())
                    .col(ColumnDef::new(ResultDelivery::Note).text().null())
                    .col(ColumnDef::new(ResultDelivery::RecordedBy).string_len(128).not_null())
                    .col(ColumnDef::new(ResultDelivery::RecordedAt).timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("result_delivery_case")
                    .table(ResultDelivery::Table)
                    .col(ResultDelivery::CaseId)
                    .col(ResultDelivery::DocumentKind)
                    .col(ResultDelivery::DocumentNumber)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CustodyItem::Table)
                    .col(ColumnDef::new(CustodyItem::Id).string_len(36).not_null().primary_key())
                    .col(ColumnDef::new(CustodyItem::CaseId).string_len(36).not_null())
                    .col(ColumnDef::new(CustodyItem::Material).string_len(200).not_null())
                    .col(ColumnDef::new(CustodyItem::ReceivedOn).date().not_null())
                    .col(ColumnDef::new(CustodyItem::ReceivedFrom).string_len(100).not_null())
                    .col(ColumnDef::new(CustodyItem::ReceivedBy).string_len(128).not_null())
                    .col(ColumnDef::new(CustodyItem::Note).text().null())
                    .col(ColumnDef::new(CustodyItem::ReturnedOn).date().null())
                    .col(ColumnDef::new(CustodyItem::ReturnedTo).string_len(100).null())
                    .col(ColumnDef::new(CustodyItem::ReturnedBy).string_len(128).null())
                    .col(ColumnDef::new(CustodyItem::ReturnedAt).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(CustodyItem::RecordedAt).timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("custody_item_case").table(CustodyItem::Table).col(CustodyItem::CaseId).to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ArchiveDocument::Table)
                    .col(ColumnDef::new(ArchiveDocument::Id).string_len(36).not_null().primary_key())
                    .col(ColumnDef::new(ArchiveDocument::CaseId).string_len(36).not_null())
                    .col(ColumnDef::new(ArchiveDocument::DocType).string_len(32).not_null())
                    .col(ColumnDef::new(ArchiveDocument::Title).string_len(200).not_null())
                    .col(ColumnDef::new(ArchiveDocument::MediaType).string_len(127).not_null())
                    .col(ColumnDef::new(ArchiveDocument::Size).big_integer().not_null())
                    .col(ColumnDef::new(ArchiveDocument::Sha256).string_len(64).not_null())
                    .col(ColumnDef::new(ArchiveDocument::ObjectKey).string_len(300).not_null())
                    .col(ColumnDef::new(ArchiveDocument::FiledBy).string_len(128).not_null())
                    .col(ColumnDef::new(ArchiveDocument::FiledAt).timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await?;
        // The same content filed twice under one type of one case is one record.
        manager
            .create_index(
                Index::create()
                    .name("archive_document_content")
                    .table(ArchiveDocument::Table)
                    .col(ArchiveDocument::CaseId)
                    .col(ArchiveDocument::DocType)
                    .col(ArchiveDocument::Sha256)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ArchiveUploadChunk::Table)
                    .col(ColumnDef::new(ArchiveUploadChunk::UploadId).string_len(36).not_null())
                    .col(ColumnDef::new(ArchiveUploadChunk::Idx).integer().not_null())
                    .col(ColumnDef::new(ArchiveUploadChunk::CaseId).string_len(36).not_null())
                    .col(ColumnDef::new(ArchiveUploadChunk::Data).blob().not_null())
                    .col(ColumnDef::new(ArchiveUploadChunk::CreatedBy).string_len(128).not_null())
                    .col(ColumnDef::new(ArchiveUploadChunk::CreatedAt).timestamp_with_time_zone().not_null())
                    .primary_key(Index::create().col(ArchiveUploadChunk::UploadId).col(ArchiveUploadChunk::Idx))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("archive_upload_chunk_created")
                    .table(ArchiveUploadChunk::Table)
                    .col(ArchiveUploadChunk::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(ArchiveUploadChunk::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(ArchiveDocument::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(CustodyItem::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(ResultDelivery::Table).to_owned()).await
    }
}
