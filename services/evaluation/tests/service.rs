//! Evaluation on real parts: a nats-server with its own JetStream store and a SQLite file or PostgreSQL schema;
//! intake's, planning's, routing's and deadline's events are published as those services publish them. Time is
//! the platform's manual clock (process-wide: nextest runs every test in its own process).

use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull};
use bangban_contracts::{
    CloudEvent, EventType,
    evaluation::{
        self as contract, AppealDecision, AppealStatus, AppealView, Assessment, AssessmentQuery, AssessmentScope,
        Channel, CodeLookup, DecideAppeal, EvaluationInvited, EvaluationView, FileAppeal, FixRating, GetRectification,
        InvitationView, Level, Matter, NewAppeal, NewRating, RectificationAction, RectificationStatus,
        RectificationStep, RectificationView, Statistics, StatisticsQuery, SubmitByCode, SubmitRating, Tag,
    },
    intake::Actor,
    planning::Stage,
    routing::{TaskEvent, TaskStatus},
    subjects::EVENTS_STREAM,
};
use bangban_contracts::{Operation, evaluation::ops};
use bangban_evaluation::{EvaluationService, EvaluationSettings};
use bangban_platform::{clock, pii::PiiCipher, rpc};
use bangban_testkit::Harness;
use chrono::{DateTime, NaiveDate, Utc};
use futures::StreamExt;
use http::StatusCode;
use secrecy::SecretString;
use uuid::Uuid;

const OFFICE: &str = "371625";
const SPECIALIST: &str = "staff-371625-agent-1";
const UNIT: &str = "371625-ZRZY";

/// Monday 2026-03-02 10:00 in Beijing.
fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-02T02:00:00Z").unwrap().with_timezone(&Utc)
}

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn own_process() -> bool {
    if std::env::var_os("NEXTEST_RUN_ID").is_none() {
        eprintln!("skipped: needs a process of its own (run with cargo nextest)");
        return false;
    }
    true
}

struct World {
    _h: Harness<EvaluationService>,
    client: async_nats::Client,
    js: jetstream::Context,
    pii: PiiCipher,
}

struct Case {
    id: Uuid,
    applicant: Uuid,
}

async fn world(tune: impl FnOnce(&mut EvaluationSettings)) -> World {
    clock::set_manual(t0());
    let key = PiiCipher::generate_base64_key();
    let h = Harness::<EvaluationService>::start_with(|settings| {
        let mut own = EvaluationSettings {
            poll_interval_ms: 50,
            link_base: Some("https://bangban.example.invalid".into()),
            ..Default::default()
        };
        tune(&mut own);
        settings.set_section("evaluation", own);
        settings.pii.key = Some(SecretString::from(key.clone()));
    })
    .await
    .expect("evaluation");
    World { client: h.client.clone(), js: h.js.clone(), pii: PiiCipher::from_base64_key(&key).unwrap(), _h: h }
}

fn actor(sub: &str, role: &str, office: &str) -> Actor {
    Actor { sub: sub.into(), role: role.into(), office: office.into() }
}

fn rating(level: u8) -> NewRating {
    NewRating {
        level: Level::from_number(level).unwrap(),
        comment: Some("办理情况".into()),
        tags: vec![Tag::Efficiency],
    }
}

impl World {
    async fn publish(&self, t: EventType, unit: Option<&str>, data: &impl serde::Serialize) {
        let event = CloudEvent::new(t, "test", Uuid::now_v7().to_string(), data).unwrap();
        let subject = t.subject(OFFICE, unit).unwrap().to_string();
        let headers = event.to_headers();
        self.js.publish_with_headers(subject, headers, event.data.clone()).await.unwrap().await.unwrap();
    }

    async fn call<O: Operation>(&self, req: &O::Request) -> Result<O::Response, rpc::CallError> {
        rpc::call::<O>(&self.client, req, Duration::from_secs(5)).await
    }

