//! Migrations of routing's schema (推送库): the outbox and inbox, then routing's own tables.

pub use sea_orm_migration::prelude::*;

mod m20261202_000010_create_routing;

/// Every migration of routing, in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        let mut all = bangban_platform::migration::infrastructure();
        all.push(Box::new(m20261202_000010_create_routing::Migration));
        all
    }
}
