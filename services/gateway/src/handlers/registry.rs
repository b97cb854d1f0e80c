//! The register of applicants (服务对象) and projects (项目).

use axum::{Json, extract::State, http::StatusCode};
use bangban_contracts::{
    intake::{
        self, ApplicantPage, ApplicantQuery, ApplicantView, ListApplicants, ListProjects, NewApplicant, NewProject,
        ProjectPage, ProjectView, RegisterApplicant, RegisterProject, Registered,
    },
    office::CITY_OFFICE,
};
use bangban_platform::problem::Problem;

use crate::{
    AppState,
    auth::{Principal, Role},
    authz::{Action, Resource, authorize, scope_applicants},
    extract::{ApiJson, ApiQuery},
    handlers::cases::actor,
};
use utoipa_axum::{router::OpenApiRouter, routes};

/// The routes of applicants and projects.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register_applicant, list_applicants))
        .routes(routes!(register_project, list_projects))
}

/// Registers an applicant for the caller's office — or returns the one already registered with the same ID
/// number or credit code (200 instead of 201). ID number and phone come back masked.
///
/// A registered applicant is never changed silently: a different name, phone or contact person is taken
/// only from the staff of its registering office, of an office that accepted a case of it, or of the city
/// office, and the change is audited; anyone else gets 403 and nothing changes.
#[utoipa::path(
    post, path = "/api/v1/applicants", tag = "registry",
    request_body(content = NewApplicant, example = json!({
        "kind": "legal_person", "name": "滨州市某某新材料有限公司", "credit_code": "91440300708461136T",
        "phone": "13812341234", "contact_person": "王经理"
    })),
    responses(
        (status = 201, description = "已登记 / registered", body = ApplicantView),
        (status = 200, description = "已有登记（有权时更新其信息并记录审计）/ already registered (changed and audited when entitled)", body = ApplicantView),
        (status = 403, description = "无权操作，或无权修改已登记服务对象的信息 / forbidden, or not entitled to change the registered applicant", body = Problem),
        (status = 422, description = "内容有误 / invalid", body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn register_applicant(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(applicant): ApiJson<NewApplicant>,
) -> Result<(StatusCode, Json<ApplicantView>), Problem> {
    authorize(&principal, Action::CreateCase, Resource::Office(&principal.office))?;
    let req = RegisterApplicant { actor: actor(&principal), applicant };
    let reg: Registered<ApplicantView> = state.call::<intake::ops::ApplicantRegister>(&req).await?;
    Ok((if reg.created { StatusCode::CREATED } else { StatusCode::OK }, Json(reg.item)))
}

/// Applicants, personal data masked, of the caller's office (registered by it, or with a case it accepted);
/// the city office and supervisors see every office's, or the one asked for. A county asking for another
/// office gets 403; applicants see themselves on their cases, not here.
#[utoipa::path(
    get, path = "/api/v1/applicants", tag = "registry",
    params(ListApplicants),
    responses(
        (status = 200, description = "服务对象 / applicants", body = ApplicantPage),
        (status = 403, description = "无权操作，或无权查看该机构 / forbidden, or not your office", body = Problem),
        (status = 422, description = "参数取值有误（指明字段）/ invalid value, naming the field", body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn list_applicants(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(mut filter): ApiQuery<ListApplicants>,
) -> Result<Json<ApplicantPage>, Problem> {
    filter.office = scope_applicants(&principal, filter.office)?;
    let req = ApplicantQuery { actor: actor(&principal), filter };
    let page = state.call::<intake::ops::ApplicantList>(&req).await?;
    Ok(Json(page))
}

/// Registers a project in the area of an office the caller acts for.
#[utoipa::path(
    post, path = "/api/v1/projects", tag = "registry",
    request_body(content = NewProject, example = json!({
        "name": "年产5万吨新材料项目", "category": "industrial", "office": "371625",
        "code": "2026-371625-26-03-012345", "investment_wan": 52000.0, "land_area_m2": 66700.0, "newly_settled": true
    })),
    responses(
        (status = 201, description = "已登记 / registered", body = ProjectView),
        (status = 403, description = "无权操作 / forbidden", body = Problem),
        (status = 422, description = "内容有误 / invalid", body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn register_project(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(project): ApiJson<NewProject>,
) -> Result<(StatusCode, Json<ProjectView>), Problem> {
    authorize(&principal, Action::CreateCase, Resource::Office(&principal.office))?;
    let req = RegisterProject { actor: actor(&principal), project };
    let view = state.call::<intake::ops::ProjectRegister>(&req).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Projects by office (the caller's own unless city-level or a supervisor), category and text.
#[utoipa::path(
    get, path = "/api/v1/projects", tag = "registry",
    params(ListProjects),
    responses(
        (status = 200, description = "项目 / projects", body = ProjectPage),
        (status = 403, description = "无权操作 / forbidden", body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn list_projects(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(mut filter): ApiQuery<ListProjects>,
) -> Result<Json<ProjectPage>, Problem> {
    let office = match &filter.office {
        Some(o) => Some(o.clone()),
        None if principal.role == Role::Supervisor || principal.office == CITY_OFFICE => None,
        None => Some(principal.office.clone()),
    };
    authorize(&principal, Action::ReadRegistry, Resource::Office(office.as_deref().unwrap_or(CITY_OFFICE)))?;
    filter.office = office;
    let page = state.call::<intake::ops::ProjectList>(&filter).await?;
    Ok(Json(page))
}
