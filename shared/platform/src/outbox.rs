//! The transactional outbox (发件箱): events are written in the same database transaction as the
//! state change they report, and a relay publishes them to JetStream afterwards.
//!
//! A row is removed only after JetStream acknowledged it; the event id travels as
//! `Nats-Msg-Id`, so a relay that dies between the publish and the mark re-publishes into the
//! broker's duplicate window (dropped there) or, later, into the consumers' inboxes (dropped there).
//! On PostgreSQL several relays share the table with `FOR UPDATE SKIP LOCKED`, and per aggregate
//! only rows that follow the aggregate's earliest pending row without a gap are taken, so events
//! of one aggregate leave in order.

use std::{
    collections::{BTreeMap, HashSet},
    sync::Arc,
    time::Duration,
};

use async_nats::{HeaderMap, jetstream};
use bangban_contracts::{CloudEvent, Event, EventType, subjects::EventSubject};
use bangban_telemetry::{propagation, spans};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement, Value};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::{bus, config::OutboxSettings};

/// Why a relay round failed.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("database: {0}")]
    Db(#[from] DbErr),
    #[error("NATS is not connected")]
    Disconnected,
    #[error("stored headers of outbox row {0} are not valid JSON")]
    Headers(i64),
}

/// The wall clock, not the platform clock: `created_at` only measures the relay's real lag (a metric), which a
/// rehearsal clock running faster would distort.
fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

/// Placeholder `n` (1-based) of this backend.
fn ph(backend: DbBackend, n: usize) -> String {
    match backend {
        DbBackend::Postgres => format!("${n}"),
        _ => "?".to_string(),
    }
}

fn placeholders(backend: DbBackend, from: usize, count: usize) -> String {
    (from..from + count).map(|i| ph(backend, i)).collect::<Vec<_>>().join(", ")
}

/// Emits an event of type `E` in the current transaction (发布事件): builds it from `source` about
/// `aggregate_id`, and enqueues it on its subject for `office` (and `unit`, for the events a unit receives).
/// The data is the type the registry names for `E`.
pub async fn emit<E: Event, C: ConnectionTrait>(
    conn: &C,
    source: &str,
    office: &str,
    unit: Option<&str>,
    aggregate_id: &str,
    data: &E::Data,
) -> Result<(), crate::error::ServiceError> {
    emit_unchecked(conn, source, E::TYPE, office, unit, aggregate_id, data).await
}

/// [`emit`] where the event is chosen at run time among types that share one payload type (a task's
/// transition picks `task.received` or `task.approved`, both [`routing::TaskEvent`](bangban_contracts::routing::TaskEvent)).
/// Refuses an `event_type` whose registered payload is not `D`.
pub async fn emit_as<D: serde::Serialize, C: ConnectionTrait>(
    conn: &C,
    source: &str,
    event_type: EventType,
    office: &str,
    unit: Option<&str>,
    aggregate_id: &str,
    data: &D,
) -> Result<(), crate::error::ServiceError> {
    if !payload_matches::<D>(event_type) {
        return Err(crate::error::ServiceError::Event(format!(
            "{} carries {}, not {}",
            event_type.ce_type(),
            event_type.data,
            std::any::type_name::<D>()
        )));
    }
    emit_unchecked(conn, source, event_type, office, unit, aggregate_id, data).await
}

/// Is `D` the payload type the registry names for `event_type`? (The registry writes `crate::routing::TaskEvent`,
/// the compiler `bangban_contracts::routing::TaskEvent`.)
pub fn payload_matches<D>(event_type: EventType) -> bool {
    let registered: String = event_type.data.chars().filter(|c| !c.is_whitespace()).collect();
    let registered = registered.trim_start_matches("crate::");
    let actual = std::any::type_name::<D>();
    actual.strip_prefix("bangban_contracts::") == Some(registered)
}

async fn emit_unchecked<C: ConnectionTrait, T: serde::Serialize>(
    conn: &C,
    source: &str,
    event_type: EventType,
    office: &str,
    unit: Option<&str>,
    aggregate_id: &str,
    data: &T,
) -> Result<(), crate::error::ServiceError> {
    use crate::error::ServiceError;
    let event = CloudEvent::new(event_type, source, aggregate_id.to_string(), data)
        .map_err(|e| ServiceError::Event(e.to_string()))?;
    let subject = event_type.subject(office, unit).map_err(|e| ServiceError::Event(e.to_string()))?;
    enqueue(conn, &subject, &event).await?;
    Ok(())
}

