//! Notification benchmark (短信基准, issue 7): how many SMS per second go from a bus event to the provider, with
//! the per-number limiter and the exactly-once bookkeeping on — and does every event make exactly one provider
//! call, even when the bus delivers it three times?
//!
//! The run has a real `nats-server` (random port, own JetStream store, the platform's streams) and a fresh
//! database (a temporary SQLite file per service, or fresh PostgreSQL schemas when `TEST_DATABASE_URL` is set):
//!
//! - **intake** (`service::start::<IntakeService>`, seeded with the offices and the demo roster) answers notification's
//!   `contact.resolve`. The bench writes `2 × BENCH_SMS` applicants into intake's `applicant` table, each with
//!   its own mobile number (`139…`, distinct, so the one-per-minute limit defers none), encrypted with the
//!   platform's PII cipher (`cipher_from_settings`, the key intake and notification use).
//! - **notification** (`service::start::<NotificationService>`) with the `webhook` provider pointing at a **stand-in
//!   gateway** (axum on `127.0.0.1:0`) that verifies every request's `x-bangban-signature` (HMAC-SHA256 of
//!   `"<timestamp>.<body>"`, `WebhookVerifier`), records the instant of receipt and counts calls, distinct
//!   `idempotency-key`s and distinct events (by the `ledger_no` parameter, unique per event). Production settings
//!   otherwise: limits 1/min, 5/h, 10/day per number, the sender's defaults (poll 250 ms, batch 100, 16 at once);
//!   quiet hours `none` (so the figures do not depend on the hour of the run).
//! - **Events**: `case.accepted` CloudEvents (source intake) for distinct applicants across the 8 offices, each
//!   naming the office's first assistant as specialist (so the card is looked up too), published to JetStream
//!   without `Nats-Msg-Id` (so a repeat is not absorbed by the stream's duplicate window but reaches the
//!   consumer), pipelined: up to 1 000 publishes in flight, their acks awaited as they come.
//!
//! Runs:
//! 1. **once**: `BENCH_SMS` events (default 2000), each published once.
//! 2. **redelivered**: `BENCH_SMS` new events (new applicants), each published `BENCH_SMS_COPIES` times (default
//!    3) back to back with the same `ce-id`: still exactly `BENCH_SMS` provider calls.
//! 3. **baseline**: the same number of signed requests posted straight to the stand-in gateway (reqwest, 16 at
//!    once, as the sender's concurrency): what the provider call alone costs. The ratio is service/baseline.
//!
//! Latency per message = the stand-in's receipt of its first call − the instant its event's first copy was
//! published (so it includes the queue the burst builds). Throughput = messages / (last receipt − first publish).
//!
//! Correctness checks (each failure makes the exit code non-zero; the figures are printed anyway): provider calls
//! == distinct idempotency keys == distinct events == events published (duplicates 0, lost 0), no request
//! refused by the stand-in (every one signed right), every message `sent` in notification's database, one
//! message and one inbox notice per event, the outbox drained.
//!
//! Run with `make bench`, or `cargo bench -p bangban-e2e --bench notification` with `nats-server` on PATH.
//! Environment: `BENCH_SMS`, `BENCH_SMS_COPIES`, `TEST_DATABASE_URL` (e.g.
//! `postgres://postgres@127.0.0.1:5432/test`).

#[path = "support/mod.rs"]
mod support;

use std::{
    collections::{HashMap, HashSet},
    process::ExitCode,
    str::FromStr,
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime},
};

