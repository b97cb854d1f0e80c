//! `bangban`: the all-in-one binary and CLI — every service in one process (`serve`), development
//! tokens (`token`), migrations (`migrate`), reference data (`seed`), the tenants' streams on the secured NATS
//! (`provision-tenants`) and the catalogue of operations and events (`catalogue`).

mod catalogue;

use std::{future::Future, path::PathBuf, pin::Pin, time::Duration};

use anyhow::Context as _;
use async_nats::Client;
use bangban_deadline::DeadlineService;
use bangban_evaluation::EvaluationService;
use bangban_gateway::auth::{Authenticator, Role};
use bangban_intake::IntakeService;
use bangban_notification::NotificationService;
use bangban_planning::PlanningService;
use bangban_platform::{
    Settings, clock,
    config::AuthMode,
    db::{self, DbTarget},
    health::Readiness,
    runtime,
    service::{self, Service},
    shutdown::Shutdown,
};
use bangban_routing::RoutingService;
use clap::{Parser, Subcommand};
use sea_orm::DatabaseConnection;

/// Every service this binary runs, in start order; the gateway, in front of them, starts last ([`GATEWAY`]).
/// Adding a service is one line here.
const SERVICES: [Entry; 6] = [
    Entry::seeded::<IntakeService>(),
    Entry::seeded::<RoutingService>(),
    Entry::of::<PlanningService>(),
    Entry::of::<DeadlineService>(),
    Entry::of::<NotificationService>(),
    Entry::of::<EvaluationService>(),
];

/// The HTTP gateway: not a [`Service`] of the bus but the console and API in front of them.
const GATEWAY: &str = "gateway";

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;
/// Starts a service in this process; its database, for the readiness check.
type StartFn = for<'a> fn(&'a Settings, Client, &'a Shutdown) -> BoxFuture<'a, anyhow::Result<DatabaseConnection>>;
/// Runs a step of the CLI for a service (`migrate`: where its database is; `seed`).
type StepFn<T> = for<'a> fn(&'a Settings) -> BoxFuture<'a, anyhow::Result<T>>;

/// One service of [`SERVICES`]: its name and what `serve`, `migrate` and `seed` do with it, all through
/// [`bangban_platform::service`].
struct Entry {
    name: &'static str,
    /// Whether it keeps personal data (then the process needs the PII key).
    keeps_personal_data: bool,
    /// Checks its settings section (before anything starts).
    check: fn(&Settings) -> anyhow::Result<()>,
    /// Starts it in this process (its database migrated); returns its database for the readiness check.
    start: StartFn,
    /// Brings its schema up to date; returns where its database is.
    migrate: StepFn<String>,
    /// Loads its reference data, when it has some ([`Seed`]).
    seed: Option<StepFn<()>>,
}

impl Entry {
    const fn of<S: Service>() -> Self {
        Self {
            name: S::NAME,
            keeps_personal_data: S::KEEPS_PERSONAL_DATA,
            check: |settings| bangban_platform::service::settings_of::<S>(settings).map(drop),
            start: start_one::<S>,
            migrate: migrate_one::<S>,
            seed: None,
        }
    }

    const fn seeded<S: Seed>() -> Self {
        Self { seed: Some(seed_one::<S>), ..Self::of::<S>() }
    }
}

fn start_one<'a, S: Service>(
    settings: &'a Settings,
    client: Client,
    shutdown: &'a Shutdown,
) -> BoxFuture<'a, anyhow::Result<DatabaseConnection>> {
    Box::pin(async move { Ok(service::start::<S>(settings, client, shutdown).await?.db) })
}

fn migrate_one<S: Service>(settings: &Settings) -> BoxFuture<'_, anyhow::Result<String>> {
    Box::pin(async move {
        let target = DbTarget::for_service(settings, S::NAME)?.describe();
        service::migrate::<S>(settings).await.with_context(|| format!("migrating {} at {target}", S::NAME))?;
        Ok(target)
    })
}

