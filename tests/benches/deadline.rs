//! Deadline benchmark (预警引擎基准, issue 6): a million open clocks in the database, ten thousand of them due
//! in the same minute — are they all fired within a second of their instant, none twice, and does the service's
//! memory stay flat as the open clocks grow from 10 000 to 1 000 000?
//!
//! Every scale runs in a process of its own (this executable again, so that its memory starts fresh), with a
//! real `nats-server` of its own (random port, own JetStream store, the platform's streams) and a fresh database
//! for deadline (a temporary SQLite file, or a fresh PostgreSQL schema when `TEST_DATABASE_URL` is set),
//! migrated with `bangban_deadline_migration::Migrator`.
//!
//! - **Seed** (before the service starts, not measured against it): `scale` open clocks — status `running`,
//!   generation 1, stage `engineering_permit`, projects in the 7 counties in turn (every other case accepted by the
//!   city), tasks at county units such as `371625-XZSP` — written with multi-row `INSERT`s of 500 clocks in
//!   transactions of 10 000 (two writers on PostgreSQL). Every clock but the due ones has its two pending alarms
//!   (a `warning` and an `overdue`, generation 1) between 3 and 33 days ahead, so the schedule holds ~2 × `scale`
//!   rows. The due clocks (`BENCH_DEADLINE_DUE`, default 10 000, spread evenly through the table) are seeded
//!   already warned (alert `warning`, the warning alarm fired) with no alarm yet. On PostgreSQL the tables are `ANALYZE`d afterwards
//!   (what autovacuum does shortly after such a load).
//! - **Service**: `service::start_with_db::<DeadlineService>` in this process (its alarm engine, outbox relay, bus
//!   endpoints and consumers, default settings but `deadline.supervise` per variant), on its own NATS connection.
//! - **Observer**: a core NATS subscription on `bb.evt.*.task.overdue.*`, made before anything is armed, on its
//!   own connection; per event it keeps the instant of receipt, the `ce-id`, the task id and the two instants of the
//!   `ClockAlarm` (~100 bytes, in a vector reserved beforehand, so it adds next to nothing to the memory measured).
//! - **Minute**: the due clocks get their `overdue` alarm (a new generation), spread evenly over
//!   `BENCH_DEADLINE_WINDOW_S` (default 60) seconds starting 10 s after the service started; the run waits until
//!   every one arrived, then 3 s more for duplicates. Latency = receipt − `scheduled_for` (the alarm's
//!   instant), in two parts: to the engine's `now` of the batch that took the alarm (`ClockAlarm.at`), and from
//!   there through the transaction, the commit, the outbox relay and the broker to the observer.
//! - **Burst** (`BENCH_DEADLINE_BURST=0` skips it): the same clocks re-armed (next generation) all at one
//!   instant 5 s ahead: how long until all have fired, and the events/s meanwhile.
//! - **Variants** (`BENCH_DEADLINE_SUPERVISE` = `false`, `true` or `both`, default `both`): without and with the
//!   supervision notice every overdue issues (production default: with); on PostgreSQL also
//!   `BENCH_DEADLINE_REPLICAS` (default 2, 1 skips) service instances on the same database (`FOR UPDATE SKIP
//!   LOCKED`) with supervision. Between phases the supervision notices of the previous one are deleted, so
//!   every phase issues its 10 000.
//! - **Memory**: VmRSS and VmHWM of the scale's process from `/proc/self/status`; the peak is reset
//!   (`/proc/self/clear_refs` = 5) just before the service starts (minute) and before the burst is armed, so
//!   the seeding's peak does not count. Growth = peak during the phase − RSS at its start. The service opens its
//!   own pools, cold; the seeding used the bench's. Variants run one after the other in the same process, so
//!   the first variant's minute is the cleanest comparison between scales.
//!
//! Correctness checks (each failure makes the exit code non-zero; the figures are printed anyway): every due
//! clock's `task.overdue` received, none twice (by `task_id`; the same `ce-id` twice is a relay re-publish that
//! the stream's duplicate window absorbs and is only counted), on `bb.evt.<unit office>.task.overdue.<unit>`,
//! every clock of the phase `overdue` at the phase's generation, no alarm due left, the outbox empty. The 1 s
//! target is a figure (`>1s` column and a verdict line), not a failure.
//!
//! Run with `make bench`, or `cargo bench -p bangban-e2e --bench deadline` with `nats-server` on PATH.
//! Environment: `BENCH_DEADLINE_SCALES` (open clocks per run, default `10000,1000000`), `BENCH_DEADLINE_DUE`,
//! `BENCH_DEADLINE_WINDOW_S`, `BENCH_DEADLINE_BURST`, `BENCH_DEADLINE_SUPERVISE`, `BENCH_DEADLINE_REPLICAS`,
//! `TEST_DATABASE_URL` (e.g. `postgres://postgres@127.0.0.1:5432/test`).

#[path = "support/mod.rs"]
mod support;

use std::{
    collections::{HashMap, HashSet},
    fmt::Write as _,
    process::ExitCode,
    str::FromStr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};
use async_nats::jetstream;
use bangban_contracts::{
    EventType,
    deadline::{AlertLevel, ClockAlarm, ClockStatus, StartBasis},
    envelope::CE_ID,
    intake::ProjectCategory,
    office::{CITY_OFFICE, OFFICES},
    planning::Stage,
    subjects::EventSubject,
};
use bangban_deadline::{DeadlineService, settings::DeadlineSettings};
use bangban_deadline_migration::Migrator;
use bangban_platform::{
    Settings, bus,
    db::{self, DbTarget},
    service::{self, Service},
    shutdown::Shutdown,
};
use bangban_testkit::{NatsServer, TestDatabase};
use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use futures::StreamExt;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// From the service's start to the first instant of the minute.
const LEAD: Duration = Duration::from_secs(10);
/// From arming the burst to its instant.
const BURST_LEAD: Duration = Duration::from_secs(5);
/// How long the run waits after the last event for a duplicate to show up.
const SETTLE: Duration = Duration::from_secs(3);
/// How long the received count may stand still (after the last instant) before the run gives up.
const STALL_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the outbox may take to empty after the last event.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
/// The target: every alarm fired within this of its instant.
const TARGET_MS: f64 = 1000.0;
/// Clocks per multi-row INSERT, and per seeding transaction.
const ROWS_PER_INSERT: usize = 500;
const ROWS_PER_TXN: usize = 10_000;
/// Concurrent seeding writers on PostgreSQL (the bench's pool has as many connections).
const SEED_WRITERS: usize = 2;
/// Where the far alarms lie: from 3 days ahead, over 30 days.
const FAR_FROM_DAYS: i64 = 3;
const FAR_SPAN_DAYS: i64 = 30;
/// Unit types of the county units (`<county>-<suffix>`), with their names.
const UNITS: [(&str, &str); 7] = [
    ("XZSP", "行政审批服务局"),
    ("ZRZY", "自然资源局"),
    ("ZJ", "住房和城乡建设局"),
    ("FGJ", "发展和改革局"),
    ("SCJG", "市场监督管理局"),
    ("RF", "人民防空办公室"),
    ("XF", "消防救援大队"),
];