use anyhow::{Context as _, bail};
use async_nats::jetstream;
use axum::{
    Json, Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    routing::post,
};
use bangban_contracts::{
    CloudEvent, EventType,
    envelope::NATS_MSG_ID,
    intake::{ApplicantKind, CaseAccepted, ProjectCategory, ProjectView, ServiceType},
    office::OFFICES,
};
use bangban_intake::{IntakeService, entity::applicant};
use bangban_notification::{NotificationService, settings::NotificationSettings};
use bangban_platform::{
    Settings, bus, outbox,
    pii::PiiCipher,
    service,
    shutdown::Shutdown,
    webhook::{WebhookVerifier, sign},
};
use bangban_testkit::{NatsServer, TestDatabase};
use chrono::Utc;
use futures::StreamExt;
use sea_orm::{ActiveValue::Set, ConnectionTrait, DatabaseConnection, EntityTrait, Statement};
use serde_json::{Value, json};
use uuid::Uuid;

const SECRET: &str = "bench-sms-webhook-secret";
/// How long the count of distinct events received may stand still before the run gives up.
const STALL_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the run waits after the last event for a late duplicate.
const SETTLE: Duration = Duration::from_secs(3);
/// Applicants per seeding INSERT.
const ROWS_PER_INSERT: usize = 500;
/// Publishes whose ack is not yet awaited, at most.
const MAX_ACKS_IN_FLIGHT: usize = 1000;
/// The sender's concurrency (the baseline posts as many at once).
const BASELINE_CONCURRENCY: usize = 16;

fn main() -> ExitCode {
    support::main("notification bench", Config::from_env, |config| async move {
        let report = run(&config).await?;
        report.print(&config);
        Ok(report.failures)
    })
}

struct Config {
    events: usize,
    copies: usize,
}

impl Config {
    fn from_env() -> anyhow::Result<Self> {
        let events = env_or("BENCH_SMS", 2000usize)?;
        let copies = env_or("BENCH_SMS_COPIES", 3usize)?;
        if events == 0 || copies == 0 {
            bail!("BENCH_SMS and BENCH_SMS_COPIES must be at least 1");
        }
        Ok(Self { events, copies })
    }
}

fn env_or<T: FromStr>(name: &str, default: T) -> anyhow::Result<T> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v.trim().parse().map_err(|_| anyhow::anyhow!("{name}: cannot read {v:?}")),
        _ => Ok(default),
    }
}

// ---------------------------------------------------------------------------------------------
// The stand-in gateway

#[derive(Default)]
struct Gateway {
    calls: usize,
    refused: usize,
    keys: HashSet<String>,
    /// Distinct events (`ledger_no`) → the instant of their first call.
    first_call: HashMap<String, Instant>,
}

type Shared = (Arc<Mutex<Gateway>>, WebhookVerifier);

async fn receive(
    State((state, verifier)): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, Json<Value>) {
    let at = Instant::now();
    let ok = verifier.verify(&headers, &body, SystemTime::now()).is_ok();
    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_string);
    let ledger =
        serde_json::from_slice::<Value>(&body).ok().and_then(|b| b["params"]["ledger_no"].as_str().map(str::to_string));
    let mut g = state.lock().unwrap();
    let (true, Some(key)) = (ok, key) else {
        g.refused += 1;
        return (StatusCode::UNAUTHORIZED, Json(json!({"code": "REFUSED", "message": "bad signature or no key"})));
    };
    g.calls += 1;
    g.keys.insert(key.clone());
    if let Some(l) = ledger {
        g.first_call.entry(l).or_insert(at);
    }
    (StatusCode::OK, Json(json!({ "id": format!("gw-{key}") })))
}

async fn start_gateway(shutdown: &Shutdown) -> anyhow::Result<(String, Arc<Mutex<Gateway>>)> {
    let state: Arc<Mutex<Gateway>> = Arc::default();
    let verifier = WebhookVerifier::new(secrecy::SecretString::from(SECRET.to_string()));
    let app = Router::new().route("/sms", post(receive)).with_state((state.clone(), verifier));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let token = shutdown.token();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).with_graceful_shutdown(token.cancelled_owned()).await;
    });
    Ok((format!("http://{addr}/sms"), state))
}

// ---------------------------------------------------------------------------------------------
// The run

