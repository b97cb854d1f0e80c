//! Deadline on real parts: a nats-server with its own JetStream store and a SQLite file or PostgreSQL schema;
//! routing's task events and planning's calendar changes are published as those services would. Time is the
//! platform's manual clock (process-wide: nextest runs every test in its own process).

use std::{collections::HashMap, time::Duration};

use async_nats::jetstream::{self, consumer::pull};
use bangban_contracts::{
    CloudEvent, EventType,
    deadline::{
        AlertLevel, AnswerSupervision, ClockAlarm, ClockStatus, ClockView, DecideSupervision, EndPause, ExtendClock,
        ListSupervision, MonitoringQuery, NewAnswer, NewDecision, NewExtension, NewPause, NewProblem, PauseClock,
        PauseKind, RecordProblem, ResumeClock, StartBasis, SupervisionKind, SupervisionOutcome, SupervisionStatus,
    },
    intake::Actor,
    planning::{CalendarChange, CalendarChangeKind, CalendarOverride, Stage},
    routing::{SupplementItem, SupplementNotice, TaskEvent, TaskStatus},
};
use bangban_deadline::{DeadlineService, DeadlineSettings, error::DeadlineError};
use bangban_platform::clock;
use bangban_testkit::Harness;
use chrono::{DateTime, Duration as Span, NaiveDate, Utc};
use futures::StreamExt;
use uuid::Uuid;

/// Monday 2026-03-02 09:00 in Beijing.
fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-02T01:00:00Z").unwrap().with_timezone(&Utc)
}

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// Skips (with a note) outside nextest: the manual clock is process-wide, so tests sharing a process would
/// move each other's time.
fn own_process() -> bool {
    if std::env::var_os("NEXTEST_RUN_ID").is_none() {
        eprintln!("skipped: needs a process of its own (run with cargo nextest)");
        return false;
    }
    true
}

/// Deadline on its own nats-server and database, started through the platform's service skeleton.
type Deadline = Harness<DeadlineService>;

/// Starts deadline at [`t0`] on the manual clock, its engine polling fast, after `tune` adjusted its settings.
async fn spawn_with(tune: impl FnOnce(&mut DeadlineSettings)) -> Deadline {
    if std::env::var_os("DEADLINE_TEST_LOG").is_some() {
        bangban_telemetry::testing::init_in_memory();
    }
    clock::set_manual(t0());
    let mut own = DeadlineSettings { poll_interval_ms: 50, ..Default::default() };
    tune(&mut own);
    Harness::start_with(|settings| settings.set_section("deadline", own)).await.expect("deadline")
}

async fn spawn() -> Deadline {
    spawn_with(|_| {}).await
}

struct Task {
    id: Uuid,
    case_id: Uuid,
    unit_office: String,
    unit_code: String,
    days: u32,
    linked: bool,
    acknowledge_by: Option<DateTime<Utc>>,
}

fn task(days: u32) -> Task {
    Task {
        id: Uuid::now_v7(),
        case_id: Uuid::now_v7(),
        unit_office: "371625".into(),
        unit_code: "371625-XZSP".into(),
        days,
        linked: false,
        acknowledge_by: None,
    }
}

fn event(t: &Task, status: TaskStatus, action: &str, received_at: Option<DateTime<Utc>>) -> TaskEvent {
    TaskEvent {
        task_id: t.id,
        case_id: t.case_id,
        ledger_no: "BB-371625-2026-000001".into(),
        office: "371625".into(),
        plan_version: 1,
        code: "GCJS-01".into(),
        name: "建设工程规划许可证核发".into(),
        stage: Stage::EngineeringPermit,
        unit_code: t.unit_code.clone(),
        unit_office: t.unit_office.clone(),
        status,
        promised_working_days: t.days,
        received_at,
        paused_since: None,
        applicant_id: Uuid::nil(),
        specialist_id: "staff-371625-agent-1".into(),
        planned_end: d("2026-03-20"),
        linked: t.linked,
        action: action.into(),
        actor: format!("officer-{}", t.unit_code),
        at: clock::now(),
        note: None,
        supplement: None,
        result: None,
        rejection: None,
        unit_name: Some("博兴县行政审批服务局".into()),
        acknowledge_by: t.acknowledge_by,
    }
}

