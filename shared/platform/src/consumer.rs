//! The idempotent event consumer (幂等消费): a durable JetStream pull consumer with explicit acks,
//! and an inbox table that records each processed event id in the same transaction as the
//! handler's effect, so a redelivered event never repeats its effect.
//!
//! Transient failures are nak'ed with a growing delay; permanent failures, undecodable messages
//! and messages delivered too often are copied to `BANGBAN_DLQ` with the reason and terminated.

use std::{future::Future, sync::Arc, time::Duration};

use async_nats::jetstream::{self, AckKind, consumer::pull};
use bangban_contracts::{
    CloudEvent, Event,
    subjects::{EVENTS_STREAM, dlq_subject},
};
use bangban_telemetry::{propagation, spans};
use futures::StreamExt;
use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr, Statement, Value};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::config::ConsumerSettings;

/// How a handler failed.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// Try again later (a dependency is down, a conflict): the message is nak'ed with a delay.
    #[error("transient: {0}")]
    Transient(String),
    /// Will never succeed (the event contradicts our state): dead-lettered at once.
    #[error("permanent: {0}")]
    Permanent(String),
}

impl From<DbErr> for HandlerError {
    /// The database failing is retried; a stored value that cannot be read as its type would fail again.
    fn from(e: DbErr) -> Self {
        if crate::error::is_unreadable_value(&e) {
            Self::Permanent(format!("stored data is inconsistent: {e}"))
        } else {
            Self::Transient(format!("database: {e}"))
        }
    }
}

/// What a consumer does with one event, inside the transaction that also records it in the inbox.
pub trait EventHandler: Send + Sync + 'static {
    fn handle(
        &self,
        txn: &DatabaseTransaction,
        subject: &str,
        event: &CloudEvent,
    ) -> impl Future<Output = Result<(), HandlerError>> + Send;

    /// Called after the transaction of a handled event committed (e.g. to wake the outbox relay for the
    /// events the handler enqueued).
    fn committed(&self) {}
}

/// The data of `event` if it is an `E` (one route of a consumer's dispatch); data that does not decode as the
/// registry says is a permanent failure.
pub fn data_of<E: Event>(event: &CloudEvent) -> Result<Option<E::Data>, HandlerError> {
    if event.event_type() != Some(E::TYPE) {
        return Ok(None);
    }
    event.data_as::<E::Data>().map(Some).map_err(|e| HandlerError::Permanent(format!("{}: {e}", E::TYPE.ce_type())))
}

/// Routes an event by its type to typed handlers (消费分派): each arm names one or more event types (markers of
/// [`bangban_contracts::events`]) sharing one payload type, binds the decoded data (and, optionally, the
/// event's type), and evaluates to `Result<(), HandlerError>`. Types no arm names are acknowledged and ignored.
///
/// ```ignore
/// use bangban_contracts::events::{PlanPublished, TaskApproved, TaskRejected};
/// dispatch!(event, {
///     PlanPublished => |plan| self.on_plan(txn, &plan).await,
///     TaskApproved | TaskRejected => |task, t| self.on_concluded(txn, t, &task).await,
/// })
/// ```
#[macro_export]
macro_rules! dispatch {
    ($event:expr, { $( $first:path $(| $rest:path)* => |$data:pat_param $(, $t:pat_param)?| $body:expr ),* $(,)? }) => {{
        let __event: &$crate::contracts::CloudEvent = $event;
        match __event.event_type() {
            $(
                Some(__t) if __t == <$first as $crate::contracts::Event>::TYPE
                    $(|| __t == <$rest as $crate::contracts::Event>::TYPE)* => {
                    // Every type of one arm carries the same payload.
                    $( let _same_payload: fn(<$rest as $crate::contracts::Event>::Data) -> <$first as $crate::contracts::Event>::Data = |d| d; )*
                    let __data = __event
                        .data_as::<<$first as $crate::contracts::Event>::Data>()
                        .map_err(|e| $crate::consumer::HandlerError::Permanent(format!("{}: {e}", __t.ce_type())));
                    match __data {
                        Ok($data) => {
                            $( let $t = __t; )?
                            let __result: Result<(), $crate::consumer::HandlerError> = $body;
                            __result
                        }
                        Err(e) => Err(e),
                    }
                }
            )*
            _ => Ok(()),
        }
    }};
}

