//! The approval-item catalog (事项库) over HTTP.
//!
//! - `GET  /api/v1/catalog?version=&stage=&category=` — the items, filtered (anyone signed in: an
//!   applicant may read what they will need).
//! - `GET  /api/v1/catalog/versions?limit=&offset=` — the catalog versions, a page.
//! - `PUT  /api/v1/catalog/items/{code}`, `POST /api/v1/catalog/items/{code}/remove` — add, replace or
//!   remove one item; each edit is a new catalog version, and plans keep the version they were made
//!   from. The catalog is city-wide: office admins of the city office only.

use axum::{
    Json,
    extract::{Path, State},
};
use bangban_contracts::{
    intake::ProjectCategory,
    planning::{
        CatalogVersionPage, CatalogVersionView, CatalogView, GetCatalog, ListCatalogVersions, PutCatalogItem,
        PutCatalogItemBody, ReasonBody, RemoveCatalogItem, Stage, ops,
    },
};
use bangban_platform::problem::Problem;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::{
    AppState,
    auth::Principal,
    authz::{Action, Resource, authorize},
    extract::{ApiJson, ApiQuery},
    handlers::cases::actor,
};
use utoipa_axum::{router::OpenApiRouter, routes};

/// The routes of the catalog.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_catalog))
        .routes(routes!(list_catalog_versions))
        .routes(routes!(put_catalog_item))
        .routes(routes!(remove_catalog_item))
}

/// Query of `GET /api/v1/catalog`: every filter optional.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CatalogQuery {
    /// A past catalog version; the current one when absent.
    pub version: Option<u32>,
    /// Only items of this stage (审批阶段).
    pub stage: Option<Stage>,
    /// Only items that apply to this project category (§7.3.2).
    pub category: Option<ProjectCategory>,
}

impl From<CatalogQuery> for GetCatalog {
    fn from(q: CatalogQuery) -> Self {
        GetCatalog { version: q.version, stage: q.stage, category: q.category }
    }
}

