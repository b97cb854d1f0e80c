//! `bangban-deadline`: deadline alone, one pod per service.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    bangban_platform::service::main::<bangban_deadline::DeadlineService>().await
}
