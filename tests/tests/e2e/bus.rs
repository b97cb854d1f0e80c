//! Delivery guarantees on the bus: the outbox outlives the broker, a relay crash repeats no
//! effect, a redelivered event has one effect, and poison ends in the dead-letter stream.

use std::{sync::Arc, time::Duration};

use async_nats::jetstream;
use bangban_contracts::{
    CloudEvent, EventType,
    intake::{Actor, CreateCase, NewCase},
};
use bangban_platform::{
    config::{ConsumerSettings, OutboxSettings},
    consumer::{self, ConsumerSpec, EventHandler, HandlerError, Outcome},
    outbox::{self, OutboxNotifier, Relay},
};
use futures::{StreamExt, TryStreamExt};
use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, Statement, Value as DbValue};

use crate::support::*;

fn new_case() -> CreateCase {
    CreateCase {
        actor: Actor { sub: "tester".into(), role: "assistant".into(), office: "371600".into() },
        case: serde_json::from_value::<NewCase>(sample_case()).unwrap(),
    }
}

/// The same headers without `Nats-Msg-Id`: a repeat the broker will not recognise (as one arriving
/// after the duplicate window).
fn without_msg_id(h: &async_nats::HeaderMap) -> async_nats::HeaderMap {
    let mut out = async_nats::HeaderMap::new();
    for (k, v) in h.iter() {
        let name: &str = k.as_ref();
        if name != "Nats-Msg-Id" {
            out.insert(name, v.last().unwrap().as_str());
        }
    }
    out
}

async fn stream_messages(js: &jetstream::Context, stream: &str) -> u64 {
    js.get_stream(stream).await.unwrap().info().await.unwrap().state.messages
}

#[tokio::test]
async fn outbox_outlives_the_broker_and_publishes_exactly_once() {
    let mut app = TestApp::spawn().await;
    app.nats.stop();
    // Committed through intake's own service layer while the broker is down.
    let case = app.intake.create_case(new_case()).await.expect("accepted without NATS");
    assert_eq!(outbox::pending_count(&app.intake_db).await.unwrap(), 1);

    app.nats.restart();
    let published = eventually(Duration::from_secs(20), || {
        let db = app.intake_db.clone();
        async move { outbox::pending_count(&db).await.unwrap() == 0 }
    })
    .await;
    assert!(published, "the relay published after the broker came back");
    let js = app.js();
    let c = consumer(&js, "bb.evt.>").await;
    let msg = next_message(&c, Duration::from_secs(5)).await.expect("the event");
    let event = CloudEvent::from_parts(msg.headers.as_ref(), msg.payload.clone()).unwrap();
    assert_eq!(event.subject.as_deref(), Some(case.id.to_string().as_str()));
    msg.ack().await.unwrap();
    assert!(next_message(&c, Duration::from_millis(500)).await.is_none(), "published exactly once");
    assert_eq!(stream_messages(&js, "BANGBAN_EVENTS").await, 1);
}

/// Counts effects in a table of its own, inside the consumer's transaction.
struct Effects {
    mode: Mode,
}

#[derive(Clone, Copy)]
enum Mode {
    Succeed,
    Permanent,
    Transient,
}

impl EventHandler for Effects {
    async fn handle(&self, txn: &DatabaseTransaction, _subject: &str, event: &CloudEvent) -> Result<(), HandlerError> {
        match self.mode {
            Mode::Permanent => return Err(HandlerError::Permanent("contradicts our state".into())),
            Mode::Transient => return Err(HandlerError::Transient("dependency down".into())),
            Mode::Succeed => {}
        }
        let backend = txn.get_database_backend();
        let ph = if backend == sea_orm::DbBackend::Postgres { "$1" } else { "?" };
        txn.execute_raw(Statement::from_sql_and_values(
            backend,
            format!("INSERT INTO effects (event_id) VALUES ({ph})"),
            [DbValue::from(event.id.clone())],
        ))
        .await?;
        Ok(())
    }
}

async fn effects_table(db: &DatabaseConnection) {
    db.execute_unprepared("CREATE TABLE effects (event_id VARCHAR(64) NOT NULL)").await.unwrap();
}

fn spec(name: &str, max_deliver: i64) -> ConsumerSpec {
    ConsumerSpec {
        name: name.into(),
        filter_subject: EventType::CASE_ACCEPTED.filter_all_offices(),
        settings: ConsumerSettings { max_deliver, ack_wait: Duration::from_secs(30) },
    }
}

