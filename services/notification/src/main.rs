//! `bangban-notification`: notification alone, one pod per service.

use clap::Parser;

#[derive(Parser)]
#[command(name = "bangban-notification", about = "Bangban notification service (短信与站内通知)")]
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
        "bangban-notification",
        Box::new(|ctx| {
            Box::pin(async move {
                let running = bangban_notification::start(&ctx.settings, ctx.client.clone(), &ctx.shutdown).await?;
                Ok(vec![("notification", running.db)])
            })
        }),
    )
    .await
}
