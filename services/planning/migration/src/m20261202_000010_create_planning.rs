//! Planning's tables: the calendar (years loaded at run time, overrides, a revision counter), the catalog's
//! versions, plans with their published versions and edit history.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CalendarState {
    Table,
    Id,
    Revision,
}

#[derive(DeriveIden)]
enum CalendarYear {
    Table,
    Year,
    Document,
    LoadedBy,
    LoadedAt,
}

#[derive(DeriveIden)]
enum CalendarOverride {
    Table,
    Date,
    Working,
    Name,
    Reason,
    SetBy,
    SetAt,
}

#[derive(DeriveIden)]
enum CatalogVersion {
    Table,
    Version,
    Change,
    Code,
    Reason,
    Document,
    Items,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Plan {
    Table,
    CaseId,
    LedgerNo,
    Office,
    Project,
    ApplicantId,
    SpecialistId,
    Status,
    Version,
    Revision,
    CatalogVersion,
    Profile,
    StartOn,
    Items,
    PublishedItems,
    PublishedSchedule,
    CreatedAt,
    UpdatedAt,
    PublishedAt,
}

#[derive(DeriveIden)]
enum PlanVersion {
    Table,
    CaseId,
    Version,
    CatalogVersion,
    Items,
    Schedule,
    Changes,
    Note,
    PublishedBy,
    PublishedAt,
}

#[derive(DeriveIden)]
enum PlanEdit {
    Table,
    Id,
    CaseId,
    Action,
    Code,
    Reason,
    Actor,
    At,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CalendarState::Table)
                    .col(ColumnDef::new(CalendarState::Id).integer().not_null().primary_key())
                    .col(ColumnDef::new(CalendarState::Revision).big_integer().not_null())
                    .to_owned(),
            )
            .await?;
        manager.get_connection().execute_unprepared("INSERT INTO calendar_state (id, revision) VALUES (1, 1)").await?;
        manager
            .create_table(
                Table::create()
                    .table(CalendarYear::Table)
                    .col(ColumnDef::new(CalendarYear::Year).integer().not_null().primary_key())
                    .col(ColumnDef::new(CalendarYear::Document).text().not_null())
                    .col(ColumnDef::new(CalendarYear::LoadedBy).string_len(128).not_null())
                    .col(ColumnDef::new(CalendarYear::LoadedAt).timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CalendarOverride::Table)
                    .col(ColumnDef::new(CalendarOverride::Date).string_len(10).not_null().primary_key())
                    .col(ColumnDef::new(CalendarOverride::Working).boolean().not_null())
                    .col(ColumnDef::new(CalendarOverride::Name).string_len(100).not_null())
                    .col(ColumnDef::new(CalendarOverride::Reason).text().not_null())
                    .col(ColumnDef::new(CalendarOverride::SetBy).string_len(128).not_null())
                    .col(ColumnDef::new(CalendarOverride::SetAt).timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CatalogVersion::Table)
                    .col(ColumnDef::new(CatalogVersion::Version).integer().not_null().primary_key())
                    .col(ColumnDef::new(CatalogVersion::Change).string_len(32).not_null())
                    .col(ColumnDef::new(CatalogVersion::Code).string_len(32).null())
                    .col(ColumnDef::new(CatalogVersion::Reason).text().not_null())
                    .col(ColumnDef::new(CatalogVersion::Document).text().not_null())
                    .col(ColumnDef::new(CatalogVersion::Items).integer().not_null())
                    .col(ColumnDef::new(CatalogVersion::CreatedBy).string_len(128).not_null())
                    .col(ColumnDef::new(CatalogVersion::CreatedAt).timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Plan::Table)
                    .col(ColumnDef::new(Plan::CaseId).string_len(36).not_null().primary_key())
                    .col(ColumnDef::new(Plan::LedgerNo).string_len(32).not_null())
                    .col(ColumnDef::new(Plan::Office).string_len(6).not_null())
                    .col(ColumnDef::new(Plan::Project).text().not_null())
                    .col(ColumnDef::new(Plan::ApplicantId).string_len(36).not_null())
                    .col(ColumnDef::new(Plan::SpecialistId).string_len(64).not_null())
                    .col(ColumnDef::new(Plan::Status).string_len(16).not_null())
                    .col(ColumnDef::new(Plan::Version).integer().not_null())
                    .col(ColumnDef::new(Plan::Revision).integer().not_null())
                    .col(ColumnDef::new(Plan::CatalogVersion).integer().not_null())
                    .col(ColumnDef::new(Plan::Profile).text().not_null())
                    .col(ColumnDef::new(Plan::StartOn).string_len(10).not_null())
                    .col(ColumnDef::new(Plan::Items).text().not_null())
                    .col(ColumnDef::new(Plan::PublishedItems).text().null())
                    .col(ColumnDef::new(Plan::PublishedSchedule).text().null())
                    .col(ColumnDef::new(Plan::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(Plan::UpdatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(Plan::PublishedAt).timestamp_with_time_zone().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("plan_by_status")
                    .table(Plan::Table)
                    .col(Plan::Status)
                    .col(Plan::CaseId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PlanVersion::Table)
                    .col(ColumnDef::new(PlanVersion::CaseId).string_len(36).not_null())
                    .col(ColumnDef::new(PlanVersion::Version).integer().not_null())
                    .col(ColumnDef::new(PlanVersion::CatalogVersion).integer().not_null())
                    .col(ColumnDef::new(PlanVersion::Items).text().not_null())
                    .col(ColumnDef::new(PlanVersion::Schedule).text().not_null())
                    .col(ColumnDef::new(PlanVersion::Changes).text().not_null())
                    .col(ColumnDef::new(PlanVersion::Note).text().null())
                    .col(ColumnDef::new(PlanVersion::PublishedBy).string_len(128).not_null())
                    .col(ColumnDef::new(PlanVersion::PublishedAt).timestamp_with_time_zone().not_null())
                    .primary_key(Index::create().col(PlanVersion::CaseId).col(PlanVersion::Version))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PlanEdit::Table)
                    .col(ColumnDef::new(PlanEdit::Id).string_len(36).not_null().primary_key())
                    .col(ColumnDef::new(PlanEdit::CaseId).string_len(36).not_null())
                    .col(ColumnDef::new(PlanEdit::Action).string_len(16).not_null())
                    .col(ColumnDef::new(PlanEdit::Code).string_len(32).null())
                    .col(ColumnDef::new(PlanEdit::Reason).text().null())
                    .col(ColumnDef::new(PlanEdit::Actor).string_len(128).not_null())
                    .col(ColumnDef::new(PlanEdit::At).timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("plan_edit_by_case")
                    .table(PlanEdit::Table)
                    .col(PlanEdit::CaseId)
                    .col(PlanEdit::At)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
