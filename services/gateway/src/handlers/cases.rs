//! Cases of the ledger (台账): accept one, read one.

use axum::{
    Json,
    extract::{Path, State},
    http::{HeaderValue, StatusCode, header},
    response::IntoResponse,
};
use bangban_contracts::{
    intake::{
        self, Actor, CasePage, CaseView, ChangeSpecialist, CreateCase, ListCases, NewCase, RevealApplicant,
        RevealRequest, RevealedApplicant, SpecialistChange, TerminateCase, Termination,
    },
    office::CITY_OFFICE,
};
use bangban_platform::problem::Problem;
use uuid::Uuid;

use crate::{
    AppState,
    auth::{Principal, Role},
    authz::{Action, Resource, authorize},
    extract::{ApiJson, ApiQuery},
    handlers::load::{self, RoleCheck},
};
use utoipa_axum::{router::OpenApiRouter, routes};

/// The routes of cases and the ledger.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_case, list_cases))
        .routes(routes!(get_case))
        .routes(routes!(terminate_case))
        .routes(routes!(change_specialist))
        .routes(routes!(reveal_applicant))
}

/// Accepts a case (受理): creates the ledger entry and publishes `case.accepted`.
#[utoipa::path(
    post, path = "/api/v1/cases", tag = "cases",
    request_body(content = NewCase, description = "新案件 / the new case", example = json!({
        "service_type": "assist",
        "office": "371625",
        "applicant": {"kind": "legal_person", "name": "博兴县某某新材料有限公司"},
        "project": {"name": "年产5万吨新材料项目", "category": "industrial", "office": "371625"}
    })),
    responses(
        (status = 201, description = "已受理 / accepted", body = CaseView),
        (status = 400, description = "请求体格式错误 / malformed body", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "无权操作 / forbidden", body = Problem),
        (status = 413, description = "请求体过大 / body too large", body = Problem),
        (status = 415, description = "须为 JSON / JSON required", body = Problem),
        (status = 422, description = "内容有误 / invalid content", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(office = %body.0.office))]
pub async fn create_case(
    State(state): State<AppState>,
    principal: Principal,
    body: ApiJson<NewCase>,
) -> Result<impl IntoResponse, Problem> {
    let ApiJson(case) = body;
    authorize(&principal, Action::CreateCase, Resource::Office(&case.office))?;
    let req = CreateCase {
        actor: Actor {
            sub: principal.sub.clone(),
            role: principal.role.as_str().into(),
            office: principal.office.clone(),
        },
        case,
    };
    let view: CaseView = state.call::<intake::ops::CaseCreate>(&req).await?;
    let location = format!("/api/v1/cases/{}", view.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(view)))
}

/// Reads one case.
#[utoipa::path(
    get, path = "/api/v1/cases/{id}", tag = "cases",
    params(("id" = Uuid, Path, description = "案件编号 / case id")),
    responses(
        (status = 200, description = "案件 / the case", body = CaseView),
        (status = 400, description = "编号格式错误 / malformed id", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "无权操作 / forbidden", body = Problem),
        (status = 404, description = "不存在或无权查看 / not found", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(case.id = %id))]
