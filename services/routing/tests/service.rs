//! Routing on real parts: a nats-server with its own JetStream store and a SQLite file or PostgreSQL schema.
//! `plan.published` and `case.terminated` are published as planning and intake would.

use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull};
use bangban_contracts::{
    CloudEvent, EventType,
    intake::{Actor, ProjectCategory},
    planning::{Level, Material, PlanChanges, PlanPublished, PublishedItem, Stage, UnitType},
    routing::{
        CaseTasks, ListTasks, PlanCompleted, ResultDocument, SupplementItem, TaskAction, TaskEvent, TaskStatus,
        TaskView, TransitionTask,
    },
};
use bangban_routing::{RoutingService, error::RoutingError};
use bangban_testkit::Harness;
use chrono::{NaiveDate, Utc};
use futures::StreamExt;
use uuid::Uuid;

type Routing = Harness<RoutingService>;

async fn spawn() -> Routing {
    let r = Harness::<RoutingService>::start().await.expect("routing");
    bangban_routing::seed::seed(&r.running.db).await.expect("units");
    r
}

fn item(code: &str, unit_type: UnitType, level: Level, predecessors: &[&str]) -> PublishedItem {
    let d = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
    PublishedItem {
        code: code.into(),
        name: format!("事项 {code}"),
        stage: Stage::EngineeringPermit,
        unit_type,
        level,
        unit_code: None,
        materials: vec![Material { name: "申请表".into(), required: true, note: None }],
        promised_working_days: 5,
        legal_basis: "《中华人民共和国城乡规划法》".into(),
        predecessors: predecessors.iter().map(|p| p.to_string()).collect(),
        planned_start: d,
        planned_end: d,
        critical: false,
        provisional: false,
    }
}

/// A diamond: A and B at once, C after A, D after B and C. Accepted by `office`, the project in 371625.
fn plan(office: &str, version: u32, items: Vec<PublishedItem>) -> PlanPublished {
    let d = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
    PlanPublished {
        case_id: Uuid::nil(),
        ledger_no: format!("BB-{office}-2026-000001"),
        office: office.into(),
        version,
        category: ProjectCategory::Industrial,
        project_id: Uuid::now_v7(),
        project_office: "371625".into(),
        project_name: "新材料项目".into(),
        applicant_id: Uuid::now_v7(),
        specialist_id: format!("staff-{office}-agent-1"),
        catalog_version: 1,
        items,
        planned_start: d,
        planned_end: d,
        total_working_days: 20,
        critical_path: vec![],
        provisional: false,
        changes: PlanChanges::default(),
        note: None,
        published_by: format!("staff-{office}-agent-1"),
        published_at: Utc::now(),
    }
}

fn diamond() -> Vec<PublishedItem> {
    vec![
        item("A", UnitType::AdministrativeApproval, Level::ByLocation, &[]),
        item("B", UnitType::NaturalResources, Level::City, &[]),
        item("C", UnitType::HousingConstruction, Level::ByLocation, &["A"]),
        item("D", UnitType::AdministrativeApproval, Level::ByLocation, &["B", "C"]),
    ]
}

async fn publish<T: serde::Serialize>(js: &jetstream::Context, t: EventType, office: &str, id: Uuid, data: &T) {
    let event = CloudEvent::new(t, "test", id.to_string(), data).unwrap();
    let subject = t.subject(office, None).unwrap().to_string();
    js.publish_with_headers(subject, event.to_headers(), event.data.clone()).await.unwrap().await.unwrap();
}

async fn tasks_when(r: &Routing, case_id: Uuid, ok: impl Fn(&[TaskView]) -> bool) -> Vec<TaskView> {
    for _ in 0..200 {
        let tasks = r.service().case_tasks(CaseTasks { case_id }).await.unwrap();
        if ok(&tasks) {
            return tasks;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("tasks of {case_id} never reached the expected state");
}

fn by_code<'a>(tasks: &'a [TaskView], code: &str) -> &'a TaskView {
    tasks.iter().find(|t| t.code == code && t.status != TaskStatus::Withdrawn).unwrap()
}

fn officer(unit: &str) -> Actor {
    Actor { sub: format!("officer-{unit}"), role: "officer".into(), office: unit[..6].into() }
}

async fn step(r: &Routing, task: &TaskView, action: TaskAction) -> Result<TaskView, RoutingError> {
    r.service().transition(TransitionTask { actor: officer(&task.unit_code), task_id: task.id, action }).await
}

