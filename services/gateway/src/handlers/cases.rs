//! Cases of the ledger (台账): accept one, read one.

use axum::{
    Json,
    extract::{Path, State},
    http::{StatusCode, header},
    response::IntoResponse,
};
use bangban_contracts::intake::{self, Actor, CaseView, CreateCase, GetCase, NewCase};
use bangban_platform::{auth::Principal, problem::Problem, rpc};
use uuid::Uuid;

use crate::{
    AppState,
    authz::{Action, Resource, authorize},
    extract::ApiJson,
};

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
    let view: CaseView =
        rpc::call(&state.client, intake::SERVICE, intake::ops::CASE_CREATE, &req, state.request_timeout).await?;
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
    let id = Uuid::parse_str(&id)
        .map_err(|_| Problem::malformed(Some("id".into()), "案件编号须为 UUID", "the case id must be a UUID"))?;
    let view: CaseView =
        rpc::call(&state.client, intake::SERVICE, intake::ops::CASE_GET, &GetCase { id }, state.request_timeout)
            .await?;
    authorize(
        &principal,
        Action::ReadCase,
        Resource::Case {
            office: &view.office,
            applicant: &view.applicant.id.to_string(),
            specialist: &view.specialist_id,
        },
    )?;
    Ok(Json(view))
}