struct RunResult {
    label: String,
    events: usize,
    published: usize,
    publish_secs: f64,
    /// First publish → last first call.
    span_secs: f64,
    calls: usize,
    keys: usize,
    distinct: usize,
    refused: usize,
    latency_ms: Vec<f64>,
}

impl RunResult {
    fn per_sec(&self) -> f64 {
        if self.span_secs > 0.0 { self.distinct as f64 / self.span_secs } else { 0.0 }
    }

    fn pct(&self, p: f64) -> f64 {
        if self.latency_ms.is_empty() {
            return f64::NAN;
        }
        let i = ((p / 100.0) * (self.latency_ms.len() - 1) as f64).round() as usize;
        self.latency_ms[i.min(self.latency_ms.len() - 1)]
    }

    fn max(&self) -> f64 {
        self.latency_ms.last().copied().unwrap_or(f64::NAN)
    }
}

struct Report {
    backend: String,
    seeded_secs: f64,
    runs: Vec<RunResult>,
    baseline: Option<(f64, f64)>,
    failures: Vec<String>,
}

struct Env {
    js: jetstream::Context,
    gateway: Arc<Mutex<Gateway>>,
    notification_db: DatabaseConnection,
}

async fn run(config: &Config) -> anyhow::Result<Report> {
    bangban_platform::runtime::install_crypto_provider();
    let server = NatsServer::start().await.context("starting nats-server (is it on PATH?)")?;
    let client = server.client().await?;
    bus::ensure_streams(&jetstream::new(client.clone()), 1).await?;
    let database = TestDatabase::new("notification").await?;
    let shutdown = Shutdown::new();
    let (url, gateway) = start_gateway(&shutdown).await?;

    let mut settings = Settings::default();
    settings.nats.url = server.url();
    database.apply_to(&mut settings);
    let mut n: NotificationSettings = settings.section("notification")?;
    n.provider = "webhook".into();
    n.webhook.url = Some(url.clone());
    n.webhook.secret = Some(secrecy::SecretString::from(SECRET.to_string()));
    n.quiet_hours = "none".into();
    settings.set_section("notification", n);
    let backend = if database.is_postgres() { "PostgreSQL" } else { "SQLite" }.to_string();

    let intake = service::start::<IntakeService>(&settings, server.client().await?, &shutdown).await?;
    bangban_intake::seed::seed(&intake.db).await?;
    let pii = bangban_platform::pii::cipher_from_settings(&settings)?;
    let seeding = Instant::now();
    let applicants = seed_applicants(&intake.db, &pii, 2 * config.events).await?;
    let seeded_secs = seeding.elapsed().as_secs_f64();
    eprintln!("notification bench ({backend}): {} applicants seeded in {seeded_secs:.1} s", applicants.len());

    let notification = service::start::<NotificationService>(&settings, server.client().await?, &shutdown).await?;
    let env = Env { js: jetstream::new(client.clone()), gateway: gateway.clone(), notification_db: notification.db };
    let mut report = Report { backend, seeded_secs, runs: Vec::new(), baseline: None, failures: Vec::new() };

    let (first, second) = applicants.split_at(config.events);
    for (label, batch, copies) in [("once", first, 1), ("redelivered", second, config.copies)] {
        let label = if copies > 1 { format!("{label} ×{copies}") } else { label.to_string() };
        eprintln!("notification bench: {label}: {} events …", batch.len());
        let r = run_events(&env, &label, batch, copies, &mut report.failures).await?;
        eprintln!(
            "notification bench: {label}: {} SMS in {:.2} s ({:.0}/s), p50 {:.0} ms, p99 {:.0} ms",
            r.distinct,
            r.span_secs,
            r.per_sec(),
            r.pct(50.0),
            r.pct(99.0)
        );
        report.runs.push(r);
    }
    let total = report.runs.iter().map(|r| r.events).sum::<usize>();
    check_database(&env, total, &mut report.failures).await?;

    eprintln!("notification bench: baseline: {} signed posts straight to the gateway …", config.events);
    report.baseline = Some(baseline(&url, config.events).await?);
    shutdown.trigger();
    let _ = shutdown.shutdown(Duration::from_secs(5)).await;
    Ok(report)
}

