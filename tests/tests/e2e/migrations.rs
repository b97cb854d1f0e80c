//! Migrations on a cluster (迁移): replicas starting together do not race, and a service in `verify` mode
//! never changes the schema — it waits for `bangban migrate` (the chart's migration Job) and refuses to start,
//! naming what is pending, when the job has not run.

use std::time::Duration;

use bangban_platform::{
    config::{DatabaseSettings, MigrateMode},
    db,
};
use bangban_routing_migration::Migrator;
use bangban_testkit::TestDatabase;
use sea_orm_migration::MigratorTrait;

fn verify(wait: Duration) -> DatabaseSettings {
    DatabaseSettings { migrate: MigrateMode::Verify, migrate_wait: wait, max_connections: 2, ..Default::default() }
}

#[tokio::test]
async fn verify_mode_refuses_a_schema_that_was_never_migrated_and_changes_nothing() {
    let test_db = TestDatabase::new("routing").await.unwrap();
    let target = test_db.target();
    let err = db::connect_for_service::<Migrator>(&target, &verify(Duration::from_millis(300))).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("bangban migrate") && text.contains("pending migration"), "{text}");
    let first = Migrator::migrations().first().map(|m| m.name().to_string()).unwrap();
    assert!(text.contains(&first), "names the pending migrations: {text}");

    // Nothing was created: every migration is still pending, not even the bookkeeping table exists.
    let conn = db::connect(&target, 1).await.unwrap();
    assert_eq!(Migrator::get_pending_migrations_read_only(&conn).await.unwrap().len(), Migrator::migrations().len());
    assert!(!sea_orm_migration::SchemaManager::new(&conn).has_table("seaql_migrations").await.unwrap());
}

#[tokio::test]
async fn verify_mode_waits_for_the_migration_job_then_starts() {
    let test_db = TestDatabase::new("routing").await.unwrap();
    let target = test_db.target();
    let waiting = {
        let target = target.clone();
        tokio::spawn(
            async move { db::connect_for_service::<Migrator>(&target, &verify(Duration::from_secs(60))).await },
        )
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!waiting.is_finished(), "a service in verify mode waits for the job");
    // The migration job (`bangban migrate` runs exactly this).
    db::connect_and_migrate::<Migrator>(&target, 1).await.unwrap();
    let conn =
        tokio::time::timeout(Duration::from_secs(10), waiting).await.expect("starts once current").unwrap().unwrap();
    assert!(Migrator::get_pending_migrations_read_only(&conn).await.unwrap().is_empty());
    // And a restart in verify mode starts at once.
    db::connect_for_service::<Migrator>(&target, &verify(Duration::ZERO)).await.unwrap();
}

#[tokio::test]
async fn replicas_migrating_together_take_turns() {
    let test_db = TestDatabase::new("routing").await.unwrap();
    let target = test_db.target();
    let auto = DatabaseSettings { migrate: MigrateMode::Auto, max_connections: 2, ..Default::default() };
    // The database exists before the replicas start, as on a cluster (on SQLite, five connections switching a
    // brand-new file to WAL at once can see SQLITE_BUSY; that is about creating the file, not migrating it).
    db::connect(&target, 1).await.unwrap().close().await.unwrap();
    // Four replicas and the job at once. Without the lock this failed at once on SQLite ("table outbox
    // already exists": two processes ran the same migration).
    let mut starts = Vec::new();
    for _ in 0..4 {
        let (target, auto) = (target.clone(), auto.clone());
        starts.push(tokio::spawn(async move { db::connect_for_service::<Migrator>(&target, &auto).await.map(drop) }));
    }
    let job = {
        let target = target.clone();
        tokio::spawn(async move { db::connect_and_migrate::<Migrator>(&target, 1).await.map(drop) })
    };
    starts.push(job);
    for start in starts {
        start.await.unwrap().expect("every replica starts");
    }
    let conn = db::connect(&target, 1).await.unwrap();
    let applied = Migrator::get_applied_migrations_read_only(&conn).await.unwrap();
    assert_eq!(applied.len(), Migrator::migrations().len(), "each migration recorded once");
}