/// Writes `event` for `subject` into the outbox of the connection's schema. Call it with the
/// transaction that makes the state change; the current trace context is stored with the row so
/// the publish continues the trace of the request that caused it.
pub async fn enqueue<C: ConnectionTrait>(conn: &C, subject: &EventSubject, event: &CloudEvent) -> Result<(), DbErr> {
    let mut headers = event.to_headers();
    propagation::inject_nats(&mut headers);
    let map: BTreeMap<String, String> =
        headers.iter().filter_map(|(k, v)| v.last().map(|v| (k.to_string(), v.as_str().to_string()))).collect();
    let headers_json = serde_json::to_string(&map).map_err(|e| DbErr::Custom(e.to_string()))?;
    let backend = conn.get_database_backend();
    let sql = format!(
        "INSERT INTO outbox (event_id, aggregate_id, subject, headers, payload, created_at) VALUES ({})",
        placeholders(backend, 1, 6)
    );
    conn.execute_raw(Statement::from_sql_and_values(
        backend,
        sql,
        [
            Value::from(event.id.clone()),
            Value::from(event.subject.clone().unwrap_or_default()),
            Value::from(subject.to_string()),
            Value::from(headers_json),
            Value::from(event.data.to_vec()),
            Value::from(now_micros()),
        ],
    ))
    .await?;
    Ok(())
}

/// Wakes the relay right after a commit, so events leave without waiting for the next poll.
#[derive(Clone, Default)]
pub struct OutboxNotifier(Arc<Notify>);

impl OutboxNotifier {
    pub fn new() -> Self {
        Self::default()
    }

    /// Call after committing a transaction that enqueued events.
    pub fn notify(&self) {
        self.0.notify_one();
    }
}

/// A row handed to the broker, its ack still to come.
struct InFlight {
    seq: i64,
    aggregate_id: String,
    created_at: i64,
    span: tracing::Span,
    ack: Result<async_nats::jetstream::context::PublishAckFuture, String>,
}

struct PendingRow {
    seq: i64,
    event_id: String,
    aggregate_id: String,
    subject: String,
    headers: String,
    payload: Vec<u8>,
    created_at: i64,
}

/// Publishes a service's outbox to JetStream.
#[derive(Clone)]
pub struct Relay {
    db: DatabaseConnection,
    js: jetstream::Context,
    client: async_nats::Client,
    notifier: OutboxNotifier,
    settings: OutboxSettings,
    service: &'static str,
}

impl Relay {
    pub fn new(
        service: &'static str,
        db: DatabaseConnection,
        client: async_nats::Client,
        notifier: OutboxNotifier,
        settings: OutboxSettings,
    ) -> Self {
        let js = jetstream::new(client.clone());
        Self { db, js, client, notifier, settings, service }
    }

