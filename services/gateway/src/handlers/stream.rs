//! Live updates (实时推送): `GET /api/v1/stream`, server-sent events of the bus events the caller may see.

use axum::Router;

use crate::AppState;

/// The routes of the live stream.
pub fn routes() -> Router<AppState> {
    Router::new()
}

/// The OpenAPI of the live stream.
#[derive(utoipa::OpenApi)]
#[openapi()]
pub struct Api;
