//! Process start-up and shutdown shared by every binary (运行时): configuration, telemetry, the
//! platform clock, the rustls provider, NATS with the streams, the HTTP listener, and a graceful stop on
//! SIGTERM.

use std::{net::SocketAddr, path::Path, sync::Arc, time::Duration};

use axum::Router;
use bangban_telemetry::{TelemetryGuard, TelemetryOptions};
use futures::future::BoxFuture;
use sea_orm::DatabaseConnection;

use crate::{Settings, bus, clock, config::LogFormat, health, shutdown::Shutdown};

/// What a service needs to start.
#[derive(Clone)]
pub struct Context {
    pub settings: Settings,
    pub client: async_nats::Client,
    pub shutdown: Shutdown,
}

/// Installs the process-wide rustls provider (ring); harmless when already installed.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Telemetry options from the settings.
pub fn telemetry_options(settings: &Settings, service_name: &str) -> TelemetryOptions {
    TelemetryOptions {
        service_name: service_name.to_string(),
        otlp_endpoint: settings.telemetry.otlp_endpoint.clone(),
        log_format: match settings.telemetry.log_format {
            LogFormat::Json => bangban_telemetry::LogFormat::Json,
            LogFormat::Pretty => bangban_telemetry::LogFormat::Pretty,
            LogFormat::Auto => bangban_telemetry::LogFormat::Auto,
        },
        log_filter: settings.telemetry.log_filter.clone(),
    }
}

/// Starts the rehearsal clock (演练时钟) when `clock.start` or `clock.speed` is configured, with a loud warning;
/// leaves the wall clock otherwise. Refuses (an error naming `BANGBAN__CLOCK__START` / `BANGBAN__CLOCK__SPEED`)
/// in OIDC (production) mode and for a speed that is not a finite number in (0, 100 000]. Called once at process
/// start by [`bootstrap`], before anything reads the clock.
pub fn apply_clock(settings: &Settings) -> anyhow::Result<()> {
    // `allow_insecure_dev` lets a rehearsal run beside OIDC (a training installation); it was warned about.
    let auth = if settings.allow_insecure_dev {
        crate::config::AuthSettings { mode: crate::config::AuthMode::Development, ..settings.auth.clone() }
    } else {
        settings.auth.clone()
    };
    let Some((start, speed)) = settings.clock.rehearsal(&auth, clock::now())? else {
        return Ok(());
    };
    clock::start_rehearsal(start, speed);
    tracing::warn!(
        start = %start.to_rfc3339(),
        speed,
        "REHEARSAL CLOCK (演练时钟): platform time starts at {start} and runs {speed}x the wall clock; every \
         timestamp, due date and deadline follows it. Development only — never in production."
    );
    Ok(())
}

/// Refuses development defaults where production is expected ([`Settings::insecure_dev_defaults`]), unless
/// `allow_insecure_dev` is set, in which case each is logged as a warning. `pii_needed`: the process runs a
/// service that keeps personal data.
pub fn refuse_insecure_defaults(settings: &Settings, pii_needed: bool) -> anyhow::Result<()> {
    let found = settings.insecure_dev_defaults(pii_needed);
    if found.is_empty() {
        return Ok(());
    }
    if settings.allow_insecure_dev {
        for f in &found {
            tracing::warn!("INSECURE (BANGBAN__ALLOW_INSECURE_DEV=true): {f}");
        }
        return Ok(());
    }
    anyhow::bail!(
        "refusing to start with development defaults where production is expected (生产环境不得使用开发默认配置):\n  - {}\n\
         Fix the settings above, or set BANGBAN__ALLOW_INSECURE_DEV=true for a throw-away test installation.",
        found.join("\n  - ")
    )
}

/// Reads the configuration, starts telemetry and the platform clock, connects NATS and makes sure the streams
/// exist. `personal_data`: the process runs a service that keeps personal data ([`crate::service::Service::KEEPS_PERSONAL_DATA`]),
/// so production settings must carry the PII key.
pub async fn bootstrap(
    config: Option<&Path>,
    service_name: &str,
    personal_data: bool,
) -> anyhow::Result<(Context, TelemetryGuard)> {
    bootstrap_with(Settings::load(config)?, service_name, personal_data).await
}

/// [`bootstrap`] with the configuration already read (a process that checked it first).
pub async fn bootstrap_with(
    settings: Settings,
    service_name: &str,
    personal_data: bool,
) -> anyhow::Result<(Context, TelemetryGuard)> {
    install_crypto_provider();
    let guard = bangban_telemetry::init(&telemetry_options(&settings, service_name))?;
    refuse_insecure_defaults(&settings, personal_data)?;
    apply_clock(&settings)?;
    crate::metrics::install();
    tracing::info!(nats = %crate::bus::redact_url(&settings.nats.url), data_dir = %settings.data_dir.display(), "starting {service_name}");
    let client = bus::connect(&settings.nats, service_name).await?;
    if bus::creates_event_streams(service_name) {
        bus::ensure_streams(&async_nats::jetstream::new(client.clone()), settings.nats.stream_replicas).await?;
    }
    Ok((Context { settings, client, shutdown: Shutdown::new() }, guard))
}