    /// Publishes until shutdown: after every notification and every poll interval. Backs off while
    /// NATS or the database is unavailable.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut backoff = Duration::from_millis(100);
        let mut measured: Option<std::time::Instant> = None;
        loop {
            if shutdown.is_cancelled() {
                break;
            }
            let result = self.drain(Some(&shutdown)).await;
            // What is still waiting, for the alerts (bangban_outbox_pending, …_oldest_pending_seconds): at most
            // every 5 s, and also while the bus is down — that is when the backlog grows.
            if measured.is_none_or(|at| at.elapsed() >= Duration::from_secs(5)) {
                measured = Some(std::time::Instant::now());
                self.measure_backlog().await;
            }
            let wait = match result {
                Ok(_) => {
                    backoff = Duration::from_millis(100);
                    self.settings.poll_interval
                }
                Err(e) => {
                    tracing::warn!(service = self.service, error = %e, retry_in = ?backoff, "outbox relay round failed");
                    let w = backoff;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    w
                }
            };
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = self.notifier.0.notified() => {},
                _ = tokio::time::sleep(wait) => {},
            }
        }
        tracing::info!(service = self.service, "outbox relay stopped");
    }

    /// Sets the backlog gauges: rows waiting and the age of the oldest (0 when none).
    async fn measure_backlog(&self) {
        let backend = self.db.get_database_backend();
        let sql = "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM outbox WHERE published_at IS NULL";
        let row = match self.db.query_one_raw(Statement::from_string(backend, sql)).await {
            Ok(Some(row)) => row,
            Ok(None) => return,
            Err(e) => {
                tracing::debug!(service = self.service, error = %e, "outbox backlog not measured");
                return;
            }
        };
        let n: i64 = row.try_get("", "n").unwrap_or_default();
        let oldest: Option<i64> = row.try_get("", "oldest").ok().flatten();
        let age = oldest.map(|t| (now_micros() - t).max(0) as f64 / 1e6).unwrap_or(0.0);
        metrics::gauge!("bangban_outbox_pending", "service" => self.service).set(n as f64);
        metrics::gauge!("bangban_outbox_oldest_pending_seconds", "service" => self.service).set(age);
    }

    /// Publishes everything pending, batch after batch, and removes what JetStream acknowledged.
    /// Returns how many rows it published. Rows that failed stay for the next call.
    ///
    /// With a backlog, two batches are in flight at a time, so that the database work of one
    /// overlaps the broker's work on the other: on SQLite (one relay per file, rows committed in
    /// `seq` order) the next batch is read past the last one's `seq` while its acks come in; on
    /// PostgreSQL, once a round comes back full, two rounds run side by side, each in its own
    /// transaction, and skip each other's locked rows as two replicas would.
    pub async fn publish_pending(&self) -> Result<usize, RelayError> {
        self.drain(None).await
    }

    /// [`Relay::publish_pending`], stopping between batches once `stop` is cancelled.
    async fn drain(&self, stop: Option<&CancellationToken>) -> Result<usize, RelayError> {
        let stopping = || stop.is_some_and(CancellationToken::is_cancelled);
        if !bus::is_connected(&self.client) {
            return Err(RelayError::Disconnected);
        }
        if self.db.get_database_backend() == DbBackend::Postgres {
            // One round while the backlog fits a batch (the usual case: a few events per commit);
            // two side by side once full batches show there is a backlog to work through.
            let mut total = 0;
            let mut backlog = false;
            loop {
                let (a, b) = if backlog {
                    let (a, b) = tokio::join!(self.postgres_round(true), self.postgres_round(true));
                    (a?, b?)
                } else {
                    (self.postgres_round(true).await?, 0)
                };
                total += a + b;
                if (a == 0 && b == 0) || stopping() {
                    return Ok(total);
                }
                backlog = a as u64 >= self.settings.batch_size.max(1);
            }
        }
        let mut total = 0;
        let mut cursor = 0;
        let mut broken = HashSet::new();
        let mut previous: Option<Vec<InFlight>> = None;
        loop {
            let rows = self.select_pending(&self.db, false, cursor).await?;
            let Some(last) = rows.last() else { break };
            cursor = last.seq;
            total += rows.len();
            let inflight = self.send(rows).await?;
            if let Some(prev) = previous.replace(inflight) {
                self.settle_and_remove(&self.db, prev, &mut broken).await?;
            }
            if stopping() {
                break;
            }
        }
        if let Some(prev) = previous {
            self.settle_and_remove(&self.db, prev, &mut broken).await?;
        }
        Ok(total)
    }

    /// As a relay that crashes after publishing and before removing: publishes one batch, removes
    /// nothing.
    #[cfg(feature = "fault-injection")]
    pub async fn publish_pending_then_crash(&self) -> Result<usize, RelayError> {
        if self.db.get_database_backend() == DbBackend::Postgres {
            return self.postgres_round(false).await;
        }
        let rows = self.select_pending(&self.db, false, 0).await?;
        let taken = rows.len();
        self.settle(self.send(rows).await?, &mut HashSet::new()).await;
        Ok(taken)
    }

    /// One locked batch on PostgreSQL: rows stay locked until their removal commits, so another
    /// round or replica skips them.
    async fn postgres_round(&self, remove: bool) -> Result<usize, RelayError> {
        // A cheap look first, so that an idle relay holds no transaction between polls.
        if !has_pending(&self.db).await? {
            return Ok(0);
        }
        let txn = crate::db::begin_write(&self.db).await?;
        // With statistics that say almost nothing is pending (the steady state) the planner would
        // read and sort every pending row to return the first batch; walking the `outbox_pending`
        // index in order is what we want.
        txn.execute_unprepared("SET LOCAL enable_sort = off").await?;
        let rows = self.select_pending(&txn, true, 0).await?;
        let rows = self.in_order_per_aggregate(&txn, rows).await?;
        let taken = rows.len();
        if taken == 0 {
            txn.rollback().await?;
            return Ok(0);
        }
        let inflight = self.send(rows).await?;
        if remove {
            self.settle_and_remove(&txn, inflight, &mut HashSet::new()).await?;
            txn.commit().await?;
        } else {
            self.settle(inflight, &mut HashSet::new()).await;
        }
        Ok(taken)
    }

    async fn settle_and_remove<C: ConnectionTrait>(
        &self,
        conn: &C,
        inflight: Vec<InFlight>,
        broken: &mut HashSet<String>,
    ) -> Result<(), DbErr> {
        let (sent, failed) = self.settle(inflight, broken).await;
        self.remove(conn, &sent, &failed).await
    }

    async fn select_pending<C: ConnectionTrait>(
        &self,
        conn: &C,
        lock: bool,
        after: i64,
    ) -> Result<Vec<PendingRow>, DbErr> {
        let backend = conn.get_database_backend();
        let sql = format!(
            "SELECT seq, event_id, aggregate_id, subject, headers, payload, created_at FROM outbox \
             WHERE published_at IS NULL AND seq > {} ORDER BY seq LIMIT {}{}",
            ph(backend, 1),
            self.settings.batch_size.max(1),
            if lock { " FOR UPDATE SKIP LOCKED" } else { "" }
        );
        let rows = conn.query_all_raw(Statement::from_sql_and_values(backend, sql, [Value::from(after)])).await?;
        rows.into_iter()
            .map(|r| {
                Ok(PendingRow {
                    seq: r.try_get("", "seq")?,
                    event_id: r.try_get("", "event_id")?,
                    aggregate_id: r.try_get("", "aggregate_id")?,
                    subject: r.try_get("", "subject")?,
                    headers: r.try_get("", "headers")?,
                    payload: r.try_get("", "payload")?,
                    created_at: r.try_get("", "created_at")?,
                })
            })
            .collect()
    }

    /// Keeps, per aggregate, only the rows that continue the aggregate's earliest pending row
    /// without a gap (a gap is a row another replica holds).
    async fn in_order_per_aggregate<C: ConnectionTrait>(
        &self,
        conn: &C,
        rows: Vec<PendingRow>,
    ) -> Result<Vec<PendingRow>, DbErr> {
        if rows.is_empty() {
            return Ok(rows);
        }
        let backend = conn.get_database_backend();
        // Rows after the batch cannot block a row in it, and rows of aggregates outside the batch
        // block only themselves: every pending row up to the batch's last one is all we need.
        let last = rows.iter().map(|r| r.seq).max().unwrap_or_default();
        let sql = format!(
            "SELECT aggregate_id, seq FROM outbox WHERE published_at IS NULL AND seq <= {} ORDER BY seq",
            ph(backend, 1)
        );
        let all = conn.query_all_raw(Statement::from_sql_and_values(backend, sql, [Value::from(last)])).await?;
        let mine: HashSet<i64> = rows.iter().map(|r| r.seq).collect();
        let mut allowed: HashSet<i64> = HashSet::new();
        let mut blocked: HashSet<String> = HashSet::new();
        for r in all {
            let agg: String = r.try_get("", "aggregate_id")?;
            let seq: i64 = r.try_get("", "seq")?;
            if blocked.contains(&agg) {
                continue;
            }
            if mine.contains(&seq) {
                allowed.insert(seq);
            } else {
                blocked.insert(agg);
            }
        }
        Ok(rows.into_iter().filter(|r| allowed.contains(&r.seq)).collect())
    }

    /// Publishes rows in order without waiting for their acks.
    async fn send(&self, rows: Vec<PendingRow>) -> Result<Vec<InFlight>, RelayError> {
        let mut inflight = Vec::with_capacity(rows.len());
        for row in rows {
            let stored: BTreeMap<String, String> =
                serde_json::from_str(&row.headers).map_err(|_| RelayError::Headers(row.seq))?;
            let mut headers = HeaderMap::new();
            for (k, v) in &stored {
                headers.insert(k.as_str(), v.as_str());
            }
            let parent = propagation::extract_nats(Some(&headers));
            let span = spans::producer_span(&row.subject, &row.event_id, Some(parent));
            // The consumer's parent is this publish span, itself a child of the original request.
            let cx = spans::context_of(&span);
            propagation::inject_context_nats(&cx, &mut headers);
            let ack = self
                .js
                .publish_with_headers(row.subject.clone(), headers, row.payload.into())
                .instrument(span.clone())
                .await
                .map_err(|e| e.to_string());
            inflight.push(InFlight {
                seq: row.seq,
                aggregate_id: row.aggregate_id,
                created_at: row.created_at,
                span,
                ack,
            });
        }
        Ok(inflight)
    }

    /// Collects the acks in order: which rows JetStream stored, which failed. After a failed row,
    /// later rows of the same aggregate are not counted as sent either (`broken` carries that
    /// across batches): they go again with the failed one, and the broker drops the repeats.
    async fn settle(&self, inflight: Vec<InFlight>, broken: &mut HashSet<String>) -> (Vec<i64>, Vec<(i64, String)>) {
        let mut sent = Vec::with_capacity(inflight.len());
        let mut failed = Vec::new();
        for InFlight { seq, aggregate_id, created_at, span, ack } in inflight {
            let result = match ack {
                Ok(ack_future) => ack_future.await.map(drop).map_err(|e| e.to_string()),
                Err(e) => Err(e),
            };
            match result {
                Ok(()) if !broken.contains(&aggregate_id) => {
                    sent.push(seq);
                    metrics::counter!("bangban_outbox_published_total", "service" => self.service).increment(1);
                    let lag = (now_micros() - created_at).max(0) as f64 / 1e6;
                    metrics::histogram!("bangban_outbox_lag_seconds", "service" => self.service).record(lag);
                }
                Ok(()) => {}
                Err(e) => {
                    spans::mark_error(&span);
                    tracing::warn!(parent: &span, service = self.service, seq, error = %e, "outbox publish failed");
                    metrics::counter!("bangban_outbox_publish_errors_total", "service" => self.service).increment(1);
                    broken.insert(aggregate_id);
                    failed.push((seq, e));
                }
            }
        }
        (sent, failed)
    }

    async fn remove<C: ConnectionTrait>(&self, conn: &C, sent: &[i64], failed: &[(i64, String)]) -> Result<(), DbErr> {
        let backend = conn.get_database_backend();
        for chunk in sent.chunks(500) {
            // A published row has done its work: JetStream keeps the event from here on. Deleting
            // writes far less than marking (no new row version, no index entries).
            let sql = format!("DELETE FROM outbox WHERE seq IN ({})", placeholders(backend, 1, chunk.len()));
            conn.execute_raw(Statement::from_sql_and_values(backend, sql, chunk.iter().map(|s| Value::from(*s))))
                .await?;
        }
        for (seq, error) in failed {
            let sql = format!(
                "UPDATE outbox SET attempts = attempts + 1, last_error = {} WHERE seq = {}",
                ph(backend, 1),
                ph(backend, 2)
            );
            let error: String = error.chars().take(500).collect();
            conn.execute_raw(Statement::from_sql_and_values(backend, sql, [Value::from(error), Value::from(*seq)]))
                .await?;
        }
        Ok(())
    }
}