    async fn accept(&self, specialist: &str) -> Case {
        let case = Case { id: Uuid::now_v7(), applicant: Uuid::now_v7() };
        self.publish(
            EventType::CASE_ACCEPTED,
            None,
            &serde_json::json!({
                "case_id": case.id, "ledger_no": "BB-371625-2026-000123", "service_type": "commission",
                "office": OFFICE, "applicant_id": case.applicant, "applicant_kind": "legal_person",
                "project": {"id": Uuid::now_v7(), "name": "年产5万吨新材料项目", "category": "industrial", "office": OFFICE},
                "specialist_id": specialist, "accepted_by": "staff-371625-office_admin-1", "accepted_at": clock::now()
            }),
        )
        .await;
        case
    }

    /// A task of `case` received now and concluded `days` later (`TaskStatus::Approved` then collected, or
    /// rejected).
    async fn task(&self, case: &Case, unit: &str, approved: bool) -> Uuid {
        let id = Uuid::now_v7();
        let mut e = task_event(case, id, unit, TaskStatus::Received, "receive");
        self.publish(EventType::TASK_RECEIVED, Some(unit), &e).await;
        e.at = clock::now();
        if approved {
            e.status = TaskStatus::Approved;
            e.action = "approve".into();
            self.publish(EventType::TASK_APPROVED, Some(unit), &e).await;
            e.status = TaskStatus::ResultCollected;
            e.action = "collect_result".into();
            self.publish(EventType::TASK_RESULT_COLLECTED, Some(unit), &e).await;
        } else {
            e.status = TaskStatus::Rejected;
            e.action = "reject".into();
            self.publish(EventType::TASK_REJECTED, Some(unit), &e).await;
        }
        id
    }

    async fn invitations(&self) -> Vec<EvaluationInvited> {
        let stream = self.js.get_stream(EVENTS_STREAM).await.unwrap();
        let consumer = stream
            .create_consumer(pull::Config {
                filter_subject: EventType::EVALUATION_INVITED.filter_all_offices(),
                ..Default::default()
            })
            .await
            .unwrap();
        let mut out = Vec::new();
        let mut batch =
            consumer.fetch().max_messages(500).expires(Duration::from_millis(300)).messages().await.unwrap();
        while let Some(Ok(m)) = batch.next().await {
            out.push(serde_json::from_slice(&m.payload).unwrap());
        }
        out
    }

    async fn count(&self, t: EventType) -> usize {
        let stream = self.js.get_stream(EVENTS_STREAM).await.unwrap();
        let consumer = stream
            .create_consumer(pull::Config { filter_subject: t.filter_all_offices(), ..Default::default() })
            .await
            .unwrap();
        let mut n = 0;
        let mut batch =
            consumer.fetch().max_messages(500).expires(Duration::from_millis(300)).messages().await.unwrap();
        while let Some(Ok(_)) = batch.next().await {
            n += 1;
        }
        n
    }

