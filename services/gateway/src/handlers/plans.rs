//! A case's service plan (代办方案, 办理事项清单) and its schedule (预排工期) over HTTP.
//!
//! - `GET   /api/v1/cases/{id}/plan` — the working copy with its schedule.
//! - `GET   /api/v1/cases/{id}/plan/schedule` — the schedule alone, as Gantt data.
//! - `GET   /api/v1/cases/{id}/plan/versions/{version}` — a published version as it was published.
//! - `POST  /api/v1/cases/{id}/plan/regenerate` — generate the draft again from the catalog.
//! - `POST  /api/v1/cases/{id}/plan/items`, `PATCH /api/v1/cases/{id}/plan/items/{code}`,
//!   `POST  /api/v1/cases/{id}/plan/items/{code}/remove` — add, change, remove items (with a reason).
//! - `POST  /api/v1/cases/{id}/plan/publish` — publish the draft as a new version (`plan.published`).
//!
//! Reading a plan is reading its case: the case's applicant, the staff within the jurisdiction of its
//! office, supervisors. Changing it is for the case's own specialist or an office admin within the
//! jurisdiction; others who can read the case get 403, everyone else 404.

use axum::{
    Json,
    extract::{Path, State},
};
use bangban_contracts::planning::{
    AddItemBody, AddPlanItem, EditItemBody, EditPlanItem, GetPlan, GetPlanVersion, PlanVersionView, PlanView,
    PublishBody, PublishPlan, RegenerateBody, RegeneratePlan, RemoveItemBody, RemovePlanItem, Schedule, ops,
};
use bangban_platform::problem::Problem;
use uuid::Uuid;

use crate::{
    AppState,
    auth::Principal,
    authz::Action,
    extract::ApiJson,
    handlers::{
        cases::actor,
        load::{self, RoleCheck},
    },
};
use utoipa_axum::{router::OpenApiRouter, routes};

/// The routes of plans.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_plan))
        .routes(routes!(get_plan_schedule))
        .routes(routes!(get_plan_version))
        .routes(routes!(regenerate_plan))
        .routes(routes!(add_plan_item))
        .routes(routes!(edit_plan_item))
        .routes(routes!(remove_plan_item))
        .routes(routes!(publish_plan))
}

/// The plan of a case already authorized for reading.
pub(crate) async fn plan_of(state: &AppState, case_id: Uuid) -> Result<PlanView, Problem> {
    state.call::<ops::PlanGet>(&GetPlan { case_id }).await
}

/// A case's plan (代办方案): the items with their responsible units, materials and promised times,
/// the schedule, what publishing now would change, and the edit history. A draft is generated when
/// the case is accepted; `version` is the last published version (0 before the first).
#[utoipa::path(
    get, path = "/api/v1/cases/{id}/plan", tag = "plans",
    params(("id" = Uuid, Path, description = "案件编号 / case id")),
    responses(
        (status = 200, description = "代办方案 / the plan", body = PlanView),
        (status = 400, description = "编号格式错误 / malformed id", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "无权操作 / forbidden", body = Problem),
        (status = 404, description = "案件不存在或尚无方案 / no such case, or no plan yet", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(case.id = %id))]
pub async fn get_plan(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<PlanView>, Problem> {
    let case_id = load::case(&state, &principal, &id, Action::ReadCase, RoleCheck::WithResource).await?.id;
    Ok(Json(plan_of(&state, case_id).await?))
}

/// The plan's schedule as Gantt data (预排工期甘特图): each item's planned first and last working day,
/// slack and whether it is critical; each stage's span; the critical path; the total in working days
/// against the time targets (全流程 ≤ 100, 主流程 ≤ 70 / 45 working days), with the excess.
#[utoipa::path(
    get, path = "/api/v1/cases/{id}/plan/schedule", tag = "plans",
    params(("id" = Uuid, Path, description = "案件编号 / case id")),
    responses(
        (status = 200, description = "预排工期 / the schedule", body = Schedule),
        (status = 400, description = "编号格式错误 / malformed id", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "无权操作 / forbidden", body = Problem),
        (status = 404, description = "案件不存在或尚无方案 / no such case, or no plan yet", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(case.id = %id))]
pub async fn get_plan_schedule(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Schedule>, Problem> {
    let case_id = load::case(&state, &principal, &id, Action::ReadCase, RoleCheck::WithResource).await?.id;
    Ok(Json(plan_of(&state, case_id).await?.schedule))
}

/// A published version of the plan, as it was published, with what it added, changed and withdrew.
#[utoipa::path(
    get, path = "/api/v1/cases/{id}/plan/versions/{version}", tag = "plans",
    params(
        ("id" = Uuid, Path, description = "案件编号 / case id"),
        ("version" = u32, Path, description = "方案版本（从 1 起）/ the version, from 1", example = 1),
    ),
    responses(
        (status = 200, description = "已发布的版本 / the published version", body = PlanVersionView),
        (status = 400, description = "编号或版本格式错误 / malformed id or version", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "无权操作 / forbidden", body = Problem),
        (status = 404, description = "案件或版本不存在 / no such case or version", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(case.id = %id, version = %version))]
pub async fn get_plan_version(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, version)): Path<(String, String)>,
) -> Result<Json<PlanVersionView>, Problem> {
    let version = version.parse::<u32>().map_err(|_| {
        Problem::malformed(
            Some("version".into()),
            format!("version 须为正整数，收到 {version:?}"),
            format!("version must be a positive integer, got {version:?}"),
        )
    })?;
    let case_id = load::case(&state, &principal, &id, Action::ReadCase, RoleCheck::WithResource).await?.id;
    Ok(Json(state.call::<ops::PlanVersion>(&GetPlanVersion { case_id, version }).await?))
}

