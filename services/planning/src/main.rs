//! `bangban-planning`: planning alone, one pod per service.

use clap::Parser;

#[derive(Parser)]
#[command(name = "bangban-planning", about = "Bangban planning service (代办方案)")]
struct Cli {
    /// TOML configuration file; `BANGBAN__…` variables override it.
    #[arg(long)]
    config: Option<std::path::PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    bangban_platform::runtime::run_standalone(
        cli.config.as_deref(),
        "bangban-planning",
        Box::new(|ctx| {
            Box::pin(async move {
                let running = bangban_planning::start(&ctx.settings, ctx.client.clone(), &ctx.shutdown).await?;
                Ok(vec![("planning", running.db)])
            })
        }),
    )
    .await
}
