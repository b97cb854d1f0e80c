//! `bangban-deadline`: deadline alone, one pod per service.

use clap::Parser;

#[derive(Parser)]
#[command(name = "bangban-deadline", about = "Bangban deadline service (限时办结与督办)")]
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
        "bangban-deadline",
        Box::new(|ctx| {
            Box::pin(async move {
                let running = bangban_deadline::start(&ctx.settings, ctx.client.clone(), &ctx.shutdown).await?;
                Ok(vec![("deadline", running.db)])
            })
        }),
    )
    .await
}
