//! `bangban-routing`: routing alone, one pod per service.

use clap::Parser;

#[derive(Parser)]
#[command(name = "bangban-routing", about = "Bangban routing service (代办分类推送)")]
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
        "bangban-routing",
        Box::new(|ctx| {
            Box::pin(async move {
                let running = bangban_routing::start(&ctx.settings, ctx.client.clone(), &ctx.shutdown).await?;
                Ok(vec![("routing", running.db)])
            })
        }),
    )
    .await
}