/// Generates the draft again from the plan's category and the project's attributes (重新生成), with
/// the current catalog; attributes planning assumed may be corrected here. Published versions stay.
#[utoipa::path(
    post, path = "/api/v1/cases/{id}/plan/regenerate", tag = "plans",
    params(("id" = Uuid, Path, description = "案件编号 / case id")),
    request_body(content = RegenerateBody, example = json!({
        "reason": "项目用地为划拨方式，按实际情况重新生成",
        "land_supply": "allocation",
        "start_on": "2026-03-02",
        "expected_revision": 3
    })),
    responses(
        (status = 200, description = "新的草稿 / the new draft", body = PlanView),
        (status = 400, description = "请求体格式错误 / malformed body", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "仅本案帮办代办员或机构管理员 / the case's specialist or an admin only", body = Problem),
        (status = 404, description = "案件不存在或尚无方案 / no such case, or no plan", body = Problem),
        (status = 409, description = "方案已被修改或已撤销 / stale revision, or the plan is withdrawn", body = Problem),
        (status = 415, description = "须为 JSON / JSON required", body = Problem),
        (status = 422, description = "内容有误 / invalid content", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(case.id = %id))]
pub async fn regenerate_plan(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RegenerateBody>,
) -> Result<Json<PlanView>, Problem> {
    let case_id = load::case(&state, &principal, &id, Action::EditPlan, RoleCheck::WithResource).await?.id;
    let req = RegeneratePlan { actor: actor(&principal), case_id, body };
    Ok(Json(state.call::<ops::PlanRegenerate>(&req).await?))
}

/// Adds an item to the draft (增加事项): a catalog item by its code, or an item of the specialist's own.
#[utoipa::path(
    post, path = "/api/v1/cases/{id}/plan/items", tag = "plans",
    params(("id" = Uuid, Path, description = "案件编号 / case id")),
    request_body(content = AddItemBody, example = json!({
        "code": "EP-06",
        "reason": "项目涉及地下空间开发，需办理人防工程审批",
        "expected_revision": 3
    })),
    responses(
        (status = 200, description = "修改后的方案 / the plan", body = PlanView),
        (status = 400, description = "请求体格式错误 / malformed body", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "仅本案帮办代办员或机构管理员 / the case's specialist or an admin only", body = Problem),
        (status = 404, description = "案件或事项不存在 / no such case or item", body = Problem),
        (status = 409, description = "方案已被修改、已有该事项或已撤销 / stale revision, duplicate item, or withdrawn", body = Problem),
        (status = 415, description = "须为 JSON / JSON required", body = Problem),
        (status = 422, description = "内容有误（指明字段）/ invalid content, naming the field", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(case.id = %id))]
pub async fn add_plan_item(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AddItemBody>,
) -> Result<Json<PlanView>, Problem> {
    let case_id = load::case(&state, &principal, &id, Action::EditPlan, RoleCheck::WithResource).await?.id;
    let req = AddPlanItem { actor: actor(&principal), case_id, body };
    Ok(Json(state.call::<ops::PlanAddItem>(&req).await?))
}

