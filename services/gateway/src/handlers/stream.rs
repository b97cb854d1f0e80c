//! Live updates (实时推送): `GET /api/v1/stream`, server-sent events of the bus events the caller may see.
//!
//! The gateway subscribes (core NATS, no consumer state on the server) to the narrowest subjects the
//! caller's token allows, then checks every event one by one with the rules the rest of the gateway applies
//! ([`crate::authz`]), so the stream never shows what the caller could not read through the API:
//!
//! - **an applicant** (申请人): only events about their own cases — case, materials, plan, task (and the
//!   task's clock), evaluation and rectification events whose payload names one of their cases. A payload
//!   that names its applicant decides at once; one that names only the case is checked against the
//!   applicant's cases: those intake lists when the stream opens (read once, after subscribing), and those
//!   events have named them in since — every `case.accepted` names its applicant, so the stream always
//!   listens to it (shown only when asked for) and learns a new case without asking intake again. The
//!   subject scheme names no applicant, so an applicant's subscriptions cannot be narrower than the event
//!   types. Supervision notices, problems, SMS records, meetings and appeals are staff-only and never reach
//!   an applicant.
//! - **a county office's staff** (assistants, agents, office admins, experts; an office code that is not the
//!   city's): only subjects under `bb.evt.<their office>.>`, each event as authz allows their role (e.g. an
//!   assistant sees the ratings of their own cases only; an expert ratings and rectifications only).
//! - **an officer** (审批业务人员): their unit's task events (`bb.evt.<office>.task.*.<unit>`), and of their
//!   office's supervision notices, problems, ratings and rectifications those about their unit — never a case
//!   event (an officer reaches cases only through tasks).
//! - **the city office's staff and supervisors**: every office's subjects, each event as authz allows.
//! - **an integrator** (系统对接方): reads the bus by design, every event of its office (the city's: all).
//!
//! No client sees an evaluation invitation's link (`link_enc`): it carries the one-time code that rates in
//! the applicant's name, and the gateway never shows it. `types` narrows the stream to named events.
//!
//! Each message: `event:` the event name (`task.approved`), `id:` the `ce-id`, `data:` a JSON object with the
//! event's `id`, `type`, `subject`, `time` and `data`. The stream opens with `event: ready`, sends a comment
//! every 15 s, and ends with `event: closing` when the gateway stops or the client reads too slowly: at most
//! [`BUFFER`] events wait for one client, after which it is dropped (it reconnects and reads the current state
//! through the API), and when the caller's token expires (a stream never outlives its credential). Nothing is
//! replayed: `Last-Event-ID` is not honoured. The subscriptions end with the connection.
//!
//! Bounds (上限): one person (`sub`) holds at most `http.streams_per_person` streams at one gateway, the
//! gateway at most `http.streams_max` in all ([`StreamSlots`]); one more is a 429 problem with `Retry-After`
//! (gauge `bangban_gateway_streams_open`, counter `bangban_gateway_streams_refused_total{reason}`). The
//! subscriptions' messages are taken from the NATS client at once into a queue of at most [`BACKLOG`]
//! messages per stream (the client library's own buffer is 65 536 per subscription); a stream whose filter
//! falls further behind is dropped too (`closing`, reason `backlog`).

use std::{
    collections::{HashMap, HashSet, VecDeque},
    convert::Infallible,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use async_nats::Message;
use axum::{
    Extension,
    extract::State,
    http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri, header},
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
};
use bangban_contracts::{
    CloudEvent, EventType,
    intake::{self, CasePage, ListCases},
    office::CITY_OFFICE,
    subjects::{self, EventSubject, office_filter, unit_task_filter},
};
use bangban_platform::{
    problem::{FieldError, Problem},
    shutdown::CancellationToken,
};
use futures::{Stream, StreamExt, stream};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::{sync::mpsc, time::Instant};
use utoipa::IntoParams;
use uuid::Uuid;

use crate::{
    AppState,
    auth::{Principal, Role, bearer_token},
    authz::{
        Action, Resource, authorize, authorize_role,
        events::{admits, read_action},
    },
    extract::ApiQuery,
};
use utoipa_axum::{router::OpenApiRouter, routes};

/// Events that may wait for one client; a client further behind is dropped.
pub const BUFFER: usize = 256;
/// Bus messages that may wait for one stream's filter; a stream further behind is dropped.
pub const BACKLOG: usize = 1024;
/// A comment line this often keeps proxies from closing an idle stream; a client gone without a word is
/// noticed at the latest then, and its slot given back.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// Event ids remembered to drop a repeated publish (JetStream de-duplicates its store, not core subscribers).
const RECENT_IDS: usize = 1024;
/// How long an applicant's stream holds an event naming only a case it does not know yet ([`OwnCases::hold`]).
const HOLD: Duration = Duration::from_secs(2);
/// At most this many events held by one applicant's stream.
const HELD: usize = 64;
/// An applicant's cases are read 200 at a time, at most this many pages.
const CASE_PAGES: u64 = 25;
const CASE_PAGE: u64 = 200;
/// The aggregates whose events name a case: the only ones an applicant can be shown.
const CASE_BOUND: &[&str] = &["case", "materials", "plan", "task", "evaluation", "rectification"];

/// The route of the live stream.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(stream_events))
}

/// The gateway's shutdown signal, as a request extension: when it fires, every open stream ends (with
/// `event: closing`) so that a graceful shutdown does not wait for clients that never hang up. Without it,
/// streams end only when their client goes.
#[derive(Clone, Debug, Default)]
pub struct StreamShutdown(pub CancellationToken);

/// The live streams one gateway holds open (实时推送连接数): at most `per_person` for one person (the token's
/// `sub`) and `max` in all. Cheap to clone; in [`AppState`].
#[derive(Clone, Debug)]
pub struct StreamSlots {
    per_person: usize,
    max: usize,
    open: Arc<Mutex<OpenStreams>>,
}

#[derive(Debug, Default)]
struct OpenStreams {
    total: usize,
    by_person: HashMap<String, usize>,
}

/// Why no slot was free.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Full {
    /// The person holds this many already.
    Person(usize),
    /// The gateway holds this many already.
    Gateway(usize),
}

impl StreamSlots {
    /// At most `per_person` streams for one person and `max` in all (`http.streams_per_person`,
    /// `http.streams_max`).
    pub fn new(per_person: usize, max: usize) -> Self {
        StreamSlots { per_person, max, open: Arc::default() }
    }

    /// A slot for one more stream of `person`, given back when dropped.
    pub(crate) fn take(&self, person: &str) -> Result<StreamSlot, Full> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let theirs = open.by_person.get(person).copied().unwrap_or(0);
        if theirs >= self.per_person {
            return Err(Full::Person(theirs));
        }
        if open.total >= self.max {
            return Err(Full::Gateway(open.total));
        }
        open.total += 1;
        *open.by_person.entry(person.to_string()).or_default() += 1;
        metrics::gauge!("bangban_gateway_streams_open").increment(1.0);
        Ok(StreamSlot { slots: self.clone(), person: person.to_string() })
    }

    /// Streams open now: in all, and of `person`.
    #[cfg(test)]
    pub(crate) fn count(&self, person: &str) -> (usize, usize) {
        let open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        (open.total, open.by_person.get(person).copied().unwrap_or(0))
    }
}

/// One open stream's place in [`StreamSlots`]; given back when dropped (the stream has ended).
pub(crate) struct StreamSlot {
    slots: StreamSlots,
    person: String,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.slots.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.total = open.total.saturating_sub(1);
        if let Some(n) = open.by_person.get_mut(&self.person) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.by_person.remove(&self.person);
            }
        }
        metrics::gauge!("bangban_gateway_streams_open").decrement(1.0);
    }
}