async fn publish<T: serde::Serialize>(js: &jetstream::Context, t: EventType, subject: String, id: String, data: &T) {
    let event = CloudEvent::new(t, "test", id, data).unwrap();
    js.publish_with_headers(subject, event.to_headers(), event.data.clone()).await.unwrap().await.unwrap();
}

async fn send(dl: &Deadline, t: EventType, e: &TaskEvent) {
    let subject = t.subject(&e.unit_office, Some(&e.unit_code)).unwrap().to_string();
    publish(&dl.js, t, subject, e.task_id.to_string(), e).await;
}

async fn dispatch_and_receive(dl: &Deadline, t: &Task) {
    send(dl, EventType::TASK_DISPATCHED, &event(t, TaskStatus::Dispatched, "dispatch", None)).await;
    send(dl, EventType::TASK_RECEIVED, &event(t, TaskStatus::Received, "receive", Some(clock::now()))).await;
}

async fn clock_when(s: &DeadlineService, id: Uuid, ok: impl Fn(&ClockView) -> bool) -> ClockView {
    for _ in 0..300 {
        if let Ok(c) = s.get_clock(id).await
            && ok(&c)
        {
            return c;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the clock of {id} never reached the expected state: {:?}", s.get_clock(id).await);
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

/// Every event on the consumer until none came for `quiet`.
async fn drain(c: &jetstream::consumer::Consumer<pull::Config>, quiet: Duration) -> Vec<(String, CloudEvent)> {
    let mut messages = c.messages().await.unwrap();
    let mut out = Vec::new();
    while let Ok(Some(Ok(msg))) = tokio::time::timeout(quiet, messages.next()).await {
        out.push((msg.subject.to_string(), CloudEvent::from_parts(msg.headers.as_ref(), msg.payload.clone()).unwrap()));
    }
    out
}

/// Waits until `n` events arrived, then drains what else comes within a second.
async fn at_least(c: &jetstream::consumer::Consumer<pull::Config>, n: usize) -> Vec<(String, CloudEvent)> {
    let mut messages = c.messages().await.unwrap();
    let mut out = Vec::new();
    while out.len() < n {
        let msg = tokio::time::timeout(Duration::from_secs(20), messages.next())
            .await
            .unwrap_or_else(|_| panic!("only {} of {n} events", out.len()))
            .unwrap()
            .unwrap();
        out.push((msg.subject.to_string(), CloudEvent::from_parts(msg.headers.as_ref(), msg.payload.clone()).unwrap()));
    }
    while let Ok(Some(Ok(msg))) = tokio::time::timeout(Duration::from_secs(1), messages.next()).await {
        out.push((msg.subject.to_string(), CloudEvent::from_parts(msg.headers.as_ref(), msg.payload.clone()).unwrap()));
    }
    out
}

fn per_task(events: &[(String, CloudEvent)]) -> HashMap<Uuid, usize> {
    let mut m = HashMap::new();
    for (_, e) in events {
        let a: ClockAlarm = e.data_as().unwrap();
        *m.entry(a.task_id).or_insert(0) += 1;
    }
    m
}

fn officer() -> Actor {
    Actor { sub: "officer-371625-XZSP".into(), role: "officer".into(), office: "371625".into() }
}

fn admin() -> Actor {
    Actor { sub: "admin-371625".into(), role: "office_admin".into(), office: "371625".into() }
}

#[tokio::test]
async fn a_clock_runs_from_receipt_warns_once_and_goes_overdue_once() {
    if !own_process() {
        return;
    }
    let dl = spawn().await;
    let warnings = consumer(&dl.js, &EventType::TASK_WARNING.filter_all_offices()).await;
    let overdue = consumer(&dl.js, &EventType::TASK_OVERDUE.filter_all_offices()).await;
    let t = task(10);
    dispatch_and_receive(&dl, &t).await;
    let c = clock_when(dl.service(), t.id, |c| c.status == ClockStatus::Running).await;
    // Received Monday 03-02: ten working days end on Monday 03-16.
    assert_eq!(c.due_date, Some(d("2026-03-16")));
    assert_eq!(c.due_at, Some(DateTime::parse_from_rfc3339("2026-03-16T16:00:00Z").unwrap().with_timezone(&Utc)));
    // The warning when two working days remain (20 % of ten is two): from the end of Thursday 03-12.
    assert_eq!(c.warn_at, Some(DateTime::parse_from_rfc3339("2026-03-12T16:00:00Z").unwrap().with_timezone(&Utc)));
    assert_eq!(c.start_basis, Some(StartBasis::Received));
    assert_eq!(c.remaining_working_days, Some(10));

    // A second before the warning: nothing. Then past it: one warning.
    clock::set(c.warn_at.unwrap() - Span::seconds(1));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(dl.service().get_clock(t.id).await.unwrap().alert, AlertLevel::Normal);
    clock::set(c.warn_at.unwrap() + Span::milliseconds(1));
    let c2 = clock_when(dl.service(), t.id, |c| c.alert == AlertLevel::Warning).await;
    assert_eq!(c2.remaining_working_days, Some(2));
    clock::set(c.due_at.unwrap() + Span::milliseconds(1));
    clock_when(dl.service(), t.id, |c| c.alert == AlertLevel::Overdue).await;
    // The same event delivered again, a later step of the task: no second alarm.
    send(&dl, EventType::TASK_IN_REVIEW, &event(&t, TaskStatus::InReview, "start_review", Some(c.started_at.unwrap())))
        .await;
    let w = drain(&warnings, Duration::from_secs(1)).await;
    let o = drain(&overdue, Duration::from_millis(500)).await;
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!(o.len(), 1);
    assert_eq!(o[0].0, "bb.evt.371625.task.overdue.371625-XZSP");
    let alarm: ClockAlarm = o[0].1.data_as().unwrap();
    assert_eq!(alarm.scheduled_for, c.due_at);
    assert_eq!(alarm.remaining_working_days, Some(-1));

    // Approved late: stopped, not on time; the overdue notice is resolved.
    clock::advance(Span::days(1));
    send(&dl, EventType::TASK_APPROVED, &event(&t, TaskStatus::Approved, "approve", Some(c.started_at.unwrap()))).await;
    let done = clock_when(dl.service(), t.id, |c| c.status == ClockStatus::Stopped).await;
    assert_eq!(done.on_time, Some(false));
    assert_eq!(done.used_working_days, Some(12));
    let kinds: Vec<&str> = done.timeline.iter().map(|e| e.kind.as_str()).collect();
    for k in ["created", "started", "warning", "overdue", "supervision_issued", "stopped", "supervision_resolved"] {
        assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
    }
    assert!(dl.service().pending_alarms(&t.id.to_string()).await.unwrap().is_empty());
    dl.shutdown.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn supplement_and_statutory_pauses_and_extensions_move_the_due_date() {
    if !own_process() {
        return;
    }
    let dl = spawn().await;
    let changed = consumer(&dl.js, &EventType::TASK_CLOCK_CHANGED.filter_all_offices()).await;
    let t = task(10);
    dispatch_and_receive(&dl, &t).await;
    let c = clock_when(dl.service(), t.id, |c| c.status == ClockStatus::Running).await;
    assert_eq!(c.due_date, Some(d("2026-03-16")));
    let received = c.started_at.unwrap();

    // Wednesday: the unit asks for a supplement → paused, no due instant, no alarm.
    clock::set(DateTime::parse_from_rfc3339("2026-03-04T02:00:00Z").unwrap().with_timezone(&Utc));
    let mut e = event(&t, TaskStatus::SupplementRequested, "request_supplement", Some(received));
    e.paused_since = Some(clock::now());
    e.supplement = Some(SupplementNotice {
        items: vec![SupplementItem { material: "授权委托书".into(), reason: "缺少签字".into() }],
        due_on: d("2026-03-10"),
        requested_at: clock::now(),
        requested_by: "officer".into(),
        supplemented_at: None,
    });
    send(&dl, EventType::TASK_SUPPLEMENT_REQUESTED, &e).await;
    let paused = clock_when(dl.service(), t.id, |c| c.status == ClockStatus::Paused).await;
    assert_eq!(paused.due_at, None);
    assert_eq!(paused.pauses.len(), 1);
    assert_eq!(paused.pauses[0].kind, PauseKind::Supplement);
    assert!(paused.pauses[0].reason.contains("授权委托书"));
    // A supplement pause cannot be opened by hand.
    let refused = dl
        .service()
        .pause(PauseClock {
            actor: officer(),
            task_id: t.id,
            pause: NewPause { kind: PauseKind::Supplement, reason: "x".into() },
        })
        .await;
    assert!(matches!(refused, Err(DeadlineError::Validation(ref f)) if f[0].field == "kind"), "{refused:?}");

    // Monday 03-09: supplemented → Thursday, Friday and Monday excluded: due 03-19.
    clock::set(DateTime::parse_from_rfc3339("2026-03-09T02:00:00Z").unwrap().with_timezone(&Utc));
    send(&dl, EventType::TASK_SUPPLEMENTED, &event(&t, TaskStatus::Supplemented, "supplement", Some(received))).await;
    let resumed = clock_when(dl.service(), t.id, |c| c.status == ClockStatus::Running).await;
    assert_eq!(resumed.paused_working_days, 3);
    assert_eq!(resumed.due_date, Some(d("2026-03-19")));

    // Expert review from Tuesday 03-10 to Thursday 03-12: two more days.
    clock::set(DateTime::parse_from_rfc3339("2026-03-10T02:00:00Z").unwrap().with_timezone(&Utc));
    let v = dl
        .service()
        .pause(PauseClock {
            actor: officer(),
            task_id: t.id,
            pause: NewPause { kind: PauseKind::ExpertReview, reason: "组织施工图专家论证".into() },
        })
        .await
        .unwrap();
    assert_eq!(v.status, ClockStatus::Paused);
    clock::set(DateTime::parse_from_rfc3339("2026-03-12T02:00:00Z").unwrap().with_timezone(&Utc));
    let pause_id = v.pauses.iter().find(|p| p.kind == PauseKind::ExpertReview).unwrap().id;
    let v = dl
        .service()
        .resume(ResumeClock {
            actor: officer(),
            task_id: t.id,
            pause_id,
            end: EndPause { note: Some("论证完成".into()) },
        })
        .await
        .unwrap();
    assert_eq!(v.paused_working_days, 5);
    assert_eq!(v.due_date, Some(d("2026-03-23")));

    // An extension of 5 working days: 03-30. Zero days is a 422 naming the field.
    let bad = dl
        .service()
        .extend(ExtendClock {
            actor: admin(),
            task_id: t.id,
            extension: NewExtension { working_days: 0, reason: "x".into(), requested_by: None },
        })
        .await;
    assert!(matches!(bad, Err(DeadlineError::Validation(ref f)) if f[0].field == "working_days"), "{bad:?}");
    let v = dl
        .service()
        .extend(ExtendClock {
            actor: admin(),
            task_id: t.id,
            extension: NewExtension {
                working_days: 5,
                reason: "情况复杂，经负责人批准延长".into(),
                requested_by: Some("officer-371625-XZSP".into()),
            },
        })
        .await
        .unwrap();
    assert_eq!(v.due_date, Some(d("2026-03-30")));
    assert_eq!(v.extensions[0].approved_by, "admin-371625");
    let events = drain(&changed, Duration::from_secs(1)).await;
    let reasons: Vec<String> = events.iter().map(|(_, e)| e.data_as::<ClockAlarm>().unwrap().reason).collect();
    assert_eq!(reasons, ["paused", "resumed", "paused", "resumed", "extended"]);
    dl.shutdown.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_calendar_change_recomputes_running_clocks() {
    if !own_process() {
        return;
    }
    let dl = spawn().await;
    let t = task(10);
    dispatch_and_receive(&dl, &t).await;
    let c = clock_when(dl.service(), t.id, |c| c.status == ClockStatus::Running).await;
    assert_eq!(c.due_date, Some(d("2026-03-16")));
    // A typhoon closure on Tuesday 03-10, as planning announces it.
    let change = CalendarChange {
        revision: 7,
        change: CalendarChangeKind::OverrideSet {
            day: CalendarOverride {
                date: d("2026-03-10"),
                working_day: false,
                name: "台风停工".into(),
                reason: "市政府临时通知".into(),
                set_by: "admin-371600".into(),
                set_at: clock::now(),
            },
        },
        dates_changed: vec![d("2026-03-10")],
        plans_rescheduled: vec![],
        changed_by: "admin-371600".into(),
        changed_at: clock::now(),
    };
    let subject = EventType::CALENDAR_CHANGED.subject("371600", None).unwrap().to_string();
    publish(&dl.js, EventType::CALENDAR_CHANGED, subject.clone(), "calendar".into(), &change).await;
    let moved = clock_when(dl.service(), t.id, |c| c.due_date == Some(d("2026-03-17"))).await;
    assert!(moved.timeline.iter().any(|e| e.kind == "recomputed"));
    // The same change again (redelivered, or replayed by a new replica): nothing moves twice.
    publish(&dl.js, EventType::CALENDAR_CHANGED, subject, "calendar".into(), &change).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let again = dl.service().get_clock(t.id).await.unwrap();
    assert_eq!(again.timeline.iter().filter(|e| e.kind == "recomputed").count(), 1);
    dl.shutdown.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn supervision_is_issued_answered_and_escalated_with_evidence_then_decided() {
    if !own_process() {
        return;
    }
    let dl = spawn().await;
    let issued = consumer(&dl.js, &EventType::SUPERVISION_ISSUED.aggregate_filter_all_offices()).await;
    let t = task(3);
    dispatch_and_receive(&dl, &t).await;
    let c = clock_when(dl.service(), t.id, |c| c.status == ClockStatus::Running).await;
    dl.service()
        .record_problem(RecordProblem {
            actor: Actor { sub: "staff-371625-agent-1".into(), role: "agent".into(), office: "371625".into() },
            task_id: t.id,
            problem: NewProblem { description: "消防审查意见与规划条件不一致".into(), refer_now: false },
        })
        .await
        .unwrap();
    clock::set(c.due_at.unwrap() + Span::minutes(1));
    clock_when(dl.service(), t.id, |c| c.alert == AlertLevel::Overdue).await;
    let page = dl.service().list_notices(ListSupervision { task_id: Some(t.id), ..Default::default() }).await.unwrap();
    assert_eq!(page.total, 1);
    let n = &page.items[0];
    assert_eq!(n.kind, SupervisionKind::Overdue);
    assert_eq!(n.status, SupervisionStatus::Issued);
    assert!(n.number.starts_with("滨督〔2026〕371625-"), "{}", n.number);
    assert_eq!(n.days_overdue, 1);
    // Overdue at the end of Thursday 03-05, issued on Friday: answer by Tuesday 03-10, escalate after Friday 03-13.
    assert_eq!(n.response_due, d("2026-03-10"));
    assert_eq!(n.escalate_on, d("2026-03-13"));
    let past = dl
        .service()
        .answer(AnswerSupervision {
            actor: officer(),
            id: n.id,
            answer: NewAnswer { reason: "x".into(), committed_on: d("2026-03-01") },
        })
        .await;
    assert!(matches!(past, Err(DeadlineError::Validation(ref f)) if f[0].field == "committed_on"), "{past:?}");
    let answered = dl
        .service()
        .answer(AnswerSupervision {
            actor: officer(),
            id: n.id,
            answer: NewAnswer { reason: "需征求规划部门意见".into(), committed_on: d("2026-03-10") },
        })
        .await
        .unwrap();
    assert_eq!(answered.notice.status, SupervisionStatus::Answered);
    // The response date passes answered: no escalation. The escalation date passes unresolved: escalated.
    clock::set(DateTime::parse_from_rfc3339("2026-03-11T02:00:00Z").unwrap().with_timezone(&Utc));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        dl.service().get_notice(bangban_contracts::deadline::GetSupervision { id: n.id }).await.unwrap().notice.status,
        SupervisionStatus::Answered
    );
    clock::set(DateTime::parse_from_rfc3339("2026-03-13T16:00:01Z").unwrap().with_timezone(&Utc));
    let mut escalated = None;
    for _ in 0..100 {
        let v = dl.service().get_notice(bangban_contracts::deadline::GetSupervision { id: n.id }).await.unwrap();
        if v.notice.status == SupervisionStatus::Escalated {
            escalated = Some(v);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let v = escalated.expect("escalated");
    let evidence = v.evidence.expect("an evidence pack");
    assert!(evidence.clock.timeline.iter().any(|e| e.kind == "overdue"));
    assert_eq!(evidence.notices.len(), 1);
    assert_eq!(evidence.problems.len(), 1, "the problem recorded on the task");
    assert_eq!(evidence.messages.iter().map(|m| m.action.as_str()).collect::<Vec<_>>(), ["dispatch", "receive"]);
    // The problem was not solved within three working days: referred to the office.
    let problems = dl.service().list_problems(Default::default()).await.unwrap().items;
    assert_eq!(problems[0].status, bangban_contracts::deadline::ProblemStatus::Referred);
    let refused = dl
        .service()
        .answer(AnswerSupervision {
            actor: officer(),
            id: n.id,
            answer: NewAnswer { reason: "再次反馈".into(), committed_on: d("2026-03-20") },
        })
        .await;
    assert!(matches!(refused, Err(DeadlineError::Conflict(..))));
    let decided = dl
        .service()
        .decide(DecideSupervision {
            actor: Actor { sub: "supervisor-1".into(), role: "supervisor".into(), office: "371600".into() },
            id: n.id,
            decision: NewDecision {
                outcome: SupervisionOutcome::CirculatedCriticism,
                note: "对责任单位通报批评".into(),
            },
        })
        .await
        .unwrap();
    assert_eq!(decided.notice.status, SupervisionStatus::Decided);
    let types: Vec<String> = drain(&issued, Duration::from_secs(1))
        .await
        .into_iter()
        .map(|(s, _)| s.rsplit('.').next().unwrap().to_string())
        .collect();
    assert_eq!(types, ["issued", "answered", "escalated", "decided"]);
    let m =
        dl.service().monitoring(MonitoringQuery { office: Some("371625".into()), ..Default::default() }).await.unwrap();
    assert_eq!(m.total.overdue, 1);
    assert_eq!(m.supervision_escalated, 0, "decided");
    assert_eq!(m.problems_open, 1);
    let elsewhere =
        dl.service().monitoring(MonitoringQuery { office: Some("371681".into()), ..Default::default() }).await.unwrap();
    assert_eq!(elsewhere.total.open, 0);
    dl.shutdown.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_unit_that_does_not_receive_in_time_is_supervised_and_its_clock_counts_from_dispatch() {
    if !own_process() {
        return;
    }
    let dl = spawn().await;
    let mut t = task(5);
    t.linked = true;
    t.unit_office = "371600".into();
    t.unit_code = "371600-ZRZY".into();
    t.acknowledge_by = Some(clock::now() + Span::hours(8));
    send(&dl, EventType::TASK_DISPATCHED, &event(&t, TaskStatus::Dispatched, "dispatch", None)).await;
    clock_when(dl.service(), t.id, |c| c.status == ClockStatus::AwaitingReceipt).await;
    // Eight working hours: Monday 09:00 → Monday 17:00.
    clock::set(DateTime::parse_from_rfc3339("2026-03-02T09:00:01Z").unwrap().with_timezone(&Utc));
    let c = clock_when(dl.service(), t.id, |c| c.status == ClockStatus::Running).await;
    assert_eq!(c.start_basis, Some(StartBasis::DispatchedUnacknowledged));
    assert_eq!(c.started_at, c.dispatched_at);
    assert_eq!(c.due_date, Some(d("2026-03-09")));
    let mut notices = Vec::new();
    for _ in 0..100 {
        notices = dl
            .service()
            .list_notices(ListSupervision { task_id: Some(t.id), ..Default::default() })
            .await
            .unwrap()
            .items;
        if !notices.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(notices.len(), 1, "one late-feedback notice, the linked acknowledgement being late too");
    assert_eq!(notices[0].kind, SupervisionKind::Feedback);
    assert_eq!(notices[0].unit_office, "371600");
    // The unit receives, and the linked office acknowledges: the notice is resolved.
    send(&dl, EventType::TASK_RECEIVED, &event(&t, TaskStatus::Received, "receive", Some(clock::now()))).await;
    send(
        &dl,
        EventType::TASK_LINK_ACKNOWLEDGED,
        &event(&t, TaskStatus::Received, "acknowledge_link", Some(clock::now())),
    )
    .await;
    let c = clock_when(dl.service(), t.id, |c| c.timeline.iter().any(|e| e.kind == "supervision_resolved")).await;
    assert_eq!(c.start_basis, Some(StartBasis::DispatchedUnacknowledged), "the clock keeps counting from dispatch");
    dl.shutdown.shutdown(Duration::from_secs(5)).await;
}

/// Publishes `n` received tasks and waits for their running clocks.
async fn open_clocks(dl: &Deadline, service: &DeadlineService, n: usize) -> Vec<Task> {
    let tasks: Vec<Task> = (0..n).map(|_| task(5)).collect();
    for t in &tasks {
        dispatch_and_receive(dl, t).await;
    }
    for t in &tasks {
        clock_when(service, t.id, |c| c.status == ClockStatus::Running).await;
    }
    tasks
}

#[tokio::test]
async fn alarms_fire_exactly_once_across_a_crash_and_a_restart_in_the_middle_of_a_burst() {
    if !own_process() {
        return;
    }
    let mut dl = spawn_with(|s| s.batch_size = 7).await;
    let overdue = consumer(&dl.js, &EventType::TASK_OVERDUE.filter_all_offices()).await;
    let warnings = consumer(&dl.js, &EventType::TASK_WARNING.filter_all_offices()).await;
    let issued = consumer(&dl.js, &EventType::SUPERVISION_ISSUED.filter_all_offices()).await;
    let tasks = open_clocks(&dl, dl.service(), 60).await;
    // Everything due at once.
    clock::advance(Span::days(30));
    let watch = consumer(&dl.js, &EventType::TASK_OVERDUE.filter_all_offices()).await;
    let mut first = watch.messages().await.unwrap();
    for _ in 0..10 {
        tokio::time::timeout(Duration::from_secs(20), first.next()).await.expect("burst started").unwrap().unwrap();
    }
    drop(first);
    // A crash in the middle of a batch: its transaction is dropped unfinished.
    for _ in 0..3 {
        let _ = tokio::time::timeout(Duration::from_micros(200), dl.service().fire_due()).await;
    }
    // Then the service stops and another process takes over.
    dl.shutdown.shutdown(Duration::from_secs(5)).await;
    (dl.running, dl.shutdown) = Deadline::instance(&dl.settings, "b").await.expect("deadline b");
    let o = at_least(&overdue, 60).await;
    let w = at_least(&warnings, 60).await;
    let s = at_least(&issued, 60).await;
    assert_eq!(o.len(), 60, "one overdue per clock");
    assert!(per_task(&o).values().all(|n| *n == 1));
    assert_eq!(per_task(&w).len(), 60);
    assert!(per_task(&w).values().all(|n| *n == 1), "one warning per clock");
    assert_eq!(s.len(), 60, "one notice per clock");
    for t in &tasks {
        assert_eq!(dl.service().get_clock(t.id).await.unwrap().alert, AlertLevel::Overdue);
    }
    dl.shutdown.shutdown(Duration::from_secs(5)).await;
    let _ = (&dl.nats, &dl.db);
}

#[tokio::test]
async fn two_replicas_fire_each_alarm_once() {
    if !own_process() {
        return;
    }
    let dl = spawn_with(|s| s.batch_size = 5).await;
    let (b, b_shutdown) = Deadline::instance(&dl.settings, "b").await.expect("deadline b");
    let overdue = consumer(&dl.js, &EventType::TASK_OVERDUE.filter_all_offices()).await;
    let tasks = open_clocks(&dl, dl.service(), 50).await;
    clock::advance(Span::days(30));
    let o = at_least(&overdue, 50).await;
    assert_eq!(o.len(), 50);
    let counts = per_task(&o);
    assert!(tasks.iter().all(|t| counts.get(&t.id) == Some(&1)));
    drop(b);
    b_shutdown.shutdown(Duration::from_secs(5)).await;
    dl.shutdown.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_replan_that_changes_the_promised_time_moves_the_due_date_and_stamps_the_category() {
    if !own_process() {
        return;
    }
    use bangban_contracts::{
        intake::ProjectCategory,
        planning::{Level, PlanChanges, PlanPublished, PublishedItem, UnitType},
    };
    let dl = spawn().await;
    let t = task(10);
    dispatch_and_receive(&dl, &t).await;
    let c = clock_when(dl.service(), t.id, |c| c.status == ClockStatus::Running).await;
    assert_eq!(c.due_date, Some(d("2026-03-16")));
    assert_eq!(c.category, None);
    let item = PublishedItem {
        code: "GCJS-01".into(),
        name: "建设工程规划许可证核发".into(),
        stage: Stage::EngineeringPermit,
        unit_type: UnitType::AdministrativeApproval,
        level: Level::ByLocation,
        unit_code: None,
        materials: vec![],
        promised_working_days: 15,
        legal_basis: "《城乡规划法》".into(),
        predecessors: vec![],
        planned_start: d("2026-03-02"),
        planned_end: d("2026-03-23"),
        critical: true,
        provisional: false,
    };
    let plan = PlanPublished {
        case_id: t.case_id,
        ledger_no: "BB-371625-2026-000001".into(),
        office: "371625".into(),
        version: 2,
        category: ProjectCategory::Industrial,
        project_id: Uuid::now_v7(),
        project_office: "371625".into(),
        project_name: "新材料项目".into(),
        applicant_id: Uuid::nil(),
        specialist_id: "staff-371625-agent-1".into(),
        catalog_version: 1,
        items: vec![item],
        planned_start: d("2026-03-02"),
        planned_end: d("2026-03-23"),
        total_working_days: 15,
        critical_path: vec!["GCJS-01".into()],
        provisional: false,
        changes: PlanChanges::default(),
        note: None,
        published_by: "staff-371625-agent-1".into(),
        published_at: clock::now(),
    };
    let subject = EventType::PLAN_PUBLISHED.subject("371625", None).unwrap().to_string();
    publish(&dl.js, EventType::PLAN_PUBLISHED, subject, t.case_id.to_string(), &plan).await;
    let c = clock_when(dl.service(), t.id, |c| c.promised_working_days == 15).await;
    assert_eq!(c.due_date, Some(d("2026-03-23")));
    assert_eq!(c.category, Some(ProjectCategory::Industrial));
    assert!(c.timeline.iter().any(|e| e.kind == "replanned"));
    let m = dl.service().monitoring(MonitoringQuery::default()).await.unwrap();
    assert_eq!(m.by_category.iter().find(|f| f.key == "industrial").map(|f| f.open), Some(1));
    dl.shutdown.shutdown(Duration::from_secs(5)).await;
}
