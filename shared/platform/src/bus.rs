//! The NATS bus (消息总线): connecting with retry, and the JetStream streams every service relies on.

use std::time::Duration;

use async_nats::{
    Client, ConnectOptions,
    jetstream::{
        self,
        stream::{Config as StreamConfig, DiscardPolicy, RetentionPolicy, StorageType},
    },
};
use bangban_contracts::subjects::{DLQ_STREAM, DLQ_SUBJECTS, EVENTS_STREAM, EVENTS_SUBJECTS};

use crate::config::NatsSettings;

/// Why the bus could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("could not reach NATS at {url} within {deadline:?}: {last}")]
    Unreachable { url: String, deadline: Duration, last: String },
    #[error("NATS credentials: {0}")]
    Credentials(String),
    #[error("JetStream stream {stream}: {reason}")]
    Stream { stream: &'static str, reason: String },
}

/// The de-duplication window of the events stream: a relay that publishes a row again within it is
/// ignored by the broker; past it, the consumers' inboxes catch the repeat.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);

/// Connects to NATS, retrying with exponential backoff (capped at 5 s) until `connect_deadline`.
/// Once connected the client reconnects on its own, forever.
pub async fn connect(settings: &NatsSettings, name: &str) -> Result<Client, BusError> {
    let started = std::time::Instant::now();
    let mut delay = Duration::from_millis(100);
    loop {
        let mut opts = ConnectOptions::new()
            .name(name)
            .connection_timeout(Duration::from_secs(3))
            .max_reconnects(None)
            .reconnect_delay_callback(|attempts| Duration::from_millis((100u64 << attempts.min(6)).min(5_000)))
            .event_callback(|event| async move {
                match event {
                    async_nats::Event::Disconnected => tracing::warn!("NATS disconnected"),
                    async_nats::Event::Connected => tracing::info!("NATS connected"),
                    other => tracing::debug!(event = %other, "NATS event"),
                }
            });
        if let Some(creds) = &settings.creds_file {
            opts = opts.credentials_file(creds).await.map_err(|e| BusError::Credentials(e.to_string()))?;
        }
        match opts.connect(&settings.url).await {
            Ok(client) => return Ok(client),
            Err(e) => {
                if started.elapsed() + delay > settings.connect_deadline {
                    return Err(BusError::Unreachable {
                        url: redact_url(&settings.url),
                        deadline: settings.connect_deadline,
                        last: e.to_string(),
                    });
                }
                tracing::warn!(url = %redact_url(&settings.url), error = %e, retry_in = ?delay, "NATS not reachable yet");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// The configuration of `BANGBAN_EVENTS`: every event, file storage, a 2-minute duplicate window.
pub fn events_stream_config() -> StreamConfig {
    StreamConfig {
        name: EVENTS_STREAM.to_string(),
        description: Some("Bangban events (bb.evt.>), CloudEvents in binary mode".into()),
        subjects: vec![EVENTS_SUBJECTS.to_string()],
        storage: StorageType::File,
        retention: RetentionPolicy::Limits,
        discard: DiscardPolicy::Old,
        duplicate_window: DUPLICATE_WINDOW,
        // Keep a year of facts: county offices and integrators may replay.
        max_age: Duration::from_secs(365 * 24 * 3600),
        ..Default::default()
    }
}

/// The configuration of `BANGBAN_DLQ`: events consumers gave up on.
pub fn dlq_stream_config() -> StreamConfig {
    StreamConfig {
        name: DLQ_STREAM.to_string(),
        description: Some("Bangban dead letters (bb.dlq.<consumer>)".into()),
        subjects: vec![DLQ_SUBJECTS.to_string()],
        storage: StorageType::File,
        retention: RetentionPolicy::Limits,
        discard: DiscardPolicy::Old,
        duplicate_window: DUPLICATE_WINDOW,
        max_age: Duration::from_secs(90 * 24 * 3600),
        ..Default::default()
    }
}

/// Creates the streams, or updates them to this configuration.
pub async fn ensure_streams(js: &jetstream::Context) -> Result<(), BusError> {
    for (name, cfg) in [(EVENTS_STREAM, events_stream_config()), (DLQ_STREAM, dlq_stream_config())] {
        js.create_or_update_stream(cfg).await.map_err(|e| BusError::Stream { stream: name, reason: e.to_string() })?;
    }
    Ok(())
}

/// Is the client connected right now? (`/readyz`, and failing fast instead of hanging.)
pub fn is_connected(client: &Client) -> bool {
    client.connection_state() == async_nats::connection::State::Connected
}

/// The URL without its credentials (`nats://user:secret@host` → `nats://user:***@host`), for logs and errors.
pub fn redact_url(url: &str) -> String {
    url.split(',')
        .map(|one| {
            let (scheme, rest) = match one.split_once("://") {
                Some((s, r)) => (Some(s), r),
                None => (None, one),
            };
            let rest = match rest.rsplit_once('@') {
                Some((userinfo, host)) => match userinfo.split_once(':') {
                    Some((user, _)) => format!("{user}:***@{host}"),
                    None => format!("***@{host}"),
                },
                None => rest.to_string(),
            };
            match scheme {
                Some(s) => format!("{s}://{rest}"),
                None => rest,
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod redact_tests {
    #[test]
    fn credentials_never_reach_a_log() {
        assert_eq!(super::redact_url("nats://planning:s3cret@nats:4222"), "nats://planning:***@nats:4222");
        assert_eq!(super::redact_url("nats://tok3n@nats:4222"), "nats://***@nats:4222");
        assert_eq!(
            super::redact_url("nats://a:b@n1:4222,nats://c:d@n2:4222"),
            "nats://a:***@n1:4222,nats://c:***@n2:4222"
        );
        assert_eq!(super::redact_url("nats://127.0.0.1:4222"), "nats://127.0.0.1:4222");
    }
}
