//! Live updates through the gateway (GET /api/v1/stream): who sees which bus events.
//!
//! Each test reads real server-sent events while the platform works, and proves a negative with a barrier:
//! the events a caller must not see are first confirmed on the bus (a test subscription on the same
//! connection as the gateway's), then something the caller does see is caused; once it arrives, the stream has
//! been offered everything published before it.

use std::{collections::HashSet, time::Duration};

use bangban_contracts::{
    CloudEvent, Operation,
    intake::{CaseView, ops::CaseList},
    planning::PlanView,
    routing::{TaskStatus, TaskView},
};
use bangban_gateway::auth::Role;
use futures::StreamExt;
use serde_json::{Value, json};
use tokio::time::Instant;
use uuid::Uuid;

use crate::support::*;

const CITY: &str = "371600";
/// 博兴县
const COUNTY: &str = "371625";
/// 惠民县
const OTHER_COUNTY: &str = "371621";
/// Two applicants, by their unified social credit codes.
const CODE_A: &str = "91440300708461136T";
const CODE_B: &str = "914403001922038216";
/// The longest anything here may take to happen.
const REACT: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------------------------------
// Reading a stream
// ---------------------------------------------------------------------------------------------------------

/// One server-sent event.
#[derive(Debug, Clone)]
struct Sse {
    event: String,
    id: Option<String>,
    /// The `data:` lines, as JSON.
    data: Value,
}

impl Sse {
    /// The bus event's own data (`data.data`).
    fn payload(&self) -> &Value {
        &self.data["data"]
    }

    fn case_id(&self) -> Option<&str> {
        self.payload()["case_id"].as_str()
    }

    /// Whether the event is `name` about the aggregate `subject` (`ce-subject`).
    fn is(&self, name: &str, subject: impl ToString) -> bool {
        self.event == name && self.data["subject"].as_str() == Some(subject.to_string().as_str())
    }
}

/// An open `GET /api/v1/stream`, and what it has shown so far.
struct Stream {
    who: String,
    response: reqwest::Response,
    buffer: Vec<u8>,
    /// The `ready` message's data.
    ready: Value,
    /// Every event after `ready`, in order.
    seen: Vec<Sse>,
}

impl Stream {
    /// Opens the stream as `token` with `query` (`""` or `?types=…`) and waits for `ready`.
    async fn open(app: &TestApp, token: &str, query: &str, who: &str) -> Stream {
        match Stream::try_open(app, token, query, who).await {
            Ok(stream) => stream,
            Err((status, body)) => panic!("{who}: {status} {body}"),
        }
    }

    /// As [`Stream::open`]; a refusal is the status and the body.
    async fn try_open(app: &TestApp, token: &str, query: &str, who: &str) -> Result<Stream, (u16, String)> {
        // No overall timeout: a stream lasts; every read below has its own.
        let http = reqwest::Client::builder().connect_timeout(Duration::from_secs(5)).build().expect("client");
        let response =
            http.get(app.url(&format!("/api/v1/stream{query}"))).bearer_auth(token).send().await.expect("request");
        let status = response.status().as_u16();
        if status != 200 {
            return Err((status, response.text().await.unwrap_or_default()));
        }
        let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
        assert!(content_type.starts_with("text/event-stream"), "{who}: {content_type}");
        let mut stream = Stream { who: who.into(), response, buffer: Vec::new(), ready: Value::Null, seen: Vec::new() };
        let ready = stream.read(REACT).await.unwrap_or_else(|| panic!("{who}: no ready"));
        assert_eq!((ready.event.as_str(), &ready.id), ("ready", &None), "{who}: {ready:?}");
        stream.ready = ready.data;
        stream.seen.clear();
        Ok(stream)
    }

    /// The next event, or `None` when `wait` passes first (or the stream ends).
    async fn read(&mut self, wait: Duration) -> Option<Sse> {
        let deadline = Instant::now() + wait;
        loop {
            if let Some(event) = self.parse() {
                self.seen.push(event.clone());
                return Some(event);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.response.chunk()).await {
                Ok(Ok(Some(bytes))) => self.buffer.extend_from_slice(&bytes),
                Ok(Ok(None)) | Err(_) => return None,
                Ok(Err(e)) => panic!("{}: the stream broke: {e}", self.who),
            }
        }
    }

