//! A database per test: a temp SQLite file, or a fresh PostgreSQL schema when `TEST_DATABASE_URL` is set.

use std::{env, path::PathBuf, thread, time::Duration};

use anyhow::Context;
use bangban_platform::{Settings, db::DbTarget};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement};
use tempfile::TempDir;

/// The environment variable that switches tests to PostgreSQL, e.g.
/// `postgres://postgres@127.0.0.1:5432/test`.
pub const TEST_DATABASE_URL: &str = "TEST_DATABASE_URL";

/// Longest service part of a schema name, so that `<schema>_<service>` schemas (see
/// [`TestDatabase::apply_to`]) still fit PostgreSQL's 63-byte identifiers.
const MAX_SERVICE_CHARS: usize = 20;

/// An isolated database for one test.
///
/// With `TEST_DATABASE_URL` set: a fresh PostgreSQL schema `t_<service>_<12 random hex digits>`,
/// created by [`new`](Self::new) and dropped with `CASCADE` on drop (together with the
/// `<schema>_<service>` schemas [`apply_to`](Self::apply_to) hands out). Otherwise: a SQLite file
/// `<service>.db` in a temporary directory removed on drop.
///
/// ```no_run
/// # async fn demo() -> anyhow::Result<()> {
/// let db = bangban_testkit::TestDatabase::new("intake").await?;
/// let conn = db.connect().await;
/// # drop(conn);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct TestDatabase {
    service: String,
    target: DbTarget,
    /// The directory of the SQLite file, or of nothing in particular for PostgreSQL (a data
    /// directory for [`apply_to`](Self::apply_to) all the same).
    dir: TempDir,
}

impl TestDatabase {
    /// A new database for `service`: PostgreSQL when `TEST_DATABASE_URL` is set (the schema is
    /// created here, so an unreachable server fails the test at once), SQLite otherwise.
    pub async fn new(service: &str) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("testdb-{}-", sanitize(service)))
            .tempdir()
            .context("creating the test database directory")?;
        let target = match env::var(TEST_DATABASE_URL).ok().filter(|url| !url.trim().is_empty()) {
            Some(url) => DbTarget::Postgres { url: url.trim().to_owned(), schema: schema_name(service) },
            None => DbTarget::Sqlite { path: dir.path().join(format!("{service}.db")) },
        };
        let db = Self { service: service.to_owned(), target, dir };
        if db.is_postgres() {
            // Creates the schema; from here on Drop removes it.
            let conn = bangban_platform::db::connect(&db.target, 1)
                .await
                .with_context(|| format!("creating test database {}", db.target.describe()))?;
            let _ = conn.close().await;
        }
        Ok(db)
    }

    /// Where the service under test keeps its tables.
    pub fn target(&self) -> DbTarget {
        self.target.clone()
    }

    /// Whether this is a PostgreSQL schema (`TEST_DATABASE_URL` was set) rather than SQLite.
    pub fn is_postgres(&self) -> bool {
        matches!(self.target, DbTarget::Postgres { .. })
    }

    /// The PostgreSQL schema name, `None` for SQLite.
    pub fn schema(&self) -> Option<&str> {
        match &self.target {
            DbTarget::Postgres { schema, .. } => Some(schema),
            DbTarget::Sqlite { .. } => None,
        }
    }

    /// A temporary directory that lives as long as this database (for `data_dir` and the like).
    pub fn dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    /// Connects with `bangban_platform::db::connect` (pool of at most 5).
    ///
    /// # Panics
    ///
    /// When the database cannot be reached; tests have nothing better to do then.
    pub async fn connect(&self) -> DatabaseConnection {
        bangban_platform::db::connect(&self.target, 5)
            .await
            .unwrap_or_else(|e| panic!("connecting to test database {}: {e}", self.target.describe()))
    }

    /// Points `settings` at this database for a whole application (several services):
    /// SQLite — `data_dir` is this database's directory (each service gets `<service>.db` there,
    /// this one's among them); PostgreSQL — `database.url` is `TEST_DATABASE_URL` and
    /// `database.schema_prefix` is `<schema>_`, so service `intake` uses `<schema>_intake`. Those
    /// schemas are dropped with this one.
    pub fn apply_to(&self, settings: &mut Settings) {
        settings.data_dir = self.dir();
        match &self.target {
            DbTarget::Sqlite { .. } => settings.database.url = None,
            DbTarget::Postgres { url, schema } => {
                settings.database.url = Some(url.clone());
                settings.database.schema_prefix = format!("{schema}_");
            }
        }
    }

    /// The service this database was made for.
    pub fn service(&self) -> &str {
        &self.service
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let DbTarget::Postgres { url, schema } = &self.target else {
            return; // the TempDir takes the SQLite file with it
        };
        let (url, schema) = (url.clone(), schema.clone());
        // Drop may run inside a tokio runtime, where blocking on another one is forbidden: a plain
        // thread with its own small runtime does the work, and we wait for it.
        let worker = thread::Builder::new().name("testkit-drop-schema".into()).spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(drop_schemas(&url, &schema))
        });
        let outcome = match worker {
            Ok(handle) => handle.join().unwrap_or_else(|_| Err(anyhow::anyhow!("the drop thread panicked"))),
            Err(e) => Err(e.into()),
        };
        if let Err(e) = outcome {
            eprintln!("testkit: could not drop test schema {}: {e:#}", self.target.describe());
        }
    }
}

