//! Appeals (申诉) of ratings: filed by the staff a rating concerns, decided by an office admin who is neither
//! the appellant nor the rated specialist.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use bangban_contracts::evaluation::{
    AppealDecision, AppealView, DecideAppeal, FileAppeal, ListAppeals, NewAppeal, ops,
};
use bangban_platform::problem::Problem;

use crate::{
    AppState,
    auth::Principal,
    authz::{Action, authorize_appeal, authorize_role, scope_deadline},
    extract::{ApiJson, ApiQuery},
    handlers::{cases::actor, load::parse_id},
};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{fetch_evaluation, known_office, no_rating};

/// The routes of appeals.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(file_appeal)).routes(routes!(decide_appeal)).routes(routes!(list_appeals))
}

pub(super) fn appeal_example() -> serde_json::Value {
    serde_json::json!({
        "id": "0195f7c0-3d4e-7f50-8a61-7c8d9e0f1a23",
        "evaluation_id": "0195f7a0-1b2c-7d3e-8f40-5a6b7c8d9e02",
        "filed_by": "staff-371625-assistant-1",
        "reason": "服务对象所述超期系其自身补正材料延迟所致，补正期间依法不计时",
        "evidence": ["补正通知书 2026-03-04 签收记录"],
        "status": "pending",
        "decided_by": null,
        "decision_note": null,
        "filed_at": "2026-03-21T02:00:00Z",
        "decided_at": null
    })
}

/// Appeals a rating (申诉) with the reason and what shows it (evidence): by the staff it concerns — the
/// case's specialist, the rated unit's officers, an office admin of the accepting office or of the unit's
/// office. An upheld appeal leaves the rating out of the assessment. Others who see the rating get 403,
/// anyone else 404; evaluation answers 409 for a rating already appealed.
#[utoipa::path(
    post, path = "/api/v1/evaluations/{id}/appeal", tag = "evaluations",
    params(("id" = Uuid, Path, description = "评价编号 / rating id")),
    request_body(content = NewAppeal, description = "申诉 / the appeal", example = json!({
        "reason": "服务对象所述超期系其自身补正材料延迟所致，补正期间依法不计时",
        "evidence": ["补正通知书 2026-03-04 签收记录"]
    })),
    responses(
        (status = 201, description = "已申诉 / filed", body = AppealView, example = json!(appeal_example())),
        (status = 400, description = "请求体或编号格式错误 / malformed body or id", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "无权申诉 / may not appeal it", body = Problem),
        (status = 404, description = "不存在或无权查看 / not found", body = Problem),
        (status = 409, description = "已申诉 / already appealed", body = Problem),
        (status = 413, description = "请求体过大 / body too large", body = Problem),
        (status = 415, description = "须为 JSON / JSON required", body = Problem),
        (status = 422, description = "内容有误（指明字段）/ invalid content, naming the field", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(evaluation.id = %id))]
pub async fn file_appeal(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(appeal): ApiJson<NewAppeal>,
) -> Result<Response, Problem> {
    let id = parse_id("评价", "rating", &id)?;
    authorize_role(&principal, Action::FileAppeal)?;
    let rating = fetch_evaluation(&state, id).await?;
    authorize_appeal(&principal, &rating).map_err(|p| if p.status == 404 { no_rating(id) } else { p })?;
    let req = FileAppeal { actor: actor(&principal), evaluation_id: id, appeal };
    let view: AppealView = state.call::<ops::AppealFile>(&req).await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// Decides an appeal (申诉裁定): upheld (the rating leaves the assessment) or rejected, with a note. Office
/// admins only; evaluation checks that the appeal is their office's (the accepting office's or the unit's
/// office's, the city's for every case), that they neither filed it nor are the specialist it rates (回避:
/// nobody decides their own appeal — 403), and answers 409 for one decided already.
#[utoipa::path(
    post, path = "/api/v1/appeals/{id}/decision", tag = "evaluations",
    params(("id" = Uuid, Path, description = "申诉编号 / appeal id")),
    request_body(content = AppealDecision, description = "裁定 / the decision", example = json!({
        "upheld": true, "note": "经核实补正期间依法不计时，申诉成立"
    })),
    responses(
        (status = 200, description = "已裁定 / decided", body = AppealView, example = json!(appeal_example())),
        (status = 400, description = "请求体或编号格式错误 / malformed body or id", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "只有机构管理员可以裁定，且申诉人、被评价人须回避 / office admins only, never the appellant nor the rated specialist", body = Problem),
        (status = 404, description = "申诉不存在 / no such appeal", body = Problem),
        (status = 409, description = "已裁定 / decided already", body = Problem),
        (status = 413, description = "请求体过大 / body too large", body = Problem),
        (status = 415, description = "须为 JSON / JSON required", body = Problem),
        (status = 422, description = "内容有误（指明字段）/ invalid content, naming the field", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(appeal.id = %id))]
pub async fn decide_appeal(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(decision): ApiJson<AppealDecision>,
) -> Result<Json<AppealView>, Problem> {
    let id = parse_id("申诉", "appeal", &id)?;
    authorize_role(&principal, Action::DecideAppeal)?;
    let req = DecideAppeal { actor: actor(&principal), id, decision };
    Ok(Json(state.call::<ops::AppealDecide>(&req).await?))
}

/// Appeals (申诉), newest first: for office admins (a county's their own office's, asking for another is 403;
/// the city's every office's) and supervisors (every office's, or the one asked for).
#[utoipa::path(
    get, path = "/api/v1/appeals", tag = "evaluations",
    params(ListAppeals),
    responses(
        (status = 200, description = "申诉 / the appeals", body = Vec<AppealView>, example = json!([appeal_example()])),
        (status = 400, description = "查询参数有误 / bad query", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "无权查看该机构或该角色无权查看 / not your office, or the role reads none", body = Problem),
        (status = 422, description = "参数取值有误（指明字段）/ invalid value, naming the field", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn list_appeals(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(mut filter): ApiQuery<ListAppeals>,
) -> Result<Json<Vec<AppealView>>, Problem> {
    (filter.office, _) = scope_deadline(&principal, Action::ReadAppeals, ("申诉", "appeals"), filter.office, None)?;
    known_office(filter.office.as_deref())?;
    Ok(Json(state.call::<ops::AppealList>(&filter).await?))
}