/// Applicants with distinct mobile numbers, encrypted as intake stores them; returns their ids.
async fn seed_applicants(db: &DatabaseConnection, pii: &PiiCipher, n: usize) -> anyhow::Result<Vec<Uuid>> {
    let now = Utc::now();
    let mut ids = Vec::with_capacity(n);
    let mut rows = Vec::with_capacity(ROWS_PER_INSERT);
    for k in 0..n {
        let id = Uuid::now_v7();
        ids.push(id);
        rows.push(applicant::ActiveModel {
            id: Set(id.to_string()),
            kind: Set(ApplicantKind::LegalPerson),
            name: Set(format!("滨州市基准测试{k}有限公司")),
            id_number_enc: Set(None),
            id_number_index: Set(None),
            credit_code: Set(None),
            phone_enc: Set(Some(pii.encrypt(&format!("139{k:08}")))),
            contact_person: Set(Some("王经理".into())),
            created_at: Set(now),
        });
        if rows.len() == ROWS_PER_INSERT || k + 1 == n {
            applicant::Entity::insert_many(std::mem::take(&mut rows)).exec_without_returning(db).await?;
        }
    }
    Ok(ids)
}

/// A `case.accepted` for `applicant`, with a ledger number unique to the event.
fn event(k: usize, applicant_id: Uuid, ledger_no: &str) -> anyhow::Result<(String, CloudEvent)> {
    let (office, _) = OFFICES[k % OFFICES.len()];
    let case_id = Uuid::now_v7();
    let data = CaseAccepted {
        case_id,
        ledger_no: ledger_no.to_string(),
        service_type: ServiceType::Assist,
        office: office.to_string(),
        applicant_id,
        applicant_kind: ApplicantKind::LegalPerson,
        project: ProjectView {
            id: Uuid::now_v7(),
            name: format!("基准项目{k}"),
            category: ProjectCategory::Industrial,
            office: office.to_string(),
            code: None,
            investment_wan: None,
            land_area_m2: None,
            floor_area_m2: None,
            newly_settled: false,
            investment_kind: None,
            land_supply: None,
            construction: None,
        },
        specialist_id: format!("staff-{office}-assistant-1"),
        accepted_by: format!("staff-{office}-assistant-1"),
        accepted_at: Utc::now(),
    };
    let event = CloudEvent::new(EventType::CASE_ACCEPTED, "intake", case_id.to_string(), &data)?;
    let subject = EventType::CASE_ACCEPTED.subject(office, None)?.to_string();
    Ok((subject, event))
}