/// Binds `listen` and serves `router` until shutdown; returns the bound address.
pub async fn serve_http(listen: SocketAddr, router: Router, shutdown: &Shutdown) -> anyhow::Result<SocketAddr> {
    serve_http_limited(listen, router, shutdown, DEFAULT_MAX_CONNECTIONS).await
}

/// Connections an HTTP listener holds open at once unless told otherwise (`http.max_connections`).
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;

/// [`serve_http`] holding at most `max_connections` connections open: the next one is accepted only when
/// another closes (it waits in the kernel's backlog meanwhile), so no number of idle or slow clients takes
/// more than that many tasks and sockets (连接数上限).
pub async fn serve_http_limited(
    listen: SocketAddr,
    router: Router,
    shutdown: &Shutdown,
    max_connections: usize,
) -> anyhow::Result<SocketAddr> {
    let listener =
        tokio::net::TcpListener::bind(listen).await.map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
    let addr = listener.local_addr()?;
    let listener = LimitedListener {
        inner: listener,
        permits: Arc::new(tokio::sync::Semaphore::new(max_connections.max(1))),
        max: max_connections.max(1),
    };
    // Handlers read the peer as `ConnectInfo<SocketAddr>`, as with a plain listener.
    let router =
        router.layer(axum::middleware::map_request(
            |axum::extract::ConnectInfo(Peer(addr)): axum::extract::ConnectInfo<Peer>,
             mut req: axum::extract::Request| async move {
                req.extensions_mut().insert(axum::extract::ConnectInfo(addr));
                req
            },
        ));
    let token = shutdown.token();
    shutdown.spawn(async move {
        let result = axum::serve(listener, router.into_make_service_with_connect_info::<Peer>())
            .with_graceful_shutdown(async move { token.cancelled().await })
            .await;
        if let Err(e) = result {
            tracing::error!(error = %e, "HTTP server failed");
        }
    });
    Ok(addr)
}

/// A TCP listener that accepts a connection only while it holds fewer than its maximum.
struct LimitedListener {
    inner: tokio::net::TcpListener,
    permits: Arc<tokio::sync::Semaphore>,
    max: usize,
}

impl axum::serve::Listener for LimitedListener {
    type Io = CountedStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let permit = match self.permits.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                tracing::warn!(max = self.max, "HTTP connection limit reached: new connections wait until one closes");
                metrics::counter!("bangban_http_connections_waited_total").increment(1);
                // The semaphore is never closed.
                self.permits.clone().acquire_owned().await.expect("the connection semaphore is never closed")
            }
        };
        let (io, addr) = axum::serve::Listener::accept(&mut self.inner).await;
        metrics::gauge!("bangban_http_connections_open").increment(1.0);
        (CountedStream { io, _permit: permit }, addr)
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// An accepted connection holding its place under the limit until it is dropped.
struct CountedStream {
    io: tokio::net::TcpStream,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl Drop for CountedStream {
    fn drop(&mut self) {
        metrics::gauge!("bangban_http_connections_open").decrement(1.0);
    }
}

impl tokio::io::AsyncRead for CountedStream {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for CountedStream {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

/// The peer of a connection of a [`LimitedListener`] (made `ConnectInfo<SocketAddr>` for the handlers).
#[derive(Debug, Clone, Copy)]
struct Peer(SocketAddr);

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, LimitedListener>> for Peer {
    fn connect_info(stream: axum::serve::IncomingStream<'_, LimitedListener>) -> Self {
        Peer(*stream.remote_addr())
    }
}

/// `/metrics` for the main listener: there in local development, absent when `http.metrics_listen` gives it a
/// port of its own (the one the cluster's ingress does not route).
pub fn metrics_on_main_listener(settings: &Settings) -> Router {
    if settings.http.metrics_listen.is_some() { Router::new() } else { crate::metrics::router() }
}

/// Serves `/metrics` alone on `http.metrics_listen` when that is set; returns the bound address.
pub async fn serve_metrics(settings: &Settings, shutdown: &Shutdown) -> anyhow::Result<Option<SocketAddr>> {
    let Some(listen) = settings.http.metrics_listen else {
        return Ok(None);
    };
    let addr = serve_http(listen, crate::metrics::router(), shutdown).await?;
    tracing::info!(%addr, "metrics listening");
    Ok(Some(addr))
}

/// Waits for SIGTERM or Ctrl-C, then stops every task (up to 20 s) and flushes telemetry.
pub async fn wait_and_stop(shutdown: &Shutdown, client: &async_nats::Client, guard: TelemetryGuard) {
    let token = shutdown.token();
    tokio::select! {
        _ = crate::shutdown::signal() => tracing::info!("stopping"),
        _ = token.cancelled() => {},
    }
    if !shutdown.shutdown(Duration::from_secs(20)).await {
        tracing::warn!("some tasks did not stop within 20 s");
    }
    let _ = client.flush().await;
    guard.flush();
    drop(guard);
}

/// Starts services that return their databases; `Ok` names them for readiness.
pub type StartFn =
    Box<dyn FnOnce(Context) -> BoxFuture<'static, anyhow::Result<Vec<(&'static str, DatabaseConnection)>>> + Send>;

/// A single service's binary: bootstrap, start, serve `/healthz` and `/readyz` on `http.listen` (and `/metrics`,
/// there or on `http.metrics_listen`), stop gracefully.
pub async fn run_standalone(
    config: Option<&Path>,
    service_name: &str,
    pii_needed: bool,
    start: StartFn,
) -> anyhow::Result<()> {
    let (ctx, guard) = bootstrap(config, service_name, pii_needed).await?;
    let databases = start(ctx.clone()).await?;
    let router = health::router(health::Readiness { nats: ctx.client.clone(), databases })
        .merge(metrics_on_main_listener(&ctx.settings));
    let addr = serve_http(ctx.settings.http.listen, router, &ctx.shutdown).await?;
    serve_metrics(&ctx.settings, &ctx.shutdown).await?;
    tracing::info!(%addr, "health listening");
    wait_and_stop(&ctx.shutdown, &ctx.client, guard).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;
    use crate::config::{AuthMode, ClockSettings};

    /// Sends a GET on `stream` and waits up to `wait` for the first bytes of the answer.
    async fn ask(stream: &mut tokio::net::TcpStream, wait: Duration) -> Option<String> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        stream.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n").await.unwrap();
        let mut buf = vec![0u8; 1024];
        match tokio::time::timeout(wait, stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => Some(String::from_utf8_lossy(&buf[..n]).into_owned()),
            _ => None,
        }
    }

