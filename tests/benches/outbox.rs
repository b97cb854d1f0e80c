//! Outbox relay benchmark (发件箱基准): relay throughput next to a raw JetStream async-publish loop.
//!
//! Two measurements, on a real `nats-server` (random port, own JetStream store) and a real database
//! (a temporary SQLite file, or a fresh PostgreSQL schema when `TEST_DATABASE_URL` is set):
//!
//! 1. **Throughput**: N outbox rows (inserted before the clock starts) published and acknowledged
//!    by `Relay::publish_pending` round after round, against a raw loop that publishes the same
//!    payloads and headers with `publish_with_headers` and awaits the acks per window of the same
//!    size. Reported as events/s and as the ratio relay/raw (target ≥ 0.5).
//! 2. **Latency**: one event at a time through the relay as it runs in production (`Relay::run`
//!    woken by the `OutboxNotifier`) and a durable pull consumer running `consumer::process` with a
//!    trivial handler. Measured from just before the enqueuing transaction's COMMIT to the message
//!    received, the handler running (the headline figure, target p99 < 20 ms) and the message
//!    processed and acked.
//!
//! Run with `make bench`, or `cargo bench -p bangban-e2e --bench outbox` with `nats-server` on PATH.
//! Environment: `BENCH_EVENTS` (default 10000), `BENCH_BATCHES` (default `256,512,1024`),
//! `BENCH_REPEAT` (default 3; throughput figures are medians), `BENCH_LATENCY_ITERS` (default 1000),
//! `TEST_DATABASE_URL`.
//!
//! The bench is a report: it exits 0 whether or not the targets are met, and non-zero only when
//! setup fails or a correctness check does (an event lost, left pending or published twice).

#[path = "support/mod.rs"]
mod support;

use std::{
    process::ExitCode,
    str::FromStr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};
use async_nats::jetstream;
use bangban_contracts::{CloudEvent, EventType, subjects::EVENTS_STREAM};
use bangban_intake_migration::Migrator;
use bangban_platform::{
    bus,
    config::{ConsumerSettings, OutboxSettings},
    consumer::{self, ConsumerSpec, EventHandler, HandlerError, Outcome},
    db::connect_and_migrate,
    outbox::{self, OutboxNotifier, Relay},
};
use bangban_testkit::{NatsServer, TestDatabase};
use futures::StreamExt;
use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, Statement, TransactionTrait};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// The office of every benchmark event (the city).
const OFFICE: &str = "371600";
/// Events are spread round-robin over this many aggregates (cases).
const AGGREGATES: usize = 1000;
/// Rows per transaction while filling the outbox (not timed).
const INSERT_CHUNK: usize = 500;
/// Target: relay throughput at least this fraction of the raw loop's.
const RATIO_TARGET: f64 = 0.5;
/// Target: p99 from commit to handler below this many milliseconds.
const P99_TARGET_MS: f64 = 20.0;
/// Latency iterations run first and left out of the figures (connections, statement caches).
const LATENCY_WARMUP: usize = 20;
/// How long one event may take through relay and consumer before it counts as lost.
const LATENCY_TIMEOUT: Duration = Duration::from_secs(10);
/// Target size of an event's JSON data in bytes.
const PAYLOAD_BYTES: usize = 500;

fn main() -> ExitCode {
    support::main("outbox bench", Config::from_env, |config| async move {
        let report = run(&config).await?;
        report.print(&config);
        Ok(report.failures)
    })
}

struct Config {
    events: usize,
    batches: Vec<u64>,
    latency_iters: usize,
    repeat: usize,
}

impl Config {
    fn from_env() -> anyhow::Result<Self> {
        let events: usize = env_or("BENCH_EVENTS", 10_000)?;
        let latency_iters: usize = env_or("BENCH_LATENCY_ITERS", 1_000)?;
        let repeat: usize = env_or("BENCH_REPEAT", 3)?;
        let batches = match std::env::var("BENCH_BATCHES") {
            Ok(s) if !s.trim().is_empty() => s
                .split(',')
                .map(|b| b.trim().parse::<u64>().with_context(|| format!("BENCH_BATCHES: {b:?} is not a number")))
                .collect::<anyhow::Result<Vec<_>>>()?,
            _ => vec![256, 512, 1024],
        };
        if events == 0 || repeat == 0 || batches.is_empty() || batches.contains(&0) {
            bail!("BENCH_EVENTS, BENCH_REPEAT and every BENCH_BATCHES entry must be positive");
        }
        Ok(Self { events, batches, latency_iters, repeat })
    }
}

