//! The unit side (责任单位): the responsible-unit directory, routed tasks (推送事项) and their status steps
//! (状态标注) over HTTP, served by `routing`.
//!
//! - `GET  /api/v1/units?office=&unit_type=` — the responsible-unit directory (责任单位名录).
//! - `GET  /api/v1/tasks?unit=&office=&status=&case_id=&limit=&offset=` — an inbox (待办箱), scoped by the
//!   gateway: an officer sees their unit's tasks, a county office's staff its units' tasks, the city office
//!   everything.
//! - `GET  /api/v1/tasks/{id}` — one task with its history.
//! - `GET  /api/v1/cases/{id}/tasks` — a case's tasks.
//! - `POST /api/v1/tasks/{id}/transitions` — a status step (`{"action": "receive", …}`).
//!
//! Who may do what is decided in [`crate::authz`]: the unit's officer (or the staff of the unit's office)
//! works the task, the case's specialist (or an admin of the accepting office) follows it up, the linked
//! office acknowledges and reports back; whoever may read a task but not take a step gets 403, anyone
//! else 404.

use axum::{
    Json,
    extract::{Path, State},
};
use bangban_contracts::{
    intake::CaseView,
    routing::{CaseTasks, ListTasks, ListUnits, TaskAction, TaskPage, TaskView, TransitionTask, UnitView, ops},
};
use bangban_platform::problem::Problem;

use crate::{
    AppState,
    auth::Principal,
    authz::{Action, Resource, authorize, scope_task_list},
    extract::{ApiJson, ApiQuery, decode},
    handlers::{
        cases::actor,
        load::{self, RoleCheck},
    },
};
use utoipa_axum::{router::OpenApiRouter, routes};

/// The routes of units and tasks.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_units))
        .routes(routes!(list_tasks))
        .routes(routes!(get_task))
        .routes(routes!(transition_task))
        .routes(routes!(case_tasks))
}

/// The most top-level fields [`decode_step`] searches for the culprit (a step has at most five).
const MAX_FIELDS_SEARCHED: usize = 16;

/// Decodes a step. `TaskAction` is tagged by `action`, and serde loses the path of an error inside such
/// an enum (`.: input contains invalid characters`, or a nested `missing field` named as if it were at
/// the top). The field is then found by changing one top-level field at a time:
/// - a wrong value: the field whose removal cures the error (or merely turns it into "missing <field>");
/// - a missing field: the object or array whose emptying changes the error contains it (nothing does
///   when the field is missing at the top).
pub(crate) fn decode_step(body: &serde_json::Value) -> Result<TaskAction, Problem> {
    decode_step_counted(body, &mut 0)
}

/// [`decode_step`], counting the extra decodings of the search in `tries`.
fn decode_step_counted(body: &serde_json::Value, tries: &mut usize) -> Result<TaskAction, Problem> {
    use serde_json::Value;
    let mut attempt = |v: &serde_json::Map<String, Value>| {
        *tries += 1;
        decode::<TaskAction>(&serde_json::to_vec(v).unwrap_or_default())
    };
    let problem = match decode::<TaskAction>(&serde_json::to_vec(body).unwrap_or_default()) {
        Ok(step) => return Ok(step),
        Err(p) => p,
    };
    let (Some(object), Some(first)) = (body.as_object(), problem.errors.first()) else {
        return Err(problem);
    };
    // Each try below re-encodes the whole body: beyond the few fields a step has, the search would cost the
    // square of the body (20 000 keys froze a worker for seconds), so such a body gets serde's own answer.
    if object.len() > MAX_FIELDS_SEARCHED {
        return Err(problem);
    }
    let named = first.field.trim_start_matches('.');
    if object.contains_key(named) {
        return Err(problem);
    }
    let missing = problem.status == 422 && first.reason_en == "is required";
    for (key, value) in object.iter().filter(|(k, _)| k.as_str() != "action") {
        let mut changed = object.clone();
        let culprit = if missing {
            let empty = match value {
                Value::Array(_) => Value::Array(vec![]),
                Value::Object(_) => Value::Object(Default::default()),
                _ => continue,
            };
            changed.insert(key.clone(), empty);
            match attempt(&changed) {
                Ok(_) => true,
                Err(p) => p.errors.first().is_none_or(|e| e.field != first.field || e.reason_en != first.reason_en),
            }
        } else {
            changed.remove(key);
            match attempt(&changed) {
                Ok(_) => true,
                Err(p) => p.errors.first().is_some_and(|e| e.field == *key),
            }
        };
        if culprit {
            let field = if named.is_empty() || named == key { key.clone() } else { format!("{key}.{named}") };
            return Err(Problem::invalid_field(&field, first.reason.clone(), first.reason_en.clone()));
        }
    }
    Err(problem)
}

