//! Intake's service operations on the bus (`bb.svc.intake.*`).

use std::sync::Arc;

use async_nats::service::Service;
use bangban_contracts::intake::{
    ChangeSpecialist, CreateCase, GetCase, ListApplicants, ListCases, ListOffices, ListProjects, ListStaff,
    RegisterApplicant, RegisterProject, RevealApplicant, SERVICE, TerminateCase, ops,
};
use bangban_platform::{problem::Problem, rpc};
use tokio_util::sync::CancellationToken;

use crate::IntakeService;

/// Serves `bb.svc.intake.<op>`: decodes `$req`, calls `IntakeService::$method`, maps errors to problems.
macro_rules! serve_op {
    ($handles:ident, $service:expr, $intake:expr, $shutdown:expr, $op:expr, $req:ty, |$s:ident, $r:ident| $call:expr) => {{
        let intake = $intake.clone();
        $handles.push(
            rpc::serve(
                $service,
                SERVICE,
                $op,
                move |$r: $req| {
                    let $s = intake.clone();
                    async move { $call.await.map_err(Problem::from) }
                },
                $shutdown.clone(),
            )
            .await?,
        );
    }};
}

/// Serves every operation of intake until shutdown.
pub async fn serve_all(
    service: &Service,
    intake: Arc<IntakeService>,
    settings: &bangban_platform::Settings,
    shutdown: CancellationToken,
) -> Result<Vec<tokio::task::JoinHandle<()>>, async_nats::Error> {
    let mut handles = Vec::new();
    serve_op!(handles, service, intake, shutdown, ops::CASE_CREATE, CreateCase, |s, r| s.create_case(r));
    serve_op!(handles, service, intake, shutdown, ops::CASE_GET, GetCase, |s, r| s.get_case(r.id));
    serve_op!(handles, service, intake, shutdown, ops::CASE_LIST, ListCases, |s, r| s.list_cases(r));
    serve_op!(handles, service, intake, shutdown, ops::CASE_TERMINATE, TerminateCase, |s, r| s.terminate_case(r));
    serve_op!(handles, service, intake, shutdown, ops::CASE_CHANGE_SPECIALIST, ChangeSpecialist, |s, r| s
        .change_specialist(r));
    serve_op!(handles, service, intake, shutdown, ops::APPLICANT_REVEAL, RevealApplicant, |s, r| s.reveal_applicant(r));
    serve_op!(handles, service, intake, shutdown, ops::APPLICANT_REGISTER, RegisterApplicant, |s, r| s
        .register_applicant(r));
    serve_op!(handles, service, intake, shutdown, ops::APPLICANT_LIST, ListApplicants, |s, r| s.list_applicants(r));
    serve_op!(handles, service, intake, shutdown, ops::PROJECT_REGISTER, RegisterProject, |s, r| s.register_project(r));
    serve_op!(handles, service, intake, shutdown, ops::PROJECT_LIST, ListProjects, |s, r| s.list_projects(r));
    serve_op!(handles, service, intake, shutdown, ops::OFFICE_LIST, ListOffices, |s, _r| s.list_offices());
    serve_op!(handles, service, intake, shutdown, ops::STAFF_LIST, ListStaff, |s, r| s.list_staff(r));
    handles.extend(crate::consultations::serve(service, intake.clone(), shutdown.clone()).await?);
    handles.extend(crate::results::serve(service, intake.clone(), settings, shutdown.clone()).await?);
    Ok(handles)
}
