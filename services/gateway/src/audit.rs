//! The audit log (审计日志): every write through the gateway — who, when, what, with what outcome.
//!
//! Records go to the JetStream stream `BANGBAN_AUDIT` (subjects `bb.audit.<office>.<role>`), created with
//! `deny_delete` and `deny_purge`: nobody, the gateway included, can remove a record through the API,
//! and the stream's `max_age` (`web.audit_retention_days`, at least 180) is the only way one leaves.
//! Bodies are never recorded (they may hold personal data), nor the one-time codes of evaluation links; a
//! path is kept to its first [`PATH_LIMIT`] bytes (`path_truncated` says when it was cut).
//!
//! **Bounded (有界).** The stream has a size limit (`web.audit_max_bytes`, reserved against the NATS
//! account) with discard `new`: a full log refuses new records instead of dropping old ones before their
//! time. Refused writes nobody vouches for — anonymous ones, and those refused by the session layer's CSRF
//! check — are sampled ([`Sampler`]): at most `web.audit_anonymous_refusals_per_minute` are recorded one
//! by one per minute (at most two per client address), and one summary record (汇总记录) a minute counts
//! the rest by status, client and route (`bangban_audit_suppressed_total` counts them too). A signed-in
//! person's refused writes are sampled the same way per person (`web.audit_actor_refusals_per_minute`),
//! and their writes are rate-limited (`web.writes_per_minute`). Successful writes and a person's failed
//! (5xx) ones are always recorded one by one. So no client can grow the log faster than a few records a
//! minute without a valid identity, nor a person faster than their write budget.
//!
//! **Not lost silently.** A write is recorded before its answer is sent (waiting at most 2 s). A record
//! that cannot be stored waits in a bounded in-memory queue (`web.audit_queue_capacity`,
//! `bangban_audit_pending`) and is retried until it is stored; one that finds the queue full is dropped and
//! counted (`bangban_audit_dropped_total`, an alert). When the stream is full (`bangban_audit_full`, an
//! alert) the gateway refuses every write with 503 `audit-full` before it reaches a service, until there
//! is room again: an unaudited change is worse than a refused one.
//!
//! `GET /api/v1/audit` lets supervisors read it: a county's supervisor their own office's records, the
//! city's any office's.

use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    sync::{
        Arc, Mutex, Once, Weak,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use async_nats::jetstream::{self, consumer::DeliverPolicy, stream};
use axum::{
    Json,
    extract::{ConnectInfo, MatchedPath, Request, State},
    http::{HeaderMap, Method, StatusCode, header, request::Parts},
    middleware::Next,
    response::{IntoResponse, Response},
};
use bangban_platform::problem::Problem;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, OnceCell};
use uuid::Uuid;

use crate::{
    AppState,
    auth::{Principal, Role},
    extract::ApiQuery,
    security::{Bucket, too_many_requests},
    session::SessionContext,
    settings::WebSettings,
};

/// The audit stream.
pub const STREAM: &str = "BANGBAN_AUDIT";
/// Subject prefix of audit records.
pub const SUBJECT_PREFIX: &str = "bb.audit";
/// The longest path an audit record (or a log line) keeps, in bytes.
pub const PATH_LIMIT: usize = 256;
/// Refusals of one client address recorded one by one per window, at most.
const PER_CLIENT: u32 = 2;
/// The sampling window.
const WINDOW: Duration = Duration::from_secs(60);
/// People whose refusals are counted one by one per window; beyond, they share the anonymous bound.
const MAX_PEOPLE: usize = 10_000;
/// Distinct clients and routes a summary counts.
const MAX_COUNTED: usize = 1_000;
/// Clients and routes a summary names.
const TOP: usize = 10;
/// How often the background writer looks at the queue, the window and (every [`USAGE_EVERY`]) the stream.
const TICK: Duration = Duration::from_secs(5);
const USAGE_EVERY: Duration = Duration::from_secs(60);
/// Room a full stream must have again before writes are let through.
const ROOM: i64 = 64 * 1024;

/// Who wrote (操作人).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditActor {
    pub sub: String,
    pub role: String,
    pub office: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

/// One audited write (审计记录), or a summary (汇总记录) of refusals not recorded one by one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditRecord {
    pub id: Uuid,
    /// When the answer was given (a summary: the end of its minute).
    pub at: DateTime<Utc>,
    /// Who, when the request carried a valid identity; absent for anonymous calls (provider hooks,
    /// ratings by one-time code).
    pub actor: Option<AuditActor>,
    /// `session` (browser), `bearer` (API client) or `anonymous`.
    pub via: String,
    /// The method (`*` in a summary).
    pub method: String,
    /// The route, e.g. `/api/v1/tasks/{id}/approve` (`*` in a summary).
    pub route: String,
    /// The path as requested, at most 256 bytes (the route where the path would carry a credential; `*`
    /// in a summary).
    pub path: String,
    /// The path was longer and is cut after its first 256 bytes (路径已截断).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub path_truncated: bool,
    /// The answer's status (a summary: the most frequent one).
    pub status: u16,
    /// `success` (2xx/3xx), `refused` (4xx) or `failed` (5xx).
    pub outcome: String,
    /// The client's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    /// The W3C trace id of the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    /// What a summary record stands for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<RefusalSummary>,
    /// Position in the log (set when read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
}

/// Refusals of one minute not recorded one by one (拒绝请求汇总): anonymous and CSRF-refused writes
/// together, or one person's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RefusalSummary {
    /// The minute summarised.
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// How many refusals this record stands for.
    pub count: u64,
    /// How many had each status.
    pub statuses: BTreeMap<String, u64>,
    /// The busiest client addresses (at most 10), busiest first.
    pub clients: Vec<Counted>,
    /// Distinct client addresses (counted up to 1000).
    pub distinct_clients: u64,
    /// The busiest routes (at most 10), busiest first.
    pub routes: Vec<Counted>,
}

