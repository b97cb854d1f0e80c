//! Evaluation's service operations on the bus (`bb.svc.evaluation.*`).

use std::{future::Future, sync::Arc};

use async_nats::service::Service;
use bangban_contracts::evaluation::{
    AssessmentQuery, CaseInvitations, CodeLookup, DecideAppeal, FileAppeal, GetEvaluation, GetRectification,
    ListAppeals, ListEvaluations, ListRectifications, RectificationStep, SERVICE, StatisticsQuery, SubmitByCode,
    SubmitRating, ops,
};
use bangban_platform::{problem::Problem, rpc};
use serde::{Serialize, de::DeserializeOwned};
use tokio_util::sync::CancellationToken;

use crate::EvaluationService;

type Handle = tokio::task::JoinHandle<()>;

async fn serve_op<Req, Resp, E, F, Fut>(
    service: &Service,
    state: &Arc<EvaluationService>,
    operation: &str,
    f: F,
    shutdown: &CancellationToken,
) -> Result<Handle, async_nats::Error>
where
    Req: DeserializeOwned + Send + 'static,
    Resp: Serialize + Send + 'static,
    E: Into<Problem> + Send + 'static,
    F: Fn(Arc<EvaluationService>, Req) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Resp, E>> + Send + 'static,
{
    rpc::serve_with_state(service, SERVICE, state, operation, f, shutdown).await
}

/// Serves every operation of evaluation until shutdown.
pub async fn serve_all(
    service: &Service,
    evaluation: Arc<EvaluationService>,
    shutdown: CancellationToken,
) -> Result<Vec<Handle>, async_nats::Error> {
    let (e, s) = (&evaluation, &shutdown);
    Ok(vec![
        serve_op(service, e, ops::SUBMIT, |e, q: SubmitRating| async move { e.submit(q).await }, s).await?,
        serve_op(
            service,
            e,
            ops::INVITATION_BY_CODE,
            |e, q: CodeLookup| async move { e.invitation_by_code(q).await },
            s,
        )
        .await?,
        serve_op(service, e, ops::SUBMIT_BY_CODE, |e, q: SubmitByCode| async move { e.submit_by_code(q).await }, s)
            .await?,
        serve_op(service, e, ops::LIST, |e, q: ListEvaluations| async move { e.list(q).await }, s).await?,
        serve_op(service, e, ops::GET, |e, q: GetEvaluation| async move { e.get(q).await }, s).await?,
        serve_op(
            service,
            e,
            ops::INVITATION_LIST,
            |e, q: CaseInvitations| async move { e.case_invitations(q).await },
            s,
        )
        .await?,
        serve_op(
            service,
            e,
            ops::RECTIFICATION_LIST,
            |e, q: ListRectifications| async move { e.list_rectifications(q).await },
            s,
        )
        .await?,
        serve_op(
            service,
            e,
            ops::RECTIFICATION_GET,
            |e, q: GetRectification| async move { e.get_rectification(q).await },
            s,
        )
        .await?,
        serve_op(
            service,
            e,
            ops::RECTIFICATION_STEP,
            |e, q: RectificationStep| async move { e.rectification_step(q).await },
            s,
        )
        .await?,
        serve_op(service, e, ops::APPEAL_FILE, |e, q: FileAppeal| async move { e.file_appeal(q).await }, s).await?,
        serve_op(service, e, ops::APPEAL_DECIDE, |e, q: DecideAppeal| async move { e.decide_appeal(q).await }, s)
            .await?,
        serve_op(service, e, ops::APPEAL_LIST, |e, q: ListAppeals| async move { e.list_appeals(q).await }, s).await?,
        serve_op(service, e, ops::ASSESSMENT, |e, q: AssessmentQuery| async move { e.assessment(q).await }, s).await?,
        serve_op(service, e, ops::STATISTICS, |e, q: StatisticsQuery| async move { e.statistics(q).await }, s).await?,
    ])
}
