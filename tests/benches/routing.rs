//! Routing benchmark (分类推送基准): from `plan.published` to every task dispatched by routing and received
//! by the county office that must act on it.
//!
//! Every run starts a real `nats-server` of its own (random port, own JetStream store, the platform's
//! streams) and a fresh database for routing (a temporary SQLite file, or fresh PostgreSQL schemas when
//! `TEST_DATABASE_URL` is set), starts routing as production does (`service::start::<RoutingService>`: its
//! `plan.published` consumer, its outbox relay, default settings) and seeds the unit directory.
//!
//! - **County consumers**: one durable pull consumer per county office (`county-<code>`, filter
//!   `bb.evt.<code>.>`, explicit ack), each on its own NATS connection, created before anything is
//!   published — what a county office runs (issue 5). Each counts the `task.dispatched` events it
//!   receives, notes the instant of receipt and acks; other events of the office (the `plan.published`
//!   of plans the county accepted itself) are acked and left out.
//! - **Plans**: `BENCH_PLANS` plans of `BENCH_ITEMS` items, none with predecessors (so every item is
//!   dispatched at once), every item `Level::ByLocation` (so it lands at a county unit), unit types in
//!   turn over the catalog's types that every county has (`UnitType::ALL` less the city-only ones, read
//!   from `bangban_routing::seed::directory()`). Projects lie in the 7 counties in turn; every other plan
//!   is accepted by the city (so its tasks carry linked handling), the rest by the project's county.
//!   Events are built and serialised before any clock starts, and published as planning would:
//!   `CloudEvent::new(EventType::PLAN_PUBLISHED, …)` on `bb.evt.<accepting office>.plan.published` with
//!   the envelope's headers.
//! - **Light load** (measured first, after 2 untimed warm-up plans): `BENCH_LIGHT_PLANS` plans published
//!   one at a time, each waiting until all its tasks have reached the county consumers: the latency of a
//!   plan with nothing queued before it.
//! - **Burst** (the headline): all `BENCH_PLANS` plans published at once (async publish, acks awaited
//!   afterwards), the publish instant of each plan noted, until every one of the `BENCH_PLANS` ×
//!   `BENCH_ITEMS` tasks has been received. Reported: tasks/s and plans/s from the first publish to the
//!   last receipt; latency p50/p90/p99/max from a plan's publish to the receipt of each of its tasks (the
//!   `TaskEvent`'s `case_id` names the plan), in three parts: to the start of the plan's dispatch step
//!   (the event's `at`, taken once per plan by routing inside its transaction: queueing, reading the
//!   case, creating the tasks), to the event stored on the stream (the broker's timestamp: the
//!   dispatch statements, the commit, the relay), to its receipt by the county; when routing's
//!   `plan.published` consumer had acked the last plan (polled every 50 ms); the CPU time of this
//!   process (routing, relay, consumers, publisher), of the run's nats-server and of PostgreSQL. The
//!   light load reports the same parts, and per plan the latency to its last task.
//!
//! Correctness checks (each failure makes the exit code non-zero; the figures are printed anyway):
//! every task received exactly once (no duplicate `task_id`), by the consumer of its unit's office, on
//! `bb.evt.<unit office>.task.dispatched.<unit>` matching routing's row, at a unit of the project's
//! county, `BENCH_ITEMS` tasks per plan; routing's `task` table holds one row per item of every plan
//! published, all `dispatched`; `outbox` is empty; routing's inbox recorded every plan; nothing went to
//! the dead-letter stream.
//!
//! Run with `make bench`, or `cargo bench -p bangban-e2e --bench routing` with `nats-server` on PATH.
//! Environment: `BENCH_PLANS` (default 1000), `BENCH_ITEMS` (default 30), `BENCH_LIGHT_PLANS` (default
//! 20, 0 skips the light load), `BENCH_REPEAT` (runs, default 1; tasks/s is the median, latencies pool
//! every run), `TEST_DATABASE_URL` (e.g. `postgres://postgres@127.0.0.1:5432/test`).

#[path = "support/mod.rs"]
mod support;

use std::{
    collections::{HashMap, HashSet},
    process::ExitCode,
    str::FromStr,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};
use async_nats::{
    HeaderMap,
    jetstream::{self, consumer::pull},
};
use bangban_contracts::{
    CloudEvent, EventType,
    intake::ProjectCategory,
    office::{CITY_OFFICE, OFFICES},
    planning::{Level, Material, PlanChanges, PlanPublished, PublishedItem, Stage, UnitType},
    routing::{TaskEvent, TaskStatus},
    subjects::{DLQ_STREAM, EVENTS_STREAM, EventSubject, office_filter},
};
use bangban_platform::{Settings, bus, service, shutdown::Shutdown};
use bangban_routing::RoutingService;
use bangban_testkit::{NatsServer, TestDatabase};
use chrono::{DateTime, Days, NaiveDate, Utc};
use futures::StreamExt;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Plans through the whole path before anything is measured (connections, statement caches).
const WARMUP_PLANS: usize = 2;
/// How long the received count may stand still before the run gives up on the missing tasks.
const STALL_TIMEOUT: Duration = Duration::from_secs(120);
/// How long routing's outbox may take to empty once every task has been received.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
/// Durable name of routing's `plan.published` consumer (services/routing/src/lib.rs).
const ROUTING_CONSUMER: &str = "routing-plans";