/// A value and how often it was seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Counted {
    pub value: String,
    pub count: u64,
}

fn unavailable() -> Problem {
    Problem::unavailable("审计日志暂不可用，请稍后重试", "the audit log is unavailable; try again later")
}

fn audit_full() -> Problem {
    Problem::new(StatusCode::SERVICE_UNAVAILABLE, "audit-full", "审计日志已满", "Audit log full").with_detail(
        "审计日志已达容量上限，为保证每项修改都有记录，暂停受理修改；请联系运维人员扩容后重试",
        "the audit log has reached its size limit; to keep every change recorded no change is accepted until an operator makes room — try again later",
    )
}

/// `path` cut to at most [`PATH_LIMIT`] bytes (at a character boundary), and whether it was cut.
pub fn truncate_path(path: &str) -> (String, bool) {
    if path.len() <= PATH_LIMIT {
        return (path.to_string(), false);
    }
    let mut end = PATH_LIMIT;
    while !path.is_char_boundary(end) {
        end -= 1;
    }
    (path[..end].to_string(), true)
}

fn outcome_of(status: u16) -> &'static str {
    match status {
        0..400 => "success",
        400..500 => "refused",
        _ => "failed",
    }
}

// ---------------------------------------------------------------------------------------------
// Sampling of refusals
// ---------------------------------------------------------------------------------------------

/// How refused writes are sampled (拒绝请求抽样).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefusalLimits {
    /// Refusals nobody vouches for (anonymous, CSRF-refused) recorded one by one per window, all clients
    /// together.
    pub unverified_per_window: u32,
    /// One signed-in person's refusals recorded one by one per window.
    pub per_person_per_window: u32,
}

impl Default for RefusalLimits {
    fn default() -> Self {
        let web = WebSettings::default();
        Self {
            unverified_per_window: web.audit_anonymous_refusals_per_minute,
            per_person_per_window: web.audit_actor_refusals_per_minute,
        }
    }
}

/// Routes whose success without a token is vouched for by something other than a session: the token-less public
/// endpoints (a signed hook, a one-time evaluation code — [`Bucket::Public`]), and a development sign-in (which
/// starts the session; development mode only, and under the login rate limit).
fn vouched_for(route: &str) -> bool {
    Bucket::of(route) == Some(Bucket::Public) || route == "/auth/dev-login"
}

/// Whose record it is, for sampling.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Class {
    /// No identity proven: anonymous, or refused by the CSRF check before the route ran.
    Unverified,
    /// A signed-in person (`sub`).
    Person(String),
}

impl Class {
    fn of(record: &AuditRecord) -> Self {
        match &record.actor {
            Some(a) => Class::Person(a.sub.clone()),
            None => Class::Unverified,
        }
    }
}

/// Refusals of one window not recorded one by one, being counted.
#[derive(Debug, Default)]
struct Tally {
    actor: Option<AuditActor>,
    via: String,
    count: u64,
    statuses: BTreeMap<u16, u64>,
    clients: HashMap<String, u64>,
    routes: HashMap<String, u64>,
}

impl Tally {
    fn add(&mut self, r: &AuditRecord) {
        self.count += 1;
        *self.statuses.entry(r.status).or_default() += 1;
        let client = r.client.clone().unwrap_or_else(|| "-".into());
        if let Some(n) = self.clients.get_mut(&client) {
            *n += 1;
        } else if self.clients.len() < MAX_COUNTED {
            self.clients.insert(client, 1);
        }
        if let Some(n) = self.routes.get_mut(&r.route) {
            *n += 1;
        } else if self.routes.len() < MAX_COUNTED {
            self.routes.insert(r.route.clone(), 1);
        }
    }

    fn into_record(self, from: DateTime<Utc>, to: DateTime<Utc>) -> AuditRecord {
        fn top(map: HashMap<String, u64>) -> Vec<Counted> {
            let mut v: Vec<Counted> = map.into_iter().map(|(value, count)| Counted { value, count }).collect();
            v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
            v.truncate(TOP);
            v
        }
        let status = self.statuses.iter().max_by_key(|(s, n)| (**n, std::cmp::Reverse(**s))).map_or(400, |(s, _)| *s);
        AuditRecord {
            id: Uuid::now_v7(),
            at: to,
            actor: self.actor,
            via: self.via,
            method: "*".into(),
            route: "*".into(),
            path: "*".into(),
            path_truncated: false,
            status,
            outcome: outcome_of(status).into(),
            client: None,
            trace_id: None,
            summary: Some(RefusalSummary {
                from,
                to,
                count: self.count,
                statuses: self.statuses.iter().map(|(s, n)| (s.to_string(), *n)).collect(),
                distinct_clients: self.clients.len() as u64,
                clients: top(self.clients),
                routes: top(self.routes),
            }),
            seq: None,
        }
    }
}

/// Decides which refusals are recorded one by one, per window of a minute, and counts the rest into one
/// summary for the unverified and one per person. Its memory is bounded: at most
/// `unverified_per_window` client addresses, [`MAX_PEOPLE`] people and [`MAX_COUNTED`] clients and routes
/// per summary.
#[derive(Debug)]
pub struct Sampler {
    limits: RefusalLimits,
    window: Duration,
    started: Instant,
    from: DateTime<Utc>,
    unverified: u32,
    per_client: HashMap<String, u32>,
    per_person: HashMap<String, u32>,
    unverified_tally: Option<Tally>,
    person_tallies: BTreeMap<String, Tally>,
}