fn env_or<T: FromStr>(name: &str, default: T) -> anyhow::Result<T> {
    match std::env::var(name) {
        Ok(s) if !s.trim().is_empty() => s.trim().parse().map_err(|_| anyhow::anyhow!("{name}: {s:?} is not a number")),
        _ => Ok(default),
    }
}

// ---------------------------------------------------------------------------------------------
// Events

/// `aggregates` case ids, one per aggregate.
fn aggregate_ids() -> Vec<String> {
    (0..AGGREGATES).map(|_| uuid::Uuid::now_v7().to_string()).collect()
}

/// A `case.accepted`-shaped document of about [`PAYLOAD_BYTES`] bytes of JSON.
fn payload(i: usize, case_id: &str) -> serde_json::Value {
    const DESCRIPTION: &str = "项目位于滨州经济技术开发区，总投资5.2亿元，建设年产5万吨高性能复合材料生产线及配套仓储、\
                               研发中心，需协调供电、供水、规划许可及施工许可等事项，企业申请全程帮办代办服务。";
    let mut doc = serde_json::json!({
        "case_id": case_id,
        "ledger_no": format!("BZ-{OFFICE}-2026-{:06}", i % 1_000_000),
        "service_type": "assist",
        "office": OFFICE,
        "applicant_id": "0193a5f2-7c1e-7b4a-9d2e-4f5a6b7c8d9e",
        "applicant_kind": "legal_person",
        "project": {
            "name": "滨州市某新材料产业园二期项目",
            "category": "industrial",
            "office": "371625",
            "investment_wan": 52000,
            "description": "",
        },
        "accepted_by": "assistant-0042",
        "accepted_at": "2026-11-28T09:30:00.000000Z",
    });
    let base = doc.to_string().len();
    let mut description = String::new();
    for c in DESCRIPTION.chars().cycle() {
        if base + description.len() + c.len_utf8() > PAYLOAD_BYTES {
            break;
        }
        description.push(c);
    }
    doc["project"]["description"] = description.into();
    doc
}

/// `n` fresh events (new ids, so the broker's duplicate window never drops one) spread over the
/// aggregates.
fn make_events(n: usize, aggregates: &[String]) -> anyhow::Result<Vec<CloudEvent>> {
    (0..n)
        .map(|i| {
            let case_id = &aggregates[i % aggregates.len()];
            Ok(CloudEvent::new(EventType::CASE_ACCEPTED, "bench", case_id.clone(), &payload(i, case_id))?)
        })
        .collect()
}

fn event_subject() -> anyhow::Result<bangban_contracts::subjects::EventSubject> {
    Ok(EventType::CASE_ACCEPTED.subject(OFFICE, None)?)
}

/// Fills the outbox in transactions of [`INSERT_CHUNK`] rows.
async fn enqueue_all(db: &DatabaseConnection, events: &[CloudEvent]) -> anyhow::Result<()> {
    let subject = event_subject()?;
    for chunk in events.chunks(INSERT_CHUNK) {
        let txn = db.begin().await?;
        for e in chunk {
            outbox::enqueue(&txn, &subject, e).await?;
        }
        txn.commit().await?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Broker helpers

async fn purge(js: &jetstream::Context) -> anyhow::Result<()> {
    js.get_stream(EVENTS_STREAM).await?.purge().await.map_err(|e| anyhow::anyhow!("purging {EVENTS_STREAM}: {e}"))?;
    Ok(())
}

async fn stream_messages(js: &jetstream::Context) -> anyhow::Result<u64> {
    let mut stream = js.get_stream(EVENTS_STREAM).await?;
    Ok(stream.info().await?.state.messages)
}

async fn count(db: &DatabaseConnection, sql: &str) -> anyhow::Result<i64> {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql.to_string()))
        .await?
        .context("COUNT returned no row")?;
    Ok(row.try_get::<i64>("", "n")?)
}

// ---------------------------------------------------------------------------------------------
// Throughput

/// Publishes `events` the way a hand-written publisher would: `window` publishes without waiting,
/// then the window's acks. Returns the elapsed time and how many acks reported a duplicate.
async fn raw_publish(js: &jetstream::Context, events: &[CloudEvent], window: usize) -> anyhow::Result<(Duration, u64)> {
    let subject = event_subject()?.to_string();
    let mut duplicates = 0;
    let start = Instant::now();
    for chunk in events.chunks(window.max(1)) {
        let mut acks = Vec::with_capacity(chunk.len());
        for e in chunk {
            acks.push(js.publish_with_headers(subject.clone(), e.to_headers(), e.data.clone()).await?);
        }
        for ack in acks {
            if ack.await?.duplicate {
                duplicates += 1;
            }
        }
    }
    Ok((start.elapsed(), duplicates))
}