/// The catalog (事项库): every approval item with its stage, responsible unit type, level, materials,
/// promised working days, legal basis, predecessors and where it applies; filtered by stage and by
/// the category it applies to.
#[utoipa::path(
    get, path = "/api/v1/catalog", tag = "catalog",
    params(CatalogQuery),
    responses(
        (status = 200, description = "事项库 / the catalog", body = CatalogView),
        (status = 400, description = "查询参数有误（指明参数）/ bad query, naming the parameter", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 404, description = "没有该版本 / no such version", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn get_catalog(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<CatalogQuery>,
) -> Result<Json<CatalogView>, Problem> {
    authorize(&principal, Action::ReadCatalog, Resource::CityWide)?;
    Ok(Json(state.call::<ops::CatalogGet>(&GetCatalog::from(query)).await?))
}

/// The catalog versions (事项库版本), newest first, a page (`limit` 1–200, default 50; `offset`
/// 0–1 000 000 000): what changed in each, who changed it and why.
#[utoipa::path(
    get, path = "/api/v1/catalog/versions", tag = "catalog",
    params(ListCatalogVersions),
    responses(
        (status = 200, description = "版本 / the versions", body = CatalogVersionPage),
        (status = 400, description = "查询参数有误 / bad query", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn list_catalog_versions(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<ListCatalogVersions>,
) -> Result<Json<CatalogVersionPage>, Problem> {
    authorize(&principal, Action::ReadCatalog, Resource::CityWide)?;
    Ok(Json(state.call::<ops::CatalogVersions>(&query).await?))
}

/// Adds or replaces one catalog item (编辑事项): a new catalog version. Predecessors must be items of
/// the catalog and may not form a cycle (422 naming the field); a stale `expected_version` is a 409.
/// City office admins only.
#[utoipa::path(
    put, path = "/api/v1/catalog/items/{code}", tag = "catalog",
    params(("code" = String, Path, description = "事项编码 / item code", example = "EP-01")),
    request_body(content = PutCatalogItemBody, example = json!({
        "item": {
            "code": "EP-01",
            "name": "建设工程规划许可证核发",
            "stage": "engineering_permit",
            "unit_type": "administrative_approval",
            "level": "by_location",
            "materials": [
                {"name": "建设工程规划许可证申请表"},
                {"name": "建设工程设计方案", "required": true}
            ],
            "promised_working_days": 5,
            "statutory_working_days": 20,
            "legal_basis": "《中华人民共和国城乡规划法》第四十条",
            "predecessors": ["LP-03"],
            "applies": {"categories": [], "construction": ["new", "expansion"]}
        },
        "reason": "依据市政府最新承诺时限调整",
        "expected_version": 1
    })),
    responses(
        (status = 200, description = "新的事项库版本 / the new catalog version", body = CatalogVersionView),
        (status = 400, description = "请求体格式错误 / malformed body", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "事项库全市统一，仅市级机构管理员 / city office admins only", body = Problem),
        (status = 409, description = "事项库已有新版本 / the catalog moved on", body = Problem),
        (status = 413, description = "请求体过大 / body too large", body = Problem),
        (status = 415, description = "须为 JSON / JSON required", body = Problem),
        (status = 422, description = "内容有误（指明字段）/ invalid content, naming the field", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(item = %code))]
pub async fn put_catalog_item(
    State(state): State<AppState>,
    principal: Principal,
    Path(code): Path<String>,
    ApiJson(body): ApiJson<PutCatalogItemBody>,
) -> Result<Json<CatalogVersionView>, Problem> {
    authorize(&principal, Action::EditCatalog, Resource::CityWide)?;
    let req = PutCatalogItem { actor: actor(&principal), code, body };
    Ok(Json(state.call::<ops::CatalogPutItem>(&req).await?))
}

/// Removes one catalog item (删除事项): a new catalog version; plans made from earlier versions keep
/// it. City office admins only.
#[utoipa::path(
    post, path = "/api/v1/catalog/items/{code}/remove", tag = "catalog",
    params(("code" = String, Path, description = "事项编码 / item code", example = "EP-01")),
    request_body(content = ReasonBody, example = json!({"reason": "该事项已取消", "expected_version": 2})),
    responses(
        (status = 200, description = "新的事项库版本 / the new catalog version", body = CatalogVersionView),
        (status = 400, description = "请求体格式错误 / malformed body", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "事项库全市统一，仅市级机构管理员 / city office admins only", body = Problem),
        (status = 404, description = "没有该事项 / no such item", body = Problem),
        (status = 409, description = "事项库已有新版本，或仍为其他事项的前置 / the catalog moved on, or the item is a predecessor", body = Problem),
        (status = 415, description = "须为 JSON / JSON required", body = Problem),
        (status = 422, description = "内容有误 / invalid content", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(item = %code))]
pub async fn remove_catalog_item(
    State(state): State<AppState>,
    principal: Principal,
    Path(code): Path<String>,
    ApiJson(body): ApiJson<ReasonBody>,
) -> Result<Json<CatalogVersionView>, Problem> {
    authorize(&principal, Action::EditCatalog, Resource::CityWide)?;
    let req = RemoveCatalogItem { actor: actor(&principal), code, body };
    Ok(Json(state.call::<ops::CatalogRemoveItem>(&req).await?))
}

#[cfg(test)]
mod tests {
    use axum::extract::FromRequestParts;

    use super::*;

    async fn query(q: &str) -> Result<CatalogQuery, Problem> {
        let req = axum::http::Request::builder().uri(format!("/api/v1/catalog?{q}")).body(()).unwrap();
        let (mut parts, ()) = req.into_parts();
        ApiQuery::<CatalogQuery>::from_request_parts(&mut parts, &()).await.map(|ApiQuery(q)| q)
    }

    #[tokio::test]
    async fn the_query_names_a_wrong_parameter() {
        let q = query("stage=engineering_permit&category=industrial&version=3").await.unwrap();
        assert_eq!(
            GetCatalog::from(q),
            GetCatalog {
                version: Some(3),
                stage: Some(Stage::EngineeringPermit),
                category: Some(ProjectCategory::Industrial)
            }
        );
        assert_eq!(query("").await.unwrap(), CatalogQuery::default());
        for (q, field) in [("stage=flying", "stage"), ("category=castle", "category"), ("version=x", "version")] {
            let p = query(q).await.unwrap_err();
            assert_eq!(p.status, 400, "{q}");
            assert_eq!(p.errors[0].field, field, "{q}");
        }
        let p = query("colour=red").await.unwrap_err();
        assert_eq!((p.status, p.errors[0].field.as_str()), (400, "colour"));
    }
}
