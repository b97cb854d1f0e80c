//! The gateway (网关): the HTTP API, authentication and authorization, and the web console's entry.
//! It owns no tables: commands and queries go to the services over the bus.

pub mod audit;
pub mod authz;
pub mod console;
pub mod extract;
pub mod handlers;
pub mod openapi;
pub mod security;
pub mod session;
mod telemetry;

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::{
    Router,
    extract::{DefaultBodyLimit, FromRef},
    middleware,
    routing::get,
};
use bangban_platform::{
    Settings,
    auth::Authenticator,
    health::{self, Readiness},
    problem::Problem,
    runtime,
    shutdown::Shutdown,
};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub client: async_nats::Client,
    pub auth: Authenticator,
    pub request_timeout: Duration,
    pub settings: Arc<Settings>,
    /// Console sessions (会话).
    pub sessions: session::Sessions,
    /// Rate limits of login and the public endpoints.
    pub limiter: security::RateLimiter,
    /// The audit log of writes.
    pub audit: audit::AuditLog,
    /// The proxies (the ingress) whose `X-Forwarded-For` names the client (`web.trusted_proxies`).
    pub trusted_proxies: Arc<bangban_platform::net::TrustedProxies>,
    /// The live streams open at this gateway, per person and in all (`http.streams_per_person`, `…_max`).
    pub streams: handlers::stream::StreamSlots,
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

/// The whole HTTP surface.
pub fn router(state: AppState, readiness: Readiness) -> Router {
    let body_limit = state.settings.http.body_limit;
    let api = Router::new()
        .merge(handlers::results::routes())
        .merge(handlers::consultations::routes())
        .merge(handlers::calendar::routes())
        .merge(handlers::catalog::routes())
        .merge(handlers::plans::routes())
        .merge(handlers::tasks::routes())
        .merge(handlers::clock::routes())
        .merge(handlers::clocks::routes())
        .merge(handlers::dossier::routes())
        .merge(handlers::supervision::routes())
        .merge(handlers::problems::routes())
        .merge(handlers::meetings::routes())
        .merge(handlers::monitoring::routes())
        .merge(handlers::notifications::routes())
        .merge(handlers::evaluations::routes())
        .merge(handlers::stream::routes())
        .merge(session::routes())
        .merge(console::routes())
        .merge(audit::routes())
        .route("/api/v1/cases", axum::routing::post(handlers::cases::create_case).get(handlers::cases::list_cases))
        .route("/api/v1/cases/{id}/terminate", axum::routing::post(handlers::cases::terminate_case))
        .route("/api/v1/cases/{id}/specialist", axum::routing::post(handlers::cases::change_specialist))
        .route("/api/v1/cases/{id}/applicant/reveal", axum::routing::post(handlers::cases::reveal_applicant))
        .route("/api/v1/cases/{id}", get(handlers::cases::get_case))
        .route("/api/v1/me", get(handlers::me::me))
        .route(
            "/api/v1/applicants",
            axum::routing::post(handlers::registry::register_applicant).get(handlers::registry::list_applicants),
        )
        .route(
            "/api/v1/projects",
            axum::routing::post(handlers::registry::register_project).get(handlers::registry::list_projects),
        )
        .route("/api/v1/offices", get(handlers::directory::list_offices))
        .route("/api/v1/staff", get(handlers::directory::list_staff))
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

/// Builds the state from the settings (authenticator included).
pub fn state(settings: &Settings, client: async_nats::Client) -> anyhow::Result<AppState> {
    runtime::install_crypto_provider();
    let auth = Authenticator::from_settings(settings)?;
    let sessions = session::Sessions::new(client.clone(), Duration::from_secs(settings.web.session_ttl_secs.max(60)))
        .with_stream_replicas(settings.nats.stream_replicas)
        .with_settings(&settings.web);
    let audit = audit::AuditLog::new(client.clone(), settings.web.audit_retention_days())
        .with_stream_replicas(settings.nats.stream_replicas)
        .with_settings(&settings.web);
    let trusted_proxies = bangban_platform::net::TrustedProxies::from_settings(&settings.web)
        .map_err(|e| anyhow::anyhow!("BANGBAN__WEB__TRUSTED_PROXIES: {e}"))?;
    Ok(AppState {
        client,
        auth,
        request_timeout: settings.nats.request_timeout,
        settings: Arc::new(settings.clone()),
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
