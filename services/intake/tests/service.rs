//! Intake on the platform's service skeleton (服务骨架), on a real nats-server and database: its operations
//! answer by operation type, its events leave through the outbox, and its consumer follows planning.

use std::time::Duration;

use bangban_contracts::{
    CloudEvent, Event, events,
    intake::{
        Actor, CaseStatus, CreateCase, GetCase, ListOffices, NewCase, OfficeLevel, ops,
        results::{self, GetResults, ReadDocument},
    },
    planning::PlanPublished,
};
use bangban_intake::IntakeService;
use bangban_platform::rpc::{self, CallError};
use bangban_testkit::Harness;
use serde_json::json;
use uuid::Uuid;

const TIMEOUT: Duration = Duration::from_secs(5);

fn actor() -> Actor {
    Actor { sub: "tester".into(), role: "assistant".into(), office: "371600".into() }
}

fn new_case() -> NewCase {
    serde_json::from_value(json!({
        "service_type": "assist",
        "office": "371600",
        "applicant": {
            "kind": "legal_person", "name": "滨州市某某新材料有限公司",
            "credit_code": "91440300708461136T", "phone": "13812341234"
        },
        "project": {"name": "年产5万吨新材料项目", "category": "industrial", "office": "371625"},
    }))
    .expect("a valid NewCase")
}

fn problem(e: CallError) -> bangban_platform::problem::Problem {
    match e {
        CallError::Problem(p) => *p,
        other => panic!("expected a problem, got {other}"),
    }
}

#[tokio::test]
async fn intake_answers_by_operation_and_follows_a_published_plan() {
    let h = Harness::<IntakeService>::start().await.expect("intake");
    bangban_intake::seed::seed_roster(&h.running.db).await.expect("roster");

    // The offices were loaded when the service was built; their level is typed.
    let offices = rpc::call::<ops::OfficeList>(&h.client, &ListOffices {}, TIMEOUT).await.expect("offices");
    assert_eq!(offices.iter().filter(|o| o.level == OfficeLevel::City).count(), 1);
    assert!(offices.iter().any(|o| o.level == OfficeLevel::County));

    // Results and the archive answer with intake's own problems.
    let missing = Uuid::now_v7();
    let p = problem(
        rpc::call::<results::ops::ResultsGet>(&h.client, &GetResults { case_id: missing }, TIMEOUT).await.unwrap_err(),
    );
    assert_eq!(p.status, 404);
    assert_eq!(p.detail.as_deref(), Some(format!("案件 {missing} 不存在").as_str()));

    let case = rpc::call::<ops::CaseCreate>(&h.client, &CreateCase { actor: actor(), case: new_case() }, TIMEOUT)
        .await
        .expect("case accepted");
    assert_eq!(case.status, CaseStatus::Accepted);
    let read = ReadDocument { case_id: case.id, document_id: missing, offset: 0, length: 10 };
    let p = problem(rpc::call::<results::ops::ArchiveRead>(&h.client, &read, TIMEOUT).await.unwrap_err());
    assert_eq!(p.status, 404);
    assert!(p.detail.unwrap().contains("归档资料"));

    // `case.accepted` left through the outbox, on the subject of the registry.
    let subject = events::CaseAccepted::TYPE.subject(&case.office, None).unwrap().to_string();
    let stream = h.js.get_stream(bangban_contracts::subjects::EVENTS_STREAM).await.expect("events stream");
    let mut published = None;
    for _ in 0..100 {
        if let Ok(m) = stream.get_last_raw_message_by_subject(&subject).await {
            published = Some(m);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(published.is_some(), "case.accepted was not published on {subject}");

    // Planning publishes the plan: the consumer moves the case to `planned`.
    let plan: PlanPublished = serde_json::from_value(json!({
        "case_id": case.id, "ledger_no": case.ledger_no, "office": case.office, "version": 1,
        "category": "industrial", "project_id": case.project.id, "project_office": "371625",
        "project_name": case.project.name, "applicant_id": case.applicant.id,
        "specialist_id": case.specialist_id, "catalog_version": 1, "items": [],
        "planned_start": "2026-12-01", "planned_end": "2027-03-01", "total_working_days": 60,
        "critical_path": [], "provisional": false, "changes": {"added": [], "changed": [], "withdrawn": []},
        "note": null, "published_by": "planner", "published_at": "2026-11-30T02:00:00Z"
    }))
    .expect("a plan");
    let event = CloudEvent::new(events::PlanPublished::TYPE, "planning", case.id.to_string(), &plan).unwrap();
    let subject = events::PlanPublished::subject(&case.office, None).unwrap().to_string();
    h.js.publish_with_headers(subject, event.to_headers(), event.data.clone())
        .await
        .expect("publish")
        .await
        .expect("stored");
    let mut status = case.status;
    for _ in 0..100 {
        status = rpc::call::<ops::CaseGet>(&h.client, &GetCase { id: case.id }, TIMEOUT).await.expect("case").status;
        if status == CaseStatus::Planned {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, CaseStatus::Planned);
}
