//! Migrations of notification's schema (通知库): the outbox and inbox, then notification's own tables.

pub use sea_orm_migration::prelude::*;

mod m20261204_000011_create_notification;

/// Every migration of notification, in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        let mut all = bangban_platform::migration::infrastructure();
        all.push(Box::new(m20261204_000011_create_notification::Migration));
        all
    }
}
