//! The server span of each HTTP request, continuing an incoming `traceparent`, and request metrics.

use std::time::Instant;

use axum::{
    extract::{MatchedPath, Request},
    middleware::Next,
    response::Response,
};
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Opens the request's server span (child of the caller's trace, if any) and counts the request.
pub async fn trace_request(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let span = tracing::info_span!(
        "http.request",
        otel.name = %method,
        otel.kind = "server",
        http.request.method = %method,
        url.path = %path,
        http.route = tracing::field::Empty,
        http.response.status_code = tracing::field::Empty,
        enduser.id = tracing::field::Empty,
        enduser.role = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
    );
    let _ = span.set_parent(bangban_telemetry::extract_http(req.headers()));
    let started = Instant::now();
    let response = next.run(req).instrument(span.clone()).await;
    let status = response.status();
    span.record("http.response.status_code", status.as_u16());
    if status.is_server_error() {
        span.record("otel.status_code", "ERROR");
    }
    let route = response.extensions().get::<RouteName>().map(|r| r.0.clone()).unwrap_or_else(|| "unmatched".into());
    let labels = [("method", method.to_string()), ("route", route), ("status", status.as_u16().to_string())];
    metrics::counter!("bangban_http_requests_total", &labels).increment(1);
    metrics::histogram!("bangban_http_request_duration_seconds", &labels).record(started.elapsed().as_secs_f64());
    response
}

#[derive(Clone)]
struct RouteName(String);

/// Names the span after the matched route (`POST /api/v1/cases/{id}`), never after raw paths.
pub async fn record_route(req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_string());
    if let Some(route) = &route {
        let span = tracing::Span::current();
        span.record("http.route", route.as_str());
        span.record("otel.name", format!("{} {}", req.method(), route));
    }
    let mut response = next.run(req).await;
    if let Some(route) = route {
        response.extensions_mut().insert(RouteName(route));
    }
    response
}
