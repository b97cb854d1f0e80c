//! Project attributes (项目属性, §7.3.2) that planning needs to choose approval items: who invests,
//! how the land is supplied and whether the project is built new. Nullable: projects registered
//! before keep none, and planning falls back to the category's usual value.
//!
//! One column per `ALTER TABLE`: SQLite adds only one at a time.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Project {
    Table,
    InvestmentKind,
    LandSupply,
    Construction,
}

const COLUMNS: [Project; 3] = [Project::InvestmentKind, Project::LandSupply, Project::Construction];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in COLUMNS {
            manager
                .alter_table(
                    Table::alter()
                        .table(Project::Table)
                        .add_column(ColumnDef::new(column).string_len(32).null())
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in COLUMNS.into_iter().rev() {
            manager.alter_table(Table::alter().table(Project::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