fn main() -> ExitCode {
    support::main("deadline bench", Config::from_env, |config| async move {
        let report = run(&config).await?;
        if std::env::var_os(CHILD_ENV).is_some() {
            // The parent reports (and fails on) what the child found.
            return Ok(Vec::new());
        }
        report.print(&config);
        Ok(report.failures)
    })
}

// ---------------------------------------------------------------------------------------------
// Configuration

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Variant {
    supervise: bool,
    replicas: usize,
}

impl Variant {
    fn label(&self) -> String {
        let s = if self.supervise { "supervise on" } else { "supervise off" };
        if self.replicas > 1 { format!("{} replicas, {s}", self.replicas) } else { s.to_string() }
    }
}

struct Config {
    scales: Vec<usize>,
    due: usize,
    window: Duration,
    burst: bool,
    variants: Vec<Variant>,
    postgres: bool,
}

impl Config {
    fn from_env() -> anyhow::Result<Self> {
        let scales: Vec<usize> = match std::env::var("BENCH_DEADLINE_SCALES") {
            Ok(s) if !s.trim().is_empty() => s
                .split(',')
                .map(|v| v.trim().replace('_', "").parse::<usize>())
                .collect::<Result<_, _>>()
                .map_err(|_| anyhow::anyhow!("BENCH_DEADLINE_SCALES: {s:?} is not a list of numbers"))?,
            _ => vec![10_000, 1_000_000],
        };
        let due: usize = env_or("BENCH_DEADLINE_DUE", 10_000)?;
        let window: u64 = env_or("BENCH_DEADLINE_WINDOW_S", 60)?;
        let burst: u8 = env_or("BENCH_DEADLINE_BURST", 1)?;
        let replicas: usize = env_or("BENCH_DEADLINE_REPLICAS", 2)?;
        let postgres = std::env::var("TEST_DATABASE_URL").is_ok_and(|u| !u.trim().is_empty());
        if due == 0 || window == 0 {
            bail!("BENCH_DEADLINE_DUE and BENCH_DEADLINE_WINDOW_S must be positive");
        }
        if let Some(s) = scales.iter().find(|s| **s < due) {
            bail!("BENCH_DEADLINE_SCALES: {s} open clocks cannot hold {due} due ones");
        }
        let supervise: Vec<bool> = match std::env::var("BENCH_DEADLINE_SUPERVISE").unwrap_or_default().trim() {
            "" | "both" => vec![false, true],
            "true" | "1" => vec![true],
            "false" | "0" => vec![false],
            other => bail!("BENCH_DEADLINE_SUPERVISE: {other:?} is not true, false or both"),
        };
        let mut variants: Vec<Variant> = supervise.iter().map(|&s| Variant { supervise: s, replicas: 1 }).collect();
        if postgres && replicas > 1 {
            variants.push(Variant { supervise: true, replicas });
        }
        Ok(Self { scales, due, window: Duration::from_secs(window), burst: burst != 0, variants, postgres })
    }
}

fn env_or<T: FromStr>(name: &str, default: T) -> anyhow::Result<T> {
    match std::env::var(name) {
        Ok(s) if !s.trim().is_empty() => s.trim().parse().map_err(|_| anyhow::anyhow!("{name}: {s:?} is not a number")),
        _ => Ok(default),
    }
}

/// The county-level offices (every office but the city's).
fn counties() -> Vec<(&'static str, &'static str)> {
    OFFICES.iter().copied().filter(|(code, _)| *code != CITY_OFFICE).collect()
}

// ---------------------------------------------------------------------------------------------
// SQL literals (every value is made here: digits, UUIDs and fixed text)

fn q(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn ts(at: DateTime<Utc>) -> String {
    q(&at.to_rfc3339_opts(SecondsFormat::Micros, true))
}

fn us(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

fn from_us(v: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(v).unwrap_or_default()
}

/// The local (Asia/Shanghai) date of an instant, as deadline stores `due_date`.
fn local_date(at: DateTime<Utc>) -> String {
    let date = FixedOffset::east_opt(8 * 3600).map_or_else(|| at.date_naive(), |tz| at.with_timezone(&tz).date_naive());
    date.format("%Y-%m-%d").to_string()
}

fn bool_sql(b: bool) -> &'static str {
    if b { "TRUE" } else { "FALSE" }
}

// ---------------------------------------------------------------------------------------------
// Seeding

struct Seeded {
    /// The due clocks' task ids, in table order.
    due_ids: Vec<String>,
    clocks: usize,
    alarms: usize,
    took: Duration,
    /// SQLite file (+ WAL) or PostgreSQL relations (clock, alarm and their indexes), bytes.
    size: Option<u64>,
}

/// Writes `scale` open clocks with their pending alarms; the `due` ones (every `scale / due`-th) without alarms.
/// PostgreSQL takes two writers (one per half of the clocks, each on its own connection); SQLite has one writer.
async fn seed(db: &DatabaseConnection, target: &DbTarget, scale: usize, due: usize) -> anyhow::Result<Seeded> {
    let started = Instant::now();
    let now = Utc::now();
    let writers = if db.get_database_backend() == DbBackend::Postgres { SEED_WRITERS } else { 1 };
    let per_writer = scale.div_ceil(writers);
    let mut tasks = Vec::new();
    for w in 0..writers {
        let (db, from, to) = (db.clone(), w * per_writer, ((w + 1) * per_writer).min(scale));
        tasks.push(tokio::spawn(async move { seed_range(&db, from, to, scale, due, now).await }));
    }
    let mut due_ids = Vec::with_capacity(due);
    let mut alarms = 0usize;
    for t in tasks {
        let (ids, n) = t.await.context("a seeding task panicked")??;
        due_ids.extend(ids);
        alarms += n;
    }
    if db.get_database_backend() == DbBackend::Postgres {
        db.execute_unprepared("ANALYZE clock").await?;
        db.execute_unprepared("ANALYZE alarm").await?;
    }
    let took = started.elapsed();
    let size = match target {
        DbTarget::Sqlite { path } => {
            let wal = path.with_extension("db-wal");
            let len = |p: &std::path::Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
            Some(len(path) + len(&wal))
        }
        DbTarget::Postgres { .. } => db
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT (pg_total_relation_size('clock') + pg_total_relation_size('alarm'))::bigint AS n",
            ))
            .await?
            .and_then(|r| r.try_get::<i64>("", "n").ok())
            .map(|n| n as u64),
    };
    Ok(Seeded { due_ids, clocks: scale, alarms, took, size })
}