    /// The one-time code of the invitation for `task` (or the whole case), from the encrypted link.
    async fn code_for(&self, task: Option<Uuid>, case: Uuid) -> String {
        for _ in 0..100 {
            if let Some(i) = self.invitations().await.into_iter().find(|i| i.case_id == case && i.task_id == task) {
                let link = self.pii.decrypt(&i.link_enc).unwrap();
                assert!(link.starts_with("https://bangban.example.invalid/e/"), "{link}");
                return link.rsplit('/').next().unwrap().to_string();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no invitation for {task:?}");
    }

    async fn submit(
        &self,
        case: &Case,
        matter: Matter,
        applicant: Uuid,
        level: u8,
    ) -> Result<EvaluationView, rpc::CallError> {
        let _ = case;
        self.call::<ops::Submit>(&SubmitRating {
            actor: actor("applicant", "applicant", OFFICE),
            applicant_id: applicant,
            matter,
            rating: rating(level),
        })
        .await
    }

    async fn rectification(&self, id: Uuid) -> RectificationView {
        self.call::<ops::RectificationGet>(&GetRectification { id }).await.unwrap()
    }

    async fn step(
        &self,
        id: Uuid,
        applicant: Option<Uuid>,
        action: RectificationAction,
    ) -> Result<RectificationView, rpc::CallError> {
        self.call::<ops::RectificationStep>(&RectificationStep {
            actor: actor("officer-1", "officer", OFFICE),
            applicant_id: applicant,
            id,
            action,
        })
        .await
    }

    async fn assessment(&self, by: AssessmentScope) -> Assessment {
        self.call::<ops::Assessment>(&AssessmentQuery {
            by,
            office: Some(OFFICE.into()),
            from: d("2026-03-01"),
            to: d("2026-04-30"),
        })
        .await
        .unwrap()
    }
}

fn task_event(case: &Case, id: Uuid, unit: &str, status: TaskStatus, action: &str) -> TaskEvent {
    TaskEvent {
        task_id: id,
        case_id: case.id,
        ledger_no: "BB-371625-2026-000123".into(),
        office: OFFICE.into(),
        plan_version: 1,
        code: "GCJS-01".into(),
        name: "建设工程规划许可证核发".into(),
        stage: Stage::EngineeringPermit,
        unit_code: unit.into(),
        unit_office: OFFICE.into(),
        status,
        promised_working_days: 5,
        received_at: Some(clock::now()),
        paused_since: None,
        applicant_id: case.applicant,
        specialist_id: SPECIALIST.into(),
        planned_end: d("2026-03-20"),
        linked: false,
        action: action.into(),
        actor: "officer-1".into(),
        at: clock::now(),
        note: None,
        supplement: None,
        result: None,
        rejection: None,
        unit_name: Some("博兴县自然资源局".into()),
        acknowledge_by: None,
    }
}

fn status(e: &Result<impl std::fmt::Debug, rpc::CallError>) -> StatusCode {
    match e {
        Err(rpc::CallError::Problem(p)) => p.status_code(),
        other => panic!("expected a problem, got {other:?}"),
    }
}

#[tokio::test]
async fn a_concluded_item_is_rated_once_by_its_applicant_only() {
    if !own_process() {
        return;
    }
    let w = world(|_| {}).await;
    let case = w.accept(SPECIALIST).await;
    // Not concluded yet: nothing to rate, the case's applicant is told…
    let whole = Matter::Case { case_id: case.id };
    let early = w.submit(&case, whole, case.applicant, 5).await;
    assert_eq!(status(&early), StatusCode::CONFLICT);
    // …while another applicant is refused without learning more; a matter evaluation has not heard of yet is
    // not yet to be rated (its events may still be on their way).
    let stranger_id = Uuid::now_v7();
    let mut nosy = StatusCode::CONFLICT;
    for _ in 0..100 {
        // Once evaluation has heard of the case.
        nosy = status(&w.submit(&case, whole, stranger_id, 5).await);
        if nosy != StatusCode::CONFLICT {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(nosy, StatusCode::FORBIDDEN, "another applicant");
    let unknown = w.submit(&case, Matter::Task { task_id: Uuid::now_v7() }, case.applicant, 5).await;
    assert_eq!(status(&unknown), StatusCode::CONFLICT, "a matter not heard of yet");
    let task = w.task(&case, UNIT, true).await;
    w.code_for(Some(task), case.id).await;
    let matter = Matter::Task { task_id: task };
    let stranger = w.submit(&case, matter, Uuid::now_v7(), 1).await;
    assert_eq!(status(&stranger), StatusCode::FORBIDDEN, "a stranger's rating is refused");
    let v = w.submit(&case, matter, case.applicant, 5).await.unwrap();
    assert_eq!(
        (v.level, v.level_label.as_str(), v.channel, v.bad),
        (Level::VerySatisfied, "非常满意", Channel::Platform, false)
    );
    assert_eq!(
        (v.item_name.as_str(), v.unit_code.as_deref(), v.specialist_id.as_str()),
        ("建设工程规划许可证核发", Some(UNIT), SPECIALIST)
    );
    let again = w.submit(&case, matter, case.applicant, 1).await;
    assert_eq!(status(&again), StatusCode::CONFLICT, "one rating per item; append-only");
    // The code of a rated matter no longer works either.
    let code = w.code_for(Some(task), case.id).await;
    let by_code = w
        .call::<ops::SubmitByCode>(&SubmitByCode { code, channel: Channel::SmsLink, actor: None, rating: rating(2) })
        .await;
    assert_eq!(status(&by_code), StatusCode::CONFLICT);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(w.count(EventType::EVALUATION_SUBMITTED).await, 1);
    // A rejected item is invited too; invitations are not repeated by redelivered events.
    let rejected = w.task(&case, UNIT, false).await;
    w.code_for(Some(rejected), case.id).await;
    let invitations: Vec<InvitationView> =
        w.call::<ops::InvitationList>(&contract::CaseInvitations { case_id: case.id }).await.unwrap();
    assert_eq!(invitations.len(), 2);
    assert!(invitations.iter().any(|i| i.rated_at.is_some()) && invitations.iter().any(|i| i.rated_at.is_none()));
}

#[tokio::test]
async fn the_one_time_code_works_once_through_the_link_or_at_a_window() {
    if !own_process() {
        return;
    }
    let w = world(|_| {}).await;
    let case = w.accept(SPECIALIST).await;
    let a = w.task(&case, UNIT, true).await;
    let b = w.task(&case, "371625-ZJJ", true).await;
    let code_a = w.code_for(Some(a), case.id).await;
    let code_b = w.code_for(Some(b), case.id).await;
    assert_ne!(code_a, code_b);
    assert_eq!(code_a.len(), 16);
    let page: InvitationView = w.call::<ops::InvitationByCode>(&CodeLookup { code: code_a.clone() }).await.unwrap();
    assert_eq!(
        (page.matter, page.item_name.as_str(), page.rated_at),
        (Matter::Task { task_id: a }, "建设工程规划许可证核发", None)
    );
    let unknown = w.call::<ops::InvitationByCode>(&CodeLookup { code: "x".repeat(16) }).await;
    assert_eq!(status(&unknown), StatusCode::NOT_FOUND);

    let v: EvaluationView = w
        .call::<ops::SubmitByCode>(&SubmitByCode {
            code: code_a.clone(),
            channel: Channel::SmsLink,
            actor: None,
            rating: rating(4),
        })
        .await
        .unwrap();
    assert_eq!((v.channel, v.applicant_id, v.entered_by.as_deref()), (Channel::SmsLink, case.applicant, None));
    let twice = w
        .call::<ops::SubmitByCode>(&SubmitByCode {
            code: code_a,
            channel: Channel::SmsLink,
            actor: None,
            rating: rating(5),
        })
        .await;
    assert_eq!(status(&twice), StatusCode::CONFLICT);
    // A window terminal needs the staff member at the window.
    let anonymous_window = w
        .call::<ops::SubmitByCode>(&SubmitByCode {
            code: code_b.clone(),
            channel: Channel::Window,
            actor: None,
            rating: rating(5),
        })
        .await;
    assert_eq!(status(&anonymous_window), StatusCode::UNPROCESSABLE_ENTITY);
    let window: EvaluationView = w
        .call::<ops::SubmitByCode>(&SubmitByCode {
            code: code_b,
            channel: Channel::Window,
            actor: Some(actor("staff-371625-assistant-1", "assistant", OFFICE)),
            rating: rating(3),
        })
        .await
        .unwrap();
    assert_eq!((window.channel, window.entered_by.as_deref()), (Channel::Window, Some("staff-371625-assistant-1")));
}

#[tokio::test]
async fn a_bad_review_is_rectified_rated_and_escalated_when_late() {
    if !own_process() {
        return;
    }
    let w = world(|_| {}).await;
    let case = w.accept(SPECIALIST).await;
    let task = w.task(&case, UNIT, true).await;
    w.code_for(Some(task), case.id).await;
    let v = w.submit(&case, Matter::Task { task_id: task }, case.applicant, 1).await.unwrap();
    assert!(v.bad);
    let r = w.rectification(v.rectification_id.unwrap()).await;
    assert_eq!(r.status, RectificationStatus::Opened);
    assert_eq!(
        r.assignee,
        contract::Assignee::Unit { unit_code: UNIT.into(), unit_office: OFFICE.into() },
        "a rated item's unit rectifies"
    );
    // Monday 2026-03-02: contact by Tuesday; fix and answer within 15 working days: Monday 2026-03-23.
    assert_eq!((r.contact_due, r.due), (d("2026-03-03"), d("2026-03-23")));
    // No contact by the end of Tuesday: escalated to the supervisors.
    clock::set(DateTime::parse_from_rfc3339("2026-03-03T16:00:01Z").unwrap().with_timezone(&Utc));
    let mut escalated = w.rectification(r.id).await;
    for _ in 0..100 {
        if escalated.escalated_at.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        escalated = w.rectification(r.id).await;
    }
    assert!(escalated.escalated_at.is_some(), "late contact escalates");
    assert!(escalated.escalation_reason.as_deref().unwrap().contains("联系服务对象"));
    // The loop goes on: contact, answer, the applicant rates the fix.
    let early_rate =
        w.step(r.id, Some(case.applicant), RectificationAction::Rate { rating: FixRating::Satisfied }).await;
    assert_eq!(status(&early_rate), StatusCode::CONFLICT, "nothing to rate before the answer");
    w.step(r.id, None, RectificationAction::Contact { note: "电话联系王经理，了解到等候时间过长".into() })
        .await
        .unwrap();
    let answered = w
        .step(
            r.id,
            None,
            RectificationAction::Answer {
                fix: "增设取号提醒，压缩等候时间".into(),
                answer: "已向企业说明整改措施".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!((answered.status, answered.on_time), (RectificationStatus::Answered, Some(true)));
    let someone_else =
        w.step(r.id, Some(Uuid::now_v7()), RectificationAction::Rate { rating: FixRating::Satisfied }).await;
    assert_eq!(status(&someone_else), StatusCode::FORBIDDEN);
    let closed = w
        .step(r.id, Some(case.applicant), RectificationAction::Rate { rating: FixRating::BasicallySatisfied })
        .await
        .unwrap();
    assert_eq!((closed.status, closed.fix_rating), (RectificationStatus::Closed, Some(FixRating::BasicallySatisfied)));

    // A whole-service bad review goes to the specialist; unanswered by its due day it escalates.
    w.publish(
        EventType::CASE_RESULTS_DELIVERED,
        None,
        &serde_json::json!({"case_id": case.id, "ledger_no": "BB-371625-2026-000123", "office": OFFICE,
            "service_type": "commission", "documents": [], "materials_returned": 0,
            "delivered_by": SPECIALIST, "delivered_at": clock::now()}),
    )
    .await;
    w.code_for(None, case.id).await;
    let whole = w.submit(&case, Matter::Case { case_id: case.id }, case.applicant, 2).await.unwrap();
    let r2 = w.rectification(whole.rectification_id.unwrap()).await;
    assert_eq!(r2.assignee, contract::Assignee::Specialist { specialist_id: SPECIALIST.into(), office: OFFICE.into() });
    w.step(r2.id, None, RectificationAction::Contact { note: "已联系".into() }).await.unwrap();
    clock::set(w.service_deadline(r2.due) + chrono::Duration::seconds(1));
    let mut late = w.rectification(r2.id).await;
    for _ in 0..100 {
        if late.escalated_at.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        late = w.rectification(r2.id).await;
    }
    assert!(late.escalation_reason.as_deref().unwrap().contains("整改答复"), "{late:?}");
    let answered_late = w
        .step(r2.id, None, RectificationAction::Answer { fix: "调整人员".into(), answer: "已答复".into() })
        .await
        .unwrap();
    assert_eq!(answered_late.on_time, Some(false));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(w.count(EventType::RECTIFICATION_OPENED).await, 2);
    assert_eq!(w.count(EventType::RECTIFICATION_CLOSED).await, 1);
}

impl World {
    /// 24:00 Beijing time at the end of `day`.
    fn service_deadline(&self, day: NaiveDate) -> DateTime<Utc> {
        bangban_workdays::Calendar::embedded().deadline_instant(day).value
    }
}

#[tokio::test]
async fn an_upheld_appeal_leaves_the_assessment_and_figures_come_from_the_events() {
    if !own_process() {
        return;
    }
    let w = world(|_| {}).await;
    let case = w.accept(SPECIALIST).await;
    // Three items concluded at once (received today): one of them went overdue first.
    let t1 = w.task(&case, UNIT, true).await;
    let t2 = w.task(&case, UNIT, true).await;
    let overdue = Uuid::now_v7();
    let mut e = task_event(&case, overdue, "371625-ZJJ", TaskStatus::Received, "receive");
    w.publish(EventType::TASK_RECEIVED, Some("371625-ZJJ"), &e).await;
    w.publish(
        EventType::TASK_OVERDUE,
        Some("371625-ZJJ"),
        &serde_json::json!({"task_id": overdue, "case_id": case.id, "ledger_no": "BB", "office": OFFICE, "code": "X",
            "name": "施工许可", "stage": "construction_permit", "unit_code": "371625-ZJJ", "unit_office": OFFICE,
            "applicant_id": case.applicant, "specialist_id": SPECIALIST, "alert": "overdue", "status": "running",
            "promised_working_days": 5, "extension_working_days": 0, "due_at": null, "due_date": null,
            "remaining_working_days": -1, "provisional": false, "reason": "overdue", "scheduled_for": null,
            "at": clock::now()}),
    )
    .await;
    clock::set(DateTime::parse_from_rfc3339("2026-03-09T02:00:00Z").unwrap().with_timezone(&Utc));
    e.at = clock::now();
    e.status = TaskStatus::Rejected;
    e.action = "reject".into();
    w.publish(EventType::TASK_REJECTED, Some("371625-ZJJ"), &e).await;
    for t in [t1, t2, overdue] {
        w.code_for(Some(t), case.id).await;
    }
    let good = w.submit(&case, Matter::Task { task_id: t1 }, case.applicant, 5).await.unwrap();
    let fair = w.submit(&case, Matter::Task { task_id: t2 }, case.applicant, 3).await.unwrap();
    let bad = w.submit(&case, Matter::Task { task_id: overdue }, case.applicant, 2).await.unwrap();
    assert!(!good.bad && !fair.bad && bad.bad);

    let before = w.assessment(AssessmentScope::Specialist).await;
    let row = before.rows.iter().find(|r| r.key == SPECIALIST).unwrap();
    assert_eq!((row.ratings, row.satisfied, row.bad_reviews), (3, 2, 1));
    assert!((row.satisfaction_rate.unwrap() - 2.0 / 3.0).abs() < 1e-9);
    assert!((row.average_level.unwrap() - 10.0 / 3.0).abs() < 1e-9);
    assert_eq!((row.items_concluded, row.items_on_time), (3, 2));
    // t1 and t2 concluded the day they were received (0 working days), the overdue one five working days later.
    assert!((row.average_working_days.unwrap() - 5.0 / 3.0).abs() < 1e-9, "{row:?}");

    // The unit appeals the bad review; another county's admin may not decide; the office's admin upholds it.
    let appeal: AppealView = w
        .call::<ops::AppealFile>(&FileAppeal {
            actor: actor("officer-zjj", "officer", OFFICE),
            evaluation_id: bad.id,
            appeal: NewAppeal {
                reason: "超期系服务对象补正材料延迟所致，补正期间依法不计时".into(),
                evidence: vec!["补正通知书 2026-03-03 签收记录".into()],
            },
        })
        .await
        .unwrap();
    let twice = w
        .call::<ops::AppealFile>(&FileAppeal {
            actor: actor("officer-zjj", "officer", OFFICE),
            evaluation_id: bad.id,
            appeal: NewAppeal { reason: "再次申诉再次申诉".into(), evidence: vec!["同上材料".into()] },
        })
        .await;
    assert_eq!(status(&twice), StatusCode::CONFLICT);
    let decision = AppealDecision { upheld: true, note: "证据属实，申诉成立".into() };
    let foreign = w
        .call::<ops::AppealDecide>(&DecideAppeal {
            actor: actor("staff-371621-office_admin-1", "office_admin", "371621"),
            id: appeal.id,
            decision: decision.clone(),
        })
        .await;
    assert_eq!(status(&foreign), StatusCode::FORBIDDEN);
    let decided: AppealView = w
        .call::<ops::AppealDecide>(&DecideAppeal {
            actor: actor("staff-371625-office_admin-1", "office_admin", OFFICE),
            id: appeal.id,
            decision,
        })
        .await
        .unwrap();
    assert_eq!(decided.status, AppealStatus::Upheld);
    let after = w.assessment(AssessmentScope::Specialist).await;
    let row = after.rows.iter().find(|r| r.key == SPECIALIST).unwrap();
    assert_eq!((row.ratings, row.satisfied, row.bad_reviews, row.appeals_upheld), (2, 2, 0, 1));
    assert_eq!(row.satisfaction_rate, Some(1.0));
    let v: EvaluationView = w.call::<ops::Get>(&contract::GetEvaluation { id: bad.id }).await.unwrap();
    assert!(!v.counts && v.appeal.is_some());

    let units = w.assessment(AssessmentScope::Unit).await;
    let zjj = units.rows.iter().find(|r| r.key == "371625-ZJJ").unwrap();
    assert_eq!((zjj.ratings, zjj.appeals_upheld, zjj.items_concluded, zjj.items_on_time), (0, 1, 1, 0));
    let offices = w.assessment(AssessmentScope::Office).await;
    assert_eq!(offices.rows.len(), 1);
    assert_eq!(
        (offices.rows[0].key.as_str(), offices.rows[0].ratings, offices.rows[0].items_concluded),
        (OFFICE, 2, 3)
    );

    let stats: Statistics = w.call::<ops::Statistics>(&StatisticsQuery::default()).await.unwrap();
    assert_eq!((stats.total.total, stats.total.by_level), (2, [0, 0, 1, 0, 1]));
    assert_eq!(stats.by_category.len(), 1);
    assert_eq!((stats.by_category[0].key.as_str(), stats.by_month[0].key.as_str()), ("industrial", "2026-03"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(w.count(EventType::APPEAL_DECIDED).await, 1);
}

#[tokio::test]
async fn silence_counts_only_when_a_default_rating_is_configured() {
    if !own_process() {
        return;
    }
    let w = world(|s| s.default_rating_after_working_days = Some(3)).await;
    let case = w.accept(SPECIALIST).await;
    let task = w.task(&case, UNIT, true).await;
    w.code_for(Some(task), case.id).await;
    // Monday + 3 working days: after Thursday.
    clock::set(DateTime::parse_from_rfc3339("2026-03-05T15:59:00Z").unwrap().with_timezone(&Utc));
    tokio::time::sleep(Duration::from_millis(400)).await;
    let none: contract::EvaluationPage = w.call::<ops::List>(&contract::ListEvaluations::default()).await.unwrap();
    assert_eq!(none.total, 0, "not before three working days");
    clock::set(DateTime::parse_from_rfc3339("2026-03-05T16:00:01Z").unwrap().with_timezone(&Utc));
    let mut page: contract::EvaluationPage = w.call::<ops::List>(&contract::ListEvaluations::default()).await.unwrap();
    for _ in 0..100 {
        if page.total > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        page = w.call::<ops::List>(&contract::ListEvaluations::default()).await.unwrap();
    }
    assert_eq!(page.total, 1);
    assert_eq!((page.items[0].level, page.items[0].channel), (Level::Satisfied, Channel::Default));
}
