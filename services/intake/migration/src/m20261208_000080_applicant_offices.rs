//! Which offices an applicant belongs to (服务对象所属机构) and the audit of changes to an applicant's
//! name and contact data (服务对象信息变更审计).
//!
//! An applicant belongs to the office that registered it (`applicant_office`, written once, when the record
//! is created) and to every office that accepted a case of it (`cases.office`). Those offices' staff see it
//! in the register and may change its name and contact data; every such change is recorded in
//! `applicant_change` (which fields, by whom — never the values).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ApplicantOffice {
    Table,
    ApplicantId,
    Office,
    RegisteredBy,
    RegisteredAt,
}

#[derive(DeriveIden)]
enum ApplicantChange {
    Table,
    Id,
    ApplicantId,
    ActorSub,
    ActorRole,
    ActorOffice,
    Fields,
    At,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ApplicantOffice::Table)
                    .col(ColumnDef::new(ApplicantOffice::ApplicantId).string_len(36).not_null())
                    .col(ColumnDef::new(ApplicantOffice::Office).string_len(6).not_null())
                    .col(ColumnDef::new(ApplicantOffice::RegisteredBy).string_len(128).not_null())
                    .col(ColumnDef::new(ApplicantOffice::RegisteredAt).timestamp_with_time_zone().not_null())
                    .primary_key(Index::create().col(ApplicantOffice::ApplicantId).col(ApplicantOffice::Office))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("applicant_office_office")
                    .table(ApplicantOffice::Table)
                    .col(ApplicantOffice::Office)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ApplicantChange::Table)
                    .col(ColumnDef::new(ApplicantChange::Id).string_len(36).not_null().primary_key())
                    .col(ColumnDef::new(ApplicantChange::ApplicantId).string_len(36).not_null())
                    .col(ColumnDef::new(ApplicantChange::ActorSub).string_len(128).not_null())
                    .col(ColumnDef::new(ApplicantChange::ActorRole).string_len(32).not_null())
                    .col(ColumnDef::new(ApplicantChange::ActorOffice).string_len(6).not_null())
                    .col(ColumnDef::new(ApplicantChange::Fields).string_len(100).not_null())
                    .col(ColumnDef::new(ApplicantChange::At).timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("applicant_change_applicant")
                    .table(ApplicantChange::Table)
                    .col(ApplicantChange::ApplicantId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(ApplicantChange::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(ApplicantOffice::Table).to_owned()).await
    }
}