/// A durable consumer on `BANGBAN_EVENTS`.
#[derive(Debug, Clone)]
pub struct ConsumerSpec {
    /// Durable name; also the inbox key and the dead-letter subject (`bb.dlq.<name>`).
    pub name: String,
    /// Subject filter (`bb.evt.*.case.accepted`, `bb.evt.371625.>`).
    pub filter_subject: String,
    pub settings: ConsumerSettings,
}

/// What happened to one message (returned for tests and counted in metrics).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Processed,
    Duplicate,
    Retried { delay: Duration },
    DeadLettered { reason: String },
}

/// Delay before redelivering after the `delivered`-th failed attempt: 1 s, 2 s, 4 s … 60 s.
pub fn backoff(delivered: i64) -> Duration {
    let exp = (delivered.max(1) - 1).min(6) as u32;
    Duration::from_secs(2u64.pow(exp)).min(Duration::from_secs(60))
}

/// Creates (or binds to) the durable consumer.
pub async fn ensure_consumer(
    js: &jetstream::Context,
    spec: &ConsumerSpec,
) -> Result<jetstream::consumer::Consumer<pull::Config>, async_nats::Error> {
    let stream = js.get_stream(EVENTS_STREAM).await?;
    let config = pull::Config {
        durable_name: Some(spec.name.clone()),
        filter_subject: spec.filter_subject.clone(),
        ack_policy: jetstream::consumer::AckPolicy::Explicit,
        ack_wait: spec.settings.ack_wait,
        max_deliver: spec.settings.max_deliver,
        deliver_policy: jetstream::consumer::DeliverPolicy::All,
        ..Default::default()
    };
    Ok(stream.get_or_create_consumer(&spec.name, config).await?)
}

/// Runs [`run`] as a background task of `shutdown`, logging how it ended.
pub fn spawn<H: EventHandler>(
    shutdown: &crate::shutdown::Shutdown,
    client: async_nats::Client,
    db: DatabaseConnection,
    spec: ConsumerSpec,
    handler: Arc<H>,
) {
    let token = shutdown.token();
    shutdown.spawn(async move {
        let name = spec.name.clone();
        if let Err(e) = run(client, db, spec, handler, token).await {
            tracing::error!(consumer = %name, error = %e, "consumer stopped with an error");
        }
    });
}

/// Runs a consumer until shutdown, one message at a time (so one aggregate's events keep order).
pub async fn run<H: EventHandler>(
    client: async_nats::Client,
    db: DatabaseConnection,
    spec: ConsumerSpec,
    handler: Arc<H>,
    shutdown: CancellationToken,
) -> Result<(), async_nats::Error> {
    let js = jetstream::new(client);
    let consumer = ensure_consumer(&js, &spec).await?;
    let mut messages = consumer.messages().await?;
    loop {
        let next = tokio::select! {
            _ = shutdown.cancelled() => break,
            m = messages.next() => m,
        };
        match next {
            None => break,
            Some(Err(e)) => {
                tracing::warn!(consumer = %spec.name, error = %e, "consumer stream error");
                continue;
            }
            Some(Ok(msg)) => {
                process(&js, &db, &spec, handler.as_ref(), &msg).await;
            }
        }
    }
    tracing::info!(consumer = %spec.name, "consumer stopped");
    Ok(())
}

