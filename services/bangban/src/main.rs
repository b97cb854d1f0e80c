//! `bangban`: the all-in-one binary and CLI — every service in one process (`serve`), development
//! tokens (`token`) and migrations (`migrate`).

use std::{path::PathBuf, time::Duration};

use anyhow::Context as _;
use bangban_platform::{
    Settings,
    auth::{Authenticator, Role},
    clock,
    config::AuthMode,
    db::{self, DbTarget},
    health::Readiness,
    runtime,
};
use clap::{Parser, Subcommand};

/// Every service this binary can run, in start order.
const SERVICES: [&str; 7] = ["intake", "planning", "routing", "deadline", "notification", "evaluation", "gateway"];

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
    /// Load the offices and the demo roster (idempotent), then exit.
    Seed,
    /// Bring every service's schema up to date, then exit.
    Migrate {
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
    },
}

fn selected(only: &[String]) -> anyhow::Result<Vec<&'static str>> {
    if only.is_empty() {
        return Ok(SERVICES.to_vec());
    }
    let mut out = Vec::new();
    for name in only {
        let name = name.trim();
        match SERVICES.iter().find(|s| **s == name) {
            Some(s) => out.push(*s),
            None => anyhow::bail!("unknown service {name:?}; known: {}", SERVICES.join(", ")),
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
            let target = DbTarget::for_service(&settings, "intake")?;
            let db = db::connect_and_migrate::<bangban_intake_migration::Migrator>(&target, 1)
                .await
                .with_context(|| format!("opening intake at {}", target.describe()))?;
            let report = bangban_intake::seed::seed(&db).await?;
            println!("seeded {} offices and {} staff into {}", report.offices, report.staff, target.describe());
            let target = DbTarget::for_service(&settings, "routing")?;
            let db = db::connect_and_migrate::<bangban_routing_migration::Migrator>(&target, 1)
                .await
                .with_context(|| format!("opening routing at {}", target.describe()))?;
            let units = bangban_routing::seed::seed(&db).await?;
            println!("seeded {units} responsible units into {}", target.describe());
            Ok(())
        }
        Command::Migrate { only } => {
            let settings = Settings::load(cli.config.as_deref())?;
            for service in selected(&only)? {
                if service == "intake" {
                    let target = DbTarget::for_service(&settings, service)?;
                    db::connect_and_migrate::<bangban_intake_migration::Migrator>(&target, 1)
                        .await
                        .with_context(|| format!("migrating {service} at {}", target.describe()))?;
                    println!("{service}: up to date ({})", target.describe());
                }
                if service == "routing" {
                    let target = DbTarget::for_service(&settings, service)?;
                    db::connect_and_migrate::<bangban_routing_migration::Migrator>(&target, 1)
                        .await
                        .with_context(|| format!("migrating {service} at {}", target.describe()))?;
                    println!("{service}: up to date ({})", target.describe());
                }
                if service == "deadline" {
                    let target = DbTarget::for_service(&settings, service)?;
                    db::connect_and_migrate::<bangban_deadline_migration::Migrator>(&target, 1)
                        .await
                        .with_context(|| format!("migrating {service} at {}", target.describe()))?;
                    println!("{service}: up to date ({})", target.describe());
                }
                if service == "notification" {
                    let target = DbTarget::for_service(&settings, service)?;
                    db::connect_and_migrate::<bangban_notification_migration::Migrator>(&target, 1)
                        .await
                        .with_context(|| format!("migrating {service} at {}", target.describe()))?;
                    println!("{service}: up to date ({})", target.describe());
                }
                if service == "evaluation" {
                    let target = DbTarget::for_service(&settings, service)?;
                    db::connect_and_migrate::<bangban_evaluation_migration::Migrator>(&target, 1)
                        .await
                        .with_context(|| format!("migrating {service} at {}", target.describe()))?;
                    println!("{service}: up to date ({})", target.describe());
                }
                if service == "planning" {
                    let target = DbTarget::for_service(&settings, service)?;
                    db::connect_and_migrate::<bangban_planning_migration::Migrator>(&target, 1)
                        .await
                        .with_context(|| format!("migrating {service} at {}", target.describe()))?;
                    println!("{service}: up to date ({})", target.describe());
                }
            }
            Ok(())
        }
    }
}

async fn serve(config: Option<PathBuf>, services: Vec<&'static str>) -> anyhow::Result<()> {
    let (ctx, guard) = runtime::bootstrap(config.as_deref(), "bangban").await?;
    if clock::is_rehearsal() {
        eprintln!(
            "REHEARSAL CLOCK (演练时钟): platform time starts at {} and runs {}x the wall clock — development only",
            clock::now().to_rfc3339(),
            clock::speed()
        );
    }
    let mut databases = Vec::new();
    if services.contains(&"intake") {
        let running = bangban_intake::start(&ctx.settings, ctx.client.clone(), &ctx.shutdown).await?;
        databases.push(("intake", running.db));
    }
    if services.contains(&"routing") {
        let running = bangban_routing::start(&ctx.settings, ctx.client.clone(), &ctx.shutdown).await?;
        databases.push(("routing", running.db));
    }
    if services.contains(&"planning") {
        let running = bangban_planning::start(&ctx.settings, ctx.client.clone(), &ctx.shutdown).await?;
        databases.push(("planning", running.db));
    }
    if services.contains(&"deadline") {
        let running = bangban_deadline::start(&ctx.settings, ctx.client.clone(), &ctx.shutdown).await?;
        databases.push(("deadline", running.db));
    }
    if services.contains(&"notification") {
        let running = bangban_notification::start(&ctx.settings, ctx.client.clone(), &ctx.shutdown).await?;
        databases.push(("notification", running.db));
    }
    if services.contains(&"evaluation") {
        let running = bangban_evaluation::start(&ctx.settings, ctx.client.clone(), &ctx.shutdown).await?;
        databases.push(("evaluation", running.db));
    }
    let readiness = Readiness { nats: ctx.client.clone(), databases };
    if services.contains(&"gateway") {
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