fn seed_one<S: Seed>(settings: &Settings) -> BoxFuture<'_, anyhow::Result<()>> {
    Box::pin(async move {
        let target = DbTarget::for_service(settings, S::NAME)?;
        let db = db::connect_and_migrate::<S::Migrator>(&target, 1)
            .await
            .with_context(|| format!("opening {} at {}", S::NAME, target.describe()))?;
        let loaded = S::seed(&db).await?;
        println!("seeded {loaded} into {}", target.describe());
        Ok(())
    })
}

/// A service with reference data `bangban seed` loads (idempotent).
trait Seed: Service {
    /// Loads it into the service's migrated database; says what was loaded (`350 responsible units`).
    fn seed(db: &DatabaseConnection) -> impl Future<Output = anyhow::Result<String>>;
}

impl Seed for IntakeService {
    async fn seed(db: &DatabaseConnection) -> anyhow::Result<String> {
        let report = bangban_intake::seed::seed(db).await?;
        Ok(format!("{} offices and {} staff", report.offices, report.staff))
    }
}

impl Seed for RoutingService {
    async fn seed(db: &DatabaseConnection) -> anyhow::Result<String> {
        let units = bangban_routing::seed::seed(db).await?;
        Ok(format!("{units} responsible units"))
    }
}

#[derive(Parser)]
#[command(name = "bangban", version, about = "帮办代办平台 Bangban — construction-project approval assistance")]
struct Cli {
    /// TOML configuration file; `BANGBAN__…` environment variables override it.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the platform: every service in this process, or those named with --only.
    Serve {
        /// Comma-separated subset, e.g. `--only intake,gateway`.
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
    },
    /// Print a development token (development auth mode only).
    Token {
        #[arg(long)]
        role: Role,
        /// Six-digit office code, e.g. 371600.
        #[arg(long)]
        office: String,
        #[arg(long)]
        unit: Option<String>,
        #[arg(long)]
        applicant: Option<String>,
        #[arg(long)]
        sub: String,
        /// Lifetime in hours.
        #[arg(long, default_value_t = 12)]
        ttl_hours: u64,
    },
    /// Load the offices, the demo roster and the responsible units (idempotent), then exit.
    Seed,
    /// Bring every service's schema up to date, then exit.
    Migrate {
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
    },
    /// Create the tenants' streams (county offices, integrators) that are missing, each as its tenant's admin
    /// user, then exit. Existing streams are never changed (differences are reported). Idempotent.
    ///
    /// Reads every `<ACCOUNT>.json` of --streams-dir (a stream configuration in the JetStream API format, as
    /// deploy/nats/streams/*.json), logs in to BANGBAN__NATS__URL as `<tenant>-admin` (OFFICE_371625 →
    /// office-371625-admin) with the password in BANGBAN_NATS_PASSWORD_<USER> (OFFICE_371625_ADMIN) and
    /// prints one line per tenant: created, exists or failed. Exits non-zero when a tenant failed.
    ProvisionTenants {
        /// Folder of the tenants' stream configurations, one `<ACCOUNT>.json` each.
        #[arg(long)]
        streams_dir: PathBuf,
        /// Replicas of each stream created (1..=5); default BANGBAN__NATS__STREAM_REPLICAS.
        #[arg(long, value_parser = clap::value_parser!(u8).range(1..=5))]
        replicas: Option<u8>,
    },
    /// Print the catalogue of every operation and event (docs/catalogue.md), generated from the contracts.
    Catalogue {
        /// Write it to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// The names of every service and the gateway.
fn known() -> impl Iterator<Item = &'static str> {
    SERVICES.iter().map(|e| e.name).chain([GATEWAY])
}

fn selected(only: &[String]) -> anyhow::Result<Vec<&'static str>> {
    if only.is_empty() {
        return Ok(known().collect());
    }
    let mut out = Vec::new();
    for name in only {
        let name = name.trim();
        match known().find(|s| *s == name) {
            Some(s) => out.push(s),
            None => anyhow::bail!("unknown service {name:?}; known: {}", known().collect::<Vec<_>>().join(", ")),
        }
    }
    Ok(out)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve { only } => serve(cli.config, selected(&only)?).await,
        Command::Token { role, office, unit, applicant, sub, ttl_hours } => {
            runtime::install_crypto_provider();
            let settings = Settings::load(cli.config.as_deref())?;
            if settings.auth.mode != AuthMode::Development {
                anyhow::bail!(
                    "`bangban token` works only in development auth mode; production tokens come from the OIDC issuer"
                );
            }
            let auth = Authenticator::from_settings(&settings)?;
            let token = auth.issue(sub, role, office, unit, applicant, Duration::from_secs(ttl_hours * 3600))?;
            println!("{token}");
            Ok(())
        }
        Command::Seed => {
            let settings = Settings::load(cli.config.as_deref())?;
            for seed in SERVICES.iter().filter_map(|e| e.seed) {
                seed(&settings).await?;
            }
            Ok(())
        }
        Command::Migrate { only } => {
            let settings = Settings::load(cli.config.as_deref())?;
            // In the order asked for (`--only routing,intake` migrates routing first); the gateway has no schema.
            for entry in selected(&only)?.into_iter().filter_map(|name| SERVICES.iter().find(|e| e.name == name)) {
                let target = (entry.migrate)(&settings).await?;
                println!("{}: up to date ({target})", entry.name);
            }
            Ok(())
        }
        Command::ProvisionTenants { streams_dir, replicas } => {
            runtime::install_crypto_provider();
            let settings = Settings::load(cli.config.as_deref())?;
            let _telemetry =
                bangban_telemetry::init(&runtime::telemetry_options(&settings, "bangban-provision-tenants"))?;
            let replicas = replicas.map_or(settings.nats.stream_replicas, usize::from);
            provision::run(&settings.nats, &streams_dir, replicas).await
        }
        Command::Catalogue { out } => {
            let text = catalogue::render();
            match out {
                Some(path) => std::fs::write(&path, text).with_context(|| format!("writing {}", path.display())),
                None => {
                    print!("{text}");
                    Ok(())
                }
            }
        }
    }
}

