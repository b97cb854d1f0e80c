//! Telemetry for every Bangban service (可观测性): the tracing subscriber (JSON logs with trace and
//! span ids, or human-readable on a terminal), OpenTelemetry export over OTLP/HTTP, and W3C trace
//! context carried over NATS and HTTP headers so one request is one trace across every hop.

mod json;
pub mod propagation;
pub mod spans;

use std::io::IsTerminal;

use opentelemetry::{KeyValue, trace::TracerProvider as _};
use opentelemetry_sdk::{Resource, propagation::TraceContextPropagator, trace::SdkTracerProvider};
use tracing_subscriber::{EnvFilter, Layer, layer::SubscriberExt};

pub use propagation::{current_trace_id, extract_http, extract_nats, inject_http, inject_nats, trace_id_of_context};

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// One JSON object per line with `trace_id` and `span_id`.
    Json,
    /// Human-readable, coloured on a terminal.
    Pretty,
    /// Pretty when stderr is a terminal, JSON otherwise.
    #[default]
    Auto,
}

/// What [`init`] needs.
#[derive(Debug, Clone)]
pub struct TelemetryOptions {
    /// `service.name` of the resource (`bangban`, `bangban-intake`, …).
    pub service_name: String,
    /// OTLP/HTTP base endpoint (`http://collector:4318`); nothing is exported when `None`.
    pub otlp_endpoint: Option<String>,
    pub log_format: LogFormat,
    /// `RUST_LOG`-style filter; `RUST_LOG` itself wins when set.
    pub log_filter: String,
}

/// Why telemetry could not start.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("OTLP exporter: {0}")]
    Exporter(String),
    #[error("log filter: {0}")]
    Filter(String),
    #[error("a global subscriber is already installed")]
    AlreadyInstalled,
}

/// Keeps the tracer provider alive; flushes and shuts it down when dropped.
#[must_use = "dropping the guard shuts telemetry down"]
pub struct TelemetryGuard {
    provider: SdkTracerProvider,
}

impl TelemetryGuard {
    /// Exports every finished span now.
    pub fn flush(&self) {
        let _ = self.provider.force_flush();
    }

    /// The provider, for tests that install their own exporter.
    pub fn provider(&self) -> &SdkTracerProvider {
        &self.provider
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        let _ = self.provider.force_flush();
        let _ = self.provider.shutdown();
    }
}

