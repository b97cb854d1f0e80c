//! Case dossier benchmark (案件全景基准, issue 9): `GET /api/v1/cases/{id}/dossier` through the gateway next to
//! the service calls the dossier makes, made straight over NATS — the gateway's overhead.
//!
//! The run has a real `nats-server` (random port, own JetStream store, the platform's streams) and fresh
//! databases (a temporary SQLite file per service, or fresh PostgreSQL schemas when `TEST_DATABASE_URL` is set),
//! and starts in this process, as production does (`<service>::start`, default settings), intake (seeded with
//! the offices and the demo roster), planning, routing (seeded with the unit directory), deadline, notification
//! (the `log` provider, quiet hours off), evaluation and the gateway (`bangban_gateway::start`, port 0). The
//! gateway, the direct caller and every service have a NATS connection of their own.
//!
//! **The case** is made through the gateway as staff make it: `POST /api/v1/cases` (an industrial project of
//! county 371625 with the applicant's mobile number), planning's draft plan brought to `BENCH_TASKS` items (40)
//! — catalog items added by code (`POST …/plan/items`, the on-demand ones first) or the last ones removed
//! (`POST …/plan/items/{code}/remove`) — and published (`POST …/plan/publish`); routing turns `plan.published`
//! into the tasks, deadline starts a clock for every task dispatched, notification sends the acceptance SMS.
//! The reads start once the dossier shows `BENCH_TASKS` tasks, a clock for every dispatched task, the SMS sent
//! and nothing missing.
//!
//! **Paths**, each read as the case's specialist (the dossier's own scoping: supervision and messages of the
//! specialist's office, the ratings of their cases):
//! - **gateway**: `GET /api/v1/cases/{id}/dossier` with reqwest over loopback and a development token: HTTP, JWT,
//!   the 7 service calls the dossier makes (intake `case.get` once — it authorises, and the plan, tasks and clocks
//!   parts are handed the case —, planning `plan.get` once — the schedule is the plan's —, routing `case.tasks`,
//!   deadline `clock.case` and `supervision.list`, notification `message.list`, evaluation `evaluation.list`),
//!   two one after another, and the JSON of the whole dossier; the body is read, not parsed.
//! - **direct, parallel**: the same 7 calls with `bangban_platform::rpc::call::<Op>`, decoded into the same contract
//!   types, in the dossier's shape: the case, then the six parts at once (`tokio::join!`).
//! - **direct, sequential**: the same 7 calls one after another — the sum of the direct calls — each timed.
//!
//! Each path makes `BENCH_READS` reads from `BENCH_CONCURRENCY` clients (each list entry in turn), after
//! `BENCH_WARMUP` untimed reads per path; `BENCH_REPEAT` runs, the paths interleaved. Reported per path and
//! concurrency: reads/s (median of the runs [min-max]), latency per read p50/p90/p99/max (every read of every
//! run), the CPU time per read of this process (services, gateway, clients), of the run's nats-server and of
//! PostgreSQL, less what they use idle (measured for a second before the reads: relays, alarm engine); then the gateway's overhead as ratios gateway/direct, and the time of each operation in the
//! sequential path.
//!
//! Correctness checks (each failure makes the exit code non-zero; the figures are printed anyway): the case has
//! `BENCH_TASKS` tasks; the dossier is complete (`missing` empty); before and after the reads, the dossier is
//! exactly what the direct calls read (part by part, as JSON); every read answered (200, or the calls
//! succeeded).
//!
//! Run with `make bench`, or `bash deploy/dev/with-nats-server.sh cargo bench -p bangban-e2e --bench dossier`.
//! Environment: `BENCH_TASKS` (default 40), `BENCH_READS` (default 300), `BENCH_CONCURRENCY` (default `1,8`),
//! `BENCH_WARMUP` (default 30), `BENCH_REPEAT` (default 1; 3 for steadier figures), `TEST_DATABASE_URL` (e.g.
//! `postgres://postgres@127.0.0.1:5432/test`).

#[path = "support/mod.rs"]
mod support;

use std::{
    collections::HashSet,
    future::Future,
    process::ExitCode,
    str::FromStr,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};
use async_nats::jetstream;
use bangban_contracts::{
    Operation,
    deadline::{self, ClockView, ListSupervision, SupervisionPage},
    evaluation::{self, EvaluationPage, ListEvaluations},
    intake::{self, CaseView, GetCase},
    notification::{self, ListMessages, MessagePage, MessageState},
    planning::{self, CatalogView, GetPlan, PlanView, Schedule},
    routing::{self, CaseTasks, TaskStatus, TaskView},
};
use bangban_deadline::DeadlineService;
use bangban_evaluation::EvaluationService;
use bangban_gateway::auth::{Authenticator, Role};
use bangban_gateway::handlers::dossier::Dossier;
use bangban_intake::IntakeService;
use bangban_notification::{NotificationService, settings::NotificationSettings};
use bangban_planning::PlanningService;
use bangban_platform::{
    Settings, bus,
    health::Readiness,
    rpc,
    service::{Service, start},
    shutdown::Shutdown,
};
use bangban_routing::RoutingService;
use bangban_testkit::{NatsServer, TestDatabase};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use uuid::Uuid;