/// The 429 answer when no slot is free, with `Retry-After`: a slot is given back when a stream ends, and a
/// client gone without a word is noticed within one keep-alive.
fn too_many_streams(full: Full, slots: &StreamSlots, path: &str) -> Response {
    let (reason, zh, en) = match full {
        Full::Person(n) => (
            "per_person",
            format!("您已打开 {n} 个实时推送连接，已达每人上限 {}；请关闭其他页面或连接后重试", slots.per_person),
            format!(
                "you hold {n} live streams already, the most one person may hold ({}); close one and try again",
                slots.per_person
            ),
        ),
        Full::Gateway(n) => (
            "gateway",
            format!("实时推送连接已满（{n} 个，上限 {}），请稍后重试", slots.max),
            format!("the gateway holds {n} live streams, its limit ({}); try again later", slots.max),
        ),
    };
    metrics::counter!("bangban_gateway_streams_refused_total", "reason" => reason).increment(1);
    tracing::info!(reason, "stream: refused, no slot free");
    let mut res =
        Problem::new(StatusCode::TOO_MANY_REQUESTS, "too-many-streams", "实时推送连接过多", "Too many live streams")
            .with_detail(zh, en)
            .with_instance(path)
            .into_response();
    res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(KEEP_ALIVE.as_secs()));
    res
}

/// Query of `GET /api/v1/stream`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StreamQuery {
    /// Only these events, comma-separated names (`<aggregate>.<event>`, e.g. `task.approved,case.accepted`); every
    /// event the caller may see when absent. 逗号分隔的事件名；不填则推送本人可见的全部事件。
    #[param(example = "task.approved,case.accepted")]
    pub types: Option<String>,
}

/// The name of an event type as the stream shows it: `task.approved`.
fn name_of(t: EventType) -> String {
    format!("{}.{}", t.aggregate, t.event)
}

/// The requested event types, in the order named; `None` when `types` names none. An unknown name is a 400
/// naming the field, with every known name.
fn requested_types(raw: Option<&str>, path: &str) -> Result<Option<Vec<EventType>>, Problem> {
    let Some(raw) = raw else { return Ok(None) };
    let mut wanted: Vec<EventType> = Vec::new();
    for name in raw.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let Some(t) = EventType::ALL.iter().copied().find(|t| name_of(*t) == name) else {
            let shown: String = name.chars().take(64).collect();
            let known: Vec<String> = EventType::ALL.iter().map(|t| name_of(*t)).collect();
            let known = known.join(", ");
            let reason = format!("未知的事件类型 {shown:?}；可选值：{known}");
            let reason_en = format!("unknown event type {shown:?}; expected one of {known}");
            let mut p =
                Problem::new(StatusCode::BAD_REQUEST, "malformed-query", "查询参数有误", "Invalid query parameters")
                    .with_detail(format!("types：{reason}"), format!("types: {reason_en}"))
                    .with_instance(path);
            p.errors.push(FieldError::new("types", reason, reason_en));
            return Err(p);
        };
        if !wanted.contains(&t) {
            wanted.push(t);
        }
    }
    Ok((!wanted.is_empty()).then_some(wanted))
}

/// Whether `principal`'s role may ever be shown events of type `t`.
fn may_see_type(principal: &Principal, t: EventType) -> bool {
    match principal.role {
        Role::Integrator => true,
        Role::Applicant if !CASE_BOUND.contains(&t.aggregate) => false,
        _ => read_action(t, principal.role).is_some_and(|a| authorize_role(principal, a).is_ok()),
    }
}

/// Where one caller's stream listens and what it may carry, decided from the token alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scope {
    /// Only this office's subjects; every office's when `None`.
    office: Option<String>,
    /// An officer's unit: the unit token of task subjects.
    unit: Option<String>,
    /// The applicant an applicant's stream is about.
    applicant: Option<Uuid>,
    /// The event types the stream may carry.
    types: Vec<EventType>,
}

impl Scope {
    /// The scope of `principal`, narrowed to `requested` types. 403 when the token lacks what the role needs
    /// (an applicant's UUID, an officer's unit) or when none of the requested types is the caller's to see.
    pub(crate) fn of(principal: &Principal, requested: Option<&[EventType]>) -> Result<Scope, Problem> {
        let own_office = || {
            office_filter(&principal.office)
                .map(|_| Some(principal.office.clone()))
                .map_err(|_| Problem::forbidden("令牌中的机构代码无效", "the token's office code is not valid"))
        };
        let (office, unit, applicant) = match principal.role {
            Role::Applicant => {
                let Some(id) = principal.applicant.as_deref().and_then(|a| Uuid::parse_str(a).ok()) else {
                    return Err(Problem::forbidden("令牌未指明服务对象", "the token names no applicant"));
                };
                // Their cases may be anywhere; the types and the cases narrow the stream.
                (None, None, Some(id))
            }
            Role::Officer => {
                let unit = principal.unit.clone().filter(|u| unit_task_filter(&principal.office, u).is_ok());
                let Some(unit) = unit else {
                    return Err(Problem::forbidden("令牌未指明有效的所属单位", "the token names no valid unit"));
                };
                (own_office()?, Some(unit), None)
            }
            Role::Supervisor => (None, None, None),
            _ if principal.office == CITY_OFFICE => (None, None, None),
            _ => (own_office()?, None, None),
        };
        let visible: Vec<EventType> = EventType::ALL.iter().copied().filter(|t| may_see_type(principal, *t)).collect();
        let types: Vec<EventType> = match requested {
            None => visible,
            Some(requested) => requested.iter().copied().filter(|t| visible.contains(t)).collect(),
        };
        if types.is_empty() {
            return Err(Problem::forbidden(
                format!("角色“{}”无权接收所列的任何事件类型", principal.role.label_zh()),
                format!("role {} may see none of the event types asked for", principal.role.as_str()),
            ));
        }
        Ok(Scope { office, unit, applicant, types })
    }

    /// The subjects to subscribe to: as few and as narrow as the scope allows. An applicant's stream also
    /// hears every `case.accepted` (which names the applicant), to learn their new cases.
    pub(crate) fn subjects(&self) -> Vec<String> {
        let mut subjects = self.shown_subjects();
        if self.applicant.is_some() && !self.types.contains(&EventType::CASE_ACCEPTED) {
            subjects.push(EventType::CASE_ACCEPTED.filter_all_offices());
        }
        subjects
    }

    /// The subjects of the event types the stream shows.
    fn shown_subjects(&self) -> Vec<String> {
        let office = self.office.as_deref().unwrap_or("*");
        if self.unit.is_none() && self.types.len() == EventType::ALL.len() {
            return vec![subjects::event_filter(&[office, ">"])];
        }
        let mut aggregates: Vec<&str> = Vec::new();
        for t in &self.types {
            if !aggregates.contains(&t.aggregate) {
                aggregates.push(t.aggregate);
            }
        }
        let unit = self.unit.as_deref();
        let mut subjects = Vec::new();
        for aggregate in aggregates {
            let wanted: Vec<EventType> = self.types.iter().copied().filter(|t| t.aggregate == aggregate).collect();
            let whole = EventType::ALL.iter().filter(|t| t.aggregate == aggregate).count() == wanted.len();
            match unit {
                _ if whole && (unit.is_none() || wanted.iter().all(|t| !t.unit_scoped)) => {
                    subjects.push(subjects::event_filter(&[office, aggregate, ">"]));
                }
                Some(unit) if whole && wanted.iter().all(|t| t.unit_scoped) => {
                    subjects.push(subjects::event_filter(&[office, aggregate, "*", unit]));
                }
                _ => subjects.extend(wanted.iter().map(|t| {
                    if t.unit_scoped {
                        subjects::event_filter(&[office, t.aggregate, t.event, unit.unwrap_or("*")])
                    } else {
                        subjects::event_filter(&[office, t.aggregate, t.event])
                    }
                })),
            }
        }
        subjects
    }
}