/// Changes an item of the draft (调整事项): its responsible unit, level, promised time, materials or
/// predecessors; every field given is changed, and the schedule is computed again.
#[utoipa::path(
    patch, path = "/api/v1/cases/{id}/plan/items/{code}", tag = "plans",
    params(
        ("id" = Uuid, Path, description = "案件编号 / case id"),
        ("code" = String, Path, description = "事项编码 / item code", example = "EP-01"),
    ),
    request_body(content = EditItemBody, example = json!({
        "promised_working_days": 3,
        "note": "已与审批局确认可压缩至3个工作日",
        "reason": "承诺时限压缩",
        "expected_revision": 3
    })),
    responses(
        (status = 200, description = "修改后的方案 / the plan", body = PlanView),
        (status = 400, description = "请求体格式错误 / malformed body", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "仅本案帮办代办员或机构管理员 / the case's specialist or an admin only", body = Problem),
        (status = 404, description = "案件或事项不存在 / no such case or item", body = Problem),
        (status = 409, description = "方案已被修改或已撤销 / stale revision, or the plan is withdrawn", body = Problem),
        (status = 415, description = "须为 JSON / JSON required", body = Problem),
        (status = 422, description = "内容有误（指明字段）/ invalid content, naming the field", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(case.id = %id, item = %code))]
pub async fn edit_plan_item(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, code)): Path<(String, String)>,
    ApiJson(body): ApiJson<EditItemBody>,
) -> Result<Json<PlanView>, Problem> {
    let case_id = load::case(&state, &principal, &id, Action::EditPlan, RoleCheck::WithResource).await?.id;
    let req = EditPlanItem { actor: actor(&principal), case_id, code, body };
    Ok(Json(state.call::<ops::PlanEditItem>(&req).await?))
}

/// Removes an item from the draft (删减事项), with the reason.
#[utoipa::path(
    post, path = "/api/v1/cases/{id}/plan/items/{code}/remove", tag = "plans",
    params(
        ("id" = Uuid, Path, description = "案件编号 / case id"),
        ("code" = String, Path, description = "事项编码 / item code", example = "LP-05"),
    ),
    request_body(content = RemoveItemBody, example = json!({
        "reason": "项目不占用林地，无需办理使用林地审核",
        "expected_revision": 4
    })),
    responses(
        (status = 200, description = "修改后的方案 / the plan", body = PlanView),
        (status = 400, description = "请求体格式错误 / malformed body", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "仅本案帮办代办员或机构管理员 / the case's specialist or an admin only", body = Problem),
        (status = 404, description = "案件或事项不存在 / no such case or item", body = Problem),
        (status = 409, description = "方案已被修改或已撤销 / stale revision, or the plan is withdrawn", body = Problem),
        (status = 415, description = "须为 JSON / JSON required", body = Problem),
        (status = 422, description = "内容有误 / invalid content", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(case.id = %id, item = %code))]
pub async fn remove_plan_item(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, code)): Path<(String, String)>,
    ApiJson(body): ApiJson<RemoveItemBody>,
) -> Result<Json<PlanView>, Problem> {
    let case_id = load::case(&state, &principal, &id, Action::EditPlan, RoleCheck::WithResource).await?.id;
    let req = RemovePlanItem { actor: actor(&principal), case_id, code, body };
    Ok(Json(state.call::<ops::PlanRemoveItem>(&req).await?))
}

/// Publishes the draft as a new version (发布代办方案): `plan.published` carries every item with its
/// unit type, level, materials, promised time, predecessors and planned dates, and what the version
/// adds, changes and withdraws; intake moves the case to `planned`.
#[utoipa::path(
    post, path = "/api/v1/cases/{id}/plan/publish", tag = "plans",
    params(("id" = Uuid, Path, description = "案件编号 / case id")),
    request_body(content = PublishBody, example = json!({
        "note": "方案已与服务对象确认，请各责任单位按预排工期办理",
        "expected_revision": 5
    })),
    responses(
        (status = 200, description = "已发布 / published", body = PlanView),
        (status = 400, description = "请求体格式错误 / malformed body", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "仅本案帮办代办员或机构管理员 / the case's specialist or an admin only", body = Problem),
        (status = 404, description = "案件不存在或尚无方案 / no such case, or no plan", body = Problem),
        (status = 409, description = "方案已被修改、没有变化或已撤销 / stale revision, nothing to publish, or withdrawn", body = Problem),
        (status = 415, description = "须为 JSON / JSON required", body = Problem),
        (status = 422, description = "内容有误 / invalid content", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(case.id = %id))]
pub async fn publish_plan(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<PublishBody>,
) -> Result<Json<PlanView>, Problem> {
    let case_id = load::case(&state, &principal, &id, Action::EditPlan, RoleCheck::WithResource).await?.id;
    let req = PublishPlan { actor: actor(&principal), case_id, body };
    Ok(Json(state.call::<ops::PlanPublish>(&req).await?))
}