async fn run_events(
    env: &Env,
    label: &str,
    applicants: &[Uuid],
    copies: usize,
    failures: &mut Vec<String>,
) -> anyhow::Result<RunResult> {
    let run_tag = Uuid::now_v7().simple().to_string();
    let mut prepared = Vec::with_capacity(applicants.len());
    for (k, a) in applicants.iter().enumerate() {
        let ledger = format!("BENCH-{}-{k:06}", &run_tag[20..]);
        let (subject, ev) = event(k, *a, &ledger)?;
        // Without `Nats-Msg-Id`, so the stream's duplicate window does not absorb a copy: every copy reaches
        // notification's consumer.
        let mut headers = async_nats::HeaderMap::new();
        for (name, values) in ev.to_headers().iter() {
            let name: &str = name.as_ref();
            if name != NATS_MSG_ID
                && let Some(v) = values.last()
            {
                headers.insert(name, v.as_str());
            }
        }
        prepared.push((ledger, subject, headers, ev.data.clone()));
    }
    let before = {
        let g = env.gateway.lock().unwrap();
        (g.calls, g.keys.len(), g.refused)
    };
    let mut published_at: HashMap<String, Instant> = HashMap::with_capacity(prepared.len());
    // Acks awaited as they come, at most MAX_ACKS_IN_FLIGHT outstanding (the JetStream context refuses to send
    // more than 5 000 unacknowledged publishes: a bench holding them all would wait forever).
    let mut acks = futures::stream::FuturesUnordered::new();
    let mut published = 0;
    let start = Instant::now();
    for (ledger, subject, headers, payload) in &prepared {
        published_at.insert(ledger.clone(), Instant::now());
        for _ in 0..copies {
            let ack = env.js.publish_with_headers(subject.clone(), headers.clone(), payload.clone()).await?;
            acks.push(std::future::IntoFuture::into_future(ack));
            published += 1;
            if acks.len() >= MAX_ACKS_IN_FLIGHT
                && let Some(ack) = acks.next().await
            {
                ack.context("publish ack")?;
            }
        }
    }
    while let Some(ack) = acks.next().await {
        ack.context("publish ack")?;
    }
    let publish_secs = start.elapsed().as_secs_f64();

    // Until every event has its call, or nothing moves for STALL_TIMEOUT.
    let want: HashSet<&String> = published_at.keys().collect();
    let mut last_count = 0;
    let mut last_move = Instant::now();
    loop {
        let count = env.gateway.lock().unwrap().first_call.keys().filter(|l| want.contains(l)).count();
        if count == want.len() {
            break;
        }
        if count != last_count {
            last_count = count;
            last_move = Instant::now();
        } else if last_move.elapsed() > STALL_TIMEOUT {
            failures.push(format!("{label}: only {count} of {} events reached the provider", want.len()));
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(SETTLE).await;

    let g = env.gateway.lock().unwrap();
    let mut latency_ms = Vec::with_capacity(want.len());
    let mut last = start;
    for (ledger, at) in &published_at {
        if let Some(&got) = g.first_call.get(ledger) {
            latency_ms.push(got.saturating_duration_since(*at).as_secs_f64() * 1000.0);
            last = last.max(got);
        }
    }
    latency_ms.sort_by(f64::total_cmp);
    let r = RunResult {
        label: label.to_string(),
        events: prepared.len(),
        published,
        publish_secs,
        span_secs: last.saturating_duration_since(start).as_secs_f64(),
        calls: g.calls - before.0,
        keys: g.keys.len() - before.1,
        distinct: latency_ms.len(),
        refused: g.refused - before.2,
        latency_ms,
    };
    if r.calls != r.keys {
        failures.push(format!("{label}: {} provider calls for {} idempotency keys (duplicates)", r.calls, r.keys));
    }
    if r.keys != r.distinct {
        failures.push(format!("{label}: {} messages (keys) for {} events (an event sent twice)", r.keys, r.distinct));
    }
    if r.distinct != r.events {
        failures.push(format!("{label}: {} of {} events lost", r.events - r.distinct, r.events));
    }
    if r.refused > 0 {
        failures.push(format!("{label}: {} requests refused by the gateway (signature)", r.refused));
    }
    Ok(r)
}

async fn scalar(db: &DatabaseConnection, sql: &str) -> anyhow::Result<i64> {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql.to_string()))
        .await?
        .context("no row")?;
    Ok(row.try_get::<i64>("", "n")?)
}

