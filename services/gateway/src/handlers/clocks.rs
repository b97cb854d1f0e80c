//! Task clocks (计时, 限时办结 §4.3): the working-day clock of every routed task, its statutory pauses and
//! approved extensions over HTTP, served by `deadline`.
//!
//! - `GET  /api/v1/tasks/{id}/clock` — one task's clock with its timeline.
//! - `GET  /api/v1/cases/{id}/clocks` — a case's clocks.
//! - `GET  /api/v1/clocks?office=&unit=&alert=&status=&limit=&offset=` — open clocks, soonest due first,
//!   scoped by the gateway like the inbox.
//! - `POST /api/v1/tasks/{id}/clock/pauses` — a statutory pause (行政许可法第四十五条).
//! - `POST /api/v1/tasks/{id}/clock/pauses/{pause_id}/end` — ends it.
//! - `POST /api/v1/tasks/{id}/clock/extensions` — an approved extension (延期).
//!
//! A clock is read like its task ([`crate::authz`]): the case's applicant, its specialist, the unit's
//! officers, the staff of the accepting office and of the unit's office, supervisors and the city office.
//! Those who work the task pause it; an office admin of the unit's office or of the city approves an
//! extension. Whoever may read the clock but not act gets 403, anyone else 404.

use axum::{
    Json,
    extract::{Path, State},
};
use bangban_contracts::{
    deadline::{
        ClockPage, ClockView, EndPause, ExtendClock, ListClocks, NewExtension, NewPause, PauseClock, ResumeClock, ops,
    },
    intake::CaseView,
};
use bangban_platform::problem::Problem;
use uuid::Uuid;

use crate::{
    AppState,
    auth::Principal,
    authz::{Action, scope_deadline},
    extract::{ApiJson, ApiQuery},
    handlers::{
        cases::actor,
        load::{self, RoleCheck},
    },
};
use utoipa_axum::{router::OpenApiRouter, routes};

/// The routes of task clocks.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_clocks))
        .routes(routes!(get_task_clock))
        .routes(routes!(pause_clock))
        .routes(routes!(end_pause))
        .routes(routes!(extend_clock))
        .routes(routes!(case_clocks))
}

/// A clock as people see it: the example of the documentation.
pub(crate) fn clock_example() -> serde_json::Value {
    serde_json::json!({
        "task_id": "0195f3a0-7c1e-7b35-9a51-2f9c3c1d4e01",
        "case_id": "0195f39f-1a2b-7c3d-8e4f-5a6b7c8d9e0f",
        "ledger_no": "BB-371625-2026-000012",
        "office": "371625",
        "code": "EP-03",
        "name": "建设工程规划许可证核发",
        "stage": "engineering_permit",
        "category": "industrial",
        "unit_code": "371625-XZSP",
        "unit_name": "博兴县行政审批服务局",
        "unit_office": "371625",
        "specialist_id": "staff-371625-assistant-1",
        "applicant_id": "0195f39e-0000-7000-8000-000000000001",
        "status": "running",
        "alert": "normal",
        "promised_working_days": 5,
        "extension_working_days": 0,
        "paused_working_days": 0,
        "dispatched_at": "2026-03-02T01:00:00Z",
        "started_at": "2026-03-02T01:30:00Z",
        "start_basis": "received",
        "due_date": "2026-03-09",
        "due_at": "2026-03-09T16:00:00Z",
        "warn_at": "2026-03-05T16:00:00Z",
        "provisional": false,
        "remaining_working_days": 5,
        "finished_at": null,
        "on_time": null,
        "used_working_days": null,
        "pauses": [],
        "extensions": [],
        "timeline": [
            {"at": "2026-03-02T01:00:00Z", "kind": "created", "actor": "routing",
             "note": "已推送至博兴县行政审批服务局，承诺时限 5 个工作日", "due_at": null},
            {"at": "2026-03-02T01:30:00Z", "kind": "started", "actor": "officer-371625-XZSP",
             "note": "责任单位已接收，开始计时", "due_at": "2026-03-09T16:00:00Z"}
        ],
        "updated_at": "2026-03-02T01:30:00Z"
    })
}

/// A task's clock (事项计时) with its whole timeline: status (awaiting receipt, running, paused, stopped,
/// cancelled), alert level (normal, warning, overdue), the promised working days, extensions and excluded
/// days, the due date and instant (end of the day in Asia/Shanghai), the warning instant, the working days
/// remaining, pauses and extensions. Read like the task: the case's applicant, its specialist, the unit's
/// officers, the staff of the accepting office and of the unit's office, supervisors; 404 for anyone else.
#[utoipa::path(
    get, path = "/api/v1/tasks/{id}/clock", tag = "clocks",
    params(("id" = Uuid, Path, description = "事项编号 / task id")),
    responses(
        (status = 200, description = "事项计时 / the clock", body = ClockView, example = json!(clock_example())),
        (status = 400, description = "编号格式错误 / malformed id", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "该角色无权查看事项 / the role reads no tasks", body = Problem),
        (status = 404, description = "事项不存在、尚未计时或无权查看 / no such task, no clock yet, or not yours", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(task.id = %id))]