/// The accepting office and the project's county.
const OFFICE: &str = "371625";
/// How long the setup waits for the services to react (plan drafted, tasks routed, clocks started, SMS sent).
const REACT: Duration = Duration::from_secs(60);
/// Lifetime of the benchmark's development tokens.
const TOKEN_TTL: Duration = Duration::from_secs(4 * 3600);
/// How long the platform's idle CPU use is measured before the reads.
const IDLE: Duration = Duration::from_secs(1);

fn main() -> ExitCode {
    support::main("dossier bench", Config::from_env, |config| async move {
        let report = run(&config).await?;
        report.print(&config);
        Ok(report.failures)
    })
}

// ---------------------------------------------------------------------------------------------
// Configuration

struct Config {
    tasks: usize,
    reads: usize,
    concurrency: Vec<usize>,
    warmup: usize,
    repeat: usize,
}

impl Config {
    fn from_env() -> anyhow::Result<Self> {
        let tasks: usize = env_or("BENCH_TASKS", 40)?;
        let reads: usize = env_or("BENCH_READS", 300)?;
        let warmup: usize = env_or("BENCH_WARMUP", 30)?;
        let repeat: usize = env_or("BENCH_REPEAT", 1)?;
        let concurrency = match std::env::var("BENCH_CONCURRENCY") {
            Ok(s) if !s.trim().is_empty() => s
                .split(',')
                .map(|c| {
                    c.trim().parse::<usize>().map_err(|_| anyhow::anyhow!("BENCH_CONCURRENCY: {c:?} is not a number"))
                })
                .collect::<anyhow::Result<Vec<_>>>()?,
            _ => vec![1, 8],
        };
        if tasks == 0 || reads == 0 || repeat == 0 || concurrency.contains(&0) {
            bail!("BENCH_TASKS, BENCH_READS, BENCH_REPEAT and every BENCH_CONCURRENCY must be positive");
        }
        Ok(Self { tasks, reads, concurrency, warmup, repeat })
    }
}

fn env_or<T: FromStr>(name: &str, default: T) -> anyhow::Result<T> {
    match std::env::var(name) {
        Ok(s) if !s.trim().is_empty() => s.trim().parse().map_err(|_| anyhow::anyhow!("{name}: {s:?} is not a number")),
        _ => Ok(default),
    }
}

// ---------------------------------------------------------------------------------------------
// The paths

/// The ways the dossier is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Path {
    Gateway,
    Parallel,
    Sequential,
}

impl Path {
    const ALL: [Path; 3] = [Path::Gateway, Path::Parallel, Path::Sequential];

    fn describe(self) -> &'static str {
        match self {
            Path::Gateway => "gateway: HTTP GET …/dossier",
            Path::Parallel => "direct, parallel as the dossier",
            Path::Sequential => "direct, sequential (sum of calls)",
        }
    }
}

/// The service operations behind the dossier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    CaseGet,
    PlanGet,
    CaseTasks,
    ClockCase,
    SupervisionList,
    MessageList,
    EvaluationList,
}

impl Op {
    const ALL: [Op; 7] = [
        Op::CaseGet,
        Op::PlanGet,
        Op::CaseTasks,
        Op::ClockCase,
        Op::SupervisionList,
        Op::MessageList,
        Op::EvaluationList,
    ];

    fn service_op(self) -> (&'static str, &'static str) {
        fn of<O: Operation>() -> (&'static str, &'static str) {
            (O::SERVICE, O::NAME)
        }
        match self {
            Op::CaseGet => of::<intake::ops::CaseGet>(),
            Op::PlanGet => of::<planning::ops::PlanGet>(),
            Op::CaseTasks => of::<routing::ops::CaseTasks>(),
            Op::ClockCase => of::<deadline::ops::ClockCase>(),
            Op::SupervisionList => of::<deadline::ops::SupervisionList>(),
            Op::MessageList => of::<notification::ops::MessageList>(),
            Op::EvaluationList => of::<evaluation::ops::List>(),
        }
    }

    fn label(self) -> String {
        let (service, op) = self.service_op();
        format!("{service} {op}")
    }

    /// How many times one dossier makes this call (each once: the case is read once and handed to the parts
    /// that need it; the schedule is the plan's).
    fn per_dossier(self) -> usize {
        1
    }
}

/// Service calls behind one dossier.
fn calls_per_dossier() -> usize {
    Op::ALL.iter().map(|o| o.per_dossier()).sum()
}

/// Latencies of each operation, ms, in [`Op::ALL`] order.
type OpTimes = [Vec<f64>; 7];

/// What the dossier reads, read directly.
struct Parts {
    case: CaseView,
    plan: PlanView,
    schedule: Schedule,
    tasks: Vec<TaskView>,
    clocks: Vec<ClockView>,
    supervision: SupervisionPage,
    messages: MessagePage,
    evaluations: EvaluationPage,
}

impl Parts {
    /// The dossier these parts make (complete: nothing missing).
    fn into_dossier(self) -> Dossier {
        Dossier {
            case: self.case,
            plan: Some(self.plan),
            schedule: Some(self.schedule),
            tasks: Some(self.tasks),
            clocks: Some(self.clocks),
            supervision: Some(self.supervision),
            messages: Some(self.messages),
            evaluations: Some(self.evaluations),
            missing: Vec::new(),
        }
    }
}

