//! One service skeleton (服务骨架): a service describes itself — its name, migrator, settings section,
//! endpoints, consumers and background loops — and [`start`] runs it the same way for all of them: connect
//! (and migrate) its database, start its outbox relay, build its state, serve its operations, run its
//! consumers and loops until shutdown.

use std::{future::Future, sync::Arc};

use sea_orm::DatabaseConnection;
use sea_orm_migration::MigratorTrait;
use serde::de::DeserializeOwned;

use crate::{
    config::Settings,
    consumer::{ConsumerSpec, EventHandler},
    db::{self, DbTarget},
    outbox::{OutboxNotifier, Relay},
    rpc::{self, Endpoints},
    shutdown::Shutdown,
};

/// A service's own settings (`BANGBAN__<SERVICE>__…`): read from its section of the configuration, its
/// defaults where unset, and checked before the service starts.
pub trait ServiceSettings: DeserializeOwned + Default + Clone + Send + Sync + 'static {
    /// What is wrong with these values, each as a sentence naming the setting; empty when they are usable.
    fn problems(&self) -> Vec<String> {
        Vec::new()
    }
}

/// A service without settings of its own.
impl ServiceSettings for () {}

/// What a service gets while it starts.
pub struct Context<'a> {
    /// The whole configuration (outbox, consumers, PII, storage, the platform clock…).
    pub settings: &'a Settings,
    pub client: async_nats::Client,
    /// The service's own database, migrated.
    pub db: DatabaseConnection,
    /// Wakes the outbox relay after a commit that enqueued events.
    pub notifier: OutboxNotifier,
    pub shutdown: &'a Shutdown,
}

impl Context<'_> {
    /// Runs a durable consumer on `BANGBAN_EVENTS` until shutdown (`name`: its durable name, inbox key and
    /// dead-letter subject; `filter`: its subject filter, built from the event registry).
    pub fn consume<H: EventHandler>(&self, name: &str, filter: String, handler: Arc<H>) {
        let spec =
            ConsumerSpec { name: name.to_string(), filter_subject: filter, settings: self.settings.consumer.clone() };
        crate::consumer::spawn(self.shutdown, self.client.clone(), self.db.clone(), spec, handler);
    }

    /// Runs a background loop until shutdown; it gets the shutdown token.
    pub fn spawn<F, Fut>(&self, f: F)
    where
        F: FnOnce(tokio_util::sync::CancellationToken) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.shutdown.spawn(f(self.shutdown.token()));
    }
}

