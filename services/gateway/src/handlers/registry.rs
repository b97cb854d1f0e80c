//! The register of applicants (服务对象) and projects (项目).

use axum::{Json, extract::State, http::StatusCode};
use bangban_contracts::{
    intake::{
        self, ApplicantPage, ApplicantView, ListApplicants, ListProjects, NewApplicant, NewProject, ProjectPage,
        ProjectView, RegisterApplicant, RegisterProject, Registered,
    },
    office::CITY_OFFICE,
};
use bangban_platform::{
    auth::{Principal, Role},
    problem::Problem,
    rpc,
};

use crate::{
    AppState,
    authz::{Action, Resource, authorize},
    extract::{ApiJson, ApiQuery},
    handlers::cases::actor,
};

/// Registers an applicant — or returns the one already registered with the same ID number or
/// credit code (200 instead of 201). ID number and phone come back masked.
#[utoipa::path(
    post, path = "/api/v1/applicants", tag = "registry",
    request_body(content = NewApplicant, example = json!({
        "kind": "legal_person", "name": "滨州市某某新材料有限公司", "credit_code": "91440300708461136T",
        "phone": "13812341234", "contact_person": "王经理"
    })),
    responses(
        (status = 201, description = "已登记 / registered", body = ApplicantView),
        (status = 200, description = "已有登记 / already registered", body = ApplicantView),
        (status = 403, description = "无权操作 / forbidden", body = Problem),
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
    let reg: Registered<ApplicantView> =
        rpc::call(&state.client, intake::SERVICE, intake::ops::APPLICANT_REGISTER, &req, state.request_timeout).await?;
    Ok((if reg.created { StatusCode::CREATED } else { StatusCode::OK }, Json(reg.item)))
}

/// Applicants, personal data masked.
#[utoipa::path(
    get, path = "/api/v1/applicants", tag = "registry",
    params(ListApplicants),
    responses(
        (status = 200, description = "服务对象 / applicants", body = ApplicantPage),
        (status = 403, description = "无权操作 / forbidden", body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn list_applicants(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(filter): ApiQuery<ListApplicants>,
) -> Result<Json<ApplicantPage>, Problem> {
    authorize(&principal, Action::ReadRegistry, Resource::Office(&principal.office))?;
    let page =
        rpc::call(&state.client, intake::SERVICE, intake::ops::APPLICANT_LIST, &filter, state.request_timeout).await?;
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
    let view =
        rpc::call(&state.client, intake::SERVICE, intake::ops::PROJECT_REGISTER, &req, state.request_timeout).await?;
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
    let page =
        rpc::call(&state.client, intake::SERVICE, intake::ops::PROJECT_LIST, &filter, state.request_timeout).await?;
    Ok(Json(page))
}