#[cfg(test)]
mod tests {
    #[test]
    fn openapi_documents_every_route_of_planning() {
        let whole = crate::openapi::document();
        let paths = &whole.paths.paths;
        for (path, methods) in [
            ("/api/v1/cases/{id}/plan", "get"),
            ("/api/v1/cases/{id}/plan/schedule", "get"),
            ("/api/v1/cases/{id}/plan/versions/{version}", "get"),
            ("/api/v1/cases/{id}/plan/regenerate", "post"),
            ("/api/v1/cases/{id}/plan/items", "post"),
            ("/api/v1/cases/{id}/plan/items/{code}", "patch"),
            ("/api/v1/cases/{id}/plan/items/{code}/remove", "post"),
            ("/api/v1/cases/{id}/plan/publish", "post"),
            ("/api/v1/calendar", "get"),
            ("/api/v1/calendar/{date}", "get"),
            ("/api/v1/calendar/compute", "post"),
            ("/api/v1/calendar/years/{year}", "put"),
            ("/api/v1/calendar/overrides/{date}", "put"),
            ("/api/v1/calendar/overrides/{date}/remove", "post"),
            ("/api/v1/catalog", "get"),
            ("/api/v1/catalog/versions", "get"),
            ("/api/v1/catalog/items/{code}", "put"),
            ("/api/v1/catalog/items/{code}/remove", "post"),
            ("/api/v1/units", "get"),
            ("/api/v1/tasks", "get"),
            ("/api/v1/tasks/{id}", "get"),
            ("/api/v1/tasks/{id}/transitions", "post"),
            ("/api/v1/cases/{id}/tasks", "get"),
        ] {
            let item = paths.get(path).unwrap_or_else(|| panic!("{path} is not documented"));
            let op = match methods {
                "get" => &item.get,
                "post" => &item.post,
                "put" => &item.put,
                "patch" => &item.patch,
                _ => unreachable!(),
            };
            let op = op.as_ref().unwrap_or_else(|| panic!("{methods} {path} is not documented"));
            assert!(op.security.is_some(), "{path} names its security");
            assert!(op.responses.responses.contains_key("401"), "{path} documents 401");
        }
        let json = serde_json::to_value(&whole).unwrap();
        let load = &json["paths"]["/api/v1/calendar/years/{year}"]["put"]["requestBody"]["content"]["application/json"];
        assert_eq!(load["schema"]["type"], "object", "any JSON object: {load}");
        assert_eq!(load["example"]["days"][0]["isOffDay"], true, "{load}");
        let edit = &json["paths"]["/api/v1/cases/{id}/plan/items/{code}"]["patch"]["requestBody"]["content"];
        assert!(edit["application/json"]["example"]["reason"].is_string(), "{edit}");
        let step =
            &json["paths"]["/api/v1/tasks/{id}/transitions"]["post"]["requestBody"]["content"]["application/json"];
        for action in [
            "receive",
            "start_review",
            "request_supplement",
            "supplement",
            "approve",
            "reject",
            "collect_result",
            "withdraw",
            "acknowledge_link",
            "report_link",
        ] {
            assert_eq!(step["examples"][action]["value"]["action"], action, "an example of {action}: {step}");
        }
        let inbox = json["paths"]["/api/v1/tasks"]["get"]["parameters"].as_array().expect("parameters");
        let names: Vec<&str> = inbox.iter().filter_map(|p| p["name"].as_str()).collect();
        for name in ["unit", "office", "status", "case_id", "limit", "offset"] {
            assert!(names.contains(&name), "{name} in {names:?}");
        }
        // Every schema referred to is in the document.
        fn refs(v: &serde_json::Value, out: &mut Vec<String>) {
            match v {
                serde_json::Value::Object(m) => {
                    if let Some(serde_json::Value::String(r)) = m.get("$ref") {
                        out.push(r.trim_start_matches("#/components/schemas/").to_string());
                    }
                    m.values().for_each(|v| refs(v, out));
                }
                serde_json::Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
                _ => {}
            }
        }
        let mut referred = Vec::new();
        refs(&json, &mut referred);
        for name in referred {
            assert!(json["components"]["schemas"].get(&name).is_some(), "{name} is referred to but missing");
        }
        let schemas = whole.components.expect("components").schemas;
        for name in [
            "PlanView",
            "Schedule",
            "ScheduledItem",
            "PlanVersionView",
            "PlanPublished",
            "EditItemBody",
            "CatalogView",
            "CatalogItem",
            "PutCatalogItemBody",
            "CalendarDay",
            "CalendarChange",
            "OverrideBody",
            "RemoveOverrideBody",
            "CalendarQuery",
            "UnitView",
            "TaskView",
            "TaskPage",
            "TaskAction",
            "TaskStep",
            "TaskStatus",
            "SupplementNotice",
            "LinkedHandling",
            "ResultDocument",
            "TaskEvent",
        ] {
            assert!(schemas.contains_key(name), "{name} missing");
        }
    }
}