fn resource(service_name: &str) -> Resource {
    Resource::builder()
        .with_service_name(service_name.to_string())
        .with_attribute(KeyValue::new("service.namespace", "bangban"))
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Installs the global subscriber, tracer provider and W3C propagator.
pub fn init(opts: &TelemetryOptions) -> Result<TelemetryGuard, TelemetryError> {
    let mut builder = SdkTracerProvider::builder().with_resource(resource(&opts.service_name));
    if let Some(endpoint) = opts.otlp_endpoint.as_deref().filter(|e| !e.is_empty()) {
        use opentelemetry_otlp::WithExportConfig;
        let endpoint = endpoint.trim_end_matches('/');
        let endpoint =
            if endpoint.ends_with("/v1/traces") { endpoint.to_string() } else { format!("{endpoint}/v1/traces") };
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_endpoint(endpoint)
            .with_timeout(std::time::Duration::from_secs(5))
            .build()
            .map_err(|e| TelemetryError::Exporter(e.to_string()))?;
        builder = builder.with_batch_exporter(exporter);
    }
    install(builder.build(), opts)
}

/// Installs the subscriber with a given provider (tests pass one with an in-memory exporter).
pub fn install(provider: SdkTracerProvider, opts: &TelemetryOptions) -> Result<TelemetryGuard, TelemetryError> {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    opentelemetry::global::set_tracer_provider(provider.clone());
    let tracer = provider.tracer("bangban");

    let filter = match std::env::var("RUST_LOG") {
        Ok(f) if !f.is_empty() => EnvFilter::try_new(f),
        _ => EnvFilter::try_new(&opts.log_filter),
    }
    .map_err(|e| TelemetryError::Filter(e.to_string()))?;

    let json = match opts.log_format {
        LogFormat::Json => true,
        LogFormat::Pretty => false,
        LogFormat::Auto => !std::io::stderr().is_terminal(),
    };
    let json_format = json::JsonWithTrace::default();
    let fmt_layer = if json {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(false)
            .event_format(json_format.clone())
            .boxed()
    } else {
        tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_target(true).boxed()
    };
    // Spans go to OpenTelemetry regardless of the log filter's level for events, so that a trace
    // is whole even when only warnings are logged.
    let otel_layer = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_filter(EnvFilter::new("info,sqlx=warn,sea_orm=warn,async_nats=warn,h2=warn,hyper=warn,tower=warn"));
    let subscriber = tracing_subscriber::registry().with(fmt_layer.with_filter(filter)).with(otel_layer);
    let dispatch = tracing::Dispatch::new(subscriber);
    let _ = json_format.dispatch.set(dispatch.downgrade());
    tracing::dispatcher::set_global_default(dispatch).map_err(|_| TelemetryError::AlreadyInstalled)?;
    // Bridge `log` records of dependencies into tracing.
    let _ = tracing_log::LogTracer::init();
    Ok(TelemetryGuard { provider })
}

/// Test support: a subscriber whose spans land in an in-memory exporter and whose log lines are
/// captured, so tests can check what was exported and written (personal data never is).
#[cfg(feature = "testing")]
pub mod testing {
    use std::sync::{Mutex, OnceLock};

    use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
    use tracing_subscriber::fmt::MakeWriter;

    use super::*;

    static CAPTURED: Mutex<Vec<u8>> = Mutex::new(Vec::new());

    /// Writes every log line to stderr and into [`captured_logs`].
    #[derive(Clone, Copy)]
    struct Tee;

    impl std::io::Write for Tee {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            CAPTURED.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(buf);
            std::io::stderr().write(buf)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            std::io::stderr().flush()
        }
    }

    impl<'a> MakeWriter<'a> for Tee {
        type Writer = Tee;
        fn make_writer(&'a self) -> Self::Writer {
            *self
        }
    }

    /// Everything logged so far in this process (JSON lines).
    pub fn captured_logs() -> String {
        String::from_utf8_lossy(&CAPTURED.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }

    /// Installs (once per process) a subscriber exporting spans synchronously to memory and
    /// logging JSON lines (debug for Bangban's own crates) to stderr and a capture buffer; returns
    /// the exporter so a test can read finished spans.
    pub fn init_in_memory() -> InMemorySpanExporter {
        static EXPORTER: OnceLock<InMemorySpanExporter> = OnceLock::new();
        EXPORTER
            .get_or_init(|| {
                let exporter = InMemorySpanExporter::default();
                let provider = SdkTracerProvider::builder()
                    .with_simple_exporter(exporter.clone())
                    .with_resource(resource("bangban-test"))
                    .build();
                opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
                opentelemetry::global::set_tracer_provider(provider.clone());
                let json_format = json::JsonWithTrace::default();
                let fmt_layer = tracing_subscriber::fmt::layer()
                    .with_writer(Tee)
                    .with_ansi(false)
                    .event_format(json_format.clone())
                    .with_filter(EnvFilter::new("warn,bangban=debug"));
                let otel_layer = tracing_opentelemetry::layer()
                    .with_tracer(provider.tracer("bangban"))
                    .with_filter(EnvFilter::new("info,sqlx=warn,sea_orm=warn,async_nats=warn"));
                let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(fmt_layer).with(otel_layer));
                let _ = json_format.dispatch.set(dispatch.downgrade());
                let _ = tracing::dispatcher::set_global_default(dispatch);
                // The provider lives as long as the process.
                std::mem::forget(provider);
                exporter
            })
            .clone()
    }
}
