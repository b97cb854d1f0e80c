//! Offices (帮办代办工作机构) and their staff (工作人员).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Office {
    Table,
    Code,
    Name,
    Level,
    Address,
    Phone,
}

#[derive(DeriveIden)]
enum Staff {
    Table,
    Id,
    Name,
    Role,
    Office,
    Unit,
    Number,
    Position,
    Phone,
    PhotoUrl,
    ServiceItems,
    Active,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Office::Table)
                    .col(ColumnDef::new(Office::Code).string_len(6).not_null().primary_key())
                    .col(ColumnDef::new(Office::Name).string_len(100).not_null())
                    .col(ColumnDef::new(Office::Level).string_len(16).not_null())
                    .col(ColumnDef::new(Office::Address).string_len(200).null())
                    .col(ColumnDef::new(Office::Phone).string_len(32).null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Staff::Table)
                    .col(ColumnDef::new(Staff::Id).string_len(64).not_null().primary_key())
                    .col(ColumnDef::new(Staff::Name).string_len(100).not_null())
                    .col(ColumnDef::new(Staff::Role).string_len(32).not_null())
                    .col(ColumnDef::new(Staff::Office).string_len(6).not_null())
                    .col(ColumnDef::new(Staff::Unit).string_len(32).null())
                    .col(ColumnDef::new(Staff::Number).string_len(32).not_null().unique_key())
                    .col(ColumnDef::new(Staff::Position).string_len(100).not_null())
                    .col(ColumnDef::new(Staff::Phone).string_len(32).not_null())
                    .col(ColumnDef::new(Staff::PhotoUrl).string_len(300).null())
                    .col(ColumnDef::new(Staff::ServiceItems).text().not_null())
                    .col(ColumnDef::new(Staff::Active).boolean().not_null().default(true))
                    .col(ColumnDef::new(Staff::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(Staff::UpdatedAt).timestamp_with_time_zone().not_null())
                    .foreign_key(ForeignKey::create().from(Staff::Table, Staff::Office).to(Office::Table, Office::Code))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("staff_office_role")
                    .table(Staff::Table)
                    .col(Staff::Office)
                    .col(Staff::Role)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Staff::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Office::Table).to_owned()).await
    }
}