impl Sampler {
    /// A sampler with windows of `window` starting at `now`.
    pub fn new(limits: RefusalLimits, window: Duration, now: Instant) -> Self {
        Self {
            limits,
            window,
            started: now,
            from: Utc::now(),
            unverified: 0,
            per_client: HashMap::new(),
            per_person: HashMap::new(),
            unverified_tally: None,
            person_tallies: BTreeMap::new(),
        }
    }

    /// Whether `record` is to be stored one by one; if not, it is counted for the window's summary.
    fn admit(&mut self, record: &AuditRecord, class: Class) -> bool {
        if record.summary.is_some() {
            return true;
        }
        if record.status < 400 && (matches!(class, Class::Person(_)) || vouched_for(&record.route)) {
            // A signed-in person's effect, or one a signature or one-time code vouches for (a hook, a rating by
            // code): each is recorded. Anything else nobody vouches for — a console form's redirect to the login,
            // a logout without a session — is bounded like a refusal.
            return true;
        }
        let class = match class {
            // A person's failures (5xx) are not theirs to provoke at will: always recorded.
            Class::Person(_) if record.status >= 500 => return true,
            // Beyond the people this window can count, they share the unverified bound.
            Class::Person(sub) if self.per_person.len() >= MAX_PEOPLE && !self.per_person.contains_key(&sub) => {
                Class::Unverified
            }
            c => c,
        };
        match class {
            Class::Person(sub) => {
                let n = self.per_person.entry(sub.clone()).or_default();
                if *n < self.limits.per_person_per_window {
                    *n += 1;
                    return true;
                }
                metrics::counter!("bangban_audit_suppressed_total", "actor" => "signed_in").increment(1);
                let tally = self.person_tallies.entry(sub).or_insert_with(|| Tally {
                    actor: record.actor.clone(),
                    via: record.via.clone(),
                    ..Tally::default()
                });
                tally.add(record);
                false
            }
            Class::Unverified => {
                let client = record.client.clone().unwrap_or_else(|| "-".into());
                let n = self.per_client.get(&client).copied().unwrap_or(0);
                if self.unverified < self.limits.unverified_per_window && n < PER_CLIENT {
                    self.per_client.insert(client, n + 1);
                    self.unverified += 1;
                    return true;
                }
                metrics::counter!("bangban_audit_suppressed_total", "actor" => "anonymous").increment(1);
                self.unverified_tally
                    .get_or_insert_with(|| Tally { via: "anonymous".into(), ..Tally::default() })
                    .add(record);
                false
            }
        }
    }

    /// When the window has ended at `now`: its summary records, and a new window.
    pub fn roll(&mut self, now: Instant) -> Vec<AuditRecord> {
        if now.saturating_duration_since(self.started) < self.window {
            return Vec::new();
        }
        let to = Utc::now();
        let from = std::mem::replace(&mut self.from, to);
        self.started = now;
        self.unverified = 0;
        self.per_client.clear();
        self.per_person.clear();
        let mut out: Vec<AuditRecord> =
            self.unverified_tally.take().into_iter().map(|t| t.into_record(from, to)).collect();
        out.extend(std::mem::take(&mut self.person_tallies).into_values().map(|t| t.into_record(from, to)));
        out
    }
}

// ---------------------------------------------------------------------------------------------
// The log
// ---------------------------------------------------------------------------------------------

/// A record waiting to be stored.
struct Pending {
    subject: String,
    id: Uuid,
    payload: Bytes,
}

impl Pending {
    fn of(record: &AuditRecord) -> Option<Self> {
        let office = record.actor.as_ref().map_or("anonymous", |a| a.office.as_str());
        let role = record.actor.as_ref().map_or("anonymous", |a| a.role.as_str());
        let payload = serde_json::to_vec(record).ok()?;
        Some(Self { subject: format!("{SUBJECT_PREFIX}.{office}.{role}"), id: record.id, payload: payload.into() })
    }
}

/// Why a record was not stored.
struct NotStored {
    /// The stream (or the account) is out of room.
    full: bool,
    reason: String,
}

/// The connection, the stream's configuration and how to store one record.
#[derive(Clone)]
struct Store {
    client: async_nats::Client,
    js: jetstream::Context,
    stream: Arc<OnceCell<()>>,
    retention: Duration,
    replicas: usize,
    max_bytes: i64,
}

/// The state shared by every clone of an [`AuditLog`] and its background writer.
struct Shared {
    sampler: Mutex<Sampler>,
    queue: Mutex<VecDeque<Pending>>,
    capacity: std::sync::atomic::AtomicUsize,
    wake: Arc<Notify>,
    writer: Once,
    full: AtomicBool,
}

impl Shared {
    fn enqueue(&self, pending: Pending) {
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        let capacity = self.capacity.load(Ordering::Relaxed);
        if queue.len() >= capacity {
            metrics::counter!("bangban_audit_dropped_total").increment(1);
            tracing::error!(id = %pending.id, subject = %pending.subject, capacity,
                "audit record dropped: the queue of records waiting to be stored is full");
            return;
        }
        queue.push_back(pending);
        metrics::gauge!("bangban_audit_pending").set(queue.len() as f64);
    }

    fn set_full(&self, full: bool) {
        if self.full.swap(full, Ordering::SeqCst) != full {
            metrics::gauge!("bangban_audit_full").set(if full { 1.0 } else { 0.0 });
            if full {
                tracing::error!("the audit log is full: writes are refused until it has room again");
            } else {
                tracing::warn!("the audit log has room again: writes are accepted");
            }
        }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        let left = self.queue.get_mut().map(|q| q.len()).unwrap_or(0);
        if left > 0 {
            metrics::counter!("bangban_audit_dropped_total").increment(left as u64);
            tracing::error!(records = left, "audit records not stored before the gateway stopped");
        }
    }
}

/// The audit log over JetStream. Cheap to clone.
#[derive(Clone)]
pub struct AuditLog {
    store: Store,
    shared: Arc<Shared>,
}