async fn approve(r: &Routing, task: &TaskView) {
    step(r, task, TaskAction::Receive { note: None }).await.unwrap();
    step(r, task, TaskAction::StartReview { note: None }).await.unwrap();
    let today = Utc::now().date_naive();
    let doc = ResultDocument { kind: "许可证".into(), number: format!("NO-{}", task.code), issued_on: today };
    step(r, task, TaskAction::Approve { document: doc, note: None }).await.unwrap();
}

async fn consumer(js: &jetstream::Context, filter: &str) -> jetstream::consumer::Consumer<pull::Config> {
    js.get_stream("BANGBAN_EVENTS")
        .await
        .unwrap()
        .create_consumer(pull::Config {
            filter_subject: filter.into(),
            ack_policy: jetstream::consumer::AckPolicy::None,
            // An ephemeral consumer left without a pull for 5 s is deleted by the server; a slow setup must not lose it.
            inactive_threshold: Duration::from_secs(600),
            ..Default::default()
        })
        .await
        .unwrap()
}

async fn take(c: &jetstream::consumer::Consumer<pull::Config>, n: usize) -> Vec<(String, CloudEvent)> {
    let mut messages = c.messages().await.unwrap();
    let mut out = Vec::new();
    while out.len() < n {
        let msg =
            tokio::time::timeout(Duration::from_secs(10), messages.next()).await.expect("event").unwrap().unwrap();
        out.push((msg.subject.to_string(), CloudEvent::from_parts(msg.headers.as_ref(), msg.payload.clone()).unwrap()));
    }
    out
}