    /// One whole event out of the buffer; comments (keep-alives) are skipped.
    fn parse(&mut self) -> Option<Sse> {
        loop {
            let end = self.buffer.windows(2).position(|w| w == b"\n\n")?;
            let frame: Vec<u8> = self.buffer.drain(..end + 2).collect();
            let frame = String::from_utf8(frame).expect("UTF-8");
            let (mut event, mut id, mut data) = (None, None, Vec::new());
            for line in frame.lines().filter(|l| !l.is_empty() && !l.starts_with(':')) {
                let (field, value) = line.split_once(':').unwrap_or((line, ""));
                let value = value.strip_prefix(' ').unwrap_or(value).to_string();
                match field {
                    "event" => event = Some(value),
                    "id" => id = Some(value),
                    "data" => data.push(value),
                    other => panic!("{}: unexpected field {other:?} in {frame:?}", self.who),
                }
            }
            if event.is_none() && data.is_empty() {
                continue;
            }
            let data = data.join("\n");
            let data = serde_json::from_str(&data).unwrap_or_else(|e| panic!("{}: {e}: {data}", self.who));
            return Some(Sse { event: event.unwrap_or_else(|| "message".into()), id, data });
        }
    }

    /// Reads until `done` holds for what was seen; panics after `wait`, showing what came.
    async fn until(&mut self, what: &str, done: impl Fn(&[Sse]) -> bool) {
        let deadline = Instant::now() + REACT;
        while !done(&self.seen) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || self.read(left).await.is_none() {
                let seen: Vec<String> =
                    self.seen.iter().map(|e| format!("{} {}", e.event, e.data["subject"])).collect();
                panic!("{}: {what} not seen within {REACT:?}; seen: {seen:#?}", self.who);
            }
        }
    }

    /// The whole of what was seen, as text (to look for ids that must not be there).
    fn text(&self) -> String {
        self.seen.iter().map(|e| format!("{} {:?} {}\n", e.event, e.id, e.data)).collect()
    }

    /// Every message is a well-formed event: `event` its name, `id` its `ce-id`, `data` the envelope.
    fn assert_well_formed(&self) {
        for e in &self.seen {
            let type_ = e.data["type"].as_str().unwrap_or_else(|| panic!("{}: no type in {e:?}", self.who));
            assert_eq!(type_, format!("cn.binzhou.bangban.{}.v1", e.event), "{}: {e:?}", self.who);
            assert_eq!(e.id.as_deref(), e.data["id"].as_str(), "{}: {e:?}", self.who);
            assert!(Uuid::parse_str(e.id.as_deref().unwrap_or_default()).is_ok(), "{}: {e:?}", self.who);
            assert!(e.data["time"].is_string() && e.data["subject"].is_string(), "{}: {e:?}", self.who);
            assert!(e.payload().is_object(), "{}: {e:?}", self.who);
        }
        let ids: HashSet<&str> = self.seen.iter().filter_map(|e| e.id.as_deref()).collect();
        assert_eq!(ids.len(), self.seen.len(), "{}: each event once", self.who);
    }
}

/// What the test's own subscription sees on the bus: the gateway shares its connection, so whatever is here
/// has been delivered to the gateway's subscriptions too, in order.
struct Bus {
    subscriber: async_nats::Subscriber,
    seen: Vec<(String, CloudEvent)>,
}

impl Bus {
    async fn watch(app: &TestApp) -> Bus {
        let subscriber = app.client.subscribe("bb.evt.>").await.expect("subscribe");
        app.client.flush().await.expect("flush");
        Bus { subscriber, seen: Vec::new() }
    }

    async fn until(&mut self, what: &str, done: impl Fn(&[(String, CloudEvent)]) -> bool) {
        let deadline = Instant::now() + REACT;
        while !done(&self.seen) {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.subscriber.next()).await {
                Ok(Some(msg)) => {
                    let event = CloudEvent::from_parts(msg.headers.as_ref(), msg.payload).expect("an event");
                    self.seen.push((msg.subject.to_string(), event));
                }
                _ => panic!("{what} not on the bus within {REACT:?}"),
            }
        }
    }
}

