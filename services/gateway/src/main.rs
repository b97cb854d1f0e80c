//! `bangban-gateway`: the gateway alone, one pod per service.

use bangban_platform::{health::Readiness, runtime};
use clap::Parser;

#[derive(Parser)]
#[command(name = "bangban-gateway", about = "Bangban gateway (网关)")]
struct Cli {
    /// TOML configuration file; `BANGBAN__…` variables override it.
    #[arg(long)]
    config: Option<std::path::PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let (ctx, guard) = runtime::bootstrap(cli.config.as_deref(), "bangban-gateway", false).await?;
    let readiness = Readiness { nats: ctx.client.clone(), databases: Vec::new() };
    bangban_gateway::start(&ctx.settings, ctx.client.clone(), readiness, &ctx.shutdown).await?;
    runtime::wait_and_stop(&ctx.shutdown, &ctx.client, guard).await;
    Ok(())
}
