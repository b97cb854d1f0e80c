//! The server span of each routed HTTP request, continuing an incoming `traceparent`, and request
//! metrics for every request.

use std::time::Instant;

use axum::{
    extract::{MatchedPath, Request},
    middleware::Next,
    response::Response,
};
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

#[derive(Clone)]
struct RouteName(String);

/// Opens the request's server span, named after the matched route (`GET /api/v1/cases/{id}`, never
/// the raw path), as a child of the caller's trace when it sent one. A route layer, so that the
/// route is known when the span is created. The path only, never the query: the SMS providers' receipt
/// hooks carry their secret callback token there (`/api/v1/hooks/sms/aliyun?token=…`). The path of a route
/// that carries a credential in it (the evaluation link's one-time code) is recorded as its template.
pub async fn trace_request(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let route = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_string()).unwrap_or_default();
    let span = tracing::info_span!(
        "http.request",
        otel.name = %format!("{method} {route}"),
        otel.kind = "server",
        http.request.method = %method,
        http.route = %route,
        url.path = %recorded_path(&route, req.uri().path()),
        http.response.status_code = tracing::field::Empty,
        enduser.id = tracing::field::Empty,
        enduser.role = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
    );
    let _ = span.set_parent(bangban_telemetry::extract_http(req.headers()));
    let mut response = next.run(req).instrument(span.clone()).await;
    let status = response.status();
    span.record("http.response.status_code", status.as_u16());
    if status.is_server_error() {
        span.record("otel.status_code", "ERROR");
    }
    response.extensions_mut().insert(RouteName(route));
    response
}

/// Routes whose path carries a credential: the one-time evaluation code of the SMS link.
const SECRET_PATH_ROUTES: &[&str] = &[crate::handlers::evaluations::INVITATION_BY_CODE];

/// The `url.path` a span records: the path, or the route template when the path carries a credential.
fn recorded_path<'a>(route: &'a str, path: &'a str) -> &'a str {
    if SECRET_PATH_ROUTES.contains(&route) { route } else { path }
}

/// Counts every request and its duration by method, route and status.
pub async fn count_request(req: Request, next: Next) -> Response {
    let method = req.method().to_string();
    let started = Instant::now();
    let response = next.run(req).await;
    let route = response.extensions().get::<RouteName>().map(|r| r.0.clone()).unwrap_or_else(|| "unmatched".into());
    let labels = [("method", method), ("route", route), ("status", response.status().as_u16().to_string())];
    metrics::counter!("bangban_http_requests_total", &labels).increment(1);
    metrics::histogram!("bangban_http_request_duration_seconds", &labels).record(started.elapsed().as_secs_f64());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_with_a_credential_is_recorded_as_its_route() {
        let route = crate::handlers::evaluations::INVITATION_BY_CODE;
        assert_eq!(recorded_path(route, "/api/v1/evaluations/invitations/Kq7bX2mZr9Tf4Wc8"), route);
        assert_eq!(recorded_path("/api/v1/cases/{id}", "/api/v1/cases/0195f39f"), "/api/v1/cases/0195f39f");
        assert_eq!(recorded_path("", "/nowhere"), "/nowhere");
    }
}