async fn serve(config: Option<PathBuf>, services: Vec<&'static str>) -> anyhow::Result<()> {
    // Every selected part's own settings are checked before anything connects or starts.
    let settings = Settings::load(config.as_deref())?;
    for entry in SERVICES.iter().filter(|e| services.contains(&e.name)) {
        (entry.check)(&settings)?;
    }
    if services.contains(&GATEWAY) {
        bangban_gateway::settings::WebSettings::from_settings(&settings)?;
    }
    // Only a process running a service that keeps personal data needs the PII key.
    let personal_data = SERVICES.iter().any(|e| e.keeps_personal_data && services.contains(&e.name));
    let (ctx, guard) = runtime::bootstrap_with(settings, "bangban", personal_data).await?;
    if clock::is_rehearsal() {
        eprintln!(
            "REHEARSAL CLOCK (演练时钟): platform time starts at {} and runs {}x the wall clock — development only",
            clock::now().to_rfc3339(),
            clock::speed()
        );
    }
    let mut databases = Vec::new();
    for entry in SERVICES.iter().filter(|e| services.contains(&e.name)) {
        let db = (entry.start)(&ctx.settings, ctx.client.clone(), &ctx.shutdown).await?;
        databases.push((entry.name, db));
    }
    let readiness = Readiness { nats: ctx.client.clone(), databases };
    if services.contains(&GATEWAY) {
        let addr = bangban_gateway::start(&ctx.settings, ctx.client.clone(), readiness, &ctx.shutdown).await?;
        let url = ctx.settings.http.public_url.clone().unwrap_or_else(|| format!("http://{addr}/"));
        tracing::info!(%url, "console ready");
        println!("Bangban 帮办代办平台 is running: {url}  (API docs: {url}docs)");
    } else {
        let router =
            bangban_platform::health::router(readiness).merge(runtime::metrics_on_main_listener(&ctx.settings));
        let addr = runtime::serve_http(ctx.settings.http.listen, router, &ctx.shutdown).await?;
        runtime::serve_metrics(&ctx.settings, &ctx.shutdown).await?;
        tracing::info!(%addr, "health listening");
    }
    runtime::wait_and_stop(&ctx.shutdown, &ctx.client, guard).await;
    Ok(())
}