/// Handles one delivered message end to end: decode, dedupe, handle, record, ack.
pub async fn process<H: EventHandler>(
    js: &jetstream::Context,
    db: &DatabaseConnection,
    spec: &ConsumerSpec,
    handler: &H,
    msg: &jetstream::Message,
) -> Outcome {
    let delivered = msg.info().map(|i| i.delivered).unwrap_or(1);
    let subject = msg.subject.to_string();
    let msg_id = msg.headers.as_ref().and_then(|h| h.get("ce-id")).map(|v| v.as_str().to_string()).unwrap_or_default();
    let span = spans::consumer_span(&subject, &msg_id, &spec.name, propagation::extract_nats(msg.headers.as_ref()));
    let outcome = async {
        let event = match CloudEvent::from_parts(msg.headers.as_ref(), msg.payload.clone()) {
            Ok(e) => e,
            Err(e) => return dead_letter(js, spec, msg, delivered, &format!("invalid envelope: {e}")).await,
        };
        match handle_once(db, spec, handler, &subject, &event).await {
            Ok(true) => {
                ack(msg, AckKind::Ack).await;
                Outcome::Processed
            }
            Ok(false) => {
                ack(msg, AckKind::Ack).await;
                Outcome::Duplicate
            }
            Err(HandlerError::Permanent(reason)) => dead_letter(js, spec, msg, delivered, &reason).await,
            Err(HandlerError::Transient(reason)) if delivered >= spec.settings.max_deliver => {
                dead_letter(js, spec, msg, delivered, &format!("gave up after {delivered} deliveries: {reason}")).await
            }
            Err(HandlerError::Transient(reason)) => {
                let delay = backoff(delivered);
                tracing::warn!(consumer = %spec.name, delivered, ?delay, %reason, "event handling failed; will retry");
                ack(msg, AckKind::Nak(Some(delay))).await;
                Outcome::Retried { delay }
            }
        }
    }
    .instrument(span.clone())
    .await;
    let label = match &outcome {
        Outcome::Processed => "processed",
        Outcome::Duplicate => "duplicate",
        Outcome::Retried { .. } => "retried",
        Outcome::DeadLettered { .. } => {
            spans::mark_error(&span);
            "dead_lettered"
        }
    };
    metrics::counter!("bangban_events_consumed_total", "consumer" => spec.name.clone(), "outcome" => label)
        .increment(1);
    outcome
}

/// Runs the handler in a transaction with the inbox row. `Ok(false)`: already processed.
async fn handle_once<H: EventHandler>(
    db: &DatabaseConnection,
    spec: &ConsumerSpec,
    handler: &H,
    subject: &str,
    event: &CloudEvent,
) -> Result<bool, HandlerError> {
    let txn = crate::db::begin_write(db).await?;
    if already_processed(&txn, &spec.name, &event.id).await? {
        txn.rollback().await?;
        return Ok(false);
    }
    handler.handle(&txn, subject, event).await?;
    let backend = txn.get_database_backend();
    let (a, b, c, d) = match backend {
        sea_orm::DbBackend::Postgres => ("$1", "$2", "$3", "$4"),
        _ => ("?", "?", "?", "?"),
    };
    let insert = txn
        .execute_raw(Statement::from_sql_and_values(
            backend,
            format!("INSERT INTO inbox (consumer, event_id, event_type, processed_at) VALUES ({a}, {b}, {c}, {d})"),
            [
                Value::from(spec.name.clone()),
                Value::from(event.id.clone()),
                Value::from(event.type_.clone()),
                // The wall clock: when the event was really processed (bookkeeping of delivery, like JetStream's).
                Value::from(chrono::Utc::now().timestamp_micros()),
            ],
        ))
        .await;
    match insert {
        Ok(_) => {}
        // Another replica processed the same event concurrently and committed first.
        Err(e) if is_unique_violation(&e) => {
            txn.rollback().await?;
            return Ok(false);
        }
        Err(e) => return Err(e.into()),
    }
    match txn.commit().await {
        Ok(()) => {
            handler.committed();
            Ok(true)
        }
        Err(e) if is_unique_violation(&e) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

use crate::db::is_unique_violation;

/// Has this consumer processed this event?
pub async fn already_processed<C: ConnectionTrait>(conn: &C, consumer: &str, event_id: &str) -> Result<bool, DbErr> {
    let backend = conn.get_database_backend();
    let (a, b) = match backend {
        sea_orm::DbBackend::Postgres => ("$1", "$2"),
        _ => ("?", "?"),
    };
    let row = conn
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            format!("SELECT 1 AS one FROM inbox WHERE consumer = {a} AND event_id = {b}"),
            [Value::from(consumer.to_string()), Value::from(event_id.to_string())],
        ))
        .await?;
    Ok(row.is_some())
}

