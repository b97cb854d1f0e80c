//! Migrations of planning's schema (代办方案库): the outbox and inbox, then planning's own tables.

pub use sea_orm_migration::prelude::*;

mod m20261202_000010_create_planning;

/// Every migration of planning, in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        let mut all = bangban_platform::migration::infrastructure();
        all.push(Box::new(m20261202_000010_create_planning::Migration));
        all
    }
}
