//! What acceptance records (受理委托, §7.2): the commission agreement, the formal review of each
//! material, and the contact cards (联系卡) with their history.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Agreement {
    Table,
    CaseId,
    Parties,
    Scope,
    SignedOn,
    ValidUntil,
    CreatedAt,
}

#[derive(DeriveIden)]
enum MaterialReview {
    Table,
    Id,
    CaseId,
    Name,
    Complete,
    Authentic,
    Valid,
    Note,
    ReviewedBy,
    ReviewedAt,
}

#[derive(DeriveIden)]
enum ContactCard {
    Table,
    Id,
    ApplicantId,
    CaseId,
    SpecialistId,
    Name,
    Number,
    Position,
    PhotoUrl,
    Phone,
    ServiceItems,
    IssuedAt,
    SupersededAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Agreement::Table)
                    .col(ColumnDef::new(Agreement::CaseId).string_len(36).not_null().primary_key())
                    .col(ColumnDef::new(Agreement::Parties).text().not_null())
                    .col(ColumnDef::new(Agreement::Scope).text().not_null())
                    .col(ColumnDef::new(Agreement::SignedOn).date().not_null())
                    .col(ColumnDef::new(Agreement::ValidUntil).date().not_null())
                    .col(ColumnDef::new(Agreement::CreatedAt).timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(MaterialReview::Table)
                    .col(ColumnDef::new(MaterialReview::Id).string_len(36).not_null().primary_key())
                    .col(ColumnDef::new(MaterialReview::CaseId).string_len(36).not_null())
                    .col(ColumnDef::new(MaterialReview::Name).string_len(200).not_null())
                    .col(ColumnDef::new(MaterialReview::Complete).boolean().not_null())
                    .col(ColumnDef::new(MaterialReview::Authentic).boolean().not_null())
                    .col(ColumnDef::new(MaterialReview::Valid).boolean().not_null())
                    .col(ColumnDef::new(MaterialReview::Note).text().null())
                    .col(ColumnDef::new(MaterialReview::ReviewedBy).string_len(128).not_null())
                    .col(ColumnDef::new(MaterialReview::ReviewedAt).timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("material_review_case")
                    .table(MaterialReview::Table)
                    .col(MaterialReview::CaseId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ContactCard::Table)
                    .col(ColumnDef::new(ContactCard::Id).string_len(36).not_null().primary_key())
                    .col(ColumnDef::new(ContactCard::ApplicantId).string_len(36).not_null())
                    .col(ColumnDef::new(ContactCard::CaseId).string_len(36).not_null())
                    .col(ColumnDef::new(ContactCard::SpecialistId).string_len(64).not_null())
                    .col(ColumnDef::new(ContactCard::Name).string_len(100).not_null())
                    .col(ColumnDef::new(ContactCard::Number).string_len(32).not_null())
                    .col(ColumnDef::new(ContactCard::Position).string_len(100).not_null())
                    .col(ColumnDef::new(ContactCard::PhotoUrl).string_len(300).null())
                    .col(ColumnDef::new(ContactCard::Phone).string_len(32).not_null())
                    .col(ColumnDef::new(ContactCard::ServiceItems).text().not_null())
                    .col(ColumnDef::new(ContactCard::IssuedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(ContactCard::SupersededAt).timestamp_with_time_zone().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("contact_card_applicant")
                    .table(ContactCard::Table)
                    .col(ContactCard::ApplicantId)
                    .col(ContactCard::SupersededAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("contact_card_case")
                    .table(ContactCard::Table)
                    .col(ContactCard::CaseId)
                    .col(ContactCard::SupersededAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(ContactCard::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(MaterialReview::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Agreement::Table).to_owned()).await
    }
}
