//! `TestDatabase`: SQLite always, PostgreSQL when `TEST_DATABASE_URL` is set.

use bangban_platform::{Settings, db::DbTarget};
use bangban_testkit::{TEST_DATABASE_URL, TestDatabase};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement};

async fn select_one(db: &DatabaseConnection) -> anyhow::Result<i32> {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), "SELECT 1 AS one"))
        .await?
        .expect("SELECT 1 returns a row");
    Ok(row.try_get::<i32>("", "one")?)
}

fn postgres_url() -> Option<String> {
    std::env::var(TEST_DATABASE_URL).ok().filter(|url| !url.trim().is_empty())
}

#[tokio::test]
async fn the_default_backend_answers() -> anyhow::Result<()> {
    let db = TestDatabase::new("kit").await?;
    assert_eq!(db.is_postgres(), postgres_url().is_some());
    let conn = db.connect().await;
    assert_eq!(select_one(&conn).await?, 1);
    Ok(())
}

#[tokio::test]
async fn sqlite_is_a_file_in_a_temp_dir_removed_on_drop() -> anyhow::Result<()> {
    // Independent of TEST_DATABASE_URL: the SQLite path is what `bangban_platform::db` gets.
    let dir = tempfile::tempdir()?;
    let target = DbTarget::Sqlite { path: dir.path().join("kit.db") };
    let conn = bangban_platform::db::connect(&target, 1).await?;
    assert_eq!(select_one(&conn).await?, 1);

    if postgres_url().is_some() {
        return Ok(()); // TestDatabase itself is PostgreSQL in this run; see the other tests.
    }
    let db = TestDatabase::new("kit").await?;
    assert!(!db.is_postgres());
    assert_eq!(db.schema(), None);
    let DbTarget::Sqlite { path } = db.target() else { panic!("SQLite expected") };
    assert_eq!(path, db.dir().join("kit.db"));
    let conn = db.connect().await;
    conn.execute_unprepared("CREATE TABLE t (id INTEGER)").await?;
    assert!(path.is_file());
    conn.close().await?;
    let dir = db.dir();
    drop(db);
    assert!(!dir.exists(), "the temp dir goes with the TestDatabase");
    Ok(())
}

#[tokio::test]
async fn postgres_gets_a_fresh_schema_per_test_dropped_afterwards() -> anyhow::Result<()> {
    let Some(url) = postgres_url() else {
        eprintln!("{TEST_DATABASE_URL} not set: PostgreSQL not tested here");
        return Ok(());
    };
    let a = TestDatabase::new("kit").await?;
    let b = TestDatabase::new("kit").await?;
    assert!(a.is_postgres());
    let (schema_a, schema_b) = (a.schema().unwrap().to_owned(), b.schema().unwrap().to_owned());
    assert_ne!(schema_a, schema_b);
    assert!(schema_a.starts_with("t_kit_") && schema_a.len() <= 63, "{schema_a}");

    let conn = a.connect().await;
    assert_eq!(select_one(&conn).await?, 1);
    let current = conn
        .query_one_raw(Statement::from_string(DbBackend::Postgres, "SELECT current_schema()::text AS s"))
        .await?
        .expect("a row");
    assert_eq!(current.try_get::<String>("", "s")?, schema_a);
    conn.execute_unprepared("CREATE TABLE t (id INTEGER)").await?;
    conn.execute_unprepared("INSERT INTO t VALUES (1)").await?;
    // The other test's schema does not see this table.
    let other = b.connect().await;
    assert!(other.execute_unprepared("SELECT * FROM t").await.is_err());
    other.close().await?;

    // apply_to: the application's services get `<schema>_<service>`, dropped with the base schema.
    let mut settings = Settings::default();
    a.apply_to(&mut settings);
    let intake = DbTarget::for_service(&settings, "intake")?;
    assert_eq!(intake, DbTarget::Postgres { url: url.clone(), schema: format!("{schema_a}_intake") });
    let intake_conn = bangban_platform::db::connect(&intake, 1).await?;
    intake_conn.execute_unprepared("CREATE TABLE cases (id INTEGER)").await?;
    intake_conn.close().await?;

    let admin = Database::connect(url.as_str()).await?;
    assert_eq!(count_schemas(&admin, &schema_a).await?, 2);
    conn.close().await?;
    drop(a);
    assert_eq!(count_schemas(&admin, &schema_a).await?, 0, "schemas of a are dropped");
    assert_eq!(count_schemas(&admin, &schema_b).await?, 1, "b is untouched");
    drop(b);
    assert_eq!(count_schemas(&admin, &schema_b).await?, 0);
    Ok(())
}

/// How many schemas are `schema` or start with `<schema>_`.
async fn count_schemas(admin: &DatabaseConnection, schema: &str) -> anyhow::Result<i64> {
    let row = admin
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT count(*) AS n FROM information_schema.schemata \
             WHERE schema_name = $1 OR schema_name LIKE $1 || '\\_%'",
            [schema.into()],
        ))
        .await?
        .expect("a row");
    Ok(row.try_get::<i64>("", "n")?)
}
