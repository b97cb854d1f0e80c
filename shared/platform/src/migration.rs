//! Migrations of the infrastructure tables every service's schema has: the outbox (发件箱) and the
//! inbox (收件箱). Each service's `Migrator` lists these first, then its own.

use sea_orm::DbBackend;
use sea_orm_migration::prelude::*;

/// `outbox`: events written in the same transaction as the state change, waiting for the relay.
pub struct CreateOutbox;

impl MigrationName for CreateOutbox {
    fn name(&self) -> &str {
        "m20261128_000001_create_outbox"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateOutbox {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let seq = match manager.get_database_backend() {
            DbBackend::Postgres => "seq BIGSERIAL PRIMARY KEY",
            _ => "seq INTEGER PRIMARY KEY AUTOINCREMENT",
        };
        let blob = match manager.get_database_backend() {
            DbBackend::Postgres => "BYTEA",
            _ => "BLOB",
        };
        db.execute_unprepared(&format!(
            "CREATE TABLE outbox (
                {seq},
                event_id VARCHAR(64) NOT NULL UNIQUE,
                aggregate_id VARCHAR(128) NOT NULL,
                subject VARCHAR(255) NOT NULL,
                headers TEXT NOT NULL,
                payload {blob} NOT NULL,
                created_at BIGINT NOT NULL,
                published_at BIGINT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                last_error TEXT NULL
            )"
        ))
        .await?;
        db.execute_unprepared("CREATE INDEX outbox_pending ON outbox (seq) WHERE published_at IS NULL").await?;
        db.execute_unprepared("CREATE INDEX outbox_aggregate ON outbox (aggregate_id, seq)").await?;
        db.execute_unprepared("CREATE INDEX outbox_published_at ON outbox (published_at)").await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared("DROP TABLE outbox").await.map(drop)
    }
}

/// `inbox`: ids of events a consumer has processed, written with the handler's effect.
pub struct CreateInbox;

impl MigrationName for CreateInbox {
    fn name(&self) -> &str {
        "m20261128_000002_create_inbox"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateInbox {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE TABLE inbox (
                    consumer VARCHAR(128) NOT NULL,
                    event_id VARCHAR(64) NOT NULL,
                    event_type VARCHAR(255) NOT NULL,
                    processed_at BIGINT NOT NULL,
                    PRIMARY KEY (consumer, event_id)
                )",
            )
            .await
            .map(drop)
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared("DROP TABLE inbox").await.map(drop)
    }
}

/// The infrastructure migrations, in order, for a service's `Migrator::migrations()`.
pub fn infrastructure() -> Vec<Box<dyn MigrationTrait>> {
    vec![Box::new(CreateOutbox), Box::new(CreateInbox)]
}

/// Small helpers for the services' own migrations: tables of typed columns and their indexes.
pub mod schema {
    use sea_orm_migration::prelude::*;

    /// Column types of the service schemas (the same on SQLite and PostgreSQL).
    #[derive(Clone, Copy)]
    pub enum Kind {
        /// VARCHAR(n)
        S(u32),
        Text,
        Int,
        Big,
        Bool,
        At,
    }

    /// A column of `kind`, nullable or not.
    pub fn col(name: &str, kind: Kind, null: bool) -> ColumnDef {
        let mut c = ColumnDef::new(Alias::new(name));
        match kind {
            Kind::S(n) => c.string_len(n),
            Kind::Text => c.text(),
            Kind::Int => c.integer(),
            Kind::Big => c.big_integer(),
            Kind::Bool => c.boolean(),
            Kind::At => c.timestamp_with_time_zone(),
        };
        if null {
            c.null();
        } else {
            c.not_null();
        }
        c
    }

    /// Creates table `name` with its primary key and columns `(name, kind, nullable)`.
    pub async fn table(
        manager: &SchemaManager<'_>,
        name: &str,
        pk: (&str, Kind),
        cols: &[(&str, Kind, bool)],
    ) -> Result<(), DbErr> {
        let mut t = Table::create();
        t.table(Alias::new(name)).col(col(pk.0, pk.1, false).primary_key());
        for (n, k, null) in cols {
            t.col(col(n, *k, *null));
        }
        manager.create_table(t.to_owned()).await
    }

    /// Creates an index (unique or not) on `cols` of `table`.
    pub async fn index(
        manager: &SchemaManager<'_>,
        name: &str,
        table: &str,
        cols: &[&str],
        unique: bool,
    ) -> Result<(), DbErr> {
        let mut i = Index::create();
        i.name(name).table(Alias::new(table));
        for c in cols {
            i.col(Alias::new(*c));
        }
        if unique {
            i.unique();
        }
        manager.create_index(i.to_owned()).await
    }
}