/// Processes messages of a consumer one at a time until `n` outcomes are in.
async fn process_n(app: &TestApp, spec: &ConsumerSpec, handler: &Effects, n: usize) -> Vec<Outcome> {
    let js = app.js();
    let c = consumer::ensure_consumer(&js, spec).await.unwrap();
    let mut out = Vec::new();
    while out.len() < n {
        let mut batch = c.fetch().max_messages(1).expires(Duration::from_secs(10)).messages().await.unwrap();
        let msg = batch.next().await.expect("a delivery").unwrap();
        out.push(consumer::process(&js, &app.intake_db, spec, handler, &msg).await);
    }
    out
}

#[tokio::test]
async fn relay_stopped_between_publish_and_mark_causes_no_second_effect() {
    let app = TestApp::spawn().await;
    effects_table(&app.intake_db).await;
    // A relay over the outbox driven by hand, once the service's own has stopped: it crashes
    // after the publish, before the mark.
    assert!(app.shutdown.shutdown(Duration::from_secs(10)).await);
    let case = {
        // Write through the service layer with a notifier nobody listens to.
        let svc = app.intake.with_notifier(OutboxNotifier::new());
        svc.create_case(new_case()).await.unwrap()
    };
    let relay = Relay::new(
        "intake",
        app.intake_db.clone(),
        app.client.clone(),
        OutboxNotifier::new(),
        OutboxSettings::default(),
    );
    assert_eq!(relay.publish_pending_then_crash().await.unwrap(), 1);
    assert_eq!(outbox::pending_count(&app.intake_db).await.unwrap(), 1, "not marked: the relay 'crashed'");
    // The restarted relay publishes the row again.
    assert_eq!(relay.publish_pending().await.unwrap(), 1);
    assert_eq!(outbox::pending_count(&app.intake_db).await.unwrap(), 0);
    let js = app.js();
    assert_eq!(stream_messages(&js, "BANGBAN_EVENTS").await, 1, "the broker dropped the repeat");

    // Past the broker's duplicate window the repeat would be stored: the inbox catches it.
    let stored = js.get_stream("BANGBAN_EVENTS").await.unwrap().get_raw_message(1).await.unwrap();
    let subject = stored.subject.to_string();
    js.publish_with_headers(subject, without_msg_id(&stored.headers), stored.payload.clone())
        .await
        .unwrap()
        .await
        .unwrap();
    assert_eq!(stream_messages(&js, "BANGBAN_EVENTS").await, 2);

    let spec = spec("e2e-effects", 5);
    let handler = Effects { mode: Mode::Succeed };
    let outcomes = process_n(&app, &spec, &handler, 2).await;
    assert_eq!(outcomes, vec![Outcome::Processed, Outcome::Duplicate]);
    assert_eq!(count_rows(&app.intake_db, "effects").await, 1, "one effect");
    // The consumer's processing continues the trace of the write that produced the event.
    let spans = app.spans.get_finished_spans().unwrap();
    // This case's write (the exporter is the process's: other tests' cases are in it too).
    let case_id = case.id.to_string();
    let writer = spans
        .iter()
        .find(|s| {
            s.name == "create_case"
                && s.attributes.iter().any(|kv| kv.key.as_str() == "case.id" && kv.value.as_str() == case_id.as_str())
        })
        .expect("the service-layer span");
    let event = CloudEvent::from_parts(Some(&stored.headers), stored.payload.clone()).unwrap();
    let process = spans
        .iter()
        .find(|s| {
            s.name == "bb.evt.371600.case.accepted process"
                && s.attributes
                    .iter()
                    .any(|kv| kv.key.as_str() == "messaging.message.id" && kv.value.as_str() == event.id.as_str())
        })
        .expect("a consumer span of this event named after the subject");
    assert_eq!(process.span_context.trace_id(), writer.span_context.trace_id());
    assert!(process.attributes.iter().any(|kv| kv.key.as_str() == "messaging.system" && kv.value.as_str() == "nats"));
    assert_eq!(event.subject.as_deref(), Some(case.id.to_string().as_str()));
    assert!(consumer::already_processed(&app.intake_db, "e2e-effects", &event.id).await.unwrap());
}