fn text<'a>(data: &'a Value, field: &str) -> Option<&'a str> {
    data.get(field).and_then(Value::as_str)
}

fn uuid_of(data: &Value, field: &str) -> Option<Uuid> {
    text(data, field).and_then(|s| Uuid::parse_str(s).ok())
}

/// Whose an event is, as an applicant's stream sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Claim {
    /// It names the applicant: one of their cases.
    Mine(Uuid),
    /// It names another applicant, or no case at all.
    NotMine,
    /// It names only the case: theirs if the case is.
    CaseOnly(Uuid),
}

/// Whose the event `data` is, for the applicant `own`.
pub(crate) fn applicant_claim(own: Uuid, data: &Value) -> Claim {
    let Some(case_id) = uuid_of(data, "case_id") else { return Claim::NotMine };
    match data.get("applicant_id") {
        None | Some(Value::Null) => Claim::CaseOnly(case_id),
        Some(_) if uuid_of(data, "applicant_id") == Some(own) => Claim::Mine(case_id),
        Some(_) => Claim::NotMine,
    }
}

/// What `principal` is not shown of an event they see: an evaluation invitation's link, to nobody (it ends in the
/// one-time code that rates in the applicant's name); the plans a calendar change moved (every office's cases),
/// to whoever may not read every case.
fn redact(principal: &Principal, t: EventType, data: &mut Value) {
    let Some(object) = data.as_object_mut() else { return };
    if t == EventType::EVALUATION_INVITED {
        object.remove("link_enc");
    }
    let every_case = principal.role == Role::Integrator
        || authorize(principal, Action::ReadCase, Resource::Office(CITY_OFFICE)).is_ok();
    if t == EventType::CALENDAR_CHANGED && !every_case {
        object.remove("plans_rescheduled");
    }
}

/// An applicant's cases (申请人的案件): those intake listed for them when the stream opened, and those events
/// have named them in since. Intake is asked once per stream.
struct OwnCases {
    known: HashSet<Uuid>,
    /// Events naming only a case not known yet, kept [`HOLD`] in case the event naming the applicant with it
    /// — its `case.accepted`, published just before but heard on another subscription — comes just after.
    held: VecDeque<(Instant, Uuid, Event)>,
}

/// What an applicant's stream does with one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Show,
    /// Keep it a moment: it names only this case, not known yet.
    Hold(Uuid),
    Hide,
}

impl OwnCases {
    async fn load(state: &AppState, applicant: Uuid) -> Result<OwnCases, Problem> {
        Ok(OwnCases { known: Self::read(state, applicant).await?, held: VecDeque::new() })
    }

    /// Every case of the applicant, as `GET /api/v1/cases` lists them for an applicant.
    async fn read(state: &AppState, applicant: Uuid) -> Result<HashSet<Uuid>, Problem> {
        let mut ids = HashSet::new();
        for page in 0..CASE_PAGES {
            let filter = ListCases {
                applicant: Some(applicant),
                limit: Some(CASE_PAGE),
                offset: Some(page * CASE_PAGE),
                ..Default::default()
            };
            let found: CasePage = state.call::<intake::ops::CaseList>(&filter).await?;
            let last = (found.items.len() as u64) < CASE_PAGE;
            ids.extend(found.items.into_iter().map(|c| c.id));
            if last || ids.len() as u64 >= found.total {
                break;
            }
        }
        Ok(ids)
    }

    /// Whether the event, by `claim`, is the applicant's; an event naming them teaches its case. A case not
    /// known is not theirs — every case of theirs accepted since the stream opened is named by its
    /// `case.accepted`, which the stream hears — but its event is held a moment, as that may come just after.
    fn judge(&mut self, claim: Claim, now: Instant) -> Verdict {
        while self.held.front().is_some_and(|(at, _, _)| now.duration_since(*at) >= HOLD) {
            self.held.pop_front();
        }
        match claim {
            Claim::NotMine => Verdict::Hide,
            Claim::Mine(case_id) => {
                self.known.insert(case_id);
                Verdict::Show
            }
            Claim::CaseOnly(case_id) if self.known.contains(&case_id) => Verdict::Show,
            Claim::CaseOnly(case_id) => Verdict::Hold(case_id),
        }
    }

    /// Keeps `event` of `case_id` a moment (the oldest goes when [`HELD`] are kept).
    fn hold(&mut self, case_id: Uuid, event: Event, now: Instant) {
        if self.held.len() >= HELD {
            self.held.pop_front();
        }
        self.held.push_back((now, case_id, event));
    }

    /// The held events of `case_id`, in the order they came, now that it is known to be theirs.
    fn release(&mut self, case_id: Uuid, out: &mut Vec<Event>) {
        if !self.held.iter().any(|(_, c, _)| *c == case_id) {
            return;
        }
        let (theirs, others): (VecDeque<_>, VecDeque<_>) = self.held.drain(..).partition(|(_, c, _)| *c == case_id);
        self.held = others;
        out.extend(theirs.into_iter().map(|(_, _, event)| event));
    }
}

/// The last event ids seen, to drop a repeated publish.
#[derive(Default)]
struct RecentIds {
    order: VecDeque<String>,
    seen: HashSet<String>,
}

impl RecentIds {
    /// `false` when `id` was seen already.
    fn first_time(&mut self, id: &str) -> bool {
        if self.seen.contains(id) {
            return false;
        }
        if self.order.len() >= RECENT_IDS
            && let Some(old) = self.order.pop_front()
        {
            self.seen.remove(&old);
        }
        self.order.push_back(id.to_string());
        self.seen.insert(id.to_string());
        true
    }
}

/// Decides, event by event, what one caller's stream shows.
struct Filter {
    principal: Principal,
    scope: Scope,
    cases: Option<OwnCases>,
    recent: RecentIds,
}

impl Filter {
    /// Adds to `out` the SSE messages `msg` makes shown, in order: usually none or its own; for an applicant, an
    /// event that names them with a case not known yet also releases the held events of that case after it.
    fn admit(&mut self, msg: Message, out: &mut Vec<Event>) -> Option<()> {
        let now = Instant::now();
        let event = match CloudEvent::from_parts(msg.headers.as_ref(), msg.payload) {
            Ok(event) => event,
            Err(e) => {
                tracing::debug!(subject = %msg.subject, error = %e, "stream: not a valid event");
                return None;
            }
        };
        // `id:` may not hold a line break; a UUID never does.
        if event.id.chars().any(char::is_control) || !self.recent.first_time(&event.id) {
            return None;
        }
        let t = event.event_type()?;
        let subject = EventSubject::parse(msg.subject.as_str()).ok()?;
        let asked = self.scope.types.contains(&t);
        // Only an applicant's stream hears what it was not asked for (their `case.accepted`, to learn from).
        if subject.aggregate() != t.aggregate || subject.event() != t.event || !(asked || self.cases.is_some()) {
            return None;
        }
        let data: Value = serde_json::from_slice(&event.data).ok()?;
        // A task event's subject names its unit; the payload must say the same.
        if t.unit_scoped && subject.unit() != text(&data, "unit_code") {
            return None;
        }
        let Some(cases) = self.cases.as_mut() else {
            if asked && self.scope.applicant.is_none() && admits(&self.principal, t, &subject, &data) {
                out.push(render(&self.principal, t, &event, data));
            }
            return Some(());
        };
        let own = self.scope.applicant?;
        // Learn first (a `case.accepted` naming them, asked for or not), then show only what was asked for.
        let claim = applicant_claim(own, &data);
        match cases.judge(claim, now) {
            Verdict::Show if asked => out.push(render(&self.principal, t, &event, data)),
            Verdict::Hold(case_id) if asked => cases.hold(case_id, render(&self.principal, t, &event, data), now),
            _ => {}
        }
        if let Claim::Mine(case_id) = claim {
            cases.release(case_id, out);
        }
        Some(())
    }
}