/// Drops `schema` and every `<schema>_…` schema, with CASCADE.
async fn drop_schemas(url: &str, schema: &str) -> anyhow::Result<()> {
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.max_connections(1)
        .acquire_timeout(Duration::from_secs(5))
        .connect_timeout(Duration::from_secs(5))
        .sqlx_logging(false);
    let conn = Database::connect(opts).await?;
    // A test that still holds a lock (an open transaction) must not hang the teardown forever.
    conn.execute_unprepared("SET lock_timeout = '5s'").await?;
    let rows = conn
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT nspname::text AS nspname FROM pg_namespace \
             WHERE nspname::text = $1::text OR left(nspname::text, length($1::text) + 1) = $1::text || '_'",
            [schema.into()],
        ))
        .await?;
    // Children first is not needed with CASCADE, but drop the prefixed ones first anyway so the
    // base schema remains findable if something fails half-way.
    let mut names: Vec<String> = rows.iter().filter_map(|row| row.try_get::<String>("", "nspname").ok()).collect();
    names.sort_by_key(|name| std::cmp::Reverse(name.len()));
    for name in names {
        // The test's runtime may have stopped with a transaction of its own still open (a relay
        // between its SELECT … FOR UPDATE and its COMMIT); such a backend holds locks on this
        // schema's tables forever. Only this test's connections touch its schema: end them.
        conn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_terminate_backend(l.pid) FROM pg_locks l \
             JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname::text = $1::text AND l.pid <> pg_backend_pid()",
            [name.clone().into()],
        ))
        .await?;
        // Names come from pg_namespace filtered on our own prefix; quote them anyway.
        let quoted = name.replace('"', "\"\"");
        conn.execute_unprepared(&format!("DROP SCHEMA IF EXISTS \"{quoted}\" CASCADE")).await?;
    }
    let _ = conn.close().await;
    Ok(())
}

/// `t_<service>_<12 hex>`: lowercase, at most 35 characters, unique per call.
fn schema_name(service: &str) -> String {
    let service: String = sanitize(service).chars().take(MAX_SERVICE_CHARS).collect();
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("t_{service}_{}", &random[..12])
}

/// Lowercase ASCII letters, digits and `_` only.
fn sanitize(service: &str) -> String {
    let cleaned: String =
        service.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect();
    if cleaned.is_empty() { "db".to_owned() } else { cleaned }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_are_valid_unique_postgres_identifiers() {
        let a = schema_name("Intake-Service");
        let b = schema_name("Intake-Service");
        assert_ne!(a, b);
        assert!(a.starts_with("t_intake_service_"), "{a}");
        let long = schema_name(&"x".repeat(200));
        for name in [&a, &b, &long] {
            assert!(name.len() <= 35, "{name}");
            assert!(name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'), "{name}");
        }
        // Room for the per-service schemas of `apply_to`.
        assert!(format!("{long}_notification").len() <= 63);
    }

    #[test]
    fn sanitize_keeps_something() {
        assert_eq!(sanitize(""), "db");
        assert_eq!(sanitize("a.B"), "a_b");
    }
}
