//! Routing end to end through the gateway: a case's published plan becomes tasks at responsible units,
//! dispatched in the order of their predecessors; units work them step by step (each step with actor,
//! time and note, one event per step); the case's side follows them up; termination withdraws them; a
//! unit of another office gets linked handling (联动帮办代办) that both offices see.

use std::{collections::HashSet, time::Duration};

use async_nats::jetstream::consumer::{Consumer, pull};
use bangban_contracts::{
    CloudEvent,
    intake::CaseView,
    planning::PlanView,
    routing::{TaskEvent, TaskPage, TaskStatus, TaskView, UnitView},
};
use bangban_gateway::auth::Role;
use chrono::{Days, Utc};
use reqwest::{Method, Response};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::*;

const CITY: &str = "371600";
const COUNTY: &str = "371625";
const OTHER_COUNTY: &str = "371621";

async fn send(app: &TestApp, method: Method, token: &str, path: &str, body: Option<&Value>) -> Response {
    let mut req = app.http.request(method, app.url(path)).bearer_auth(token);
    if let Some(body) = body {
        req = req.json(body);
    }
    req.send().await.expect("request")
}

async fn get(app: &TestApp, token: &str, path: &str) -> Response {
    send(app, Method::GET, token, path, None).await
}

async fn post(app: &TestApp, token: &str, path: &str, body: &Value) -> Response {
    send(app, Method::POST, token, path, Some(body)).await
}

/// The body of a response, after checking its status (a panic showing what came instead).
async fn body_of(res: Response, status: u16, what: &str) -> String {
    let got = res.status().as_u16();
    let text = res.text().await.expect("body");
    assert_eq!(got, status, "{what}: {text}");
    text
}

/// The JSON body of a response with the expected status, as whatever type the call site wants.
macro_rules! expect {
    ($res:expr, $status:expr, $what:expr $(,)?) => {
        async {
            let what = $what;
            let text = body_of($res, $status, what).await;
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what}: {e}: {text}"))
        }
    };
}

/// A problem document with the expected status; checks the media type.
async fn problem(res: Response, status: u16, what: &str) -> Value {
    let content_type = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let p: Value = expect!(res, status, what).await;
    assert_eq!(content_type, "application/problem+json", "{what}: {p}");
    p
}

/// The fields a problem names.
fn fields(p: &Value) -> Vec<String> {
    p["errors"]
        .as_array()
        .map(|e| e.iter().map(|e| e["field"].as_str().unwrap_or("").to_string()).collect())
        .unwrap_or_default()
}

/// A case accepted by `office` for a project in `project_office`.
async fn create_case(app: &TestApp, office: &str, project_office: &str, credit_code: &str) -> CaseView {
    let mut body = sample_case();
    body["office"] = json!(office);
    body["project"]["office"] = json!(project_office);
    body["applicant"]["credit_code"] = json!(credit_code);
    expect!(app.post_case(&app.token(Role::Assistant, office, None), &body).await, 201, "case").await
}

fn specialist_of(app: &TestApp, case: &CaseView) -> String {
    app.token_as(&case.specialist_id, Role::Assistant, &case.office)
}

/// Waits for the draft planning generates, publishes it as the case's specialist and waits for the tasks.
async fn publish_and_wait_for_tasks(app: &TestApp, case: &CaseView) -> (PlanView, Vec<TaskView>) {
    let specialist = specialist_of(app, case);
    let plan_url = format!("/api/v1/cases/{}/plan", case.id);
    let drafted =
        eventually(Duration::from_secs(30), || async { get(app, &specialist, &plan_url).await.status() == 200 }).await;
    assert!(drafted, "no plan for case {} after 30 s", case.id);
    let plan: PlanView = expect!(
        post(app, &specialist, &format!("{plan_url}/publish"), &json!({"note": "方案已与服务对象确认"})).await,
        200,
        "publish",
    )
    .await;
    let tasks_url = format!("/api/v1/cases/{}/tasks", case.id);
    let routed = eventually(Duration::from_secs(30), || async {
        let tasks: Vec<TaskView> = expect!(get(app, &specialist, &tasks_url).await, 200, "case tasks").await;
        tasks.len() == plan.items.len()
    })
    .await;
    let tasks: Vec<TaskView> = expect!(get(app, &specialist, &tasks_url).await, 200, "case tasks").await;
    assert!(routed, "{} tasks for {} items after 30 s", tasks.len(), plan.items.len());
    (plan, tasks)
}

async fn case_tasks(app: &TestApp, token: &str, case: &CaseView) -> Vec<TaskView> {
    expect!(get(app, token, &format!("/api/v1/cases/{}/tasks", case.id)).await, 200, "case tasks").await
}

async fn task(app: &TestApp, token: &str, id: Uuid) -> TaskView {
    expect!(get(app, token, &format!("/api/v1/tasks/{id}")).await, 200, "task").await
}

fn transitions(id: Uuid) -> String {
    format!("/api/v1/tasks/{id}/transitions")
}

/// Takes a step that must succeed.
async fn step(app: &TestApp, token: &str, id: Uuid, body: Value) -> TaskView {
    let what = format!("{} on {id}", body["action"]);
    expect!(post(app, token, &transitions(id), &body).await, 200, &what).await
}

/// A step that the task's status does not allow: 409 naming the current status.
async fn refused_in(app: &TestApp, token: &str, id: Uuid, body: Value, current: TaskStatus) {
    let what = format!("{} while {}", body["action"], current.as_str());
    let p = problem(post(app, token, &transitions(id), &body).await, 409, &what).await;
    let text = p.to_string();
    assert!(text.contains(current.as_str()) || text.contains(current.label_zh()), "{what} names the status: {p}");
}

fn approval() -> Value {
    json!({
        "action": "approve",
        "document": {"kind": "建设工程规划许可证", "number": "建字第371625202600123号", "issued_on": Utc::now().date_naive()},
        "note": "准予许可"
    })
}