/// Clocks `from..to` of `scale`: returns the due ones' task ids and the number of alarms written.
async fn seed_range(
    db: &DatabaseConnection,
    from: usize,
    to: usize,
    scale: usize,
    due: usize,
    now: DateTime<Utc>,
) -> anyhow::Result<(Vec<String>, usize)> {
    let step = scale / due;
    let counties = counties();
    let categories = ProjectCategory::ALL;
    let running = ClockStatus::Running.as_str();
    let stage = Stage::EngineeringPermit.as_str();
    let basis = serde_json::to_value(StartBasis::Received)?.as_str().unwrap_or("received").to_string();
    let started_at = ts(now - chrono::Duration::days(5));
    let now_sql = ts(now);
    let far_from = us(now) + FAR_FROM_DAYS * 86_400_000_000;
    let far_span = FAR_SPAN_DAYS * 86_400_000_000;
    let mut due_ids = Vec::new();
    let mut alarms = 0usize;
    let (mut case_id, mut applicant_id) = (String::new(), String::new());
    let mut i = from;
    while i < to {
        let txn = db::begin_write(db).await?;
        let txn_end = (i + ROWS_PER_TXN).min(to);
        while i < txn_end {
            let end = (i + ROWS_PER_INSERT).min(txn_end);
            let mut clocks = String::with_capacity(700 * (end - i) + 512);
            clocks.push_str(
                "INSERT INTO clock (task_id, case_id, ledger_no, office, code, name, stage, category, unit_code, \
                 unit_name, unit_office, specialist_id, applicant_id, status, alert, promised_working_days, \
                 extension_working_days, paused_working_days, dispatched_at, started_at, start_basis, due_date, \
                 due_us, warn_us, provisional, generation, linked, created_at, updated_at) VALUES ",
            );
            let mut alarm_sql = String::with_capacity(140 * 2 * (end - i) + 128);
            alarm_sql.push_str("INSERT INTO alarm (id, subject_id, kind, generation, fire_us) VALUES ");
            let mut alarm_rows = 0usize;
            for n in i..end {
                // Eight items per case; the project in county `case mod 7`, every other case accepted by the city.
                let case = n / 8;
                if n % 8 == 0 || case_id.is_empty() {
                    case_id = Uuid::now_v7().to_string();
                    applicant_id = Uuid::now_v7().to_string();
                }
                let (county, county_name) = counties[case % counties.len()];
                let office = if case % 2 == 1 { CITY_OFFICE } else { county };
                let (suffix, unit_label) = UNITS[n % UNITS.len()];
                let task_id = Uuid::now_v7().to_string();
                let is_due = n % step == 0 && n / step < due;
                let (alert, due_us) = if is_due {
                    due_ids.push(task_id.clone());
                    // Re-armed with its instant before each phase.
                    (AlertLevel::Warning.as_str(), us(now) + 3_600_000_000)
                } else {
                    (AlertLevel::Normal.as_str(), far_from + (n as i64) * (far_span / scale as i64))
                };
                let warn_us = due_us - 2 * 86_400_000_000;
                if n > i {
                    clocks.push(',');
                }
                let _ = write!(
                    clocks,
                    "({},{},{},{},{},{},{},{},{},{},{},{},{},{},{},20,0,0,{started_at},{started_at},{},{},{due_us},\
                     {warn_us},FALSE,1,{},{now_sql},{now_sql})",
                    q(&task_id),
                    q(&case_id),
                    q(&format!("BB-{office}-2026-{:06}", case + 1)),
                    q(office),
                    q(&format!("BZ-{:03}", n % 8 + 1)),
                    q(&format!("建设工程规划许可证核发（{county_name}第{}号项目）", case + 1)),
                    q(stage),
                    q(categories[case % categories.len()].as_str()),
                    q(&format!("{county}-{suffix}")),
                    q(&format!("{county_name}{unit_label}")),
                    q(county),
                    q(&format!("staff-{office}-agent-{}", 1 + case % 5)),
                    q(&applicant_id),
                    q(running),
                    q(alert),
                    q(&basis),
                    q(&local_date(from_us(due_us))),
                    bool_sql(office == CITY_OFFICE),
                );
                if !is_due {
                    for (kind, at) in [("warning", warn_us), ("overdue", due_us)] {
                        if alarm_rows > 0 {
                            alarm_sql.push(',');
                        }
                        let _ =
                            write!(alarm_sql, "({},{},'{kind}',1,{at})", q(&Uuid::now_v7().to_string()), q(&task_id));
                        alarm_rows += 1;
                    }
                }
            }
            txn.execute_unprepared(&clocks).await.context("inserting clocks")?;
            if alarm_rows > 0 {
                txn.execute_unprepared(&alarm_sql).await.context("inserting alarms")?;
            }
            alarms += alarm_rows;
            i = end;
        }
        txn.commit().await?;
    }
    Ok((due_ids, alarms))
}

/// Gives the due clocks a new generation (alert `warning`, due at their instant) and their `overdue` alarm at
/// `instants[i]`; removes the supervision notices of earlier phases (and their alarms).
async fn arm(
    db: &DatabaseConnection,
    due_ids: &[String],
    generation: i32,
    instants: &[DateTime<Utc>],
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let txn = db::begin_write(db).await?;
    // (Through the `alarm_once` index: a notice's alarms have its id as subject.)
    txn.execute_unprepared("DELETE FROM alarm WHERE subject_id IN (SELECT id FROM supervision)").await?;
    txn.execute_unprepared("DELETE FROM supervision").await?;
    let now_sql = ts(Utc::now());
    for (ids, at) in due_ids.chunks(ROWS_PER_INSERT).zip(instants.chunks(ROWS_PER_INSERT)) {
        let list = ids.iter().map(|id| q(id)).collect::<Vec<_>>().join(",");
        txn.execute_unprepared(&format!(
            "DELETE FROM alarm WHERE subject_id IN ({list}) AND kind IN ('warning', 'overdue')"
        ))
        .await?;
        let (mut due_us, mut due_date, mut warn_us) = (String::new(), String::new(), String::new());
        for (id, at) in ids.iter().zip(at) {
            let _ = write!(due_us, " WHEN {} THEN {}", q(id), us(*at));
            let _ = write!(warn_us, " WHEN {} THEN {}", q(id), us(*at) - 2 * 86_400_000_000);
            let _ = write!(due_date, " WHEN {} THEN {}", q(id), q(&local_date(*at)));
        }
        txn.execute_unprepared(&format!(
            "UPDATE clock SET alert = 'warning', generation = {generation}, updated_at = {now_sql}, \
             due_us = CASE task_id{due_us} END, warn_us = CASE task_id{warn_us} END, \
             due_date = CASE task_id{due_date} END WHERE task_id IN ({list})"
        ))
        .await?;
        let rows = ids
            .iter()
            .zip(at)
            .map(|(id, at)| {
                format!("({},{},'overdue',{generation},{})", q(&Uuid::now_v7().to_string()), q(id), us(*at))
            })
            .collect::<Vec<_>>()
            .join(",");
        txn.execute_unprepared(&format!("INSERT INTO alarm (id, subject_id, kind, generation, fire_us) VALUES {rows}"))
            .await?;
    }
    txn.commit().await?;
    Ok(started.elapsed())
}

// ---------------------------------------------------------------------------------------------
// Observer

