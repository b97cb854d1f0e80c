//! Supervision (督办 §7.5.4) over HTTP, served by `deadline`: the notices (督办单) issued when a task is
//! overdue or feedback is late, the unit's answer, the escalation to discipline inspection or audit with its
//! evidence pack (证据材料), and the supervisor's outcome.
//!
//! - `GET  /api/v1/supervision?office=&unit=&status=&case_id=&task_id=&limit=&offset=` — scoped like the
//!   clocks: an officer their unit's, a county office its own, the city office and supervisors all.
//! - `GET  /api/v1/supervision/{id}` — one notice; the evidence pack only for supervisors and office admins.
//! - `POST /api/v1/supervision/{id}/answer` — the unit's answer: its officers, or the admins of its office.
//! - `POST /api/v1/supervision/{id}/decision` — the outcome of an escalation: supervisors.

use axum::{
    Json,
    extract::{Path, State},
};
use bangban_contracts::deadline::{
    AnswerSupervision, DecideSupervision, ListSupervision, NewAnswer, NewDecision, SupervisionPage, SupervisionView,
    ops,
};
use bangban_platform::problem::Problem;

use crate::{
    AppState,
    auth::{Principal, Role},
    authz::{Action, scope_deadline},
    extract::{ApiJson, ApiQuery},
    handlers::{cases::actor, clocks::clock_example, load},
};
use utoipa_axum::{router::OpenApiRouter, routes};

/// The routes of supervision.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_supervision))
        .routes(routes!(get_supervision))
        .routes(routes!(answer_supervision))
        .routes(routes!(decide_supervision))
}

fn notice_example() -> serde_json::Value {
    serde_json::json!({
        "id": "0195f5c2-3d4e-7f60-8a1b-2c3d4e5f6a7b",
        "number": "滨督〔2026〕371625-00012号",
        "kind": "overdue",
        "status": "issued",
        "task_id": "0195f3a0-7c1e-7b35-9a51-2f9c3c1d4e01",
        "case_id": "0195f39f-1a2b-7c3d-8e4f-5a6b7c8d9e0f",
        "ledger_no": "BB-371625-2026-000012",
        "office": "371625",
        "task_code": "EP-03",
        "task_name": "建设工程规划许可证核发",
        "unit_code": "371625-XZSP",
        "unit_name": "博兴县行政审批服务局",
        "unit_office": "371625",
        "reason": "“建设工程规划许可证核发”超过承诺时限 5 个工作日未办结",
        "due_at": "2026-03-09T16:00:00Z",
        "days_overdue": 1,
        "issued_at": "2026-03-09T16:00:00Z",
        "response_due": "2026-03-12",
        "escalate_on": "2026-03-17",
        "answer": null,
        "resolved_at": null,
        "escalation": null,
        "decision": null
    })
}

/// An escalated notice with its evidence pack.
fn escalated_example() -> serde_json::Value {
    let mut notice = notice_example();
    notice["status"] = "escalated".into();
    notice["answer"] = serde_json::json!({
        "reason": "申请材料涉及规划条件调整，需征求自然资源部门意见",
        "committed_on": "2026-03-13", "by": "officer-371625-XZSP", "at": "2026-03-10T02:00:00Z"
    });
    notice["escalation"] = serde_json::json!({
        "target": "discipline_inspection", "reason": "督办后 5 个工作日仍未办结", "at": "2026-03-17T16:00:00Z"
    });
    let summary = notice.clone();
    notice["evidence"] = serde_json::json!({
        "clock": clock_example(),
        "notices": [summary],
        "problems": [],
        "messages": [
            {"event_id": "0195f3a0-7c1f-7000-8000-000000000001", "event_type": "task.dispatched", "action": "dispatch",
             "actor": "routing", "at": "2026-03-02T01:00:00Z", "note": null},
            {"event_id": "0195f3a0-7c1f-7000-8000-000000000002", "event_type": "task.received", "action": "receive",
             "actor": "officer-371625-XZSP", "at": "2026-03-02T01:30:00Z", "note": "已签收，材料齐全"}
        ],
        "assembled_at": "2026-03-17T16:00:00Z"
    });
    notice
}

/// The evidence pack goes to discipline inspection or audit: supervisors and office admins see it, others
/// see the notice without it.
fn for_reader(principal: &Principal, mut view: SupervisionView) -> SupervisionView {
    if !matches!(principal.role, Role::Supervisor | Role::OfficeAdmin) {
        view.evidence = None;
    }
    view
}

