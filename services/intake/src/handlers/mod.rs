//! Intake's service operations on the bus (`bb.svc.intake.*`).

use std::sync::Arc;

use async_nats::service::Service;
use bangban_contracts::intake::{CreateCase, GetCase, ListOffices, ListStaff, SERVICE, ops};
use bangban_platform::{problem::Problem, rpc};
use tokio_util::sync::CancellationToken;

use crate::IntakeService;

/// Serves every operation of intake until shutdown.
pub async fn serve_all(
    service: &Service,
    intake: Arc<IntakeService>,
    shutdown: CancellationToken,
) -> Result<Vec<tokio::task::JoinHandle<()>>, async_nats::Error> {
    let mut handles = Vec::new();
    let s = intake.clone();
    handles.push(
        rpc::serve(
            service,
            SERVICE,
            ops::CASE_CREATE,
            move |req: CreateCase| {
                let s = s.clone();
                async move { s.create_case(req).await.map_err(Problem::from) }
            },
            shutdown.clone(),
        )
        .await?,
    );
    let s = intake.clone();
    handles.push(
        rpc::serve(
            service,
            SERVICE,
            ops::CASE_GET,
            move |req: GetCase| {
                let s = s.clone();
                async move { s.get_case(req.id).await.map_err(Problem::from) }
            },
            shutdown.clone(),
        )
        .await?,
    );
    let s = intake.clone();
    handles.push(
        rpc::serve(
            service,
            SERVICE,
            ops::OFFICE_LIST,
            move |_: ListOffices| {
                let s = s.clone();
                async move { s.list_offices().await.map_err(Problem::from) }
            },
            shutdown.clone(),
        )
        .await?,
    );
    let s = intake.clone();
    handles.push(
        rpc::serve(
            service,
            SERVICE,
            ops::STAFF_LIST,
            move |req: ListStaff| {
                let s = s.clone();
                async move { s.list_staff(req).await.map_err(Problem::from) }
            },
            shutdown.clone(),
        )
        .await?,
    );
    Ok(handles)
}
