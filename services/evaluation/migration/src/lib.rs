//! Migrations of evaluation's schema (评价库): the outbox and inbox, then evaluation's own tables.

pub use sea_orm_migration::prelude::*;

mod m20261205_000012_create_evaluation;

/// Every migration of evaluation, in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        let mut all = bangban_platform::migration::infrastructure();
        all.push(Box::new(m20261205_000012_create_evaluation::Migration));
        all
    }
}
