//! Migrations of intake's schema (受理库): the outbox and inbox, then intake's own tables.

pub use sea_orm_migration::prelude::*;

mod m20261128_000010_create_cases;
mod m20261128_000020_create_staff;
mod m20261128_000030_create_acceptance;
mod m20261128_000040_create_consultations;
mod m20261128_000050_create_results_archive;
mod m20261128_000060_create_history_audit;
mod m20261202_000070_project_attributes;
mod m20261208_000080_applicant_offices;

/// Every migration of intake, in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        let mut all = bangban_platform::migration::infrastructure();
        all.push(Box::new(m20261128_000010_create_cases::Migration));
        all.push(Box::new(m20261128_000020_create_staff::Migration));
        all.push(Box::new(m20261128_000030_create_acceptance::Migration));
        all.push(Box::new(m20261128_000040_create_consultations::Migration));
        all.push(Box::new(m20261128_000060_create_history_audit::Migration));
        all.push(Box::new(m20261128_000050_create_results_archive::Migration));
        all.push(Box::new(m20261202_000070_project_attributes::Migration));
        all.push(Box::new(m20261208_000080_applicant_offices::Migration));
        all
    }
}