    #[tokio::test]
    async fn a_listener_holds_at_most_its_connections_and_takes_the_next_when_one_closes() {
        use axum::{extract::ConnectInfo, routing::get};
        let shutdown = Shutdown::new();
        // The handlers still read the peer as ConnectInfo<SocketAddr>.
        let router =
            Router::new().route("/", get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.to_string() }));
        let addr = serve_http_limited(SocketAddr::from(([127, 0, 0, 1], 0)), router, &shutdown, 2).await.unwrap();
        let mut first = tokio::net::TcpStream::connect(addr).await.unwrap();
        let mut second = tokio::net::TcpStream::connect(addr).await.unwrap();
        let answer = ask(&mut first, Duration::from_secs(5)).await.expect("the first is served");
        assert!(answer.starts_with("HTTP/1.1 200") && answer.contains("127.0.0.1:"), "{answer}");
        assert!(ask(&mut second, Duration::from_secs(5)).await.is_some(), "the second is served");
        // A third waits unaccepted while two are open (the kernel completes its handshake; nobody reads it)…
        let mut third = tokio::net::TcpStream::connect(addr).await.unwrap();
        assert_eq!(ask(&mut third, Duration::from_millis(500)).await, None, "the third waits");
        // …and is served once one closes.
        drop(first);
        let answer = ask_again(&mut third, Duration::from_secs(5)).await.expect("served after a close");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        shutdown.trigger();
    }

    /// Waits for an answer to a request already sent.
    async fn ask_again(stream: &mut tokio::net::TcpStream, wait: Duration) -> Option<String> {
        use tokio::io::AsyncReadExt;
        let mut buf = vec![0u8; 1024];
        match tokio::time::timeout(wait, stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => Some(String::from_utf8_lossy(&buf[..n]).into_owned()),
            _ => None,
        }
    }

    // One test: the clock is process-wide.
    #[test]
    fn apply_clock_refuses_production_and_bad_speeds_and_starts_a_rehearsal_in_development() {
        let start: DateTime<Utc> = "2026-03-02T01:00:00Z".parse().unwrap();
        let mut settings = Settings::default();

        // Nothing configured: the wall clock.
        apply_clock(&settings).unwrap();
        assert!(!clock::is_rehearsal());

        // Production refuses to start, naming the variables; the clock is untouched.
        settings.auth.mode = AuthMode::Oidc;
        settings.clock = ClockSettings { start: Some(start), speed: Some(60.0) };
        let e = apply_clock(&settings).unwrap_err().to_string();
        assert!(
            e.contains("BANGBAN__CLOCK__START") && e.contains("BANGBAN__CLOCK__SPEED") && e.contains("production"),
            "{e}"
        );
        assert!(!clock::is_rehearsal());

        // A bad speed is refused in development too.
        settings.auth.mode = AuthMode::Development;
        for bad in [0.0, -2.0, f64::NAN, f64::INFINITY, 1e9] {
            settings.clock.speed = Some(bad);
            let e = apply_clock(&settings).unwrap_err().to_string();
            assert!(e.contains("BANGBAN__CLOCK__SPEED"), "{e}");
            assert!(!clock::is_rehearsal());
        }

        // Development: the rehearsal runs from `start` at `speed`.
        settings.clock.speed = Some(3600.0);
        apply_clock(&settings).unwrap();
        assert!(clock::is_rehearsal());
        assert_eq!(clock::speed(), 3600.0);
        let now = clock::now();
        assert!(now >= start && now - start < chrono::Duration::hours(1), "{now}");
        clock::use_system();
    }
}
