//! The history of specialist changes (§4.2.3) and the audit log of personal-data reveals.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SpecialistChange {
    Table,
    Id,
    CaseId,
    FromSpecialist,
    ToSpecialist,
    Reason,
    ChangedBy,
    ChangedAt,
}

#[derive(DeriveIden)]
enum CaseUnit {
    Table,
    CaseId,
    Unit,
    Office,
    FirstDispatchedAt,
}

#[derive(DeriveIden)]
enum PiiAudit {
    Table,
    Id,
    ApplicantId,
    CaseId,
    ActorSub,
    ActorRole,
    ActorOffice,
    Purpose,
    Fields,
    At,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SpecialistChange::Table)
                    .col(ColumnDef::new(SpecialistChange::Id).string_len(36).not_null().primary_key())
                    .col(ColumnDef::new(SpecialistChange::CaseId).string_len(36).not_null())
                    .col(ColumnDef::new(SpecialistChange::FromSpecialist).string_len(64).not_null())
                    .col(ColumnDef::new(SpecialistChange::ToSpecialist).string_len(64).not_null())
                    .col(ColumnDef::new(SpecialistChange::Reason).text().not_null())
                    .col(ColumnDef::new(SpecialistChange::ChangedBy).string_len(128).not_null())
                    .col(ColumnDef::new(SpecialistChange::ChangedAt).timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("specialist_change_case")
                    .table(SpecialistChange::Table)
                    .col(SpecialistChange::CaseId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PiiAudit::Table)
                    .col(ColumnDef::new(PiiAudit::Id).string_len(36).not_null().primary_key())
                    .col(ColumnDef::new(PiiAudit::ApplicantId).string_len(36).not_null())
                    .col(ColumnDef::new(PiiAudit::CaseId).string_len(36).not_null())
                    .col(ColumnDef::new(PiiAudit::ActorSub).string_len(128).not_null())
                    .col(ColumnDef::new(PiiAudit::ActorRole).string_len(32).not_null())
                    .col(ColumnDef::new(PiiAudit::ActorOffice).string_len(6).not_null())
                    .col(ColumnDef::new(PiiAudit::Purpose).text().not_null())
                    .col(ColumnDef::new(PiiAudit::Fields).string_len(100).not_null())
                    .col(ColumnDef::new(PiiAudit::At).timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CaseUnit::Table)
                    .col(ColumnDef::new(CaseUnit::CaseId).string_len(36).not_null())
                    .col(ColumnDef::new(CaseUnit::Unit).string_len(32).not_null())
                    .col(ColumnDef::new(CaseUnit::Office).string_len(6).not_null())
                    .col(ColumnDef::new(CaseUnit::FirstDispatchedAt).timestamp_with_time_zone().not_null())
                    .primary_key(Index::create().col(CaseUnit::CaseId).col(CaseUnit::Unit))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("pii_audit_applicant")
                    .table(PiiAudit::Table)
                    .col(PiiAudit::ApplicantId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(PiiAudit::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(CaseUnit::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(SpecialistChange::Table).to_owned()).await
    }
}
