//! Evaluation (评价 §8.2, 政务服务"好差评") over HTTP, served by `evaluation`: ratings of each approval item
//! and of the whole service (一事一评), the SMS link and the window terminal that rate with a one-time code,
//! rectification of bad reviews (差评整改), appeals (申诉), the staff assessment (考核 §8.2.1) and statistics.
//!
//! - `POST /api/v1/tasks/{id}/evaluation`, `POST /api/v1/cases/{id}/evaluation` — the applicant rates an item
//!   or the whole service in their own name (the token's `applicant` claim).
//! - `GET  /api/v1/evaluations/invitations/{code}` — what a one-time code rates (the SMS link's page). No
//!   bearer token; the code is a credential: the request span records the route template, never the path.
//! - `POST /api/v1/evaluations/by-code` — rate with the code: without a token (the SMS link) or at a window
//!   terminal (a window staff member's token).
//! - `GET  /api/v1/evaluations`, `GET /api/v1/evaluations/{id}` — ratings, scoped to whom they concern
//!   ([`crate::authz::scope_evaluations`]).
//! - `GET  /api/v1/cases/{id}/invitations` — a case's invitations (never the codes).
//! - `GET  /api/v1/rectifications`, `GET /api/v1/rectifications/{id}`, `POST /api/v1/rectifications/{id}/steps`
//!   — bad reviews' rectifications: the assignee contacts and answers, the applicant rates the fix.
//! - `POST /api/v1/evaluations/{id}/appeal`, `POST /api/v1/appeals/{id}/decision`, `GET /api/v1/appeals`.
//! - `GET  /api/v1/assessments`, `GET /api/v1/assessments.csv` — the staff assessment, as JSON or for Excel.
//! - `GET  /api/v1/evaluations/statistics` — ratings by level, category, stage, office, unit and month.
//!
//! One module per sub-resource: [`ratings`], [`invitations`] (and one-time codes), [`rectifications`],
//! [`appeals`], [`assessment`] (and statistics); each declares its routes beside its handlers.

pub mod appeals;
pub mod assessment;
pub mod invitations;
pub mod ratings;
pub mod rectifications;
#[cfg(test)]
mod tests;

use axum::{
    Json,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use bangban_contracts::{
    evaluation::{EvaluationView, GetEvaluation, ops},
    office::is_known_office,
};
use bangban_platform::problem::Problem;
use chrono::NaiveDate;
use utoipa_axum::router::OpenApiRouter;
use uuid::Uuid;

pub use self::{
    assessment::{assessment, evaluation_statistics},
    invitations::{INVITATION_BY_CODE, case_invitations},
    ratings::{list_evaluations, rate_task},
};
use crate::AppState;

/// The routes of evaluation.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(ratings::router())
        .merge(invitations::router())
        .merge(rectifications::router())
        .merge(appeals::router())
        .merge(assessment::router())
}

/// 422 naming `office` for a code that is no office's.
fn known_office(office: Option<&str>) -> Result<(), Problem> {
    match office {
        Some(office) if !is_known_office(office) => Err(Problem::invalid_field(
            "office",
            format!("未知的机构代码 {office:?}"),
            format!("unknown office code {office:?}"),
        )),
        _ => Ok(()),
    }
}

/// 422 naming `to` when the period ends before it begins.
pub(crate) fn check_period(from: NaiveDate, to: NaiveDate) -> Result<(), Problem> {
    if from > to {
        return Err(Problem::invalid_field(
            "to",
            format!("截止日期 {to} 早于起始日期 {from}"),
            format!("{to} is before the start of the period, {from}"),
        ));
    }
    Ok(())
}

fn created(view: EvaluationView) -> Response {
    let location = format!("/api/v1/evaluations/{}", view.id);
    (StatusCode::CREATED, [(header::LOCATION, location)], Json(view)).into_response()
}

fn no_rating(id: Uuid) -> Problem {
    Problem::not_found(format!("评价 {id} 不存在"), format!("rating {id} does not exist"))
}

async fn fetch_evaluation(state: &AppState, id: Uuid) -> Result<EvaluationView, Problem> {
    state.call::<ops::Get>(&GetEvaluation { id }).await.map_err(|p| if p.status == 404 { no_rating(id) } else { p })
}