impl AuditLog {
    /// An audit log keeping records `retention_days`, with the default size limit, sampling and queue
    /// ([`WebSettings`]'s defaults; [`AuditLog::with_settings`] takes the configured ones).
    pub fn new(client: async_nats::Client, retention_days: u32) -> Self {
        let web = WebSettings::default();
        Self {
            store: Store {
                js: jetstream::new(client.clone()),
                client,
                stream: Default::default(),
                retention: Duration::from_secs(u64::from(retention_days) * 86_400),
                replicas: 1,
                max_bytes: i64::try_from(web.audit_max_bytes).unwrap_or(i64::MAX),
            },
            shared: Arc::new(Shared {
                sampler: Mutex::new(Sampler::new(RefusalLimits::default(), WINDOW, Instant::now())),
                queue: Mutex::new(VecDeque::new()),
                capacity: web.audit_queue_capacity.into(),
                wake: Arc::new(Notify::new()),
                writer: Once::new(),
                full: AtomicBool::new(false),
            }),
        }
    }

    /// Creates the stream, when it is missing, with `replicas` replicas (`BANGBAN__NATS__STREAM_REPLICAS`).
    pub fn with_stream_replicas(mut self, replicas: usize) -> Self {
        self.store.replicas = replicas.max(1);
        self
    }

    /// The size limit, sampling and queue of `web` (`BANGBAN__WEB__AUDIT_…`).
    pub fn with_settings(self, web: &WebSettings) -> Self {
        let limits = RefusalLimits {
            unverified_per_window: web.audit_anonymous_refusals_per_minute,
            per_person_per_window: web.audit_actor_refusals_per_minute,
        };
        self.with_max_bytes(web.audit_max_bytes)
            .with_sampling(limits, WINDOW)
            .with_queue_capacity(web.audit_queue_capacity)
    }

    /// The stream's size limit in bytes (at least 1 KiB).
    pub fn with_max_bytes(mut self, max_bytes: u64) -> Self {
        self.store.max_bytes = i64::try_from(max_bytes.max(1024)).unwrap_or(i64::MAX);
        self
    }

    /// How refusals are sampled, in windows of `window`.
    pub fn with_sampling(self, limits: RefusalLimits, window: Duration) -> Self {
        *self.shared.sampler.lock().unwrap_or_else(|e| e.into_inner()) = Sampler::new(limits, window, Instant::now());
        self
    }

    /// Records kept while they cannot be stored.
    pub fn with_queue_capacity(self, capacity: usize) -> Self {
        self.shared.capacity.store(capacity, Ordering::Relaxed);
        self
    }

    /// Creates the stream when it does not exist (idempotent). An existing stream is never changed (an
    /// operator's retention wins; a difference from this configuration is logged as a warning), except that
    /// one without a size limit gets this one's ([`ensure_bounded_stream`]).
    pub async fn ensure(&self) -> Result<(), Problem> {
        self.store.ensure().await
    }

    /// Whether the stream was found full and has not had room since: writes are refused meanwhile.
    pub fn is_full(&self) -> bool {
        self.shared.full.load(Ordering::SeqCst)
    }

    /// Records waiting in memory to be stored.
    pub fn pending(&self) -> usize {
        self.shared.queue.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    fn start_writer(&self) {
        self.shared.writer.call_once(|| {
            tokio::spawn(writer(self.store.clone(), Arc::downgrade(&self.shared), self.shared.wake.clone()));
        });
    }

    /// Stores a record, or — a refusal beyond its sampling bound — counts it for the minute's summary. The
    /// caller waits at most 2 s, and not at all while the bus is unreachable; a record not stored then
    /// waits in the queue and is retried in the background.
    pub async fn record(&self, record: AuditRecord) {
        let class = Class::of(&record);
        self.admit(record, class).await;
    }

    async fn admit(&self, record: AuditRecord, class: Class) {
        self.start_writer();
        let (admitted, summaries) = {
            let mut sampler = self.shared.sampler.lock().unwrap_or_else(|e| e.into_inner());
            let summaries = sampler.roll(Instant::now());
            (sampler.admit(&record, class), summaries)
        };
        if !summaries.is_empty() {
            summaries.iter().filter_map(Pending::of).for_each(|p| self.shared.enqueue(p));
            self.shared.wake.notify_one();
        }
        if !admitted {
            return;
        }
        let Some(pending) = Pending::of(&record) else { return };
        if bangban_platform::bus::is_connected(&self.store.client) {
            match tokio::time::timeout(Duration::from_secs(2), self.store.publish(&pending)).await {
                Ok(Ok(())) => {
                    self.shared.set_full(false);
                    return;
                }
                Ok(Err(e)) => {
                    if e.full {
                        self.shared.set_full(true);
                    }
                    tracing::warn!(error = %e.reason, id = %record.id, "audit record not stored yet; queued");
                }
                Err(_) => tracing::warn!(id = %record.id, "audit record not acknowledged within 2 s; queued"),
            }
        }
        metrics::counter!("bangban_gateway_audit_failures_total").increment(1);
        self.shared.enqueue(pending);
        self.shared.wake.notify_one();
    }

    /// Records in `filter` from `deliver`, at most `limit`, scanning at most `scan` records.
    async fn read(
        &self,
        filter: String,
        deliver: DeliverPolicy,
        limit: usize,
        scan: usize,
        keep: impl Fn(&AuditRecord) -> bool,
    ) -> Result<(Vec<AuditRecord>, Option<u64>), Problem> {
        self.ensure().await?;
        let stream = self.store.js.get_stream(STREAM).await.map_err(|_| unavailable())?;
        let consumer = stream
            .create_consumer(jetstream::consumer::pull::OrderedConfig {
                filter_subject: filter,
                deliver_policy: deliver,
                ..Default::default()
            })
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "cannot read the audit log");
                unavailable()
            })?;
        let mut pending = consumer.cached_info().num_pending;
        let mut out = Vec::new();
        let mut last = None;
        if pending == 0 {
            return Ok((out, None));
        }
        let mut messages = consumer.messages().await.map_err(|_| unavailable())?;
        let mut scanned = 0;
        while pending > 0 && out.len() < limit && scanned < scan {
            let Ok(Some(Ok(msg))) = tokio::time::timeout(Duration::from_secs(3), messages.next()).await else {
                break;
            };
            scanned += 1;
            let Ok(info) = msg.info() else { break };
            pending = info.pending;
            last = Some(info.stream_sequence);
            if let Ok(mut record) = serde_json::from_slice::<AuditRecord>(&msg.payload) {
                record.seq = Some(info.stream_sequence);
                if keep(&record) {
                    out.push(record);
                }
            }
        }
        Ok((out, if pending > 0 { last } else { None }))
    }
}