fn main() -> ExitCode {
    support::main("routing bench", Config::from_env, |config| async move {
        let report = run(&config).await?;
        report.print(&config);
        Ok(report.failures)
    })
}

// ---------------------------------------------------------------------------------------------
// Configuration

struct Config {
    plans: usize,
    items: usize,
    light: usize,
    repeat: usize,
}

impl Config {
    fn from_env() -> anyhow::Result<Self> {
        let plans: usize = env_or("BENCH_PLANS", 1_000)?;
        let items: usize = env_or("BENCH_ITEMS", 30)?;
        let light: usize = env_or("BENCH_LIGHT_PLANS", 20)?;
        let repeat: usize = env_or("BENCH_REPEAT", 1)?;
        if plans == 0 || items == 0 || repeat == 0 {
            bail!("BENCH_PLANS, BENCH_ITEMS and BENCH_REPEAT must be positive");
        }
        if items > 999 {
            bail!("BENCH_ITEMS: at most 999 items per plan");
        }
        Ok(Self { plans, items, light, repeat })
    }

    /// Plans of a run, warm-up and light load included.
    fn plans_per_run(&self) -> usize {
        WARMUP_PLANS + self.light + self.plans
    }
}

fn env_or<T: FromStr>(name: &str, default: T) -> anyhow::Result<T> {
    match std::env::var(name) {
        Ok(s) if !s.trim().is_empty() => s.trim().parse().map_err(|_| anyhow::anyhow!("{name}: {s:?} is not a number")),
        _ => Ok(default),
    }
}

/// The county-level offices (every office but the city's).
fn counties() -> Vec<&'static str> {
    OFFICES.iter().map(|(code, _)| *code).filter(|code| *code != CITY_OFFICE).collect()
}