/// Whether the bus carried `name` (`task.dispatched`) about the aggregate `subject`.
fn on_bus(seen: &[(String, CloudEvent)], name: &str, subject: impl ToString) -> bool {
    let type_ = format!("cn.binzhou.bangban.{name}.v1");
    let subject = subject.to_string();
    seen.iter().any(|(_, e)| e.type_ == type_ && e.subject.as_deref() == Some(subject.as_str()))
}

// ---------------------------------------------------------------------------------------------------------
// Cases and tasks
// ---------------------------------------------------------------------------------------------------------

async fn json_of(res: reqwest::Response, status: u16, what: &str) -> Value {
    let got = res.status().as_u16();
    let text = res.text().await.expect("body");
    assert_eq!(got, status, "{what}: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what}: {e}: {text}"))
}

async fn get(app: &TestApp, token: &str, path: &str) -> reqwest::Response {
    app.http.get(app.url(path)).bearer_auth(token).send().await.expect("request")
}

async fn post(app: &TestApp, token: &str, path: &str, body: &Value) -> reqwest::Response {
    app.http.post(app.url(path)).bearer_auth(token).json(body).send().await.expect("request")
}

/// A case accepted by `office` for a project there, for the applicant with `credit_code`.
async fn create_case(app: &TestApp, office: &str, credit_code: &str) -> CaseView {
    let mut body = sample_case();
    body["office"] = json!(office);
    body["project"]["office"] = json!(office);
    body["applicant"]["credit_code"] = json!(credit_code);
    let res = app.post_case(&app.token(Role::Assistant, office, None), &body).await;
    serde_json::from_value(json_of(res, 201, "case").await).expect("a case")
}

fn specialist_of(app: &TestApp, case: &CaseView) -> String {
    app.token_as(&case.specialist_id, Role::Assistant, &case.office)
}

/// Publishes the draft planning made, as the case's specialist, and waits for the tasks.
async fn publish_and_wait_for_tasks(app: &TestApp, case: &CaseView) -> Vec<TaskView> {
    let specialist = specialist_of(app, case);
    let plan_url = format!("/api/v1/cases/{}/plan", case.id);
    assert!(eventually(REACT, || async { get(app, &specialist, &plan_url).await.status() == 200 }).await, "a draft");
    let published = post(app, &specialist, &format!("{plan_url}/publish"), &json!({"note": "方案已确认"})).await;
    let plan: PlanView = serde_json::from_value(json_of(published, 200, "publish").await).expect("a plan");
    let tasks_url = format!("/api/v1/cases/{}/tasks", case.id);
    let routed = eventually(REACT, || async {
        let tasks: Vec<TaskView> = get(app, &specialist, &tasks_url).await.json().await.unwrap_or_default();
        tasks.len() == plan.items.len()
    })
    .await;
    assert!(routed, "the tasks of {}", case.id);
    get(app, &specialist, &tasks_url).await.json().await.expect("tasks")
}

/// A step that must succeed.
async fn step(app: &TestApp, token: &str, task: &TaskView, action: &str) {
    let res = post(app, token, &format!("/api/v1/tasks/{}/transitions", task.id), &json!({"action": action})).await;
    json_of(res, 200, &format!("{action} on {}", task.code)).await;
}

fn dispatched_at<'a>(tasks: &'a [TaskView], office: &str) -> Vec<&'a TaskView> {
    tasks.iter().filter(|t| t.status == TaskStatus::Dispatched && t.unit_office == office).collect()
}

