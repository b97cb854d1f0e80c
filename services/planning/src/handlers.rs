//! Planning's service operations on the bus (`bb.svc.planning.*`).

use std::{future::Future, sync::Arc};

use async_nats::service::Service;
use bangban_contracts::planning::{
    AddPlanItem, CalendarQuery, EditPlanItem, GetCalendar, GetCatalog, GetDay, GetPlan, GetPlanVersion,
    ListCatalogVersions, LoadYear, PublishPlan, PutCatalogItem, RegeneratePlan, RemoveCatalogItem, RemoveOverride,
    RemovePlanItem, SERVICE, SetOverride, ops,
};
use bangban_platform::{problem::Problem, rpc};
use serde::{Serialize, de::DeserializeOwned};
use tokio_util::sync::CancellationToken;

use crate::PlanningService;

type Handle = tokio::task::JoinHandle<()>;

/// Serves `bb.svc.planning.<operation>` until shutdown with `f` on the shared service.
async fn serve_op<Req, Resp, E, F, Fut>(
    service: &Service,
    state: &Arc<PlanningService>,
    operation: &str,
    f: F,
    shutdown: &CancellationToken,
) -> Result<Handle, async_nats::Error>
where
    Req: DeserializeOwned + Send + 'static,
    Resp: Serialize + Send + 'static,
    E: Into<Problem> + Send + 'static,
    F: Fn(Arc<PlanningService>, Req) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Resp, E>> + Send + 'static,
{
    rpc::serve_with_state(service, SERVICE, state, operation, f, shutdown).await
}

/// Serves every operation of planning until shutdown.
pub async fn serve_all(
    service: &Service,
    planning: Arc<PlanningService>,
    shutdown: CancellationToken,
) -> Result<Vec<Handle>, async_nats::Error> {
    let (p, s) = (&planning, &shutdown);
    Ok(vec![
        serve_op(service, p, ops::CALENDAR_DAY, |p, r: GetDay| async move { p.calendar_day(r.date).await }, s).await?,
        serve_op(service, p, ops::CALENDAR_INFO, |p, _: GetCalendar| async move { p.calendar_info().await }, s).await?,
        serve_op(
            service,
            p,
            ops::CALENDAR_COMPUTE,
            |p, r: CalendarQuery| async move { p.calendar_compute(r).await },
            s,
        )
        .await?,
        serve_op(service, p, ops::CALENDAR_LOAD_YEAR, |p, r: LoadYear| async move { p.load_year(r).await }, s).await?,
        serve_op(service, p, ops::CALENDAR_SET_OVERRIDE, |p, r: SetOverride| async move { p.set_override(r).await }, s)
            .await?,
        serve_op(
            service,
            p,
            ops::CALENDAR_REMOVE_OVERRIDE,
            |p, r: RemoveOverride| async move { p.remove_override(r).await },
            s,
        )
        .await?,
        serve_op(service, p, ops::CATALOG_GET, |p, r: GetCatalog| async move { p.catalog_view(r).await }, s).await?,
        serve_op(
            service,
            p,
            ops::CATALOG_VERSIONS,
            |p, r: ListCatalogVersions| async move { p.catalog_versions(r).await },
            s,
        )
        .await?,
        serve_op(
            service,
            p,
            ops::CATALOG_PUT_ITEM,
            |p, r: PutCatalogItem| async move { p.put_catalog_item(r).await },
            s,
        )
        .await?,
        serve_op(
            service,
            p,
            ops::CATALOG_REMOVE_ITEM,
            |p, r: RemoveCatalogItem| async move { p.remove_catalog_item(r).await },
            s,
        )
        .await?,
        serve_op(service, p, ops::PLAN_GET, |p, r: GetPlan| async move { p.get_plan(r.case_id).await }, s).await?,
        serve_op(service, p, ops::PLAN_VERSION, |p, r: GetPlanVersion| async move { p.get_version(r).await }, s)
            .await?,
        serve_op(service, p, ops::PLAN_REGENERATE, |p, r: RegeneratePlan| async move { p.regenerate(r).await }, s)
            .await?,
        serve_op(service, p, ops::PLAN_ADD_ITEM, |p, r: AddPlanItem| async move { p.add_item(r).await }, s).await?,
        serve_op(service, p, ops::PLAN_EDIT_ITEM, |p, r: EditPlanItem| async move { p.edit_item(r).await }, s).await?,
        serve_op(service, p, ops::PLAN_REMOVE_ITEM, |p, r: RemovePlanItem| async move { p.remove_item(r).await }, s)
            .await?,
        serve_op(service, p, ops::PLAN_PUBLISH, |p, r: PublishPlan| async move { p.publish(r).await }, s).await?,
    ])
}