/// Receive, review and approve as the officer of the task's unit.
async fn approve_as_officer(app: &TestApp, t: &TaskView) -> TaskView {
    let officer = app.officer_token(&t.unit_code, &t.unit_office);
    step(app, &officer, t.id, json!({"action": "receive"})).await;
    step(app, &officer, t.id, json!({"action": "start_review"})).await;
    let done = step(app, &officer, t.id, approval()).await;
    assert_eq!(done.status, TaskStatus::Approved);
    done
}

/// The predecessors of `t` that are items of the plan (others hold nothing up).
fn plan_predecessors<'a>(t: &'a TaskView, tasks: &[TaskView]) -> Vec<&'a String> {
    t.predecessors.iter().filter(|p| tasks.iter().any(|o| &o.code == *p)).collect()
}

fn by_code<'a>(tasks: &'a [TaskView], code: &str) -> &'a TaskView {
    tasks.iter().find(|t| t.code == code).unwrap_or_else(|| panic!("a task {code}"))
}

/// Events of a consumer until `done` says enough or `wait` passes: (subject, event).
async fn collect_events(
    consumer: &Consumer<pull::Config>,
    wait: Duration,
    mut done: impl FnMut(&[(String, CloudEvent)]) -> bool,
) -> Vec<(String, CloudEvent)> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut seen = Vec::new();
    while !done(&seen) && tokio::time::Instant::now() < deadline {
        if let Some(msg) = next_message(consumer, Duration::from_millis(500)).await {
            let event = CloudEvent::from_parts(msg.headers.as_ref(), msg.payload.clone()).expect("a CloudEvent");
            msg.ack().await.expect("ack");
            seen.push((msg.subject.to_string(), event));
        }
    }
    seen
}

fn event_data(event: &CloudEvent) -> TaskEvent {
    event.data_as().expect("TaskEvent")
}

fn is_type(event: &CloudEvent, name: &str) -> bool {
    event.type_ == format!("cn.binzhou.bangban.task.{name}.v1")
}

// ---------------------------------------------------------------------------------------------------------
// Directory and dispatch
// ---------------------------------------------------------------------------------------------------------