// ---------------------------------------------------------------------------------------------------------
// Who sees what
// ---------------------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_applicant_sees_the_events_of_their_own_cases_and_never_another_applicant_s() {
    let app = TestApp::spawn().await;
    let mut bus = Bus::watch(&app).await;
    // Both applicants' first cases are published before A watches.
    let a1 = create_case(&app, COUNTY, CODE_A).await;
    let b1 = create_case(&app, COUNTY, CODE_B).await;
    assert_ne!(a1.applicant.id, b1.applicant.id);
    publish_and_wait_for_tasks(&app, &a1).await;
    publish_and_wait_for_tasks(&app, &b1).await;

    let a = app.token(Role::Applicant, COUNTY, Some(&a1.applicant.id.to_string()));
    let mut mine = Stream::open(&app, &a, "", "applicant A").await;
    let types: Vec<&str> = mine.ready["types"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(types.contains(&"case.accepted") && types.contains(&"task.dispatched"), "{types:?}");
    for staff_only in ["supervision.issued", "problem.recorded", "sms.sent", "meeting.recorded", "calendar.changed"] {
        assert!(!types.contains(&staff_only), "{staff_only} in {types:?}");
    }

    // While A watches, B's second case goes all the way: every event of it names B.
    let b2 = create_case(&app, COUNTY, CODE_B).await;
    assert_eq!(b2.applicant.id, b1.applicant.id);
    let b2_tasks = publish_and_wait_for_tasks(&app, &b2).await;
    // A calendar change moves the published plans of both: `plan.revised` names the case only, so the gateway
    // decides by the cases intake lists for A.
    let a1_specialist = specialist_of(&app, &a1);
    let schedule =
        json_of(get(&app, &a1_specialist, &format!("/api/v1/cases/{}/plan/schedule", a1.id)).await, 200, "schedule")
            .await;
    let start = schedule["start"].as_str().expect("a start date");
    let closure = json!({"working_day": false, "name": "台风停工", "reason": "市政府临时通知"});
    let admin = app.token(Role::OfficeAdmin, CITY, None);
    let res = app
        .http
        .put(app.url(&format!("/api/v1/calendar/overrides/{start}")))
        .bearer_auth(&admin)
        .json(&closure)
        .send()
        .await
        .expect("request");
    let change = json_of(res, 200, "override").await;
    let moved: Vec<&str> =
        change["plans_rescheduled"].as_array().unwrap().iter().filter_map(|p| p["case_id"].as_str()).collect();
    for case in [&a1, &b1] {
        assert!(moved.contains(&case.id.to_string().as_str()), "{} moved: {change}", case.id);
    }
    // All of that is on the bus before A's next case is accepted.
    let b2_dispatched: Vec<Uuid> =
        b2_tasks.iter().filter(|t| t.status == TaskStatus::Dispatched).map(|t| t.id).collect();
    assert!(!b2_dispatched.is_empty());
    bus.until("B's events and both plans revised", |seen| {
        on_bus(seen, "case.accepted", b2.id)
            && on_bus(seen, "plan.published", b2.id)
            && b2_dispatched.iter().all(|t| on_bus(seen, "task.dispatched", t))
            && on_bus(seen, "plan.revised", a1.id)
            && on_bus(seen, "plan.revised", b1.id)
    })
    .await;
    let a2 = create_case(&app, COUNTY, CODE_A).await;
    assert_eq!(a2.applicant.id, a1.applicant.id);
    mine.until("A's new case", |seen| seen.iter().any(|e| e.is("case.accepted", a2.id))).await;

    // A saw their revised plan (a case known from intake) and their new case (an event that names them) …
    assert!(mine.seen.iter().any(|e| e.is("plan.revised", a1.id)), "{}", mine.text());
    mine.assert_well_formed();
    // … and nothing of B's: not B's case, plan, tasks, nor B's revised plan.
    let own: HashSet<String> = [a1.id, a2.id].iter().map(Uuid::to_string).collect();
    for e in &mine.seen {
        assert!(e.case_id().is_some_and(|c| own.contains(c)), "not A's: {e:?}");
    }
    let text = mine.text();
    for foreign in [b1.id, b2.id, b1.applicant.id] {
        assert!(!text.contains(&foreign.to_string()), "{foreign} shown to A: {text}");
    }
    assert!(b2_dispatched.iter().all(|t| !text.contains(&t.to_string())));
}

