//! Deadline's service operations on the bus (`bb.svc.deadline.*`).

use std::{future::Future, sync::Arc};

use async_nats::service::Service;
use bangban_contracts::deadline::{
    AnswerSupervision, CaseClocks, DecideSupervision, ExtendClock, GetClock, GetProblem, GetSupervision, ListClocks,
    ListConsultations, ListProblems, ListSupervision, MonitoringQuery, PauseClock, RecordConsultation, RecordProblem,
    ReferProblem, ResumeClock, SERVICE, SolveProblem, ops,
};
use bangban_platform::{problem::Problem, rpc};
use serde::{Serialize, de::DeserializeOwned};
use tokio_util::sync::CancellationToken;

use crate::DeadlineService;

type Handle = tokio::task::JoinHandle<()>;

async fn serve_op<Req, Resp, E, F, Fut>(
    service: &Service,
    state: &Arc<DeadlineService>,
    operation: &str,
    f: F,
    shutdown: &CancellationToken,
) -> Result<Handle, async_nats::Error>
where
    Req: DeserializeOwned + Send + 'static,
    Resp: Serialize + Send + 'static,
    E: Into<Problem> + Send + 'static,
    F: Fn(Arc<DeadlineService>, Req) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Resp, E>> + Send + 'static,
{
    rpc::serve_with_state(service, SERVICE, state, operation, f, shutdown).await
}

/// Serves every operation of deadline until shutdown.
pub async fn serve_all(
    service: &Service,
    deadline: Arc<DeadlineService>,
    shutdown: CancellationToken,
) -> Result<Vec<Handle>, async_nats::Error> {
    let (d, s) = (&deadline, &shutdown);
    Ok(vec![
        serve_op(service, d, ops::CLOCK_GET, |d, q: GetClock| async move { d.get_clock(q.task_id).await }, s).await?,
        serve_op(service, d, ops::CLOCK_CASE, |d, q: CaseClocks| async move { d.case_clocks(q).await }, s).await?,
        serve_op(service, d, ops::CLOCK_LIST, |d, q: ListClocks| async move { d.list_clocks(q).await }, s).await?,
        serve_op(service, d, ops::CLOCK_PAUSE, |d, q: PauseClock| async move { d.pause(q).await }, s).await?,
        serve_op(service, d, ops::CLOCK_RESUME, |d, q: ResumeClock| async move { d.resume(q).await }, s).await?,
        serve_op(service, d, ops::CLOCK_EXTEND, |d, q: ExtendClock| async move { d.extend(q).await }, s).await?,
        serve_op(service, d, ops::SUPERVISION_LIST, |d, q: ListSupervision| async move { d.list_notices(q).await }, s)
            .await?,
        serve_op(service, d, ops::SUPERVISION_GET, |d, q: GetSupervision| async move { d.get_notice(q).await }, s)
            .await?,
        serve_op(service, d, ops::SUPERVISION_ANSWER, |d, q: AnswerSupervision| async move { d.answer(q).await }, s)
            .await?,
        serve_op(service, d, ops::SUPERVISION_DECIDE, |d, q: DecideSupervision| async move { d.decide(q).await }, s)
            .await?,
        serve_op(service, d, ops::PROBLEM_RECORD, |d, q: RecordProblem| async move { d.record_problem(q).await }, s)
            .await?,
        serve_op(service, d, ops::PROBLEM_SOLVE, |d, q: SolveProblem| async move { d.solve_problem(q).await }, s)
            .await?,
        serve_op(service, d, ops::PROBLEM_REFER, |d, q: ReferProblem| async move { d.refer(q).await }, s).await?,
        serve_op(service, d, ops::PROBLEM_GET, |d, q: GetProblem| async move { d.get_problem(q.id).await }, s).await?,
        serve_op(service, d, ops::PROBLEM_LIST, |d, q: ListProblems| async move { d.list_problems(q).await }, s)
            .await?,
        serve_op(
            service,
            d,
            ops::CONSULTATION_RECORD,
            |d, q: RecordConsultation| async move { d.record_consultation(q).await },
            s,
        )
        .await?,
        serve_op(
            service,
            d,
            ops::CONSULTATION_LIST,
            |d, q: ListConsultations| async move { d.list_consultations(q).await },
            s,
        )
        .await?,
        serve_op(service, d, ops::MONITORING, |d, q: MonitoringQuery| async move { d.monitoring(q).await }, s).await?,
    ])
}
