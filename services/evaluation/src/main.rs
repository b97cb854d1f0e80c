//! `bangban-evaluation`: evaluation alone, one pod per service.

use clap::Parser;

#[derive(Parser)]
#[command(name = "bangban-evaluation", about = "Bangban evaluation service (评价)")]
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
        "bangban-evaluation",
        Box::new(|ctx| {
            Box::pin(async move {
                let running = bangban_evaluation::start(&ctx.settings, ctx.client.clone(), &ctx.shutdown).await?;
                Ok(vec![("evaluation", running.db)])
            })
        }),
    )
    .await
}
