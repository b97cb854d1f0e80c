//! Case acceptance benchmark (受理基准): cases accepted through the gateway next to the raw database
//! writes of the same rows.
//!
//! Every path runs on a real `nats-server` (random port, own JetStream store) and a fresh database
//! of its own (a temporary SQLite file, or a fresh PostgreSQL schema when `TEST_DATABASE_URL` is
//! set), migrated and seeded with the offices and the demo roster:
//!
//! - **gateway**: `POST /api/v1/cases` with reqwest over loopback, each request with a development
//!   token of an assistant of the accepting office, through the gateway (auth, authorisation), a
//!   NATS request to intake, `IntakeService::create_case` (validation, encryption of personal data,
//!   the transaction) and the reply, with intake's outbox relay publishing `case.accepted` meanwhile.
//!   This is the headline figure: cases/s and latency per request (p50/p90/p99/max).
//! - **service**: the same cases handed straight to `IntakeService::create_case` in process, relay
//!   running, and once more without a relay: what HTTP, the gateway and NATS request/reply add.
//! - **raw**: the same rows written with sea-orm, one transaction per case, statement for statement
//!   what `create_case` runs for an assisted case (applicant lookup and insert, project, specialist
//!   candidates and loads, ledger sequence, case, contact card, read-back, outbox row), without
//!   validation, encryption, masking or a reply. The ratio gateway/raw is the cost of everything
//!   but the writes.
//!
//! The cases: 8 offices in turn (so ledger sequences and least-load assignment work per office),
//! organisations with synthetic unified social credit codes made valid with intake's own check
//! character, and every fourth case from an applicant registered by a warm-up case (`applicant_id`,
//! superseding that applicant's contact card). Warm-up cases run first through the same path,
//! untimed.
//!
//! Run with `cargo bench -p bangban-e2e --bench intake` with `nats-server` on PATH. Environment:
//! `BENCH_CASES` (default 2000), `BENCH_CONCURRENCY` (clients in parallel, default 8),
//! `BENCH_WARMUP` (default 64), `BENCH_PATHS` (default `gateway,service,service-norelay,raw`),
//! `BENCH_POOL` (connections of every path's pool, default intake's `database.max_connections`),
//! `BENCH_REPEAT` (runs of every path, in turn, default 3; cases/s are medians),
//! `BENCH_TELEMETRY=1` (install the services' tracing subscriber, logs at `warn`, no exporter),
//! `TEST_DATABASE_URL`.
//!
//! On SQLite, intake's deferred transactions read before they write; while another connection
//! writes (a second request, or the relay) the upgrade fails at once with `SQLITE_BUSY`
//! ("database is locked", no busy timeout applies), and the request with a 500. The bench reports
//! that as a failure; `BENCH_POOL=1` measures SQLite with writers queued in the pool instead.
//!
//! The bench is a report: it exits 0 whatever the figures, and non-zero only when setup fails or a
//! correctness check does (a request failed; cases, ledger numbers, contact cards or events
//! missing, left pending or doubled).

#[path = "support/mod.rs"]
mod support;

use std::{
    collections::HashMap,
    process::ExitCode,
    str::FromStr,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};
use async_nats::jetstream::{self, consumer::pull};
use bangban_contracts::{
    CloudEvent, EventType,
    intake::{
        Actor, ApplicantKind, CaseAccepted, CaseStatus, CaseView, CreateCase, NewCase, ProjectCategory, ProjectView,
    },
    office::{CITY_OFFICE, OFFICES},
    subjects::EVENTS_STREAM,
};
use bangban_gateway::auth::{Authenticator, Role};
use bangban_intake::{
    IntakeService, Migrator,
    domain::{identity, ledger, validation},
    entity::{applicant, case_unit, cases, contact_card, project, staff},
};
use bangban_platform::{
    Settings, bus,
    db::connect_and_migrate,
    health::Readiness,
    outbox::{self, OutboxNotifier},
    service,
    shutdown::Shutdown,
};
use bangban_testkit::{NatsServer, TestDatabase};
use chrono::{SubsecRound, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait,
    QueryFilter, QueryOrder, Statement, TransactionTrait, Value,
};
use uuid::Uuid;

/// One case in this many comes from an applicant registered by a warm-up case.
const RETURNING_EVERY: usize = 4;
/// How long the relay may take to empty the outbox after the last reply.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(120);
/// Lifetime of the benchmark's development tokens.
const TOKEN_TTL: Duration = Duration::from_secs(4 * 3600);

fn main() -> ExitCode {
    support::main("intake bench", Config::from_env, |config| async move {
        let report = run(&config).await?;
        report.print(&config);
        Ok(report.failures)
    })
}

// ---------------------------------------------------------------------------------------------
// Configuration

/// The ways a case is accepted, each measured on a fresh database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Path {
    Gateway,
    Service,
    ServiceNoRelay,
    Raw,
}

impl Path {
    const ALL: [Path; 4] = [Path::Gateway, Path::Service, Path::ServiceNoRelay, Path::Raw];

