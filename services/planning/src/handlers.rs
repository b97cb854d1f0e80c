//! Planning as a platform service (服务): its operations on the bus (`bb.svc.planning.*`), its consumers of
//! intake's and routing's events, and its start (the catalog seeded on a fresh installation).

use std::sync::Arc;

use bangban_contracts::{
    EventType,
    planning::{SERVICE, ops},
};
use bangban_planning_migration::Migrator;
use bangban_platform::{
    rpc::Endpoints,
    service::{Context, Service},
};

use crate::{PlanningService, domain::schedule::Targets, settings::PlanningSettings};

impl Service for PlanningService {
    const NAME: &'static str = SERVICE;
    const DESCRIPTION: &'static str = "代办方案：工作日历、事项库、方案与预排工期 / planning";
    type Migrator = Migrator;
    type Settings = PlanningSettings;

    async fn build(ctx: &Context<'_>, settings: PlanningSettings) -> anyhow::Result<Arc<Self>> {
        let service = PlanningService::new(ctx.db.clone(), ctx.notifier.clone(), Targets::from(&settings));
        service.catalog.seed(&ctx.db).await?;
        Ok(Arc::new(service))
    }

    async fn endpoints(ep: &mut Endpoints<'_, Self>) -> Result<(), async_nats::Error> {
        ep.add::<ops::CalendarDay, _, _, _>(|p, r| async move { p.calendar_day(r.date).await }).await?;
        ep.add::<ops::CalendarInfo, _, _, _>(|p, _| async move { p.calendar_info().await }).await?;
        ep.add::<ops::CalendarCompute, _, _, _>(|p, r| async move { p.calendar_compute(r).await }).await?;
        ep.add::<ops::CalendarLoadYear, _, _, _>(|p, r| async move { p.load_year(r).await }).await?;
        ep.add::<ops::CalendarSetOverride, _, _, _>(|p, r| async move { p.set_override(r).await }).await?;
        ep.add::<ops::CalendarRemoveOverride, _, _, _>(|p, r| async move { p.remove_override(r).await }).await?;
        ep.add::<ops::CatalogGet, _, _, _>(|p, r| async move { p.catalog_view(r).await }).await?;
        ep.add::<ops::CatalogVersions, _, _, _>(|p, r| async move { p.catalog_versions(r).await }).await?;
        ep.add::<ops::CatalogPutItem, _, _, _>(|p, r| async move { p.put_catalog_item(r).await }).await?;
        ep.add::<ops::CatalogRemoveItem, _, _, _>(|p, r| async move { p.remove_catalog_item(r).await }).await?;
        ep.add::<ops::PlanGet, _, _, _>(|p, r| async move { p.get_plan(r.case_id).await }).await?;
        ep.add::<ops::PlanVersion, _, _, _>(|p, r| async move { p.get_version(r).await }).await?;
        ep.add::<ops::PlanRegenerate, _, _, _>(|p, r| async move { p.regenerate(r).await }).await?;
        ep.add::<ops::PlanAddItem, _, _, _>(|p, r| async move { p.add_item(r).await }).await?;
        ep.add::<ops::PlanEditItem, _, _, _>(|p, r| async move { p.edit_item(r).await }).await?;
        ep.add::<ops::PlanRemoveItem, _, _, _>(|p, r| async move { p.remove_item(r).await }).await?;
        ep.add::<ops::PlanPublish, _, _, _>(|p, r| async move { p.publish(r).await }).await?;
        Ok(())
    }

    /// One consumer for every case event keeps them in order (accepted before terminated); another for
    /// routing's `plan.completed`.
    fn run(self: &Arc<Self>, ctx: &Context<'_>) -> anyhow::Result<()> {
        ctx.consume("planning-cases", EventType::CASE_ACCEPTED.aggregate_filter_all_offices(), self.clone());
        ctx.consume("planning-plan-completed", EventType::PLAN_COMPLETED.filter_all_offices(), self.clone());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_case_consumer_sees_every_case_event() {
        assert_eq!(EventType::CASE_ACCEPTED.aggregate_filter_all_offices(), "bb.evt.*.case.>");
    }
}
