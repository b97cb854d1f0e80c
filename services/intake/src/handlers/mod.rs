//! Intake's service operations on the bus (`bb.svc.intake.*`).

use std::{future::Future, sync::Arc};

use async_nats::service::Service;
use bangban_contracts::intake::{
    ApplicantQuery, ChangeSpecialist, CreateCase, GetCase, ListCases, ListOffices, ListProjects, ListStaff,
    RegisterApplicant, RegisterProject, ResolveContacts, RevealApplicant, SERVICE, TerminateCase, ops,
};
use bangban_platform::{problem::Problem, rpc};
use serde::{Serialize, de::DeserializeOwned};
use tokio_util::sync::CancellationToken;

use crate::IntakeService;

/// Serves `bb.svc.intake.<operation>` until shutdown: decodes the request, calls `f` with the
/// shared `state`, and turns an error into the problem the caller receives.
pub(crate) async fn serve_op<S, Req, Resp, E, F, Fut>(
    service: &Service,
    state: &Arc<S>,
    operation: &str,
    f: F,
    shutdown: &CancellationToken,
) -> Result<tokio::task::JoinHandle<()>, async_nats::Error>
where
    S: Send + Sync + 'static,
    Req: DeserializeOwned + Send + 'static,
    Resp: Serialize + Send + 'static,
    E: Into<Problem> + Send + 'static,
    F: Fn(Arc<S>, Req) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Resp, E>> + Send + 'static,
{
    rpc::serve_with_state(service, SERVICE, state, operation, f, shutdown).await
}

/// Serves every operation of intake until shutdown.
pub async fn serve_all(
    service: &Service,
    intake: Arc<IntakeService>,
    settings: &bangban_platform::Settings,
    shutdown: CancellationToken,
) -> Result<Vec<tokio::task::JoinHandle<()>>, async_nats::Error> {
    let (i, s) = (&intake, &shutdown);
    let mut handles = vec![
        serve_op(service, i, ops::CASE_CREATE, |i, r: CreateCase| async move { i.create_case(r).await }, s).await?,
        serve_op(service, i, ops::CASE_GET, |i, r: GetCase| async move { i.get_case(r.id).await }, s).await?,
        serve_op(service, i, ops::CASE_LIST, |i, r: ListCases| async move { i.list_cases(r).await }, s).await?,
        serve_op(service, i, ops::CASE_TERMINATE, |i, r: TerminateCase| async move { i.terminate_case(r).await }, s)
            .await?,
        serve_op(
            service,
            i,
            ops::CASE_CHANGE_SPECIALIST,
            |i, r: ChangeSpecialist| async move { i.change_specialist(r).await },
            s,
        )
        .await?,
        serve_op(
            service,
            i,
            ops::APPLICANT_REVEAL,
            |i, r: RevealApplicant| async move { i.reveal_applicant(r).await },
            s,
        )
        .await?,
        serve_op(
            service,
            i,
            ops::APPLICANT_REGISTER,
            |i, r: RegisterApplicant| async move { i.register_applicant(r).await },
            s,
        )
        .await?,
        serve_op(service, i, ops::APPLICANT_LIST, |i, r: ApplicantQuery| async move { i.list_applicants(r).await }, s)
            .await?,
        serve_op(
            service,
            i,
            ops::PROJECT_REGISTER,
            |i, r: RegisterProject| async move { i.register_project(r).await },
            s,
        )
        .await?,
        serve_op(service, i, ops::PROJECT_LIST, |i, r: ListProjects| async move { i.list_projects(r).await }, s)
            .await?,
        serve_op(service, i, ops::OFFICE_LIST, |i, _: ListOffices| async move { i.list_offices().await }, s).await?,
        serve_op(
            service,
            i,
            ops::CONTACT_RESOLVE,
            |i, r: ResolveContacts| async move { i.resolve_contacts(r).await },
            s,
        )
        .await?,
        serve_op(service, i, ops::STAFF_LIST, |i, r: ListStaff| async move { i.list_staff(r).await }, s).await?,
    ];
    handles.extend(crate::consultations::serve(service, intake.clone(), shutdown.clone()).await?);
    handles.extend(crate::results::serve(service, intake.clone(), settings, shutdown.clone()).await?);
    Ok(handles)
}