impl Store {
    async fn ensure(&self) -> Result<(), Problem> {
        self.stream
            .get_or_try_init(|| async {
                let config = stream::Config {
                    name: STREAM.into(),
                    description: Some("Bangban audit log (审计日志): every write through the gateway".into()),
                    subjects: vec![format!("{SUBJECT_PREFIX}.>")],
                    max_age: self.retention,
                    max_bytes: self.max_bytes,
                    // Full: refuse new records (and the gateway refuses writes), never drop old ones early.
                    discard: stream::DiscardPolicy::New,
                    deny_delete: true,
                    deny_purge: true,
                    storage: stream::StorageType::File,
                    duplicate_window: Duration::from_secs(120),
                    num_replicas: self.replicas,
                    ..Default::default()
                };
                ensure_bounded_stream(&self.js, config).await.map(|_| ()).map_err(|e| {
                    tracing::error!(error = %e, "cannot create the audit stream");
                    unavailable()
                })
            })
            .await
            .copied()
    }

    async fn publish(&self, pending: &Pending) -> Result<(), NotStored> {
        let failed = |reason: String| NotStored { full: false, reason };
        self.ensure().await.map_err(|_| failed("no audit stream".into()))?;
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", pending.id.to_string().as_str());
        let ack = self
            .js
            .publish_with_headers(pending.subject.clone(), headers, pending.payload.clone())
            .await
            .map_err(|e| failed(e.to_string()))?;
        match tokio::time::timeout(Duration::from_secs(5), ack).await {
            Err(_) => Err(failed("no acknowledgement".into())),
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(NotStored { full: is_out_of_room(&e), reason: e.to_string() }),
        }
    }

    /// The stream's bytes and size limit.
    async fn usage(&self) -> Option<(i64, i64)> {
        let mut stream = self.js.get_stream(STREAM).await.ok()?;
        let info = stream.info().await.ok()?;
        Some((i64::try_from(info.state.bytes).unwrap_or(i64::MAX), info.config.max_bytes))
    }
}

/// Whether a publish failed for want of room: the stream's `max_bytes` with discard `new` (10077, "maximum
/// bytes exceeded"), or the account's or server's storage (10002 "resource limits exceeded for account",
/// 10023 "insufficient resources").
fn is_out_of_room(e: &jetstream::context::PublishError) -> bool {
    use std::error::Error as _;
    let code = e.source().and_then(|s| s.downcast_ref::<jetstream::Error>()).map(|j| j.error_code());
    matches!(code, Some(c) if c == jetstream::ErrorCode::STREAM_STORE_FAILED
        || c == jetstream::ErrorCode::INSUFFICIENT_RESOURCES
        || c.0 == 10002)
}

/// The background writer: emits the summaries of ended windows, stores what is queued (retrying with
/// back-off while it fails), keeps the usage gauges and, while the stream is full with nothing queued,
/// looks for room. Ends when the last [`AuditLog`] is dropped.
async fn writer(store: Store, shared: Weak<Shared>, wake: Arc<Notify>) {
    let mut backoff = Duration::from_secs(1);
    let mut usage_at: Option<Instant> = None;
    loop {
        let Some(s) = shared.upgrade() else { return };
        let summaries = s.sampler.lock().unwrap_or_else(|e| e.into_inner()).roll(Instant::now());
        summaries.iter().filter_map(Pending::of).for_each(|p| s.enqueue(p));
        let mut failed = false;
        loop {
            let next = s.queue.lock().unwrap_or_else(|e| e.into_inner()).pop_front();
            let Some(pending) = next else { break };
            match store.publish(&pending).await {
                Ok(()) => {
                    s.set_full(false);
                    backoff = Duration::from_secs(1);
                    let left = s.queue.lock().unwrap_or_else(|e| e.into_inner()).len();
                    metrics::gauge!("bangban_audit_pending").set(left as f64);
                }
                Err(e) => {
                    if e.full {
                        s.set_full(true);
                    }
                    tracing::warn!(error = %e.reason, id = %pending.id, "audit record not stored yet");
                    s.queue.lock().unwrap_or_else(|e| e.into_inner()).push_front(pending);
                    failed = true;
                    break;
                }
            }
        }
        let idle_and_full = s.full.load(Ordering::SeqCst) && !failed;
        if (idle_and_full || usage_at.is_none_or(|t| t.elapsed() >= USAGE_EVERY))
            && let Some((bytes, max)) = store.usage().await
        {
            usage_at = Some(Instant::now());
            metrics::gauge!("bangban_audit_stream_bytes").set(bytes as f64);
            metrics::gauge!("bangban_audit_stream_max_bytes").set(max as f64);
            if idle_and_full && (max <= 0 || bytes + ROOM <= max) {
                s.set_full(false);
            }
        }
        drop(s);
        if failed {
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(30));
        } else {
            let _ = tokio::time::timeout(TICK, wake.notified()).await;
        }
    }
}

