//! HTTP handlers of `/api/v1`.

pub mod calendar;
pub mod cases;
pub mod catalog;
pub mod clock;
pub mod clocks;
pub mod consultations;
pub mod directory;
pub mod dossier;
pub mod evaluations;
pub mod me;
pub mod meetings;
pub mod monitoring;
pub mod notifications;
pub mod plans;
pub mod problems;
pub mod registry;
pub mod results;
pub mod stream;
pub mod supervision;
pub mod tasks;

/// Calls `bb.svc.planning.<op>`. Planning's problems (400, 404, 409, 422…) reach the client unchanged.
pub(crate) async fn planning<Req: serde::Serialize, Resp: serde::de::DeserializeOwned>(
    state: &crate::AppState,
    op: &str,
    req: &Req,
) -> Result<Resp, bangban_platform::problem::Problem> {
    let service = bangban_contracts::planning::SERVICE;
    Ok(bangban_platform::rpc::call(&state.client, service, op, req, state.request_timeout).await?)
}

/// Calls `bb.svc.routing.<op>`. Routing's problems (400, 404, 409, 422…) reach the client unchanged.
pub(crate) async fn routing<Req: serde::Serialize, Resp: serde::de::DeserializeOwned>(
    state: &crate::AppState,
    op: &str,
    req: &Req,
) -> Result<Resp, bangban_platform::problem::Problem> {
    let service = bangban_contracts::routing::SERVICE;
    Ok(bangban_platform::rpc::call(&state.client, service, op, req, state.request_timeout).await?)
}

/// Calls `bb.svc.deadline.<op>`. Deadline's problems (404, 409, 422…) reach the client unchanged.
pub(crate) async fn deadline<Req: serde::Serialize, Resp: serde::de::DeserializeOwned>(
    state: &crate::AppState,
    op: &str,
    req: &Req,
) -> Result<Resp, bangban_platform::problem::Problem> {
    let service = bangban_contracts::deadline::SERVICE;
    Ok(bangban_platform::rpc::call(&state.client, service, op, req, state.request_timeout).await?)
}

/// Calls `bb.svc.evaluation.<op>`. Evaluation's problems (403, 404, 409, 422…) reach the client unchanged.
pub(crate) async fn evaluation<Req: serde::Serialize, Resp: serde::de::DeserializeOwned>(
    state: &crate::AppState,
    op: &str,
    req: &Req,
) -> Result<Resp, bangban_platform::problem::Problem> {
    let service = bangban_contracts::evaluation::SERVICE;
    Ok(bangban_platform::rpc::call(&state.client, service, op, req, state.request_timeout).await?)
}
