//! `GET /api/v1/me`: who the token says you are.

use axum::Json;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{AppState, auth::Principal};

/// The route of the authenticated principal.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(me))
}

/// The authenticated principal (who am I).
#[utoipa::path(
    get, path = "/api/v1/me", tag = "auth",
    responses(
        (status = 200, description = "当前身份 / the authenticated principal", body = Principal),
        (status = 401, description = "未认证 / unauthorized", body = bangban_platform::problem::Problem),
    ),
    security(("bearer" = []))
)]
pub async fn me(principal: Principal) -> Json<Principal> {
    Json(principal)
}