#[tokio::test]
async fn everyone_signed_in_reads_the_unit_directory() {
    let app = TestApp::spawn().await;
    let applicant = app.token(Role::Applicant, COUNTY, Some(&Uuid::now_v7().to_string()));
    let units: Vec<UnitView> =
        expect!(get(&app, &applicant, &format!("/api/v1/units?office={COUNTY}")).await, 200, "units").await;
    assert!(units.len() >= 20, "{} units in {COUNTY}", units.len());
    assert!(units.iter().all(|u| u.office == COUNTY), "only {COUNTY}'s units");
    let approval = units.iter().find(|u| u.code == "371625-XZSP").expect("博兴县行政审批服务局");
    assert_eq!(approval.name, "博兴县行政审批服务局");
    assert!(!approval.contacts.is_empty() && !approval.contacts[0].phone.is_empty());

    let officer = app.officer_token("371625-XZSP", COUNTY);
    let typed: Vec<UnitView> =
        expect!(get(&app, &officer, "/api/v1/units?unit_type=natural_resources").await, 200, "by type").await;
    assert!(typed.len() >= 8, "one per office and the province's: {}", typed.len());
    assert!(typed.iter().all(|u| u.unit_type.as_str() == "natural_resources"));
    let all: Vec<UnitView> = expect!(get(&app, &app.staff_token(), "/api/v1/units").await, 200, "all").await;
    assert!(all.len() > units.len());

    let p = problem(get(&app, &applicant, "/api/v1/units?unit_type=castle").await, 400, "bad type").await;
    assert_eq!(fields(&p), ["unit_type"], "{p}");
    let p = problem(get(&app, &applicant, "/api/v1/units?colour=red").await, 400, "unknown parameter").await;
    assert_eq!(fields(&p), ["colour"], "{p}");
    let res = app.http.get(app.url("/api/v1/units")).send().await.unwrap();
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn tasks_are_dispatched_in_the_order_of_their_predecessors() {
    let app = TestApp::spawn().await;
    let js = app.js();
    let dispatched_events = consumer(&js, "bb.evt.*.task.dispatched.>").await;
    let case = create_case(&app, COUNTY, COUNTY, "91440300708461136T").await;
    let (plan, tasks) = publish_and_wait_for_tasks(&app, &case).await;

    // One task per item, at a concrete unit; items without predecessors in the plan go out at once.
    let mut codes: Vec<&str> = tasks.iter().map(|t| t.code.as_str()).collect();
    codes.sort();
    let mut items: Vec<&str> = plan.items.iter().map(|i| i.code.as_str()).collect();
    items.sort();
    assert_eq!(codes, items, "a task per item of the plan");
    for t in &tasks {
        assert_eq!((t.case_id, t.ledger_no.as_str(), t.office.as_str()), (case.id, case.ledger_no.as_str(), COUNTY));
        assert_eq!((t.plan_version, t.applicant_id), (1, case.applicant.id));
        assert_eq!(t.specialist_id, case.specialist_id);
        assert!(t.unit_code.starts_with(&format!("{}-", t.unit_office)) || t.unit_code.starts_with("370000-"), "{t:?}");
        let waits = !plan_predecessors(t, &tasks).is_empty();
        let expected = if waits { TaskStatus::Pending } else { TaskStatus::Dispatched };
        assert_eq!(t.status, expected, "{} with predecessors {:?}", t.code, t.predecessors);
        if waits {
            assert!(t.dispatched_at.is_none() && t.history.is_empty(), "{t:?}");
        } else {
            assert!(t.dispatched_at.is_some(), "{t:?}");
            assert_eq!(t.history.len(), 1, "{t:?}");
            assert_eq!((t.history[0].action.as_str(), t.history[0].to), ("dispatch", TaskStatus::Dispatched));
        }
    }
    assert_eq!(count_rows(&app.routing_db, "task").await as usize, tasks.len(), "one row per task");
    let first: Vec<&TaskView> = tasks.iter().filter(|t| t.status == TaskStatus::Dispatched).collect();
    assert!(!first.is_empty(), "something goes out at once");
    let direct = app.routing.get_task(first[0].id).await.expect("routing answers directly");
    assert_eq!(
        task(&app, &app.staff_token(), first[0].id).await,
        direct,
        "the gateway passes routing's answer through"
    );
    assert!(tasks.iter().any(|t| t.status == TaskStatus::Pending), "something waits");
    // By location in 博兴县: the county's own units, except what only the city has (施工图审查).
    assert!(tasks.iter().filter(|t| t.unit_office == COUNTY).count() > tasks.len() / 2);

    // Each dispatch is an event on bb.evt.<office of the unit>.task.dispatched.<unit>.
    let want: HashSet<String> = first.iter().map(|t| t.id.to_string()).collect();
    let events = collect_events(&dispatched_events, Duration::from_secs(20), |seen| {
        want.iter().all(|id| seen.iter().any(|(_, e)| e.subject.as_deref() == Some(id.as_str())))
    })
    .await;
    for t in &first {
        let (subject, event) = events
            .iter()
            .find(|(_, e)| e.subject.as_deref() == Some(t.id.to_string().as_str()))
            .unwrap_or_else(|| panic!("task.dispatched of {} on the bus", t.code));
        assert_eq!(subject, &format!("bb.evt.{}.task.dispatched.{}", t.unit_office, t.unit_code));
        assert_eq!(event.source, "/bangban/routing");
        assert!(is_type(event, "dispatched"), "{}", event.type_);
        let data = event_data(event);
        assert_eq!((data.task_id, data.case_id, data.status), (t.id, case.id, TaskStatus::Dispatched));
        assert_eq!((data.code.as_str(), data.unit_code.as_str()), (t.code.as_str(), t.unit_code.as_str()));
        assert_eq!(data.promised_working_days, t.promised_working_days);
        assert_eq!((data.applicant_id, data.linked), (case.applicant.id, t.linked.is_some()));
        assert!(data.received_at.is_none() && data.paused_since.is_none());
    }
    assert_eq!(events.len(), first.len(), "pending tasks are not announced");

    // Approving the predecessors of a waiting item dispatches it.
    let waiting = tasks
        .iter()
        .filter(|t| t.status == TaskStatus::Pending)
        .filter(|t| plan_predecessors(t, &tasks).iter().all(|p| by_code(&tasks, p).status == TaskStatus::Dispatched))
        .min_by_key(|t| plan_predecessors(t, &tasks).len())
        .expect("an item waiting only for dispatched items");
    let predecessors: Vec<&String> = plan_predecessors(waiting, &tasks);
    for (n, code) in predecessors.iter().enumerate() {
        let before: TaskView = task(&app, &app.staff_token(), waiting.id).await;
        assert_eq!(before.status, TaskStatus::Pending, "still waiting with {n} of {} approved", predecessors.len());
        approve_as_officer(&app, by_code(&tasks, code)).await;
    }
    let next = task(&app, &specialist_of(&app, &case), waiting.id).await;
    assert_eq!(next.status, TaskStatus::Dispatched, "{} goes out once {predecessors:?} are approved", waiting.code);
    assert!(next.dispatched_at.is_some());
    let filter = format!("bb.evt.{}.task.dispatched.{}", waiting.unit_office, waiting.unit_code);
    let unit_events = consumer(&js, &filter).await;
    let id = waiting.id.to_string();
    let got = collect_events(&unit_events, Duration::from_secs(20), |seen| {
        seen.iter().any(|(_, e)| e.subject.as_deref() == Some(id.as_str()))
    })
    .await;
    assert!(got.iter().any(|(_, e)| e.subject.as_deref() == Some(id.as_str())), "{filter} carries it");

    // The unit's inbox: what reached it, never what is still pending.
    let officer = app.officer_token(&waiting.unit_code, &waiting.unit_office);
    let inbox: TaskPage = expect!(get(&app, &officer, "/api/v1/tasks").await, 200, "inbox").await;
    assert!(inbox.items.iter().any(|t| t.id == waiting.id), "{:?}", inbox.items);
    assert!(inbox.items.iter().all(|t| t.unit_code == waiting.unit_code && t.status != TaskStatus::Pending));
    assert_eq!(inbox.total as usize, inbox.items.len());
    let approved_code = predecessors[0];
    let approved_unit = &by_code(&tasks, approved_code).unit_code;
    let done: TaskPage = expect!(
        get(
            &app,
            &app.officer_token(approved_unit, COUNTY),
            &format!("/api/v1/tasks?status=approved&case_id={}", case.id)
        )
        .await,
        200,
        "approved",
    )
    .await;
    assert!(done.items.iter().any(|t| &t.code == approved_code), "{:?}", done.items);
    assert!(done.items.iter().all(|t| t.status == TaskStatus::Approved));

    // A county office's inbox: its units' tasks only; the city sees every office's.
    let county: TaskPage = expect!(
        get(&app, &app.token(Role::Assistant, COUNTY, None), "/api/v1/tasks?limit=200").await,
        200,
        "county inbox"
    )
    .await;
    assert!(!county.items.is_empty() && county.items.iter().all(|t| t.unit_office == COUNTY));
    let county_supervisor: TaskPage =
        expect!(get(&app, &app.token(Role::Supervisor, COUNTY, None), "/api/v1/tasks").await, 200, "supervisor").await;
    assert!(county_supervisor.items.iter().all(|t| t.unit_office == COUNTY));
    let city: TaskPage = expect!(
        get(&app, &app.staff_token(), &format!("/api/v1/tasks?case_id={}&limit=200", case.id)).await,
        200,
        "city inbox"
    )
    .await;
    let now = case_tasks(&app, &app.staff_token(), &case).await;
    let live = now.iter().filter(|t| t.status != TaskStatus::Pending).count();
    assert!(live > first.len(), "the approvals dispatched more");
    assert_eq!(city.items.len(), live, "every dispatched task of the case");
    let paged: TaskPage = expect!(
        get(&app, &app.staff_token(), &format!("/api/v1/tasks?case_id={}&limit=1&offset=1", case.id)).await,
        200,
        "page"
    )
    .await;
    assert_eq!((paged.items.len(), paged.total as usize, paged.limit, paged.offset), (1, live, 1, 1));
    let p = problem(get(&app, &app.staff_token(), "/api/v1/tasks?status=lost").await, 400, "bad status").await;
    assert_eq!(fields(&p), ["status"], "{p}");
}

// ---------------------------------------------------------------------------------------------------------
// Status steps
// ---------------------------------------------------------------------------------------------------------

#[tokio::test]
async fn every_step_is_recorded_with_actor_time_and_note() {
    let app = TestApp::spawn().await;
    let js = app.js();
    let case = create_case(&app, COUNTY, COUNTY, "91440300708461136T").await;
    let (_, tasks) = publish_and_wait_for_tasks(&app, &case).await;
    let specialist = specialist_of(&app, &case);
    let mut at_county = tasks.iter().filter(|t| t.status == TaskStatus::Dispatched && t.unit_office == COUNTY);
    let t = at_county.next().expect("a dispatched task at a county unit").clone();
    let officer = app.officer_token(&t.unit_code, COUNTY);
    let officer_sub = format!("officer-{}", t.unit_code);
    let steps = consumer(&js, &format!("bb.evt.{COUNTY}.task.*.{}", t.unit_code)).await;
    let today = Utc::now().date_naive();

    // Malformed steps name the field; nothing happens.
    let url = transitions(t.id);
    let res = app
        .http
        .post(app.url(&url))
        .bearer_auth(&officer)
        .header("content-type", "application/json")
        .body("{\"action\": ")
        .send()
        .await
        .unwrap();
    problem(res, 400, "broken JSON").await;
    let p = problem(post(&app, &officer, &url, &json!({"action": "stamp"})).await, 422, "unknown action").await;
    assert_eq!(fields(&p), ["action"], "{p}");
    let p = problem(post(&app, &officer, &url, &json!({"note": "x"})).await, 422, "no action").await;
    assert_eq!(fields(&p), ["action"], "{p}");
    let p =
        problem(post(&app, &officer, &url, &json!({"action": "receive", "colour": "red"})).await, 422, "extra").await;
    assert_eq!(fields(&p), ["colour"], "{p}");
    let p = problem(
        post(&app, &officer, "/api/v1/tasks/not-a-uuid/transitions", &json!({"action": "receive"})).await,
        400,
        "id",
    )
    .await;
    assert_eq!(fields(&p), ["id"], "{p}");
    problem(post(&app, &officer, &transitions(Uuid::now_v7()), &json!({"action": "receive"})).await, 404, "no task")
        .await;

    // A task of a county case at a county unit has no linked handling.
    let county_staff = app.token_as("staff-371625-agent-7", Role::Agent, COUNTY);
    let p =
        problem(post(&app, &county_staff, &url, &json!({"action": "acknowledge_link"})).await, 409, "not linked").await;
    assert!(p["detail_en"].as_str().unwrap_or("").contains("no linked handling"), "{p}");

    // Illegal steps: 409 naming the current status.
    refused_in(&app, &officer, t.id, approval(), TaskStatus::Dispatched).await;
    refused_in(&app, &officer, t.id, json!({"action": "start_review"}), TaskStatus::Dispatched).await;
    refused_in(&app, &specialist, t.id, json!({"action": "collect_result", "by": "mail"}), TaskStatus::Dispatched)
        .await;

    let received = step(&app, &officer, t.id, json!({"action": "receive", "note": "已签收，材料齐全"})).await;
    assert_eq!(received.status, TaskStatus::Received);
    assert!(received.received_at.is_some(), "the promised time starts at receipt");
    refused_in(&app, &officer, t.id, json!({"action": "receive"}), TaskStatus::Received).await;
    let reviewing = step(&app, &officer, t.id, json!({"action": "start_review"})).await;
    assert_eq!(reviewing.status, TaskStatus::InReview);

    // One complete supplement notice (一次性告知).
    let due = today.checked_add_days(Days::new(10)).unwrap();
    let p = problem(
        post(&app, &officer, &url, &json!({"action": "request_supplement", "items": [], "due_on": due})).await,
        422,
        "an empty notice",
    )
    .await;
    assert_eq!(fields(&p), ["items"], "{p}");
    let p = problem(
        post(
            &app,
            &officer,
            &url,
            &json!({"action": "request_supplement", "items": [{"material": "总平面图", "reason": "缺退线"}], "due_on": "soon"}),
        )
        .await,
        422,
        "a bad date",
    )
    .await;
    assert_eq!(fields(&p), ["due_on"], "{p}");
    let notice = json!({
        "action": "request_supplement",
        "items": [
            {"material": "建设工程设计方案总平面图", "reason": "未标注建筑退线距离"},
            {"material": "建设项目用地预审与选址意见书", "reason": "复印件不清晰，请提供原件扫描件"}
        ],
        "due_on": due,
        "note": "请一次性补齐上述材料"
    });
    let waiting = step(&app, &officer, t.id, notice).await;
    assert_eq!(waiting.status, TaskStatus::SupplementRequested);
    let n = waiting.supplement.as_ref().expect("the notice");
    assert_eq!(n.items.len(), 2);
    assert_eq!(n.items[0].material, "建设工程设计方案总平面图");
    assert_eq!(n.items[1].reason, "复印件不清晰，请提供原件扫描件");
    assert_eq!((n.due_on, n.requested_by.as_str()), (due, officer_sub.as_str()));
    assert!(n.supplemented_at.is_none());
    refused_in(&app, &officer, t.id, approval(), TaskStatus::SupplementRequested).await;

    // The case's side reports the supplement; the officer may not.
    let p = problem(post(&app, &officer, &url, &json!({"action": "supplement"})).await, 403, "officer").await;
    assert_eq!(p["status"], 403);
    let supplemented = step(&app, &specialist, t.id, json!({"action": "supplement", "note": "申请人已补齐材料"})).await;
    assert_eq!(supplemented.status, TaskStatus::Supplemented);
    assert!(supplemented.supplement.as_ref().unwrap().supplemented_at.is_some());

    // Approval with the result document, then its collection by the case's side.
    let approved = step(&app, &officer, t.id, approval()).await;
    assert_eq!(approved.status, TaskStatus::Approved);
    let doc = approved.result.as_ref().expect("the result document");
    assert_eq!(
        (doc.kind.as_str(), doc.number.as_str(), doc.issued_on),
        ("建设工程规划许可证", "建字第371625202600123号", today)
    );
    refused_in(&app, &officer, t.id, approval(), TaskStatus::Approved).await;
    refused_in(
        &app,
        &specialist,
        t.id,
        json!({"action": "withdraw", "reason": "已办结不可撤回"}),
        TaskStatus::Approved,
    )
    .await;
    let p = problem(
        post(&app, &specialist, &url, &json!({"action": "collect_result", "by": "drone"})).await,
        422,
        "collected by a drone",
    )
    .await;
    assert_eq!(fields(&p), ["by"], "{p}");
    let collected = step(&app, &specialist, t.id, json!({"action": "collect_result", "by": "assistant"})).await;
    assert_eq!(collected.status, TaskStatus::ResultCollected);
    refused_in(&app, &officer, t.id, json!({"action": "receive"}), TaskStatus::ResultCollected).await;

    // The history: every step, who, when, the note.
    let seen = task(&app, &specialist, t.id).await;
    let history: Vec<(&str, TaskStatus, TaskStatus, &str)> =
        seen.history.iter().map(|s| (s.action.as_str(), s.from, s.to, s.actor.as_str())).collect();
    use TaskStatus::*;
    let sp = case.specialist_id.as_str();
    let of = officer_sub.as_str();
    assert_eq!(
        history[1..],
        [
            ("receive", Dispatched, Received, of),
            ("start_review", Received, InReview, of),
            ("request_supplement", InReview, SupplementRequested, of),
            ("supplement", SupplementRequested, Supplemented, sp),
            ("approve", Supplemented, Approved, of),
            ("collect_result", Approved, ResultCollected, sp),
        ],
        "{:?}",
        seen.history
    );
    assert_eq!((history[0].0, history[0].2), ("dispatch", Dispatched));
    assert!(seen.history.windows(2).all(|w| w[0].at <= w[1].at), "in time order");
    assert_eq!(seen.history[1].note.as_deref(), Some("已签收，材料齐全"));
    assert_eq!(seen.history[3].note.as_deref(), Some("请一次性补齐上述材料"));
    assert_eq!(seen.history[4].note.as_deref(), Some("申请人已补齐材料"));
    assert!(seen.history[6].note.as_deref().unwrap_or("").contains("assistant"), "{:?}", seen.history[6]);

    // One event per step, with what deadline and notification need. (Deadline's own `task.clock_changed`
    // travels on the same subjects: the pause and the end of the supplement.)
    let id = t.id.to_string();
    let routed = |e: &CloudEvent| e.subject.as_deref() == Some(id.as_str()) && e.source == "/bangban/routing";
    let events =
        collect_events(&steps, Duration::from_secs(20), |seen| seen.iter().filter(|(_, e)| routed(e)).count() >= 7)
            .await;
    let mine: Vec<(&String, &CloudEvent)> = events.iter().filter(|(_, e)| routed(e)).map(|(s, e)| (s, e)).collect();
    let clock_changes: Vec<&str> = events
        .iter()
        .filter(|(_, e)| e.subject.as_deref() == Some(id.as_str()) && e.source == "/bangban/deadline")
        .map(|(_, e)| e.type_.as_str())
        .collect();
    assert!(
        clock_changes.iter().all(|t| *t == "cn.binzhou.bangban.task.clock_changed.v1"),
        "deadline announces only clock changes here: {clock_changes:?}"
    );
    let kinds: Vec<&str> = mine.iter().map(|(_, e)| e.type_.split('.').nth(4).unwrap_or("")).collect();
    assert_eq!(
        kinds,
        ["dispatched", "received", "in_review", "supplement_requested", "supplemented", "approved", "result_collected"]
    );
    for (subject, event) in &mine {
        assert!(subject.starts_with(&format!("bb.evt.{COUNTY}.task.")) && subject.ends_with(&t.unit_code), "{subject}");
        let data = event_data(event);
        assert_eq!(data.applicant_id, case.applicant.id, "the applicant by reference");
        assert!(!event.data.is_empty() && !String::from_utf8_lossy(&event.data).contains("13812341234"), "no phone");
    }
    let requested = event_data(mine[3].1);
    assert!(requested.paused_since.is_some(), "the clock pauses for the supplement");
    assert_eq!(requested.supplement.as_ref().map(|n| n.items.len()), Some(2));
    assert!(requested.received_at.is_some());
    assert!(event_data(mine[4].1).paused_since.is_none(), "and runs again");
    assert_eq!(event_data(mine[5].1).result.as_ref().map(|d| d.kind.as_str()), Some("建设工程规划许可证"));

    // A refusal records the reason and the legal basis; the office's staff may act for the unit.
    let other = at_county.next().expect("another dispatched county task").clone();
    step(&app, &county_staff, other.id, json!({"action": "receive", "note": "窗口代为签收"})).await;
    step(&app, &county_staff, other.id, json!({"action": "start_review"})).await;
    let p = problem(
        post(&app, &county_staff, &transitions(other.id), &json!({"action": "reject", "reason": "不符合"})).await,
        422,
        "a refusal without its legal basis",
    )
    .await;
    assert_eq!(fields(&p), ["legal_basis"], "{p}");
    let rejected = step(
        &app,
        &county_staff,
        other.id,
        json!({"action": "reject", "reason": "项目选址不符合国土空间规划", "legal_basis": "《中华人民共和国城乡规划法》第四十条"}),
    )
    .await;
    assert_eq!(rejected.status, TaskStatus::Rejected);
    let r = rejected.rejection.as_ref().expect("the rejection");
    assert_eq!(
        (r.reason.as_str(), r.legal_basis.as_str()),
        ("项目选址不符合国土空间规划", "《中华人民共和国城乡规划法》第四十条")
    );
    assert_eq!(rejected.history.last().unwrap().actor, "staff-371625-agent-7");
    let other_officer = app.officer_token(&other.unit_code, COUNTY);
    refused_in(&app, &other_officer, other.id, approval(), TaskStatus::Rejected).await;
    refused_in(&app, &specialist, other.id, json!({"action": "collect_result", "by": "mail"}), TaskStatus::Rejected)
        .await;
}

// ---------------------------------------------------------------------------------------------------------
// Who sees and who acts
// ---------------------------------------------------------------------------------------------------------

#[tokio::test]
async fn officers_and_offices_act_only_on_their_own_tasks() {
    let app = TestApp::spawn().await;
    let case = create_case(&app, COUNTY, COUNTY, "91440300708461136T").await;
    let (_, tasks) = publish_and_wait_for_tasks(&app, &case).await;
    let t = tasks.iter().find(|t| t.status == TaskStatus::Dispatched && t.unit_office == COUNTY).expect("a task");
    let other_unit = tasks
        .iter()
        .map(|o| o.unit_code.clone())
        .find(|u| u != &t.unit_code && u.starts_with(COUNTY))
        .unwrap_or_else(|| format!("{COUNTY}-ZZZ"));
    let own = app.officer_token(&t.unit_code, COUNTY);
    let stranger = app.officer_token(&other_unit, COUNTY);
    let far = app.officer_token(&format!("{OTHER_COUNTY}-XZSP"), OTHER_COUNTY);
    let receive = json!({"action": "receive"});
    let url = format!("/api/v1/tasks/{}", t.id);

    // An officer of another unit learns nothing of the task.
    for (who, token) in [("another unit", &stranger), ("another county's unit", &far)] {
        problem(get(&app, token, &url).await, 404, who).await;
        problem(post(&app, token, &transitions(t.id), &receive).await, 404, who).await;
    }
    problem(get(&app, &far, &format!("/api/v1/cases/{}/tasks", case.id)).await, 404, "its case").await;
    // Nor lists another unit's inbox.
    let p = problem(get(&app, &stranger, &format!("/api/v1/tasks?unit={}", t.unit_code)).await, 403, "inbox").await;
    assert!(p["detail"].as_str().unwrap().contains(&other_unit), "{p}");
    let theirs: TaskPage = expect!(get(&app, &stranger, "/api/v1/tasks").await, 200, "their own inbox").await;
    assert!(theirs.items.iter().all(|i| i.unit_code == other_unit), "{:?}", theirs.items);
    // Their unit's officer sees the task, and of the case only their unit's tasks.
    assert_eq!(task(&app, &own, t.id).await.id, t.id);
    let theirs = case_tasks(&app, &own, &case).await;
    assert!(theirs.iter().any(|i| i.id == t.id));
    assert!(theirs.iter().all(|i| i.unit_code == t.unit_code), "{theirs:?}");

    // Another county's staff do not see the task; the city's see it but do not act for a county unit.
    let county_1621 = app.token(Role::Assistant, OTHER_COUNTY, None);
    problem(post(&app, &county_1621, &transitions(t.id), &receive).await, 404, "371621 acting").await;
    problem(get(&app, &county_1621, &url).await, 404, "371621 reading").await;
    problem(get(&app, &county_1621, &format!("/api/v1/cases/{}/tasks", case.id)).await, 404, "371621 case").await;
    problem(get(&app, &county_1621, &format!("/api/v1/tasks?office={COUNTY}")).await, 403, "371621 inbox").await;
    let admin_1621 = app.token(Role::OfficeAdmin, OTHER_COUNTY, None);
    problem(
        post(&app, &admin_1621, &transitions(t.id), &json!({"action": "withdraw", "reason": "外县撤回"})).await,
        404,
        "admin",
    )
    .await;
    let city = app.staff_token();
    assert_eq!(task(&app, &city, t.id).await.id, t.id);
    let p = problem(post(&app, &city, &transitions(t.id), &receive).await, 403, "the city for a county unit").await;
    assert!(p["detail"].as_str().unwrap().contains(&t.unit_code), "{p}");
    // A colleague of the specialist sees it but does not follow up the case.
    let colleague = app.token_as("staff-371625-assistant-9", Role::Assistant, COUNTY);
    problem(
        post(&app, &colleague, &transitions(t.id), &json!({"action": "withdraw", "reason": "同事撤回"})).await,
        403,
        "colleague",
    )
    .await;

    // Supervisors read and never act; integrators and experts read no tasks.
    let supervisor = app.token(Role::Supervisor, "371681", None);
    assert_eq!(task(&app, &supervisor, t.id).await.id, t.id);
    problem(post(&app, &supervisor, &transitions(t.id), &receive).await, 403, "supervisor").await;
    for role in [Role::Integrator, Role::Expert] {
        let token = app.token(role, CITY, None);
        problem(get(&app, &token, &url).await, 403, role.as_str()).await;
        problem(get(&app, &token, "/api/v1/tasks").await, 403, role.as_str()).await;
        problem(post(&app, &token, &transitions(t.id), &receive).await, 403, role.as_str()).await;
    }
    problem(get(&app, &own, "/api/v1/tasks/not-a-uuid").await, 400, "bad id").await;
    problem(get(&app, &own, &format!("/api/v1/tasks/{}", Uuid::now_v7())).await, 404, "no task").await;
    problem(get(&app, &own, "/api/v1/cases/not-a-uuid/tasks").await, 400, "bad case id").await;

    // After all that, the task is untouched; its own officer receives it.
    let untouched = task(&app, &own, t.id).await;
    assert_eq!((untouched.status, untouched.history.len()), (TaskStatus::Dispatched, 1));
    assert_eq!(step(&app, &own, t.id, receive).await.status, TaskStatus::Received);
}

#[tokio::test]
async fn the_applicant_follows_the_tasks_but_takes_no_step() {
    let app = TestApp::spawn().await;
    let case = create_case(&app, COUNTY, COUNTY, "91440300708461136T").await;
    let (_, tasks) = publish_and_wait_for_tasks(&app, &case).await;
    let applicant = app.token(Role::Applicant, COUNTY, Some(&case.applicant.id.to_string()));
    let stranger = app.token(Role::Applicant, COUNTY, Some(&Uuid::now_v7().to_string()));

    let seen = case_tasks(&app, &applicant, &case).await;
    assert_eq!(seen.len(), tasks.len(), "the applicant sees every task of their case");
    let t = seen.iter().find(|t| t.status == TaskStatus::Dispatched).expect("a dispatched task");
    assert_eq!(task(&app, &applicant, t.id).await.status, TaskStatus::Dispatched);
    for body in [
        json!({"action": "receive"}),
        json!({"action": "supplement"}),
        json!({"action": "withdraw", "reason": "我不想办了"}),
        json!({"action": "acknowledge_link"}),
    ] {
        problem(post(&app, &applicant, &transitions(t.id), &body).await, 403, &body.to_string()).await;
    }
    problem(get(&app, &applicant, "/api/v1/tasks").await, 403, "an applicant has no inbox").await;
    problem(get(&app, &stranger, &format!("/api/v1/cases/{}/tasks", case.id)).await, 404, "another's case").await;
    problem(get(&app, &stranger, &format!("/api/v1/tasks/{}", t.id)).await, 404, "another's task").await;
    assert_eq!(task(&app, &applicant, t.id).await.history.len(), 1, "nothing happened");
}

// ---------------------------------------------------------------------------------------------------------
// Termination
// ---------------------------------------------------------------------------------------------------------

#[tokio::test]
async fn terminating_the_case_withdraws_every_open_task() {
    let app = TestApp::spawn().await;
    let js = app.js();
    let withdrawn_events = consumer(&js, "bb.evt.*.task.withdrawn.>").await;
    let case = create_case(&app, COUNTY, COUNTY, "91440300708461136T").await;
    let (_, tasks) = publish_and_wait_for_tasks(&app, &case).await;
    let specialist = specialist_of(&app, &case);
    let mut dispatched = tasks.iter().filter(|t| t.status == TaskStatus::Dispatched);

    // The specialist withdraws one item; an officer has received another.
    let by_hand = dispatched.next().expect("a dispatched task");
    let p = problem(
        post(&app, &specialist, &transitions(by_hand.id), &json!({"action": "withdraw", "reason": ""})).await,
        422,
        "a withdrawal needs a reason",
    )
    .await;
    assert_eq!(fields(&p), ["reason"], "{p}");
    let w =
        step(&app, &specialist, by_hand.id, json!({"action": "withdraw", "reason": "服务对象申请撤回该事项"})).await;
    assert_eq!(w.status, TaskStatus::Withdrawn);
    refused_in(
        &app,
        &specialist,
        by_hand.id,
        json!({"action": "withdraw", "reason": "再次撤回"}),
        TaskStatus::Withdrawn,
    )
    .await;
    let received = dispatched.next().expect("another dispatched task");
    let officer = app.officer_token(&received.unit_code, &received.unit_office);
    step(&app, &officer, received.id, json!({"action": "receive"})).await;
    let announced: usize = tasks.iter().filter(|t| t.status == TaskStatus::Dispatched).count();

    let terminated: CaseView = expect!(
        post(
            &app,
            &specialist,
            &format!("/api/v1/cases/{}/terminate", case.id),
            &json!({"reason": "applicant_request", "note": "服务对象书面申请终止代办"}),
        )
        .await,
        200,
        "terminate",
    )
    .await;
    assert_eq!(terminated.status.as_str(), "terminated");
    let all_withdrawn = eventually(Duration::from_secs(20), || async {
        case_tasks(&app, &specialist, &case).await.iter().all(|t| t.status == TaskStatus::Withdrawn)
    })
    .await;
    let after = case_tasks(&app, &specialist, &case).await;
    assert!(all_withdrawn, "{:?}", after.iter().map(|t| (&t.code, t.status)).collect::<Vec<_>>());
    for t in &after {
        let last = t.history.last().expect("a step");
        assert_eq!((last.action.as_str(), last.to), ("withdraw", TaskStatus::Withdrawn), "{}", t.code);
        if t.id != by_hand.id {
            assert!(last.note.as_deref().unwrap_or("").contains("服务对象书面申请终止代办"), "{last:?}");
        }
    }
    let r = task(&app, &officer, received.id).await;
    assert_eq!(r.history.iter().map(|s| s.action.as_str()).collect::<Vec<_>>(), ["dispatch", "receive", "withdraw"]);
    refused_in(&app, &officer, received.id, json!({"action": "start_review"}), TaskStatus::Withdrawn).await;

    // Every task that had reached its unit is announced as withdrawn (pending ones never reached one).
    let events = collect_events(&withdrawn_events, Duration::from_secs(20), |seen| seen.len() >= announced).await;
    let ids: HashSet<String> = events.iter().filter_map(|(_, e)| e.subject.clone()).collect();
    for t in tasks.iter().filter(|t| t.status == TaskStatus::Dispatched) {
        assert!(ids.contains(&t.id.to_string()), "task.withdrawn for {}", t.code);
    }
    for (subject, event) in &events {
        let data = event_data(event);
        assert_eq!((data.case_id, data.status), (case.id, TaskStatus::Withdrawn));
        assert_eq!(subject, &format!("bb.evt.{}.task.withdrawn.{}", data.unit_office, data.unit_code));
    }
    let readiness: Value = app.http.get(app.url("/readyz")).send().await.unwrap().json().await.unwrap();
    assert_eq!(readiness["databases"]["routing"], "ok", "{readiness}");
}

// ---------------------------------------------------------------------------------------------------------
// Linked handling
// ---------------------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_city_case_in_a_county_is_handled_by_both_offices() {
    let app = TestApp::spawn().await;
    let js = app.js();
    let county_events = consumer(&js, &format!("bb.evt.{COUNTY}.task.>")).await;
    // Accepted by the city office for a project in 博兴县: items by location go to 博兴县's units.
    let case = create_case(&app, CITY, COUNTY, "91440300708461136T").await;
    let (_, tasks) = publish_and_wait_for_tasks(&app, &case).await;
    let specialist = specialist_of(&app, &case);
    let at_county: Vec<&TaskView> = tasks.iter().filter(|t| t.unit_office == COUNTY).collect();
    assert!(!at_county.is_empty(), "{:?}", tasks.iter().map(|t| (&t.code, &t.unit_code)).collect::<Vec<_>>());
    for t in &tasks {
        assert_eq!(t.office, CITY);
        match (&t.linked, t.status) {
            (Some(l), TaskStatus::Dispatched) => {
                assert_eq!(t.unit_office, COUNTY, "{}", t.code);
                assert_eq!((l.initiating_office.as_str(), l.linked_office.as_str()), (CITY, COUNTY));
                assert!(l.acknowledge_by > t.dispatched_at.unwrap(), "{l:?}");
                assert!(l.acknowledged_at.is_none() && l.reports.is_empty());
            }
            (None, TaskStatus::Dispatched) => assert_eq!(t.unit_office, CITY, "a dispatched county task is linked"),
            (None, _) => {}
            (Some(_), status) => panic!("{} is linked while {status:?}", t.code),
        }
    }
    let linked = *at_county.iter().find(|t| t.status == TaskStatus::Dispatched).expect("a dispatched linked task");
    let url = format!("/api/v1/tasks/{}", linked.id);

    // Both sides see it; a third office does not.
    let county_staff = app.token_as("staff-371625-assistant-3", Role::Assistant, COUNTY);
    assert_eq!(task(&app, &specialist, linked.id).await.id, linked.id);
    assert_eq!(task(&app, &county_staff, linked.id).await.id, linked.id);
    problem(get(&app, &app.token(Role::Assistant, OTHER_COUNTY, None), &url).await, 404, "371621").await;
    let county_view = case_tasks(&app, &county_staff, &case).await;
    assert_eq!(county_view.len(), at_county.len(), "the county sees the case's tasks at its units");
    assert!(county_view.iter().all(|t| t.unit_office == COUNTY));
    assert_eq!(case_tasks(&app, &specialist, &case).await.len(), tasks.len(), "the city sees them all");
    let inbox: TaskPage =
        expect!(get(&app, &county_staff, &format!("/api/v1/tasks?case_id={}", case.id)).await, 200, "inbox").await;
    assert!(inbox.items.iter().any(|t| t.id == linked.id));

    // The linked office acknowledges (once) and reports back; the city's side does not answer for it.
    let ack = json!({"action": "acknowledge_link", "note": "已安排专人对接"});
    problem(post(&app, &specialist, &transitions(linked.id), &ack).await, 403, "the initiating specialist").await;
    problem(
        post(&app, &app.token(Role::Agent, OTHER_COUNTY, None), &transitions(linked.id), &ack).await,
        404,
        "371621",
    )
    .await;
    let acknowledged = step(&app, &county_staff, linked.id, ack.clone()).await;
    assert_eq!(acknowledged.status, TaskStatus::Dispatched, "acknowledging changes no status");
    let l = acknowledged.linked.as_ref().expect("linked");
    assert_eq!(l.acknowledged_by.as_deref(), Some("staff-371625-assistant-3"));
    assert!(l.acknowledged_at.is_some());
    let p = problem(post(&app, &county_staff, &transitions(linked.id), &ack).await, 409, "twice").await;
    assert_eq!(p["status"], 409);
    let report = json!({"action": "report_link", "report": "已完成现场踏勘，材料已转交审批科室"});
    let reported = step(&app, &app.token(Role::OfficeAdmin, COUNTY, None), linked.id, report).await;
    let reports = &reported.linked.as_ref().unwrap().reports;
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].report, "已完成现场踏勘，材料已转交审批科室");

    // The unit works it; the initiating specialist collects the result at the end.
    problem(
        post(&app, &specialist, &transitions(linked.id), &json!({"action": "receive"})).await,
        403,
        "city for county",
    )
    .await;
    approve_as_officer(&app, linked).await;
    let collected = step(&app, &specialist, linked.id, json!({"action": "collect_result", "by": "assistant"})).await;
    assert_eq!(collected.status, TaskStatus::ResultCollected);
    let seen_by_county = task(&app, &county_staff, linked.id).await;
    assert_eq!(seen_by_county.status, TaskStatus::ResultCollected, "the county sees the end too");

    // The county's consumer on bb.evt.371625.> sees the linked task and its linked steps.
    let id = linked.id.to_string();
    let events = collect_events(&county_events, Duration::from_secs(20), |seen| {
        seen.iter().any(|(_, e)| e.subject.as_deref() == Some(id.as_str()) && is_type(e, "link_reported"))
    })
    .await;
    let mine: Vec<&(String, CloudEvent)> = events.iter().filter(|(_, e)| e.subject.as_deref() == Some(&id)).collect();
    let dispatched = mine.iter().find(|(_, e)| is_type(e, "dispatched")).expect("task.dispatched");
    assert_eq!(dispatched.0, format!("bb.evt.{COUNTY}.task.dispatched.{}", linked.unit_code));
    let data = event_data(&dispatched.1);
    assert!(data.linked, "{data:?}");
    assert_eq!(data.office, CITY);
    let acked = mine.iter().find(|(_, e)| is_type(e, "link_acknowledged")).expect("task.link_acknowledged");
    assert_eq!(acked.0, format!("bb.evt.{COUNTY}.task.link_acknowledged.{}", linked.unit_code));
    assert!(events.iter().all(|(s, _)| s.starts_with(&format!("bb.evt.{COUNTY}."))));
}
