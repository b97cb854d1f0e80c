//! One harness for a service under test (服务测试台): a nats-server of its own, the platform's streams, an
//! isolated database and the service started through the shared skeleton
//! ([`bangban_platform::service::start`]). Replaces the `spawn()` each service's tests used to write.

use std::time::Duration;

use async_nats::jetstream;
use bangban_platform::{
    Settings, bus,
    service::{Running, Service},
    shutdown::Shutdown,
};

use crate::{NatsServer, TestDatabase};

/// A service running on real parts for a test; everything stops when it is dropped.
pub struct Harness<S: Service> {
    pub nats: NatsServer,
    pub db: TestDatabase,
    /// The settings the service started with (NATS URL, database, fast outbox polling, the tuning).
    pub settings: Settings,
    /// A client of the test's own, and JetStream on it.
    pub client: async_nats::Client,
    pub js: jetstream::Context,
    pub running: Running<S>,
    pub shutdown: Shutdown,
}

impl<S: Service> Harness<S> {
    /// Starts `S` with default settings.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with(|_| {}).await
    }

    /// Starts `S` after `tune` adjusted the settings (its own section with [`Settings::set_section`]).
    pub async fn start_with(tune: impl FnOnce(&mut Settings)) -> anyhow::Result<Self> {
        bangban_platform::runtime::install_crypto_provider();
        let nats = NatsServer::start().await?;
        let db = TestDatabase::new(S::NAME).await?;
        let mut settings = Settings::default();
        settings.nats.url = nats.url();
        settings.outbox.poll_interval = Duration::from_millis(50);
        db.apply_to(&mut settings);
        tune(&mut settings);
        let client = bus::connect(&settings.nats, &format!("{}-test", S::NAME)).await?;
        let js = jetstream::new(client.clone());
        bus::ensure_streams(&js, settings.nats.stream_replicas).await?;
        let running = Self::instance(&settings, "a").await?;
        Ok(Self { nats, db, settings, client, js, running: running.0, shutdown: running.1 })
    }

    /// Another instance of `S` on the same database and bus (a second replica), with its own shutdown.
    pub async fn instance(settings: &Settings, name: &str) -> anyhow::Result<(Running<S>, Shutdown)> {
        let client = bus::connect(&settings.nats, &format!("{}-{name}", S::NAME)).await?;
        let shutdown = Shutdown::new();
        let running = bangban_platform::service::start::<S>(settings, client, &shutdown).await?;
        Ok((running, shutdown))
    }

    /// The service's state.
    pub fn service(&self) -> &std::sync::Arc<S> {
        &self.running.service
    }
}
