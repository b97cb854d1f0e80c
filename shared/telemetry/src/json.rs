//! JSON log lines that carry the OpenTelemetry trace and span ids of the current span.

use std::{
    fmt,
    sync::{Arc, OnceLock},
};

use opentelemetry::trace::TraceContextExt;
use serde_json::{Map, Value};
use tracing::{Event, Subscriber, dispatcher::WeakDispatch, field::Field};
use tracing_subscriber::{
    fmt::{FmtContext, FormatEvent, FormatFields, format::Writer},
    registry::LookupSpan,
};

/// Formats each event as one JSON object: time, level, target, span, fields, trace and span ids.
///
/// The OpenTelemetry context of a span is reached through the dispatcher the formatter belongs to,
/// handed over once the subscriber is built (a dispatcher cannot be looked up from inside itself).
#[derive(Clone, Default)]
pub(crate) struct JsonWithTrace {
    pub(crate) dispatch: Arc<OnceLock<WeakDispatch>>,
}

struct Fields<'a>(&'a mut Map<String, Value>);

impl tracing::field::Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_string(), Value::from(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_string(), Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_string(), Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_string(), Value::from(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().to_string(), Value::from(value));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.0.insert(field.name().to_string(), Value::from(value.to_string()));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().to_string(), Value::from(format!("{value:?}")));
    }
}

impl<S, N> FormatEvent<S, N> for JsonWithTrace
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, ctx: &FmtContext<'_, S, N>, mut writer: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        let meta = event.metadata();
        let mut obj = Map::new();
        obj.insert(
            "timestamp".into(),
            Value::from(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
        );
        obj.insert("level".into(), Value::from(meta.level().as_str()));
        obj.insert("target".into(), Value::from(meta.target()));
        let mut fields = Map::new();
        event.record(&mut Fields(&mut fields));
        if let Some(msg) = fields.remove("message") {
            obj.insert("message".into(), msg);
        }
        if !fields.is_empty() {
            obj.insert("fields".into(), Value::Object(fields));
        }
        if let Some(span) = ctx.lookup_current() {
            obj.insert("span".into(), Value::from(span.name()));
            // The fields of the span and its parents (case ids, offices…), outermost first.
            let mut context = Vec::new();
            for s in span.scope().from_root() {
                if let Some(fields) = s.extensions().get::<tracing_subscriber::fmt::FormattedFields<N>>()
                    && !fields.is_empty()
                {
                    context.push(format!("{}{{{}}}", s.name(), fields.fields));
                }
            }
            if !context.is_empty() {
                obj.insert("spans".into(), Value::from(context.join(" ")));
            }
            let id = span.id();
            drop(span);
            let cx = self
                .dispatch
                .get()
                .and_then(WeakDispatch::upgrade)
                .and_then(|d| tracing_opentelemetry::get_otel_context(&id, &d));
            if let Some(cx) = cx {
                let sc = cx.span().span_context().clone();
                if sc.is_valid() {
                    obj.insert("trace_id".into(), Value::from(sc.trace_id().to_string()));
                    obj.insert("span_id".into(), Value::from(sc.span_id().to_string()));
                }
            }
        }
        let line = serde_json::to_string(&Value::Object(obj)).map_err(|_| fmt::Error)?;
        writeln!(writer, "{line}")
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_sdk::trace::SdkTracerProvider;
    use tracing_subscriber::layer::SubscriberExt;

    use super::JsonWithTrace;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn log_lines_are_json_with_the_trace_and_span_ids() {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let provider = SdkTracerProvider::builder().build();
        let format = JsonWithTrace::default();
        let subscriber =
            tracing_subscriber::registry().with(tracing_opentelemetry::layer().with_tracer(provider.tracer("t"))).with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .event_format(format.clone())
                    .with_writer(move || writer.clone()),
            );
        let dispatch = tracing::Dispatch::new(subscriber);
        let _ = format.dispatch.set(dispatch.downgrade());
        let expected = tracing::dispatcher::with_default(&dispatch, || {
            let span = tracing::info_span!("create_case", office = "371625");
            let _g = span.enter();
            tracing::info!(ledger_no = "BB-371625-2026-000001", "case accepted");
            crate::propagation::current_trace_id().unwrap()
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        let line: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(line["message"], "case accepted");
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["fields"]["ledger_no"], "BB-371625-2026-000001");
        assert_eq!(line["span"], "create_case");
        assert!(line["spans"].as_str().unwrap().contains("office=\"371625\""), "{line}");
        assert_eq!(line["trace_id"], expected);
        assert_eq!(line["span_id"].as_str().unwrap().len(), 16);
    }
}