pub async fn get_task_clock(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<ClockView>, Problem> {
    Ok(Json(load::clock(&state, &principal, &id, Action::ReadTask).await?))
}

/// A case's clocks, in dispatch order, without timelines: what the specialist and the applicant follow.
/// Whoever reads the case sees them all; a unit's officer those of their unit, a linked office those of
/// its units; 404 otherwise.
#[utoipa::path(
    get, path = "/api/v1/cases/{id}/clocks", tag = "clocks",
    params(("id" = Uuid, Path, description = "案件编号 / case id")),
    responses(
        (status = 200, description = "案件的事项计时 / the case's clocks", body = Vec<ClockView>,
            example = json!([clock_example()])),
        (status = 400, description = "编号格式错误 / malformed id", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "该角色无权查看事项 / the role reads no tasks", body = Problem),
        (status = 404, description = "案件不存在或无权查看 / no such case, or not yours", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(case.id = %id))]
pub async fn case_clocks(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Vec<ClockView>>, Problem> {
    let case = load::case_of_tasks(&state, &principal, &id, RoleCheck::BeforeLookup).await?;
    Ok(Json(visible_clocks_of(&state, &principal, &case).await?))
}

/// The clocks of `case` that `principal` may see, for a principal whose role may read tasks (the dossier
/// passes the case it has already read).
pub(crate) async fn visible_clocks_of(
    state: &AppState,
    principal: &Principal,
    case: &CaseView,
) -> Result<Vec<ClockView>, Problem> {
    let clocks: Vec<ClockView> =
        state.call::<ops::ClockCase>(&bangban_contracts::deadline::CaseClocks { case_id: case.id }).await?;
    load::visible_on_case(principal, case, clocks)
}

/// Open clocks (or as filtered by `status`), soonest due first, without timelines: the warning board
/// (预警看板). The gateway scopes it: an officer sees their own unit's clocks (another `unit` is 403); the
/// staff of a county office see the clocks of their office's units and of the cases it accepted (another
/// `office` is 403); the city office's staff and supervisors see every office's, filtered as asked.
/// Applicants, experts and integrators get 403.
#[utoipa::path(
    get, path = "/api/v1/clocks", tag = "clocks",
    params(ListClocks),
    responses(
        (status = 200, description = "事项计时 / the clocks", body = ClockPage, example = json!({
            "items": [clock_example()], "total": 1, "limit": 50, "offset": 0
        })),
        (status = 400, description = "查询参数有误 / bad query", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "无权查看该单位或机构的计时 / not your unit or office", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn list_clocks(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(mut filter): ApiQuery<ListClocks>,
) -> Result<Json<ClockPage>, Problem> {
    (filter.office, filter.unit) =
        scope_deadline(&principal, Action::ListClocks, ("事项计时", "clocks"), filter.office, filter.unit)?;
    Ok(Json(state.call::<ops::ClockList>(&filter).await?))
}

/// Pauses a running clock for a statutory exclusion (法定不计时情形, 行政许可法第四十五条: 听证、招标、拍卖、
/// 检验、检测、检疫、鉴定、专家评审): while paused the clock has no due instant and raises no alarm; once
/// ended, the working days after the day it began up to the day it ended are excluded. The supplement pause
/// (补正) comes from the task's supplement request, not from here. For those who work the task: the unit's
/// officers and the staff of the unit's office. Publishes `task.clock_changed`.
#[utoipa::path(
    post, path = "/api/v1/tasks/{id}/clock/pauses", tag = "clocks",
    params(("id" = Uuid, Path, description = "事项编号 / task id")),
    request_body(content = NewPause, description = "暂停计时 / the pause", example = json!({
        "kind": "expert_review", "reason": "组织专家评审（住建领域施工图专家论证）"
    })),
    responses(
        (status = 200, description = "暂停后的计时 / the clock, paused", body = ClockView),
        (status = 400, description = "请求体或编号格式错误 / malformed body or id", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "可查看但无权办理该事项 / may read the task but not work it", body = Problem),
        (status = 404, description = "事项不存在、尚未计时或无权查看 / no such task, no clock, or not yours", body = Problem),
        (status = 409, description = "计时未开始、已结束或已有同类暂停 / not started, over, or such a pause is open", body = Problem),
        (status = 413, description = "请求体过大 / body too large", body = Problem),
        (status = 415, description = "须为 JSON / JSON required", body = Problem),
        (status = 422, description = "内容有误（指明字段）/ invalid content, naming the field", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(task.id = %id))]
pub async fn pause_clock(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(pause): ApiJson<NewPause>,
) -> Result<Json<ClockView>, Problem> {
    let clock = load::clock(&state, &principal, &id, Action::WorkTask).await?;
    let req = PauseClock { actor: actor(&principal), task_id: clock.task_id, pause };
    Ok(Json(state.call::<ops::ClockPause>(&req).await?))
}

/// Ends a statutory pause: the clock runs again with a due instant moved by the working days excluded.
/// For those who work the task. Publishes `task.clock_changed`.
#[utoipa::path(
    post, path = "/api/v1/tasks/{id}/clock/pauses/{pause_id}/end", tag = "clocks",
    params(
        ("id" = Uuid, Path, description = "事项编号 / task id"),
        ("pause_id" = Uuid, Path, description = "暂停记录编号 / pause id"),
    ),
    request_body(content = EndPause, description = "结束暂停 / the end of the pause", example = json!({
        "note": "专家评审已完成，评审意见已归档"
    })),
    responses(
        (status = 200, description = "恢复后的计时 / the clock, running again", body = ClockView),
        (status = 400, description = "请求体或编号格式错误 / malformed body or id", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "可查看但无权办理该事项 / may read the task but not work it", body = Problem),
        (status = 404, description = "事项或暂停记录不存在 / no such task or pause", body = Problem),
        (status = 409, description = "暂停已结束或为补正暂停 / already ended, or a supplement pause", body = Problem),
        (status = 413, description = "请求体过大 / body too large", body = Problem),
        (status = 415, description = "须为 JSON / JSON required", body = Problem),
        (status = 422, description = "内容有误（指明字段）/ invalid content, naming the field", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(task.id = %id, pause.id = %pause_id))]
pub async fn end_pause(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, pause_id)): Path<(String, String)>,
    ApiJson(end): ApiJson<EndPause>,
) -> Result<Json<ClockView>, Problem> {
    let pause_id = Uuid::parse_str(&pause_id).map_err(|_| {
        Problem::malformed(Some("pause_id".into()), "暂停记录编号须为 UUID", "the pause id must be a UUID")
    })?;
    let clock = load::clock(&state, &principal, &id, Action::WorkTask).await?;
    let req = ResumeClock { actor: actor(&principal), task_id: clock.task_id, pause_id, end };
    Ok(Json(state.call::<ops::ClockResume>(&req).await?))
}

/// Records an approved extension (延期, 行政许可法第四十二条): the time limit grows by `working_days`
/// (1–60), the due instant moves and an alert the new limit no longer implies is cleared. Only the
/// approver may record it: an office admin of the unit's office, or of the city office for every unit;
/// `requested_by` names who asked (e.g. the unit's officer). Publishes `task.clock_changed`.
#[utoipa::path(
    post, path = "/api/v1/tasks/{id}/clock/extensions", tag = "clocks",
    params(("id" = Uuid, Path, description = "事项编号 / task id")),
    request_body(content = NewExtension, description = "延期 / the extension", example = json!({
        "working_days": 10,
        "reason": "情况复杂，经本单位负责人批准延长十个工作日（行政许可法第四十二条）",
        "requested_by": "officer-371625-XZSP"
    })),
    responses(
        (status = 200, description = "延期后的计时 / the clock, extended", body = ClockView),
        (status = 400, description = "请求体或编号格式错误 / malformed body or id", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "只有责任单位所在机构或市级机构的机构管理员可以批准延期 / only an admin of the unit's office or of the city approves", body = Problem),
        (status = 404, description = "事项不存在、尚未计时或无权查看 / no such task, no clock, or not yours", body = Problem),
        (status = 409, description = "计时未开始或已结束 / the clock has not started or is over", body = Problem),
        (status = 413, description = "请求体过大 / body too large", body = Problem),
        (status = 415, description = "须为 JSON / JSON required", body = Problem),
        (status = 422, description = "内容有误（指明字段）/ invalid content, naming the field", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(task.id = %id))]
pub async fn extend_clock(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(extension): ApiJson<NewExtension>,
) -> Result<Json<ClockView>, Problem> {
    let clock = load::clock(&state, &principal, &id, Action::ExtendClock).await?;
    let req = ExtendClock { actor: actor(&principal), task_id: clock.task_id, extension };
    Ok(Json(state.call::<ops::ClockExtend>(&req).await?))
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    #[test]
    fn openapi_documents_every_route_of_deadline_with_examples() {
        let json = serde_json::to_value(crate::openapi::document()).unwrap();
        let paths = &json["paths"];
        // (path, method, request example field, query parameters)
        let routes: [(&str, &str, Option<&str>, &[&str]); 17] = [
            ("/api/v1/tasks/{id}/clock", "get", None, &[]),
            ("/api/v1/cases/{id}/clocks", "get", None, &[]),
            ("/api/v1/clocks", "get", None, &["office", "unit", "alert", "status", "limit", "offset"]),
            ("/api/v1/tasks/{id}/clock/pauses", "post", Some("kind"), &[]),
            ("/api/v1/tasks/{id}/clock/pauses/{pause_id}/end", "post", Some("note"), &[]),
            ("/api/v1/tasks/{id}/clock/extensions", "post", Some("working_days"), &[]),
            (
                "/api/v1/supervision",
                "get",
                None,
                &["office", "unit", "status", "case_id", "task_id", "limit", "offset"],
            ),
            ("/api/v1/supervision/{id}", "get", None, &[]),
            ("/api/v1/supervision/{id}/answer", "post", Some("committed_on"), &[]),
            ("/api/v1/supervision/{id}/decision", "post", Some("outcome"), &[]),
            ("/api/v1/tasks/{id}/problems", "post", Some("description"), &[]),
            ("/api/v1/problems", "get", None, &["office", "unit", "case_id", "task_id", "status", "limit", "offset"]),
            ("/api/v1/problems/{id}/solve", "post", Some("solution"), &[]),
            ("/api/v1/problems/{id}/refer", "post", Some("reason"), &[]),
            ("/api/v1/meetings", "post", Some("attendees"), &[]),
            ("/api/v1/meetings", "get", None, &["office", "case_id", "limit", "offset"]),
            ("/api/v1/monitoring", "get", None, &["office", "from", "to"]),
        ];
        for (path, method, field, query) in routes {
            let op = &paths[path][method];
            assert!(op.is_object(), "{method} {path} is not documented");
            assert_eq!(op["security"][0]["bearer"], serde_json::json!([]), "{path} names its security");
            for code in ["401", "503"] {
                assert!(op["responses"][code].is_object(), "{method} {path} documents {code}");
            }
            if let Some(field) = field {
                let example = &op["requestBody"]["content"]["application/json"]["example"];
                assert!(!example[field].is_null(), "{method} {path}: an example with {field}: {example}");
                for code in ["403", "422"] {
                    assert!(op["responses"][code].is_object(), "{method} {path} documents {code}");
                }
            } else {
                let ok = op["responses"]["200"]["content"]["application/json"]["example"].clone();
                assert!(!ok.is_null(), "{method} {path}: an example of the reply");
            }
            let names: Vec<&str> = op["parameters"]
                .as_array()
                .map(|ps| ps.iter().filter(|p| p["in"] == "query").filter_map(|p| p["name"].as_str()).collect())
                .unwrap_or_default();
            assert_eq!(names, query, "{method} {path}: {}", op["parameters"]);
        }
        // Intake's needs intake keeps /api/v1/consultations and its schemas; deadline's meetings are named apart.
        let schemas = &json["components"]["schemas"];
        assert!(schemas["NewConsultation"]["properties"]["channel"].is_object(), "intake's NewConsultation");
        assert!(schemas["NewMeeting"]["properties"]["topic"].is_object(), "deadline's, renamed");
        assert!(schemas["MeetingView"]["properties"]["case_ids"].is_object());
        assert!(schemas["MeetingAttendee"]["properties"]["organization"].is_object());
        assert!(schemas["MeetingFollowUp"]["properties"]["action"].is_object());
        let body = &paths["/api/v1/meetings"]["post"]["requestBody"]["content"]["application/json"]["schema"];
        assert_eq!(body["$ref"], "#/components/schemas/NewMeeting", "{body}");
        for name in [
            "ClockView",
            "ClockPage",
            "NewPause",
            "NewExtension",
            "SupervisionView",
            "SupervisionSummary",
            "EvidencePack",
            "NewAnswer",
            "NewDecision",
            "ProblemView",
            "NewProblem",
            "Monitoring",
            "MonitoringFigures",
        ] {
            assert!(schemas[name].is_object(), "{name} missing");
        }
        // Every schema referred to is in the document.
        fn refs(v: &Value, out: &mut Vec<String>) {
            match v {
                Value::Object(m) => {
                    if let Some(Value::String(r)) = m.get("$ref") {
                        out.push(r.trim_start_matches("#/components/schemas/").to_string());
                    }
                    m.values().for_each(|v| refs(v, out));
                }
                Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
                _ => {}
            }
        }
        let mut referred = Vec::new();
        refs(&json, &mut referred);
        for name in referred {
            assert!(schemas.get(&name).is_some(), "{name} is referred to but missing");
        }
    }
}
