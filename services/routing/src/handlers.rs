//! Routing's service operations on the bus (`bb.svc.routing.*`).

use std::{future::Future, sync::Arc};

use async_nats::service::Service;
use bangban_contracts::routing::{CaseTasks, GetTask, ListTasks, ListUnits, SERVICE, TransitionTask, ops};
use bangban_platform::{problem::Problem, rpc};
use serde::{Serialize, de::DeserializeOwned};
use tokio_util::sync::CancellationToken;

use crate::RoutingService;

type Handle = tokio::task::JoinHandle<()>;

async fn serve_op<Req, Resp, E, F, Fut>(
    service: &Service,
    state: &Arc<RoutingService>,
    operation: &str,
    f: F,
    shutdown: &CancellationToken,
) -> Result<Handle, async_nats::Error>
where
    Req: DeserializeOwned + Send + 'static,
    Resp: Serialize + Send + 'static,
    E: Into<Problem> + Send + 'static,
    F: Fn(Arc<RoutingService>, Req) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Resp, E>> + Send + 'static,
{
    rpc::serve_with_state(service, SERVICE, state, operation, f, shutdown).await
}

/// Serves every operation of routing until shutdown.
pub async fn serve_all(
    service: &Service,
    routing: Arc<RoutingService>,
    shutdown: CancellationToken,
) -> Result<Vec<Handle>, async_nats::Error> {
    let (r, s) = (&routing, &shutdown);
    Ok(vec![
        serve_op(service, r, ops::UNIT_LIST, |r, q: ListUnits| async move { r.list_units(q).await }, s).await?,
        serve_op(service, r, ops::TASK_LIST, |r, q: ListTasks| async move { r.list_tasks(q).await }, s).await?,
        serve_op(service, r, ops::TASK_GET, |r, q: GetTask| async move { r.get_task(q.id).await }, s).await?,
        serve_op(service, r, ops::CASE_TASKS, |r, q: CaseTasks| async move { r.case_tasks(q).await }, s).await?,
        serve_op(service, r, ops::TASK_TRANSITION, |r, q: TransitionTask| async move { r.transition(q).await }, s)
            .await?,
    ])
}
