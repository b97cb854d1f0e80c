//! Migrations of deadline's schema (时限库): the outbox and inbox, then deadline's own tables.

pub use sea_orm_migration::prelude::*;

mod m20261203_000010_create_deadline;

/// Every migration of deadline, in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        let mut all = bangban_platform::migration::infrastructure();
        all.push(Box::new(m20261203_000010_create_deadline::Migration));
        all
    }
}