/// Creates `wanted` when it is missing; an existing stream is left as it is
/// ([`bangban_platform::bus::ensure_stream`] warns about differences), except that one **without a size
/// limit** gets `wanted`'s `max_bytes` and `discard`: an unbounded stream lets anyone who can make the
/// gateway write fill the NATS account's store (the events' too). An operator's own limit is kept.
pub(crate) async fn ensure_bounded_stream(
    js: &jetstream::Context,
    wanted: stream::Config,
) -> Result<stream::Stream, bangban_platform::bus::BusError> {
    if wanted.max_bytes > 0
        && let Ok(existing) = js.get_stream(&wanted.name).await
    {
        let info = existing.cached_info().clone();
        let actual = info.config;
        if actual.max_bytes <= 0 {
            // Never below what the stream holds (with a quarter of the limit to spare): the server enforces a new
            // max_bytes at once, whatever the discard policy, and would delete the oldest records to fit.
            let held = i64::try_from(info.state.bytes).unwrap_or(i64::MAX);
            let max_bytes = wanted.max_bytes.max(held.saturating_add(wanted.max_bytes / 4));
            if max_bytes > wanted.max_bytes {
                tracing::warn!(
                    stream = %wanted.name,
                    held,
                    "the JetStream stream {} already holds {held} bytes, near or over its limit: the limit is raised to \
                     {max_bytes} bytes so nothing is deleted; give it room (and the account) or move old records out",
                    wanted.name
                );
            }
            let wanted = stream::Config { max_bytes, ..wanted.clone() };
            let limited = stream::Config { max_bytes: wanted.max_bytes, discard: wanted.discard, ..actual };
            match js.update_stream(limited).await {
                Ok(_) => tracing::warn!(
                    stream = %wanted.name,
                    max_bytes = wanted.max_bytes,
                    "the JetStream stream {} had no size limit; it now has max_bytes = {} (discard {:?})",
                    wanted.name,
                    wanted.max_bytes,
                    wanted.discard
                ),
                Err(e) => tracing::error!(
                    stream = %wanted.name,
                    error = %e,
                    "the JetStream stream {} has no size limit and could not be given one",
                    wanted.name
                ),
            }
        }
    }
    bangban_platform::bus::ensure_stream(js, wanted).await
}

// ---------------------------------------------------------------------------------------------
// The middleware
// ---------------------------------------------------------------------------------------------

fn actor_of(principal: &Principal) -> AuditActor {
    AuditActor {
        sub: principal.sub.clone(),
        role: principal.role.as_str().to_string(),
        office: principal.office.clone(),
        unit: principal.unit.clone(),
    }
}

/// The request's trace id: its span's, else the one it was sent with.
fn trace_id(headers: &HeaderMap) -> Option<String> {
    bangban_telemetry::current_trace_id().or_else(|| {
        let traceparent = headers.get("traceparent")?.to_str().ok()?;
        bangban_telemetry::propagation::trace_id_of_traceparent(traceparent).map(str::to_string)
    })
}

/// What a record says about the request itself.
struct Seen {
    method: String,
    route: String,
    path: String,
    path_truncated: bool,
    client: Option<String>,
    trace_id: Option<String>,
}

impl Seen {
    fn of(
        state: &AppState,
        method: &Method,
        uri: &axum::http::Uri,
        headers: &HeaderMap,
        ext: &axum::http::Extensions,
    ) -> Self {
        let (path, path_truncated) = truncate_path(uri.path());
        let route = ext.get::<MatchedPath>().map(|m| m.as_str().to_string()).unwrap_or_else(|| path.clone());
        let peer = ext.get::<ConnectInfo<std::net::SocketAddr>>().map(|c| c.0);
        Self {
            method: method.to_string(),
            // The path would carry a one-time code: the route stands for it.
            path: if route.contains("{code}") { route.clone() } else { path },
            path_truncated: path_truncated && !route.contains("{code}"),
            route,
            client: crate::security::client_ip(headers, peer, &state.trusted_proxies).map(|ip| ip.to_string()),
            trace_id: trace_id(headers),
        }
    }

    fn record(self, actor: Option<AuditActor>, via: &str, status: u16) -> AuditRecord {
        AuditRecord {
            id: Uuid::now_v7(),
            at: Utc::now(),
            via: if actor.is_none() { "anonymous".into() } else { via.into() },
            actor,
            method: self.method,
            route: self.route,
            path: self.path,
            path_truncated: self.path_truncated,
            status,
            outcome: outcome_of(status).into(),
            client: self.client,
            trace_id: self.trace_id,
            summary: None,
            seq: None,
        }
    }
}

/// Records every write (a route layer: it knows the matched route). Refuses every write while the log is
/// full, and a signed-in person's writes beyond `web.writes_per_minute`.
pub async fn audit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let seen = Seen::of(&state, req.method(), req.uri(), req.headers(), req.extensions());
    if state.audit.is_full() {
        metrics::counter!("bangban_audit_refused_writes_total").increment(1);
        return audit_full().with_instance(seen.path).into_response();
    }
    let via = if req.extensions().get::<SessionContext>().is_some() {
        "session"
    } else if req.headers().contains_key(header::AUTHORIZATION) {
        "bearer"
    } else {
        "anonymous"
    };
    let principal = match crate::auth::bearer_token(req.headers()) {
        Ok(Some(token)) => state.auth.verify(token).await.ok(),
        _ => None,
    };
    let limited = principal.as_ref().and_then(|p| {
        state.limiter.check_person(Bucket::Write, &p.sub, state.web.writes_per_minute, Instant::now()).err()
    });
    let res = match limited {
        Some(wait) => {
            metrics::counter!("bangban_gateway_rate_limited_total", "bucket" => "write").increment(1);
            too_many_requests(wait, &seen.path, "您的写", "from this person (writes)")
        }
        None => next.run(req).await,
    };
    let record = seen.record(principal.as_ref().map(actor_of), via, res.status().as_u16());
    state.audit.record(record).await;
    res
}