#[tokio::test]
async fn a_county_office_sees_its_own_office_s_events_and_not_another_office_s() {
    let app = TestApp::spawn().await;
    let mut bus = Bus::watch(&app).await;
    let huimin_staff = app.token_as("staff-371621-assistant-1", Role::Assistant, OTHER_COUNTY);
    let mut huimin = Stream::open(&app, &huimin_staff, "", "惠民县 assistant").await;
    let huimin_admin = app.token(Role::OfficeAdmin, OTHER_COUNTY, None);
    let mut huimin_tasks = Stream::open(&app, &huimin_admin, "?types=task.dispatched", "惠民县, dispatches only").await;
    let city_admin = app.token(Role::OfficeAdmin, CITY, None);
    let mut city = Stream::open(&app, &city_admin, "?types=case.accepted", "the city's acceptances").await;
    assert_eq!(huimin_tasks.ready["types"], json!(["task.dispatched"]));

    // 博兴县's case goes all the way first, and is on the bus …
    let boxing = create_case(&app, COUNTY, CODE_A).await;
    let boxing_tasks = publish_and_wait_for_tasks(&app, &boxing).await;
    let boxing_dispatched: Vec<Uuid> =
        boxing_tasks.iter().filter(|t| t.status == TaskStatus::Dispatched).map(|t| t.id).collect();
    bus.until("博兴县's events", |seen| {
        on_bus(seen, "case.accepted", boxing.id)
            && on_bus(seen, "plan.published", boxing.id)
            && boxing_dispatched.iter().all(|t| on_bus(seen, "task.dispatched", t))
    })
    .await;
    // … then 惠民县's own.
    let huimin_case = create_case(&app, OTHER_COUNTY, CODE_B).await;
    let huimin_case_tasks = publish_and_wait_for_tasks(&app, &huimin_case).await;
    let at_huimin: Vec<Uuid> = dispatched_at(&huimin_case_tasks, OTHER_COUNTY).iter().map(|t| t.id).collect();
    assert!(!at_huimin.is_empty(), "惠民县's units have work: {huimin_case_tasks:?}");
    let all_dispatched = |seen: &[Sse]| at_huimin.iter().all(|t| seen.iter().any(|e| e.is("task.dispatched", t)));
    huimin.until("惠民县's dispatched tasks", all_dispatched).await;
    huimin_tasks.until("惠民县's dispatched tasks", all_dispatched).await;

    // 惠民县 saw its case accepted, its plan published, its units' tasks — all about 惠民县, nothing of 博兴县.
    assert!(huimin.seen.iter().any(|e| e.is("case.accepted", huimin_case.id)), "{}", huimin.text());
    assert!(huimin.seen.iter().any(|e| e.is("plan.published", huimin_case.id)), "{}", huimin.text());
    for stream in [&huimin, &huimin_tasks] {
        stream.assert_well_formed();
        for e in &stream.seen {
            let p = e.payload();
            let ours = p["office"] == OTHER_COUNTY || p["unit_office"] == OTHER_COUNTY;
            assert!(ours, "{}: not 惠民县's: {e:?}", stream.who);
            assert_eq!(e.case_id(), Some(huimin_case.id.to_string().as_str()), "{}: {e:?}", stream.who);
        }
        let text = stream.text();
        assert!(!text.contains(&boxing.id.to_string()), "{}: 博兴县's case shown: {text}", stream.who);
        assert!(boxing_dispatched.iter().all(|t| !text.contains(&t.to_string())), "{}: {text}", stream.who);
    }
    // The city's tasks of 惠民县's case are the city's units' business, not 惠民县's.
    let at_city: Vec<String> = dispatched_at(&huimin_case_tasks, CITY).iter().map(|t| t.id.to_string()).collect();
    assert!(at_city.iter().all(|t| !huimin.text().contains(t)), "{}", huimin.text());
    // Only what was asked for.
    assert!(huimin_tasks.seen.iter().all(|e| e.event == "task.dispatched"), "{}", huimin_tasks.text());

    // The city office sees every office's acceptances, and only those, as asked.
    city.until("both acceptances", |seen| {
        seen.iter().any(|e| e.is("case.accepted", boxing.id))
            && seen.iter().any(|e| e.is("case.accepted", huimin_case.id))
    })
    .await;
    assert!(city.seen.iter().all(|e| e.event == "case.accepted"), "{}", city.text());
}