#[tokio::test]
async fn the_same_event_delivered_twice_has_one_effect() {
    let app = TestApp::spawn().await;
    effects_table(&app.intake_db).await;
    let js = app.js();
    let event = CloudEvent::new(EventType::CASE_ACCEPTED, "test", "case-1", &serde_json::json!({"n": 1})).unwrap();
    let subject = "bb.evt.371600.case.accepted";
    // Twice with the same ce-id but without broker de-duplication (as after the window).
    for _ in 0..2 {
        js.publish_with_headers(subject, without_msg_id(&event.to_headers()), event.data.clone())
            .await
            .unwrap()
            .await
            .unwrap();
    }
    let handler = Arc::new(Effects { mode: Mode::Succeed });
    let spec = spec("e2e-twice", 5);
    let outcomes = process_n(&app, &spec, &handler, 2).await;
    assert_eq!(outcomes, vec![Outcome::Processed, Outcome::Duplicate]);
    assert_eq!(count_rows(&app.intake_db, "effects").await, 1);
    assert_eq!(count_rows(&app.intake_db, "inbox").await, 1);

    // And through the running consumer loop, a redelivery of an already processed event is acked.
    let token = app.shutdown.token();
    let (client, db) = (app.client.clone(), app.intake_db.clone());
    let run = tokio::spawn(consumer::run(client, db, spec.clone(), handler.clone(), token.child_token()));
    js.publish_with_headers(subject, without_msg_id(&event.to_headers()), event.data.clone())
        .await
        .unwrap()
        .await
        .unwrap();
    let drained = eventually(Duration::from_secs(10), || {
        let js = js.clone();
        async move {
            let mut c = js
                .get_consumer_from_stream::<jetstream::consumer::pull::Config, _, _>("e2e-twice", "BANGBAN_EVENTS")
                .await
                .unwrap();
            let info = c.info().await.unwrap();
            info.num_pending == 0 && info.num_ack_pending == 0
        }
    })
    .await;
    assert!(drained);
    assert_eq!(count_rows(&app.intake_db, "effects").await, 1);
    run.abort();
}

#[tokio::test]
async fn poison_messages_end_in_the_dead_letter_stream() {
    let app = TestApp::spawn().await;
    effects_table(&app.intake_db).await;
    let js = app.js();
    let subject = "bb.evt.371600.case.accepted";

    // 1. Not a CloudEvent at all.
    js.publish(subject, "garbage".into()).await.unwrap().await.unwrap();
    let spec_bad = spec("e2e-poison", 3);
    let out = process_n(&app, &spec_bad, &Effects { mode: Mode::Succeed }, 1).await;
    assert!(matches!(&out[0], Outcome::DeadLettered { reason } if reason.contains("invalid envelope")), "{out:?}");

    // 2. A handler that can never succeed.
    let event = CloudEvent::new(EventType::CASE_ACCEPTED, "test", "c-2", &1).unwrap();
    js.publish_with_headers(subject, event.to_headers(), event.data.clone()).await.unwrap().await.unwrap();
    let spec_perm = ConsumerSpec { name: "e2e-permanent".into(), ..spec_bad.clone() };
    let out = process_n(&app, &spec_perm, &Effects { mode: Mode::Permanent }, 2).await;
    // The consumer starts at the beginning: the garbage first, then the event.
    assert!(out.iter().all(|o| matches!(o, Outcome::DeadLettered { .. })), "{out:?}");

    // 3. A transient failure that does not go away: retried, then dead-lettered at max_deliver.
    let spec_tr = ConsumerSpec {
        name: "e2e-transient".into(),
        filter_subject: subject.into(),
        settings: ConsumerSettings { max_deliver: 2, ack_wait: Duration::from_secs(30) },
    };
    let out = process_n(&app, &spec_tr, &Effects { mode: Mode::Transient }, 1).await;
    assert!(matches!(out[0], Outcome::DeadLettered { .. }), "garbage: {out:?}");
    let out = process_n(&app, &spec_tr, &Effects { mode: Mode::Transient }, 2).await;
    assert!(matches!(out[0], Outcome::Retried { .. }), "{out:?}");
    assert!(matches!(&out[1], Outcome::DeadLettered { reason } if reason.contains("gave up")), "{out:?}");

    // Only this test's consumers count: planning's own consumer of case events dead-letters the garbage too.
    let dlq = js.get_stream("BANGBAN_DLQ").await.unwrap();
    let mut subjects = dlq.info_with_subjects("bb.dlq.*").await.unwrap();
    let mut ours = 0;
    while let Some((subject, n)) = subjects.try_next().await.unwrap() {
        if subject.starts_with("bb.dlq.e2e-") {
            ours += n;
        }
    }
    assert_eq!(ours, 5);
    let first = dlq.get_first_raw_message_by_subject("bb.dlq.e2e-poison", 1).await.unwrap();
    assert_eq!(first.subject.as_str(), "bb.dlq.e2e-poison");
    assert_eq!(first.headers.get("bb-dlq-original-subject").unwrap().as_str(), subject);
    assert!(first.headers.get("bb-dlq-reason").is_some());
    assert_eq!(first.payload.as_ref(), b"garbage");
    assert_eq!(count_rows(&app.intake_db, "effects").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 3)]