/// The service calls of the dossier, made straight over NATS with the queries the gateway makes for the case's
/// specialist.
#[derive(Clone)]
struct Direct {
    client: async_nats::Client,
    timeout: Duration,
    case_id: Uuid,
    /// The specialist's office (the scope of supervision notices and messages).
    office: String,
    /// The specialist (the scope of ratings).
    specialist: String,
}

impl Direct {
    async fn call<O: Operation>(&self, req: &O::Request) -> anyhow::Result<O::Response> {
        rpc::call::<O>(&self.client, req, self.timeout).await.map_err(|e| anyhow::anyhow!("{}: {e}", O::subject()))
    }

    async fn case(&self) -> anyhow::Result<CaseView> {
        self.call::<intake::ops::CaseGet>(&GetCase { id: self.case_id }).await
    }

    async fn plan(&self) -> anyhow::Result<PlanView> {
        self.call::<planning::ops::PlanGet>(&GetPlan { case_id: self.case_id }).await
    }

    async fn tasks(&self) -> anyhow::Result<Vec<TaskView>> {
        self.call::<routing::ops::CaseTasks>(&CaseTasks { case_id: self.case_id }).await
    }

    async fn clocks(&self) -> anyhow::Result<Vec<ClockView>> {
        self.call::<deadline::ops::ClockCase>(&deadline::CaseClocks { case_id: self.case_id }).await
    }

    async fn supervision(&self) -> anyhow::Result<SupervisionPage> {
        let req =
            ListSupervision { case_id: Some(self.case_id), office: Some(self.office.clone()), ..Default::default() };
        self.call::<deadline::ops::SupervisionList>(&req).await
    }

    async fn messages(&self) -> anyhow::Result<MessagePage> {
        let req = ListMessages {
            case_id: Some(self.case_id),
            office: Some(self.office.clone()),
            limit: Some(100),
            offset: Some(0),
            ..Default::default()
        };
        self.call::<notification::ops::MessageList>(&req).await
    }

    async fn evaluations(&self) -> anyhow::Result<EvaluationPage> {
        let req = ListEvaluations {
            case_id: Some(self.case_id),
            specialist: Some(self.specialist.clone()),
            limit: Some(100),
            offset: Some(0),
            ..Default::default()
        };
        self.call::<evaluation::ops::List>(&req).await
    }

    /// The dossier's shape: the case (authorisation), then the six parts at once; the plan part's schedule is
    /// the plan's own.
    async fn parallel(&self) -> anyhow::Result<Parts> {
        let case = self.case().await?;
        let (plan, tasks, clocks, supervision, messages, evaluations) = tokio::join!(
            self.plan(),
            self.tasks(),
            self.clocks(),
            self.supervision(),
            self.messages(),
            self.evaluations(),
        );
        let plan = plan?;
        Ok(Parts {
            case,
            schedule: plan.schedule.clone(),
            plan,
            tasks: tasks?,
            clocks: clocks?,
            supervision: supervision?,
            messages: messages?,
            evaluations: evaluations?,
        })
    }

    /// The same 7 calls one after another, each timed into `times`.
    async fn sequential(&self, times: &mut OpTimes) -> anyhow::Result<Parts> {
        let case = timed(times, Op::CaseGet, self.case()).await?;
        let plan = timed(times, Op::PlanGet, self.plan()).await?;
        let schedule = plan.schedule.clone();
        let tasks = timed(times, Op::CaseTasks, self.tasks()).await?;
        let clocks = timed(times, Op::ClockCase, self.clocks()).await?;
        let supervision = timed(times, Op::SupervisionList, self.supervision()).await?;
        let messages = timed(times, Op::MessageList, self.messages()).await?;
        let evaluations = timed(times, Op::EvaluationList, self.evaluations()).await?;
        Ok(Parts { case, plan, schedule, tasks, clocks, supervision, messages, evaluations })
    }
}

async fn timed<T>(times: &mut OpTimes, op: Op, fut: impl Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    let started = Instant::now();
    let r = fut.await;
    if let Some(i) = Op::ALL.iter().position(|o| *o == op) {
        times[i].push(ms(started.elapsed()));
    }
    r
}

/// Everything a read needs.
#[derive(Clone)]
struct Target {
    http: reqwest::Client,
    /// `http://<gateway>/api/v1/cases/<id>/dossier`.
    url: String,
    token: String,
    direct: Direct,
}

impl Target {
    /// One read by `path`: the bytes of the dossier for the gateway, 0 for the direct paths.
    async fn read(&self, path: Path, times: &mut OpTimes) -> anyhow::Result<usize> {
        match path {
            Path::Gateway => {
                let res = self.http.get(&self.url).bearer_auth(&self.token).send().await?;
                let status = res.status();
                let body = res.bytes().await?;
                if status != reqwest::StatusCode::OK {
                    bail!("gateway answered {status}: {}", String::from_utf8_lossy(&body));
                }
                Ok(body.len())
            }
            Path::Parallel => self.direct.parallel().await.map(|_| 0),
            Path::Sequential => self.direct.sequential(times).await.map(|_| 0),
        }
    }

