//! The gateway (网关): the HTTP API, authentication and authorization, and the web console's entry.
//! It owns no tables: commands and queries go to the services over the bus.

pub mod audit;
pub mod auth;
pub mod authz;
pub mod console;
pub mod extract;
pub mod handlers;
pub mod openapi;
pub mod security;
pub mod session;
pub mod settings;
mod telemetry;

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::{
    Router,
    extract::{DefaultBodyLimit, FromRef},
    middleware,
    routing::get,
};
use bangban_contracts::Operation;
use bangban_platform::{
    Settings,
    health::{self, Readiness},
    problem::Problem,
    rpc, runtime,
    shutdown::Shutdown,
};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::{auth::Authenticator, settings::WebSettings};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub client: async_nats::Client,
    pub auth: Authenticator,
    pub request_timeout: Duration,
    pub settings: Arc<Settings>,
    /// The gateway's own settings (`BANGBAN__WEB__…`): sessions, OIDC login, rate limits, audit.
    pub web: Arc<WebSettings>,
    /// Console sessions (会话).
    pub sessions: session::Sessions,
    /// Rate limits of login and the public endpoints.
    pub limiter: security::RateLimiter,
    /// The audit log of writes.
    pub audit: audit::AuditLog,
    /// The proxies (the ingress) whose `X-Forwarded-For` names the client (`web.trusted_proxies`,
    /// [`WebSettings::trusted_proxies`]).
    pub trusted_proxies: Arc<bangban_platform::net::TrustedProxies>,
    /// The live streams open at this gateway, per person and in all (`http.streams_per_person`, `…_max`).
    pub streams: handlers::stream::StreamSlots,
}

impl AppState {
    /// Calls the operation `O` of a service with this gateway's client and timeout. The service's problems
    /// (400, 403, 404, 409, 422…) reach the client unchanged; no answer is 503.
    pub async fn call<O: Operation>(&self, req: &O::Request) -> Result<O::Response, Problem> {
        Ok(rpc::call::<O>(&self.client, req, self.request_timeout).await?)
    }
}

impl FromRef<AppState> for Authenticator {
    fn from_ref(state: &AppState) -> Self {
        state.auth.clone()
    }
}

async fn not_found(uri: axum::http::Uri) -> Problem {
    Problem::not_found(format!("没有 {} 这个地址", uri.path()), format!("no resource at {}", uri.path()))
        .with_instance(uri.path())
}

async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> Problem {
    Problem::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "不支持的请求方法",
        "Method not allowed",
    )
    .with_detail(format!("{} 不支持 {method}", uri.path()), format!("{} does not support {method}", uri.path()))
    .with_instance(uri.path())
}

/// The documented API: the handlers' routes with the OpenAPI document they make (the document's own
/// parts are [`openapi::ApiDoc`]).
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(handlers::router())
        .merge(session::router())
        .merge(audit::router())
}

/// The whole HTTP surface.
pub fn router(state: AppState, readiness: Readiness) -> Router {
    let body_limit = state.settings.http.body_limit;
    let (api, _) = api().split_for_parts();
    let api = api
        .merge(console::routes())
        .route("/openapi.json", get(openapi::openapi_json))
        .route("/docs", get(openapi::docs))
        .route("/", get(openapi::index))
        .route_layer(middleware::from_fn_with_state(state.clone(), audit::audit))
        .route_layer(middleware::from_fn(telemetry::trace_request))
        .layer(middleware::from_fn_with_state(state.clone(), session::session_auth))
        .with_state(state.clone());
    let metrics = runtime::metrics_on_main_listener(&state.settings);
    api.merge(health::router(readiness))
        .merge(metrics)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(move |mut req: axum::extract::Request, next: middleware::Next| {
            req.extensions_mut().insert(extract::BodyLimit(body_limit));
            next.run(req)
        }))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn_with_state(state.clone(), security::rate_limit))
        .layer(middleware::from_fn_with_state(state, security::headers))
        .layer(middleware::from_fn(telemetry::count_request))
}

/// Builds the state from the settings (authenticator included); the gateway's own section (`web`) is read
/// and checked here, once.
pub fn state(settings: &Settings, client: async_nats::Client) -> anyhow::Result<AppState> {
    runtime::install_crypto_provider();
    let web = WebSettings::from_settings(settings)?;
    let auth = Authenticator::new(settings, &web)?;
    let sessions = session::Sessions::new(client.clone(), Duration::from_secs(web.session_ttl_secs.max(60)))
        .with_stream_replicas(settings.nats.stream_replicas)
        .with_settings(&web);
    let audit = audit::AuditLog::new(client.clone(), web.audit_retention_days())
        .with_stream_replicas(settings.nats.stream_replicas)
        .with_settings(&web);
    let trusted_proxies = web.trusted_proxies().map_err(|e| anyhow::anyhow!("BANGBAN__WEB__TRUSTED_PROXIES: {e}"))?;
    Ok(AppState {
        client,
        auth,
        request_timeout: settings.nats.request_timeout,
        settings: Arc::new(settings.clone()),
        web: Arc::new(web),
        sessions,
        limiter: Default::default(),
        audit,
        trusted_proxies: Arc::new(trusted_proxies),
        streams: handlers::stream::StreamSlots::new(settings.http.streams_per_person, settings.http.streams_max),
    })
}

/// Starts the gateway on `http.listen`; returns the bound address (port 0 picks a free one).
pub async fn start(
    settings: &Settings,
    client: async_nats::Client,
    readiness: Readiness,
    shutdown: &Shutdown,
) -> anyhow::Result<SocketAddr> {
    let state = state(settings, client)?;
    if let Err(e) = state.auth.prefetch().await {
        tracing::warn!(error = %e, "identity provider not reachable yet; will retry on first login");
    }
    // Open live streams end when the gateway stops, not at the end of the grace period.
    let app = router(state, readiness).layer(axum::Extension(handlers::stream::StreamShutdown(shutdown.token())));
    let addr = runtime::serve_http_limited(settings.http.listen, app, shutdown, settings.http.max_connections).await?;
    runtime::serve_metrics(settings, shutdown).await?;
    tracing::info!(%addr, "gateway listening");
    handlers::consultations::log_hooks(settings);
    Ok(addr)
}
