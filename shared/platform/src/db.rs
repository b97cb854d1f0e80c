//! Database connections (数据库): embedded SQLite by default, PostgreSQL with one schema per service.

use std::{path::PathBuf, time::Duration};

use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr};
use sea_orm_migration::MigratorTrait;

use crate::config::Settings;

/// Where one service keeps its tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbTarget {
    /// One SQLite file (created when missing).
    Sqlite { path: PathBuf },
    /// One PostgreSQL database; the service's tables live in `schema`.
    Postgres { url: String, schema: String },
}

impl DbTarget {
    /// The target of `service` under these settings: `<data_dir>/<service>.db`, or the
    /// configured PostgreSQL database with schema `<schema_prefix><service>`.
    pub fn for_service(settings: &Settings, service: &str) -> Result<Self, DbErr> {
        match settings.database.url.as_deref() {
            None | Some("") => Ok(Self::Sqlite { path: settings.data_dir.join(format!("{service}.db")) }),
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => Ok(Self::Postgres {
                url: url.to_string(),
                schema: format!("{}{}", settings.database.schema_prefix, service),
            }),
            Some(url) if url.starts_with("sqlite:") => {
                let path = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
                let path = path.split('?').next().unwrap_or(path);
                let path = PathBuf::from(path);
                // One file per service even when a SQLite URL is configured: services never share tables.
                let dir = path.parent().map(PathBuf::from).unwrap_or_default();
                Ok(Self::Sqlite { path: dir.join(format!("{service}.db")) })
            }
            Some(other) => Err(DbErr::Custom(format!(
                "unsupported database URL scheme in {:?}: use postgres:// or sqlite:",
                other.split(':').next().unwrap_or_default()
            ))),
        }
    }

    /// Human-readable description without credentials.
    pub fn describe(&self) -> String {
        match self {
            Self::Sqlite { path } => format!("sqlite:{}", path.display()),
            Self::Postgres { url, schema } => {
                let host = url.rsplit('@').next().unwrap_or(url);
                format!("postgres://…@{host} schema {schema}")
            }
        }
    }
}

/// Connects to the target, creating the SQLite file or the PostgreSQL schema when missing.
pub async fn connect(target: &DbTarget, max_connections: u32) -> Result<DatabaseConnection, DbErr> {
    match target {
        DbTarget::Sqlite { path } => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| DbErr::Custom(format!("creating {}: {e}", dir.display())))?;
            }
            let url = format!("sqlite://{}?mode=rwc", path.display());
            let mut opts = ConnectOptions::new(url);
            opts.max_connections(max_connections.max(1))
                .min_connections(1)
                .acquire_timeout(Duration::from_secs(10))
                .sqlx_logging(false)
                .map_sqlx_sqlite_opts(|o| {
                    o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                        .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                        .busy_timeout(Duration::from_secs(10))
                        .foreign_keys(true)
                });
            Database::connect(opts).await
        }
        DbTarget::Postgres { url, schema } => {
            validate_schema_name(schema)?;
            {
                let mut opts = ConnectOptions::new(url.clone());
                opts.max_connections(1).sqlx_logging(false);
                let admin = Database::connect(opts).await?;
                admin
                    .execute_unprepared(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))
                    .await
                    .map(drop)
                    .or_else(ignore_concurrent_schema_creation)?;
                admin.close().await?;
            }
            let mut opts = ConnectOptions::new(url.clone());
            opts.max_connections(max_connections.max(1))
                .min_connections(1)
                .acquire_timeout(Duration::from_secs(10))
                .sqlx_logging(false)
                .set_schema_search_path(schema.clone());
            Database::connect(opts).await
        }
    }
}

/// Two replicas starting together may both try to create the schema; one of them loses the race,
/// which is as good as winning it.
fn ignore_concurrent_schema_creation(e: DbErr) -> Result<(), DbErr> {
    let text = e.to_string();
    if text.contains("duplicate key") || text.contains("already exists") { Ok(()) } else { Err(e) }
}

/// Schema names go into SQL text; only plain identifiers are accepted.
fn validate_schema_name(schema: &str) -> Result<(), DbErr> {
    let ok = !schema.is_empty()
        && schema.len() <= 63
        && schema.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !schema.starts_with(|c: char| c.is_ascii_digit());
    if ok { Ok(()) } else { Err(DbErr::Custom(format!("invalid schema name {schema:?}"))) }
}

/// Connects and brings the schema up to date with the service's migrations. On PostgreSQL the migrations run
/// under an advisory lock of the schema, so replicas and the migration Job starting together take turns
/// instead of racing (the second finds nothing left to do).
pub async fn connect_and_migrate<M: MigratorTrait>(
    target: &DbTarget,
    max_connections: u32,
) -> Result<DatabaseConnection, DbErr> {
    let db = connect(target, max_connections).await?;
    let lock = MigrationLock::acquire(target).await?;
    let result = M::up(&db, None).await;
    if let Some(lock) = lock {
        lock.release().await;
    }
    result?;
    Ok(db)
}