/// Records a write the session layer refused before any route ran (a failed CSRF check), counted with
/// the anonymous refusals: the request proved no intent of the person whose session cookie it carried.
pub(crate) async fn record_csrf_refusal(state: &AppState, parts: &Parts, session: &crate::session::SessionRecord) {
    let seen = Seen::of(state, &parts.method, &parts.uri, &parts.headers, &parts.extensions);
    let actor = AuditActor {
        sub: session.sub.clone(),
        role: session.role.as_str().to_string(),
        office: session.office.clone(),
        unit: session.unit.clone(),
    };
    let record = seen.record(Some(actor), "session", StatusCode::FORBIDDEN.as_u16());
    state.audit.admit(record, Class::Unverified).await;
}

/// Query of `GET /api/v1/audit`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// From this instant (RFC 3339); default: 7 days ago.
    pub from: Option<DateTime<Utc>>,
    /// Up to this instant (RFC 3339).
    pub to: Option<DateTime<Utc>>,
    /// Records after this position (`next_after` of the previous page).
    pub after: Option<u64>,
    /// Only this office's actors (city supervisors; a county's are always their own).
    pub office: Option<String>,
    /// Only this actor (`sub`).
    pub actor: Option<String>,
    /// `success`, `refused` or `failed`.
    pub outcome: Option<String>,
    /// Page size, 1–500 (default 100).
    pub limit: Option<usize>,
}

/// A page of the audit log.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    /// Oldest first.
    pub items: Vec<AuditRecord>,
    /// Pass as `after` for the next page; absent at the end.
    pub next_after: Option<u64>,
}

/// The audit log (审计日志), for supervisors.
#[utoipa::path(
    get, path = "/api/v1/audit", tag = "audit",
    params(AuditQuery),
    responses(
        (status = 200, description = "审计记录 / audit records", body = AuditPage,
         example = json!({"items": [{"id": "0193c0de-0000-7000-8000-000000000001", "at": "2026-03-02T09:15:00Z",
             "actor": {"sub": "staff-371600-assistant-1", "role": "assistant", "office": "371600"}, "via": "session",
             "method": "POST", "route": "/api/v1/cases", "path": "/api/v1/cases", "status": 201, "outcome": "success",
             "client": "10.1.2.3", "seq": 42}], "next_after": null})),
        (status = 400, description = "参数错误 / bad query", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "仅督查人员可查阅 / supervisors only", body = Problem),
        (status = 503, description = "暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn list_audit(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<AuditPage>, Problem> {
    principal.require_role(&[Role::Supervisor])?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(Problem::invalid_field("limit", "须在 1 到 500 之间", "must be between 1 and 500"));
    }
    if let Some(o) = &q.outcome
        && !["success", "refused", "failed"].contains(&o.as_str())
    {
        return Err(Problem::invalid_field(
            "outcome",
            "可选值：success、refused、failed",
            "expected success, refused or failed",
        ));
    }
    let city = principal.office == bangban_contracts::office::CITY_OFFICE;
    let office = match (&q.office, city) {
        (Some(o), _) if !bangban_contracts::office::is_known_office(o) && o != "anonymous" => {
            return Err(Problem::invalid_field(
                "office",
                format!("未知的机构代码 {o:?}"),
                format!("unknown office code {o:?}"),
            ));
        }
        (Some(o), false) if *o != principal.office => {
            return Err(Problem::forbidden(
                "只能查阅本机构的审计记录",
                "a county's supervisors read their own office's records only",
            ));
        }
        (Some(o), _) => Some(o.clone()),
        (None, true) => None,
        (None, false) => Some(principal.office.clone()),
    };
    let filter = match &office {
        Some(o) => format!("{SUBJECT_PREFIX}.{o}.>"),
        None => format!("{SUBJECT_PREFIX}.>"),
    };
    let deliver = match (q.after, q.from) {
        (Some(after), _) => DeliverPolicy::ByStartSequence { start_sequence: after.saturating_add(1) },
        (None, from) => {
            let from = from.unwrap_or_else(|| Utc::now() - chrono::Duration::days(7));
            let start_time = async_nats::datetime::parse_rfc3339(&from.to_rfc3339())
                .map_err(|_| Problem::invalid_field("from", "时间格式无效", "not an RFC 3339 instant"))?;
            DeliverPolicy::ByStartTime { start_time }
        }
    };
    let (to, actor, outcome) = (q.to, q.actor.clone(), q.outcome.clone());
    let (items, next_after) = state
        .audit
        .read(filter, deliver, limit, 10_000, |r| {
            to.is_none_or(|t| r.at <= t)
                && actor.as_ref().is_none_or(|a| r.actor.as_ref().is_some_and(|x| &x.sub == a))
                && outcome.as_ref().is_none_or(|o| &r.outcome == o)
        })
        .await?;
    Ok(Json(AuditPage { items, next_after }))
}

