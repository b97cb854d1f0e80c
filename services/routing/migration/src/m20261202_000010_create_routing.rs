//! Routing's tables: the unit directory, each case's routed plan, its tasks and their steps.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
#[allow(clippy::enum_variant_names)]
enum Unit {
    Table,
    Code,
    Name,
    UnitType,
    Level,
    Office,
    Contacts,
}

#[derive(DeriveIden)]
enum CasePlan {
    Table,
    CaseId,
    Office,
    LedgerNo,
    Version,
    Status,
    ApplicantId,
    SpecialistId,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Task {
    Table,
    Id,
    CaseId,
    LedgerNo,
    Office,
    PlanVersion,
    Code,
    Name,
    Stage,
    UnitCode,
    UnitName,
    UnitOffice,
    Status,
    PromisedWorkingDays,
    Materials,
    Predecessors,
    PlannedStart,
    PlannedEnd,
    ApplicantId,
    SpecialistId,
    DispatchedAt,
    ReceivedAt,
    PausedSince,
    Supplement,
    Result,
    Rejection,
    Linked,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum TaskStep {
    Table,
    Id,
    TaskId,
    Action,
    FromStatus,
    ToStatus,
    Actor,
    At,
    Note,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Unit::Table)
                    .col(ColumnDef::new(Unit::Code).string_len(32).not_null().primary_key())
                    .col(ColumnDef::new(Unit::Name).string_len(100).not_null())
                    .col(ColumnDef::new(Unit::UnitType).string_len(32).not_null())
                    .col(ColumnDef::new(Unit::Level).string_len(16).not_null())
                    .col(ColumnDef::new(Unit::Office).string_len(6).not_null())
                    .col(ColumnDef::new(Unit::Contacts).text().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("unit_by_type")
                    .table(Unit::Table)
                    .col(Unit::UnitType)
                    .col(Unit::Office)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CasePlan::Table)
                    .col(ColumnDef::new(CasePlan::CaseId).string_len(36).not_null().primary_key())
                    .col(ColumnDef::new(CasePlan::Office).string_len(6).not_null())
                    .col(ColumnDef::new(CasePlan::LedgerNo).string_len(32).not_null())
                    .col(ColumnDef::new(CasePlan::Version).integer().not_null())
                    .col(ColumnDef::new(CasePlan::Status).string_len(16).not_null())
                    .col(ColumnDef::new(CasePlan::ApplicantId).string_len(36).not_null())
                    .col(ColumnDef::new(CasePlan::SpecialistId).string_len(64).not_null())
                    .col(ColumnDef::new(CasePlan::UpdatedAt).timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Task::Table)
                    .col(ColumnDef::new(Task::Id).string_len(36).not_null().primary_key())
                    .col(ColumnDef::new(Task::CaseId).string_len(36).not_null())
                    .col(ColumnDef::new(Task::LedgerNo).string_len(32).not_null())
                    .col(ColumnDef::new(Task::Office).string_len(6).not_null())
                    .col(ColumnDef::new(Task::PlanVersion).integer().not_null())
                    .col(ColumnDef::new(Task::Code).string_len(32).not_null())
                    .col(ColumnDef::new(Task::Name).string_len(200).not_null())
                    .col(ColumnDef::new(Task::Stage).string_len(32).not_null())
                    .col(ColumnDef::new(Task::UnitCode).string_len(32).not_null())
                    .col(ColumnDef::new(Task::UnitName).string_len(100).not_null())
                    .col(ColumnDef::new(Task::UnitOffice).string_len(6).not_null())
                    .col(ColumnDef::new(Task::Status).string_len(32).not_null())
                    .col(ColumnDef::new(Task::PromisedWorkingDays).integer().not_null())
                    .col(ColumnDef::new(Task::Materials).text().not_null())
                    .col(ColumnDef::new(Task::Predecessors).text().not_null())
                    .col(ColumnDef::new(Task::PlannedStart).string_len(10).not_null())
                    .col(ColumnDef::new(Task::PlannedEnd).string_len(10).not_null())
                    .col(ColumnDef::new(Task::ApplicantId).string_len(36).not_null())
                    .col(ColumnDef::new(Task::SpecialistId).string_len(64).not_null())
                    .col(ColumnDef::new(Task::DispatchedAt).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(Task::ReceivedAt).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(Task::PausedSince).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(Task::Supplement).text().null())
                    .col(ColumnDef::new(Task::Result).text().null())
                    .col(ColumnDef::new(Task::Rejection).text().null())
                    .col(ColumnDef::new(Task::Linked).text().null())
                    .col(ColumnDef::new(Task::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(Task::UpdatedAt).timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            ("task_by_case", vec![Task::CaseId, Task::Code]),
            ("task_by_unit", vec![Task::UnitCode, Task::Status]),
            ("task_by_unit_office", vec![Task::UnitOffice, Task::Status]),
        ] {
            let mut index = Index::create();
            index.name(name).table(Task::Table);
            for c in cols {
                index.col(c);
            }
            manager.create_index(index.to_owned()).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(TaskStep::Table)
                    .col(ColumnDef::new(TaskStep::Id).string_len(36).not_null().primary_key())
                    .col(ColumnDef::new(TaskStep::TaskId).string_len(36).not_null())
                    .col(ColumnDef::new(TaskStep::Action).string_len(32).not_null())
                    .col(ColumnDef::new(TaskStep::FromStatus).string_len(32).not_null())
                    .col(ColumnDef::new(TaskStep::ToStatus).string_len(32).not_null())
                    .col(ColumnDef::new(TaskStep::Actor).string_len(128).not_null())
                    .col(ColumnDef::new(TaskStep::At).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(TaskStep::Note).text().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("task_step_by_task").table(TaskStep::Table).col(TaskStep::TaskId).to_owned(),
            )
            .await?;
        Ok(())
    }
}