    /// The dossier through the gateway, decoded.
    async fn dossier(&self) -> anyhow::Result<Dossier> {
        let res = self.http.get(&self.url).bearer_auth(&self.token).send().await?;
        let status = res.status();
        if status != reqwest::StatusCode::OK {
            bail!("GET dossier: {status}: {}", res.text().await.unwrap_or_default());
        }
        Ok(res.json().await?)
    }
}

// ---------------------------------------------------------------------------------------------
// Measuring

/// One path at one concurrency, once.
struct Sample {
    path: Path,
    concurrency: usize,
    wall: Duration,
    /// Per read, ms.
    latencies: Vec<f64>,
    ops: OpTimes,
    errors: usize,
    first_error: Option<String>,
    cpu: CpuSample,
}

impl Sample {
    fn per_second(&self) -> f64 {
        self.latencies.len() as f64 / self.wall.as_secs_f64()
    }
}

/// `reads` reads by `path` from `concurrency` clients.
async fn measure(target: &Target, path: Path, concurrency: usize, reads: usize, nats_store: &str) -> Sample {
    let next = Arc::new(AtomicUsize::new(0));
    let before = CpuSample::take(nats_store);
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (target, next) = (target.clone(), next.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut ops: OpTimes = Default::default();
                let mut errors = Vec::new();
                while next.fetch_add(1, Ordering::Relaxed) < reads {
                    let t = Instant::now();
                    match target.read(path, &mut ops).await {
                        Ok(_) => latencies.push(ms(t.elapsed())),
                        Err(e) => errors.push(format!("{e:#}")),
                    }
                }
                (latencies, ops, errors)
            })
        })
        .collect();
    let mut sample = Sample {
        path,
        concurrency,
        wall: Duration::ZERO,
        latencies: Vec::with_capacity(reads),
        ops: Default::default(),
        errors: 0,
        first_error: None,
        cpu: CpuSample::default(),
    };
    for w in workers {
        match w.await {
            Ok((latencies, ops, errors)) => {
                sample.latencies.extend(latencies);
                for (all, mine) in sample.ops.iter_mut().zip(ops) {
                    all.extend(mine);
                }
                sample.errors += errors.len();
                if sample.first_error.is_none() {
                    sample.first_error = errors.into_iter().next();
                }
            }
            Err(e) => {
                sample.errors += 1;
                sample.first_error.get_or_insert_with(|| format!("worker: {e}"));
            }
        }
    }
    sample.wall = started.elapsed();
    sample.cpu = CpuSample::take(nats_store).since(&before);
    sample
}

// ---------------------------------------------------------------------------------------------
// The platform and the case

struct Platform {
    server: NatsServer,
    shutdown: Shutdown,
    target: Target,
    env: Environment,
    case: CaseFacts,
    _database: TestDatabase,
}

/// What the case looks like when the reads start.
struct CaseFacts {
    ledger_no: String,
    generated: usize,
    added: usize,
    removed: usize,
    tasks: usize,
    dispatched: usize,
    clocks: usize,
    messages: u64,
    supervision: u64,
    evaluations: u64,
    /// The dossier's JSON, bytes.
    bytes: usize,
}

async fn connect(settings: &Settings, name: &str) -> anyhow::Result<async_nats::Client> {
    bus::connect(&settings.nats, name).await.map_err(|e| anyhow::anyhow!("connecting {name} to NATS: {e}"))
}