/// A Bangban service: what [`start`] needs to run it.
pub trait Service: Send + Sync + Sized + 'static {
    /// Its name on the bus (`bb.svc.<name>.*`), its database (`<name>.db`) and its settings section.
    const NAME: &'static str;
    /// Its description in `$SRV.INFO` (zh-CN / English).
    const DESCRIPTION: &'static str;
    /// Whether it keeps personal data (个人信息: names, ID and phone numbers), and so needs the PII key in production.
    const KEEPS_PERSONAL_DATA: bool = false;
    /// Its schema's migrations.
    type Migrator: MigratorTrait;
    /// Its settings (`BANGBAN__<NAME>__…`); `()` for none.
    type Settings: ServiceSettings;

    /// Builds the service's state on its migrated database (reference data it loads at first start too).
    fn build(ctx: &Context<'_>, settings: Self::Settings) -> impl Future<Output = anyhow::Result<Arc<Self>>> + Send;

    /// Registers its operations.
    fn endpoints(ep: &mut Endpoints<'_, Self>) -> impl Future<Output = Result<(), async_nats::Error>> + Send;

    /// Starts its consumers ([`Context::consume`]) and background loops ([`Context::spawn`]).
    fn run(self: &Arc<Self>, ctx: &Context<'_>) -> anyhow::Result<()> {
        let _ = ctx;
        Ok(())
    }
}

/// A service running in this process.
pub struct Running<S> {
    pub service: Arc<S>,
    pub db: DatabaseConnection,
}

/// The service's settings from its section, checked.
pub fn settings_of<S: Service>(settings: &Settings) -> anyhow::Result<S::Settings> {
    let own: S::Settings = settings.section(S::NAME)?;
    let problems = own.problems();
    if !problems.is_empty() {
        anyhow::bail!("{} settings (BANGBAN__{}__…): {}", S::NAME, S::NAME.to_uppercase(), problems.join("; "));
    }
    Ok(own)
}

/// Connects (and migrates) the service's database.
pub async fn connect<S: Service>(settings: &Settings) -> anyhow::Result<DatabaseConnection> {
    let target = DbTarget::for_service(settings, S::NAME)?;
    tracing::info!(service = S::NAME, db = %target.describe(), "connecting database");
    Ok(db::connect_for_service::<S::Migrator>(&target, &settings.database).await?)
}

/// Migrates the service's database and returns (`bangban migrate`).
pub async fn migrate<S: Service>(settings: &Settings) -> anyhow::Result<()> {
    let target = DbTarget::for_service(settings, S::NAME)?;
    db::connect_and_migrate::<S::Migrator>(&target, 1).await?;
    tracing::info!(service = S::NAME, db = %target.describe(), "migrated");
    Ok(())
}

/// Connects the service's database (migrating it), then as [`start_with_db`].
pub async fn start<S: Service>(
    settings: &Settings,
    client: async_nats::Client,
    shutdown: &Shutdown,
) -> anyhow::Result<Running<S>> {
    let own = settings_of::<S>(settings)?;
    let db = connect::<S>(settings).await?;
    start_with_db::<S>(settings, own, client, db, shutdown).await
}

/// Starts the service on a database already migrated: its outbox relay, its state, its operations on the
/// bus, its consumers and loops. Everything stops with `shutdown`.
pub async fn start_with_db<S: Service>(
    settings: &Settings,
    own: S::Settings,
    client: async_nats::Client,
    db: DatabaseConnection,
    shutdown: &Shutdown,
) -> anyhow::Result<Running<S>> {
    let notifier = OutboxNotifier::new();
    let ctx = Context { settings, client: client.clone(), db: db.clone(), notifier: notifier.clone(), shutdown };
    let service = S::build(&ctx, own).await?;
    let relay = Relay::new(S::NAME, db.clone(), client.clone(), notifier, settings.outbox.clone());
    shutdown.spawn(relay.run(shutdown.token()));
    let nats_service = rpc::start_service(&client, S::NAME, S::DESCRIPTION)
        .await
        .map_err(|e| anyhow::anyhow!("{}: starting NATS service: {e}", S::NAME))?;
    let mut endpoints = Endpoints::new(&nats_service, service.clone(), shutdown.token());
    S::endpoints(&mut endpoints).await.map_err(|e| anyhow::anyhow!("{}: adding endpoints: {e}", S::NAME))?;
    let handles = endpoints.into_handles();
    service.run(&ctx)?;
    shutdown.spawn(async move {
        for h in handles {
            let _ = h.await;
        }
        let _ = nats_service.stop().await;
    });
    tracing::info!(service = S::NAME, "started");
    Ok(Running { service, db })
}

/// The `main` of a service's own binary (`bangban-<name>`, one pod per service): `--config <file>` (TOML;
/// `BANGBAN__…` variables override it), then bootstrap, start `S`, serve `/healthz`, `/readyz` and `/metrics`,
/// and stop gracefully on SIGTERM.
pub async fn main<S: Service>() -> anyhow::Result<()> {
    let binary = format!("bangban-{}", S::NAME);
    let matches = clap::Command::new(binary.clone())
        .about(format!("Bangban {} service", S::DESCRIPTION))
        .arg(
            clap::Arg::new("config")
                .long("config")
                .value_name("FILE")
                .value_parser(clap::value_parser!(std::path::PathBuf))
                .help("TOML configuration file; BANGBAN__… variables override it"),
        )
        .get_matches();
    let config = matches.get_one::<std::path::PathBuf>("config").cloned();
    crate::runtime::run_standalone(
        config.as_deref(),
        &binary,
        S::KEEPS_PERSONAL_DATA,
        Box::new(|ctx| {
            Box::pin(async move {
                let running = start::<S>(&ctx.settings, ctx.client.clone(), &ctx.shutdown).await?;
                Ok(vec![(S::NAME, running.db)])
            })
        }),
    )
    .await
}