#[tokio::test]
async fn an_officer_sees_their_own_unit_s_task_events_and_not_another_unit_s() {
    let app = TestApp::spawn().await;
    let case = create_case(&app, COUNTY, CODE_A).await;
    let tasks = publish_and_wait_for_tasks(&app, &case).await;
    let at_county = dispatched_at(&tasks, COUNTY);
    let mine = *at_county.first().expect("a dispatched task in 博兴县");
    let theirs = *at_county
        .iter()
        .find(|t| t.unit_code != mine.unit_code)
        .unwrap_or_else(|| panic!("two units of 博兴县 with work: {at_county:?}"));
    let (me, them) = (app.officer_token(&mine.unit_code, COUNTY), app.officer_token(&theirs.unit_code, COUNTY));
    let mut my_stream = Stream::open(&app, &me, "", &format!("officer of {}", mine.unit_code)).await;
    let mut their_stream = Stream::open(&app, &them, "", &format!("officer of {}", theirs.unit_code)).await;

    // A new case in the county is no officer's business (case events are not theirs) …
    let other_case = create_case(&app, COUNTY, CODE_B).await;
    // … and each unit works its own task: theirs first, mine last, so each stream's last event follows the other's.
    step(&app, &them, theirs, "receive").await;
    step(&app, &me, mine, "receive").await;
    step(&app, &them, theirs, "start_review").await;
    step(&app, &me, mine, "start_review").await;
    my_stream.until("my task in review", |seen| seen.iter().any(|e| e.is("task.in_review", mine.id))).await;
    their_stream.until("their task in review", |seen| seen.iter().any(|e| e.is("task.in_review", theirs.id))).await;

    for (stream, own, other) in [(&my_stream, mine, theirs), (&their_stream, theirs, mine)] {
        stream.assert_well_formed();
        assert!(stream.seen.iter().any(|e| e.is("task.received", own.id)), "{}: {}", stream.who, stream.text());
        for e in &stream.seen {
            assert!(e.event.starts_with("task."), "{}: not a task event: {e:?}", stream.who);
            assert_eq!(e.payload()["unit_code"], json!(own.unit_code), "{}: {e:?}", stream.who);
        }
        let text = stream.text();
        for foreign in [other.id.to_string(), other.unit_code.clone(), other_case.id.to_string()] {
            assert!(!text.contains(&foreign), "{}: {foreign} shown: {text}", stream.who);
        }
    }
}

#[tokio::test]
async fn the_stream_needs_a_token_and_known_types() {
    let app = TestApp::spawn().await;
    let url = app.url("/api/v1/stream");
    let res = app.http.get(&url).send().await.expect("request");
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers().get("content-type").unwrap(), "application/problem+json");

    let staff = app.token(Role::Assistant, COUNTY, None);
    let res = get(&app, &staff, "/api/v1/stream?types=task.approved,task.exploded").await;
    assert_eq!(res.headers().get("content-type").unwrap(), "application/problem+json");
    let p = json_of(res, 400, "an unknown type").await;
    assert_eq!(p["errors"][0]["field"], "types", "{p}");
    let (zh, en) = (p["errors"][0]["reason"].as_str().unwrap(), p["errors"][0]["reason_en"].as_str().unwrap());
    assert!(zh.contains("task.exploded") && zh.contains("未知的事件类型"), "{p}");
    assert!(en.contains("task.exploded") && en.contains("task.approved"), "{p}");
    let p = json_of(get(&app, &staff, "/api/v1/stream?kinds=task.approved").await, 400, "an unknown parameter").await;
    assert_eq!(p["errors"][0]["field"], "kinds", "{p}");

    // What a role never sees is no stream at all; a token without its applicant neither.
    let applicant = app.token(Role::Applicant, COUNTY, Some(&Uuid::now_v7().to_string()));
    json_of(get(&app, &applicant, "/api/v1/stream?types=sms.sent,supervision.issued").await, 403, "staff only").await;
    let nobody = app.token(Role::Applicant, COUNTY, Some("not-a-uuid"));
    json_of(get(&app, &nobody, "/api/v1/stream").await, 403, "no applicant").await;

    // The route is documented as an event stream.
    let doc: Value = app.http.get(app.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert!(doc["paths"]["/api/v1/stream"]["get"]["responses"]["200"]["content"]["text/event-stream"].is_object());
}

// ---------------------------------------------------------------------------------------------------------
// Bounds: streams per person and per gateway, intake asked once per applicant stream
// ---------------------------------------------------------------------------------------------------------

