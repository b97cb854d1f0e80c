//! `bangban-routing`: routing alone, one pod per service.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    bangban_platform::service::main::<bangban_routing::RoutingService>().await
}