async fn start_platform(config: &Config) -> anyhow::Result<Platform> {
    bangban_platform::runtime::install_crypto_provider();
    let server = NatsServer::start().await.context("starting nats-server (is it on PATH?)")?;
    let database = TestDatabase::new("dossier").await?;
    let mut settings = Settings::default();
    settings.nats.url = server.url();
    settings.http.listen = "127.0.0.1:0".parse()?;
    database.apply_to(&mut settings);
    // The acceptance SMS goes at once, whatever the hour of the run.
    let notification =
        NotificationSettings { quiet_hours: "none".into(), ..settings.section(NotificationService::NAME)? };
    settings.set_section(NotificationService::NAME, notification);
    let shutdown = Shutdown::new();

    bus::ensure_streams(&jetstream::new(connect(&settings, "bench-streams").await?), settings.nats.stream_replicas)
        .await?;
    let intake = start::<IntakeService>(&settings, connect(&settings, "intake").await?, &shutdown).await?;
    bangban_intake::seed::seed(&intake.db).await?;
    let planning = start::<PlanningService>(&settings, connect(&settings, "planning").await?, &shutdown).await?;
    let routing = start::<RoutingService>(&settings, connect(&settings, "routing").await?, &shutdown).await?;
    bangban_routing::seed::seed(&routing.db).await?;
    let deadline = start::<DeadlineService>(&settings, connect(&settings, "deadline").await?, &shutdown).await?;
    let notification =
        start::<NotificationService>(&settings, connect(&settings, "notification").await?, &shutdown).await?;
    let evaluation = start::<EvaluationService>(&settings, connect(&settings, "evaluation").await?, &shutdown).await?;
    let gateway_client = connect(&settings, "gateway").await?;
    let readiness = Readiness {
        nats: gateway_client.clone(),
        databases: vec![
            ("intake", intake.db.clone()),
            ("planning", planning.db.clone()),
            ("routing", routing.db.clone()),
            ("deadline", deadline.db.clone()),
            ("notification", notification.db.clone()),
            ("evaluation", evaluation.db.clone()),
        ],
    };
    let addr = bangban_gateway::start(&settings, gateway_client, readiness, &shutdown).await?;
    let auth = Authenticator::from_settings(&settings)?;
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?;
    let api = Api { http: http.clone(), base: format!("http://{addr}") };
    let env = Environment::probe(&server.client().await?, &intake.db).await;

    let clerk = auth.issue("bench-clerk", Role::Assistant, OFFICE, None, None, TOKEN_TTL)?;
    let case: CaseView = api.post(&clerk, "/api/v1/cases", &sample_case()).await?;
    let token = auth.issue(case.specialist_id.clone(), Role::Assistant, case.office.clone(), None, None, TOKEN_TTL)?;
    eprintln!("dossier bench: case {} accepted, specialist {}", case.ledger_no, case.specialist_id);
    let (generated, added, removed) = build_plan(&api, &token, case.id, config.tasks).await?;
    eprintln!(
        "dossier bench: plan of {} items ({generated} generated, {added} added, {removed} removed) published",
        config.tasks
    );

    let target = Target {
        http,
        url: api.url(&format!("/api/v1/cases/{}/dossier", case.id)),
        token,
        direct: Direct {
            client: connect(&settings, "bench-direct").await?,
            timeout: settings.nats.request_timeout,
            case_id: case.id,
            office: case.office.clone(),
            specialist: case.specialist_id.clone(),
        },
    };
    let dossier = settled_dossier(&target, config.tasks).await?;
    let tasks = dossier.tasks.as_deref().unwrap_or_default();
    let bytes = serde_json::to_vec(&dossier)?.len();
    let facts = CaseFacts {
        ledger_no: case.ledger_no.clone(),
        generated,
        added,
        removed,
        tasks: tasks.len(),
        dispatched: tasks.iter().filter(|t| t.status != TaskStatus::Pending).count(),
        clocks: dossier.clocks.as_ref().map_or(0, Vec::len),
        messages: dossier.messages.as_ref().map_or(0, |m| m.total),
        supervision: dossier.supervision.as_ref().map_or(0, |s| s.total),
        evaluations: dossier.evaluations.as_ref().map_or(0, |e| e.total),
        bytes,
    };
    Ok(Platform { server, shutdown, target, env, case: facts, _database: database })
}

/// A valid new case of the county office: an industrial project, an organisation with a mobile number.
fn sample_case() -> Value {
    json!({
        "service_type": "assist",
        "office": OFFICE,
        "applicant": {
            "kind": "legal_person", "name": "滨州市某某新材料有限公司",
            "credit_code": "91440300708461136T", "phone": "13812341234", "contact_person": "王经理"
        },
        "project": {"name": "年产5万吨新材料项目", "category": "industrial", "office": OFFICE}
    })
}

/// The gateway's API for the setup.
struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn decode<T: DeserializeOwned>(what: &str, res: reqwest::Response) -> anyhow::Result<T> {
        let status = res.status();
        if !status.is_success() {
            bail!("{what}: {status}: {}", res.text().await.unwrap_or_default());
        }
        res.json().await.with_context(|| format!("{what}: the answer"))
    }

    async fn get<T: DeserializeOwned>(&self, token: &str, path: &str) -> anyhow::Result<T> {
        let res = self.http.get(self.url(path)).bearer_auth(token).send().await?;
        Self::decode(&format!("GET {path}"), res).await
    }

    async fn post<T: DeserializeOwned>(&self, token: &str, path: &str, body: &Value) -> anyhow::Result<T> {
        let res = self.http.post(self.url(path)).bearer_auth(token).json(body).send().await?;
        Self::decode(&format!("POST {path}"), res).await
    }
}

