//! Applicants, projects, cases (台账) and the per-office, per-year ledger sequence.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Applicant {
    Table,
    Id,
    Kind,
    Name,
    IdNumberEnc,
    IdNumberIndex,
    CreditCode,
    PhoneEnc,
    ContactPerson,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Project {
    Table,
    Id,
    Name,
    Category,
    Office,
    Code,
    InvestmentWan,
    LandAreaM2,
    FloorAreaM2,
    NewlySettled,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Cases {
    Table,
    Id,
    LedgerNo,
    ServiceType,
    Status,
    Office,
    ApplicantId,
    ProjectId,
    SpecialistId,
    ReadyForResults,
    TerminationReason,
    TerminationNote,
    TerminatedAt,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum LedgerSequence {
    Table,
    Office,
    Year,
    Last,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Applicant::Table)
                    .col(ColumnDef::new(Applicant::Id).string_len(36).not_null().primary_key())
                    .col(ColumnDef::new(Applicant::Kind).string_len(32).not_null())
                    .col(ColumnDef::new(Applicant::Name).string_len(200).not_null())
                    // Encrypted (AES-256-GCM, `v1:…`); found again through the keyed blind index.
                    .col(ColumnDef::new(Applicant::IdNumberEnc).text().null())
                    .col(ColumnDef::new(Applicant::IdNumberIndex).string_len(64).null().unique_key())
                    .col(ColumnDef::new(Applicant::CreditCode).string_len(18).null().unique_key())
                    .col(ColumnDef::new(Applicant::PhoneEnc).text().null())
                    .col(ColumnDef::new(Applicant::ContactPerson).string_len(100).null())
                    .col(ColumnDef::new(Applicant::CreatedAt).timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Project::Table)
                    .col(ColumnDef::new(Project::Id).string_len(36).not_null().primary_key())
                    .col(ColumnDef::new(Project::Name).string_len(400).not_null())
                    .col(ColumnDef::new(Project::Category).string_len(32).not_null())
                    .col(ColumnDef::new(Project::Office).string_len(6).not_null())
                    .col(ColumnDef::new(Project::Code).string_len(32).null())
                    .col(ColumnDef::new(Project::InvestmentWan).double().null())
                    .col(ColumnDef::new(Project::LandAreaM2).double().null())
                    .col(ColumnDef::new(Project::FloorAreaM2).double().null())
                    .col(ColumnDef::new(Project::NewlySettled).boolean().not_null().default(false))
                    .col(ColumnDef::new(Project::CreatedAt).timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Cases::Table)
                    .col(ColumnDef::new(Cases::Id).string_len(36).not_null().primary_key())
                    .col(ColumnDef::new(Cases::LedgerNo).string_len(32).not_null().unique_key())
                    .col(ColumnDef::new(Cases::ServiceType).string_len(16).not_null())
                    .col(ColumnDef::new(Cases::Status).string_len(32).not_null())
                    .col(ColumnDef::new(Cases::Office).string_len(6).not_null())
                    .col(ColumnDef::new(Cases::ApplicantId).string_len(36).not_null())
                    .col(ColumnDef::new(Cases::ProjectId).string_len(36).not_null())
                    .col(ColumnDef::new(Cases::SpecialistId).string_len(64).not_null())
                    .col(ColumnDef::new(Cases::ReadyForResults).boolean().not_null().default(false))
                    .col(ColumnDef::new(Cases::TerminationReason).string_len(32).null())
                    .col(ColumnDef::new(Cases::TerminationNote).text().null())
                    .col(ColumnDef::new(Cases::TerminatedAt).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(Cases::CreatedBy).string_len(128).not_null())
                    .col(ColumnDef::new(Cases::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(Cases::UpdatedAt).timestamp_with_time_zone().not_null())
                    .foreign_key(
                        ForeignKey::create().from(Cases::Table, Cases::ApplicantId).to(Applicant::Table, Applicant::Id),
                    )
                    .foreign_key(
                        ForeignKey::create().from(Cases::Table, Cases::ProjectId).to(Project::Table, Project::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("cases_office_status")
                    .table(Cases::Table)
                    .col(Cases::Office)
                    .col(Cases::Status)
                    .col(Cases::SpecialistId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("cases_applicant").table(Cases::Table).col(Cases::ApplicantId).to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(LedgerSequence::Table)
                    .col(ColumnDef::new(LedgerSequence::Office).string_len(6).not_null())
                    .col(ColumnDef::new(LedgerSequence::Year).integer().not_null())
                    .col(ColumnDef::new(LedgerSequence::Last).big_integer().not_null())
                    .primary_key(Index::create().col(LedgerSequence::Office).col(LedgerSequence::Year))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(LedgerSequence::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Cases::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Project::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Applicant::Table).to_owned()).await
    }
}