async fn several_relays_on_postgresql_publish_each_row_once_in_order_per_aggregate() {
    let app = TestApp::spawn().await;
    if app.intake_db.get_database_backend() != sea_orm::DbBackend::Postgres {
        eprintln!("several relays share an outbox only on PostgreSQL (set TEST_DATABASE_URL); SQLite has one relay");
        return;
    }
    // Stop the service's own relay (and wait until it has); three replicas take over.
    assert!(app.shutdown.shutdown(Duration::from_secs(10)).await);
    let aggregates = 6;
    let per_aggregate = 60;
    for n in 0..per_aggregate {
        for a in 0..aggregates {
            let event =
                CloudEvent::new(EventType::CASE_ACCEPTED, "test", format!("agg-{a}"), &serde_json::json!({"n": n}))
                    .unwrap();
            let subject = EventType::CASE_ACCEPTED.subject("371600", None).unwrap();
            outbox::enqueue(&app.intake_db, &subject, &event).await.unwrap();
        }
    }
    let settings = OutboxSettings { batch_size: 16, ..OutboxSettings::default() };
    let mut replicas = Vec::new();
    for _ in 0..3 {
        let relay =
            Relay::new("intake", app.intake_db.clone(), app.client.clone(), OutboxNotifier::new(), settings.clone());
        let db = app.intake_db.clone();
        replicas.push(tokio::spawn(async move {
            let mut taken = 0;
            loop {
                taken += relay.publish_pending().await.unwrap();
                if outbox::pending_count(&db).await.unwrap() == 0 {
                    return taken;
                }
            }
        }));
    }
    let mut total = 0;
    for r in replicas {
        total += r.await.unwrap();
    }
    assert_eq!(total, aggregates * per_aggregate, "every row was taken by exactly one replica");

    let js = app.js();
    assert_eq!(stream_messages(&js, "BANGBAN_EVENTS").await, (aggregates * per_aggregate) as u64);
    let c = consumer(&js, "bb.evt.>").await;
    let mut last: std::collections::HashMap<String, i64> = std::collections::HashMap::new();
    let mut messages =
        c.fetch().max_messages(aggregates * per_aggregate).expires(Duration::from_secs(10)).messages().await.unwrap();
    let mut seen = 0;
    while let Some(Ok(msg)) = messages.next().await {
        let event = CloudEvent::from_parts(msg.headers.as_ref(), msg.payload.clone()).unwrap();
        let n = event.data_as::<serde_json::Value>().unwrap()["n"].as_i64().unwrap();
        let agg = event.subject.clone().unwrap();
        if let Some(prev) = last.insert(agg.clone(), n) {
            assert_eq!(n, prev + 1, "events of {agg} left in order");
        }
        seen += 1;
        if seen == aggregates * per_aggregate {
            break;
        }
    }
    assert_eq!(seen, aggregates * per_aggregate);
}

#[tokio::test]
async fn connecting_retries_until_nats_comes_up_and_gives_up_at_the_deadline() {
    let mut nats = bangban_testkit::NatsServer::start().await.unwrap();
    nats.stop();
    let mut settings = bangban_platform::config::NatsSettings {
        url: nats.url(),
        connect_deadline: Duration::from_secs(1),
        ..Default::default()
    };
    let err = bangban_platform::bus::connect(&settings, "t").await.unwrap_err();
    assert!(err.to_string().contains("could not reach NATS"), "{err}");

    settings.connect_deadline = Duration::from_secs(20);
    let connecting = tokio::spawn(async move { bangban_platform::bus::connect(&settings, "t").await });
    // Let the first attempts fail, then bring the server up.
    tokio::time::sleep(Duration::from_millis(300)).await;
    nats.restart();
    let client = connecting.await.unwrap().expect("connected once the server came up");
    assert!(bangban_platform::bus::is_connected(&client));
    // The streams are created, and ensuring them again leaves them as they are, without an error.
    let js = jetstream::new(client);
    bangban_platform::bus::ensure_streams(&js, 1).await.unwrap();
    bangban_platform::bus::ensure_streams(&js, 1).await.unwrap();
    let info = js.get_stream("BANGBAN_EVENTS").await.unwrap().info().await.unwrap().config.clone();
    assert_eq!(info.duplicate_window, Duration::from_secs(120));
    assert_eq!(info.subjects, vec!["bb.evt.>".to_string()]);
    assert_eq!(info.storage, jetstream::stream::StorageType::File);
}