/// `bangban provision-tenants`: each tenant's stream, created by the tenant's admin user when it is missing.
mod provision {
    use std::path::{Path, PathBuf};

    use anyhow::Context as _;
    use async_nats::jetstream::{
        self,
        stream::{Config as StreamConfig, Source},
    };
    use bangban_platform::{
        bus::{self, BusError},
        config::NatsSettings,
    };
    use secrecy::SecretString;

    /// One tenant's stream configuration file, `<ACCOUNT>.json`.
    struct Tenant {
        /// `OFFICE_371625`, `INTEGRATOR_CITY_BRAIN`: the account, and the name of its one stream.
        account: String,
        file: PathBuf,
    }

    impl Tenant {
        /// `office-371625-admin`, `integrator-city-brain-admin` (as nats_permissions.rs names them).
        fn admin(&self) -> String {
            format!("{}-admin", self.account.to_lowercase().replace('_', "-"))
        }
    }

    /// `BANGBAN_NATS_PASSWORD_<USER>`: the user upper-cased, `-` as `_` (the keys of the chart's passwords Secret).
    fn password_variable(user: &str) -> String {
        format!("BANGBAN_NATS_PASSWORD_{}", user.to_uppercase().replace('-', "_"))
    }

    /// What happened to one tenant's stream.
    enum Outcome {
        Created,
        /// It existed; the settings in which it differs from the file (left unchanged).
        Exists(Vec<bus::StreamDifference>),
    }

    /// The `*.json` files of `dir` (mounted ConfigMaps' `..data` entries are skipped), sorted.
    fn tenants(dir: &Path) -> anyhow::Result<Vec<Tenant>> {
        let entries = std::fs::read_dir(dir).with_context(|| format!("reading --streams-dir {}", dir.display()))?;
        let mut out = Vec::new();
        for entry in entries {
            let path = entry.with_context(|| format!("reading --streams-dir {}", dir.display()))?.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else { continue };
            let Some(account) = name.strip_suffix(".json") else { continue };
            if name.starts_with('.') || !path.is_file() {
                continue;
            }
            out.push(Tenant { account: account.to_string(), file: path.clone() });
        }
        out.sort_by(|a, b| a.account.cmp(&b.account));
        anyhow::ensure!(
            !out.is_empty(),
            "--streams-dir {} holds no tenant stream configuration (<ACCOUNT>.json)",
            dir.display()
        );
        Ok(out)
    }

    /// The stream configuration of a file, with `replicas` replicas.
    fn stream_config(t: &Tenant, replicas: usize) -> anyhow::Result<StreamConfig> {
        let text = std::fs::read_to_string(&t.file).with_context(|| format!("reading {}", t.file.display()))?;
        let mut config: StreamConfig = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a JetStream stream configuration", t.file.display()))?;
        anyhow::ensure!(
            config.name == t.account,
            "{} configures the stream {:?}; the stream of the account {} must be called {}",
            t.file.display(),
            config.name,
            t.account,
            t.account
        );
        config.num_replicas = replicas;
        Ok(config)
    }