/// The unit types every county has a county-level unit of, in catalog order.
fn county_unit_types() -> Vec<UnitType> {
    let directory = bangban_routing::seed::directory();
    let counties = counties();
    UnitType::ALL
        .iter()
        .copied()
        .filter(|t| {
            counties.iter().all(|office| {
                directory.iter().any(|u| u.unit_type == *t && u.office == *office && u.level == Level::County)
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Plans

/// Which part of a run a plan belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Warmup,
    Light,
    Burst,
}

/// A `plan.published` ready to go: envelope, subject and headers made before any clock starts.
struct Prepared {
    case_id: Uuid,
    phase: Phase,
    /// The county the project lies in (where every task must land).
    project_office: &'static str,
    subject: String,
    headers: HeaderMap,
    event: CloudEvent,
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN)
}

/// Plan number `i` of a run: the project in county `i mod 7`, accepted by the city for odd `i` and by
/// the county itself otherwise; `items` items without predecessors, unit types in turn from `types`.
fn prepare(i: usize, phase: Phase, items: usize, types: &[UnitType]) -> anyhow::Result<Prepared> {
    let counties = counties();
    let project_office = counties[i % counties.len()];
    let office = if i % 2 == 1 { CITY_OFFICE } else { project_office };
    let category = ProjectCategory::ALL[i % ProjectCategory::ALL.len()];
    let start = date(2026, 12, 7) + Days::new((i % 20) as u64);
    const DAYS: [u32; 6] = [5, 10, 15, 20, 3, 7];
    let items: Vec<PublishedItem> = (0..items)
        .map(|j| {
            let unit_type = types[(i + j) % types.len()];
            let days = DAYS[j % DAYS.len()];
            PublishedItem {
                code: format!("BZ-{:03}", j + 1),
                name: format!("{}审批事项（第{}项）", unit_type.label_zh(), j + 1),
                stage: Stage::ALL[j % Stage::ALL.len()],
                unit_type,
                level: Level::ByLocation,
                unit_code: None,
                materials: vec![
                    Material { name: "申请表".into(), required: true, note: None },
                    Material { name: "项目批准（核准、备案）文件".into(), required: true, note: None },
                    Material {
                        name: "授权委托书".into(), required: false, note: Some("委托代办时提供".into())
                    },
                ],
                promised_working_days: days,
                legal_basis: "《工程建设项目审批管理规定》".into(),
                predecessors: Vec::new(),
                planned_start: start,
                planned_end: start + Days::new(u64::from(days) * 7 / 5),
                critical: j == 0,
                provisional: false,
            }
        })
        .collect();
    let specialist = format!("staff-{office}-agent-{}", 1 + i % 5);
    let plan = PlanPublished {
        case_id: Uuid::now_v7(),
        ledger_no: format!("BB-{office}-2026-{:06}", i + 1),
        office: office.into(),
        version: 1,
        category,
        project_id: Uuid::now_v7(),
        project_office: project_office.into(),
        project_name: format!("滨州市新材料产业园项目（第{}号）", i + 1),
        applicant_id: Uuid::now_v7(),
        specialist_id: specialist.clone(),
        catalog_version: 1,
        planned_start: start,
        planned_end: start + Days::new(84),
        total_working_days: 60,
        critical_path: items.first().map(|it| it.code.clone()).into_iter().collect(),
        provisional: false,
        changes: PlanChanges { added: items.iter().map(|it| it.code.clone()).collect(), ..Default::default() },
        items,
        note: None,
        published_by: specialist,
        published_at: Utc::now(),
    };
    let event = CloudEvent::new(EventType::PLAN_PUBLISHED, "planning", plan.case_id.to_string(), &plan)?;
    let subject = EventType::PLAN_PUBLISHED.subject(office, None)?.to_string();
    Ok(Prepared { case_id: plan.case_id, phase, project_office, subject, headers: event.to_headers(), event })
}

/// When a plan was published.
#[derive(Debug, Clone, Copy)]
struct Published {
    phase: Phase,
    project_office: &'static str,
    at: Instant,
    utc: DateTime<Utc>,
}

// ---------------------------------------------------------------------------------------------
// County consumers

/// One `task.dispatched` as a county consumer received it.
struct Receipt {
    at: Instant,
    utc: DateTime<Utc>,
    /// When the stream stored it (the broker's timestamp: the relay's publish).
    stored: Option<DateTime<Utc>>,
    /// The office whose consumer received it.
    consumer_office: &'static str,
    subject: String,
    task: TaskEvent,
}

/// What one county consumer saw.
#[derive(Default)]
struct Received {
    receipts: Vec<Receipt>,
    /// Other events of the office (the `plan.published` of the county's own plans).
    others: usize,
    errors: Vec<String>,
}

/// A county office's durable consumer, created now (before anything is published), and the task that
/// drains it until `stop`.
async fn county_consumer(
    client: async_nats::Client,
    office: &'static str,
    dispatched: Arc<AtomicUsize>,
    stop: CancellationToken,
) -> anyhow::Result<tokio::task::JoinHandle<Received>> {
    let js = jetstream::new(client);
    let stream = js.get_stream(EVENTS_STREAM).await.map_err(|e| anyhow::anyhow!("stream: {e}"))?;
    let name = format!("county-{office}");
    let consumer = stream
        .get_or_create_consumer(
            &name,
            pull::Config {
                durable_name: Some(name.clone()),
                filter_subject: office_filter(office)?,
                ack_policy: jetstream::consumer::AckPolicy::Explicit,
                deliver_policy: jetstream::consumer::DeliverPolicy::All,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("consumer {name}: {e}"))?;
    let mut messages = consumer.messages().await.map_err(|e| anyhow::anyhow!("consumer {name} messages: {e}"))?;
    Ok(tokio::spawn(async move {
        let mut seen = Received::default();
        let dispatched_type = EventType::TASK_DISPATCHED.ce_type();
        loop {
            let next = tokio::select! {
                _ = stop.cancelled() => break,
                m = messages.next() => m,
            };
            let msg = match next {
                None => break,
                Some(Err(e)) => {
                    seen.errors.push(format!("{name}: {e}"));
                    continue;
                }
                Some(Ok(m)) => m,
            };
            let (at, utc) = (Instant::now(), Utc::now());
            let subject = msg.subject.to_string();
            // async-nats' `time` backend (its `chrono` feature is off in this workspace).
            let stored = msg.info().ok().and_then(|i| i64::try_from(i.published.unix_timestamp_nanos()).ok());
            let stored = stored.map(DateTime::from_timestamp_nanos);
            match CloudEvent::from_parts(msg.headers.as_ref(), msg.payload.clone()) {
                Ok(event) if event.type_ == dispatched_type => match event.data_as::<TaskEvent>() {
                    Ok(task) => {
                        seen.receipts.push(Receipt { at, utc, stored, consumer_office: office, subject, task });
                        dispatched.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => seen.errors.push(format!("{name}: {subject}: {e}")),
                },
                Ok(_) => seen.others += 1,
                Err(e) => seen.errors.push(format!("{name}: {subject}: {e}")),
            }
            if let Err(e) = msg.ack().await {
                seen.errors.push(format!("{name}: ack: {e}"));
            }
        }
        seen
    }))
}

// ---------------------------------------------------------------------------------------------
// One run

struct RunResult {
    /// First publish to last receipt of the burst.
    wall: Duration,
    /// First publish to the last publish ack of the burst.
    publish: Duration,
    /// First publish to routing's consumer having acked every plan (`None`: never seen).
    routing_done: Option<Duration>,
    /// Outbox empty this long after the last receipt.
    drained: Option<Duration>,
    /// Milliseconds from a burst plan's publish to each of its tasks' receipt, and its parts.
    burst: Latency,
    /// The same for the light load.
    light: Latency,
    /// Per light plan, to its last task.
    light_plan: Vec<f64>,
    cpu: CpuUse,
}

/// Milliseconds per task: in all, and in parts (wall clocks of this process and of the broker, one machine).
#[derive(Default)]
struct Latency {
    /// Publish → received.
    total: Vec<f64>,
    /// Publish → the task's dispatch step began (the event's `at`, taken once per plan by routing inside its
    /// transaction): queueing, routing reading the case and creating its tasks.
    to_dispatch: Vec<f64>,
    /// Dispatch step → stored on the stream: the rest of the transaction (every task's dispatch), the
    /// commit, the relay.
    to_stream: Vec<f64>,
    /// Stored on the stream → received by the county consumer.
    to_county: Vec<f64>,
}

impl Latency {
    fn add(&mut self, p: &Published, r: &Receipt) {
        let between = |a: DateTime<Utc>, b: DateTime<Utc>| (b - a).num_microseconds().unwrap_or(0) as f64 / 1e3;
        self.total.push(ms(r.at.saturating_duration_since(p.at)));
        self.to_dispatch.push(between(p.utc, r.task.at));
        if let Some(stored) = r.stored {
            self.to_stream.push(between(r.task.at, stored));
            self.to_county.push(between(stored, r.utc));
        }
    }
}

struct Shared {
    types: Vec<UnitType>,
}

async fn run_once(
    config: &Config,
    shared: &Shared,
    round: usize,
    failures: &mut Vec<String>,
    env: &mut Option<Environment>,
) -> anyhow::Result<RunResult> {
    let fail = |failures: &mut Vec<String>, what: String| failures.push(format!("run {round}: {what}"));
    bangban_platform::runtime::install_crypto_provider();
    let server = NatsServer::start().await.context("starting nats-server (is it on PATH?)")?;
    let client = server.client().await?;
    let js = jetstream::new(client.clone());
    bus::ensure_streams(&js, 1).await?;

    // Routing as it runs in production, on a fresh database, with the directory seeded.
    let database = TestDatabase::new("routing").await?;
    let mut settings = Settings::default();
    settings.nats.url = server.url();
    database.apply_to(&mut settings);
    let shutdown = Shutdown::new();
    let routing_client = server.client().await?;
    let running = service::start::<RoutingService>(&settings, routing_client, &shutdown).await?;
    let units = bangban_routing::seed::seed(&running.db).await?;
    let db = running.db.clone();
    if env.is_none() {
        *env = Some(Environment::probe(&client, &db, &settings, units).await);
    }

    // The county offices' consumers, before anything is published.
    let stop = CancellationToken::new();
    let dispatched = Arc::new(AtomicUsize::new(0));
    let mut consumers = Vec::new();
    for office in counties() {
        let c = server.client().await?;
        consumers.push(county_consumer(c, office, dispatched.clone(), stop.clone()).await?);
    }

    // Every plan of the run, built and serialised before any clock starts.
    let mut prepared = Vec::with_capacity(config.plans_per_run());
    for i in 0..config.plans_per_run() {
        let phase = if i < WARMUP_PLANS {
            Phase::Warmup
        } else if i < WARMUP_PLANS + config.light {
            Phase::Light
        } else {
            Phase::Burst
        };
        prepared.push(prepare(i, phase, config.items, &shared.types)?);
    }
    let mut published: HashMap<Uuid, Published> = HashMap::with_capacity(prepared.len());
    let mut plans = prepared.into_iter().peekable();
    let mut expected = 0usize;

    // Warm-up and light load: one plan at a time, each until all its tasks are in.
    while let Some(p) = plans.next_if(|p| p.phase != Phase::Burst) {
        let (case_id, phase) = (p.case_id, p.phase);
        let (at, utc) = (Instant::now(), Utc::now());
        published.insert(case_id, Published { phase, project_office: p.project_office, at, utc });
        js.publish_with_headers(p.subject, p.headers, p.event.data.clone())
            .await
            .map_err(|e| anyhow::anyhow!("publish: {e}"))?
            .await
            .map_err(|e| anyhow::anyhow!("publish ack: {e}"))?;
        expected += config.items;
        if !wait_for(&dispatched, expected, Duration::from_millis(1)).await {
            fail(failures, format!("{phase:?} plan {case_id}: its tasks never all arrived"));
            break;
        }
    }

    // The burst: everything at once, acks awaited after the last publish.
    let cpu_before = CpuSample::take(&server.store_dir().display().to_string());
    // (Light-load plans left over after a failure are not published.)
    let burst: Vec<Prepared> = plans.filter(|p| p.phase == Phase::Burst).collect();
    let started = Instant::now();
    let mut acks = Vec::with_capacity(burst.len());
    for p in burst {
        let (at, utc) = (Instant::now(), Utc::now());
        published.insert(p.case_id, Published { phase: p.phase, project_office: p.project_office, at, utc });
        let ack = js
            .publish_with_headers(p.subject, p.headers, p.event.data.clone())
            .await
            .map_err(|e| anyhow::anyhow!("publish: {e}"))?;
        acks.push(ack);
    }
    for ack in acks {
        ack.await.map_err(|e| anyhow::anyhow!("publish ack: {e}"))?;
    }
    let publish = started.elapsed();
    expected += config.plans * config.items;
    let watcher = tokio::spawn(routing_done(js.clone(), started, stop.clone()));
    if !wait_for(&dispatched, expected, Duration::from_millis(5)).await {
        fail(
            failures,
            format!(
                "only {} of {expected} tasks received (nothing new for {} s)",
                dispatched.load(Ordering::Relaxed),
                STALL_TIMEOUT.as_secs()
            ),
        );
    }
    let cpu = CpuSample::take(&server.store_dir().display().to_string()).since(&cpu_before);
    let all_in = Instant::now();

    // The outbox empties once the relay has removed what JetStream acknowledged.
    let mut drained = None;
    while all_in.elapsed() < DRAIN_TIMEOUT {
        if count(&db, "SELECT COUNT(*) AS n FROM outbox").await? == 0 {
            drained = Some(all_in.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // A moment for a stray duplicate to show up before the consumers stop.
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.cancel();
    let routing_done = watcher.await.ok().flatten();
    let mut received = Received::default();
    for c in consumers {
        let r = c.await.context("a county consumer panicked")?;
        received.receipts.extend(r.receipts);
        received.others += r.others;
        received.errors.extend(r.errors);
    }

    // Correctness.
    check(config, &db, &js, &published, &received, |what| fail(failures, what)).await?;

    // Figures.
    let mut result = RunResult {
        wall: Duration::ZERO,
        publish,
        routing_done,
        drained,
        burst: Latency::default(),
        light: Latency::default(),
        light_plan: Vec::new(),
        cpu,
    };
    let mut last = started;
    let mut light_last: HashMap<Uuid, Instant> = HashMap::new();
    for r in &received.receipts {
        let Some(p) = published.get(&r.task.case_id) else { continue };
        let latency = match p.phase {
            Phase::Burst => {
                last = last.max(r.at);
                &mut result.burst
            }
            Phase::Light => {
                let l = light_last.entry(r.task.case_id).or_insert(r.at);
                *l = (*l).max(r.at);
                &mut result.light
            }
            Phase::Warmup => continue,
        };
        latency.add(p, r);
    }
    result.wall = last.saturating_duration_since(started);
    result.light_plan = light_last
        .iter()
        .filter_map(|(case_id, at)| published.get(case_id).map(|p| ms(at.saturating_duration_since(p.at))))
        .collect();

    if !shutdown.shutdown(Duration::from_secs(10)).await {
        eprintln!("routing bench: run {round}: some tasks did not stop within 10 s");
    }
    db.close().await?;
    drop(database);
    drop(server);
    Ok(result)
}

/// Waits until `counter` reaches `target`, polling every `poll`; `false` once it stood still for
/// [`STALL_TIMEOUT`].
async fn wait_for(counter: &AtomicUsize, target: usize, poll: Duration) -> bool {
    let mut seen = counter.load(Ordering::Relaxed);
    let mut moved = Instant::now();
    loop {
        let now = counter.load(Ordering::Relaxed);
        if now >= target {
            return true;
        }
        if now != seen {
            seen = now;
            moved = Instant::now();
        } else if moved.elapsed() > STALL_TIMEOUT {
            return false;
        }
        tokio::time::sleep(poll).await;
    }
}

/// When routing's `plan.published` consumer had nothing pending and nothing unacknowledged (every plan
/// handled and committed), after `started`; polled every 50 ms until `stop`.
async fn routing_done(js: jetstream::Context, started: Instant, stop: CancellationToken) -> Option<Duration> {
    let stream = js.get_stream(EVENTS_STREAM).await.ok()?;
    let consumer = stream.get_consumer::<pull::Config>(ROUTING_CONSUMER).await.ok()?;
    loop {
        if let Ok(info) = consumer.get_info().await
            && info.num_pending == 0
            && info.num_ack_pending == 0
        {
            return Some(started.elapsed());
        }
        tokio::select! {
            _ = stop.cancelled() => return None,
            _ = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
    }
}

/// The correctness checks of a run.
async fn check(
    config: &Config,
    db: &DatabaseConnection,
    js: &jetstream::Context,
    published: &HashMap<Uuid, Published>,
    received: &Received,
    mut fail: impl FnMut(String),
) -> anyhow::Result<()> {
    const SHOWN: usize = 5;
    let mut shown = 0usize;
    let mut report = |fail: &mut dyn FnMut(String), what: String| {
        shown += 1;
        if shown <= SHOWN {
            fail(what);
        }
    };
    for e in received.errors.iter().take(SHOWN) {
        fail(format!("county consumer: {e}"));
    }
    let expected = published.len() * config.items;

    // Routing's rows.
    let tasks = count(db, "SELECT COUNT(*) AS n FROM task").await?;
    if tasks != expected as i64 {
        fail(format!(
            "routing holds {tasks} tasks, expected {expected} ({} plans × {})",
            published.len(),
            config.items
        ));
    }
    let status = TaskStatus::Dispatched.as_str();
    let dispatched = count(db, &format!("SELECT COUNT(*) AS n FROM task WHERE status = '{status}'")).await?;
    if dispatched != expected as i64 {
        fail(format!("{dispatched} tasks are {status}, expected {expected}"));
    }
    let outbox = count(db, "SELECT COUNT(*) AS n FROM outbox").await?;
    if outbox != 0 {
        fail(format!("{outbox} rows left in routing's outbox"));
    }
    let inbox = count(db, &format!("SELECT COUNT(*) AS n FROM inbox WHERE consumer = '{ROUTING_CONSUMER}'")).await?;
    if inbox != published.len() as i64 {
        fail(format!("routing's inbox recorded {inbox} plans, {} were published", published.len()));
    }
    let dlq = js
        .get_stream(DLQ_STREAM)
        .await
        .map_err(|e| anyhow::anyhow!("dead-letter stream: {e}"))?
        .get_info()
        .await
        .map_err(|e| anyhow::anyhow!("dead-letter stream info: {e}"))?
        .state
        .messages;
    if dlq != 0 {
        fail(format!("{dlq} messages on the dead-letter stream {DLQ_STREAM}"));
    }

    // Every received event against routing's row.
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT id, case_id, unit_code, unit_office FROM task".to_string(),
        ))
        .await?;
    let mut by_id: HashMap<String, (String, String, String)> = HashMap::with_capacity(rows.len());
    for row in rows {
        let id: String = row.try_get("", "id")?;
        by_id.insert(id, (row.try_get("", "case_id")?, row.try_get("", "unit_code")?, row.try_get("", "unit_office")?));
    }
    let mut seen: HashSet<Uuid> = HashSet::with_capacity(received.receipts.len());
    let mut per_plan: HashMap<Uuid, usize> = HashMap::with_capacity(published.len());
    let mut duplicates = 0usize;
    for r in &received.receipts {
        let t = &r.task;
        if !seen.insert(t.task_id) {
            duplicates += 1;
            report(&mut fail, format!("task {} received twice", t.task_id));
            continue;
        }
        *per_plan.entry(t.case_id).or_default() += 1;
        let subject = match EventSubject::parse(&r.subject) {
            Ok(s) => s,
            Err(e) => {
                report(&mut fail, format!("subject {:?}: {e}", r.subject));
                continue;
            }
        };
        let Some((case_id, unit_code, unit_office)) = by_id.get(&t.task_id.to_string()) else {
            report(&mut fail, format!("task {} on {} is not in routing's table", t.task_id, r.subject));
            continue;
        };
        if subject.office() != unit_office || subject.unit() != Some(unit_code.as_str()) {
            report(&mut fail, format!("task {} at {unit_code} ({unit_office}) came on {}", t.task_id, r.subject));
        }
        if r.consumer_office != unit_office || t.unit_office != *unit_office || t.unit_code != *unit_code {
            report(
                &mut fail,
                format!(
                    "task {} at {unit_code} ({unit_office}): event says {} ({}), received by county {}",
                    t.task_id, t.unit_code, t.unit_office, r.consumer_office
                ),
            );
        }
        if *case_id != t.case_id.to_string() || t.status != TaskStatus::Dispatched {
            report(&mut fail, format!("task {}: case {} / status {:?} in the event", t.task_id, t.case_id, t.status));
        }
        match published.get(&t.case_id) {
            None => report(&mut fail, format!("task {} of an unknown plan {}", t.task_id, t.case_id)),
            Some(p) if p.project_office != unit_office => report(
                &mut fail,
                format!("task {} at {unit_code}, not in the project's county {}", t.task_id, p.project_office),
            ),
            Some(_) => {}
        }
    }
    if duplicates > 0 {
        fail(format!("{duplicates} task.dispatched received more than once"));
    }
    let missing = by_id.keys().filter(|id| Uuid::parse_str(id).map_or(true, |id| !seen.contains(&id))).count();
    if missing > 0 {
        fail(format!("{missing} of routing's tasks never reached a county consumer"));
    }
    let short = published.keys().filter(|c| per_plan.get(c).copied().unwrap_or(0) != config.items).count();
    if short > 0 {
        fail(format!("{short} plans did not have exactly {} tasks received", config.items));
    }
    if shown > SHOWN {
        fail(format!("… {shown} mismatches in all"));
    }
    Ok(())
}

async fn count(db: &DatabaseConnection, sql: &str) -> anyhow::Result<i64> {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql.to_string()))
        .await?
        .context("COUNT returned no row")?;
    Ok(row.try_get::<i64>("", "n")?)
}

// ---------------------------------------------------------------------------------------------
// CPU accounting (Linux /proc; zeros elsewhere)

/// Clock ticks per second of `/proc` figures (USER_HZ, 100 on every Linux this runs on).
const USER_HZ: f64 = 100.0;

/// CPU seconds used so far by this process (routing, its relay, the consumers, the publisher, SQLite),
/// by the run's nats-server, by every PostgreSQL process of the machine, and by the machine.
#[derive(Debug, Clone, Copy, Default)]
struct CpuSample {
    bench: f64,
    nats: f64,
    postgres: f64,
    /// Busy (not idle, not iowait) and all CPU seconds of the machine.
    busy: f64,
    total: f64,
}

/// CPU seconds during the burst.
type CpuUse = CpuSample;

impl CpuSample {
    fn take(nats_store: &str) -> Self {
        let mut s = Self { bench: proc_cpu_seconds("self"), ..Self::default() };
        if let Ok(entries) = std::fs::read_dir("/proc") {
            for entry in entries.flatten() {
                let name = entry.file_name();
                let Some(pid) = name.to_str().filter(|p| p.bytes().all(|b| b.is_ascii_digit())) else { continue };
                let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
                match comm.trim() {
                    "nats-server" => {
                        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                        if String::from_utf8_lossy(&cmdline).contains(nats_store) {
                            s.nats += proc_cpu_seconds(pid);
                        }
                    }
                    "postgres" => s.postgres += proc_cpu_seconds(pid),
                    _ => {}
                }
            }
        }
        if let Ok(stat) = std::fs::read_to_string("/proc/stat")
            && let Some(line) = stat.lines().find(|l| l.starts_with("cpu "))
        {
            let v: Vec<f64> = line.split_whitespace().skip(1).filter_map(|f| f.parse().ok()).collect();
            s.total = v.iter().take(8).sum::<f64>() / USER_HZ;
            // idle and iowait
            s.busy = s.total - (v.get(3).copied().unwrap_or(0.0) + v.get(4).copied().unwrap_or(0.0)) / USER_HZ;
        }
        s
    }

    fn since(&self, before: &Self) -> Self {
        Self {
            bench: self.bench - before.bench,
            nats: self.nats - before.nats,
            // PostgreSQL backends that ended meanwhile take their time with them; never below 0.
            postgres: (self.postgres - before.postgres).max(0.0),
            busy: self.busy - before.busy,
            total: self.total - before.total,
        }
    }

    fn add(&mut self, other: &Self) {
        self.bench += other.bench;
        self.nats += other.nats;
        self.postgres += other.postgres;
        self.busy += other.busy;
        self.total += other.total;
    }

    /// Busy share of all CPUs, percent.
    fn busy_percent(&self) -> f64 {
        if self.total > 0.0 { 100.0 * self.busy / self.total } else { f64::NAN }
    }
}

/// User + system CPU seconds of process `pid` (or `self`).
fn proc_cpu_seconds(pid: &str) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return 0.0 };
    // The fields after the command name, which is in parentheses and may contain spaces.
    let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else { return 0.0 };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime: fields 14 and 15 of the line, 12 and 13 after the name.
    let tick = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (tick(11) + tick(12)) / USER_HZ
}

// ---------------------------------------------------------------------------------------------
// Statistics

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

    /// `p50 p90 p99 max` in columns.
    fn row(&self) -> String {
        format!("{:>9.1} {:>9.1} {:>9.1} {:>9.1}", self.pct(50.0), self.pct(90.0), self.pct(99.0), self.max())
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
}

// ---------------------------------------------------------------------------------------------
// Run and report

struct Environment {
    cpus: usize,
    cpu_model: String,
    nats_version: String,
    backend: String,
    pool: u32,
    outbox_batch: u64,
    units: usize,
}

impl Environment {
    async fn probe(client: &async_nats::Client, db: &DatabaseConnection, settings: &Settings, units: usize) -> Self {
        let backend = if db.get_database_backend() == DbBackend::Postgres {
            let version = db
                .query_one_raw(Statement::from_string(
                    DbBackend::Postgres,
                    "SELECT current_setting('server_version') AS v",
                ))
                .await
                .ok()
                .flatten()
                .and_then(|r| r.try_get::<String>("", "v").ok())
                .unwrap_or_default();
            format!("PostgreSQL {version}")
        } else {
            "SQLite (WAL, synchronous=NORMAL)".to_string()
        };
        Self {
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
            pool: settings.database.max_connections,
            outbox_batch: settings.outbox.batch_size,
            units,
        }
    }
}

struct Report {
    env: Option<Environment>,
    runs: Vec<RunResult>,
    failures: Vec<String>,
}

async fn run(config: &Config) -> anyhow::Result<Report> {
    let shared = Shared { types: county_unit_types() };
    if shared.types.is_empty() {
        bail!("the unit directory has no unit type that every county has");
    }
    eprintln!(
        "routing bench: {} plans × {} items after {} warm-up and {} light-load plans, {} run(s)",
        config.plans, config.items, WARMUP_PLANS, config.light, config.repeat
    );
    let mut failures = Vec::new();
    let mut env = None;
    let mut runs = Vec::new();
    for round in 1..=config.repeat {
        eprintln!("routing bench: run {round}/{} …", config.repeat);
        let r = run_once(config, &shared, round, &mut failures, &mut env).await?;
        eprintln!(
            "routing bench: run {round}: {:.0} tasks/s, {:.1} s",
            (config.plans * config.items) as f64 / r.wall.as_secs_f64(),
            r.wall.as_secs_f64()
        );
        runs.push(r);
    }
    Ok(Report { env, runs, failures })
}

impl Report {
    fn print(&self, config: &Config) {
        let tasks = config.plans * config.items;
        let rates: Vec<f64> = self.runs.iter().map(|r| tasks as f64 / r.wall.as_secs_f64()).collect();
        let pooled =
            |f: fn(&RunResult) -> &Vec<f64>| Series::new(self.runs.iter().flat_map(|r| f(r).clone()).collect());
        let secs = |f: fn(&RunResult) -> Option<Duration>| {
            median(self.runs.iter().filter_map(f).map(|d| d.as_secs_f64()).collect())
        };
        let mut cpu = CpuUse::default();
        for r in &self.runs {
            cpu.add(&r.cpu);
        }
        let per_plan = |s: f64| 1e3 * s / (config.plans * self.runs.len()) as f64;

        println!();
        println!("Bangban routing benchmark: plan.published → tasks dispatched → county consumers");
        if let Some(e) = &self.env {
            println!("  machine    {} CPUs ({})", e.cpus, e.cpu_model);
            println!("  broker     nats-server {} (JetStream file store, local), a fresh one per run", e.nats_version);
            println!(
                "  database   {}, routing's pool of {} connections, outbox batch {}, {} units seeded; a fresh \
                 database per run",
                e.backend, e.pool, e.outbox_batch, e.units
            );
        }
        println!(
            "  plans      {} × {} items = {tasks} tasks per run; no predecessors, by_location, {} unit types in turn; \
             projects in the {} counties in turn, every other plan accepted by the city (linked handling)",
            config.plans,
            config.items,
            county_unit_types().len(),
            counties().len()
        );
        println!(
            "  consumers  {} durable pull consumers, one per county office (bb.evt.<code>.>, explicit ack), each \
             on its own connection",
            counties().len()
        );
        println!(
            "  runs       {}; tasks/s: median of the runs [min-max]; latencies: every task of every run",
            self.runs.len()
        );
        println!();

        let burst = pooled(|r| &r.burst.total);
        let backend = self.env.as_ref().map(|e| e.backend.as_str()).unwrap_or("?");
        println!("Burst: all {} plans published at once", config.plans);
        println!(
            "  {:<34} {:>6} {:>7} {:>19} {:>8} {:>8} {:>8} {:>8}",
            "backend", "plans", "tasks", "tasks/s [min-max]", "plans/s", "p50 ms", "p99 ms", "wall s"
        );
        let lo = rates.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = rates.iter().copied().fold(0.0, f64::max);
        println!(
            "  {:<34} {:>6} {:>7} {:>19} {:>8.1} {:>8.0} {:>8.0} {:>8.2}",
            backend.chars().take(34).collect::<String>(),
            config.plans,
            tasks,
            format!("{:.0} [{lo:.0}-{hi:.0}]", median(rates.clone())),
            median(rates.clone()) / config.items as f64,
            burst.pct(50.0),
            burst.pct(99.0),
            secs(|r| Some(r.wall)),
        );
        println!(
            "  publishing took {:.3} s (all acks in); routing's consumer had handled every plan after {:.2} s; the last \
             task arrived after {:.2} s; outbox empty {:.0} ms later (medians)",
            secs(|r| Some(r.publish)),
            secs(|r| r.routing_done),
            secs(|r| Some(r.wall)),
            1e3 * secs(|r| r.drained),
        );
        println!();
        println!("Latency per task, ms (from the plan's publish to the task.dispatched received by its county):");
        println!("  {:<58} {:>7} {:>9} {:>9} {:>9} {:>9}", "", "tasks", "p50", "p90", "p99", "max");
        let rows: [(&str, Series); 9] = [
            ("burst: publish → received", burst),
            ("  publish → dispatch step (queue, reads, task inserts)", pooled(|r| &r.burst.to_dispatch)),
            ("  dispatch step → on the stream (dispatch, commit, relay)", pooled(|r| &r.burst.to_stream)),
            ("  on the stream → received by the county", pooled(|r| &r.burst.to_county)),
            ("light: publish → received", pooled(|r| &r.light.total)),
            ("  publish → dispatch step (reads, task inserts)", pooled(|r| &r.light.to_dispatch)),
            ("  dispatch step → on the stream (dispatch, commit, relay)", pooled(|r| &r.light.to_stream)),
            ("  on the stream → received by the county", pooled(|r| &r.light.to_county)),
            ("light, per plan: publish → its last task received", pooled(|r| &r.light_plan)),
        ];
        for (name, s) in &rows {
            println!("  {name:<58} {:>7} {}", s.0.len(), s.row());
        }
        println!(
            "  light: {} plans one at a time, each after the previous one's tasks were all in (after {WARMUP_PLANS} \
             warm-up plans).",
            config.light
        );
        println!(
            "  Parts: the dispatch step is the event's `at` (routing's clock, once per plan, inside its transaction); \
             on the stream is the broker's timestamp."
        );
        println!();
        println!(
            "CPU during the burst, ms per plan: this process (routing, relay, consumers, publisher{}) {:.1}, \
             nats-server {:.1}, postgres {:.1}; all CPUs {:.0}% busy",
            if backend.starts_with("SQLite") { ", SQLite" } else { "" },
            per_plan(cpu.bench),
            per_plan(cpu.nats),
            per_plan(cpu.postgres),
            cpu.busy_percent()
        );
        println!(
            "  postgres: every postgres process of the machine; on a busy machine tasks/s moves with the neighbours, \
             CPU ms per plan stays put."
        );
        println!();
        if self.failures.is_empty() {
            println!(
                "Correctness: ok (every task received exactly once by its unit's county on \
                 bb.evt.<unit office>.task.dispatched.<unit>; routing's tasks all dispatched; outbox empty; inbox \
                 complete; nothing dead-lettered)"
            );
        } else {
            println!("Correctness: FAILED ({} checks, see stderr)", self.failures.len());
        }
    }
}