/// Supervision notices (督办单), newest first, without evidence: overdue (超过承诺时限未办结) and late feedback
/// (逾期未反馈). Scoped by the gateway: an officer sees their own unit's notices (another `unit` is 403); the
/// staff of a county office the notices to its units and on the cases it accepted (another `office` is
/// 403); the city office's staff and supervisors every office's, filtered as asked. Applicants, experts
/// and integrators get 403.
#[utoipa::path(
    get, path = "/api/v1/supervision", tag = "supervision",
    params(ListSupervision),
    responses(
        (status = 200, description = "督办单 / the notices", body = SupervisionPage, example = json!({
            "items": [notice_example()], "total": 1, "limit": 50, "offset": 0
        })),
        (status = 400, description = "查询参数有误 / bad query", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "无权查看该单位或机构的督办单 / not your unit or office", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn list_supervision(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(mut filter): ApiQuery<ListSupervision>,
) -> Result<Json<SupervisionPage>, Problem> {
    (filter.office, filter.unit) =
        scope_deadline(&principal, Action::ListClocks, ("督办单", "supervision notices"), filter.office, filter.unit)?;
    Ok(Json(state.call::<ops::SupervisionList>(&filter).await?))
}

/// One supervision notice with its answer, escalation and outcome. Once escalated it carries the evidence
/// pack (the clock with its whole timeline, every notice and problem of the task, the task's status
/// messages): supervisors and office admins see it, everyone else gets the notice without it. For the
/// unit's officers, the staff of the unit's office and of the accepting office, the city office and
/// supervisors; 404 for anyone else.
#[utoipa::path(
    get, path = "/api/v1/supervision/{id}", tag = "supervision",
    params(("id" = Uuid, Path, description = "督办单编号 / notice id")),
    responses(
        (status = 200, description = "督办单 / the notice", body = SupervisionView, example = json!(escalated_example())),
        (status = 400, description = "编号格式错误 / malformed id", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "该角色无权查看督办单 / the role reads no notices", body = Problem),
        (status = 404, description = "不存在或无权查看 / not found", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(notice.id = %id))]
pub async fn get_supervision(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<SupervisionView>, Problem> {
    let view = load::notice(&state, &principal, &id, Action::ReadSupervision).await?;
    Ok(Json(for_reader(&principal, view)))
}

/// The unit's answer to an issued notice (督办反馈): why it is late and the day it commits to conclude by
/// (not in the past). By the unit's officers or the office admins of the unit's office; others who see the
/// notice get 403. A notice already answered, resolved or escalated is 409. Publishes
/// `supervision.answered`.
#[utoipa::path(
    post, path = "/api/v1/supervision/{id}/answer", tag = "supervision",
    params(("id" = Uuid, Path, description = "督办单编号 / notice id")),
    request_body(content = NewAnswer, description = "督办反馈 / the answer", example = json!({
        "reason": "申请材料涉及规划条件调整，需征求自然资源部门意见",
        "committed_on": "2026-03-13"
    })),
    responses(
        (status = 200, description = "已反馈的督办单 / the notice, answered", body = SupervisionView),
        (status = 400, description = "请求体或编号格式错误 / malformed body or id", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "可查看但无权反馈 / may read the notice but not answer it", body = Problem),
        (status = 404, description = "不存在或无权查看 / not found", body = Problem),
        (status = 409, description = "督办单已反馈或已结束 / already answered or closed", body = Problem),
        (status = 413, description = "请求体过大 / body too large", body = Problem),
        (status = 415, description = "须为 JSON / JSON required", body = Problem),
        (status = 422, description = "内容有误（指明字段）/ invalid content, naming the field", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(notice.id = %id))]
pub async fn answer_supervision(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(answer): ApiJson<NewAnswer>,
) -> Result<Json<SupervisionView>, Problem> {
    let notice = load::notice(&state, &principal, &id, Action::AnswerSupervision).await?;
    let req = AnswerSupervision { actor: actor(&principal), id: notice.notice.id, answer };
    let view: SupervisionView = state.call::<ops::SupervisionAnswer>(&req).await?;
    Ok(Json(for_reader(&principal, view)))
}

/// The supervisor's outcome of an escalated notice (§7.5.4: 警告、通报批评、问责, or no action with the
/// reason). Supervisors only; a notice not escalated is 409. Publishes `supervision.decided`.
#[utoipa::path(
    post, path = "/api/v1/supervision/{id}/decision", tag = "supervision",
    params(("id" = Uuid, Path, description = "督办单编号 / notice id")),
    request_body(content = NewDecision, description = "处理结果 / the outcome", example = json!({
        "outcome": "circulated_criticism", "note": "对责任单位予以通报批评"
    })),
    responses(
        (status = 200, description = "已处理的督办单 / the notice, decided", body = SupervisionView),
        (status = 400, description = "请求体或编号格式错误 / malformed body or id", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "只有监督人员可以处理 / supervisors only", body = Problem),
        (status = 404, description = "督办单不存在 / no such notice", body = Problem),
        (status = 409, description = "督办单尚未移送 / not escalated", body = Problem),
        (status = 413, description = "请求体过大 / body too large", body = Problem),
        (status = 415, description = "须为 JSON / JSON required", body = Problem),
        (status = 422, description = "内容有误（指明字段）/ invalid content, naming the field", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(notice.id = %id))]
pub async fn decide_supervision(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(decision): ApiJson<NewDecision>,
) -> Result<Json<SupervisionView>, Problem> {
    let notice = load::notice(&state, &principal, &id, Action::DecideSupervision).await?;
    let req = DecideSupervision { actor: actor(&principal), id: notice.notice.id, decision };
    let view: SupervisionView = state.call::<ops::SupervisionDecide>(&req).await?;
    Ok(Json(for_reader(&principal, view)))
}