/// Runs relay rounds until one finds nothing. Returns the elapsed time, the rounds that took rows
/// and the rows taken in total.
async fn relay_drain(relay: &Relay) -> anyhow::Result<(Duration, usize, usize)> {
    let start = Instant::now();
    let (mut rounds, mut taken) = (0, 0);
    loop {
        let n = relay.publish_pending().await?;
        if n == 0 {
            break;
        }
        rounds += 1;
        taken += n;
    }
    Ok((start.elapsed(), rounds, taken))
}

struct ThroughputRow {
    batch: u64,
    /// Events/s of every repetition, in run order.
    raw: Vec<f64>,
    relay: Vec<f64>,
    rounds: usize,
}

impl ThroughputRow {
    fn ratio(&self) -> f64 {
        median(&self.relay) / median(&self.raw)
    }
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn per_second(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64().max(1e-9)
}

/// Pool size of every connection in this bench (as `TestDatabase::connect` and the services use).
const POOL: u32 = 5;

/// Opens every connection of the pool. A service's pool is warm after its first seconds; a cold one
/// opens connections during the measurement (on PostgreSQL ~90 ms each: TLS and SCRAM), because
/// sqlx returns a released connection to the pool asynchronously and an acquire right after a
/// release often finds none idle.
async fn warm_pool(db: &DatabaseConnection) -> anyhow::Result<()> {
    let txns = futures::future::try_join_all((0..POOL).map(|_| db.begin())).await?;
    for txn in txns {
        txn.commit().await?;
    }
    Ok(())
}

/// A fresh database with `n` pending outbox rows (filled here, before any clock starts) and a warm
/// connection pool.
async fn filled_outbox(n: usize, aggregates: &[String]) -> anyhow::Result<(TestDatabase, DatabaseConnection)> {
    let db = TestDatabase::new("bench").await?;
    let conn = connect_and_migrate::<Migrator>(&db.target(), POOL).await?;
    enqueue_all(&conn, &make_events(n, aggregates)?).await?;
    warm_pool(&conn).await?;
    let pending = outbox::pending_count(&conn).await?;
    if pending != n as i64 {
        bail!("the outbox holds {pending} pending rows, expected {n}");
    }
    Ok((db, conn))
}

async fn throughput(
    config: &Config,
    client: &async_nats::Client,
    js: &jetstream::Context,
    aggregates: &[String],
    batch: u64,
    failures: &mut Vec<String>,
) -> anyhow::Result<ThroughputRow> {
    let n = config.events;
    let mut row = ThroughputRow { batch, raw: vec![], relay: vec![], rounds: 0 };
    // Raw and relay alternate, so that drift of the machine affects both alike.
    for _ in 0..config.repeat {
        // Raw loop, fresh events on an empty stream.
        let events = make_events(n, aggregates)?;
        purge(js).await?;
        let (raw_time, duplicates) = raw_publish(js, &events, batch as usize).await?;
        let stored = stream_messages(js).await?;
        if stored != n as u64 || duplicates != 0 {
            failures.push(format!(
                "raw loop, window {batch}: stream holds {stored} of {n} events, {duplicates} duplicate acks"
            ));
        }
        row.raw.push(per_second(n, raw_time));

        // Relay, a fresh outbox on an empty stream.
        let (db, conn) = filled_outbox(n, aggregates).await?;
        purge(js).await?;
        let settings = OutboxSettings { batch_size: batch, ..Default::default() };
        let relay = Relay::new("intake", conn.clone(), client.clone(), OutboxNotifier::new(), settings);
        let (relay_time, rounds, taken) = relay_drain(&relay).await?;
        let pending = outbox::pending_count(&conn).await?;
        let published = count(&conn, "SELECT COUNT(*) AS n FROM outbox WHERE published_at IS NOT NULL").await?;
        let rows_left = count(&conn, "SELECT COUNT(*) AS n FROM outbox").await?;
        let stored = stream_messages(js).await?;
        // Published rows are marked today; a relay that deletes them instead passes as well.
        let accounted = published == n as i64 || rows_left == 0;
        if pending != 0 || !accounted || stored != n as u64 || taken != n {
            failures.push(format!(
                "relay, batch {batch}: {pending} rows left pending, {published} marked published ({rows_left} rows \
                 left), {taken} taken by rounds, stream holds {stored}; expected 0, {n}, {n}, {n}"
            ));
        }
        row.relay.push(per_second(n, relay_time));
        row.rounds = rounds;
        drop(relay);
        conn.close().await?;
        drop(db);
    }

    Ok(row)
}

// ---------------------------------------------------------------------------------------------
// Latency

/// Remembers when the handler ran, and for which event.
struct Stamp(Arc<Mutex<Option<(String, Instant)>>>);

impl EventHandler for Stamp {
    async fn handle(&self, _txn: &DatabaseTransaction, _subject: &str, event: &CloudEvent) -> Result<(), HandlerError> {
        let now = Instant::now();
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some((event.id.clone(), now));
        }
        Ok(())
    }
}