async fn ack(msg: &jetstream::Message, kind: AckKind) {
    if let Err(e) = msg.ack_with(kind).await {
        // The server redelivers after ack_wait; the inbox makes that harmless.
        tracing::warn!(error = %e, "ack failed");
    }
}

/// Copies the message to `bb.dlq.<consumer>` with the reason, then terminates it. If the copy
/// cannot be stored, the message is nak'ed instead so that nothing is lost.
async fn dead_letter(
    js: &jetstream::Context,
    spec: &ConsumerSpec,
    msg: &jetstream::Message,
    delivered: i64,
    reason: &str,
) -> Outcome {
    let (stream_seq, stream) = msg.info().map(|i| (i.stream_sequence, i.stream.to_string())).unwrap_or_default();
    let mut headers = msg.headers.clone().unwrap_or_default();
    headers.insert("Nats-Msg-Id", format!("{}:{}:{}", spec.name, stream, stream_seq).as_str());
    headers.insert("bb-dlq-consumer", spec.name.as_str());
    headers.insert("bb-dlq-reason", bangban_contracts::envelope::encode_header_value(reason));
    headers.insert("bb-dlq-original-subject", msg.subject.as_str());
    headers.insert("bb-dlq-stream-seq", stream_seq.to_string().as_str());
    headers.insert("bb-dlq-deliveries", delivered.to_string().as_str());
    let stored = match js.publish_with_headers(dlq_subject(&spec.name), headers, msg.payload.clone()).await {
        Ok(ack_fut) => ack_fut.await.map(drop).map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    match stored {
        Ok(()) => {
            tracing::error!(consumer = %spec.name, subject = %msg.subject, %reason, "event dead-lettered");
            ack(msg, AckKind::Term).await;
            Outcome::DeadLettered { reason: reason.to_string() }
        }
        Err(e) => {
            tracing::error!(consumer = %spec.name, error = %e, "could not dead-letter; will retry");
            let delay = backoff(delivered);
            ack(msg, AckKind::Nak(Some(delay))).await;
            Outcome::Retried { delay }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(event: &CloudEvent, seen: &mut Vec<String>) -> Result<(), HandlerError> {
        use bangban_contracts::events::{CaseAccepted, TaskApproved, TaskRejected};
        crate::dispatch!(event, {
            CaseAccepted => |case| {
                seen.push(format!("accepted {}", case.case_id));
                Ok(())
            },
            TaskApproved | TaskRejected => |task, t| {
                seen.push(format!("{} {}", t.event, task.task_id));
                Ok(())
            },
        })
    }

    #[test]
    fn dispatch_routes_by_type_and_decodes_the_registered_payload() {
        use bangban_contracts::EventType;
        let mut seen = Vec::new();
        let other = CloudEvent::new(EventType::SMS_SENT, "t", "x", &serde_json::json!({})).unwrap();
        route(&other, &mut seen).unwrap();
        assert!(seen.is_empty(), "an event no arm names is ignored");
        let bad = CloudEvent::new(EventType::TASK_APPROVED, "t", "x", &serde_json::json!({"nope": 1})).unwrap();
        assert!(matches!(route(&bad, &mut seen), Err(HandlerError::Permanent(_))), "undecodable data is permanent");
        assert!(data_of::<bangban_contracts::events::TaskApproved>(&other).unwrap().is_none());
        assert!(seen.is_empty());
    }

    #[test]
    fn backoff_grows_and_caps() {
        use std::time::Duration;
        assert_eq!(super::backoff(1), Duration::from_secs(1));
        assert_eq!(super::backoff(2), Duration::from_secs(2));
        assert_eq!(super::backoff(4), Duration::from_secs(8));
        assert_eq!(super::backoff(100), Duration::from_secs(60));
    }
}
