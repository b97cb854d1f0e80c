//! Needs intake (对接需求, §7.1): consultations, joint meetings (联席会议) of newly settled projects,
//! and the replay keys of signed webhook deliveries (the 12345 hotline's).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Consultation {
    Table,
    Id,
    Office,
    Channel,
    ExternalId,
    ApplicantName,
    Organisation,
    PhoneEnc,
    ProjectName,
    ProjectCategory,
    ProjectOffice,
    NewlySettled,
    Needs,
    ProjectState,
    Materials,
    Intent,
    ConsultedAt,
    RecordedBy,
    RecordedAt,
}

#[derive(DeriveIden)]
enum JointMeeting {
    Table,
    Id,
    ConsultationId,
    Office,
    ScheduledAt,
    Place,
    Attendees,
    ScheduledBy,
    CreatedAt,
    Decisions,
    FollowUps,
    MinutesRecordedBy,
    MinutesRecordedAt,
}

#[derive(DeriveIden)]
enum WebhookDelivery {
    Table,
    Key,
    Source,
    ConsultationId,
    ReceivedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Consultation::Table)
                    .col(ColumnDef::new(Consultation::Id).string_len(36).not_null().primary_key())
                    .col(ColumnDef::new(Consultation::Office).string_len(6).not_null())
                    .col(ColumnDef::new(Consultation::Channel).string_len(16).not_null())
                    .col(ColumnDef::new(Consultation::ExternalId).string_len(64).null())
                    .col(ColumnDef::new(Consultation::ApplicantName).string_len(100).not_null())
                    .col(ColumnDef::new(Consultation::Organisation).string_len(200).null())
                    .col(ColumnDef::new(Consultation::PhoneEnc).text().null())
                    .col(ColumnDef::new(Consultation::ProjectName).string_len(200).not_null())
                    .col(ColumnDef::new(Consultation::ProjectCategory).string_len(32).not_null())
                    .col(ColumnDef::new(Consultation::ProjectOffice).string_len(6).not_null())
                    .col(ColumnDef::new(Consultation::NewlySettled).boolean().not_null())
                    .col(ColumnDef::new(Consultation::Needs).text().not_null())
                    .col(ColumnDef::new(Consultation::ProjectState).text().not_null())
                    .col(ColumnDef::new(Consultation::Materials).text().not_null())
                    .col(ColumnDef::new(Consultation::Intent).string_len(16).not_null())
                    .col(ColumnDef::new(Consultation::ConsultedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(Consultation::RecordedBy).string_len(128).not_null())
                    .col(ColumnDef::new(Consultation::RecordedAt).timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await?;
        // One consultation per ticket of a channel (NULLs are distinct on both back-ends).
        manager
            .create_index(
                Index::create()
                    .name("consultation_channel_external_id")
                    .table(Consultation::Table)
                    .col(Consultation::Channel)
                    .col(Consultation::ExternalId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("consultation_office_recorded")
                    .table(Consultation::Table)
                    .col(Consultation::Office)
                    .col(Consultation::RecordedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("consultation_recorded")
                    .table(Consultation::Table)
                    .col(Consultation::RecordedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(JointMeeting::Table)
                    .col(ColumnDef::new(JointMeeting::Id).string_len(36).not_null().primary_key())
                    .col(ColumnDef::new(JointMeeting::ConsultationId).string_len(36).not_null().unique_key())
                    .col(ColumnDef::new(JointMeeting::Office).string_len(6).not_null())
                    .col(ColumnDef::new(JointMeeting::ScheduledAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(JointMeeting::Place).string_len(200).not_null())
                    .col(ColumnDef::new(JointMeeting::Attendees).text().not_null())
                    .col(ColumnDef::new(JointMeeting::ScheduledBy).string_len(128).not_null())
                    .col(ColumnDef::new(JointMeeting::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(JointMeeting::Decisions).text().null())
                    .col(ColumnDef::new(JointMeeting::FollowUps).text().null())
                    .col(ColumnDef::new(JointMeeting::MinutesRecordedBy).string_len(128).null())
                    .col(ColumnDef::new(JointMeeting::MinutesRecordedAt).timestamp_with_time_zone().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookDelivery::Table)
                    .col(ColumnDef::new(WebhookDelivery::Key).string_len(160).not_null().primary_key())
                    .col(ColumnDef::new(WebhookDelivery::Source).string_len(32).not_null())
                    .col(ColumnDef::new(WebhookDelivery::ConsultationId).string_len(36).not_null())
                    .col(ColumnDef::new(WebhookDelivery::ReceivedAt).timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("webhook_delivery_received")
                    .table(WebhookDelivery::Table)
                    .col(WebhookDelivery::ReceivedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(WebhookDelivery::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(JointMeeting::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Consultation::Table).to_owned()).await
    }
}