async fn check_database(env: &Env, events: usize, failures: &mut Vec<String>) -> anyhow::Result<()> {
    let db = &env.notification_db;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let pending = outbox::pending_count(db).await?;
        let unsent = scalar(db, "SELECT COUNT(*) AS n FROM message WHERE state <> 'sent'").await?;
        if pending == 0 && unsent == 0 {
            break;
        }
        if Instant::now() > deadline {
            failures.push(format!("{unsent} messages not sent, {pending} outbox rows pending"));
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let messages = scalar(db, "SELECT COUNT(*) AS n FROM message").await?;
    let notices = scalar(db, "SELECT COUNT(*) AS n FROM inbox_notice").await?;
    if messages != events as i64 || notices != events as i64 {
        failures.push(format!("{messages} messages and {notices} inbox notices for {events} events"));
    }
    Ok(())
}

/// Signed posts straight to the gateway, `BASELINE_CONCURRENCY` at once: (seconds, p50 ms).
async fn baseline(url: &str, n: usize) -> anyhow::Result<(f64, f64)> {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?;
    let start = Instant::now();
    let mut latencies: Vec<f64> = futures::stream::iter(0..n)
        .map(|k| {
            let http = http.clone();
            async move {
                let key = Uuid::now_v7().to_string();
                let body = serde_json::to_vec(&json!({
                    "message_id": key, "phone": format!("+86137{k:08}"), "template": "case_accepted",
                    "template_version": 1, "params": {"ledger_no": format!("BASE-{k}")}, "text": "【滨州帮办代办】基准"
                }))
                .expect("json");
                let ts = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
                let t = Instant::now();
                let res = http
                    .post(url)
                    .header("content-type", "application/json")
                    .header("idempotency-key", &key)
                    .header("x-bangban-timestamp", ts.to_string())
                    .header("x-bangban-signature", sign(SECRET.as_bytes(), ts, &body))
                    .body(body)
                    .send()
                    .await?;
                anyhow::ensure!(res.status().is_success(), "baseline post: {}", res.status());
                Ok(t.elapsed().as_secs_f64() * 1000.0)
            }
        })
        .buffer_unordered(BASELINE_CONCURRENCY)
        .collect::<Vec<anyhow::Result<f64>>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<Vec<f64>>>()?;
    let secs = start.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    Ok((secs, latencies[latencies.len() / 2]))
}

impl Report {
    fn print(&self, config: &Config) {
        println!();
        println!("Notification: event → provider call ({}, webhook provider on loopback)", self.backend);
        println!(
            "  limits 1/min 5/h 10/day per number (distinct numbers), quiet hours none, sender defaults; \
             {} events per run; applicants seeded in {:.1} s",
            config.events, self.seeded_secs
        );
        println!();
        println!(
            "  {:<16} {:>7} {:>9} {:>8} {:>7} {:>7} {:>5} {:>5} {:>9} {:>8} {:>8} {:>8}",
            "run",
            "events",
            "published",
            "pub s",
            "calls",
            "keys",
            "dup",
            "lost",
            "SMS/s",
            "p50 ms",
            "p99 ms",
            "max ms"
        );
        for r in &self.runs {
            println!(
                "  {:<16} {:>7} {:>9} {:>8.2} {:>7} {:>7} {:>5} {:>5} {:>9.0} {:>8.0} {:>8.0} {:>8.0}",
                r.label,
                r.events,
                r.published,
                r.publish_secs,
                r.calls,
                r.keys,
                r.calls.saturating_sub(r.keys) + r.keys.saturating_sub(r.distinct),
                r.events.saturating_sub(r.distinct),
                r.per_sec(),
                r.pct(50.0),
                r.pct(99.0),
                r.max()
            );
        }
        if let Some((secs, p50)) = self.baseline {
            let rate = config.events as f64 / secs;
            println!();
            println!(
                "  baseline: {} signed posts straight to the gateway, {BASELINE_CONCURRENCY} at once: {rate:.0}/s, p50 {p50:.1} ms",
                config.events
            );
            if let Some(once) = self.runs.first() {
                println!(
                    "  service/baseline: {:.3} (the service's throughput as a share of the bare provider calls')",
                    once.per_sec() / rate
                );
            }
        }
        println!();
        if self.failures.is_empty() {
            println!("  correctness: every event made exactly one provider call; no duplicate, none lost");
        } else {
            println!("  correctness: {} FAILURE(S)", self.failures.len());
        }
    }
}