/// Rows not yet published (for readiness details, tests and the benchmark).
pub async fn pending_count<C: ConnectionTrait>(conn: &C) -> Result<i64, DbErr> {
    let backend = conn.get_database_backend();
    let row = conn
        .query_one_raw(Statement::from_string(backend, "SELECT COUNT(*) AS n FROM outbox WHERE published_at IS NULL"))
        .await?;
    Ok(row.map(|r| r.try_get::<i64>("", "n")).transpose()?.unwrap_or(0))
}

/// Is anything waiting? One index probe, however long the backlog.
pub async fn has_pending<C: ConnectionTrait>(conn: &C) -> Result<bool, DbErr> {
    let backend = conn.get_database_backend();
    let row = conn
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT EXISTS (SELECT 1 FROM outbox WHERE published_at IS NULL) AS pending",
        ))
        .await?;
    Ok(row.map(|r| r.try_get::<bool>("", "pending")).transpose()?.unwrap_or(false))
}

#[cfg(test)]
mod payload_tests {
    use bangban_contracts::{EventType, routing::TaskEvent};

    #[test]
    fn a_runtime_event_type_must_carry_the_registered_payload() {
        assert!(super::payload_matches::<TaskEvent>(EventType::TASK_APPROVED));
        assert!(super::payload_matches::<bangban_contracts::intake::CaseAccepted>(EventType::CASE_ACCEPTED));
        assert!(!super::payload_matches::<TaskEvent>(EventType::CASE_ACCEPTED));
        assert!(!super::payload_matches::<String>(EventType::TASK_APPROVED));
    }
}
