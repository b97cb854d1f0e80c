//! The OpenAPI description (`/openapi.json`) and the self-contained docs page (`/docs`).

use axum::{Json, response::Html};
use utoipa::{
    Modify, OpenApi,
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
};

use crate::handlers;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
        );
    }
}

/// The API of the gateway.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "帮办代办平台 Bangban API",
        description = "工程建设项目帮办代办服务（DB3716/T 2—2022）。错误均为 RFC 9457 问题详情（application/problem+json），含中英文说明。\n\nAssistance and commission services for construction-project approvals. Every error is an RFC 9457 problem with Chinese and English text.",
        version = env!("CARGO_PKG_VERSION"),
    ),
    paths(
        handlers::cases::create_case,
        handlers::cases::get_case,
        handlers::cases::list_cases,
        handlers::cases::terminate_case,
        handlers::cases::change_specialist,
        handlers::cases::reveal_applicant,
        handlers::me::me,
        handlers::registry::register_applicant,
        handlers::registry::list_applicants,
        handlers::registry::register_project,
        handlers::registry::list_projects,
        handlers::directory::list_offices,
        handlers::directory::list_staff,
    ),
    components(schemas(bangban_platform::problem::Problem, bangban_platform::problem::FieldError)),
    modifiers(&BearerAuth),
    tags(
        (name = "cases", description = "案件与台账 / cases and the ledger"),
        (name = "auth", description = "身份 / identity"),
        (name = "directory", description = "机构与人员 / offices and staff"),
        (name = "registry", description = "服务对象与项目 / applicants and projects"),
    )
)]
pub struct ApiDoc;

/// The whole document: the core above, and each area of the API merged in.
pub fn document() -> utoipa::openapi::OpenApi {
    #[allow(unused_mut)]
    let mut doc = ApiDoc::openapi();
    // Areas merge their own documents here, one line each.
    doc.merge(crate::handlers::consultations::Api::openapi());
    doc.merge(crate::handlers::results::Api::openapi());
    doc.merge(crate::handlers::calendar::Api::openapi());
    doc.merge(crate::handlers::catalog::Api::openapi());
    doc.merge(crate::handlers::plans::Api::openapi());
    doc.merge(crate::handlers::tasks::Api::openapi());
    doc.merge(crate::handlers::clock::Api::openapi());
    doc.merge(crate::handlers::clocks::Api::openapi());
    doc.merge(crate::handlers::dossier::Api::openapi());
    doc.merge(crate::handlers::supervision::Api::openapi());
    doc.merge(crate::handlers::problems::Api::openapi());
    doc.merge(crate::handlers::stream::Api::openapi());
    doc.merge(crate::session::Api::openapi());
    doc.merge(crate::audit::Api::openapi());
    doc.merge(<crate::handlers::meetings::Api as utoipa::OpenApi>::openapi());
    doc.merge(crate::handlers::monitoring::Api::openapi());
    doc.merge(crate::handlers::notifications::Api::openapi());
    doc.merge(crate::handlers::evaluations::Api::openapi());
    query_parameters(doc)
}

/// The query structs of the contracts derive `IntoParams` without `parameter_in = Query`, which utoipa
/// documents as required path parameters. A parameter that is not in its path's template is a query
/// parameter, and optional when its value may be null (an `Option`).
fn query_parameters(mut doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    use utoipa::openapi::{
        RefOr, Required,
        path::{Parameter, ParameterIn},
    };
    let nullable = |p: &Parameter| {
        let schema = serde_json::to_value(&p.schema).unwrap_or_default();
        schema["type"].as_array().is_some_and(|t| t.iter().any(|t| t == "null"))
            || schema["oneOf"].as_array().is_some_and(|o| o.iter().any(|s| s["type"] == "null"))
    };
    for (path, item) in doc.paths.paths.iter_mut() {
        let ops = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
        for op in ops.into_iter().flatten() {
            for p in op.parameters.iter_mut().flatten() {
                let RefOr::T(p) = p else { continue };
                if p.parameter_in == ParameterIn::Path && !path.contains(&format!("{{{}}}", p.name)) {
                    p.parameter_in = ParameterIn::Query;
                    if nullable(p) {
                        p.required = Required::False;
                    }
                }
            }
        }
    }
    doc
}

pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(document())
}

pub async fn docs() -> Html<&'static str> {
    Html(include_str!("docs.html"))
}

/// The start page: links to the docs and the platform's state.
pub async fn index() -> Html<&'static str> {
    Html(include_str!("index.html"))
}
