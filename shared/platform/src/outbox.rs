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
    collections::{BTreeMap, HashMap, HashSet},
    sync::Arc,
    time::Duration,
};

use async_nats::{HeaderMap, jetstream};
use bangban_contracts::{CloudEvent, subjects::EventSubject};
use bangban_telemetry::{propagation, spans};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement, TransactionTrait, Value};
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

    /// Publishes until shutdown: after every notification, every poll interval, and at once again
    /// while full batches keep coming. Backs off while NATS or the database is unavailable.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut backoff = Duration::from_millis(100);
        loop {
            if shutdown.is_cancelled() {
                break;
            }
            let wait = match self.publish_pending().await {
                Ok(n) if n as u64 >= self.settings.batch_size => {
                    backoff = Duration::from_millis(100);
                    continue;
                }
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

    /// One round: publishes up to a batch of pending rows and marks those JetStream acknowledged.
    /// Returns how many rows it took.
    pub async fn publish_pending(&self) -> Result<usize, RelayError> {
        self.round(true).await
    }

    /// As a relay that crashes after publishing and before marking: publishes, marks nothing.
    #[cfg(feature = "fault-injection")]
    pub async fn publish_pending_then_crash(&self) -> Result<usize, RelayError> {
        self.round(false).await
    }

    async fn round(&self, mark: bool) -> Result<usize, RelayError> {
        if !bus::is_connected(&self.client) {
            return Err(RelayError::Disconnected);
        }
        let backend = self.db.get_database_backend();
        if backend == DbBackend::Postgres {
            // A cheap look first, so that an idle relay holds no transaction between polls.
            if !has_pending(&self.db).await? {
                return Ok(0);
            }
            // Rows stay locked until the marks commit, so another replica skips them.
            let txn = self.db.begin().await?;
            // With statistics that say almost nothing is pending (the steady state) the planner
            // would read and sort every pending row to return the first batch; walking the
            // `outbox_pending` index in order is what we want.
            txn.execute_unprepared("SET LOCAL enable_sort = off").await?;
            let rows = self.select_pending(&txn, true).await?;
            let rows = self.in_order_per_aggregate(&txn, rows).await?;
            let taken = rows.len();
            let (sent, failed) = self.publish(rows).await?;
            if mark {
                self.mark(&txn, &sent, &failed).await?;
                txn.commit().await?;
            }
            Ok(taken)
        } else {
            // One relay per SQLite file; no transaction is held across the publish so that the
            // service's own writes are never blocked by it.
            let rows = self.select_pending(&self.db, false).await?;
            let taken = rows.len();
            let (sent, failed) = self.publish(rows).await?;
            if mark {
                self.mark(&self.db, &sent, &failed).await?;
            }
            Ok(taken)
        }
    }

    async fn select_pending<C: ConnectionTrait>(&self, conn: &C, lock: bool) -> Result<Vec<PendingRow>, DbErr> {
        let backend = conn.get_database_backend();
        let sql = format!(
            "SELECT seq, event_id, aggregate_id, subject, headers, payload, created_at FROM outbox \
             WHERE published_at IS NULL ORDER BY seq LIMIT {}{}",
            self.settings.batch_size.max(1),
            if lock { " FOR UPDATE SKIP LOCKED" } else { "" }
        );
        let rows = conn.query_all_raw(Statement::from_string(backend, sql)).await?;
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

    /// Publishes rows in order without waiting between them, then collects the acks in order.
    /// After a failed row, later rows of the same aggregate are not marked either: they go again
    /// with the failed one (the broker drops the repeats), which keeps the aggregate's order.
    async fn publish(&self, rows: Vec<PendingRow>) -> Result<(Vec<i64>, Vec<(i64, String)>), RelayError> {
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
            let fut = self
                .js
                .publish_with_headers(row.subject.clone(), headers, row.payload.into())
                .instrument(span.clone())
                .await;
            inflight.push((row.seq, row.aggregate_id, row.created_at, span, fut));
        }
        let mut sent = Vec::new();
        let mut failed = Vec::new();
        let mut broken: HashSet<String> = HashSet::new();
        let mut per_agg_last: HashMap<String, i64> = HashMap::new();
        for (seq, agg, created_at, span, fut) in inflight {
            let result = match fut {
                Ok(ack_future) => ack_future.await.map(|_| ()).map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            match result {
                Ok(()) if !broken.contains(&agg) => {
                    sent.push(seq);
                    per_agg_last.insert(agg, seq);
                    metrics::counter!("bangban_outbox_published_total", "service" => self.service).increment(1);
                    let lag = (now_micros() - created_at).max(0) as f64 / 1e6;
                    metrics::histogram!("bangban_outbox_lag_seconds", "service" => self.service).record(lag);
                }
                Ok(()) => {}
                Err(e) => {
                    spans::mark_error(&span);
                    tracing::warn!(parent: &span, service = self.service, seq, error = %e, "outbox publish failed");
                    metrics::counter!("bangban_outbox_publish_errors_total", "service" => self.service).increment(1);
                    broken.insert(agg);
                    failed.push((seq, e));
                }
            }
        }
        Ok((sent, failed))
    }

    async fn mark<C: ConnectionTrait>(&self, conn: &C, sent: &[i64], failed: &[(i64, String)]) -> Result<(), DbErr> {
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