    fn name(self) -> &'static str {
        match self {
            Path::Gateway => "gateway",
            Path::Service => "service",
            Path::ServiceNoRelay => "service-norelay",
            Path::Raw => "raw",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Path::Gateway => "HTTP -> gateway -> NATS -> intake",
            Path::Service => "IntakeService::create_case, relay on",
            Path::ServiceNoRelay => "IntakeService::create_case, no relay",
            Path::Raw => "raw sea-orm, same statements",
        }
    }

    /// Whether intake's outbox relay runs (and the events must reach the stream).
    fn relay(self) -> bool {
        matches!(self, Path::Gateway | Path::Service)
    }
}

struct Config {
    cases: usize,
    concurrency: usize,
    warmup: usize,
    paths: Vec<Path>,
    telemetry: bool,
    /// Connections of every path's pool (intake's `database.max_connections`).
    pool: u32,
    /// Runs of every path, interleaved; figures are medians (rates) or pooled (latencies, CPU).
    repeat: usize,
}

impl Config {
    fn from_env() -> anyhow::Result<Self> {
        let cases: usize = env_or("BENCH_CASES", 2_000)?;
        let concurrency: usize = env_or("BENCH_CONCURRENCY", 8)?;
        let warmup: usize = env_or("BENCH_WARMUP", 64)?;
        let paths = match std::env::var("BENCH_PATHS") {
            Ok(s) if !s.trim().is_empty() => s
                .split(',')
                .map(|p| {
                    Path::ALL.into_iter().find(|k| k.name() == p.trim()).with_context(|| {
                        format!("BENCH_PATHS: {p:?} is none of {}", Path::ALL.map(Path::name).join(", "))
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?,
            _ => Path::ALL.to_vec(),
        };
        let telemetry = std::env::var("BENCH_TELEMETRY").is_ok_and(|v| matches!(v.trim(), "1" | "true" | "yes"));
        let pool: u32 = env_or("BENCH_POOL", Settings::default().database.max_connections)?;
        let repeat: usize = env_or("BENCH_REPEAT", 3)?;
        if cases == 0 || concurrency == 0 || pool == 0 || repeat == 0 {
            bail!("BENCH_CASES, BENCH_CONCURRENCY, BENCH_POOL and BENCH_REPEAT must be positive");
        }
        Ok(Self { cases, concurrency, warmup, paths, telemetry, pool, repeat })
    }
}

fn env_or<T: FromStr>(name: &str, default: T) -> anyhow::Result<T> {
    match std::env::var(name) {
        Ok(s) if !s.trim().is_empty() => s.trim().parse().map_err(|_| anyhow::anyhow!("{name}: {s:?} is not a number")),
        _ => Ok(default),
    }
}

// ---------------------------------------------------------------------------------------------
// Cases

/// A case ready to send: the request body (serialised before any clock starts) and the same case
/// as the contract type, for the in-process paths.
struct Prepared {
    office: usize,
    body: Vec<u8>,
    case: NewCase,
    /// A new organisation (not `applicant_id` of a registered one).
    new_applicant: bool,
}

/// A synthetic unified social credit code registered in `office`, unique per `i`, with a valid check
/// character: `91` (market regulation, enterprise), the division code, `MA` and seven digits.
fn credit_code(i: usize, office: &str) -> anyhow::Result<String> {
    let body = format!("91{office}MA{:07}", i % 10_000_000);
    let check = identity::credit_code_check_char(&body).context("credit code body")?;
    Ok(format!("{body}{check}"))
}

/// Case number `i` of a run: office `i mod 8`; an organisation of its own, or every
/// [`RETURNING_EVERY`]th case one of `registered`.
fn prepare(i: usize, registered: &[Uuid]) -> anyhow::Result<Prepared> {
    let office_index = i % OFFICES.len();
    let office = OFFICES[office_index].0;
    // The city accepts projects anywhere; a county office only its own.
    let project_office =
        if office == CITY_OFFICE { OFFICES[1 + (i / OFFICES.len()) % (OFFICES.len() - 1)].0 } else { office };
    let returning = i % RETURNING_EVERY == RETURNING_EVERY - 1 && !registered.is_empty();
    let category = ProjectCategory::ALL[i % ProjectCategory::ALL.len()];
    let mut body = serde_json::json!({
        "service_type": "assist",
        "office": office,
        "project": {
            "name": format!("滨州市新材料产业园项目（第{i}号）"),
            "category": category.as_str(),
            "office": project_office,
            "investment_wan": 5_000.0 + (i % 50) as f64 * 100.0,
            "land_area_m2": 20_000.0 + (i % 17) as f64 * 500.0,
            "newly_settled": i.is_multiple_of(3),
        }
    });
    if returning {
        body["applicant_id"] = registered[(i / RETURNING_EVERY) % registered.len()].to_string().into();
    } else {
        body["applicant"] = serde_json::json!({
            "kind": "legal_person",
            "name": format!("滨州市某某新材料有限公司第{i}分公司"),
            "credit_code": credit_code(i, office)?,
            "phone": format!("138{:08}", i % 100_000_000),
            "contact_person": "王经理",
        });
    }
    let case: NewCase = serde_json::from_value(body.clone()).context("the benchmark's case is not a NewCase")?;
    Ok(Prepared { office: office_index, body: serde_json::to_vec(&body)?, case, new_applicant: !returning })
}

fn prepare_range(from: usize, count: usize, registered: &[Uuid]) -> anyhow::Result<Vec<Prepared>> {
    (from..from + count).map(|i| prepare(i, registered)).collect()
}

/// The person accepting cases for office number `i` (an assistant of that office).
fn actor(i: usize) -> Actor {
    let office = OFFICES[i].0;
    Actor { sub: format!("bench-assistant-{office}"), role: Role::Assistant.as_str().into(), office: office.into() }
}

// ---------------------------------------------------------------------------------------------
// The raw path

/// Writes what `IntakeService::create_case` writes for an assisted case, with the same statements
/// in the same transaction, and nothing else.
struct RawWriter {
    db: DatabaseConnection,
    /// A real ciphertext of a phone number, made once before the clock starts, so that the rows
    /// have the size intake's have.
    phone_enc: String,
}

impl RawWriter {
    /// Statement for statement `create_case` (services/intake/src/lib.rs) for a case without an
    /// agreement or materials; keep the two in step. Returns the applicant's id.
    async fn accept(&self, actor: &Actor, case: &NewCase) -> anyhow::Result<Uuid> {
        let now = Utc::now().trunc_subsecs(6);
        let case_id = Uuid::now_v7();
        let txn = bangban_platform::db::begin_write(&self.db).await?;

        // applicant_for: by id, or looked up by credit code and then updated or inserted.
        let applicant = match (case.applicant_id, &case.applicant) {
            (Some(id), _) => applicant::Entity::find_by_id(id.to_string())
                .one(&txn)
                .await?
                .context("registered applicant missing")?,
            (None, Some(new)) => {
                let code = new.credit_code.clone().context("no credit code")?;
                let existing =
                    applicant::Entity::find().filter(applicant::Column::CreditCode.eq(code.clone())).one(&txn).await?;
                if let Some(found) = existing {
                    let mut active: applicant::ActiveModel = found.into();
                    active.name = Set(new.name.trim().to_string());
                    active.phone_enc = Set(Some(self.phone_enc.clone()));
                    active.contact_person = Set(new.contact_person.clone());
                    active.update(&txn).await?
                } else {
                    applicant::ActiveModel {
                        id: Set(Uuid::now_v7().to_string()),
                        kind: Set(new.kind),
                        name: Set(new.name.trim().to_string()),
                        id_number_enc: Set(None),
                        id_number_index: Set(None),
                        credit_code: Set(Some(code)),
                        phone_enc: Set(Some(self.phone_enc.clone())),
                        contact_person: Set(new.contact_person.clone()),
                        created_at: Set(now),
                    }
                    .insert(&txn)
                    .await?
                }
            }
            (None, None) => bail!("a case without an applicant"),
        };

        // project_for: a new project.
        let p = case.project.as_ref().context("no project")?;
        let project = project::ActiveModel {
            id: Set(Uuid::now_v7().to_string()),
            name: Set(p.name.trim().to_string()),
            category: Set(p.category),
            office: Set(p.office.clone()),
            code: Set(p.code.clone()),
            investment_wan: Set(p.investment_wan),
            land_area_m2: Set(p.land_area_m2),
            floor_area_m2: Set(p.floor_area_m2),
            newly_settled: Set(p.newly_settled),
            investment_kind: Set(p.investment_kind),
            land_supply: Set(p.land_supply),
            construction: Set(p.construction),
            created_at: Set(now),
        }
        .insert(&txn)
        .await?;

        // choose_specialist: the candidates, their open cases, the least loaded.
        let backend = txn.get_database_backend();
        let (p1, p2) = match backend {
            DbBackend::Postgres => ("$1", "$2"),
            _ => ("?", "?"),
        };
        let role = validation::specialist_role(case.service_type);
        let candidates = staff::Entity::find()
            .filter(staff::Column::Office.eq(case.office.as_str()))
            .filter(staff::Column::Role.eq(role))
            .filter(staff::Column::Active.eq(true))
            .all(&txn)
            .await?;
        let loads: HashMap<String, i64> = txn
            .query_all_raw(Statement::from_sql_and_values(
                backend,
                format!(
                    "SELECT specialist_id, COUNT(*) AS n FROM cases WHERE office = {p1} \
                     AND status NOT IN ('archived', 'terminated') GROUP BY specialist_id"
                ),
                [Value::from(case.office.clone())],
            ))
            .await?
            .into_iter()
            .filter_map(|r| Some((r.try_get::<String>("", "specialist_id").ok()?, r.try_get::<i64>("", "n").ok()?)))
            .collect();
        let pairs: Vec<(String, String)> = candidates.iter().map(|c| (c.id.clone(), c.number.clone())).collect();
        let chosen = validation::least_loaded(&pairs, &loads).map(str::to_string).context("no assistant")?;
        let specialist = candidates.into_iter().find(|c| c.id == chosen).context("chosen assistant vanished")?;

        // next_ledger_sequence.
        let year = ledger::ledger_year(now);
        txn.execute_raw(Statement::from_sql_and_values(
            backend,
            format!(
                "INSERT INTO ledger_sequence (office, year, last) VALUES ({p1}, {p2}, 0) \
                 ON CONFLICT (office, year) DO NOTHING"
            ),
            [Value::from(case.office.clone()), Value::from(year)],
        ))
        .await?;
        let sequence = txn
            .query_one_raw(Statement::from_sql_and_values(
                backend,
                format!(
                    "UPDATE ledger_sequence SET last = last + 1 WHERE office = {p1} AND year = {p2} RETURNING last"
                ),
                [Value::from(case.office.clone()), Value::from(year)],
            ))
            .await?
            .context("ledger sequence row missing")?
            .try_get::<i64>("", "last")?;
        let ledger_no = ledger::ledger_number(&case.office, year, sequence);

        // The case.
        cases::Entity::insert(cases::ActiveModel {
            id: Set(case_id.to_string()),
            ledger_no: Set(ledger_no),
            service_type: Set(case.service_type),
            status: Set(CaseStatus::Accepted),
            office: Set(case.office.clone()),
            applicant_id: Set(applicant.id.clone()),
            project_id: Set(project.id.clone()),
            specialist_id: Set(specialist.id.clone()),
            ready_for_results: Set(false),
            termination_reason: Set(None),
            termination_note: Set(None),
            terminated_at: Set(None),
            created_by: Set(actor.sub.clone()),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .exec_without_returning(&txn)
        .await?;

        // issue_contact_card: the applicant's earlier card superseded, the new one.
        contact_card::Entity::update_many()
            .col_expr(contact_card::Column::SupersededAt, sea_orm::sea_query::Expr::value(now))
            .filter(contact_card::Column::ApplicantId.eq(applicant.id.as_str()))
            .filter(contact_card::Column::SupersededAt.is_null())
            .exec(&txn)
            .await?;
        contact_card::Entity::insert(contact_card::ActiveModel {
            id: Set(Uuid::now_v7().to_string()),
            applicant_id: Set(applicant.id.clone()),
            case_id: Set(case_id.to_string()),
            specialist_id: Set(specialist.id.clone()),
            name: Set(specialist.name.clone()),
            number: Set(specialist.number.clone()),
            position: Set(specialist.position.clone()),
            photo_url: Set(specialist.photo_url.clone()),
            phone: Set(specialist.phone.clone()),
            service_items: Set(specialist.service_items.clone()),
            issued_at: Set(now),
            superseded_at: Set(None),
        })
        .exec_without_returning(&txn)
        .await?;

        // The read-back of `view`: the case, its applicant, project, card and units (none yet).
        let row = cases::Entity::find_by_id(case_id.to_string()).one(&txn).await?.context("case vanished")?;
        let a = applicant::Entity::find_by_id(row.applicant_id.clone()).one(&txn).await?.context("no applicant")?;
        let p = project::Entity::find_by_id(row.project_id.clone()).one(&txn).await?.context("no project")?;
        contact_card::Entity::find()
            .filter(contact_card::Column::CaseId.eq(row.id.clone()))
            .order_by_desc(contact_card::Column::IssuedAt)
            .one(&txn)
            .await?
            .context("no contact card")?;
        case_unit::Entity::find()
            .filter(case_unit::Column::CaseId.eq(row.id.clone()))
            .order_by_asc(case_unit::Column::FirstDispatchedAt)
            .all(&txn)
            .await?;

        // publish_case_accepted: the outbox row.
        let data = CaseAccepted {
            case_id,
            ledger_no: row.ledger_no,
            service_type: case.service_type,
            office: row.office.clone(),
            applicant_id: Uuid::parse_str(&a.id)?,
            applicant_kind: ApplicantKind::LegalPerson,
            project: ProjectView {
                id: Uuid::parse_str(&p.id)?,
                name: p.name,
                category: p.category,
                office: p.office,
                code: p.code,
                investment_wan: p.investment_wan,
                land_area_m2: p.land_area_m2,
                floor_area_m2: p.floor_area_m2,
                newly_settled: p.newly_settled,
                investment_kind: p.investment_kind,
                land_supply: p.land_supply,
                construction: p.construction,
            },
            specialist_id: row.specialist_id,
            accepted_by: row.created_by,
            accepted_at: row.created_at,
        };
        let event =
            CloudEvent::new(EventType::CASE_ACCEPTED, bangban_contracts::intake::SERVICE, case_id.to_string(), &data)?;
        outbox::enqueue(&txn, &EventType::CASE_ACCEPTED.subject(&row.office, None)?, &event).await?;
        txn.commit().await?;
        Uuid::parse_str(&applicant.id).context("applicant id")
    }
}

// ---------------------------------------------------------------------------------------------
// Running one path

/// Where a path sends its cases.
enum Target {
    Gateway { http: reqwest::Client, url: String, tokens: Vec<String> },
    Service { intake: Arc<IntakeService>, actors: Vec<Actor> },
    Raw { writer: RawWriter, actors: Vec<Actor> },
}

impl Target {
    /// Accepts one case; returns the applicant's id when `want_applicant` (the gateway parses the
    /// reply only then).
    async fn accept(&self, p: &Prepared, want_applicant: bool) -> anyhow::Result<Option<Uuid>> {
        match self {
            Target::Gateway { http, url, tokens } => {
                let res = http
                    .post(url)
                    .bearer_auth(&tokens[p.office])
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(p.body.clone())
                    .send()
                    .await?;
                let status = res.status();
                let body = res.bytes().await?;
                if status != reqwest::StatusCode::CREATED {
                    let text = String::from_utf8_lossy(&body);
                    bail!("HTTP {status}: {}", text.chars().take(400).collect::<String>());
                }
                if want_applicant {
                    let view: CaseView = serde_json::from_slice(&body).context("reply is not a CaseView")?;
                    Ok(Some(view.applicant.id))
                } else {
                    Ok(None)
                }
            }
            Target::Service { intake, actors } => {
                let req = CreateCase { actor: actors[p.office].clone(), case: p.case.clone() };
                let view = intake.create_case(req).await.map_err(|e| anyhow::anyhow!("create_case: {e}"))?;
                Ok(Some(view.applicant.id))
            }
            Target::Raw { writer, actors } => Ok(Some(writer.accept(&actors[p.office], &p.case).await?)),
        }
    }
}

/// What `drive` saw.
struct Driven {
    elapsed: Duration,
    /// Milliseconds per successful case.
    latencies: Vec<f64>,
    errors: Vec<String>,
    /// (index in `cases`, applicant id) of the successful cases, when asked for.
    applicants: Vec<(usize, Uuid)>,
}

/// Sends `cases` with `concurrency` clients, each taking the next case as soon as its last one is
/// answered.
async fn drive(target: &Arc<Target>, cases: &Arc<Vec<Prepared>>, concurrency: usize, want_applicants: bool) -> Driven {
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (target, cases, next) = (target.clone(), cases.clone(), next.clone());
            tokio::spawn(async move {
                let (mut latencies, mut errors, mut applicants) = (Vec::new(), Vec::new(), Vec::new());
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    let Some(case) = cases.get(k) else { break };
                    let t0 = Instant::now();
                    match target.accept(case, want_applicants).await {
                        Ok(applicant) => {
                            latencies.push(ms(t0.elapsed()));
                            if let Some(a) = applicant {
                                applicants.push((k, a));
                            }
                        }
                        Err(e) => errors.push(format!("case {k} (office {}): {e:#}", case.case.office)),
                    }
                }
                (latencies, errors, applicants)
            })
        })
        .collect();
    let mut out = Driven { elapsed: Duration::ZERO, latencies: Vec::new(), errors: Vec::new(), applicants: Vec::new() };
    for w in workers {
        match w.await {
            Ok((l, e, a)) => {
                out.latencies.extend(l);
                out.errors.extend(e);
                out.applicants.extend(a);
            }
            Err(e) => out.errors.push(format!("a client task failed: {e}")),
        }
    }
    out.elapsed = start.elapsed();
    out.applicants.sort_by_key(|(k, _)| *k);
    out
}

/// What the bench shares between paths.
struct Shared {
    server: NatsServer,
    client: async_nats::Client,
    js: jetstream::Context,
    /// The broker's store directory, which names its process among others.
    nats_store: String,
}

/// The result of one path.
struct PathResult {
    elapsed: Duration,
    /// Latency of every accepted case.
    latency: Series,
    /// Timed cases that failed.
    failed: usize,
    /// From the last reply until the outbox was empty (paths with a relay).
    drained: Option<Duration>,
    /// CPU used during the timed run.
    cpu: CpuUse,
}

impl PathResult {
    /// Cases accepted per second (failed ones do not count).
    fn per_second(&self) -> f64 {
        self.latency.0.len() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Every run of one path.
struct Summary {
    path: Path,
    /// Cases/s of every run, in run order.
    rates: Vec<f64>,
    /// Latencies of every run together.
    latency: Series,
    failed: usize,
    /// The longest drain of any run.
    drained: Option<Duration>,
    /// CPU of every run together, and the timed cases it served.
    cpu: CpuUse,
    cases: usize,
}

impl Summary {
    fn of(path: Path, runs: &[PathResult], cases_per_run: usize) -> Self {
        let mut cpu = CpuUse::default();
        for r in runs {
            cpu.bench += r.cpu.bench;
            cpu.nats += r.cpu.nats;
            cpu.postgres += r.cpu.postgres;
            cpu.busy += r.cpu.busy;
            cpu.total += r.cpu.total;
        }
        Self {
            path,
            rates: runs.iter().map(PathResult::per_second).collect(),
            latency: Series::new(runs.iter().flat_map(|r| r.latency.0.iter().copied()).collect()),
            failed: runs.iter().map(|r| r.failed).sum(),
            drained: runs.iter().filter_map(|r| r.drained).max(),
            cpu,
            cases: cases_per_run * runs.len(),
        }
    }

    /// Median cases/s of the runs.
    fn rate(&self) -> f64 {
        median(&self.rates)
    }

    /// CPU milliseconds per timed case.
    fn cpu_ms(&self, seconds: f64) -> f64 {
        seconds * 1e3 / self.cases.max(1) as f64
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

/// Settings of a platform on this bench's broker and database.
fn settings(config: &Config, shared: &Shared, db: &TestDatabase) -> anyhow::Result<Settings> {
    let mut settings = Settings::default();
    settings.nats.url = shared.server.url();
    settings.http.listen = "127.0.0.1:0".parse()?;
    db.apply_to(&mut settings);
    settings.data_dir = db.dir();
    settings.database.max_connections = config.pool;
    Ok(settings)
}

/// Opens every connection of the pool (a service's pool is warm after its first seconds).
async fn warm_pool(db: &DatabaseConnection, size: u32) -> anyhow::Result<()> {
    let txns = futures::future::try_join_all((0..size).map(|_| db.begin())).await?;
    for txn in txns {
        txn.commit().await?;
    }
    Ok(())
}

async fn run_path(
    config: &Config,
    shared: &Shared,
    path: Path,
    failures: &mut Vec<String>,
) -> anyhow::Result<PathResult> {
    let db = TestDatabase::new(&format!("bench_{}", path.name().replace('-', "_"))).await?;
    let settings = settings(config, shared, &db)?;
    let pool = settings.database.max_connections;
    let conn = connect_and_migrate::<Migrator>(&db.target(), pool).await?;
    bangban_intake::seed::seed(&conn).await?;
    warm_pool(&conn, pool).await?;
    if path.relay() {
        shared
            .js
            .get_stream(EVENTS_STREAM)
            .await?
            .purge()
            .await
            .map_err(|e| anyhow::anyhow!("purging {EVENTS_STREAM}: {e}"))?;
    }

    let shutdown = Shutdown::new();
    let actors: Vec<Actor> = (0..OFFICES.len()).map(actor).collect();
    let target = match path {
        Path::Gateway => {
            // Intake has no settings of its own (`()`).
            let running =
                service::start_with_db::<IntakeService>(&settings, (), shared.client.clone(), conn.clone(), &shutdown)
                    .await?;
            let readiness = Readiness { nats: shared.client.clone(), databases: vec![("intake", running.db.clone())] };
            let addr = bangban_gateway::start(&settings, shared.client.clone(), readiness, &shutdown).await?;
            let auth = Authenticator::from_settings(&settings)?;
            let tokens = actors
                .iter()
                .map(|a| auth.issue(a.sub.clone(), Role::Assistant, a.office.clone(), None, None, TOKEN_TTL))
                .collect::<Result<Vec<_>, _>>()?;
            let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?;
            Target::Gateway { http, url: format!("http://{addr}/api/v1/cases"), tokens }
        }
        Path::Service => {
            // Intake has no settings of its own (`()`).
            let running =
                service::start_with_db::<IntakeService>(&settings, (), shared.client.clone(), conn.clone(), &shutdown)
                    .await?;
            Target::Service { intake: running.service, actors }
        }
        Path::ServiceNoRelay => {
            let pii = bangban_intake::pii_cipher(&settings)?;
            Target::Service { intake: Arc::new(IntakeService::new(conn.clone(), OutboxNotifier::new(), pii)), actors }
        }
        Path::Raw => {
            let phone_enc = bangban_intake::pii_cipher(&settings)?.encrypt("13800000000");
            Target::Raw { writer: RawWriter { db: conn.clone(), phone_enc }, actors }
        }
    };
    let target = Arc::new(target);

    // Warm-up: connections, statement caches, and the applicants that later cases come back with.
    let warm = Arc::new(prepare_range(0, config.warmup, &[])?);
    let warmed = drive(&target, &warm, config.concurrency, true).await;
    report_errors(failures, path, "warm-up", &warmed.errors);
    let registered: Vec<Uuid> = warmed.applicants.iter().map(|(_, a)| *a).collect();

    // The measurement.
    let timed = Arc::new(prepare_range(config.warmup, config.cases, &registered)?);
    let cpu_before = CpuSample::take(&shared.nats_store);
    let driven = drive(&target, &timed, config.concurrency, false).await;
    let cpu = CpuSample::take(&shared.nats_store).since(&cpu_before);
    let after_last_reply = Instant::now();
    report_errors(failures, path, "timed run", &driven.errors);

    // Checks: every case, ledger number, contact card and event exactly once.
    let total = (warm.len() + timed.len()) as i64;
    let new_applicants = (warm.iter().chain(timed.iter()).filter(|p| p.new_applicant).count()) as i64;
    let mut drained = None;
    if path.relay() {
        drained = drain(&conn).await?.map(|()| after_last_reply.elapsed());
        if drained.is_none() {
            failures.push(format!(
                "{}: the outbox still holds {} pending rows {DRAIN_TIMEOUT:?} after the last reply",
                path.name(),
                outbox::pending_count(&conn).await?
            ));
        }
        let events = accepted_events(&shared.js).await?;
        if events != total as u64 {
            failures.push(format!("{}: {events} case.accepted events on the stream, expected {total}", path.name()));
        }
    } else {
        let pending = outbox::pending_count(&conn).await?;
        let rows = count(&conn, "SELECT COUNT(*) AS n FROM outbox").await?;
        if pending != total || rows != total {
            failures.push(format!("{}: {rows} outbox rows, {pending} pending, expected {total}", path.name()));
        }
    }
    let counts = [
        ("cases", "SELECT COUNT(*) AS n FROM cases", total),
        ("distinct ledger numbers", "SELECT COUNT(DISTINCT ledger_no) AS n FROM cases", total),
        ("ledger sequences (sum)", "SELECT CAST(COALESCE(SUM(last), 0) AS BIGINT) AS n FROM ledger_sequence", total),
        ("applicants", "SELECT COUNT(*) AS n FROM applicant", new_applicants),
        ("contact cards", "SELECT COUNT(*) AS n FROM contact_card", total),
        ("current contact cards", "SELECT COUNT(*) AS n FROM contact_card WHERE superseded_at IS NULL", new_applicants),
    ];
    for (what, sql, expected) in counts {
        let n = count(&conn, sql).await?;
        if n != expected {
            failures.push(format!("{}: {n} {what}, expected {expected}", path.name()));
        }
    }

    let result = PathResult {
        elapsed: driven.elapsed,
        latency: Series::new(driven.latencies),
        failed: driven.errors.len(),
        drained,
        cpu,
    };
    if !shutdown.shutdown(Duration::from_secs(10)).await {
        eprintln!("intake bench: {}: some tasks did not stop within 10 s", path.name());
    }
    drop(target);
    conn.close().await?;
    drop(db);
    Ok(result)
}

/// The first few failed requests of a run, and how many failed in all.
fn report_errors(failures: &mut Vec<String>, path: Path, phase: &str, errors: &[String]) {
    const SHOWN: usize = 5;
    for e in errors.iter().take(SHOWN) {
        failures.push(format!("{}: {phase}: {e}", path.name()));
    }
    if errors.len() > SHOWN {
        failures.push(format!("{}: {phase}: … {} failed requests in all", path.name(), errors.len()));
    }
}

/// Waits until the outbox holds no pending row; `None` after [`DRAIN_TIMEOUT`].
async fn drain(conn: &DatabaseConnection) -> anyhow::Result<Option<()>> {
    let deadline = Instant::now() + DRAIN_TIMEOUT;
    loop {
        if outbox::pending_count(conn).await? == 0 {
            return Ok(Some(()));
        }
        if Instant::now() > deadline {
            return Ok(None);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// `case.accepted` messages on the stream, every office.
async fn accepted_events(js: &jetstream::Context) -> anyhow::Result<u64> {
    let stream = js.get_stream(EVENTS_STREAM).await?;
    let mut consumer = stream
        .create_consumer(pull::Config {
            filter_subject: EventType::CASE_ACCEPTED.filter_all_offices(),
            ack_policy: jetstream::consumer::AckPolicy::Explicit,
            // An ephemeral consumer left without a pull for 5 s is deleted by the server; a slow setup must not lose it.
            inactive_threshold: Duration::from_secs(600),
            ..Default::default()
        })
        .await
        .map_err(|e| anyhow::anyhow!("counting consumer: {e}"))?;
    let info = consumer.info().await.map_err(|e| anyhow::anyhow!("consumer info: {e}"))?;
    let (n, name) = (info.num_pending, info.name.clone());
    let _ = stream.delete_consumer(&name).await;
    Ok(n)
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

/// CPU seconds used so far by this process (clients, gateway, intake, relay, SQLite), by the
/// benchmark's nats-server, by every PostgreSQL process of the machine, and by the machine.
#[derive(Debug, Clone, Copy, Default)]
struct CpuSample {
    bench: f64,
    nats: f64,
    postgres: f64,
    /// Busy (not idle, not iowait) and all CPU seconds of the machine.
    busy: f64,
    total: f64,
}

/// CPU seconds during a run.
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
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

// ---------------------------------------------------------------------------------------------
// Run and report

struct Environment {
    cpus: usize,
    cpu_model: String,
    nats_version: String,
    backend: String,
}

struct Report {
    env: Environment,
    results: Vec<Summary>,
    failures: Vec<String>,
}

async fn run(config: &Config) -> anyhow::Result<Report> {
    let _telemetry = if config.telemetry {
        Some(bangban_telemetry::init(&bangban_telemetry::TelemetryOptions {
            service_name: "bangban-bench".into(),
            otlp_endpoint: None,
            log_format: bangban_telemetry::LogFormat::Json,
            log_filter: "warn".into(),
        })?)
    } else {
        None
    };
    bangban_platform::runtime::install_crypto_provider();
    let server = NatsServer::start().await.context("starting nats-server (is it on PATH?)")?;
    let client = server.client().await?;
    let js = jetstream::new(client.clone());
    bus::ensure_streams(&js, 1).await?;

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
    };
    eprintln!(
        "intake bench: {} cases after {} warm-up, {} clients, paths {}, {}",
        config.cases,
        config.warmup,
        config.concurrency,
        config.paths.iter().map(|p| p.name()).collect::<Vec<_>>().join(","),
        env.backend
    );

    let nats_store = server.store_dir().display().to_string();
    let shared = Shared { server, client, js, nats_store };
    let mut failures = Vec::new();
    let mut runs: Vec<Vec<PathResult>> = config.paths.iter().map(|_| Vec::new()).collect();
    // The paths take turns, so that drift of the machine (or a neighbour's build) hits all alike.
    for round in 1..=config.repeat {
        for (k, &path) in config.paths.iter().enumerate() {
            eprintln!("intake bench: run {round}/{}: {} ({}) …", config.repeat, path.name(), path.describe());
            runs[k].push(run_path(config, &shared, path, &mut failures).await?);
        }
    }
    let results = config.paths.iter().zip(&runs).map(|(&path, r)| Summary::of(path, r, config.cases)).collect();
    Ok(Report { env, results, failures })
}

impl Report {
    fn result(&self, path: Path) -> Option<&Summary> {
        self.results.iter().find(|r| r.path == path)
    }

    fn print(&self, config: &Config) {
        let e = &self.env;
        let n = config.cases;
        println!();
        println!("Bangban case acceptance benchmark");
        println!("  machine   {} CPUs ({})", e.cpus, e.cpu_model);
        println!("  broker    nats-server {} (JetStream file store, local)", e.nats_version);
        println!("  database  {}, pool of {} connections, a fresh database per run", e.backend, config.pool);
        println!(
            "  cases     {n} timed per run after {} warm-up, {} concurrent clients; assisted cases, the {} offices \
             in turn, 1 in {RETURNING_EVERY} from a registered applicant",
            config.warmup,
            config.concurrency,
            OFFICES.len()
        );
        println!(
            "  runs      {} per path, paths in turn; cases/s: median of the runs; latency: every case of every run",
            config.repeat
        );
        println!(
            "  telemetry {}",
            if config.telemetry {
                "tracing subscriber installed (logs at warn, no exporter)"
            } else {
                "none installed"
            }
        );
        println!();
        let gateway = self.result(Path::Gateway);
        let raw = self.result(Path::Raw);
        let cell = |r: Option<&Summary>, f: &dyn Fn(&Summary) -> String| r.map(f).unwrap_or_else(|| "-".into());
        println!(
            "  {:<36} {:>6} {:>11} {:>15} {:>8} {:>8} {:>11} {:>11}",
            "backend", "N", "concurrency", "gateway cases/s", "p50 ms", "p99 ms", "raw cases/s", "gateway/raw"
        );
        println!(
            "  {:<36} {:>6} {:>11} {:>15} {:>8} {:>8} {:>11} {:>11}",
            e.backend.chars().take(36).collect::<String>(),
            n,
            config.concurrency,
            cell(gateway, &|r| format!("{:.0}", r.rate())),
            cell(gateway, &|r| format!("{:.2}", r.latency.pct(50.0))),
            cell(gateway, &|r| format!("{:.2}", r.latency.pct(99.0))),
            cell(raw, &|r| format!("{:.0}", r.rate())),
            match (gateway, raw) {
                (Some(g), Some(r)) => format!("{:.2}", g.rate() / r.rate()),
                _ => "-".into(),
            }
        );
        println!();
        println!("Where the time goes: latency per case in ms; CPU ms per timed case");
        println!(
            "  {:<16} {:<38} {:>17} {:>6} {:>7} {:>7} {:>7} {:>7} {:>6} {:>6} {:>6} {:>5} {:>8}",
            "path",
            "",
            "cases/s [min-max]",
            "failed",
            "p50",
            "p90",
            "p99",
            "max",
            "bench",
            "nats",
            "pg",
            "busy",
            "drained"
        );
        for r in &self.results {
            let lo = r.rates.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = r.rates.iter().copied().fold(0.0, f64::max);
            println!(
                "  {:<16} {:<38} {:>17} {:>6} {:>7.2} {:>7.2} {:>7.2} {:>7.2} {:>6.2} {:>6.2} {:>6.2} {:>4.0}% {:>8}",
                r.path.name(),
                r.path.describe(),
                format!("{:.0} [{lo:.0}-{hi:.0}]", r.rate()),
                r.failed,
                r.latency.pct(50.0),
                r.latency.pct(90.0),
                r.latency.pct(99.0),
                r.latency.max(),
                r.cpu_ms(r.cpu.bench),
                r.cpu_ms(r.cpu.nats),
                r.cpu_ms(r.cpu.postgres),
                r.cpu.busy_percent(),
                r.drained.map(|d| format!("{:.0} ms", ms(d))).unwrap_or_else(|| "-".into())
            );
        }
        println!("  bench: this process (clients, gateway, intake, relay; SQLite too); nats: the bench's nats-server;");
        println!("  pg: every postgres process of the machine; busy: share of all CPUs busy during the timed runs;");
        println!("  drained: the outbox was empty this long after the last reply (paths with the relay; worst run).");
        println!("  On a busy machine cases/s moves with the neighbours; CPU ms per case stays put.");
        println!();
        if self.failures.is_empty() {
            println!(
                "Correctness: ok (every run: every request accepted; cases, ledger numbers, applicants and contact \
                 cards as expected; relay paths: outbox drained and one case.accepted per case on the stream)"
            );
        } else {
            println!("Correctness: FAILED ({} checks, see stderr)", self.failures.len());
        }
    }
}
