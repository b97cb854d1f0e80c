//! W3C trace context (`traceparent`, `tracestate`) over NATS and HTTP headers.

use opentelemetry::{
    Context,
    propagation::{Extractor, Injector},
    trace::TraceContextExt,
};
use tracing_opentelemetry::OpenTelemetrySpanExt;

struct NatsInjector<'a>(&'a mut async_nats::HeaderMap);

impl Injector for NatsInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key, value.as_str());
    }
}

struct NatsExtractor<'a>(&'a async_nats::HeaderMap);

impl Extractor for NatsExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(|v| v.as_str())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.iter().map(|(k, _)| k.as_ref()).collect()
    }
}

struct HttpInjector<'a>(&'a mut http::HeaderMap);

impl Injector for HttpInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(val)) = (http::HeaderName::try_from(key), http::HeaderValue::try_from(value)) {
            self.0.insert(name, val);
        }
    }
}

struct HttpExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HttpExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

/// Writes the context into NATS headers.
pub fn inject_context_nats(cx: &Context, headers: &mut async_nats::HeaderMap) {
    opentelemetry::global::get_text_map_propagator(|p| p.inject_context(cx, &mut NatsInjector(headers)));
}

/// Writes the current span's context into NATS headers.
pub fn inject_nats(headers: &mut async_nats::HeaderMap) {
    inject_context_nats(&tracing::Span::current().context(), headers);
}

/// Reads the context a publisher put into NATS headers (empty context when there is none).
pub fn extract_nats(headers: Option<&async_nats::HeaderMap>) -> Context {
    match headers {
        Some(h) => opentelemetry::global::get_text_map_propagator(|p| p.extract(&NatsExtractor(h))),
        None => Context::new(),
    }
}

/// Writes the current span's context into HTTP headers.
pub fn inject_http(headers: &mut http::HeaderMap) {
    let cx = tracing::Span::current().context();
    opentelemetry::global::get_text_map_propagator(|p| p.inject_context(&cx, &mut HttpInjector(headers)));
}

/// Reads an incoming `traceparent`/`tracestate`.
pub fn extract_http(headers: &http::HeaderMap) -> Context {
    opentelemetry::global::get_text_map_propagator(|p| p.extract(&HttpExtractor(headers)))
}

/// The trace id of a context, when it has a valid span.
pub fn trace_id_of_context(cx: &Context) -> Option<String> {
    let span = cx.span();
    let sc = span.span_context();
    sc.is_valid().then(|| sc.trace_id().to_string())
}

/// The trace id of the current `tracing` span.
pub fn current_trace_id() -> Option<String> {
    trace_id_of_context(&tracing::Span::current().context())
}

/// The trace id inside a `traceparent` header value (`00-<trace id>-<span id>-<flags>`).
pub fn trace_id_of_traceparent(traceparent: &str) -> Option<&str> {
    let mut parts = traceparent.split('-');
    let _version = parts.next()?;
    let trace = parts.next()?;
    (trace.len() == 32).then_some(trace)
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_sdk::{propagation::TraceContextPropagator, trace::SdkTracerProvider};
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    #[test]
    fn context_round_trips_through_nats_and_http_headers() {
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        let provider = SdkTracerProvider::builder().build();
        let subscriber =
            tracing_subscriber::registry().with(tracing_opentelemetry::layer().with_tracer(provider.tracer("t")));
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("outer");
            let _g = span.enter();
            let trace = current_trace_id().expect("a valid trace");

            let mut nats = async_nats::HeaderMap::new();
            inject_nats(&mut nats);
            let tp = nats.get("traceparent").expect("traceparent").as_str().to_string();
            assert_eq!(trace_id_of_traceparent(&tp), Some(trace.as_str()));
            assert_eq!(trace_id_of_context(&extract_nats(Some(&nats))).as_deref(), Some(trace.as_str()));

            let mut h = http::HeaderMap::new();
            inject_http(&mut h);
            assert_eq!(trace_id_of_context(&extract_http(&h)).as_deref(), Some(trace.as_str()));

            // A child span continuing an extracted context joins that trace.
            let incoming = extract_nats(Some(&nats));
            let child = crate::spans::consumer_span("bb.evt.371600.case.accepted", "id", "c", incoming);
            assert_eq!(trace_id_of_context(&child.context()).as_deref(), Some(trace.as_str()));
        });
        assert!(extract_nats(None).span().span_context().trace_id() == opentelemetry::trace::TraceId::INVALID);
    }
}
