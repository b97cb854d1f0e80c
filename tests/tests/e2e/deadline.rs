//! Deadlines end to end through the gateway (限时办结 §4.3, 跟踪办理 §7.5): a routed task's working-day clock
//! starts when the unit receives it; a statutory pause and an approved extension move its due instant; the
//! warning, then overdue, then a supervision notice (督办单) that the unit answers and that is escalated with
//! its evidence pack when nothing concludes, then the supervisor's outcome; business monitoring by office;
//! problems taken up by a consultation; every list scoped by who asks.
//!
//! The clock test drives the process-wide platform clock by hand, so it runs only where every test has its own
//! process (cargo-nextest), like `clock.rs`.

use std::time::Duration;

use async_nats::jetstream::consumer::{Consumer, pull};
use bangban_contracts::{
    CloudEvent,
    deadline::{
        AlertLevel, ClockAlarm, ClockPage, ClockStatus, ClockView, ConsultationView, MeetingPage, Monitoring,
        PauseKind, ProblemPage, ProblemStatus, ProblemView, SupervisionKind, SupervisionPage, SupervisionStatus,
        SupervisionView,
    },
    intake::CaseView,
    planning::PlanView,
    routing::{TaskStatus, TaskView},
};
use bangban_gateway::auth::Role;
use bangban_platform::clock;
use chrono::{DateTime, Days, NaiveTime, Utc};
use reqwest::{Method, Response};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::*;

const CITY: &str = "371600";
const COUNTY: &str = "371625";
const OTHER_COUNTY: &str = "371621";

/// How long the platform may take to react (a consumer, the alarm engine, the outbox relay).
const REACT: Duration = Duration::from_secs(30);

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

