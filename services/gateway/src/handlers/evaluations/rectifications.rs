//! Rectification of bad reviews (差评整改): the assignee contacts the applicant and answers, the applicant rates
//! the fix.

use axum::{
    Json,
    extract::{Path, State},
};
use bangban_contracts::evaluation::{
    FixRating, GetRectification, ListRectifications, RectificationAction, RectificationPage, RectificationStep,
    RectificationView, ops,
};
use bangban_platform::problem::Problem;
use uuid::Uuid;

use crate::{
    AppState,
    auth::{Principal, Role},
    authz::{Action, authorize_rectification, authorize_role, rating_applicant, scope_rectifications},
    extract::{ApiJson, ApiQuery, decode},
    handlers::{cases::actor, load::parse_id, notifications::page_limit},
};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{fetch_evaluation, known_office};

/// The routes of rectifications.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_rectifications))
        .routes(routes!(get_rectification))
        .routes(routes!(rectification_step))
}

pub(super) fn rectification_example() -> serde_json::Value {
    serde_json::json!({
        "id": "0195f7b0-2c3d-7e4f-8a50-6b7c8d9e0f12",
        "evaluation_id": "0195f7a0-1b2c-7d3e-8f40-5a6b7c8d9e02",
        "case_id": "0195f39f-1a2b-7c3d-8e4f-5a6b7c8d9e0f",
        "task_id": "0195f3a0-7c1e-7b35-9a51-2f9c3c1d4e01",
        "item_name": "建设工程规划许可证核发",
        "level": 2,
        "comment": "补正材料来回跑了两次",
        "assignee": {"kind": "unit", "unit_code": "371625-XZSP", "unit_office": "371625"},
        "office": "371625",
        "status": "answered",
        "opened_at": "2026-03-20T02:00:00Z",
        "contact_due": "2026-03-23",
        "due": "2026-04-10",
        "contacted_at": "2026-03-20T06:00:00Z",
        "contact_note": "已电话联系服务对象，了解补正情况",
        "fix": "补正材料清单已在窗口公示并一次性告知",
        "answer": "已向服务对象说明并致歉，今后一次性告知补正要求",
        "answered_at": "2026-03-25T03:00:00Z",
        "fix_rating": null,
        "closed_at": null,
        "escalated_at": null,
        "escalation_reason": null,
        "on_time": true
    })
}

fn no_rectification(id: Uuid) -> Problem {
    Problem::not_found(format!("差评整改单 {id} 不存在"), format!("rectification {id} does not exist"))
}

/// The rectification and its rating, once `principal` may take `action` on it (404 out of reach, 403 within
/// reach for someone who may not act); for the applicant, their id.
async fn authorized_rectification(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
    action: Action,
) -> Result<(RectificationView, Option<Uuid>), Problem> {
    // A role that never takes the action is refused before anything is looked up.
    match (action, principal.role) {
        (Action::ReadRectifications, Role::Applicant) => {
            rating_applicant(principal, Action::RateRectification)?;
        }
        (Action::RateRectification, _) => {
            rating_applicant(principal, action)?;
        }
        _ => authorize_role(principal, action)?,
    }
    let rectification: RectificationView = state
        .call::<ops::RectificationGet>(&GetRectification { id })
        .await
        .map_err(|p| if p.status == 404 { no_rectification(id) } else { p })?;
    let rating = fetch_evaluation(state, rectification.evaluation_id).await?;
    let applicant = authorize_rectification(principal, action, &rectification, &rating)
        .map_err(|p| if p.status == 404 { no_rectification(id) } else { p })?;
    Ok((rectification, applicant))
}

/// Decodes a rectification step. It is tagged by `action`, and serde may lose the field of an error inside
/// such an enum; a problem that names no field then names the one that is wrong, found by decoding the
/// step's variant alone.
pub(crate) fn decode_action(body: &[u8]) -> Result<RectificationAction, Problem> {
    let problem = match decode::<RectificationAction>(body) {
        Ok(action) => return Ok(action),
        Err(p) => p,
    };
    let named = problem.errors.first().map(|e| e.field.trim_start_matches('.').to_string()).unwrap_or_default();
    if problem.status != 422 || !named.is_empty() {
        return Err(problem);
    }
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Contact {
        action: String,
        note: String,
    }
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Answer {
        action: String,
        fix: String,
        answer: String,
    }
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Rate {
        action: String,
        rating: FixRating,
    }
    let action = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("action").and_then(|a| a.as_str()).map(str::to_string));
    let variant = match action.as_deref() {
        Some("contact") => decode::<Contact>(body).err(),
        Some("answer") => decode::<Answer>(body).err(),
        Some("rate") => decode::<Rate>(body).err(),
        _ => None,
    };
    Err(variant.filter(|p| p.errors.first().is_some_and(|e| !e.field.is_empty())).unwrap_or(problem))
}