/// What the consumer task saw of one message.
struct Sample {
    event_id: String,
    received: Instant,
    handled: Option<Instant>,
    done: Instant,
    outcome: Outcome,
}

/// Milliseconds, sorted.
struct Series(Vec<f64>);

impl Series {
    fn new(mut v: Vec<f64>) -> Self {
        v.sort_by(f64::total_cmp);
        Self(v)
    }

    /// Nearest-rank percentile.
    fn pct(&self, p: f64) -> f64 {
        if self.0.is_empty() {
            return f64::NAN;
        }
        let rank = ((p / 100.0) * self.0.len() as f64).ceil().max(1.0) as usize;
        self.0[rank.min(self.0.len()) - 1]
    }

    fn max(&self) -> f64 {
        self.0.last().copied().unwrap_or(f64::NAN)
    }
}

struct LatencyReport {
    commit: Series,
    received: Series,
    handled: Series,
    done: Series,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

async fn latency(
    server: &NatsServer,
    iters: usize,
    aggregates: &[String],
    failures: &mut Vec<String>,
) -> anyhow::Result<LatencyReport> {
    // Two processes in production: the publishing service and the consuming one, each with its
    // own NATS connection and its own database.
    let relay_client = server.client().await?;
    let consumer_client = server.client().await?;
    let js = jetstream::new(consumer_client.clone());
    purge(&js).await?;

    let db = TestDatabase::new("bench_latency").await?;
    let conn = connect_and_migrate::<Migrator>(&db.target(), POOL).await?;
    let consumer_db = TestDatabase::new("bench_consumer").await?;
    let consumer_conn = connect_and_migrate::<Migrator>(&consumer_db.target(), POOL).await?;
    warm_pool(&conn).await?;
    warm_pool(&consumer_conn).await?;

    let shutdown = CancellationToken::new();
    let notifier = OutboxNotifier::new();
    let relay = Relay::new("intake", conn.clone(), relay_client, notifier.clone(), OutboxSettings::default());
    let relay_task = tokio::spawn(relay.run(shutdown.clone()));

    let spec = ConsumerSpec {
        name: "bench_latency".into(),
        filter_subject: EventType::CASE_ACCEPTED.filter_all_offices(),
        settings: ConsumerSettings::default(),
    };
    let pull = consumer::ensure_consumer(&js, &spec).await.map_err(|e| anyhow::anyhow!("consumer: {e}"))?;
    let mut messages = pull.messages().await.map_err(|e| anyhow::anyhow!("consumer messages: {e}"))?;
    let (tx, mut rx) = mpsc::unbounded_channel::<Sample>();
    let stamp = Arc::new(Mutex::new(None));
    let handler = Stamp(stamp.clone());
    let consumer_task = {
        let shutdown = shutdown.clone();
        let consumer_conn = consumer_conn.clone();
        tokio::spawn(async move {
            loop {
                let next = tokio::select! {
                    _ = shutdown.cancelled() => break,
                    m = messages.next() => m,
                };
                let msg = match next {
                    None => break,
                    Some(Err(e)) => {
                        eprintln!("outbox bench: consumer stream error: {e}");
                        continue;
                    }
                    Some(Ok(m)) => m,
                };
                let received = Instant::now();
                let outcome = consumer::process(&js, &consumer_conn, &spec, &handler, &msg).await;
                let done = Instant::now();
                let handled = stamp.lock().ok().and_then(|mut s| s.take());
                let event_id = msg
                    .headers
                    .as_ref()
                    .and_then(|h| h.get("ce-id"))
                    .map(|v| v.as_str().to_string())
                    .unwrap_or_default();
                let handled = handled.filter(|(id, _)| *id == event_id).map(|(_, t)| t);
                if tx.send(Sample { event_id, received, handled, done, outcome }).is_err() {
                    break;
                }
            }
        })
    };

    let subject = event_subject()?;
    let (mut commit, mut received, mut handled, mut done) = (vec![], vec![], vec![], vec![]);
    let total = LATENCY_WARMUP + iters;
    let mut delivered = 0usize;
    for i in 0..total {
        let case_id = &aggregates[i % aggregates.len()];
        let event = CloudEvent::new(EventType::CASE_ACCEPTED, "bench", case_id.clone(), &payload(i, case_id))?;
        let txn = conn.begin().await?;
        outbox::enqueue(&txn, &subject, &event).await?;
        let t0 = Instant::now();
        txn.commit().await?;
        let committed = t0.elapsed();
        notifier.notify();
        let sample = match tokio::time::timeout(LATENCY_TIMEOUT, rx.recv()).await {
            Ok(Some(s)) => s,
            Ok(None) => bail!("the consumer task stopped"),
            Err(_) => {
                failures.push(format!("latency: event {i} did not reach the consumer within {LATENCY_TIMEOUT:?}"));
                break;
            }
        };
        delivered += 1;
        if sample.event_id != event.id || sample.outcome != Outcome::Processed {
            failures.push(format!(
                "latency: event {i}: consumer saw {} ({:?}), expected {} processed",
                sample.event_id, sample.outcome, event.id
            ));
            break;
        }
        let Some(h) = sample.handled else {
            failures.push(format!("latency: event {i}: the handler did not run"));
            break;
        };
        if i >= LATENCY_WARMUP {
            commit.push(ms(committed));
            received.push(ms(sample.received - t0));
            handled.push(ms(h - t0));
            done.push(ms(sample.done - t0));
        }
    }

    // Anything else arriving now would be a repeat.
    tokio::time::sleep(Duration::from_millis(200)).await;
    shutdown.cancel();
    let _ = relay_task.await;
    let _ = consumer_task.await;
    let mut extra = 0;
    while let Ok(s) = rx.try_recv() {
        extra += 1;
        eprintln!("outbox bench: unexpected extra delivery of {} ({:?})", s.event_id, s.outcome);
    }
    let pending = outbox::pending_count(&conn).await?;
    let inbox = count(&consumer_conn, "SELECT COUNT(*) AS n FROM inbox").await?;
    if failures.is_empty() && (pending != 0 || inbox != delivered as i64 || delivered != total || extra != 0) {
        failures.push(format!(
            "latency: {pending} rows left pending, {inbox} inbox rows, {delivered} of {total} delivered, {extra} extra"
        ));
    }
    conn.close().await?;
    consumer_conn.close().await?;
    drop((db, consumer_db));
    Ok(LatencyReport {
        commit: Series::new(commit),
        received: Series::new(received),
        handled: Series::new(handled),
        done: Series::new(done),
    })
}

// ---------------------------------------------------------------------------------------------
// Run and report

struct Environment {
    cpus: usize,
    cpu_model: String,
    nats_version: String,
    backend: String,
    payload_bytes: usize,
    header_bytes: usize,
}

struct Report {
    env: Environment,
    throughput: Vec<ThroughputRow>,
    latency: Option<LatencyReport>,
    failures: Vec<String>,
}

async fn run(config: &Config) -> anyhow::Result<Report> {
    let server = NatsServer::start().await.context("starting nats-server (is it on PATH?)")?;
    let client = server.client().await?;
    let js = jetstream::new(client.clone());
    bus::ensure_streams(&js, 1).await?;

    let aggregates = aggregate_ids();
    let sample = make_events(1, &aggregates)?.remove(0);
    let header_bytes = sample
        .to_headers()
        .iter()
        .map(|(k, v)| k.to_string().len() + v.iter().map(|v| v.as_str().len() + 4).sum::<usize>())
        .sum();
    let probe = TestDatabase::new("bench_probe").await?;
    let backend = if probe.is_postgres() {
        let conn = probe.connect().await;
        let version = conn
            .query_one_raw(Statement::from_string(DbBackend::Postgres, "SELECT current_setting('server_version') AS v"))
            .await?
            .and_then(|r| r.try_get::<String>("", "v").ok())
            .unwrap_or_default();
        conn.close().await?;
        format!("PostgreSQL {version}")
    } else {
        "SQLite (WAL, synchronous=NORMAL)".to_string()
    };
    drop(probe);
    let env = Environment {
        cpus: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        cpu_model: std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("model name"))
                    .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
            })
            .unwrap_or_else(|| "unknown CPU".into()),
        nats_version: client.server_info().version,
        backend,
        payload_bytes: sample.data.len(),
        header_bytes,
    };
    eprintln!(
        "outbox bench: {} events per run, batches {:?}, {} latency iterations, {}",
        config.events, config.batches, config.latency_iters, env.backend
    );

    let mut failures = Vec::new();
    // Warm the broker's store and the client's connection.
    let warm = make_events(config.events.min(2_000), &aggregates)?;
    raw_publish(&js, &warm, 256).await?;

    let mut rows = Vec::new();
    for &batch in &config.batches {
        eprintln!("outbox bench: throughput, batch {batch} …");
        rows.push(throughput(config, &client, &js, &aggregates, batch, &mut failures).await?);
    }
    let latency = if config.latency_iters > 0 {
        eprintln!("outbox bench: latency, {} events one at a time …", config.latency_iters);
        Some(latency(&server, config.latency_iters, &aggregates, &mut failures).await?)
    } else {
        None
    };
    Ok(Report { env, throughput: rows, latency, failures })
}

fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "NOT met" }
}

impl Report {
    fn print(&self, config: &Config) {
        let e = &self.env;
        println!();
        println!("Bangban outbox benchmark");
        println!("  machine   {} CPUs ({})", e.cpus, e.cpu_model);
        println!("  broker    nats-server {} (JetStream file store, local)", e.nats_version);
        println!("  database  {}", e.backend);
        println!(
            "  events    {} per run, {} B JSON data + ~{} B headers each, {} aggregates, subject {}",
            config.events,
            e.payload_bytes,
            e.header_bytes,
            AGGREGATES,
            event_subject().map(|s| s.to_string()).unwrap_or_default()
        );
        println!();
        println!(
            "Throughput: events published and acked per second (outbox filled before timing), median of {} runs \
             [min-max]",
            config.repeat
        );
        println!(
            "  {:>5}  {:>25}  {:>25}  {:>9}  {:>6}  target relay/raw >= {RATIO_TARGET}",
            "batch", "raw JetStream", "outbox relay", "relay/raw", "rounds"
        );
        let range = |v: &[f64]| {
            let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = v.iter().copied().fold(0.0, f64::max);
            format!("{:>7.0} [{:.0}-{:.0}]", median(v), lo, hi)
        };
        for r in &self.throughput {
            println!(
                "  {:>5}  {:>25}  {:>25}  {:>9.2}  {:>6}  {}",
                r.batch,
                range(&r.raw),
                range(&r.relay),
                r.ratio(),
                r.rounds,
                met(r.ratio() >= RATIO_TARGET)
            );
        }
        println!("  raw: publish_with_headers for a window of `batch` messages, then await the window's acks;");
        println!("  relay: Relay::publish_pending with batch_size = `batch` until it returns 0 (`rounds` with rows).");
        if let Some(l) = &self.latency {
            println!();
            println!(
                "Latency of one event in flight, ms from just before COMMIT of the enqueuing transaction \
                 (n={}, after {LATENCY_WARMUP} warm-up)",
                l.handled.0.len()
            );
            println!("  {:<38} {:>7} {:>7} {:>7} {:>7}", "until", "p50", "p90", "p99", "max");
            for (name, s) in [
                ("COMMIT returned", &l.commit),
                ("consumer received the message", &l.received),
                ("handler runs  (headline)", &l.handled),
                ("inbox committed and acked", &l.done),
            ] {
                println!(
                    "  {:<38} {:>7.2} {:>7.2} {:>7.2} {:>7.2}",
                    name,
                    s.pct(50.0),
                    s.pct(90.0),
                    s.pct(99.0),
                    s.max()
                );
            }
            let p99 = l.handled.pct(99.0);
            println!(
                "  target p99 (commit -> handler) < {P99_TARGET_MS} ms: {} ({p99:.2} ms)",
                met(p99 < P99_TARGET_MS)
            );
        }
        println!();
        if self.failures.is_empty() {
            println!("Correctness: ok (every run: 0 rows left pending, stream count = events, no duplicates)");
        } else {
            println!("Correctness: FAILED ({} checks, see stderr)", self.failures.len());
        }
    }
}