/// The SSE message of `event` (of type `t`, its payload `data`) as `principal` is shown it.
fn render(principal: &Principal, t: EventType, event: &CloudEvent, mut data: Value) -> Event {
    redact(principal, t, &mut data);
    let body = json!({
        "id": event.id,
        "type": event.type_,
        "subject": event.subject,
        "time": event.time,
        "data": data,
    });
    Event::default().event(name_of(t)).id(event.id.clone()).data(body.to_string())
}

/// Why a stream ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    /// The client went away (the response body was dropped).
    ClientGone,
    /// The client left more than [`BUFFER`] events unread.
    TooSlow,
    /// More than [`BACKLOG`] bus messages waited for the stream's filter.
    Backlog,
    /// The gateway is stopping.
    Shutdown,
    /// The caller's token expired.
    Expired,
    /// The bus connection was closed.
    BusClosed,
}

/// When the caller's token expires: its `exp`, read from the bearer token the [`Principal`] extractor has just
/// verified (`None` when there is none to read).
fn token_expiry(headers: &HeaderMap) -> Option<Instant> {
    let token = bearer_token(headers).ok()??;
    let exp = crate::session::jwt_claims(token)?.get("exp")?.as_i64()?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs() as i64;
    Some(Instant::now() + Duration::from_secs(exp.saturating_sub(now).max(0) as u64))
}

/// Moves the subscriptions' `messages` into `tx` as they come, so that none waits in the NATS client's own
/// (large) buffer: [`End::Backlog`] once `tx` is full (the filter is more than its capacity behind),
/// [`End::BusClosed`] when the subscriptions end, [`End::ClientGone`] when the forwarder has ended. The
/// subscriptions end with `messages`, dropped on return.
async fn drain<S>(mut messages: S, tx: mpsc::Sender<Message>) -> End
where
    S: Stream<Item = Message> + Unpin,
{
    loop {
        let msg = tokio::select! {
            biased;
            _ = tx.closed() => return End::ClientGone,
            msg = messages.next() => msg,
        };
        let Some(msg) = msg else { return End::BusClosed };
        match tx.try_send(msg) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => return End::Backlog,
            Err(mpsc::error::TrySendError::Closed(_)) => return End::ClientGone,
        }
    }
}

/// Moves the events `filter` admits from `messages` to `tx` until the client goes, falls [`BUFFER`] events
/// behind, the gateway stops, the token `expires` or the bus closes; `messages` wait in a queue of at most
/// [`BACKLOG`] ([`drain`]).
async fn forward<S>(
    mut filter: Filter,
    messages: S,
    tx: mpsc::Sender<Event>,
    stop: CancellationToken,
    expires: Option<Instant>,
) -> End
where
    S: Stream<Item = Message> + Unpin + Send + 'static,
{
    let (queue, mut queued) = mpsc::channel(BACKLOG);
    let mut reader = tokio::spawn(drain(messages, queue));
    let mut shown = Vec::new();
    let expired = async {
        match expires {
            Some(at) => tokio::time::sleep_until(at).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(expired);
    let end = loop {
        let msg = tokio::select! {
            biased;
            _ = tx.closed() => break End::ClientGone,
            _ = stop.cancelled() => break End::Shutdown,
            _ = &mut expired => break End::Expired,
            msg = queued.recv() => match msg {
                Some(msg) => msg,
                // The reader has ended, saying why.
                None => break (&mut reader).await.unwrap_or(End::BusClosed),
            },
        };
        filter.admit(msg, &mut shown);
        let sent = shown.drain(..).try_for_each(|event| match tx.try_send(event) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(_)) => Err(End::TooSlow),
            Err(mpsc::error::TrySendError::Closed(_)) => Err(End::ClientGone),
        });
        if let Err(end) = sent {
            break end;
        }
    };
    // The subscriptions end now, not when the reader next looks.
    reader.abort();
    match end {
        End::TooSlow => {
            metrics::counter!("bangban_gateway_streams_dropped_total", "reason" => "slow_client").increment(1);
            tracing::warn!(role = %filter.principal.role, "stream: the client fell {BUFFER} events behind; dropped");
        }
        End::Backlog => {
            metrics::counter!("bangban_gateway_streams_dropped_total", "reason" => "backlog").increment(1);
            tracing::warn!(role = %filter.principal.role, "stream: {BACKLOG} bus messages waited for the filter; dropped");
        }
        End::BusClosed => tracing::warn!("stream: the bus connection closed"),
        End::ClientGone | End::Shutdown | End::Expired => tracing::debug!(?end, "stream: ended"),
    }
    end
}

/// The last message of a stream that the gateway ends, saying why (the client reconnects).
fn closing(end: End) -> Option<Event> {
    let (reason, zh, en) = match end {
        End::TooSlow => (
            "slow_client",
            format!("客户端读取过慢（积压超过 {BUFFER} 条），连接已断开，请重新连接并刷新"),
            format!("the client fell more than {BUFFER} events behind and was dropped; reconnect and reload"),
        ),
        End::Backlog => (
            "backlog",
            "网关处理不及，连接已断开，请重新连接并刷新".into(),
            "the gateway fell behind on this stream and dropped it; reconnect and reload".into(),
        ),
        End::Shutdown => ("shutdown", "网关正在停止，请重新连接".into(), "the gateway is stopping; reconnect".into()),
        End::Expired => (
            "token_expired",
            "身份令牌已过期，请重新登录后连接".into(),
            "the token expired; sign in and reconnect".into(),
        ),
        End::BusClosed => ("unavailable", "消息总线连接已关闭，请重新连接".into(), "the bus closed; reconnect".into()),
        End::ClientGone => return None,
    };
    let data = json!({"reason": reason, "detail": zh, "detail_en": en});
    Some(Event::default().event("closing").data(data.to_string()))
}