/// Rectifications of bad reviews (差评整改单), scoped like the ratings: a specialist's own cases', an
/// officer's unit's, a county office's own, the city office's and supervisors' everything. Applicants and
/// integrators get 403. `limit` is 1–100 (default 20).
#[utoipa::path(
    get, path = "/api/v1/rectifications", tag = "evaluations",
    params(ListRectifications),
    responses(
        (status = 200, description = "差评整改单 / the rectifications", body = RectificationPage, example = json!({
            "items": [rectification_example()], "total": 1, "limit": 20, "offset": 0
        })),
        (status = 400, description = "查询参数有误 / bad query", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "无权查看或该角色无权查看 / not yours, or the role reads none", body = Problem),
        (status = 422, description = "参数取值有误（指明字段）/ invalid value, naming the field", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn list_rectifications(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(filter): ApiQuery<ListRectifications>,
) -> Result<Json<RectificationPage>, Problem> {
    let mut filter = scope_rectifications(&principal, filter)?;
    known_office(filter.office.as_deref())?;
    filter.limit = Some(page_limit(filter.limit)?);
    filter.offset = Some(filter.offset.unwrap_or(0));
    Ok(Json(state.call::<ops::RectificationList>(&filter).await?))
}

/// One rectification: for whoever reaches its rating (the applicant included, who rates the fix) and its
/// assignee; anyone else gets 404.
#[utoipa::path(
    get, path = "/api/v1/rectifications/{id}", tag = "evaluations",
    params(("id" = Uuid, Path, description = "整改单编号 / rectification id")),
    responses(
        (status = 200, description = "差评整改单 / the rectification", body = RectificationView, example = json!(rectification_example())),
        (status = 400, description = "编号格式错误 / malformed id", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "该角色无权查看 / the role reads none", body = Problem),
        (status = 404, description = "不存在或无权查看 / not found", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(rectification.id = %id))]
pub async fn get_rectification(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<RectificationView>, Problem> {
    let id = parse_id("整改单", "rectification", &id)?;
    let (rectification, _) = authorized_rectification(&state, &principal, id, Action::ReadRectifications).await?;
    Ok(Json(rectification))
}

/// A step of a rectification (整改步骤): `contact` (联系服务对象, within a working day) and `answer` (整改情况与
/// 答复) by the assignee — for a unit, its officers or the staff of its office; for a specialist, that
/// specialist or an admin of their office; `rate` (整改评价) by the rating's applicant, which closes it.
/// Others who see it get 403, anyone else 404; evaluation answers 409 for a step out of order.
#[utoipa::path(
    post, path = "/api/v1/rectifications/{id}/steps", tag = "evaluations",
    params(("id" = Uuid, Path, description = "整改单编号 / rectification id")),
    request_body(content = RectificationAction, description = "整改步骤 / the step", example = json!({
        "action": "answer", "fix": "补正材料清单已在窗口公示并一次性告知", "answer": "已向服务对象说明并致歉，今后一次性告知补正要求"
    })),
    responses(
        (status = 200, description = "整改单 / the rectification", body = RectificationView, example = json!(rectification_example())),
        (status = 400, description = "请求体或编号格式错误 / malformed body or id", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "可查看但无权办理此步骤 / may read it but not take this step", body = Problem),
        (status = 404, description = "不存在或无权查看 / not found", body = Problem),
        (status = 409, description = "当前状态不允许 / not in this state", body = Problem),
        (status = 413, description = "请求体过大 / body too large", body = Problem),
        (status = 415, description = "须为 JSON / JSON required", body = Problem),
        (status = 422, description = "内容有误（指明字段）/ invalid content, naming the field", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(rectification.id = %id))]
pub async fn rectification_step(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> Result<Json<RectificationView>, Problem> {
    let id = parse_id("整改单", "rectification", &id)?;
    let step = decode_action(&serde_json::to_vec(&body).unwrap_or_default())?;
    let action = match step {
        RectificationAction::Contact { .. } | RectificationAction::Answer { .. } => Action::WorkRectification,
        RectificationAction::Rate { .. } => Action::RateRectification,
    };
    let (_, applicant_id) = authorized_rectification(&state, &principal, id, action).await?;
    let req = RectificationStep { actor: actor(&principal), applicant_id, id, action: step };
    Ok(Json(state.call::<ops::RectificationStep>(&req).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrong_step_names_its_field() {
        let field = |body: &str| {
            let p = decode_action(body.as_bytes()).unwrap_err();
            (p.status, p.errors.first().map(|e| e.field.clone()).unwrap_or_default())
        };
        assert_eq!(field(r#"{"action":"rate","rating":"great"}"#), (422, "rating".into()));
        assert_eq!(field(r#"{"action":"answer","fix":"x"}"#), (422, "answer".into()));
        assert_eq!(field(r#"{"action":"contact"}"#), (422, "note".into()));
        assert_eq!(field(r#"{"action":"contact","note":"x","extra":1}"#), (422, "extra".into()));
        assert_eq!(field(r#"{"action":"close"}"#).0, 422);
        assert_eq!(field(r#"{"note":"x"}"#), (422, "action".into()));
        assert_eq!(field(r#"{"action":"#).0, 400);
        let step = decode_action(br#"{"action":"rate","rating":"basically_satisfied"}"#).unwrap();
        assert_eq!(step, RectificationAction::Rate { rating: FixRating::BasicallySatisfied });
    }
}