/// The responsible-unit directory (责任单位名录): each unit's code, name, unit type, level, office and
/// contact lines (published office phones). Public directory information: everyone signed in reads it.
#[utoipa::path(
    get, path = "/api/v1/units", tag = "tasks",
    params(ListUnits),
    responses(
        (status = 200, description = "责任单位 / the units", body = Vec<UnitView>, example = json!([{
            "code": "371625-XZSP", "name": "博兴县行政审批服务局", "unit_type": "administrative_approval",
            "level": "county", "office": "371625",
            "contacts": [{"name": "行政审批服务局窗口", "position": "窗口负责人", "phone": "0543-2306142"}]
        }])),
        (status = 400, description = "查询参数有误 / bad query", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn list_units(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(filter): ApiQuery<ListUnits>,
) -> Result<Json<Vec<UnitView>>, Problem> {
    authorize(&principal, Action::ReadUnits, Resource::Directory)?;
    Ok(Json(state.call::<ops::UnitList>(&filter).await?))
}

/// An inbox (待办箱): routed tasks with their status, due date, case and stage. The gateway scopes it:
/// an officer sees their own unit's tasks (another `unit` is 403); the staff and supervisors of a county
/// office see the tasks of their office's units (another `office` is 403); the city office's staff see
/// every office's, filtered as asked. Applicants and integrators get 403.
#[utoipa::path(
    get, path = "/api/v1/tasks", tag = "tasks",
    params(ListTasks),
    responses(
        (status = 200, description = "待办事项 / the tasks", body = TaskPage),
        (status = 400, description = "查询参数有误 / bad query", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "无权查看该单位或机构的待办 / not your unit or office", body = Problem),
        (status = 422, description = "内容有误 / invalid", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn list_tasks(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(filter): ApiQuery<ListTasks>,
) -> Result<Json<TaskPage>, Problem> {
    let filter = scope_task_list(&principal, filter)?;
    Ok(Json(state.call::<ops::TaskList>(&filter).await?))
}

/// One routed task with every step taken (actor, time, note), the supplement notice, the result or the
/// rejection, and linked handling. For the unit's officer, the staff of the unit's office and of the
/// accepting office, the case's applicant and supervisors; 404 for anyone else.
#[utoipa::path(
    get, path = "/api/v1/tasks/{id}", tag = "tasks",
    params(("id" = Uuid, Path, description = "事项编号 / task id")),
    responses(
        (status = 200, description = "推送事项 / the task", body = TaskView),
        (status = 400, description = "编号格式错误 / malformed id", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "该角色无权查看事项 / the role reads no tasks", body = Problem),
        (status = 404, description = "不存在或无权查看 / not found", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(task.id = %id))]
pub async fn get_task(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<TaskView>, Problem> {
    Ok(Json(load::task(&state, &principal, &id, Action::ReadTask).await?))
}

/// A case's routed tasks, in plan order, with their status marks (状态标注): what the applicant and the
/// specialist follow. Whoever reads the case sees them all; a unit's officer sees the case's tasks at
/// their unit, and a linked office those at its units (both sides see a linked task); 404 otherwise.
#[utoipa::path(
    get, path = "/api/v1/cases/{id}/tasks", tag = "tasks",
    params(("id" = Uuid, Path, description = "案件编号 / case id")),
    responses(
        (status = 200, description = "案件的推送事项 / the case's tasks", body = Vec<TaskView>),
        (status = 400, description = "编号格式错误 / malformed id", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "该角色无权查看事项 / the role reads no tasks", body = Problem),
        (status = 404, description = "案件不存在或无权查看 / no such case, or not yours", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(case.id = %id))]
pub async fn case_tasks(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Vec<TaskView>>, Problem> {
    let case = load::case_of_tasks(&state, &principal, &id, RoleCheck::WithResource).await?;
    Ok(Json(visible_tasks_of(&state, &principal, &case).await?))
}

/// The tasks of `case` that `principal` may see (the dossier passes the case it has already read).
pub(crate) async fn visible_tasks_of(
    state: &AppState,
    principal: &Principal,
    case: &CaseView,
) -> Result<Vec<TaskView>, Problem> {
    let tasks: Vec<TaskView> = state.call::<ops::CaseTasks>(&CaseTasks { case_id: case.id }).await?;
    load::visible_on_case(principal, case, tasks)
}

/// Takes a status step (状态标注) on a task, recorded with the actor, the time and the note:
/// `dispatched → received → in_review → (supplement_requested ⇄ supplemented) → approved | rejected`, then
/// `result_collected`; `withdrawn` by the case's side.
///
/// - `receive`, `start_review`, `request_supplement` (one complete notice, 一次性告知), `approve` (with the
///   result document), `reject` (with the reason and legal basis): the unit's officer, or the staff of the
///   unit's office acting for it;
/// - `supplement`, `collect_result`, `withdraw`: the case's specialist or an admin of the accepting office;
/// - `acknowledge_link`, `report_link` (联动响应与反馈): the staff of the linked office.
///
/// A step the task's status does not allow is 409 naming the current status.
#[utoipa::path(
    post, path = "/api/v1/tasks/{id}/transitions", tag = "tasks",
    params(("id" = Uuid, Path, description = "事项编号 / task id")),
    request_body(content = TaskAction, description = "状态步骤，`action` 指明类型 / the step, tagged by `action`", examples(
        ("receive" = (summary = "签收 / receive", value = json!({"action": "receive", "note": "已签收，材料齐全"}))),
        ("start_review" = (summary = "开始审查 / start review", value = json!({"action": "start_review"}))),
        ("request_supplement" = (summary = "一次性告知补正 / one complete supplement notice", value = json!({
            "action": "request_supplement",
            "items": [
                {"material": "建设工程设计方案总平面图", "reason": "未标注建筑退线距离"},
                {"material": "建设项目用地预审与选址意见书", "reason": "复印件不清晰，请提供原件扫描件"}
            ],
            "due_on": "2026-03-20",
            "note": "请一次性补齐上述材料"
        }))),
        ("supplement" = (summary = "已补正 / supplemented", value = json!({"action": "supplement", "note": "申请人已补齐材料"}))),
        ("approve" = (summary = "准予，附审批结果 / approve with the result", value = json!({
            "action": "approve",
            "document": {"kind": "建设工程规划许可证", "number": "建字第371625202600123号", "issued_on": "2026-03-25"},
            "note": "准予许可"
        }))),
        ("reject" = (summary = "不予许可 / reject", value = json!({
            "action": "reject", "reason": "项目选址不符合国土空间规划", "legal_basis": "《中华人民共和国城乡规划法》第四十条"
        }))),
        ("collect_result" = (summary = "领取结果 / result collected", value = json!({"action": "collect_result", "by": "assistant"}))),
        ("withdraw" = (summary = "撤回 / withdraw", value = json!({"action": "withdraw", "reason": "服务对象申请撤回该事项"}))),
        ("acknowledge_link" = (summary = "联动响应 / acknowledge linked handling", value = json!({"action": "acknowledge_link", "note": "已安排专人对接"}))),
        ("report_link" = (summary = "联动反馈 / report back", value = json!({"action": "report_link", "report": "已完成现场踏勘，材料已转交审批科室"}))),
    )),
    responses(
        (status = 200, description = "步骤后的事项 / the task after the step", body = TaskView),
        (status = 400, description = "请求体或编号格式错误 / malformed body or id", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "可查看但无权办理此步骤 / may read the task but not take this step", body = Problem),
        (status = 404, description = "事项不存在或无权查看 / no such task, or not yours", body = Problem),
        (status = 409, description = "当前状态不允许此步骤（指明当前状态）/ the status does not allow this step", body = Problem),
        (status = 413, description = "请求体过大 / body too large", body = Problem),
        (status = 415, description = "须为 JSON / JSON required", body = Problem),
        (status = 422, description = "内容有误（指明字段）/ invalid content, naming the field", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(task.id = %id))]
pub async fn transition_task(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> Result<Json<TaskView>, Problem> {
    let step = decode_step(&body).map_err(|p| p.with_instance(format!("/api/v1/tasks/{id}/transitions")))?;
    let action = Action::for_task_step(step.name()).ok_or_else(|| {
        Problem::invalid_field("action", format!("未知的步骤 {}", step.name()), format!("unknown step {}", step.name()))
    })?;
    let task = load::task(&state, &principal, &id, action).await?;
    let req = TransitionTask { actor: actor(&principal), task_id: task.id, action: step };
    Ok(Json(state.call::<ops::TaskTransition>(&req).await?))
}

#[cfg(test)]
mod tests {
    use bangban_contracts::routing::TaskAction;

    use super::decode_step;
    use crate::authz::Action;

    fn decode(text: &[u8]) -> Result<TaskAction, bangban_platform::problem::Problem> {
        decode_step(&serde_json::from_slice(text).expect("JSON"))
    }

    #[test]
    fn a_body_of_many_keys_is_not_searched_field_by_field() {
        // 20 000 empty objects and no `action`: each try of the search re-encodes the whole body, so searching it
        // would cost the square of its size (seconds of a worker). It gets serde's own answer, with no try.
        let mut body = serde_json::Map::new();
        for i in 0..20_000 {
            body.insert(format!("k{i:05}"), serde_json::json!({}));
        }
        let mut tries = 0;
        let problem = super::decode_step_counted(&serde_json::Value::Object(body), &mut tries).unwrap_err();
        assert_eq!(problem.status, 422);
        assert_eq!(tries, 0, "the field-by-field search ran over a 20 000-key body");
        // A step of its own few fields is still searched, and the culprit named.
        let mut tries = 0;
        let body = serde_json::json!({"action": "approve", "document": {"kind": "k", "issued_on": "2026-03-25"}});
        let problem = super::decode_step_counted(&body, &mut tries).unwrap_err();
        assert!(tries > 0);
        assert_eq!(problem.errors.first().map(|e| e.field.as_str()), Some("document.number"), "{problem:?}");
    }

    #[test]
    fn every_step_is_an_action() {
        let steps = [
            r#"{"action": "receive"}"#,
            r#"{"action": "start_review", "note": "开始审查"}"#,
            r#"{"action": "request_supplement", "items": [{"material": "a", "reason": "b"}], "due_on": "2026-03-20"}"#,
            r#"{"action": "supplement"}"#,
            r#"{"action": "approve", "document": {"kind": "k", "number": "n", "issued_on": "2026-03-25"}}"#,
            r#"{"action": "reject", "reason": "r", "legal_basis": "l"}"#,
            r#"{"action": "collect_result", "by": "mail"}"#,
            r#"{"action": "withdraw", "reason": "r"}"#,
            r#"{"action": "acknowledge_link"}"#,
            r#"{"action": "report_link", "report": "r"}"#,
        ];
        for text in steps {
            let step = decode(text.as_bytes()).unwrap_or_else(|p| panic!("{text}: {p}"));
            assert!(Action::for_task_step(step.name()).is_some(), "{text}");
        }
    }

    #[test]
    fn a_wrong_step_names_the_field() {
        let field = |text: &str| {
            let p = decode(text.as_bytes()).unwrap_err();
            assert_eq!(p.status, 422, "{text}: {p}");
            p.errors[0].field.clone()
        };
        assert_eq!(field(r#"{"action": "approve_all"}"#), "action");
        assert_eq!(field(r#"{"note": "x"}"#), "action");
        assert_eq!(field(r#"{"action": 7}"#), "action");
        assert_eq!(field(r#"{"action": "approve", "note": "x"}"#), "document");
        assert_eq!(field(r#"{"action": "receive", "colour": "red"}"#), "colour");
        assert_eq!(field(r#"{"action": "request_supplement", "items": [], "due_on": "soon"}"#), "due_on");
        assert_eq!(field(r#"{"action": "request_supplement", "items": 3, "due_on": "2026-03-20"}"#), "items");
        assert_eq!(
            field(r#"{"action": "request_supplement", "items": [{"material": "m"}], "due_on": "2026-03-20"}"#),
            "items.reason"
        );
        assert_eq!(field(r#"{"action": "receive", "note": 5}"#), "note");
        assert_eq!(field(r#"{"action": "reject", "reason": "不符合"}"#), "legal_basis");
        assert_eq!(field(r#"{"action": "reject", "reason": "不符合", "legal_basis": 5}"#), "legal_basis");
        assert_eq!(field(r#"{"action": "request_supplement", "items": [{"material": "m", "reason": "r"}]}"#), "due_on");
        assert_eq!(
            field(r#"{"action": "approve", "document": {"kind": "k", "number": "n"}, "note": "x"}"#),
            "document.issued_on"
        );
        assert_eq!(
            field(r#"{"action": "approve", "document": {"kind": "k", "number": "n", "issued_on": "May"}}"#),
            "document"
        );
    }
}