    /// Creates the tenant's stream when it is missing, as the tenant's admin.
    async fn provision(nats: &NatsSettings, t: &Tenant, replicas: usize) -> anyhow::Result<Outcome> {
        let wanted = stream_config(t, replicas)?;
        let admin = t.admin();
        let variable = password_variable(&admin);
        let password = std::env::var(&variable)
            .ok()
            .filter(|p| !p.trim().is_empty())
            .with_context(|| format!("{variable} (the password of {admin}) is not set"))?;
        let settings = NatsSettings {
            user: Some(admin.clone()),
            password: Some(SecretString::from(password)),
            nkey_seed: None,
            nkey_seed_file: None,
            creds_file: None,
            ..nats.clone()
        };
        let client = bus::connect(&settings, "bangban-provision-tenants").await?;
        let js = jetstream::new(client.clone());
        // A missing stream answers 404; anything else (no JetStream in the account, a timeout) ensure_stream
        // meets and reports in turn.
        let existed = js.get_stream(&wanted.name).await.is_ok();
        let stream = bus::ensure_stream(&js, wanted.clone()).await?;
        let outcome = if existed {
            let actual = &stream.cached_info().config;
            let mut differences = bus::stream_differences(&wanted, actual);
            // Where the tenant's events come from (bus::stream_differences leaves sources out): a changed filter or
            // delivery prefix is worth an operator's look.
            let (want, have) = (show_sources(&wanted.sources), show_sources(&actual.sources));
            if want != have {
                tracing::warn!(stream = %wanted.name, wanted = %want, actual = %have, "the stream's sources differ; left unchanged");
                differences.push(bus::StreamDifference { field: "sources", wanted: want, actual: have });
            }
            Outcome::Exists(differences)
        } else {
            Outcome::Created
        };
        let _ = client.drain().await;
        Ok(outcome)
    }

    /// `BANGBAN_EVENTS (bb.evt.371625.>, api $JS.bangban.API, deliver bb.src.office-371625)`, `;`-separated.
    fn show_sources(sources: &Option<Vec<Source>>) -> String {
        let shown: Vec<String> = sources
            .iter()
            .flatten()
            .map(|s| {
                let external = s.external.as_ref().map_or_else(String::new, |e| {
                    format!(", api {}, deliver {}", e.api_prefix, e.delivery_prefix.as_deref().unwrap_or("-"))
                });
                format!("{} ({}{external})", s.name, s.filter_subject.as_deref().unwrap_or("everything"))
            })
            .collect();
        if shown.is_empty() { "none".into() } else { shown.join("; ") }
    }

    /// Every tenant of `dir`; one line each on stdout. Fails (after trying every tenant) when one failed.
    pub async fn run(nats: &NatsSettings, dir: &Path, replicas: usize) -> anyhow::Result<()> {
        let replicas = replicas.max(1);
        let tenants = tenants(dir)?;
        let mut failed = Vec::new();
        let mut unreachable = false;
        for t in &tenants {
            let admin = t.admin();
            if unreachable {
                println!("{}: failed: not tried, NATS is unreachable", t.account);
                failed.push(t.account.clone());
                continue;
            }
            match provision(nats, t, replicas).await {
                Ok(Outcome::Created) => {
                    println!("{}: created (num_replicas {replicas}, as {admin})", t.account);
                }
                Ok(Outcome::Exists(differences)) if differences.is_empty() => {
                    println!("{}: exists (unchanged)", t.account);
                }
                Ok(Outcome::Exists(differences)) => {
                    let shown: Vec<String> = differences
                        .iter()
                        .map(|d| format!("{} is {} where the configuration says {}", d.field, d.actual, d.wanted))
                        .collect();
                    println!("{}: exists (left unchanged; {})", t.account, shown.join(", "));
                }
                Err(e) => {
                    unreachable |= matches!(e.downcast_ref::<BusError>(), Some(BusError::Unreachable { .. }));
                    let error = format!("{e:#}");
                    println!("{}: failed ({admin}): {error}", t.account);
                    tracing::error!(tenant = %t.account, user = %admin, %error, "provisioning the tenant's stream failed");
                    failed.push(t.account.clone());
                }
            }
        }
        anyhow::ensure!(
            failed.is_empty(),
            "{} of {} tenants not provisioned: {}",
            failed.len(),
            tenants.len(),
            failed.join(", ")
        );
        Ok(())
    }
}