/// Live updates (实时推送): the bus events the caller may see, as server-sent events (`text/event-stream`).
///
/// An applicant sees the events of their own cases (case, plan, task and its clock, evaluation); a county
/// office's staff the events under their own office's subjects (`bb.evt.<office>.>`), each as their role may
/// read it; an officer their unit's task events and their office's notices, problems and ratings about their
/// unit; the city office's staff and supervisors every office's; an integrator every event of its office.
/// `types` narrows the stream (an unknown name is 400). Each message is `event: <aggregate>.<event>`,
/// `id: <ce-id>`, `data: {"id", "type", "subject", "time", "data"}`; the stream opens with `event: ready`
/// (data: the event names it may carry), sends a `: keep-alive` comment every 15 s, and ends with
/// `event: closing` (data: `reason`) when the gateway stops, the token expires or the client falls 256 events
/// behind. Events are not replayed on reconnection: read the current state through the API. One person holds at
/// most 3 streams at a gateway, the gateway 1000 in all (`BANGBAN__HTTP__STREAMS_PER_PERSON`, `…__STREAMS_MAX`);
/// one more is 429 with `Retry-After`.
#[utoipa::path(
    get, path = "/api/v1/stream", tag = "stream",
    params(StreamQuery),
    responses(
        (status = 200, description = "事件流（text/event-stream）/ the event stream", body = String,
            content_type = "text/event-stream",
            example = json!(concat!(
                "event: ready\n",
                "data: {\"types\":[\"case.accepted\",\"task.approved\"]}\n\n",
                "event: task.approved\n",
                "id: 0195f3a0-7c1f-7000-8000-000000000007\n",
                "data: {\"id\":\"0195f3a0-7c1f-7000-8000-000000000007\",\"type\":\"cn.binzhou.bangban.task.approved.v1\",",
                "\"subject\":\"0195f3a0-5b2e-7000-8000-00000000000a\",\"time\":\"2026-03-06T07:30:00Z\",",
                "\"data\":{\"task_id\":\"0195f3a0-5b2e-7000-8000-00000000000a\",\"case_id\":\"0195f39f-1a2b-7c3d-8e4f-5a6b7c8d9e0f\",",
                "\"office\":\"371625\",\"code\":\"GH-01\",\"name\":\"建设工程规划许可证核发\",\"unit_code\":\"371625-XZSP\",",
                "\"unit_office\":\"371625\",\"status\":\"approved\",\"action\":\"approve\",\"note\":\"准予许可\"}}\n\n",
                ": keep-alive\n\n"
            ))),
        (status = 400, description = "查询参数有误（如未知的事件类型，指明 types）/ bad query, e.g. an unknown event type, naming `types`", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "令牌缺少服务对象或所属单位，或无权接收所列事件 / the token lacks its applicant or unit, or none of the types is yours", body = Problem),
        (status = 429, description = "本人或网关的实时推送连接已达上限（带 Retry-After）/ too many live streams, the person's or the gateway's (with Retry-After)", body = Problem),
        (status = 503, description = "消息总线或受理服务暂不可用 / the bus or intake is unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(enduser.role = %principal.role, office = %principal.office))]
pub async fn stream_events(
    State(state): State<AppState>,
    shutdown: Option<Extension<StreamShutdown>>,
    principal: Principal,
    uri: Uri,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<StreamQuery>,
) -> Result<Response, Response> {
    let requested = requested_types(query.types.as_deref(), uri.path()).map_err(IntoResponse::into_response)?;
    let scope = Scope::of(&principal, requested.as_deref()).map_err(IntoResponse::into_response)?;
    // Held by the forwarder: given back when the stream ends.
    let slot = state.streams.take(&principal.sub).map_err(|full| too_many_streams(full, &state.streams, uri.path()))?;
    let unavailable = || {
        Problem::unavailable("消息总线暂不可用，请稍后重试", "the bus is unavailable; try again later").into_response()
    };
    let mut subscriptions = Vec::new();
    for subject in scope.subjects() {
        let subscriber = state.client.subscribe(subject.clone()).await.map_err(|e| {
            tracing::error!(%subject, error = %e, "stream: cannot subscribe");
            unavailable()
        })?;
        subscriptions.push(subscriber);
    }
    // The server has the subscriptions before the client is told the stream is open.
    match tokio::time::timeout(state.request_timeout, state.client.flush()).await {
        Ok(Ok(())) => {}
        _ => return Err(unavailable()),
    }
    // Subscribed first, then the cases read: a case accepted in between is named by its own event.
    let cases = match scope.applicant {
        Some(applicant) => Some(OwnCases::load(&state, applicant).await.map_err(IntoResponse::into_response)?),
        None => None,
    };
    let names: Vec<String> = scope.types.iter().map(|t| name_of(*t)).collect();
    let ready = Event::default().event("ready").data(json!({ "types": names }).to_string());
    let stop = shutdown.map(|Extension(s)| s.0).unwrap_or_default();
    let filter = Filter { principal, scope, cases, recent: RecentIds::default() };
    let (tx, rx) = mpsc::channel(BUFFER);
    let expires = token_expiry(&headers);
    let messages = stream::select_all(subscriptions);
    let forwarder = tokio::spawn(async move {
        let _slot = slot;
        forward(filter, messages, tx, stop, expires).await
    });
    let events = stream::unfold((rx, Some(forwarder)), |(mut rx, forwarder)| async move {
        if let Some(event) = rx.recv().await {
            return Some((event, (rx, forwarder)));
        }
        // The forwarder has ended: say why, once, if the gateway ended the stream.
        let end = forwarder?.await.ok()?;
        closing(end).map(|event| (event, (rx, None)))
    });
    let body = stream::once(async { ready }).chain(events).map(Ok::<_, Infallible>);
    let sse = Sse::new(body).keep_alive(KeepAlive::new().interval(KEEP_ALIVE).text("keep-alive"));
    // Reverse proxies (nginx) must pass each event on at once.
    Ok(([(HeaderName::from_static("x-accel-buffering"), HeaderValue::from_static("no"))], sse).into_response())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    const APPLICANT: &str = "0195f39e-0a1b-7c2d-8e3f-4a5b6c7d8e9f";

    fn who(role: Role, office: &str) -> Principal {
        Principal { sub: "u".into(), role, office: office.into(), unit: None, applicant: None }
    }

    fn officer(unit: &str, office: &str) -> Principal {
        Principal { unit: Some(unit.into()), ..who(Role::Officer, office) }
    }

    fn applicant() -> Principal {
        Principal { applicant: Some(APPLICANT.into()), ..who(Role::Applicant, "371625") }
    }

    fn subjects(principal: &Principal, requested: Option<&[EventType]>) -> Vec<String> {
        Scope::of(principal, requested).expect("a scope").subjects()
    }

    #[test]
    fn each_role_listens_on_the_narrowest_subjects() {
        assert_eq!(subjects(&who(Role::OfficeAdmin, "371600"), None), ["bb.evt.*.>"]);
        // Supervisors read every office's, all but the invitations (the window's and the case's business).
        let supervisor = subjects(&who(Role::Supervisor, "371621"), None);
        assert!(supervisor.iter().all(|s| s.starts_with("bb.evt.*.")), "{supervisor:?}");
        assert!(supervisor.contains(&"bb.evt.*.sms.>".to_string()), "{supervisor:?}");
        assert!(supervisor.contains(&"bb.evt.*.evaluation.submitted".to_string()), "{supervisor:?}");
        assert!(!supervisor.iter().any(|s| s.contains("invited")), "{supervisor:?}");
        assert_eq!(subjects(&who(Role::Integrator, "371600"), None), ["bb.evt.*.>"]);
        assert_eq!(subjects(&who(Role::Integrator, "371621"), None), ["bb.evt.371621.>"]);
        // County staff: their office; an assistant reads no appeals.
        assert_eq!(subjects(&who(Role::OfficeAdmin, "371621"), None), ["bb.evt.371621.>"]);
        let assistant = subjects(&who(Role::Assistant, "371621"), None);
        assert!(assistant.iter().all(|s| s.starts_with("bb.evt.371621.")), "{assistant:?}");
        assert!(assistant.contains(&"bb.evt.371621.task.>".to_string()), "{assistant:?}");
        assert!(!assistant.iter().any(|s| s.contains("appeal")), "{assistant:?}");
        // An officer: their unit's task subjects, and their office's notices, problems, ratings; no case events.
        let own = subjects(&officer("371625-XZSP", "371625"), None);
        assert!(own.contains(&"bb.evt.371625.task.*.371625-XZSP".to_string()), "{own:?}");
        assert!(own.contains(&"bb.evt.371625.supervision.>".to_string()), "{own:?}");
        assert!(own.contains(&"bb.evt.371625.evaluation.submitted".to_string()), "{own:?}");
        assert!(own.iter().all(|s| s.starts_with("bb.evt.371625.")), "{own:?}");
        assert!(!own.iter().any(|s| s.contains(".case.") || s.contains(".plan.") || s.contains(".sms.")), "{own:?}");
        // An applicant: every office, only what names a case and is theirs to read.
        let mine = subjects(&applicant(), None);
        for aggregate in ["case", "materials", "plan", "task", "evaluation", "rectification"] {
            assert!(mine.contains(&format!("bb.evt.*.{aggregate}.>")), "{aggregate} in {mine:?}");
        }
        assert_eq!(mine.len(), 6, "{mine:?}");
        // An expert: ratings, rectifications, the calendar.
        let expert = subjects(&who(Role::Expert, "371600"), None);
        assert_eq!(
            expert,
            ["bb.evt.*.calendar.>", "bb.evt.*.evaluation.submitted", "bb.evt.*.rectification.>"],
            "{expert:?}"
        );
    }

    #[test]
    fn types_narrow_the_subjects() {
        let asked = [EventType::TASK_APPROVED, EventType::CASE_ACCEPTED, EventType::SMS_SENT];
        assert_eq!(
            subjects(&officer("371625-XZSP", "371625"), Some(&asked)),
            ["bb.evt.371625.task.approved.371625-XZSP"],
            "what an officer may not see is left out"
        );
        assert_eq!(
            subjects(&who(Role::Agent, "371625"), Some(&asked)),
            ["bb.evt.371625.task.approved.*", "bb.evt.371625.case.accepted", "bb.evt.371625.sms.sent"]
        );
        assert_eq!(subjects(&applicant(), Some(&asked)), ["bb.evt.*.task.approved.*", "bb.evt.*.case.accepted"]);
        let none = Scope::of(&applicant(), Some(&[EventType::SMS_SENT, EventType::SUPERVISION_ISSUED]));
        assert_eq!(none.unwrap_err().status, 403);
    }

    #[test]
    fn tokens_without_what_the_role_needs_are_refused() {
        for claim in [None, Some("a-1")] {
            let p = Principal { applicant: claim.map(Into::into), ..who(Role::Applicant, "371625") };
            assert_eq!(Scope::of(&p, None).unwrap_err().status, 403, "{claim:?}");
        }
        for unit in [None, Some("a.b"), Some("*"), Some(">"), Some("")] {
            let p = Principal { unit: unit.map(Into::into), ..who(Role::Officer, "371625") };
            assert_eq!(Scope::of(&p, None).unwrap_err().status, 403, "{unit:?}");
        }
    }

    #[test]
    fn an_unknown_type_is_a_400_naming_the_field() {
        assert_eq!(requested_types(None, "/x").unwrap(), None);
        assert_eq!(requested_types(Some(" , "), "/x").unwrap(), None);
        assert_eq!(
            requested_types(Some("task.approved, case.accepted,task.approved"), "/x").unwrap(),
            Some(vec![EventType::TASK_APPROVED, EventType::CASE_ACCEPTED])
        );
        let p = requested_types(Some("task.approved,task.exploded"), "/api/v1/stream").unwrap_err();
        assert_eq!(p.status, 400);
        assert_eq!(p.errors[0].field, "types");
        assert!(p.errors[0].reason.contains("task.exploded") && p.errors[0].reason.contains("未知"), "{p}");
        assert!(p.errors[0].reason_en.contains("task.exploded") && p.errors[0].reason_en.contains("case.accepted"));
        assert_eq!(p.instance.as_deref(), Some("/api/v1/stream"));
    }

    fn task_event(unit: &str, unit_office: &str, case_office: &str) -> Value {
        json!({
            "task_id": Uuid::now_v7(), "case_id": Uuid::now_v7(), "office": case_office,
            "unit_code": unit, "unit_office": unit_office, "specialist_id": "s-1", "applicant_id": APPLICANT,
        })
    }

    fn on(t: EventType, office: &str, unit: Option<&str>) -> EventSubject {
        t.subject(office, unit).unwrap()
    }

    #[test]
    fn task_events_are_seen_as_the_task_is_read() {
        let t = EventType::TASK_APPROVED;
        let subject = on(t, "371625", Some("371625-XZSP"));
        let data = task_event("371625-XZSP", "371625", "371625");
        let sees = |p: &Principal| admits(p, t, &subject, &data);
        assert!(sees(&officer("371625-XZSP", "371625")));
        assert!(!sees(&officer("371625-ZRZY", "371625")), "another unit");
        assert!(sees(&who(Role::Assistant, "371625")));
        assert!(sees(&who(Role::Assistant, "371600")), "the city");
        assert!(!sees(&who(Role::Assistant, "371621")), "another county");
        assert!(sees(&who(Role::Supervisor, "371681")));
        assert!(sees(&who(Role::Integrator, "371600")));
        assert!(!sees(&who(Role::Expert, "371625")));
        assert!(!sees(&applicant()), "applicants are judged by their cases");
        // A linked task: a city case at a county unit is the county's too.
        let linked = task_event("371625-ZRZY", "371625", "371600");
        assert!(admits(&who(Role::Agent, "371625"), t, &subject, &linked));
        // Missing facts: nobody but an integrator.
        let bare = json!({"task_id": Uuid::now_v7()});
        assert!(!admits(&who(Role::Assistant, "371600"), t, &subject, &bare));
    }

    #[test]
    fn case_level_events_need_the_case_and_officers_never_see_them() {
        let t = EventType::CASE_ACCEPTED;
        let subject = on(t, "371625", None);
        let data =
            json!({"case_id": Uuid::now_v7(), "office": "371625", "applicant_id": APPLICANT, "specialist_id": "s-1"});
        assert!(admits(&who(Role::Agent, "371625"), t, &subject, &data));
        assert!(admits(&who(Role::OfficeAdmin, "371600"), t, &subject, &data));
        assert!(!admits(&who(Role::Agent, "371621"), t, &subject, &data));
        assert!(!admits(&officer("371625-XZSP", "371625"), t, &subject, &data));
        assert!(!admits(&who(Role::Expert, "371625"), t, &subject, &data));
    }

    #[test]
    fn staff_only_events_follow_the_list_scopes() {
        let problem =
            json!({"office": "371600", "unit_office": "371625", "unit_code": "371625-XZSP", "case_id": Uuid::now_v7()});
        let t = EventType::PROBLEM_RECORDED;
        let subject = on(t, "371600", None);
        assert!(admits(&who(Role::Assistant, "371625"), t, &subject, &problem), "the unit's county");
        assert!(!admits(&who(Role::Assistant, "371621"), t, &subject, &problem));
        assert!(admits(&officer("371625-XZSP", "371625"), t, &subject, &problem));
        assert!(!admits(&officer("371625-ZRZY", "371625"), t, &subject, &problem));
        assert!(!admits(&applicant(), t, &subject, &problem));

        let sms = EventType::SMS_SENT;
        let data = json!({"message_id": Uuid::now_v7(), "phone_masked": "138****1234"});
        assert!(admits(&who(Role::Agent, "371625"), sms, &on(sms, "371625", None), &data));
        assert!(!admits(&who(Role::Agent, "371625"), sms, &on(sms, "371621", None), &data));
        assert!(admits(&who(Role::Supervisor, "371625"), sms, &on(sms, "371621", None), &data));
        assert!(!admits(&officer("371625-XZSP", "371625"), sms, &on(sms, "371625", None), &data));

        let appeal = EventType::APPEAL_DECIDED;
        let data = json!({"office": "371625", "case_id": Uuid::now_v7()});
        assert!(admits(&who(Role::OfficeAdmin, "371625"), appeal, &on(appeal, "371625", None), &data));
        assert!(!admits(&who(Role::OfficeAdmin, "371621"), appeal, &on(appeal, "371625", None), &data));
        assert!(!admits(&who(Role::Assistant, "371625"), appeal, &on(appeal, "371625", None), &data));
    }

    #[test]
    fn an_applicant_s_events_are_those_that_name_them_or_their_case() {
        let own = Uuid::parse_str(APPLICANT).unwrap();
        let case = Uuid::now_v7();
        assert_eq!(applicant_claim(own, &json!({"case_id": case, "applicant_id": own})), Claim::Mine(case));
        assert_eq!(applicant_claim(own, &json!({"case_id": case, "applicant_id": Uuid::now_v7()})), Claim::NotMine);
        assert_eq!(applicant_claim(own, &json!({"case_id": case, "applicant_id": "x"})), Claim::NotMine);
        assert_eq!(applicant_claim(own, &json!({"case_id": case})), Claim::CaseOnly(case));
        assert_eq!(applicant_claim(own, &json!({"case_id": case, "applicant_id": null})), Claim::CaseOnly(case));
        assert_eq!(applicant_claim(own, &json!({"applicant_id": own})), Claim::NotMine, "no case, nothing");
    }

    #[test]
    fn the_evaluation_link_is_never_shown_nor_the_plans_a_calendar_change_moved_to_those_without_every_case() {
        for who in [who(Role::OfficeAdmin, "371600"), who(Role::Integrator, "371600"), applicant()] {
            let mut data = json!({"evaluation_id": Uuid::now_v7(), "link_enc": "v1:secret", "case_id": Uuid::now_v7()});
            redact(&who, EventType::EVALUATION_INVITED, &mut data);
            assert!(data.get("link_enc").is_none() && data.get("case_id").is_some(), "{who:?}");
        }
        let change = json!({"revision": 3, "plans_rescheduled": [{"case_id": Uuid::now_v7(), "office": "371621"}]});
        for (who, kept) in [
            (who(Role::Assistant, "371600"), true),
            (who(Role::Supervisor, "371625"), true),
            (who(Role::Integrator, "371600"), true),
            (who(Role::Expert, "371600"), false),
            (officer("371600-FGW", "371600"), false),
        ] {
            let mut data = change.clone();
            redact(&who, EventType::CALENDAR_CHANGED, &mut data);
            assert_eq!(data.get("plans_rescheduled").is_some(), kept, "{who:?}");
            assert_eq!(data["revision"], 3);
        }
    }

    #[test]
    fn repeated_publishes_are_dropped() {
        let mut recent = RecentIds::default();
        assert!(recent.first_time("a"));
        assert!(!recent.first_time("a"));
        for i in 0..RECENT_IDS {
            assert!(recent.first_time(&i.to_string()));
        }
        assert!(recent.first_time("a"), "forgotten after {RECENT_IDS} others");
        assert!(recent.order.len() <= RECENT_IDS && recent.seen.len() <= RECENT_IDS);
    }

    #[test]
    fn the_stream_is_documented() {
        let doc = serde_json::to_value(crate::openapi::document()).unwrap();
        let op = &doc["paths"]["/api/v1/stream"]["get"];
        let ok = &op["responses"]["200"]["content"]["text/event-stream"];
        assert!(ok["example"].as_str().is_some_and(|e| e.starts_with("event: ready")), "{op}");
        let params: Vec<&str> =
            op["parameters"].as_array().unwrap().iter().filter_map(|p| p["name"].as_str()).collect();
        assert_eq!(params, ["types"]);
        assert_eq!(op["parameters"][0]["in"], "query");
        for status in ["400", "401", "403", "429"] {
            assert!(op["responses"][status].is_object(), "{status}");
        }
    }

    // -----------------------------------------------------------------------------------------------------
    // The forwarder, on a real nats-server
    // -----------------------------------------------------------------------------------------------------

    async fn setup(principal: Principal) -> (bangban_testkit::NatsServer, AppState, Filter, async_nats::Subscriber) {
        let nats = bangban_testkit::NatsServer::start().await.expect("nats-server");
        let client = nats.client().await.expect("client");
        let settings = bangban_platform::Settings {
            data_dir: std::env::temp_dir().join(format!("bangban-gateway-stream-{}", Uuid::now_v7())),
            ..Default::default()
        };
        std::fs::create_dir_all(&settings.data_dir).expect("data dir");
        let state = crate::state(&settings, client.clone()).expect("state");
        let scope = Scope::of(&principal, None).unwrap();
        let subscriber = client.subscribe(scope.subjects()[0].clone()).await.expect("subscribe");
        client.flush().await.expect("flush");
        let filter = Filter { principal, scope, cases: None, recent: RecentIds::default() };
        (nats, state, filter, subscriber)
    }

    async fn publish(client: &async_nats::Client, n: usize) {
        let t = EventType::TASK_RECEIVED;
        for _ in 0..n {
            let data = task_event("371625-XZSP", "371625", "371625");
            let event = CloudEvent::new(t, "routing", Uuid::now_v7().to_string(), &data).unwrap();
            let subject = t.subject("371625", Some("371625-XZSP")).unwrap().to_string();
            client.publish_with_headers(subject, event.to_headers(), event.data.clone()).await.unwrap();
        }
        client.flush().await.unwrap();
    }

    const WAIT: Duration = Duration::from_secs(10);

    #[tokio::test]
    async fn a_stream_ends_when_its_client_goes_and_a_slow_client_is_dropped() {
        let (_nats, state, filter, subscriber) = setup(who(Role::OfficeAdmin, "371625")).await;
        // A client that reads.
        let (tx, mut rx) = mpsc::channel(BUFFER);
        let forwarder = tokio::spawn(forward(filter, subscriber, tx, CancellationToken::new(), None));
        publish(&state.client, 3).await;
        for _ in 0..3 {
            let event = tokio::time::timeout(WAIT, rx.recv()).await.expect("in time").expect("an event");
            let text = format!("{event:?}");
            assert!(text.contains("task.received"), "{text}");
        }
        // It goes: the forwarder ends at once, with its subscription.
        drop(rx);
        let end = tokio::time::timeout(WAIT, forwarder).await.expect("the forwarder ends").unwrap();
        assert_eq!(end, End::ClientGone);

        // A client that never reads is dropped once BUFFER events wait for it.
        let (_nats, state, filter, subscriber) = setup(who(Role::OfficeAdmin, "371600")).await;
        let (tx, rx) = mpsc::channel(BUFFER);
        let forwarder = tokio::spawn(forward(filter, subscriber, tx, CancellationToken::new(), None));
        publish(&state.client, BUFFER + 1).await;
        let end = tokio::time::timeout(WAIT, forwarder).await.expect("dropped").unwrap();
        assert_eq!(end, End::TooSlow);
        assert_eq!(rx.len(), BUFFER, "no more than BUFFER events held");
        assert!(closing(End::TooSlow).is_some() && closing(End::ClientGone).is_none());

        // A stream never outlives its token.
        let (_nats, _, filter, subscriber) = setup(who(Role::OfficeAdmin, "371600")).await;
        let (tx, _rx) = mpsc::channel(BUFFER);
        let expires = Some(Instant::now() + Duration::from_millis(50));
        let end = tokio::time::timeout(WAIT, forward(filter, subscriber, tx, CancellationToken::new(), expires)).await;
        assert_eq!(end.expect("ended at expiry"), End::Expired);
    }

    #[test]
    fn the_token_s_expiry_is_read_from_the_verified_bearer() {
        let auth = crate::auth::Authenticator::from_settings(&bangban_platform::Settings {
            data_dir: std::env::temp_dir().join(format!("bangban-gateway-stream-{}", Uuid::now_v7())),
            ..Default::default()
        })
        .expect("auth");
        let token = auth.issue("u", Role::Supervisor, "371600", None, None, Duration::from_secs(600)).unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
        let left = token_expiry(&headers).expect("an expiry") - Instant::now();
        assert!(left > Duration::from_secs(590) && left <= Duration::from_secs(600), "{left:?}");
        assert!(token_expiry(&HeaderMap::new()).is_none());
    }

    #[tokio::test]
    async fn an_applicant_s_cases_are_read_once_then_learned_from_the_events_naming_them() {
        let (_nats, state, _, _) = setup(applicant()).await;
        let own = Uuid::parse_str(APPLICANT).unwrap();
        let (first, later, foreign) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        // A stand-in intake: the applicant's cases; counts the reads.
        let reads = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut requests =
            state.client.subscribe(<intake::ops::CaseList as bangban_contracts::Operation>::subject()).await.unwrap();
        state.client.flush().await.unwrap();
        let (client, count) = (state.client.clone(), reads.clone());
        tokio::spawn(async move {
            while let Some(msg) = requests.next().await {
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let filter: ListCases = serde_json::from_slice(&msg.payload).unwrap();
                assert_eq!(filter.applicant, Some(own), "only the applicant's cases are asked for");
                let item = json!({"id": first, "ledger_no": "BB-1", "service_type": "assist", "status": "accepted",
                    "office": "371625", "applicant_id": own, "applicant_name": "某公司", "project_name": "某项目",
                    "category": "industrial", "specialist_id": "s-1",
                    "created_at": "2026-03-02T01:00:00Z", "updated_at": "2026-03-02T01:00:00Z"});
                let page = json!({"items": [item], "total": 1, "limit": 200, "offset": 0});
                client.publish(msg.reply.unwrap(), page.to_string().into()).await.unwrap();
            }
        });
        let mut mine = OwnCases::load(&state, own).await.expect("loaded");
        assert_eq!(reads.load(std::sync::atomic::Ordering::SeqCst), 1);
        let now = Instant::now();
        assert_eq!(mine.judge(Claim::CaseOnly(first), now), Verdict::Show);
        assert_eq!(mine.judge(Claim::NotMine, now), Verdict::Hide);
        // A case not known is not theirs, and intake is not asked again: its events are held a moment …
        assert_eq!(mine.judge(Claim::CaseOnly(later), now), Verdict::Hold(later));
        assert_eq!(mine.judge(Claim::CaseOnly(foreign), now), Verdict::Hold(foreign));
        let event = |name: &str| Event::default().event(name);
        mine.hold(later, event("later-1"), now);
        mine.hold(foreign, event("foreign-1"), now);
        mine.hold(later, event("later-2"), now);
        // … and shown, in order, once an event names them with it (their `case.accepted`).
        assert_eq!(mine.judge(Claim::Mine(later), now), Verdict::Show);
        let mut out = Vec::new();
        mine.release(later, &mut out);
        let shown = format!("{out:?}");
        assert_eq!(out.len(), 2, "{shown}");
        assert!(shown.find("later-1").unwrap() < shown.find("later-2").unwrap(), "{shown}");
        assert_eq!(mine.judge(Claim::CaseOnly(later), now), Verdict::Show);
        // Someone else's case is held no longer than HOLD, and no more than HELD events are held.
        assert_eq!(mine.held.len(), 1);
        assert_eq!(mine.judge(Claim::CaseOnly(foreign), now + HOLD), Verdict::Hold(foreign));
        assert!(mine.held.is_empty(), "expired");
        for _ in 0..HELD + 5 {
            mine.hold(foreign, event("foreign"), now);
        }
        assert_eq!(mine.held.len(), HELD);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(reads.load(std::sync::atomic::Ordering::SeqCst), 1, "intake is read once per stream");
    }

    #[test]
    fn an_applicant_s_stream_always_hears_case_accepted() {
        let asked = [EventType::PLAN_REVISED];
        assert_eq!(subjects(&applicant(), Some(&asked)), ["bb.evt.*.plan.revised", "bb.evt.*.case.accepted"]);
        assert_eq!(subjects(&applicant(), Some(&[EventType::CASE_ACCEPTED])), ["bb.evt.*.case.accepted"]);
        // Staff learn nothing so: no extra subject.
        assert_eq!(subjects(&who(Role::Agent, "371625"), Some(&asked)), ["bb.evt.371625.plan.revised"]);
    }

    #[test]
    fn slots_bound_each_person_and_the_gateway() {
        let slots = StreamSlots::new(2, 3);
        let a1 = slots.take("a").expect("a's first");
        let a2 = slots.take("a").expect("a's second");
        assert_eq!(slots.take("a").err(), Some(Full::Person(2)));
        let b1 = slots.take("b").expect("b's first");
        assert_eq!(slots.take("c").err(), Some(Full::Gateway(3)), "the gateway is full");
        assert_eq!(slots.count("a"), (3, 2));
        drop(a1);
        assert_eq!(slots.count("a"), (2, 1));
        let c1 = slots.take("c").expect("a slot given back");
        assert_eq!(slots.take("a").err(), Some(Full::Gateway(3)));
        drop((a2, b1, c1));
        assert_eq!(slots.count("a"), (0, 0));
        assert!(slots.open.lock().unwrap().by_person.is_empty(), "nobody is remembered once gone");

        let res = too_many_streams(Full::Person(2), &slots, "/api/v1/stream");
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(res.headers()[header::RETRY_AFTER], "15");
        let res = too_many_streams(Full::Gateway(3), &slots, "/api/v1/stream");
        assert_eq!(res.headers()[header::RETRY_AFTER], "15");
    }

    #[tokio::test]
    async fn a_stream_whose_filter_falls_behind_is_dropped() {
        let (_nats, state, _, subscriber) = setup(who(Role::OfficeAdmin, "371600")).await;
        // Nobody takes from the queue: the reader ends once it is full, with the subscription.
        let (queue, queued) = mpsc::channel(8);
        let reader = tokio::spawn(drain(subscriber, queue));
        publish(&state.client, 9).await;
        let end = tokio::time::timeout(WAIT, reader).await.expect("the reader ends").unwrap();
        assert_eq!(end, End::Backlog);
        assert_eq!(queued.len(), 8, "no more than the queue holds");
        let closing = format!("{:?}", closing(End::Backlog).expect("the client is told"));
        assert!(closing.contains("backlog"), "{closing}");
    }

    #[tokio::test]
    async fn the_gateway_s_shutdown_ends_every_stream() {
        let (_nats, state, _, _) = setup(who(Role::Supervisor, "371600")).await;
        let stop = StreamShutdown::default();
        let app = crate::router(
            state.clone(),
            bangban_platform::health::Readiness { nats: state.client.clone(), databases: vec![] },
        )
        .layer(Extension(stop.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move { axum::serve(listener, app).await });
        let token =
            state.auth.issue("sup", Role::Supervisor, "371600", None, None, Duration::from_secs(60)).expect("token");
        let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
        let request = format!(
            "GET /api/v1/stream HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {token}\r\nconnection: close\r\n\r\n"
        );
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        conn.write_all(request.as_bytes()).await.unwrap();
        let seen = Arc::new(tokio::sync::Mutex::new(String::new()));
        let reader = {
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                loop {
                    match conn.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.lock().await.push_str(&String::from_utf8_lossy(&buf[..n])),
                    }
                }
            })
        };
        let opened = async {
            while !seen.lock().await.contains("event: ready") {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        tokio::time::timeout(WAIT, opened).await.expect("the stream opens");
        assert!(seen.lock().await.contains("text/event-stream"));
        stop.0.cancel();
        tokio::time::timeout(WAIT, reader).await.expect("the response ends").unwrap();
        let text = seen.lock().await.clone();
        assert!(text.contains("event: closing") && text.contains("shutdown"), "{text}");
        server.abort();
    }
}