pub async fn get_case(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<CaseView>, Problem> {
    Ok(Json(load::case(&state, &principal, &id, Action::ReadCase, RoleCheck::WithResource).await?))
}

/// The actor a command records.
pub fn actor(principal: &Principal) -> Actor {
    Actor { sub: principal.sub.clone(), role: principal.role.as_str().into(), office: principal.office.clone() }
}

/// The ledger (台账), newest first: an applicant sees their own cases, staff their office's (the
/// city office every office's), supervisors all.
#[utoipa::path(
    get, path = "/api/v1/cases", tag = "cases",
    params(ListCases),
    responses(
        (status = 200, description = "台账 / the ledger", body = CasePage),
        (status = 400, description = "查询参数有误 / bad query", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "无权操作 / forbidden", body = Problem),
        (status = 422, description = "内容有误 / invalid", body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn list_cases(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(mut filter): ApiQuery<ListCases>,
) -> Result<Json<CasePage>, Problem> {
    match principal.role {
        Role::Applicant => {
            // An applicant's own cases, whatever the query says.
            let own = principal.applicant.as_deref().and_then(|a| Uuid::parse_str(a).ok());
            let Some(own) = own else {
                return Ok(Json(CasePage { items: vec![], total: 0, limit: filter.limit.unwrap_or(50), offset: 0 }));
            };
            filter.applicant = Some(own);
            filter.office = None;
            filter.specialist = None;
        }
        _ => {
            let office = match &filter.office {
                Some(o) => o.clone(),
                None if principal.role == Role::Supervisor || principal.office == CITY_OFFICE => String::new(),
                None => principal.office.clone(),
            };
            if !office.is_empty() {
                authorize(&principal, Action::ReadCase, Resource::Office(&office))?;
                filter.office = Some(office);
            } else {
                authorize(&principal, Action::ReadCase, Resource::Office(CITY_OFFICE))?;
            }
        }
    }
    let page: CasePage = state.call::<intake::ops::CaseList>(&filter).await?;
    Ok(Json(page))
}

/// Ends a case (终止服务, §7.8) with one of the reasons (a)–(f) and a note.
#[utoipa::path(
    post, path = "/api/v1/cases/{id}/terminate", tag = "cases",
    params(("id" = Uuid, Path, description = "案件编号 / case id")),
    request_body(content = Termination, example = json!({"reason": "applicant_request", "note": "服务对象书面申请终止代办"})),
    responses(
        (status = 200, description = "已终止 / terminated", body = CaseView),
        (status = 403, description = "无权操作 / forbidden", body = Problem),
        (status = 404, description = "不存在 / not found", body = Problem),
        (status = 409, description = "当前状态不允许 / not in this state", body = Problem),
        (status = 422, description = "内容有误 / invalid", body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn terminate_case(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(termination): ApiJson<Termination>,
) -> Result<Json<CaseView>, Problem> {
    let case = load::case(&state, &principal, &id, Action::TerminateCase, RoleCheck::WithResource).await?;
    let req = TerminateCase { actor: actor(&principal), id: case.id, termination };
    let view = state.call::<intake::ops::CaseTerminate>(&req).await?;
    Ok(Json(view))
}

/// Hands a case to another specialist (§4.2.3); the applicant gets a new contact card.
#[utoipa::path(
    post, path = "/api/v1/cases/{id}/specialist", tag = "cases",
    params(("id" = Uuid, Path, description = "案件编号 / case id")),
    request_body(content = SpecialistChange, example = json!({"specialist_id": "staff-371625-assistant-2", "reason": "原帮办员岗位调整，已与服务对象沟通"})),
    responses(
        (status = 200, description = "已调整 / changed", body = CaseView),
        (status = 403, description = "无权操作 / forbidden", body = Problem),
        (status = 404, description = "不存在 / not found", body = Problem),
        (status = 409, description = "当前状态不允许 / not in this state", body = Problem),
        (status = 422, description = "内容有误 / invalid", body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn change_specialist(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(change): ApiJson<SpecialistChange>,
) -> Result<Json<CaseView>, Problem> {
    let case = load::case(&state, &principal, &id, Action::ChangeSpecialist, RoleCheck::WithResource).await?;
    let req = ChangeSpecialist { actor: actor(&principal), id: case.id, change };
    let view = state.call::<intake::ops::CaseChangeSpecialist>(&req).await?;
    Ok(Json(view))
}

/// The applicant's ID number and phone in full — for the case's specialist or an office admin,
/// with a stated purpose; every call is audited (intake checks who asks too). Never stored by a cache
/// (`Cache-Control: no-store`).
#[utoipa::path(
    post, path = "/api/v1/cases/{id}/applicant/reveal", tag = "cases",
    params(("id" = Uuid, Path, description = "案件编号 / case id")),
    request_body(content = RevealRequest, example = json!({"purpose": "代为填报建设工程规划许可申请"})),
    responses(
        (status = 200, description = "完整个人信息（已记录审计，不缓存）/ full personal data (audited, not cached)", body = RevealedApplicant,
         headers(("Cache-Control" = String, description = "no-store"))),
        (status = 403, description = "无权查看 / forbidden", body = Problem),
        (status = 404, description = "不存在 / not found", body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn reveal_applicant(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RevealRequest>,
) -> Result<impl IntoResponse, Problem> {
    let case = load::case(&state, &principal, &id, Action::RevealPersonalData, RoleCheck::WithResource).await?;
    let req = RevealApplicant { actor: actor(&principal), case_id: case.id, purpose: body.purpose };
    let revealed: RevealedApplicant = state.call::<intake::ops::ApplicantReveal>(&req).await?;
    // Personal data in clear: no browser, proxy or shared cache may keep it.
    Ok((
        [
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (header::PRAGMA, HeaderValue::from_static("no-cache")),
        ],
        Json(revealed),
    ))
}