/// Polls `check` every 50 ms until it gives a value, for at most [`REACT`].
async fn wait_for<T, F, Fut>(what: &str, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Option<T>>>,
{
    let deadline = Instant::now() + REACT;
    loop {
        let last = match check().await {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => String::new(),
            Err(e) => format!(" (last: {e:#})"),
        };
        if Instant::now() > deadline {
            bail!("{what}: not after {} s{last}", REACT.as_secs());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Brings planning's draft to `items` items as a specialist would, and publishes it: (generated, added,
/// removed).
async fn build_plan(api: &Api, token: &str, case_id: Uuid, items: usize) -> anyhow::Result<(usize, usize, usize)> {
    let plan_path = format!("/api/v1/cases/{case_id}/plan");
    let mut plan: PlanView = wait_for("the draft plan", || async {
        let res = api.http.get(api.url(&plan_path)).bearer_auth(token).send().await?;
        Ok(if res.status().is_success() { Some(res.json().await?) } else { None })
    })
    .await?;
    let generated = plan.items.len();
    let mut removed = 0;
    while plan.items.len() > items {
        let code = plan.items.last().map(|i| i.code.clone()).unwrap_or_default();
        plan = api
            .post(token, &format!("{plan_path}/items/{code}/remove"), &json!({"reason": "基准测试：调整事项数"}))
            .await?;
        removed += 1;
    }
    let catalog: CatalogView = api.get(token, "/api/v1/catalog").await?;
    let present: HashSet<String> = plan.items.iter().map(|i| i.code.clone()).collect();
    let mut candidates: Vec<_> = catalog.items.iter().filter(|i| !present.contains(&i.code)).collect();
    // What a specialist adds is on demand (按需办理); the rest of the catalog after it.
    candidates.sort_by_key(|i| !i.applies.on_demand);
    let mut added = 0;
    for item in candidates {
        if plan.items.len() >= items {
            break;
        }
        plan = api
            .post(token, &format!("{plan_path}/items"), &json!({"code": item.code, "reason": "基准测试：按需增加事项"}))
            .await?;
        added += 1;
    }
    if plan.items.len() != items {
        let n = plan.items.len();
        bail!(
            "the plan reaches {n} items with every catalog item added: BENCH_TASKS {items} is too many (at most {n})"
        );
    }
    let _: PlanView = api.post(token, &format!("{plan_path}/publish"), &json!({"note": "方案已确认"})).await?;
    Ok((generated, added, removed))
}

/// The dossier once routing, deadline and notification are done with the case: `tasks` tasks, a clock for every
/// dispatched one, the acceptance SMS sent, nothing missing.
async fn settled_dossier(target: &Target, tasks: usize) -> anyhow::Result<Dossier> {
    wait_for("the dossier with every task, clock and SMS", || async {
        let d = target.dossier().await?;
        let t = d.tasks.as_deref().unwrap_or_default();
        let dispatched = t.iter().filter(|t| t.status != TaskStatus::Pending).count();
        let sent = d.messages.as_ref().is_some_and(|m| {
            m.total >= 1 && m.items.iter().all(|m| matches!(m.state, MessageState::Sent | MessageState::Delivered))
        });
        let done = t.len() == tasks
            && d.clocks.as_ref().is_some_and(|c| c.len() == dispatched)
            && sent
            && d.missing.is_empty();
        Ok(done.then_some(d))
    })
    .await
}

/// The parts where the gateway's dossier and the direct calls' differ (empty when they agree).
async fn compare(target: &Target) -> anyhow::Result<Vec<String>> {
    let gateway = serde_json::to_value(target.dossier().await?)?;
    let mut times: OpTimes = Default::default();
    let mut differ = Vec::new();
    for (name, parts) in
        [("parallel", target.direct.parallel().await?), ("sequential", target.direct.sequential(&mut times).await?)]
    {
        let direct = serde_json::to_value(parts.into_dossier())?;
        for (key, value) in gateway.as_object().into_iter().flatten() {
            if direct.get(key) != Some(value) {
                differ.push(format!("{key} (direct, {name})"));
            }
        }
    }
    Ok(differ)
}

// ---------------------------------------------------------------------------------------------
// The run

struct Report {
    env: Environment,
    case: CaseFacts,
    setup_secs: f64,
    /// CPU seconds per second the platform used idle (this process, nats-server, postgres).
    idle_cpu_per_sec: f64,
    samples: Vec<Sample>,
    failures: Vec<String>,
}

async fn run(config: &Config) -> anyhow::Result<Report> {
    let setup = Instant::now();
    let platform = start_platform(config).await?;
    let setup_secs = setup.elapsed().as_secs_f64();
    let target = &platform.target;
    let store = platform.server.store_dir().to_string_lossy().into_owned();
    let mut failures = Vec::new();
    let case = &platform.case;
    if case.tasks != config.tasks {
        failures.push(format!("the case has {} tasks, not {}", case.tasks, config.tasks));
    }
    for d in compare(target).await? {
        failures.push(format!("before the reads, the dossier and the direct calls differ in {d}"));
    }

    // What the platform uses doing nothing (relays, the alarm engine, the senders' polls), per second: taken
    // off the CPU per read, which would otherwise grow with the time a read takes.
    let before = CpuSample::take(&store);
    let idle_started = Instant::now();
    tokio::time::sleep(IDLE).await;
    let idle_cpu_per_sec = CpuSample::take(&store).since(&before).all() / idle_started.elapsed().as_secs_f64();

    let most = config.concurrency.iter().copied().max().unwrap_or(1);
    for path in Path::ALL {
        let s = measure(target, path, most, config.warmup, &store).await;
        if let Some(e) = s.first_error {
            failures.push(format!("warm-up, {}: {} failed reads, e.g. {e}", path.describe(), s.errors));
        }
    }
    let mut samples = Vec::new();
    for round in 1..=config.repeat {
        for &concurrency in &config.concurrency {
            for path in Path::ALL {
                let s = measure(target, path, concurrency, config.reads, &store).await;
                eprintln!(
                    "dossier bench: run {round}/{}, {} ×{concurrency}: {:.0} reads/s, p50 {:.2} ms",
                    config.repeat,
                    path.describe(),
                    s.per_second(),
                    Series::new(s.latencies.clone()).pct(50.0)
                );
                if let Some(e) = &s.first_error {
                    failures.push(format!("{} ×{concurrency}: {} failed reads, e.g. {e}", path.describe(), s.errors));
                }
                samples.push(s);
            }
        }
    }
    for d in compare(target).await? {
        failures.push(format!("after the reads, the dossier and the direct calls differ in {d}"));
    }
    platform.shutdown.trigger();
    let _ = platform.shutdown.shutdown(Duration::from_secs(5)).await;
    Ok(Report { env: platform.env, case: platform.case, setup_secs, idle_cpu_per_sec, samples, failures })
}

// ---------------------------------------------------------------------------------------------
// CPU accounting (Linux /proc; zeros elsewhere)

/// Clock ticks per second of `/proc` figures (USER_HZ, 100 on every Linux this runs on).
const USER_HZ: f64 = 100.0;

/// CPU seconds used so far by this process (services, gateway, clients, SQLite), by the run's nats-server, by
/// every PostgreSQL process of the machine, and by the machine.
#[derive(Debug, Clone, Copy, Default)]
struct CpuSample {
    bench: f64,
    nats: f64,
    postgres: f64,
    /// Busy (not idle, not iowait) and all CPU seconds of the machine.
    busy: f64,
    total: f64,
}

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

    fn all(&self) -> f64 {
        self.bench + self.nats + self.postgres
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

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
}

// ---------------------------------------------------------------------------------------------
// Report

struct Environment {
    cpus: usize,
    cpu_model: String,
    nats_version: String,
    backend: String,
}

impl Environment {
    async fn probe(client: &async_nats::Client, db: &sea_orm::DatabaseConnection) -> Self {
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
            format!("PostgreSQL {version}, a fresh schema per service")
        } else {
            "SQLite (WAL), a fresh file per service".to_string()
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
        }
    }

    fn is_postgres(&self) -> bool {
        self.backend.starts_with("PostgreSQL")
    }
}

/// The figures of one path at one concurrency, over every run.
struct Row {
    rates: Vec<f64>,
    latency: Series,
    cpu: CpuSample,
    /// Seconds of the samples, together.
    wall: f64,
    reads: usize,
    idle_cpu_per_sec: f64,
}

impl Row {
    fn rate(&self) -> f64 {
        median(self.rates.clone())
    }

    /// CPU ms per read (this process, nats-server, postgres), less the idle use over the same time.
    fn cpu_ms(&self) -> f64 {
        1e3 * (self.cpu.all() - self.idle_cpu_per_sec * self.wall).max(0.0) / self.reads.max(1) as f64
    }
}

impl Report {
    fn row(&self, path: Path, concurrency: usize) -> Row {
        let mine: Vec<&Sample> =
            self.samples.iter().filter(|s| s.path == path && s.concurrency == concurrency).collect();
        let mut cpu = CpuSample::default();
        for s in &mine {
            cpu.add(&s.cpu);
        }
        Row {
            rates: mine.iter().map(|s| s.per_second()).collect(),
            latency: Series::new(mine.iter().flat_map(|s| s.latencies.iter().copied()).collect()),
            cpu,
            wall: mine.iter().map(|s| s.wall.as_secs_f64()).sum(),
            reads: mine.iter().map(|s| s.latencies.len()).sum(),
            idle_cpu_per_sec: self.idle_cpu_per_sec,
        }
    }

    fn print(&self, config: &Config) {
        let e = &self.env;
        let c = &self.case;
        println!();
        println!("Bangban case dossier benchmark: GET /api/v1/cases/{{id}}/dossier next to the service calls it makes");
        println!("  machine    {} CPUs ({})", e.cpus, e.cpu_model);
        println!(
            "  broker     nats-server {} (local); the gateway, the direct caller and every service on a connection \
             of their own",
            e.nats_version
        );
        println!(
            "  database   {}; intake, planning, routing, deadline, notification (log provider), evaluation and the \
             gateway in this process",
            e.backend
        );
        println!(
            "  case       {} (county {OFFICE}, industrial): plan of {} items ({} generated, {} added from the catalog, \
             {} removed), published; {} tasks ({} dispatched, the rest waiting for predecessors), {} clocks, {} SMS, \
             {} supervision notices, {} ratings",
            c.ledger_no,
            config.tasks,
            c.generated,
            c.added,
            c.removed,
            c.tasks,
            c.dispatched,
            c.clocks,
            c.messages,
            c.supervision,
            c.evaluations
        );
        println!(
            "  dossier    {} bytes of JSON from {} service calls: {}; at most 3 one after another",
            c.bytes,
            calls_per_dossier(),
            Op::ALL
                .iter()
                .map(|o| if o.per_dossier() > 1 { format!("{} ×{}", o.label(), o.per_dossier()) } else { o.label() })
                .collect::<Vec<_>>()
                .join(", ")
        );
        println!(
            "  reads      {} per path and concurrency, after {} warm-up reads per path; runs: {} (paths interleaved); \
             reads/s: median of the runs [min-max]; latencies: every read",
            config.reads, config.warmup, config.repeat
        );
        println!();
        println!(
            "  {:<34} {:>4} {:>19} {:>8} {:>8} {:>8} {:>8} {:>11}",
            "path", "conc", "reads/s [min-max]", "p50 ms", "p90 ms", "p99 ms", "max ms", "CPU ms/read"
        );
        for &concurrency in &config.concurrency {
            for path in Path::ALL {
                let r = self.row(path, concurrency);
                let lo = r.rates.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = r.rates.iter().copied().fold(0.0, f64::max);
                println!(
                    "  {:<34} {:>4} {:>19} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>11.2}",
                    path.describe(),
                    concurrency,
                    format!("{:.0} [{lo:.0}-{hi:.0}]", r.rate()),
                    r.latency.pct(50.0),
                    r.latency.pct(90.0),
                    r.latency.pct(99.0),
                    r.latency.max(),
                    r.cpu_ms()
                );
            }
        }
        let mut all = CpuSample::default();
        for s in &self.samples {
            all.add(&s.cpu);
        }
        println!(
            "  CPU ms/read: this process (services, gateway, clients{}) + nats-server{}, less their idle use ({:.0} ms \
             per second); all CPUs {:.0}% busy during the reads; setup (services, case, plan, tasks) {:.1} s",
            if e.is_postgres() { "" } else { ", SQLite" },
            if e.is_postgres() { " + every postgres process" } else { "" },
            1e3 * self.idle_cpu_per_sec,
            if all.total > 0.0 { 100.0 * all.busy / all.total } else { f64::NAN },
            self.setup_secs
        );
        println!();

        println!(
            "Gateway overhead: the gateway's figure over the direct calls' (latency ×: above 1 is slower; reads/s ×:"
        );
        println!("below 1 is fewer; CPU ×: CPU per read)");
        println!(
            "  {:>4}  {:>22} {:>22} {:>22}   {:>22} {:>22} {:>22}",
            "conc", "p50 × parallel", "p99 × parallel", "reads/s × parallel", "p50 × sum", "reads/s × sum", "CPU × sum"
        );
        for &concurrency in &config.concurrency {
            let g = self.row(Path::Gateway, concurrency);
            let p = self.row(Path::Parallel, concurrency);
            let s = self.row(Path::Sequential, concurrency);
            let ratio = |a: f64, b: f64| if b > 0.0 { format!("{:.2}", a / b) } else { "-".into() };
            println!(
                "  {:>4}  {:>22} {:>22} {:>22}   {:>22} {:>22} {:>22}",
                concurrency,
                ratio(g.latency.pct(50.0), p.latency.pct(50.0)),
                ratio(g.latency.pct(99.0), p.latency.pct(99.0)),
                ratio(g.rate(), p.rate()),
                ratio(g.latency.pct(50.0), s.latency.pct(50.0)),
                ratio(g.rate(), s.rate()),
                ratio(g.cpu_ms(), s.cpu_ms()),
            );
            println!(
                "        gateway p50 − direct parallel p50 = {:+.2} ms; − sum of the direct calls p50 = {:+.2} ms; \
                 CPU per read {:+.2} ms over the direct calls",
                g.latency.pct(50.0) - p.latency.pct(50.0),
                g.latency.pct(50.0) - s.latency.pct(50.0),
                g.cpu_ms() - s.cpu_ms()
            );
        }
        println!();

        let least = config.concurrency.iter().copied().min().unwrap_or(1);
        println!("The direct calls one by one (the sequential path at concurrency {least}, every run), ms:");
        println!(
            "  {:<34} {:>11} {:>8} {:>8} {:>8} {:>12}",
            "operation", "per dossier", "p50", "p90", "p99", "p50 × calls"
        );
        let mut sum = 0.0;
        for (i, op) in Op::ALL.iter().enumerate() {
            let times = Series::new(
                self.samples
                    .iter()
                    .filter(|s| s.path == Path::Sequential && s.concurrency == least)
                    .flat_map(|s| s.ops[i].iter().copied())
                    .collect(),
            );
            let weighted = times.pct(50.0) * op.per_dossier() as f64;
            sum += weighted;
            println!(
                "  {:<34} {:>11} {:>8.3} {:>8.3} {:>8.3} {:>12.3}",
                op.label(),
                op.per_dossier(),
                times.pct(50.0),
                times.pct(90.0),
                times.pct(99.0),
                weighted
            );
        }
        println!(
            "  {:<34} {:>11} {:>8} {:>8} {:>8} {:>12.3}  (the sequential read's p50: {:.3})",
            "sum",
            calls_per_dossier(),
            "",
            "",
            "",
            sum,
            self.row(Path::Sequential, least).latency.pct(50.0)
        );
        println!();
        if self.failures.is_empty() {
            println!(
                "Correctness: ok (the case has {} tasks; the dossier complete and, before and after the reads, part by \
                 part what the direct calls read; every read answered)",
                self.case.tasks
            );
        } else {
            println!("Correctness: FAILED ({} checks, see stderr)", self.failures.len());
        }
        println!(
            "Reproduce: bash deploy/dev/with-nats-server.sh cargo bench -p bangban-e2e --bench dossier{}",
            if e.is_postgres() { "  (with TEST_DATABASE_URL set)" } else { "" }
        );
    }
}
