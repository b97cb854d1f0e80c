//! Spans of messaging, named and attributed after the OpenTelemetry messaging conventions:
//! `"<subject> publish"` (producer), `"<subject> process"` (consumer and service handler).

use opentelemetry::Context;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// A producer span for publishing one message, child of the current span (or of `parent`).
pub fn producer_span(subject: &str, message_id: &str, parent: Option<Context>) -> Span {
    let span = tracing::info_span!(
        "nats.publish",
        otel.name = %format!("{subject} publish"),
        otel.kind = "producer",
        messaging.system = "nats",
        messaging.operation.type = "publish",
        messaging.operation.name = "publish",
        messaging.destination.name = %subject,
        messaging.message.id = %message_id,
        otel.status_code = tracing::field::Empty,
    );
    if let Some(cx) = parent {
        let _ = span.set_parent(cx);
    }
    span
}

/// A consumer span for processing one delivered event, continuing the publisher's trace.
pub fn consumer_span(subject: &str, message_id: &str, consumer: &str, parent: Context) -> Span {
    let span = tracing::info_span!(
        "nats.process",
        otel.name = %format!("{subject} process"),
        otel.kind = "consumer",
        messaging.system = "nats",
        messaging.operation.type = "process",
        messaging.operation.name = "process",
        messaging.destination.name = %subject,
        messaging.consumer.group.name = %consumer,
        messaging.message.id = %message_id,
        otel.status_code = tracing::field::Empty,
    );
    let _ = span.set_parent(parent);
    span
}

/// A server span for one service request (`bb.svc.*`), continuing the caller's trace.
pub fn service_span(subject: &str, parent: Context) -> Span {
    let span = tracing::info_span!(
        "nats.service",
        otel.name = %format!("{subject} process"),
        otel.kind = "server",
        messaging.system = "nats",
        messaging.operation.type = "process",
        messaging.destination.name = %subject,
        rpc.system = "nats_service",
        otel.status_code = tracing::field::Empty,
    );
    let _ = span.set_parent(parent);
    span
}

/// A client span for one service request.
pub fn client_span(subject: &str) -> Span {
    tracing::info_span!(
        "nats.request",
        otel.name = %format!("{subject} send"),
        otel.kind = "client",
        messaging.system = "nats",
        messaging.operation.type = "send",
        messaging.destination.name = %subject,
        rpc.system = "nats_service",
        otel.status_code = tracing::field::Empty,
    )
}

/// Marks a span as failed (OpenTelemetry status `ERROR`).
pub fn mark_error(span: &Span) {
    span.record("otel.status_code", "ERROR");
}

/// The OpenTelemetry context of a span (to inject it into headers explicitly).
pub fn context_of(span: &Span) -> Context {
    span.context()
}