/// The routes of the audit log.
pub fn router() -> utoipa_axum::router::OpenApiRouter<AppState> {
    utoipa_axum::router::OpenApiRouter::new().routes(utoipa_axum::routes!(list_audit))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(client: &str, actor: Option<&str>, status: u16, route: &str) -> AuditRecord {
        Seen {
            method: "POST".into(),
            route: route.into(),
            path: route.into(),
            path_truncated: false,
            client: Some(client.into()),
            trace_id: None,
        }
        .record(
            actor.map(|sub| AuditActor {
                sub: sub.into(),
                role: "assistant".into(),
                office: "371600".into(),
                unit: None,
            }),
            "bearer",
            status,
        )
    }

    #[test]
    fn anonymous_refusals_are_sampled_and_summarised_once_a_window() {
        let t0 = Instant::now();
        let limits = RefusalLimits { unverified_per_window: 10, per_person_per_window: 3 };
        let mut s = Sampler::new(limits, Duration::from_secs(60), t0);
        let mut admitted = Vec::new();
        for i in 0..1_000 {
            let r = refusal(&format!("198.51.100.{}", i % 100), None, 401, "/api/v1/cases");
            if s.admit(&r, Class::of(&r)) {
                admitted.push(r);
            }
        }
        assert_eq!(admitted.len(), 10, "the window's bound, all addresses together");
        // One address cannot take the whole bound.
        let mut s2 = Sampler::new(limits, Duration::from_secs(60), t0);
        let one = refusal("203.0.113.9", None, 404, "/api/v1/cases/{id}/terminate");
        assert_eq!((0..50).filter(|_| s2.admit(&one, Class::Unverified)).count(), PER_CLIENT as usize);
        // Nothing to summarise before the window ends; afterwards one record counts the rest.
        assert!(s.roll(t0 + Duration::from_secs(59)).is_empty());
        let summaries = s.roll(t0 + Duration::from_secs(60));
        assert_eq!(summaries.len(), 1);
        let sum = &summaries[0];
        assert!(sum.actor.is_none() && sum.via == "anonymous" && sum.method == "*" && sum.outcome == "refused");
        assert_eq!(sum.status, 401);
        let detail = sum.summary.as_ref().unwrap();
        assert_eq!(detail.count, 990);
        assert_eq!(detail.statuses.get("401"), Some(&990));
        assert_eq!(detail.distinct_clients, 100);
        assert_eq!(detail.clients.len(), TOP);
        assert_eq!(detail.routes, vec![Counted { value: "/api/v1/cases".into(), count: 990 }]);
        assert!(serde_json::to_vec(sum).unwrap().len() < 2_048, "a summary is small");
        // The next window starts afresh, and a window without refusals has no summary.
        let r = refusal("198.51.100.1", None, 401, "/api/v1/cases");
        assert!(s.admit(&r, Class::of(&r)));
        assert!(s.roll(t0 + Duration::from_secs(125)).is_empty());
    }

    #[test]
    fn anonymous_successes_are_bounded_unless_a_signature_or_code_vouches_for_them() {
        let t0 = Instant::now();
        let limits = RefusalLimits { unverified_per_window: 10, per_person_per_window: 3 };
        let mut s = Sampler::new(limits, Duration::from_secs(60), t0);
        // A console form posted without a session is redirected to the login (303): bounded like a refusal.
        let redirect = refusal("198.51.100.7", None, 303, "/console/cases");
        assert_eq!((0..100).filter(|_| s.admit(&redirect, Class::of(&redirect))).count(), PER_CLIENT as usize);
        // A signed hook's or a one-time code's success is recorded each time.
        for route in ["/api/v1/hooks/hotline", "/api/v1/hooks/sms/{provider}", "/api/v1/evaluations/by-code"] {
            let ok = refusal("198.51.100.8", None, 200, route);
            assert!((0..20).all(|_| s.admit(&ok, Class::of(&ok))), "{route}");
        }
        let summaries = s.roll(t0 + Duration::from_secs(60));
        assert_eq!(summaries[0].summary.as_ref().unwrap().statuses.get("303"), Some(&98));
    }

    #[test]
    fn a_persons_refusals_are_sampled_per_person_and_the_rest_always_recorded() {
        let t0 = Instant::now();
        let limits = RefusalLimits { unverified_per_window: 10, per_person_per_window: 3 };
        let mut s = Sampler::new(limits, Duration::from_secs(60), t0);
        let refused = refusal("10.0.0.1", Some("staff-1"), 422, "/api/v1/cases");
        assert_eq!((0..20).filter(|_| s.admit(&refused, Class::of(&refused))).count(), 3);
        // Another person has their own bound; successes and failures are always recorded.
        let other = refusal("10.0.0.1", Some("staff-2"), 403, "/api/v1/cases");
        assert!(s.admit(&other, Class::of(&other)));
        for status in [201, 303, 503] {
            let r = refusal("10.0.0.1", Some("staff-1"), status, "/api/v1/cases");
            assert!((0..10).all(|_| s.admit(&r, Class::of(&r))), "{status}");
        }
        // A CSRF refusal counts with the anonymous ones, though it names the session's person.
        let csrf = refusal("10.0.0.9", Some("staff-3"), 403, "/api/v1/cases");
        assert_eq!((0..5).filter(|_| s.admit(&csrf, Class::Unverified)).count(), PER_CLIENT as usize);
        let summaries = s.roll(t0 + Duration::from_secs(61));
        assert_eq!(summaries.len(), 2, "{summaries:#?}");
        let anonymous = summaries.iter().find(|r| r.actor.is_none()).unwrap();
        assert_eq!(anonymous.summary.as_ref().unwrap().count, 3);
        let person = summaries.iter().find(|r| r.actor.is_some()).unwrap();
        assert_eq!(person.actor.as_ref().unwrap().sub, "staff-1");
        assert_eq!((person.status, person.summary.as_ref().unwrap().count), (422, 17));
    }

    #[test]
    fn long_paths_are_cut_at_a_character_boundary() {
        assert_eq!(truncate_path("/api/v1/cases"), ("/api/v1/cases".to_string(), false));
        let long = format!("/api/v1/cases/{}", "办".repeat(30_000));
        let (cut, truncated) = truncate_path(&long);
        assert!(truncated && cut.len() <= PATH_LIMIT && cut.len() > PATH_LIMIT - 3 && long.starts_with(&cut));
    }
}