/// `GET /api/v1/stream` as `token`, expected to be refused with 429: the problem, checked for its shape.
async fn refused_stream(app: &TestApp, token: &str) -> Value {
    let res = get(app, token, "/api/v1/stream").await;
    assert_eq!(res.headers().get("content-type").unwrap(), "application/problem+json");
    let retry: u64 = res.headers().get("retry-after").expect("Retry-After").to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let p = json_of(res, 429, "one stream too many").await;
    assert_eq!(p["type"], "/problems/too-many-streams", "{p}");
    assert!(p["title"].as_str().unwrap().contains("实时推送") && p["title_en"].is_string(), "{p}");
    p
}

/// Opens a stream as `token` once a slot is free (a closed stream's slot is given back when the gateway notices
/// the connection gone).
async fn open_when_free(app: &TestApp, token: &str, who: &str) -> Stream {
    let deadline = Instant::now() + REACT;
    loop {
        match Stream::try_open(app, token, "", who).await {
            Ok(stream) => return stream,
            Err((429, _)) if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(100)).await,
            Err((status, body)) => panic!("{who}: no slot freed within {REACT:?}: {status} {body}"),
        }
    }
}

/// The value of the sample `name` (with its labels, e.g. `{reason="per_person"}`) at `/metrics`; 0 when absent.
async fn metric(app: &TestApp, name: &str) -> f64 {
    let text = app.http.get(app.url("/metrics")).send().await.expect("metrics").text().await.expect("text");
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
        .map_or(0.0, |v| v.trim().parse().expect("a number"))
}

#[tokio::test]
async fn one_person_holds_at_most_three_streams_and_closing_one_frees_a_slot() {
    let app = TestApp::spawn().await;
    let me = app.token_as("staff-371625-assistant-1", Role::Assistant, COUNTY);
    let mut mine = Vec::new();
    for i in 1..=3 {
        mine.push(Stream::open(&app, &me, "", &format!("my stream {i}")).await);
    }
    assert!(metric(&app, "bangban_gateway_streams_open").await >= 3.0);
    let refused_before = metric(&app, "bangban_gateway_streams_refused_total{reason=\"per_person\"}").await;

    // The fourth is refused, saying why in Chinese and English …
    let p = refused_stream(&app, &me).await;
    let (zh, en) = (p["detail"].as_str().unwrap(), p["detail_en"].as_str().unwrap());
    assert!(zh.contains("3") && zh.contains("上限"), "{p}");
    assert!(en.contains("3 live streams") && en.contains("one person"), "{p}");
    assert_eq!(p["instance"], "/api/v1/stream", "{p}");
    let refused_after = metric(&app, "bangban_gateway_streams_refused_total{reason=\"per_person\"}").await;
    assert!(refused_after > refused_before, "counted: {refused_before} → {refused_after}");
    // … whatever the types asked for (the bound is per person, not per stream kind) …
    let res = get(&app, &me, "/api/v1/stream?types=task.approved").await;
    assert_eq!(res.status(), 429);
    // … while another person opens theirs.
    let colleague = app.token_as("staff-371625-agent-1", Role::Agent, COUNTY);
    let _theirs = Stream::open(&app, &colleague, "", "a colleague").await;

    // The streams still carry events.
    let case = create_case(&app, COUNTY, CODE_A).await;
    for stream in &mut mine {
        stream.until("the new case", |seen| seen.iter().any(|e| e.is("case.accepted", case.id))).await;
    }

    // Closing one frees a slot for a new one, and only one.
    drop(mine.pop());
    mine.push(open_when_free(&app, &me, "my stream, again").await);
    refused_stream(&app, &me).await;
}