/// One `task.overdue` as the observer received it: only what the figures need, so that the observer adds next
/// to nothing to the memory measured.
struct Receipt {
    utc: DateTime<Utc>,
    ce_id: Uuid,
    task_id: Uuid,
    /// The alarm's instant.
    scheduled_for: Option<DateTime<Utc>>,
    /// The engine's `now` of the batch that fired it.
    at: DateTime<Utc>,
    /// On `bb.evt.<unit office>.task.overdue.<unit>` of the event's clock.
    subject_ok: bool,
}

#[derive(Default)]
struct Observed {
    receipts: Vec<Receipt>,
    errors: Vec<String>,
}

struct Observer {
    seen: Arc<AtomicUsize>,
    observed: Arc<Mutex<Observed>>,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Observer {
    async fn start(url: &str, capacity: usize) -> anyhow::Result<Self> {
        // Large enough that a burst never makes this a slow consumer.
        let client =
            async_nats::ConnectOptions::new().subscription_capacity(1 << 17).connect(url).await.context("observer")?;
        let mut sub = client.subscribe(EventType::TASK_OVERDUE.filter_all_offices()).await?;
        client.flush().await?;
        let seen = Arc::new(AtomicUsize::new(0));
        let observed = Arc::new(Mutex::new(Observed { receipts: Vec::with_capacity(capacity), errors: Vec::new() }));
        let stop = CancellationToken::new();
        let (s, o, st) = (seen.clone(), observed.clone(), stop.clone());
        let task = tokio::spawn(async move {
            let _client = client;
            loop {
                let msg = tokio::select! {
                    m = sub.next() => match m { Some(m) => m, None => break },
                    _ = st.cancelled() => break,
                };
                let utc = Utc::now();
                let ce_id =
                    msg.headers.as_ref().and_then(|h| h.get(CE_ID)).and_then(|v| Uuid::parse_str(v.as_str()).ok());
                let parsed = serde_json::from_slice::<ClockAlarm>(&msg.payload);
                let mut o = o.lock().unwrap_or_else(|p| p.into_inner());
                match (ce_id, parsed) {
                    (Some(ce_id), Ok(a)) => {
                        let subject_ok = EventSubject::parse(msg.subject.as_str())
                            .is_ok_and(|s| s.office() == a.unit_office && s.unit() == Some(a.unit_code.as_str()));
                        o.receipts.push(Receipt {
                            utc,
                            ce_id,
                            task_id: a.task_id,
                            scheduled_for: a.scheduled_for,
                            at: a.at,
                            subject_ok,
                        })
                    }
                    (None, _) => o.errors.push(format!("event on {} without a UUID ce-id", msg.subject)),
                    (_, Err(e)) => o.errors.push(format!("event on {}: {e}", msg.subject)),
                }
                drop(o);
                s.fetch_add(1, Ordering::Relaxed);
            }
        });
        Ok(Self { seen, observed, stop, task })
    }

    /// What arrived so far; the next phase gets a vector of the same capacity, made now.
    fn take(&self) -> Observed {
        let mut o = self.observed.lock().unwrap_or_else(|p| p.into_inner());
        let capacity = o.receipts.capacity();
        std::mem::replace(&mut *o, Observed { receipts: Vec::with_capacity(capacity), errors: Vec::new() })
    }

    async fn stop(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}

/// Waits until `counter` reaches `target`; `false` once it stood still for [`STALL_TIMEOUT`] after `last`.
async fn wait_for(counter: &AtomicUsize, target: usize, last: DateTime<Utc>) -> bool {
    let mut seen = counter.load(Ordering::Relaxed);
    let mut moved = Instant::now();
    loop {
        let now = counter.load(Ordering::Relaxed);
        if now >= target {
            return true;
        }
        if now != seen || Utc::now() < last {
            seen = now;
            moved = Instant::now();
        } else if moved.elapsed() > STALL_TIMEOUT {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Memory (Linux /proc; zeros elsewhere)

#[derive(Debug, Clone, Copy, Default)]
struct Mem {
    rss_kb: u64,
    hwm_kb: u64,
}

impl Mem {
    fn read() -> Self {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        Self { rss_kb: field("VmRSS:"), hwm_kb: field("VmHWM:") }
    }

    /// Resets the peak (VmHWM) to the current RSS; false when the kernel refuses.
    fn reset_peak() -> bool {
        std::fs::write("/proc/self/clear_refs", "5").is_ok()
    }
}

fn mib(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

// ---------------------------------------------------------------------------------------------
// Phases

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PhaseKind {
    Minute,
    Burst,
}

struct PhaseResult {
    variant: Variant,
    kind: PhaseKind,
    expected: usize,
    /// Distinct task ids received.
    received: usize,
    /// The same task fired twice (different ce-id): the engine's fault.
    fired_twice: usize,
    /// The same event (ce-id) published twice: absorbed by the stream's duplicate window.
    republished: usize,
    /// Receipt − instant, ms (first receipt of each task).
    latency: Series,
    /// Instant → the engine's `now` of the batch that took the alarm, ms.
    engine: Series,
    /// Engine's `now` → receipt (statements, commit, relay, broker), ms.
    bus: Series,
    /// Engine transactions that fired these events (distinct `ClockAlarm.at`) and the most events of one.
    batches: usize,
    batch_max: usize,
    /// First instant → last receipt.
    span: Duration,
    /// Events/s from the first instant (minute: first receipt) to the last receipt.
    rate: f64,
    armed: Duration,
    /// At the start of the phase (after the peak reset), the peak during it, at its end.
    mem_before: Mem,
    mem_peak: Mem,
    peak_reset: bool,
    /// PostgreSQL: deadlocks the server detected in this database during the phase (`pg_stat_database`).
    deadlocks: Option<i64>,
}

impl PhaseResult {
    fn late(&self) -> usize {
        self.latency.0.iter().filter(|v| **v > TARGET_MS).count()
    }
}

struct Phase<'a> {
    kind: PhaseKind,
    variant: Variant,
    generation: i32,
    instants: Vec<DateTime<Utc>>,
    mem_before: Mem,
    peak_reset: bool,
    observer: &'a Observer,
}

async fn run_phase(
    db: &DatabaseConnection,
    due_ids: &[String],
    phase: Phase<'_>,
    fail: &mut dyn FnMut(String),
) -> anyhow::Result<PhaseResult> {
    let Phase { kind, variant, generation, instants, mem_before, peak_reset, observer } = phase;
    let what = format!("{} {kind:?}", variant.label());
    let base = observer.seen.load(Ordering::Relaxed);
    let deadlocks_before = deadlocks(db).await;
    let armed = arm(db, due_ids, generation, &instants).await?;
    let first = instants.iter().min().copied().unwrap_or_default();
    let last = instants.iter().max().copied().unwrap_or_default();
    if Utc::now() > first {
        eprintln!("deadline bench: {what}: arming took {:.1} s, past the first instant", armed.as_secs_f64());
    }
    let expected = due_ids.len();
    if !wait_for(&observer.seen, base + expected, last).await {
        fail(format!(
            "{what}: only {} of {expected} task.overdue received (nothing new for {} s)",
            observer.seen.load(Ordering::Relaxed) - base,
            STALL_TIMEOUT.as_secs()
        ));
    }
    tokio::time::sleep(SETTLE).await;
    let mem_peak = Mem::read();
    let observed = observer.take();
    let deadlocks = match (deadlocks_before, deadlocks(db).await) {
        (Some(a), Some(b)) => Some(b - a),
        _ => None,
    };
    for e in observed.errors.iter().take(5) {
        fail(format!("{what}: observer: {e}"));
    }

    // Duplicates, latencies.
    let due: HashSet<&str> = due_ids.iter().map(String::as_str).collect();
    let mut by_task: HashMap<Uuid, &Receipt> = HashMap::with_capacity(expected);
    let mut ce_ids: HashSet<Uuid> = HashSet::with_capacity(expected);
    let (mut fired_twice, mut republished, mut foreign, mut wrong_subject) = (0usize, 0usize, 0usize, 0usize);
    for r in &observed.receipts {
        if r.scheduled_for.is_none_or(|s| s < first) || !due.contains(r.task_id.to_string().as_str()) {
            foreign += 1;
            continue;
        }
        if !ce_ids.insert(r.ce_id) {
            republished += 1;
            continue;
        }
        if by_task.insert(r.task_id, r).is_some() {
            fired_twice += 1;
        }
        if !r.subject_ok {
            wrong_subject += 1;
        }
    }
    let between = |a: DateTime<Utc>, b: DateTime<Utc>| (b - a).num_microseconds().unwrap_or(0) as f64 / 1e3;
    let mut firsts: Vec<&Receipt> = by_task.values().copied().collect();
    firsts.sort_by_key(|r| r.utc);
    let latency = Series::new(firsts.iter().map(|r| between(r.scheduled_for.unwrap_or(r.utc), r.utc)).collect());
    let engine = Series::new(firsts.iter().map(|r| between(r.scheduled_for.unwrap_or(r.at), r.at)).collect());
    let bus = Series::new(firsts.iter().map(|r| between(r.at, r.utc)).collect());
    let mut per_batch: HashMap<DateTime<Utc>, usize> = HashMap::new();
    for r in &firsts {
        *per_batch.entry(r.at).or_default() += 1;
    }
    let batch_max = per_batch.values().copied().max().unwrap_or(0);
    let last_receipt = firsts.last().map_or(first, |r| r.utc);
    let span = (last_receipt - first).to_std().unwrap_or_default();
    let from = match kind {
        PhaseKind::Minute => firsts.first().map_or(first, |r| r.utc),
        PhaseKind::Burst => first,
    };
    let secs = (last_receipt - from).num_microseconds().unwrap_or(0) as f64 / 1e6;
    let rate = if secs > 0.0 { firsts.len() as f64 / secs } else { f64::NAN };

    if fired_twice > 0 {
        fail(format!("{what}: {fired_twice} clocks fired twice (task.overdue with different ce-ids)"));
    }
    if by_task.len() != expected {
        fail(format!("{what}: {} of {expected} due clocks' task.overdue received", by_task.len()));
    }
    if foreign > 0 {
        fail(format!("{what}: {foreign} task.overdue of other clocks or earlier phases"));
    }
    if wrong_subject > 0 {
        fail(format!("{what}: {wrong_subject} task.overdue not on bb.evt.<unit office>.task.overdue.<unit>"));
    }

    // The database agrees.
    let overdue = count(
        db,
        &format!(
            "SELECT COUNT(*) AS n FROM clock WHERE alert = '{}' AND generation = {generation}",
            AlertLevel::Overdue.as_str()
        ),
    )
    .await?;
    if overdue != expected as i64 {
        fail(format!("{what}: {overdue} clocks overdue at generation {generation}, expected {expected}"));
    }
    let left = count(db, &format!("SELECT COUNT(*) AS n FROM alarm WHERE fire_us <= {}", us(Utc::now()))).await?;
    if left != 0 {
        fail(format!("{what}: {left} due alarms left in the schedule"));
    }
    let drain = Instant::now();
    loop {
        let n = count(db, "SELECT COUNT(*) AS n FROM outbox").await?;
        if n == 0 {
            break;
        }
        if drain.elapsed() > DRAIN_TIMEOUT {
            fail(format!("{what}: {n} rows left in the outbox"));
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    Ok(PhaseResult {
        variant,
        kind,
        expected,
        received: by_task.len(),
        fired_twice,
        republished,
        latency,
        engine,
        bus,
        batches: per_batch.len(),
        batch_max,
        span,
        rate,
        armed,
        mem_before,
        mem_peak,
        peak_reset,
        deadlocks,
    })
}

/// PostgreSQL's count of deadlocks detected in this database so far (`None` on SQLite). The statistics reach the
/// view within a second or so; the phases wait longer than that after their last event.
async fn deadlocks(db: &DatabaseConnection) -> Option<i64> {
    if db.get_database_backend() != DbBackend::Postgres {
        return None;
    }
    db.query_one_raw(Statement::from_string(
        DbBackend::Postgres,
        "SELECT deadlocks AS n FROM pg_stat_database WHERE datname = current_database()",
    ))
    .await
    .ok()
    .flatten()
    .and_then(|r| r.try_get::<i64>("", "n").ok())
}

async fn count(db: &DatabaseConnection, sql: &str) -> anyhow::Result<i64> {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql.to_string()))
        .await?
        .context("COUNT returned no row")?;
    Ok(row.try_get::<i64>("", "n")?)
}

// ---------------------------------------------------------------------------------------------
// Run

struct Environment {
    cpus: usize,
    cpu_model: String,
    nats_version: String,
    backend: String,
    pool: u32,
    engine_batch: u64,
    engine_poll_ms: u64,
    relay_batch: u64,
    relay_poll_ms: u64,
}

struct ScaleResult {
    scale: usize,
    seeded: Seeded,
    phases: Vec<PhaseResult>,
}

struct Report {
    env: Option<Environment>,
    scales: Vec<ScaleResult>,
    failures: Vec<String>,
}

/// Set in the child process that runs one scale.
const CHILD_ENV: &str = "BENCH_DEADLINE_CHILD";
/// The line on which a child hands its results to the parent.
const RESULT_PREFIX: &str = "BENCH_DEADLINE_RESULT ";

/// Each scale runs in a child process of its own (this executable again, with [`CHILD_ENV`] set to the scale), so
/// that every scale's memory starts from a fresh process.
async fn run(config: &Config) -> anyhow::Result<Report> {
    if let Ok(scale) = std::env::var(CHILD_ENV) {
        let scale: usize = scale.parse().with_context(|| format!("{CHILD_ENV}={scale:?}"))?;
        let mut report = Report { env: None, scales: Vec::new(), failures: Vec::new() };
        let r = run_scale(config, scale, &mut report).await?;
        println!("{RESULT_PREFIX}{}", child_json(&report, &r));
        return Ok(report);
    }
    eprintln!(
        "deadline bench: scales {:?}, {} due over {} s{}, variants: {}",
        config.scales,
        config.due,
        config.window.as_secs(),
        if config.burst { " then at one instant" } else { "" },
        config.variants.iter().map(Variant::label).collect::<Vec<_>>().join("; ")
    );
    let mut report = Report { env: None, scales: Vec::new(), failures: Vec::new() };
    let exe = std::env::current_exe().context("this benchmark's executable")?;
    for &scale in &config.scales {
        let out = tokio::process::Command::new(&exe)
            .arg("--bench")
            .env(CHILD_ENV, scale.to_string())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .with_context(|| format!("running {}", exe.display()))?
            .wait_with_output()
            .await?;
        let text = String::from_utf8_lossy(&out.stdout);
        let Some(line) = text.lines().find_map(|l| l.strip_prefix(RESULT_PREFIX)) else {
            bail!("the run of {scale} clocks ended ({}) without results", out.status);
        };
        let (env, r, failures) = from_child_json(line).with_context(|| format!("results of {scale} clocks"))?;
        report.env.get_or_insert(env);
        report.failures.extend(failures);
        report.scales.push(r);
    }
    Ok(report)
}

async fn run_scale(config: &Config, scale: usize, report: &mut Report) -> anyhow::Result<ScaleResult> {
    bangban_platform::runtime::install_crypto_provider();
    let server = NatsServer::start().await.context("starting nats-server (is it on PATH?)")?;
    let client = server.client().await?;
    bus::ensure_streams(&jetstream::new(client.clone()), 1).await?;
    let database = TestDatabase::new("deadline").await?;
    let target = database.target();
    let mut settings = Settings::default();
    settings.nats.url = server.url();
    database.apply_to(&mut settings);
    let pool = settings.database.max_connections;
    // The bench's own pool (migration, seeding, arming, checks); the service gets pools of its own, opened cold as
    // a service starting against an existing database would.
    let db = db::connect_and_migrate::<Migrator>(&target, SEED_WRITERS as u32).await?;
    if report.env.is_none() {
        report.env = Some(Environment::probe(&client, &db, &settings).await);
    }

    eprintln!("deadline bench: {scale} clocks: seeding …");
    let seeded = seed(&db, &target, scale, config.due).await?;
    eprintln!(
        "deadline bench: {scale} clocks: seeded {} clocks and {} alarms in {:.1} s",
        seeded.clocks,
        seeded.alarms,
        seeded.took.as_secs_f64()
    );
    let observer = Observer::start(&server.url(), 2 * config.due + 1024).await?;
    let mut phases = Vec::new();
    let mut generation = 0;
    for &variant in &config.variants {
        let mut variant_settings = settings.clone();
        let own = DeadlineSettings { supervise: variant.supervise, ..settings.section(DeadlineService::NAME)? };
        variant_settings.set_section(DeadlineService::NAME, own.clone());
        let peak_reset = Mem::reset_peak();
        let mem_before = Mem::read();
        let shutdown = Shutdown::new();
        let mut conns = Vec::new();
        for _ in 0..variant.replicas {
            // Each replica its own pool and NATS connection, as separate processes would have.
            let conn = db::connect(&target, pool).await?;
            let client = server.client().await?;
            service::start_with_db::<DeadlineService>(&variant_settings, own.clone(), client, conn.clone(), &shutdown)
                .await?;
            conns.push(conn);
        }
        let started = Utc::now();
        let fail = &mut |what: String| report.failures.push(format!("{scale} clocks: {what}"));

        generation += 1;
        let start = started + chrono::Duration::from_std(LEAD)?;
        let step = config.window.as_micros() as i64 / config.due as i64;
        // The schedule keeps microseconds.
        let instants: Vec<DateTime<Utc>> = (0..config.due).map(|k| from_us(us(start) + k as i64 * step)).collect();
        eprintln!("deadline bench: {scale} clocks, {}: minute …", variant.label());
        let phase = Phase {
            kind: PhaseKind::Minute,
            variant,
            generation,
            instants,
            mem_before,
            peak_reset,
            observer: &observer,
        };
        let minute = run_phase(&db, &seeded.due_ids, phase, fail).await?;
        eprintln!(
            "deadline bench: {scale} clocks, {}: minute: {} events, p99 {:.1} ms, max {:.1} ms",
            variant.label(),
            minute.received,
            minute.latency.pct(99.0),
            minute.latency.max()
        );
        phases.push(minute);

        if config.burst {
            generation += 1;
            let peak_reset = Mem::reset_peak();
            let mem_before = Mem::read();
            let at = from_us(us(Utc::now() + chrono::Duration::from_std(BURST_LEAD)?));
            eprintln!("deadline bench: {scale} clocks, {}: burst …", variant.label());
            let phase = Phase {
                kind: PhaseKind::Burst,
                variant,
                generation,
                instants: vec![at; config.due],
                mem_before,
                peak_reset,
                observer: &observer,
            };
            let burst = run_phase(&db, &seeded.due_ids, phase, fail).await?;
            eprintln!(
                "deadline bench: {scale} clocks, {}: burst: {} events, all in after {:.2} s",
                variant.label(),
                burst.received,
                burst.span.as_secs_f64()
            );
            phases.push(burst);
        }
        if !shutdown.shutdown(Duration::from_secs(10)).await {
            eprintln!("deadline bench: some tasks did not stop within 10 s");
        }
        for conn in conns {
            conn.close().await?;
        }
    }
    observer.stop().await;
    db.close().await?;
    drop(database);
    drop(server);
    Ok(ScaleResult { scale, seeded, phases })
}

impl Environment {
    async fn probe(client: &async_nats::Client, db: &DatabaseConnection, settings: &Settings) -> Self {
        let deadline: DeadlineSettings = settings.section(DeadlineService::NAME).unwrap_or_default();
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
            engine_batch: deadline.batch_size,
            engine_poll_ms: deadline.poll_interval_ms,
            relay_batch: settings.outbox.batch_size,
            relay_poll_ms: settings.outbox.poll_interval.as_millis() as u64,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// A child's results as one JSON line

fn child_json(report: &Report, r: &ScaleResult) -> serde_json::Value {
    use serde_json::json;
    let env = report.env.as_ref().map(|e| {
        json!({
            "cpus": e.cpus, "cpu_model": e.cpu_model, "nats_version": e.nats_version, "backend": e.backend,
            "pool": e.pool, "engine_batch": e.engine_batch, "engine_poll_ms": e.engine_poll_ms,
            "relay_batch": e.relay_batch, "relay_poll_ms": e.relay_poll_ms,
        })
    });
    let mem = |m: &Mem| json!({ "rss_kb": m.rss_kb, "hwm_kb": m.hwm_kb });
    let phases: Vec<serde_json::Value> = r
        .phases
        .iter()
        .map(|p| {
            json!({
                "supervise": p.variant.supervise, "replicas": p.variant.replicas,
                "burst": p.kind == PhaseKind::Burst, "expected": p.expected, "received": p.received,
                "fired_twice": p.fired_twice, "republished": p.republished,
                "latency": p.latency.0, "engine": p.engine.0, "bus": p.bus.0,
                "batches": p.batches, "batch_max": p.batch_max, "span_s": p.span.as_secs_f64(), "rate": p.rate,
                "armed_s": p.armed.as_secs_f64(), "mem_before": mem(&p.mem_before), "mem_peak": mem(&p.mem_peak),
                "peak_reset": p.peak_reset, "deadlocks": p.deadlocks,
            })
        })
        .collect();
    json!({
        "env": env,
        "failures": report.failures,
        "scale": r.scale,
        "seeded": {
            "clocks": r.seeded.clocks, "alarms": r.seeded.alarms, "took_s": r.seeded.took.as_secs_f64(),
            "size": r.seeded.size,
        },
        "phases": phases,
    })
}

fn from_child_json(line: &str) -> anyhow::Result<(Environment, ScaleResult, Vec<String>)> {
    use serde_json::Value;
    let v: Value = serde_json::from_str(line)?;
    let u = |v: &Value, k: &str| v.get(k).and_then(Value::as_u64).with_context(|| k.to_string());
    let f = |v: &Value, k: &str| v.get(k).and_then(Value::as_f64).unwrap_or(f64::NAN);
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    let yes = |v: &Value, k: &str| v.get(k).and_then(Value::as_bool).unwrap_or(false);
    let floats = |v: &Value, k: &str| {
        Series(
            v.get(k)
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_f64).collect())
                .unwrap_or_default(),
        )
    };
    let secs = |v: &Value, k: &str| Duration::from_secs_f64(f(v, k).max(0.0));
    let mem = |v: &Value, k: &str| -> anyhow::Result<Mem> {
        let m = v.get(k).with_context(|| k.to_string())?;
        Ok(Mem { rss_kb: u(m, "rss_kb")?, hwm_kb: u(m, "hwm_kb")? })
    };
    let e = v.get("env").context("env")?;
    let env = Environment {
        cpus: u(e, "cpus")? as usize,
        cpu_model: text(e, "cpu_model"),
        nats_version: text(e, "nats_version"),
        backend: text(e, "backend"),
        pool: u(e, "pool")? as u32,
        engine_batch: u(e, "engine_batch")?,
        engine_poll_ms: u(e, "engine_poll_ms")?,
        relay_batch: u(e, "relay_batch")?,
        relay_poll_ms: u(e, "relay_poll_ms")?,
    };
    let sd = v.get("seeded").context("seeded")?;
    let seeded = Seeded {
        due_ids: Vec::new(),
        clocks: u(sd, "clocks")? as usize,
        alarms: u(sd, "alarms")? as usize,
        took: secs(sd, "took_s"),
        size: sd.get("size").and_then(Value::as_u64),
    };
    let mut phases = Vec::new();
    for p in v.get("phases").and_then(Value::as_array).context("phases")? {
        phases.push(PhaseResult {
            variant: Variant { supervise: yes(p, "supervise"), replicas: u(p, "replicas")? as usize },
            kind: if yes(p, "burst") { PhaseKind::Burst } else { PhaseKind::Minute },
            expected: u(p, "expected")? as usize,
            received: u(p, "received")? as usize,
            fired_twice: u(p, "fired_twice")? as usize,
            republished: u(p, "republished")? as usize,
            latency: floats(p, "latency"),
            engine: floats(p, "engine"),
            bus: floats(p, "bus"),
            batches: u(p, "batches")? as usize,
            batch_max: u(p, "batch_max")? as usize,
            span: secs(p, "span_s"),
            rate: f(p, "rate"),
            armed: secs(p, "armed_s"),
            mem_before: mem(p, "mem_before")?,
            mem_peak: mem(p, "mem_peak")?,
            peak_reset: yes(p, "peak_reset"),
            deadlocks: p.get("deadlocks").and_then(Value::as_i64),
        });
    }
    let failures = v
        .get("failures")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    Ok((env, ScaleResult { scale: u(&v, "scale")? as usize, seeded, phases }, failures))
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

fn ratio(a: f64, b: f64) -> String {
    if a > 0.0 && b.is_finite() { format!("×{:.2}", b / a) } else { "n/a".into() }
}

// ---------------------------------------------------------------------------------------------
// Report

impl Report {
    fn print(&self, config: &Config) {
        println!();
        println!(
            "Bangban deadline benchmark: open clocks in the database, {} due in one minute → task.overdue",
            config.due
        );
        if let Some(e) = &self.env {
            println!("  machine    {} CPUs ({})", e.cpus, e.cpu_model);
            println!(
                "  broker     nats-server {} (JetStream file store, local), a fresh one per scale",
                e.nats_version
            );
            println!(
                "  database   {}, deadline's pool of {} connections; a fresh database per scale{}",
                e.backend,
                e.pool,
                if config.postgres { ", ANALYZEd after seeding" } else { "" }
            );
            println!(
                "  service    service::start_with_db::<DeadlineService> in this process: engine batch {} alarms per transaction, \
                 poll {} ms; outbox relay batch {}, poll {} ms",
                e.engine_batch, e.engine_poll_ms, e.relay_batch, e.relay_poll_ms
            );
        }
        println!(
            "  clocks     running, generation 1, 2 pending alarms each (warning, overdue) 3-33 days ahead; the {} due \
             ones spread evenly through the table, already warned, armed with a new generation per phase",
            config.due
        );
        println!(
            "  phases     minute: {} overdue alarms evenly over {} s from {} s after the service started; burst: the \
             same clocks re-armed at one instant {} s ahead; {} s after the last event for duplicates",
            config.due,
            config.window.as_secs(),
            LEAD.as_secs(),
            BURST_LEAD.as_secs(),
            SETTLE.as_secs()
        );
        println!(
            "  observer   core NATS subscription on bb.evt.*.task.overdue.*; latency = receipt − scheduled_for (the \
             alarm's instant)"
        );
        println!();

        println!(
            "Seeding (multi-row INSERTs of {ROWS_PER_INSERT} clocks, {ROWS_PER_TXN} clocks per transaction, {}):",
            if config.postgres { format!("{SEED_WRITERS} writers") } else { "one writer".to_string() }
        );
        println!("  {:>10} {:>10} {:>10} {:>10} {:>12}", "clocks", "alarms", "seconds", "clocks/s", "size MiB");
        for s in &self.scales {
            let secs = s.seeded.took.as_secs_f64();
            println!(
                "  {:>10} {:>10} {:>10.1} {:>10.0} {:>12}",
                s.seeded.clocks,
                s.seeded.alarms,
                secs,
                s.seeded.clocks as f64 / secs,
                s.seeded.size.map_or("?".into(), |b| format!("{:.0}", b as f64 / 1048576.0))
            );
        }
        println!();

        println!("Firing: task.overdue per due clock, latency from the alarm's instant to the event on the bus (ms)");
        println!(
            "  {:>9} {:<26} {:<6} {:>6} {:>5} {:>8} {:>8} {:>8} {:>5} {:>9} {:>8}{}",
            "clocks",
            "variant",
            "phase",
            "events",
            "twice",
            "p50",
            "p99",
            "max",
            ">1s",
            "events/s",
            "all in s",
            if config.postgres { " deadlocks" } else { "" }
        );
        for s in &self.scales {
            for p in &s.phases {
                println!(
                    "  {:>9} {:<26} {:<6} {:>6} {:>5} {:>8.1} {:>8.1} {:>8.1} {:>5} {:>9.0} {:>8.2}{}",
                    s.scale,
                    p.variant.label(),
                    match p.kind {
                        PhaseKind::Minute => "minute",
                        PhaseKind::Burst => "burst",
                    },
                    p.received,
                    p.fired_twice,
                    p.latency.pct(50.0),
                    p.latency.pct(99.0),
                    p.latency.max(),
                    p.late(),
                    p.rate,
                    p.span.as_secs_f64(),
                    p.deadlocks.map_or(String::new(), |d| format!(" {d:>9}")),
                );
            }
        }
        println!(
            "  twice: clocks whose task.overdue came with two ce-ids (fired twice); events/s: minute from the first to \
             the last event, burst from the instant; all in: from the first instant to the last event.{}",
            if config.postgres {
                " deadlocks: detected by PostgreSQL in the test database during the phase (pg_stat_database; another \
                 client of the same database would count too)."
            } else {
                ""
            }
        );
        let republished: usize = self.scales.iter().flat_map(|s| &s.phases).map(|p| p.republished).sum();
        println!(
            "  the same event (ce-id) published again by a relay: {republished} (the stream's duplicate window absorbs \
             those)"
        );
        println!();

        println!("Latency in parts, ms:");
        println!("  {:<62} {:>7} {:>9} {:>9} {:>9} {:>9}", "", "events", "p50", "p90", "p99", "max");
        for s in &self.scales {
            for p in &s.phases {
                let name = format!(
                    "{} {}, {}",
                    s.scale,
                    p.variant.label(),
                    if p.kind == PhaseKind::Minute { "minute" } else { "burst" }
                );
                println!("  {:<62} {:>7} {}", name, p.latency.0.len(), p.latency.row());
                println!(
                    "  {:<62} {:>7} {}",
                    "  instant → taken by the engine (its batch's now)",
                    p.engine.0.len(),
                    p.engine.row()
                );
                println!(
                    "  {:<62} {:>7} {}",
                    "  taken → on the bus (statements, commit, relay, broker)",
                    p.bus.0.len(),
                    p.bus.row()
                );
                println!(
                    "  {:<62} {:>7}",
                    format!(
                        "  engine batches (events per batch: mean {:.1}, max {})",
                        p.received as f64 / p.batches.max(1) as f64,
                        p.batch_max
                    ),
                    p.batches
                );
            }
        }
        println!();

        println!(
            "Memory of this process (the service, its relay and consumers, the observer{}), MiB:",
            if config.postgres { "" } else { ", SQLite" }
        );
        println!(
            "  {:>9} {:<26} {:<6} {:>10} {:>10} {:>10} {:>10}",
            "clocks", "variant", "phase", "RSS start", "peak", "RSS end", "growth"
        );
        for s in &self.scales {
            for p in &s.phases {
                println!(
                    "  {:>9} {:<26} {:<6} {:>10.1} {:>10.1} {:>10.1} {:>10.1}",
                    s.scale,
                    p.variant.label(),
                    if p.kind == PhaseKind::Minute { "minute" } else { "burst" },
                    mib(p.mem_before.rss_kb),
                    mib(p.mem_peak.hwm_kb),
                    mib(p.mem_peak.rss_kb),
                    mib(p.mem_peak.hwm_kb.saturating_sub(p.mem_before.rss_kb)),
                );
            }
        }
        let reset = self.scales.iter().flat_map(|s| &s.phases).all(|p| p.peak_reset);
        println!(
            "  RSS start: just before the service started (minute) or the burst was armed, after resetting the peak{}; \
             peak: VmHWM at the end of the phase; growth = peak − RSS start.",
            if reset { "" } else { " (the kernel refused the reset: peaks include the seeding)" }
        );
        println!();

        // 10k vs 1M (first vs last scale), per variant, minute phase.
        if let (Some(a), Some(b)) = (self.scales.first(), self.scales.last())
            && self.scales.len() > 1
        {
            for v in &config.variants {
                let find = |s: &ScaleResult| {
                    s.phases.iter().find(|p| p.variant == *v && p.kind == PhaseKind::Minute).map(|p| {
                        (
                            mib(p.mem_peak.hwm_kb.saturating_sub(p.mem_before.rss_kb)),
                            mib(p.mem_peak.hwm_kb),
                            p.latency.pct(99.0),
                        )
                    })
                };
                if let (Some((ga, ha, pa)), Some((gb, hb, pb))) = (find(a), find(b)) {
                    println!(
                        "{} → {} open clocks ({}, minute): memory growth {ga:.1} → {gb:.1} MiB ({}), peak RSS \
                         {ha:.1} → {hb:.1} MiB ({}), p99 {pa:.1} → {pb:.1} ms ({})",
                        a.scale,
                        b.scale,
                        v.label(),
                        ratio(ga, gb),
                        ratio(ha, hb),
                        ratio(pa, pb)
                    );
                }
            }
            let peak = |s: &ScaleResult| mib(s.phases.iter().map(|p| p.mem_peak.hwm_kb).max().unwrap_or(0));
            println!(
                "{} → {} open clocks, peak RSS of the process over all its phases (bursts included): {:.1} → {:.1} MiB \
                 ({})",
                a.scale,
                b.scale,
                peak(a),
                peak(b),
                ratio(peak(a), peak(b))
            );
        }
        let minutes: Vec<&PhaseResult> =
            self.scales.iter().flat_map(|s| &s.phases).filter(|p| p.kind == PhaseKind::Minute).collect();
        let late: usize = minutes.iter().map(|p| p.late()).sum();
        let worst = minutes.iter().map(|p| p.latency.max()).fold(0.0, f64::max);
        let armed = self.scales.iter().flat_map(|s| &s.phases).map(|p| p.armed.as_secs_f64()).fold(0.0, f64::max);
        println!(
            "Target (every alarm of the minute fired within {:.0} s of its instant, none twice): {} — {late} late, worst \
             {worst:.1} ms (arming took at most {armed:.2} s)",
            TARGET_MS / 1e3,
            if late == 0 && minutes.iter().all(|p| p.fired_twice == 0 && p.received == p.expected) {
                "met"
            } else {
                "MISSED"
            }
        );
        println!();
        if self.failures.is_empty() {
            println!(
                "Correctness: ok (every due clock's task.overdue received once on bb.evt.<unit office>.task.overdue.\
                 <unit>; each phase's clocks overdue at its generation; no due alarm left; outbox empty)"
            );
        } else {
            println!("Correctness: FAILED ({} checks, see stderr)", self.failures.len());
        }
    }
}