/// A problem document with the expected status; checks the media type and the two languages.
async fn problem(res: Response, status: u16, what: &str) -> Value {
    let content_type = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let p: Value = expect!(res, status, what).await;
    assert_eq!(content_type, "application/problem+json", "{what}: {p}");
    assert!(p["title"].is_string() && p["title_en"].is_string(), "{what}: zh-CN and English: {p}");
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
async fn publish_and_wait_for_tasks(app: &TestApp, case: &CaseView) -> Vec<TaskView> {
    let specialist = specialist_of(app, case);
    let plan_url = format!("/api/v1/cases/{}/plan", case.id);
    let drafted = eventually(REACT, || async { get(app, &specialist, &plan_url).await.status() == 200 }).await;
    assert!(drafted, "no plan for case {} in time", case.id);
    let plan: PlanView = expect!(
        post(app, &specialist, &format!("{plan_url}/publish"), &json!({"note": "方案已与服务对象确认"})).await,
        200,
        "publish",
    )
    .await;
    let tasks_url = format!("/api/v1/cases/{}/tasks", case.id);
    let routed = eventually(REACT, || async {
        let tasks: Vec<TaskView> = expect!(get(app, &specialist, &tasks_url).await, 200, "case tasks").await;
        tasks.len() == plan.items.len()
    })
    .await;
    assert!(routed, "the plan's {} items were not routed in time", plan.items.len());
    expect!(get(app, &specialist, &tasks_url).await, 200, "case tasks").await
}

/// A task's clock as `token` sees it.
async fn clock_of(app: &TestApp, token: &str, task: Uuid) -> ClockView {
    expect!(get(app, token, &format!("/api/v1/tasks/{task}/clock")).await, 200, "clock").await
}

/// Polls the clock until `done` holds; returns it.
async fn clock_until(
    app: &TestApp,
    token: &str,
    task: Uuid,
    what: &str,
    done: impl Fn(&ClockView) -> bool,
) -> ClockView {
    let deadline = tokio::time::Instant::now() + REACT;
    let mut last = None;
    while tokio::time::Instant::now() < deadline {
        let res = get(app, token, &format!("/api/v1/tasks/{task}/clock")).await;
        if res.status() == 200 {
            let c: ClockView = res.json().await.expect("clock");
            if done(&c) {
                return c;
            }
            last = Some(c);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what}: the clock is {last:#?}");
}

/// Moves the platform clock to `at` (forward only).
fn move_clock_to(at: DateTime<Utc>) {
    let by = at - clock::now();
    assert!(by > chrono::Duration::zero(), "the clock only moves forward: to {at} from {}", clock::now());
    clock::advance(by);
}

/// The next event of a consumer with its subject, acknowledged.
async fn next_event(consumer: &Consumer<pull::Config>, wait: Duration) -> Option<(String, CloudEvent)> {
    let msg = next_message(consumer, wait).await?;
    let event = CloudEvent::from_parts(msg.headers.as_ref(), msg.payload.clone()).expect("a CloudEvent");
    msg.ack().await.expect("ack");
    Some((msg.subject.to_string(), event))
}

/// Waits for the event about `task` on a consumer; returns its subject and data.
async fn event_about(consumer: &Consumer<pull::Config>, task: Uuid) -> (String, CloudEvent) {
    let deadline = tokio::time::Instant::now() + REACT;
    while tokio::time::Instant::now() < deadline {
        if let Some((subject, event)) = next_event(consumer, Duration::from_millis(500)).await
            && event.subject.as_deref() == Some(task.to_string().as_str())
        {
            return (subject, event);
        }
    }
    panic!("no event about {task} in time");
}

/// The end of a day in Asia/Shanghai (the instant a deadline day expires).
fn end_of_day(date: chrono::NaiveDate) -> DateTime<Utc> {
    let next = date.checked_add_days(Days::new(1)).expect("a next day");
    let local = next.and_time(NaiveTime::MIN) - chrono::Duration::hours(8);
    DateTime::from_naive_utc_and_offset(local, Utc)
}

fn shanghai_today() -> chrono::NaiveDate {
    (clock::now() + chrono::Duration::hours(8)).date_naive()
}

#[tokio::test]
async fn a_late_task_is_warned_supervised_escalated_and_decided() {
    // The clock is process-wide: move it only where every test has its own process (nextest).
    if std::env::var_os("NEXTEST_RUN_ID").is_none() {
        eprintln!("not under cargo-nextest: this test drives the process-wide clock and is skipped");
        return;
    }
    // Monday 2 March 2026, 09:00 in Beijing: a working day, before anything starts.
    let t0: DateTime<Utc> = "2026-03-02T01:00:00Z".parse().unwrap();
    clock::set_manual(t0);
    let app = TestApp::spawn().await;
    let js = app.js();

    let case = create_case(&app, COUNTY, COUNTY, "91440300708461136T").await;
    let tasks = publish_and_wait_for_tasks(&app, &case).await;
    let specialist = specialist_of(&app, &case);
    // The dispatched task at a county unit with the longest promised time (a warning before the due day).
    let task = tasks
        .iter()
        .filter(|t| t.status == TaskStatus::Dispatched && t.unit_office == COUNTY && t.promised_working_days >= 2)
        .max_by_key(|t| t.promised_working_days)
        .expect("a dispatched task of several working days at a county unit")
        .clone();
    let officer = app.officer_token(&task.unit_code, COUNTY);
    let county_admin = app.token_as("admin-371625", Role::OfficeAdmin, COUNTY);
    let city_admin = app.token_as("admin-371600", Role::OfficeAdmin, CITY);
    let supervisor = app.token_as("supervisor-371600", Role::Supervisor, CITY);
    let applicant = app.token(Role::Applicant, COUNTY, Some(&case.applicant.id.to_string()));
    let clock_url = format!("/api/v1/tasks/{}/clock", task.id);

    // Dispatched: the clock waits for the unit's receipt.
    let waiting =
        clock_until(&app, &specialist, task.id, "awaiting receipt", |c| c.status == ClockStatus::AwaitingReceipt).await;
    assert_eq!((waiting.due_at, waiting.started_at), (None, None));
    assert_eq!(waiting.dispatched_at, Some(t0));
    assert_eq!((waiting.office.as_str(), waiting.unit_code.as_str()), (COUNTY, task.unit_code.as_str()));
    assert_eq!(
        (waiting.applicant_id, waiting.specialist_id.as_str()),
        (case.applicant.id, case.specialist_id.as_str())
    );

    // The officer receives it: the clock runs from now, with its due date and instant.
    let received: TaskView = expect!(
        post(&app, &officer, &format!("/api/v1/tasks/{}/transitions", task.id), &json!({"action": "receive"})).await,
        200,
        "receive",
    )
    .await;
    assert_eq!(received.status, TaskStatus::Received);
    let running = clock_until(&app, &officer, task.id, "running", |c| c.status == ClockStatus::Running).await;
    assert_eq!((running.started_at, running.alert), (Some(t0), AlertLevel::Normal));
    assert_eq!(running.promised_working_days, task.promised_working_days);
    let (due_date, due_at) = (running.due_date.expect("due date"), running.due_at.expect("due instant"));
    assert_eq!(due_at, end_of_day(due_date), "the due instant is the end of the due day in Beijing");
    assert!(running.warn_at.is_some_and(|w| w < due_at), "{running:#?}");
    assert_eq!(running.remaining_working_days, Some(task.promised_working_days as i32));
    assert!(running.timeline.iter().any(|e| e.kind == "started"), "{:?}", running.timeline);
    let direct = app.deadline.get_clock(task.id).await.expect("deadline answers directly");
    assert_eq!(direct, running, "the gateway passes deadline's answer through (the clock stands still)");
    let dispatched = tasks.iter().filter(|t| t.status == TaskStatus::Dispatched).count() as i64;
    assert!(count_rows(&app.deadline_db, "clock").await >= dispatched, "a clock per dispatched task");

    // Who reads the clock: like the task.
    for (who, token) in
        [("the applicant", &applicant), ("the city's admin", &city_admin), ("a supervisor", &supervisor)]
    {
        assert_eq!(clock_of(&app, token, task.id).await.task_id, task.id, "{who}");
    }
    let other_applicant = app.token(Role::Applicant, COUNTY, Some(&Uuid::now_v7().to_string()));
    problem(get(&app, &other_applicant, &clock_url).await, 404, "another applicant").await;
    problem(get(&app, &app.officer_token("371625-ZZZZ", COUNTY), &clock_url).await, 404, "another unit").await;
    problem(get(&app, &app.token(Role::Agent, OTHER_COUNTY, None), &clock_url).await, 404, "another county").await;
    problem(get(&app, &app.token(Role::Integrator, CITY, None), &clock_url).await, 403, "an integrator").await;
    problem(get(&app, &officer, &format!("/api/v1/tasks/{}/clock", Uuid::now_v7())).await, 404, "no such task").await;
    let p = problem(get(&app, &officer, "/api/v1/tasks/soon/clock").await, 400, "a malformed id").await;
    assert_eq!(fields(&p), ["id"], "{p}");
    let case_clocks: Vec<ClockView> =
        expect!(get(&app, &specialist, &format!("/api/v1/cases/{}/clocks", case.id)).await, 200, "case clocks").await;
    assert!(case_clocks.iter().any(|c| c.task_id == task.id) && case_clocks.iter().all(|c| c.case_id == case.id));
    let at_unit: Vec<ClockView> =
        expect!(get(&app, &officer, &format!("/api/v1/cases/{}/clocks", case.id)).await, 200, "the unit's").await;
    assert!(!at_unit.is_empty() && at_unit.iter().all(|c| c.unit_code == task.unit_code), "{at_unit:#?}");

    // A statutory pause (专家评审) by the unit: no due instant while it lasts …
    let changes = consumer(&js, &format!("bb.evt.{COUNTY}.task.clock_changed.{}", task.unit_code)).await;
    let p = problem(
        post(&app, &officer, &format!("{clock_url}/pauses"), &json!({"kind": "lunch", "reason": "x"})).await,
        422,
        "an unknown kind",
    )
    .await;
    assert_eq!(fields(&p), ["kind"], "{p}");
    let p = problem(
        post(&app, &officer, &format!("{clock_url}/pauses"), &json!({"kind": "hearing"})).await,
        422,
        "no reason",
    )
    .await;
    assert_eq!(fields(&p), ["reason"], "{p}");
    problem(
        post(&app, &applicant, &format!("{clock_url}/pauses"), &json!({"kind": "hearing", "reason": "听证"})).await,
        403,
        "the applicant does not work the task",
    )
    .await;
    let paused: ClockView = expect!(
        post(
            &app,
            &officer,
            &format!("{clock_url}/pauses"),
            &json!({"kind": "expert_review", "reason": "组织专家评审（施工图专家论证）"})
        )
        .await,
        200,
        "pause",
    )
    .await;
    assert_eq!((paused.status, paused.due_at, paused.warn_at), (ClockStatus::Paused, None, None));
    let pause = paused.pauses.iter().find(|p| p.kind == PauseKind::ExpertReview).expect("the pause").clone();
    assert_eq!((pause.started_at, pause.ended_at), (t0, None));
    assert_eq!(pause.started_by, format!("officer-{}", task.unit_code));
    let (subject, event) = event_about(&changes, task.id).await;
    assert_eq!(subject, format!("bb.evt.{COUNTY}.task.clock_changed.{}", task.unit_code));
    assert_eq!(event.source, "/bangban/deadline");
    let alarm: ClockAlarm = event.data_as().expect("ClockAlarm");
    assert_eq!((alarm.reason.as_str(), alarm.status), ("paused", ClockStatus::Paused));

    // … ended the next working day: that day is excluded, the due instant a working day later.
    move_clock_to(t0 + chrono::Duration::days(1));
    let end_url = format!("{clock_url}/pauses/{}/end", pause.id);
    problem(
        post(&app, &officer, &format!("{clock_url}/pauses/{}/end", Uuid::now_v7()), &json!({})).await,
        404,
        "no such pause",
    )
    .await;
    let resumed: ClockView =
        expect!(post(&app, &officer, &end_url, &json!({"note": "专家评审已完成"})).await, 200, "end the pause").await;
    assert_eq!((resumed.status, resumed.paused_working_days), (ClockStatus::Running, 1), "{resumed:#?}");
    let due_after_pause = resumed.due_at.expect("due again");
    assert!(due_after_pause > due_at, "the pause moved the due instant: {due_after_pause} after {due_at}");
    assert!(resumed.pauses.iter().any(|p| p.id == pause.id && p.ended_at.is_some()));
    problem(post(&app, &officer, &end_url, &json!({})).await, 409, "an ended pause").await;
    let (_, event) = event_about(&changes, task.id).await;
    assert_eq!(event.data_as::<ClockAlarm>().expect("ClockAlarm").reason, "resumed");

    // An extension (延期) is approved by an admin of the unit's office; nobody else records one.
    let extension_url = format!("{clock_url}/extensions");
    let extension =
        json!({"working_days": 2, "reason": "情况复杂，经负责人批准延长两个工作日", "requested_by": "officer"});
    for (who, token) in [
        ("the unit's officer", officer.clone()),
        ("the case's specialist", specialist.clone()),
        ("a supervisor", supervisor.clone()),
        ("the applicant", applicant.clone()),
    ] {
        let p = problem(post(&app, &token, &extension_url, &extension).await, 403, who).await;
        assert!(p["detail"].is_string() && p["detail_en"].is_string(), "{who}: {p}");
    }
    problem(
        post(&app, &app.token_as("admin-371621", Role::OfficeAdmin, OTHER_COUNTY), &extension_url, &extension).await,
        404,
        "another county's admin does not see the task",
    )
    .await;
    let p = problem(
        post(&app, &county_admin, &extension_url, &json!({"working_days": "ten", "reason": "r"})).await,
        422,
        "a wrong type",
    )
    .await;
    assert_eq!(fields(&p), ["working_days"], "{p}");
    let p = problem(
        post(&app, &county_admin, &extension_url, &json!({"working_days": 0, "reason": "r"})).await,
        422,
        "no days",
    )
    .await;
    assert_eq!(fields(&p), ["working_days"], "{p}");
    let extended: ClockView = expect!(post(&app, &county_admin, &extension_url, &extension).await, 200, "extend").await;
    assert_eq!(extended.extension_working_days, 2);
    assert_eq!(extended.extensions.len(), 1);
    assert_eq!(extended.extensions[0].approved_by, "admin-371625");
    let due_at = extended.due_at.expect("due");
    assert!(due_at > due_after_pause, "the extension moved the due instant: {due_at} after {due_after_pause}");
    let warn_at = extended.warn_at.expect("a warning instant");
    assert!(warn_at > clock::now(), "the warning is still to come");
    let (_, event) = event_about(&changes, task.id).await;
    assert_eq!(event.data_as::<ClockAlarm>().expect("ClockAlarm").reason, "extended");

    // Past the warning threshold: 预警, and `task.warning` on the unit's office subject.
    let warnings = consumer(&js, &format!("bb.evt.{COUNTY}.task.warning.{}", task.unit_code)).await;
    move_clock_to(warn_at + chrono::Duration::minutes(1));
    let warned = clock_until(&app, &officer, task.id, "warning", |c| c.alert == AlertLevel::Warning).await;
    assert!(warned.timeline.iter().any(|e| e.kind == "warning"), "{:?}", warned.timeline);
    let (subject, event) = event_about(&warnings, task.id).await;
    assert_eq!(subject, format!("bb.evt.{COUNTY}.task.warning.{}", task.unit_code));
    assert_eq!(event.type_, "cn.binzhou.bangban.task.warning.v1");
    let alarm: ClockAlarm = event.data_as().expect("ClockAlarm");
    assert_eq!((alarm.task_id, alarm.alert, alarm.due_at), (task.id, AlertLevel::Warning, Some(due_at)));
    assert_eq!(alarm.scheduled_for, Some(warn_at));
    let board: ClockPage = expect!(get(&app, &officer, "/api/v1/clocks?alert=warning").await, 200, "warnings").await;
    assert!(board.items.iter().any(|c| c.task_id == task.id), "{board:#?}");
    assert!(board.items.iter().all(|c| c.unit_code == task.unit_code && c.alert == AlertLevel::Warning));

    // Past the due instant: 逾期, and a supervision notice to the unit.
    let overdue_events = consumer(&js, &format!("bb.evt.{COUNTY}.task.overdue.{}", task.unit_code)).await;
    move_clock_to(due_at + chrono::Duration::minutes(1));
    let overdue = clock_until(&app, &officer, task.id, "overdue", |c| c.alert == AlertLevel::Overdue).await;
    assert!(overdue.remaining_working_days.is_some_and(|r| r < 0), "{overdue:#?}");
    let (_, event) = event_about(&overdue_events, task.id).await;
    assert_eq!(event.data_as::<ClockAlarm>().expect("ClockAlarm").alert, AlertLevel::Overdue);
    let by_task = format!("/api/v1/supervision?task_id={}", task.id);
    let issued = eventually(REACT, || async {
        let page: SupervisionPage = expect!(get(&app, &officer, &by_task).await, 200, "notices").await;
        !page.items.is_empty()
    })
    .await;
    assert!(issued, "no supervision notice for the overdue task");
    let page: SupervisionPage = expect!(get(&app, &officer, &by_task).await, 200, "notices").await;
    assert_eq!(page.items.len(), 1, "{page:#?}");
    let notice = page.items[0].clone();
    assert_eq!((notice.kind, notice.status), (SupervisionKind::Overdue, SupervisionStatus::Issued));
    assert_eq!(
        (notice.task_id, notice.unit_code.as_str(), notice.unit_office.as_str()),
        (task.id, task.unit_code.as_str(), COUNTY)
    );
    assert!(notice.number.starts_with("滨督〔2026〕371625-"), "{}", notice.number);
    assert!(notice.days_overdue >= 1);
    let notice_url = format!("/api/v1/supervision/{}", notice.id);
    let county_list: SupervisionPage =
        expect!(get(&app, &county_admin, "/api/v1/supervision?limit=200").await, 200, "the county's").await;
    assert!(county_list.items.iter().any(|n| n.id == notice.id));
    assert!(county_list.items.iter().all(|n| n.unit_office == COUNTY || n.office == COUNTY));
    problem(
        get(&app, &county_admin, &format!("/api/v1/supervision?office={OTHER_COUNTY}")).await,
        403,
        "another office",
    )
    .await;
    problem(get(&app, &applicant, "/api/v1/supervision").await, 403, "an applicant").await;
    problem(get(&app, &app.token(Role::Agent, OTHER_COUNTY, None), &notice_url).await, 404, "another county").await;
    problem(get(&app, &officer, &format!("/api/v1/supervision/{}", Uuid::now_v7())).await, 404, "no such notice").await;

    // The unit answers: why, and by when it will conclude.
    let answer_url = format!("{notice_url}/answer");
    let committed_on = shanghai_today() + Days::new(3);
    let answer = json!({"reason": "申请材料涉及规划条件调整，需征求自然资源部门意见", "committed_on": committed_on});
    problem(post(&app, &specialist, &answer_url, &answer).await, 403, "the specialist does not answer for the unit")
        .await;
    problem(post(&app, &city_admin, &answer_url, &answer).await, 403, "the city answers for city units only").await;
    let p = problem(
        post(&app, &officer, &answer_url, &json!({"reason": "r", "committed_on": "soon"})).await,
        422,
        "a date",
    )
    .await;
    assert_eq!(fields(&p), ["committed_on"], "{p}");
    let answered: SupervisionView = expect!(post(&app, &officer, &answer_url, &answer).await, 200, "answer").await;
    assert_eq!(answered.notice.status, SupervisionStatus::Answered);
    let given = answered.notice.answer.expect("the answer");
    assert_eq!((given.committed_on, given.by), (committed_on, format!("officer-{}", task.unit_code)));
    problem(post(&app, &officer, &answer_url, &answer).await, 409, "answered twice").await;

    // Still not concluded on the escalation day: escalated with the evidence pack.
    move_clock_to(end_of_day(notice.escalate_on) + chrono::Duration::minutes(1));
    let escalated = eventually(REACT, || async {
        let v: SupervisionView = expect!(get(&app, &supervisor, &notice_url).await, 200, "notice").await;
        v.notice.status == SupervisionStatus::Escalated
    })
    .await;
    assert!(escalated, "the notice was not escalated");
    let view: SupervisionView = expect!(get(&app, &supervisor, &notice_url).await, 200, "as a supervisor").await;
    assert!(view.notice.escalation.is_some());
    let evidence = view.evidence.expect("supervisors see the evidence");
    assert_eq!(evidence.clock.task_id, task.id);
    let kinds: Vec<&str> = evidence.clock.timeline.iter().map(|e| e.kind.as_str()).collect();
    for kind in
        ["started", "paused", "resumed", "extended", "warning", "overdue", "supervision_issued", "supervision_answered"]
    {
        assert!(kinds.contains(&kind), "{kind} in the evidence's timeline {kinds:?}");
    }
    let actions: Vec<(&str, &str)> =
        evidence.messages.iter().map(|m| (m.event_type.as_str(), m.action.as_str())).collect();
    assert!(actions.contains(&("task.dispatched", "dispatch")), "{actions:?}");
    assert!(actions.contains(&("task.received", "receive")), "{actions:?}");
    assert!(evidence.notices.iter().any(|n| n.id == notice.id));
    let as_admin: SupervisionView = expect!(get(&app, &county_admin, &notice_url).await, 200, "as an admin").await;
    assert!(as_admin.evidence.is_some(), "office admins see the evidence");
    let as_officer: SupervisionView = expect!(get(&app, &officer, &notice_url).await, 200, "as the officer").await;
    assert_eq!(as_officer.notice.status, SupervisionStatus::Escalated);
    assert!(as_officer.evidence.is_none(), "the evidence is not the unit's to read");
    let raw: Value = expect!(get(&app, &specialist, &notice_url).await, 200, "as the specialist").await;
    assert!(raw["evidence"].is_null(), "{raw}");

    // The supervisor records the outcome; nobody else does.
    let decision_url = format!("{notice_url}/decision");
    let decision = json!({"outcome": "circulated_criticism", "note": "对责任单位予以通报批评"});
    problem(post(&app, &county_admin, &decision_url, &decision).await, 403, "an admin").await;
    let p = problem(
        post(&app, &supervisor, &decision_url, &json!({"outcome": "praise", "note": "x"})).await,
        422,
        "outcome",
    )
    .await;
    assert_eq!(fields(&p), ["outcome"], "{p}");
    let decided: SupervisionView =
        expect!(post(&app, &supervisor, &decision_url, &decision).await, 200, "decide").await;
    assert_eq!(decided.notice.status, SupervisionStatus::Decided);
    assert_eq!(decided.notice.decision.expect("the outcome").by, "supervisor-371600");
    problem(post(&app, &supervisor, &decision_url, &decision).await, 409, "decided twice").await;

    // Business monitoring: the county's own figures; the city and supervisors see all; not applicants.
    let county: Monitoring = expect!(get(&app, &county_admin, "/api/v1/monitoring").await, 200, "county").await;
    assert_eq!(county.office.as_deref(), Some(COUNTY));
    assert!(county.total.overdue >= 1, "{:#?}", county.total);
    // Its units' items, and those of the cases it accepted wherever their units are; never another county's.
    assert!(county.by_office.iter().any(|f| f.key == COUNTY && f.overdue >= 1), "{:#?}", county.by_office);
    assert!(county.by_office.iter().all(|f| f.key != OTHER_COUNTY), "{:#?}", county.by_office);
    assert!(county.by_unit.iter().any(|f| f.key == task.unit_code && f.overdue >= 1), "{:#?}", county.by_unit);
    let own: Monitoring =
        expect!(get(&app, &county_admin, &format!("/api/v1/monitoring?office={COUNTY}")).await, 200, "own").await;
    assert_eq!(own.total.overdue, county.total.overdue);
    let p = problem(
        get(&app, &county_admin, &format!("/api/v1/monitoring?office={OTHER_COUNTY}")).await,
        403,
        "another county's figures",
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains(OTHER_COUNTY), "{p}");
    let city: Monitoring = expect!(get(&app, &city_admin, "/api/v1/monitoring").await, 200, "city").await;
    assert_eq!(city.office, None);
    assert!(city.total.overdue >= county.total.overdue && city.total.open >= county.total.open);
    let asked: Monitoring =
        expect!(get(&app, &supervisor, &format!("/api/v1/monitoring?office={COUNTY}")).await, 200, "supervisor").await;
    assert_eq!(asked.office.as_deref(), Some(COUNTY));
    let all: Monitoring = expect!(
        get(&app, &app.token(Role::Supervisor, OTHER_COUNTY, None), "/api/v1/monitoring").await,
        200,
        "a county's supervisor"
    )
    .await;
    assert_eq!(all.office, None);
    for (who, token) in [("an applicant", &applicant), ("an officer", &officer)] {
        problem(get(&app, token, "/api/v1/monitoring").await, 403, who).await;
    }
    let p = problem(get(&app, &county_admin, "/api/v1/monitoring?from=yesterday").await, 400, "a bad date").await;
    assert_eq!(fields(&p), ["from"], "{p}");

    // The clock boards are scoped like the inbox.
    let mine: ClockPage = expect!(get(&app, &officer, "/api/v1/clocks?limit=200").await, 200, "the unit's").await;
    assert!(mine.items.iter().any(|c| c.task_id == task.id && c.alert == AlertLevel::Overdue));
    assert!(mine.items.iter().all(|c| c.unit_code == task.unit_code));
    problem(get(&app, &officer, "/api/v1/clocks?unit=371625-ZZZZ").await, 403, "another unit").await;
    let office: ClockPage = expect!(get(&app, &county_admin, "/api/v1/clocks?limit=200").await, 200, "county").await;
    assert!(office.items.iter().all(|c| c.unit_office == COUNTY || c.office == COUNTY));
    problem(get(&app, &county_admin, &format!("/api/v1/clocks?office={OTHER_COUNTY}")).await, 403, "another office")
        .await;
    let city: ClockPage =
        expect!(get(&app, &supervisor, "/api/v1/clocks?alert=overdue&limit=200").await, 200, "all").await;
    assert!(city.items.iter().any(|c| c.task_id == task.id));
    problem(get(&app, &applicant, "/api/v1/clocks").await, 403, "an applicant").await;
    let p = problem(get(&app, &officer, "/api/v1/clocks?alert=red").await, 400, "a bad alert").await;
    assert_eq!(fields(&p), ["alert"], "{p}");

    clock::use_system();
}

#[tokio::test]
async fn problems_go_to_the_office_and_a_consultation_solves_them() {
    let app = TestApp::spawn().await;
    let case = create_case(&app, COUNTY, COUNTY, "91440300708461136T").await;
    let tasks = publish_and_wait_for_tasks(&app, &case).await;
    let specialist = specialist_of(&app, &case);
    let task =
        tasks.iter().find(|t| t.status == TaskStatus::Dispatched && t.unit_office == COUNTY).expect("a task").clone();
    let officer = app.officer_token(&task.unit_code, COUNTY);
    let county_admin = app.token_as("admin-371625", Role::OfficeAdmin, COUNTY);
    let colleague = app.token_as("colleague-371625", Role::Agent, COUNTY);
    // The clock exists once deadline has seen the dispatch.
    clock_until(&app, &specialist, task.id, "a clock", |c| c.status == ClockStatus::AwaitingReceipt).await;
    let problems_url = format!("/api/v1/tasks/{}/problems", task.id);
    let description = json!({"description": "消防设计审查意见与规划许可要求不一致，需协调"});

    // The case side records problems; the unit does not, another county does not even see the task.
    problem(post(&app, &officer, &problems_url, &description).await, 403, "the unit's officer").await;
    problem(
        post(&app, &app.token(Role::Assistant, OTHER_COUNTY, None), &problems_url, &description).await,
        404,
        "another county",
    )
    .await;
    let p = problem(post(&app, &specialist, &problems_url, &json!({"description": 5})).await, 422, "a number").await;
    assert_eq!(fields(&p), ["description"], "{p}");
    let p = problem(post(&app, &specialist, &problems_url, &json!({"description": "  "})).await, 422, "blank").await;
    assert_eq!(fields(&p), ["description"], "{p}");
    let first: ProblemView = expect!(post(&app, &specialist, &problems_url, &description).await, 201, "record").await;
    assert_eq!((first.status, first.task_id, first.office.as_str()), (ProblemStatus::Open, task.id, COUNTY));
    assert_eq!(first.recorded_by, case.specialist_id);
    let second: ProblemView = expect!(
        post(&app, &colleague, &problems_url, &json!({"description": "用地红线与规划条件不符"})).await,
        201,
        "a colleague of the accepting office",
    )
    .await;

    // Solving and referring: the specialist or an admin of the accepting office.
    let solve = json!({"solution": "已与消防审查机构沟通，按规划许可要求调整设计"});
    problem(post(&app, &colleague, &format!("/api/v1/problems/{}/solve", first.id), &solve).await, 403, "a colleague")
        .await;
    problem(
        post(
            &app,
            &app.token(Role::OfficeAdmin, OTHER_COUNTY, None),
            &format!("/api/v1/problems/{}/solve", first.id),
            &solve,
        )
        .await,
        404,
        "another county's admin",
    )
    .await;
    problem(
        post(&app, &specialist, &format!("/api/v1/problems/{}/solve", Uuid::now_v7()), &solve).await,
        404,
        "unknown",
    )
    .await;
    let solved: ProblemView =
        expect!(post(&app, &specialist, &format!("/api/v1/problems/{}/solve", first.id), &solve).await, 200, "solve")
            .await;
    assert_eq!(solved.status, ProblemStatus::Solved);
    problem(post(&app, &specialist, &format!("/api/v1/problems/{}/solve", first.id), &solve).await, 409, "twice").await;
    let referred: ProblemView = expect!(
        post(
            &app,
            &county_admin,
            &format!("/api/v1/problems/{}/refer", second.id),
            &json!({"reason": "需机构组织会商"})
        )
        .await,
        200,
        "refer",
    )
    .await;
    assert_eq!(referred.status, ProblemStatus::Referred);

    // Lists of problems, scoped, a page at a time (newest first).
    let listed: ProblemPage =
        expect!(get(&app, &specialist, &format!("/api/v1/problems?case_id={}", case.id)).await, 200, "case").await;
    assert_eq!((listed.total, listed.limit, listed.offset), (2, 50, 0));
    assert_eq!(listed.items.iter().map(|p| p.id).collect::<Vec<_>>(), [second.id, first.id]);
    let page = |offset: u64| {
        let path = format!("/api/v1/problems?case_id={}&limit=1&offset={offset}", case.id);
        let specialist = specialist.clone();
        let app = &app;
        async move {
            let page: ProblemPage = expect!(get(app, &specialist, &path).await, 200, "a page").await;
            assert_eq!((page.total, page.limit, page.offset), (2, 1, offset), "{page:?}");
            page.items.iter().map(|p| p.id).collect::<Vec<_>>()
        }
    };
    assert_eq!((page(0).await, page(1).await, page(2).await), (vec![second.id], vec![first.id], vec![]));
    let at_unit: ProblemPage = expect!(get(&app, &officer, "/api/v1/problems").await, 200, "the unit's").await;
    assert!(at_unit.total == 2 && at_unit.items.iter().all(|p| p.unit_code == task.unit_code), "{at_unit:?}");
    let elsewhere: ProblemPage =
        expect!(get(&app, &app.officer_token("371625-ZZZZ", COUNTY), "/api/v1/problems").await, 200, "another").await;
    assert!(elsewhere.items.is_empty() && elsewhere.total == 0, "{elsewhere:?}");
    problem(get(&app, &officer, "/api/v1/problems?unit=371625-ZZZZ").await, 403, "another unit's").await;
    problem(get(&app, &county_admin, &format!("/api/v1/problems?office={OTHER_COUNTY}")).await, 403, "another office")
        .await;
    let other: ProblemPage = expect!(
        get(&app, &app.token(Role::Agent, CITY, None), &format!("/api/v1/problems?office={OTHER_COUNTY}")).await,
        200,
        "city"
    )
    .await;
    assert!(other.items.is_empty());

    // A consultation (会商) takes up the referred problem and solves it; county admins record their own only.
    let meeting = json!({
        "kind": "consultation",
        "topic": "关于用地红线与规划条件衔接问题的会商",
        "held_at": Utc::now(),
        "problem_ids": [second.id],
        "attendees": [{"organization": "博兴县自然资源和规划局", "name": "王主任"}],
        "decisions": ["按规划条件调整用地红线"],
        "follow_ups": [{"action": "出具调整后的红线图", "owner": "博兴县自然资源和规划局", "due_on": Utc::now().date_naive() + Days::new(5)}]
    });
    problem(post(&app, &specialist, "/api/v1/meetings", &meeting).await, 403, "a specialist").await;
    let mut elsewhere = meeting.clone();
    elsewhere["office"] = json!(OTHER_COUNTY);
    problem(post(&app, &county_admin, "/api/v1/meetings", &elsewhere).await, 403, "for another county").await;
    let mut foreign = meeting.clone();
    foreign["problem_ids"] = json!([Uuid::now_v7()]);
    let p = problem(post(&app, &county_admin, "/api/v1/meetings", &foreign).await, 422, "an unknown problem").await;
    assert_eq!(fields(&p), ["problem_ids[0]"], "{p}");
    let mut no_one = meeting.clone();
    no_one["attendees"] = json!([]);
    let p = problem(post(&app, &county_admin, "/api/v1/meetings", &no_one).await, 422, "no attendees").await;
    assert_eq!(fields(&p), ["attendees"], "{p}");
    let recorded: ConsultationView =
        expect!(post(&app, &county_admin, "/api/v1/meetings", &meeting).await, 201, "record a meeting").await;
    assert_eq!((recorded.office.as_str(), recorded.case_ids.as_slice()), (COUNTY, [case.id].as_slice()));
    let now_solved: ProblemPage = expect!(
        get(&app, &specialist, &format!("/api/v1/problems?task_id={}&status=solved", task.id)).await,
        200,
        "solved",
    )
    .await;
    let now_solved = now_solved.items;
    assert!(now_solved.iter().any(|p| p.id == second.id && p.consultation_id == Some(recorded.id)), "{now_solved:?}");
    let mut for_county = meeting.clone();
    for_county["office"] = json!(OTHER_COUNTY);
    for_county["problem_ids"] = json!([]);
    let by_city: ConsultationView = expect!(
        post(&app, &app.token_as("admin-371600", Role::OfficeAdmin, CITY), "/api/v1/meetings", &for_county).await,
        201,
        "the city's admin records for a county",
    )
    .await;
    assert_eq!(by_city.office, OTHER_COUNTY);
    for_county["office"] = json!("379999");
    let p = problem(
        post(&app, &app.token_as("admin-371600", Role::OfficeAdmin, CITY), "/api/v1/meetings", &for_county).await,
        422,
        "an office that does not exist",
    )
    .await;
    assert_eq!(fields(&p), ["office"], "{p}");

    // Meetings, scoped, a page at a time (latest first).
    let ours: MeetingPage =
        expect!(get(&app, &specialist, &format!("/api/v1/meetings?case_id={}", case.id)).await, 200, "ours").await;
    assert_eq!(ours.items.iter().map(|m| m.id).collect::<Vec<_>>(), [recorded.id]);
    assert_eq!(ours.total, 1);
    let county: MeetingPage = expect!(get(&app, &county_admin, "/api/v1/meetings").await, 200, "county").await;
    assert!(county.items.iter().all(|m| m.office == COUNTY) && county.items.iter().any(|m| m.id == recorded.id));
    problem(get(&app, &county_admin, &format!("/api/v1/meetings?office={OTHER_COUNTY}")).await, 403, "another").await;
    let supervisor = app.token(Role::Supervisor, COUNTY, None);
    let all: MeetingPage = expect!(get(&app, &supervisor, "/api/v1/meetings").await, 200, "all").await;
    let ids = all.items.iter().map(|m| m.id).collect::<Vec<_>>();
    assert_eq!((all.total, ids.len()), (2, 2), "{all:?}");
    assert!(ids.contains(&by_city.id) && ids.contains(&recorded.id));
    let latest: MeetingPage = expect!(get(&app, &supervisor, "/api/v1/meetings?limit=1").await, 200, "latest").await;
    let earlier: MeetingPage =
        expect!(get(&app, &supervisor, "/api/v1/meetings?limit=1&offset=1").await, 200, "earlier").await;
    assert_eq!((latest.total, latest.limit, earlier.total, earlier.offset), (2, 1, 2, 1));
    assert_eq!([latest.items[0].id, earlier.items[0].id], [ids[0], ids[1]]);
    problem(get(&app, &officer, "/api/v1/meetings").await, 403, "an officer").await;
}