/// Connects as `database.migrate` says: `auto` migrates ([`connect_and_migrate`]); `verify` never changes the
/// schema and waits, up to `database.migrate_wait`, for `bangban migrate` (the chart's migration Job) to have
/// applied every migration this binary knows — then refuses to start, naming the pending migrations. A schema
/// ahead of the binary (a rollback of the image) is accepted with a warning.
pub async fn connect_for_service<M: MigratorTrait>(
    target: &DbTarget,
    settings: &crate::config::DatabaseSettings,
) -> Result<DatabaseConnection, DbErr> {
    match settings.migrate {
        crate::config::MigrateMode::Auto => connect_and_migrate::<M>(target, settings.max_connections).await,
        crate::config::MigrateMode::Verify => {
            let db = connect(target, settings.max_connections).await?;
            wait_until_current::<M>(&db, target, settings.migrate_wait).await?;
            Ok(db)
        }
    }
}

/// Waits until no migration of `M` is pending (see [`connect_for_service`]).
pub async fn wait_until_current<M: MigratorTrait>(
    db: &DatabaseConnection,
    target: &DbTarget,
    wait: Duration,
) -> Result<(), DbErr> {
    let started = std::time::Instant::now();
    loop {
        let pending = match M::get_pending_migrations_read_only(db).await {
            Ok(pending) => pending.iter().map(|m| m.name().to_string()).collect::<Vec<_>>(),
            Err(DbErr::Custom(e)) if e.contains("is missing") => {
                tracing::warn!(
                    target = %target.describe(),
                    "the schema has migrations this binary does not know (a newer version ran here); starting anyway"
                );
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        if pending.is_empty() {
            return Ok(());
        }
        if started.elapsed() >= wait {
            return Err(DbErr::Custom(format!(
                "the schema at {} is not current: {} pending migration(s) ({}); database.migrate = verify does not \
                 migrate — run `bangban migrate` (the chart's migration Job) first",
                target.describe(),
                pending.len(),
                pending.join(", ")
            )));
        }
        tracing::info!(target = %target.describe(), pending = pending.len(), "waiting for the migration job");
        tokio::time::sleep(
            Duration::from_secs(2).min(wait.saturating_sub(started.elapsed()).max(Duration::from_millis(50))),
        )
        .await;
    }
}

/// A lock on one schema's migrations: a PostgreSQL session-level advisory lock held on a connection of its
/// own, or for SQLite an exclusive `flock` of `<file>.migrate.lock` (processes sharing a file in development).
enum MigrationLock {
    Postgres { conn: DatabaseConnection, key: String },
    Sqlite(std::fs::File),
}

impl MigrationLock {
    /// Takes the lock, waiting for another holder.
    async fn acquire(target: &DbTarget) -> Result<Option<Self>, DbErr> {
        match target {
            DbTarget::Postgres { url, schema } => {
                let mut opts = ConnectOptions::new(url.clone());
                opts.max_connections(1).min_connections(1).sqlx_logging(false);
                let conn = Database::connect(opts).await?;
                let key = format!("bangban-migrate:{schema}");
                conn.execute_raw(sea_orm::Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "SELECT pg_advisory_lock(hashtext($1))",
                    [key.clone().into()],
                ))
                .await?;
                Ok(Some(Self::Postgres { conn, key }))
            }
            DbTarget::Sqlite { path } => {
                let lock_path = path.with_extension("migrate.lock");
                let file = tokio::task::spawn_blocking(move || {
                    let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&lock_path)?;
                    file.lock()?;
                    Ok::<_, std::io::Error>(file)
                })
                .await
                .map_err(|e| DbErr::Custom(format!("migration lock: {e}")))?
                .map_err(|e| DbErr::Custom(format!("migration lock: {e}")))?;
                Ok(Some(Self::Sqlite(file)))
            }
        }
    }

    async fn release(self) {
        match self {
            Self::Postgres { conn, key } => {
                let _ = conn
                    .execute_raw(sea_orm::Statement::from_sql_and_values(
                        DbBackend::Postgres,
                        "SELECT pg_advisory_unlock(hashtext($1))",
                        [key.into()],
                    ))
                    .await;
                let _ = conn.close().await;
            }
            Self::Sqlite(file) => {
                let _ = file.unlock();
            }
        }
    }
}

/// Is the database answering? Used by `/readyz`.
pub async fn ping(db: &DatabaseConnection) -> bool {
    db.ping().await.is_ok()
}

/// Whether the backend supports `FOR UPDATE SKIP LOCKED` (several relay replicas).
pub fn supports_skip_locked(db: &impl ConnectionTrait) -> bool {
    matches!(db.get_database_backend(), DbBackend::Postgres)
}

/// Begins a transaction that will write. On SQLite it is `BEGIN IMMEDIATE`: the write lock is taken
/// at the start (waiting up to the busy timeout), instead of a read transaction failing with
/// `SQLITE_BUSY` when it later tries to write after another writer committed. PostgreSQL ignores
/// the mode.
pub async fn begin_write(db: &DatabaseConnection) -> Result<sea_orm::DatabaseTransaction, DbErr> {
    use sea_orm::{SqliteTransactionMode, TransactionOptions, TransactionTrait};
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

/// A unique index refused a row: another transaction (or replica) got there first.
pub fn is_unique_violation(e: &sea_orm::DbErr) -> bool {
    matches!(e.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_)))
}