#[tokio::test]
async fn a_gateway_holds_at_most_its_streams_in_all() {
    let app = TestApp::spawn_with(|s| s.http.streams_max = 2).await;
    let first = app.token_as("staff-371625-assistant-1", Role::Assistant, COUNTY);
    let second = app.token_as("staff-371621-assistant-1", Role::Assistant, OTHER_COUNTY);
    let third = app.token(Role::OfficeAdmin, CITY, None);
    let one = Stream::open(&app, &first, "", "the first person").await;
    let _two = Stream::open(&app, &second, "", "the second person").await;

    // A third person, who holds none: the gateway is full.
    let p = refused_stream(&app, &third).await;
    let (zh, en) = (p["detail"].as_str().unwrap(), p["detail_en"].as_str().unwrap());
    assert!(zh.contains("已满") && zh.contains("2"), "{p}");
    assert!(en.contains("gateway") && en.contains("(2)"), "{p}");
    assert!(metric(&app, "bangban_gateway_streams_refused_total{reason=\"gateway\"}").await >= 1.0);

    // One ends: the third gets its place, and the gateway is full again.
    drop(one);
    let _three = open_when_free(&app, &third, "the third person").await;
    refused_stream(&app, &first).await;
}

/// A commission (委托代办) for the applicant with `credit_code` in `office`: its acceptance also publishes
/// `materials.reviewed`, which names the case only.
async fn create_commission(app: &TestApp, office: &str, credit_code: &str) -> CaseView {
    let mut body = sample_case();
    body["office"] = json!(office);
    body["project"]["office"] = json!(office);
    body["applicant"]["credit_code"] = json!(credit_code);
    body["service_type"] = json!("commission");
    let today = chrono::Utc::now().date_naive();
    body["agreement"] = json!({
        "parties": ["滨州市某某新材料有限公司", "博兴县帮办代办中心"],
        "scope": "立项用地规划许可至施工许可阶段全部事项",
        "signed_on": (today - chrono::Days::new(8)).to_string(),
        "valid_until": (today + chrono::Days::new(365)).to_string()
    });
    body["materials"] = json!([
        {"name": "营业执照", "complete": true, "authentic": true, "valid": true},
        {"name": "项目备案证明", "complete": true, "authentic": true, "valid": true}
    ]);
    let res = app.post_case(&app.token(Role::Agent, office, None), &body).await;
    serde_json::from_value(json_of(res, 201, "commission").await).expect("a case")
}

#[tokio::test]
async fn an_applicant_s_stream_asks_intake_once_and_learns_new_cases_from_their_acceptance() {
    let app = TestApp::spawn().await;
    let mut bus = Bus::watch(&app).await;
    let a1 = create_case(&app, COUNTY, CODE_A).await;
    // Every question to intake's case list, as the bus carries it.
    let mut lists = app.client.subscribe(CaseList::subject()).await.expect("subscribe");
    app.client.flush().await.expect("flush");

    // A watches only the material reviews: their acceptances are not asked for.
    let a = app.token(Role::Applicant, COUNTY, Some(&a1.applicant.id.to_string()));
    let mut mine = Stream::open(&app, &a, "?types=materials.reviewed", "applicant A").await;
    assert_eq!(mine.ready["types"], json!(["materials.reviewed"]));
    // Longer than the stream used to wait before asking intake again about a case it did not know.
    tokio::time::sleep(Duration::from_millis(2500)).await;

    // B's commission: its review names B's case only, which A's stream does not know …
    let b = create_commission(&app, COUNTY, CODE_B).await;
    bus.until("B's review", |seen| on_bus(seen, "materials.reviewed", b.id)).await;
    // … and A's: its acceptance names A (heard, not shown), then its review names the case only.
    let a2 = create_commission(&app, COUNTY, CODE_A).await;
    assert_eq!(a2.applicant.id, a1.applicant.id);
    mine.until("A's review", |seen| seen.iter().any(|e| e.is("materials.reviewed", a2.id))).await;
    mine.assert_well_formed();
    assert!(mine.seen.iter().all(|e| e.event == "materials.reviewed" && e.case_id() == Some(&a2.id.to_string())));
    assert!(!mine.text().contains(&b.id.to_string()), "{}", mine.text());

    // Intake was asked once, when the stream opened — not for B's case, nor for A's new one.
    let mut asked = 0;
    while let Ok(Some(msg)) = tokio::time::timeout(Duration::from_millis(500), lists.next()).await {
        let filter: Value = serde_json::from_slice(&msg.payload).expect("a filter");
        assert_eq!(filter["applicant"], json!(a1.applicant.id), "only A's cases are asked for: {filter}");
        asked += 1;
    }
    assert_eq!(asked, 1, "intake is read once per applicant stream");
}