#[tokio::test]
async fn items_go_out_when_their_predecessors_are_approved_and_a_replayed_plan_changes_nothing() {
    let r = spawn().await;
    let case_id = Uuid::now_v7();
    let mut p = plan("371625", 1, diamond());
    p.case_id = case_id;
    let dispatched = consumer(&r.js, &EventType::TASK_DISPATCHED.filter_all_offices()).await;
    publish(&r.js, EventType::PLAN_PUBLISHED, "371625", case_id, &p).await;
    // The same fact again under another event id (a re-publication), and once more identical.
    publish(&r.js, EventType::PLAN_PUBLISHED, "371625", case_id, &p).await;
    let tasks = tasks_when(&r, case_id, |t| t.len() == 4 && t.iter().any(|t| t.status == TaskStatus::Dispatched)).await;
    let status = |c: &str| by_code(&tasks, c).status;
    assert_eq!(
        [status("A"), status("B"), status("C"), status("D")],
        [TaskStatus::Dispatched, TaskStatus::Dispatched, TaskStatus::Pending, TaskStatus::Pending]
    );
    assert_eq!(by_code(&tasks, "A").unit_code, "371625-XZSP", "by location: the county's unit");
    assert_eq!(by_code(&tasks, "B").unit_code, "371600-ZRZY", "a city-level item");
    assert!(by_code(&tasks, "A").linked.is_none(), "the county accepted it and the county's unit acts");
    assert!(by_code(&tasks, "B").linked.is_some(), "a city unit for a county's case is linked handling");
    let events = take(&dispatched, 2).await;
    let subjects: Vec<&str> = events.iter().map(|(s, _)| s.as_str()).collect();
    assert!(subjects.contains(&"bb.evt.371625.task.dispatched.371625-XZSP"), "{subjects:?}");
    assert!(subjects.contains(&"bb.evt.371600.task.dispatched.371600-ZRZY"), "{subjects:?}");
    let data: TaskEvent = events[0].1.data_as().unwrap();
    assert_eq!(data.case_id, case_id);
    assert_eq!(data.promised_working_days, 5);
    assert_eq!(data.applicant_id, p.applicant_id);

    // A approved → C goes; D still waits for B.
    approve(&r, by_code(&tasks, "A")).await;
    let tasks = r.service().case_tasks(CaseTasks { case_id }).await.unwrap();
    assert_eq!(by_code(&tasks, "C").status, TaskStatus::Dispatched);
    assert_eq!(by_code(&tasks, "D").status, TaskStatus::Pending);
    approve(&r, by_code(&tasks, "B")).await;
    assert_eq!(r.service().case_tasks(CaseTasks { case_id }).await.unwrap().len(), 4);
    let tasks = r.service().case_tasks(CaseTasks { case_id }).await.unwrap();
    assert_eq!(by_code(&tasks, "D").status, TaskStatus::Pending);
    approve(&r, by_code(&tasks, "C")).await;
    let tasks = r.service().case_tasks(CaseTasks { case_id }).await.unwrap();
    assert_eq!(by_code(&tasks, "D").status, TaskStatus::Dispatched);
    // Exactly one dispatch per task.
    let all = take(&dispatched, 2).await;
    assert_eq!(all.len(), 2);
    r.shutdown.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn every_step_is_recorded_and_illegal_ones_are_refused() {
    let r = spawn().await;
    let case_id = Uuid::now_v7();
    let mut p = plan("371625", 1, vec![item("A", UnitType::AdministrativeApproval, Level::ByLocation, &[])]);
    p.case_id = case_id;
    publish(&r.js, EventType::PLAN_PUBLISHED, "371625", case_id, &p).await;
    let tasks = tasks_when(&r, case_id, |t| t.len() == 1 && t[0].status == TaskStatus::Dispatched).await;
    let task = &tasks[0];
    let early = step(
        &r,
        task,
        TaskAction::Approve {
            document: ResultDocument {
                kind: "许可证".into(), number: "1".into(), issued_on: Utc::now().date_naive()
            },
            note: None,
        },
    )
    .await;
    assert!(matches!(&early, Err(RoutingError::Conflict(zh, _)) if zh.contains("已推送")), "{early:?}");
    step(&r, task, TaskAction::Receive { note: Some("窗口签收".into()) }).await.unwrap();
    assert!(matches!(step(&r, task, TaskAction::Receive { note: None }).await, Err(RoutingError::Conflict(..))));
    step(&r, task, TaskAction::StartReview { note: None }).await.unwrap();
    let due = Utc::now().date_naive() + chrono::Days::new(5);
    let notice = step(
        &r,
        task,
        TaskAction::RequestSupplement {
            items: vec![
                SupplementItem {
                    material: "建设工程设计方案总平面图".into(), reason: "未标注建筑退线距离".into()
                },
                SupplementItem { material: "授权委托书".into(), reason: "缺少法定代表人签字".into() },
            ],
            due_on: due,
            note: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(notice.status, TaskStatus::SupplementRequested);
    assert_eq!(notice.supplement.as_ref().unwrap().items.len(), 2);
    let specialist = Actor { sub: "staff-371625-agent-1".into(), role: "agent".into(), office: "371625".into() };
    r.service()
        .transition(TransitionTask {
            actor: specialist.clone(),
            task_id: task.id,
            action: TaskAction::Supplement { note: Some("已补齐".into()) },
        })
        .await
        .unwrap();
    let done = step(
        &r,
        task,
        TaskAction::Approve {
            document: ResultDocument {
                kind: "建设工程规划许可证".into(),
                number: "建字第1号".into(),
                issued_on: Utc::now().date_naive(),
            },
            note: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(done.result.as_ref().unwrap().number, "建字第1号");
    let collected = r
        .service()
        .transition(TransitionTask {
            actor: specialist,
            task_id: task.id,
            action: TaskAction::CollectResult { by: "assistant".into(), note: None },
        })
        .await
        .unwrap();
    let steps: Vec<(&str, &str)> = collected.history.iter().map(|s| (s.action.as_str(), s.actor.as_str())).collect();
    assert_eq!(
        steps,
        [
            ("dispatch", "staff-371625-agent-1"),
            ("receive", "officer-371625-XZSP"),
            ("start_review", "officer-371625-XZSP"),
            ("request_supplement", "officer-371625-XZSP"),
            ("supplement", "staff-371625-agent-1"),
            ("approve", "officer-371625-XZSP"),
            ("collect_result", "staff-371625-agent-1"),
        ]
    );
    assert_eq!(collected.history[1].note.as_deref(), Some("窗口签收"));
    assert!(collected.received_at.is_some());
    // Every task concluded: plan.completed once.
    let completed = consumer(&r.js, &EventType::PLAN_COMPLETED.subject("371625", None).unwrap().to_string()).await;
    let (_, event) = take(&completed, 1).await.remove(0);
    let data: PlanCompleted = event.data_as().unwrap();
    assert_eq!((data.case_id, data.approved), (case_id, 1));
    // The inbox of the unit, without pending tasks.
    let page =
        r.service().list_tasks(ListTasks { unit: Some("371625-XZSP".into()), ..Default::default() }).await.unwrap();
    assert_eq!(page.total, 1);
    r.shutdown.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn termination_withdraws_open_tasks_and_a_replan_adds_changes_and_withdraws() {
    let r = spawn().await;
    let case_id = Uuid::now_v7();
    let mut p = plan("371600", 1, diamond());
    p.case_id = case_id;
    publish(&r.js, EventType::PLAN_PUBLISHED, "371600", case_id, &p).await;
    let tasks = tasks_when(&r, case_id, |t| t.len() == 4).await;
    let a = by_code(&tasks, "A");
    let linked = a.linked.as_ref().expect("the city accepted it, a county unit acts: linked handling");
    assert_eq!((linked.initiating_office.as_str(), linked.linked_office.as_str()), ("371600", "371625"));
    assert!(linked.acknowledge_by > Utc::now());
    let county = Actor { sub: "staff-371625-agent-1".into(), role: "agent".into(), office: "371625".into() };
    let acked = r
        .service()
        .transition(TransitionTask {
            actor: county.clone(),
            task_id: a.id,
            action: TaskAction::AcknowledgeLink { note: None },
        })
        .await
        .unwrap();
    assert_eq!(acked.status, TaskStatus::Dispatched, "acknowledging does not move the status");
    assert!(acked.linked.unwrap().acknowledged_at.is_some());
    r.service()
        .transition(TransitionTask {
            actor: county,
            task_id: a.id,
            action: TaskAction::ReportLink { report: "已对接博兴县行政审批服务局".into() },
        })
        .await
        .unwrap();

    // Version 2: B leaves, E arrives, D changes its time.
    let mut items = diamond();
    items.retain(|i| i.code != "B");
    items.iter_mut().find(|i| i.code == "D").unwrap().promised_working_days = 9;
    items.iter_mut().find(|i| i.code == "D").unwrap().predecessors = vec!["C".into()];
    items.push(item("E", UnitType::CivilAirDefense, Level::ByLocation, &[]));
    let mut v2 = plan("371600", 2, items);
    v2.case_id = case_id;
    v2.applicant_id = p.applicant_id;
    publish(&r.js, EventType::PLAN_PUBLISHED, "371600", case_id, &v2).await;
    let tasks = tasks_when(&r, case_id, |t| t.iter().any(|t| t.code == "E")).await;
    assert_eq!(tasks.iter().find(|t| t.code == "B").unwrap().status, TaskStatus::Withdrawn);
    assert_eq!(by_code(&tasks, "D").promised_working_days, 9);
    assert_eq!(by_code(&tasks, "E").status, TaskStatus::Dispatched);
    // An older version arriving late changes nothing.
    publish(&r.js, EventType::PLAN_PUBLISHED, "371600", case_id, &p).await;

    let withdrawn = consumer(&r.js, &EventType::TASK_WITHDRAWN.filter_all_offices()).await;
    let terminated = serde_json::json!({
        "case_id": case_id, "ledger_no": p.ledger_no, "office": "371600", "applicant_id": p.applicant_id,
        "specialist_id": p.specialist_id, "previous_status": "in_progress", "reason": "applicant_request",
        "reason_letter": "a", "note": "申请人撤回", "terminated_by": "staff-371600-agent-1", "terminated_at": Utc::now(),
    });
    publish(&r.js, EventType::CASE_TERMINATED, "371600", case_id, &terminated).await;
    let tasks = tasks_when(&r, case_id, |t| t.iter().all(|t| t.status == TaskStatus::Withdrawn)).await;
    assert_eq!(tasks.len(), 5, "A to E, nothing doubled: {tasks:?}");
    // B (at v2), then A, E (dispatched) and C, D (pending: no notice needed).
    let events = take(&withdrawn, 3).await;
    assert!(events.iter().all(|(s, _)| s.starts_with("bb.evt.")));
    // Terminated: a later plan is ignored.
    let mut v3 = plan("371600", 3, diamond());
    v3.case_id = case_id;
    publish(&r.js, EventType::PLAN_PUBLISHED, "371600", case_id, &v3).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = r.service().case_tasks(CaseTasks { case_id }).await.unwrap();
    assert!(after.iter().all(|t| t.status == TaskStatus::Withdrawn));
    r.shutdown.shutdown(Duration::from_secs(5)).await;
}
