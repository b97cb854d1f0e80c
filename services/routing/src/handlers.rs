//! Routing as a platform service (服务): its operations on the bus (`bb.svc.routing.*`), its consumers of
//! planning's and intake's events, and its start (the unit directory loaded on a fresh installation).

use std::sync::Arc;

use bangban_contracts::{
    EventType,
    routing::{SERVICE, ops},
};
use bangban_platform::{
    rpc::Endpoints,
    service::{Context, Service},
};
use bangban_routing_migration::Migrator;
use sea_orm::{EntityTrait, PaginatorTrait};

use crate::{RoutingService, entity::unit, seed, settings::RoutingSettings};

impl Service for RoutingService {
    const NAME: &'static str = SERVICE;
    const DESCRIPTION: &'static str = "代办分类推送：责任单位与事项任务 / routing";
    type Migrator = Migrator;
    type Settings = RoutingSettings;

    async fn build(ctx: &Context<'_>, settings: RoutingSettings) -> anyhow::Result<Arc<Self>> {
        // The directory is reference data: a fresh installation starts with the built-in one (`bangban seed`
        // refreshes it).
        if unit::Entity::find().count(&ctx.db).await? == 0 {
            let units = seed::seed(&ctx.db).await?;
            tracing::info!(units, "unit directory loaded");
        }
        Ok(Arc::new(RoutingService::new(ctx.db.clone(), ctx.notifier.clone(), settings.link_ack_working_hours)))
    }

    async fn endpoints(ep: &mut Endpoints<'_, Self>) -> Result<(), async_nats::Error> {
        ep.add::<ops::UnitList, _, _, _>(|r, q| async move { r.list_units(q).await }).await?;
        ep.add::<ops::TaskList, _, _, _>(|r, q| async move { r.list_tasks(q).await }).await?;
        ep.add::<ops::TaskGet, _, _, _>(|r, q| async move { r.get_task(q.id).await }).await?;
        ep.add::<ops::CaseTasks, _, _, _>(|r, q| async move { r.case_tasks(q).await }).await?;
        ep.add::<ops::TaskTransition, _, _, _>(|r, q| async move { r.transition(q).await }).await?;
        Ok(())
    }

    /// Follows `plan.published`, and every case event in one consumer (in order).
    fn run(self: &Arc<Self>, ctx: &Context<'_>) -> anyhow::Result<()> {
        ctx.consume("routing-plans", EventType::PLAN_PUBLISHED.filter_all_offices(), self.clone());
        ctx.consume("routing-cases", EventType::CASE_TERMINATED.aggregate_filter_all_offices(), self.clone());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_case_consumer_sees_every_case_event() {
        assert_eq!(EventType::CASE_TERMINATED.aggregate_filter_all_offices(), "bb.evt.*.case.>");
        assert_eq!(EventType::TASK_APPROVED.aggregate_filter_all_offices(), "bb.evt.*.task.>");
    }
}
