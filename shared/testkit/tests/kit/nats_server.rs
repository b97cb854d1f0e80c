//! `NatsServer`: start, JetStream, stop and restart on the same port, config files.

use std::time::Duration;

use anyhow::Context;
use async_nats::{
    ConnectErrorKind, Event,
    jetstream::{self, stream},
};
use bangban_testkit::NatsServer;
use tokio::sync::mpsc;

/// Upper bound for anything the tests wait for; reaching it is a failure, not a synchronisation.
const WAIT: Duration = Duration::from_secs(10);

/// A client whose connection events are reported on a channel.
async fn watched_client(server: &NatsServer) -> anyhow::Result<(async_nats::Client, mpsc::UnboundedReceiver<Event>)> {
    let (tx, rx) = mpsc::unbounded_channel();
    let client = async_nats::ConnectOptions::new()
        .event_callback(move |event| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(event);
            }
        })
        // Retry quickly while the server is away, so the test does not wait on backoff.
        .reconnect_delay_callback(|_| Duration::from_millis(50))
        .connect(server.url())
        .await?;
    Ok((client, rx))
}

/// Waits for `wanted`, skipping other events.
async fn expect_event(events: &mut mpsc::UnboundedReceiver<Event>, wanted: Event) -> anyhow::Result<()> {
    let wanted_text = wanted.to_string();
    tokio::time::timeout(WAIT, async {
        while let Some(event) = events.recv().await {
            if event.to_string() == wanted_text {
                return Ok(());
            }
        }
        anyhow::bail!("event channel closed before {wanted_text}")
    })
    .await
    .with_context(|| format!("no {wanted_text} event within {WAIT:?}"))?
}

#[tokio::test]
async fn starts_on_a_random_port_with_its_own_store() -> anyhow::Result<()> {
    let a = NatsServer::start().await?;
    let b = NatsServer::start().await?;
    assert_ne!(a.port(), 0);
    assert_ne!(a.port(), b.port());
    assert_eq!(a.url(), format!("nats://127.0.0.1:{}", a.port()));
    assert_ne!(a.store_dir(), b.store_dir());
    assert!(a.is_running());
    assert!(a.log().contains("Server is ready"), "{}", a.log());

    let client = a.client().await?;
    let mut sub = client.subscribe("kit.echo").await?;
    client.publish("kit.echo", "ping".into()).await?;
    client.flush().await?;
    let msg = tokio::time::timeout(WAIT, futures::StreamExt::next(&mut sub)).await?.context("subscription ended")?;
    assert_eq!(&msg.payload[..], b"ping");
    Ok(())
}

#[tokio::test]
async fn jetstream_survives_stop_and_restart_on_the_same_port() -> anyhow::Result<()> {
    let mut server = NatsServer::start().await?;
    let port = server.port();
    let (client, mut events) = watched_client(&server).await?;
    let js = jetstream::new(client.clone());
    js.create_stream(stream::Config {
        name: "KIT".into(),
        subjects: vec!["kit.>".into()],
        storage: stream::StorageType::File,
        ..Default::default()
    })
    .await?;
    let ack = js.publish("kit.one", "kept".into()).await?.await?;
    assert_eq!(ack.sequence, 1);

    server.stop();
    assert!(!server.is_running());
    expect_event(&mut events, Event::Disconnected).await?;
    assert_eq!(client.connection_state(), async_nats::connection::State::Disconnected);
    assert!(server.store_dir().join("jetstream").is_dir(), "the store is kept while stopped");

    server.restart();
    assert_eq!(server.port(), port);
    expect_event(&mut events, Event::Connected).await?;

    let mut stream = js.get_stream("KIT").await?;
    assert_eq!(stream.info().await?.state.messages, 1);
    let message = stream.get_raw_message(1).await?;
    assert_eq!(message.subject.as_str(), "kit.one");
    assert_eq!(&message.payload[..], b"kept");

    // And the reconnected client publishes again.
    let ack = js.publish("kit.two", "after".into()).await?.await?;
    assert_eq!(ack.sequence, 2);
    Ok(())
}

#[tokio::test]
async fn restart_of_a_running_server_stops_it_first() -> anyhow::Result<()> {
    let mut server = NatsServer::start().await?;
    let port = server.port();
    server.try_restart()?;
    assert_eq!(server.port(), port);
    let client = server.client().await?;
    client.flush().await?;
    // Two start banners in the log: one per run.
    assert_eq!(server.log().matches("Server is ready").count(), 2, "{}", server.log());
    Ok(())
}

#[tokio::test]
async fn kill_is_a_crash_and_drop_frees_the_port() -> anyhow::Result<()> {
    let mut server = NatsServer::start().await?;
    let url = server.url();
    server.kill();
    assert!(!server.is_running());
    assert!(async_nats::connect(&url).await.is_err(), "nothing listens after kill");
    server.restart();
    drop(server);
    assert!(async_nats::connect(&url).await.is_err(), "nothing listens after drop");
    Ok(())
}

#[tokio::test]
async fn with_config_applies_the_file() -> anyhow::Result<()> {
    let server = NatsServer::with_config("authorization {\n  token: \"s3cret\"\n}\n").await?;

    let refused = async_nats::connect(server.url()).await.expect_err("a token is required");
    assert_eq!(refused.kind(), ConnectErrorKind::AuthorizationViolation, "{refused}");

    let client = async_nats::ConnectOptions::with_token("s3cret".into()).connect(server.url()).await?;
    client.flush().await?;
    // JetStream is on even with a config file that does not mention it. (Not `query_account`:
    // async-nats 0.51 cannot parse nats-server 2.9's account info.)
    let js = jetstream::new(client);
    js.create_stream(stream::Config { name: "CONF".into(), subjects: vec!["conf.>".into()], ..Default::default() })
        .await?;
    js.publish("conf.x", "y".into()).await?.await?;
    Ok(())
}

#[tokio::test]
async fn a_bad_config_fails_fast_with_the_log() -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let err = NatsServer::with_config("this is { not a config").await.expect_err("a broken config must fail");
    let text = format!("{err:#}");
    assert!(text.contains("exited before it was ready"), "{text}");
    assert!(text.contains("nats-server log"), "{text}");
    assert!(started.elapsed() < WAIT, "failed fast, not by timeout");
    Ok(())
}
