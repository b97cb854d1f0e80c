//! A case's later life through the gateway: the ledger with filters and scoping, a change of
//! specialist, termination, the audited reveal of personal data, and following other services.

use std::time::Duration;

use bangban_contracts::{
    CloudEvent, EventType,
    intake::{CasePage, CaseView},
};
use bangban_gateway::auth::Role;
use serde_json::{Value, json};

use crate::support::*;

fn case_in(office: &str, code: &str, name: &str) -> Value {
    let mut c = sample_case();
    c["office"] = json!(office);
    c["project"]["office"] = json!(office);
    c["project"]["name"] = json!(name);
    c["applicant"]["credit_code"] = json!(code);
    c
}

async fn create(app: &TestApp, office: &str, code: &str, name: &str) -> CaseView {
    let token = app.token(Role::Assistant, office, None);
    let res = app.post_case(&token, &case_in(office, code, name)).await;
    assert_eq!(res.status(), 201);
    res.json().await.unwrap()
}

async fn list(app: &TestApp, token: &str, query: &str) -> reqwest::Response {
    app.http.get(app.url(&format!("/api/v1/cases{query}"))).bearer_auth(token).send().await.unwrap()
}

#[tokio::test]
async fn the_ledger_is_filtered_and_scoped_to_who_asks() {
    let app = TestApp::spawn().await;
    let a = create(&app, "371625", "91440300708461136T", "博兴新材料项目").await;
    let b = create(&app, "371625", "914403001922038216", "博兴物流园").await;
    let c = create(&app, "371681", "91110000802100433B", "邹平铝业项目").await;

    let county = app.token(Role::Assistant, "371625", None);
    let page: CasePage = list(&app, &county, "").await.json().await.unwrap();
    assert_eq!(page.total, 2, "a county sees its own office by default");
    assert_eq!(page.items[0].id, b.id, "newest first");
    assert_eq!(list(&app, &county, "?office=371681").await.status(), 403);

    let city = app.token(Role::OfficeAdmin, "371600", None);
    let page: CasePage = list(&app, &city, "").await.json().await.unwrap();
    assert_eq!(page.total, 3);
    let page: CasePage = list(&app, &city, "?q=%E9%82%B9%E5%B9%B3").await.json().await.unwrap(); // 邹平
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].id, c.id);
    let page: CasePage = list(&app, &city, &format!("?q={}", a.ledger_no)).await.json().await.unwrap();
    assert_eq!(page.items.iter().map(|i| i.id).collect::<Vec<_>>(), vec![a.id]);
    let page: CasePage = list(&app, &city, "?status=accepted&category=industrial&limit=1").await.json().await.unwrap();
    assert_eq!((page.total, page.items.len()), (3, 1));
    let page: CasePage = list(&app, &city, &format!("?specialist={}", a.specialist_id)).await.json().await.unwrap();
    assert!(page.items.iter().all(|i| i.specialist_id == a.specialist_id));

    let supervisor = app.token(Role::Supervisor, "371681", None);
    let page: CasePage = list(&app, &supervisor, "").await.json().await.unwrap();
    assert_eq!(page.total, 3, "supervisors read everything");

    let applicant = app.token(Role::Applicant, "371625", Some(&a.applicant.id.to_string()));
    let page: CasePage = list(&app, &applicant, "?office=371681").await.json().await.unwrap();
    assert_eq!(page.items.iter().map(|i| i.id).collect::<Vec<_>>(), vec![a.id], "only their own, whatever they ask");

    assert_eq!(list(&app, &city, "?limit=0").await.status(), 400);
    assert_eq!(list(&app, &city, "?status=flying").await.status(), 400);
    let integrator = app.token(Role::Integrator, "371600", None);
    assert_eq!(list(&app, &integrator, "").await.status(), 403);
}

#[tokio::test]
async fn termination_ends_the_case_once_and_tells_everyone() {
    let app = TestApp::spawn().await;
    let case = create(&app, "371625", "91440300708461136T", "项目").await;
    let token = app.token(Role::Assistant, "371625", None);
    let url = app.url(&format!("/api/v1/cases/{}/terminate", case.id));

    let res =
        app.http.post(&url).bearer_auth(&token).json(&json!({"reason": "bored", "note": "x"})).send().await.unwrap();
    assert_eq!(res.status(), 422);
    let res = app
        .http
        .post(&url)
        .bearer_auth(&token)
        .json(&json!({"reason": "applicant_request", "note": " "}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let p: Value = res.json().await.unwrap();
    assert_eq!(p["errors"][0]["field"], "note");

    let body = json!({"reason": "applicant_request", "note": "服务对象书面申请终止代办"});
    let other_county = app.token(Role::Assistant, "371681", None);
    assert_eq!(app.http.post(&url).bearer_auth(&other_county).json(&body).send().await.unwrap().status(), 403);

    let res = app.http.post(&url).bearer_auth(&token).json(&body).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let ended: CaseView = res.json().await.unwrap();
    assert_eq!(ended.status.as_str(), "terminated");

    let res = app.http.post(&url).bearer_auth(&token).json(&body).send().await.unwrap();
    assert_eq!(res.status(), 409);
    let p: Value = res.json().await.unwrap();
    assert!(p["detail"].as_str().unwrap().contains("已终止"), "{p}");
    assert!(p["detail_en"].as_str().unwrap().contains("terminated"), "{p}");

    let js = app.js();
    let c = consumer(&js, "bb.evt.371625.case.terminated").await;
    let msg = next_message(&c, Duration::from_secs(10)).await.expect("case.terminated");
    let data: Value = serde_json::from_slice(&msg.payload).unwrap();
    assert_eq!(data["reason"], "applicant_request");
    assert_eq!(data["reason_letter"], "a");
    assert_eq!(data["previous_status"], "accepted");
    assert_eq!(data["specialist_id"], case.specialist_id);
}

#[tokio::test]
async fn a_new_specialist_brings_a_new_contact_card() {
    let app = TestApp::spawn().await;
    let case = create(&app, "371625", "91440300708461136T", "项目").await;
    let url = app.url(&format!("/api/v1/cases/{}/specialist", case.id));
    let body = json!({"reason": "原帮办员岗位调整，已与服务对象沟通"});

    let assistant = app.token(Role::Assistant, "371625", None);
    assert_eq!(app.http.post(&url).bearer_auth(&assistant).json(&body).send().await.unwrap().status(), 403);

    let admin = app.token(Role::OfficeAdmin, "371625", None);
    let res = app.http.post(&url).bearer_auth(&admin).json(&body).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let changed: CaseView = res.json().await.unwrap();
    assert_ne!(changed.specialist_id, case.specialist_id);
    assert_eq!(changed.contact_card.specialist_id, changed.specialist_id);
    assert_ne!(changed.contact_card.number, case.contact_card.number);
    assert_eq!(count_rows(&app.intake_db, "specialist_change").await, 1);

    let res = app
        .http
        .post(&url)
        .bearer_auth(&admin)
        .json(&json!({"specialist_id": "staff-371625-agent-1", "reason": "换人"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422, "an assistance case needs an assistant");

    let js = app.js();
    let c = consumer(&js, "bb.evt.371625.case.specialist_changed").await;
    let msg = next_message(&c, Duration::from_secs(10)).await.expect("case.specialist_changed");
    let data: Value = serde_json::from_slice(&msg.payload).unwrap();
    assert_eq!(data["from_specialist"], case.specialist_id);
    assert_eq!(data["to_specialist"], changed.specialist_id);
    assert_eq!(data["reason"], "原帮办员岗位调整，已与服务对象沟通");
}

#[tokio::test]
async fn personal_data_in_full_only_for_the_specialist_or_an_admin_and_audited() {
    let app = TestApp::spawn().await;
    let mut body = case_in("371625", "x", "项目");
    body["applicant"] =
        json!({"kind": "natural_person", "name": "李四", "id_number": "11010519491231002X", "phone": "13905431234"});
    let case: CaseView = app.post_case(&app.token(Role::Assistant, "371625", None), &body).await.json().await.unwrap();
    let url = app.url(&format!("/api/v1/cases/{}/applicant/reveal", case.id));
    let purpose = json!({"purpose": "代为填报建设工程规划许可申请"});

    let colleague = app.token_as("staff-371625-assistant-9", Role::Assistant, "371625");
    assert_eq!(app.http.post(&url).bearer_auth(colleague).json(&purpose).send().await.unwrap().status(), 403);
    let applicant = app.token(Role::Applicant, "371625", Some(&case.applicant.id.to_string()));
    assert_eq!(app.http.post(&url).bearer_auth(applicant).json(&purpose).send().await.unwrap().status(), 403);
    assert_eq!(count_rows(&app.intake_db, "pii_audit").await, 0);

    let specialist = app.token_as(&case.specialist_id, Role::Assistant, "371625");
    let res = app.http.post(&url).bearer_auth(&specialist).json(&purpose).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let full: Value = res.json().await.unwrap();
    assert_eq!(full["id_number"], "11010519491231002X");
    assert_eq!(full["phone"], "13905431234");
    let admin = app.token(Role::OfficeAdmin, "371625", None);
    assert_eq!(app.http.post(&url).bearer_auth(admin).json(&purpose).send().await.unwrap().status(), 200);
    assert_eq!(count_rows(&app.intake_db, "pii_audit").await, 2);
    let logs = bangban_telemetry::testing::captured_logs();
    assert!(logs.contains("personal data revealed"));
    assert!(!logs.contains("11010519491231002X") && !logs.contains("13905431234"), "revealed, but never logged");
    let res = app.http.post(&url).bearer_auth(&specialist).json(&json!({"purpose": ""})).send().await.unwrap();
    assert_eq!(res.status(), 422, "a purpose is required");
}

/// The data the registry names for `plan.published`, `plan.completed` or `task.dispatched` (at `unit`) about
/// `case`, as planning and routing publish it: consumers decode the whole payload of the event's type.
fn payload(event_type: EventType, case: &CaseView, unit: Option<&str>) -> Value {
    let today = chrono::Utc::now().date_naive();
    if event_type == EventType::PLAN_PUBLISHED {
        return json!({
            "case_id": case.id, "ledger_no": case.ledger_no, "office": case.office, "version": 1,
            "category": case.project.category, "project_id": case.project.id, "project_office": case.project.office,
            "project_name": case.project.name, "applicant_id": case.applicant.id, "specialist_id": case.specialist_id,
            "catalog_version": 1, "items": [], "planned_start": today, "planned_end": today, "total_working_days": 0,
            "critical_path": [], "provisional": false, "changes": {"added": [], "changed": [], "withdrawn": []},
            "note": null, "published_by": "test", "published_at": chrono::Utc::now(),
        });
    }
    if event_type == EventType::PLAN_COMPLETED {
        return json!({
            "case_id": case.id, "ledger_no": case.ledger_no, "office": case.office, "plan_version": 1,
            "approved": 2, "rejected": 0, "withdrawn": 0, "completed_at": chrono::Utc::now(),
        });
    }
    assert_eq!(event_type, EventType::TASK_DISPATCHED);
    json!({
        "task_id": uuid::Uuid::now_v7(), "case_id": case.id, "ledger_no": case.ledger_no, "office": case.office,
        "plan_version": 1, "code": "XM-01", "name": "事项", "stage": "engineering_permit", "unit_code": unit,
        "unit_office": case.project.office, "status": "dispatched", "promised_working_days": 5, "received_at": null,
        "paused_since": null, "applicant_id": case.applicant.id, "specialist_id": case.specialist_id,
        "planned_end": today, "linked": false, "action": "dispatch", "actor": "routing", "at": chrono::Utc::now(),
        "note": null,
    })
}

#[tokio::test]
async fn planning_and_routing_events_move_the_case_once() {
    let app = TestApp::spawn().await;
    let case = create(&app, "371625", "91440300708461136T", "项目").await;
    let js = app.js();
    let publish = |event_type: EventType, unit: Option<&'static str>| {
        let js = js.clone();
        let case_id = case.id;
        let data = payload(event_type, &case, unit);
        async move {
            let event = CloudEvent::new(event_type, "test", case_id.to_string(), &data).unwrap();
            let subject = event_type.subject("371625", unit).unwrap().to_string();
            js.publish_with_headers(subject, event.to_headers(), event.data.clone()).await.unwrap().await.unwrap();
        }
    };
    let status = || {
        let http = app.http.clone();
        let url = app.url(&format!("/api/v1/cases/{}", case.id));
        let token = app.staff_token();
        async move {
            let v: Value = http.get(url).bearer_auth(token).send().await.unwrap().json().await.unwrap();
            v["status"].as_str().unwrap().to_string()
        }
    };
    publish(EventType::PLAN_PUBLISHED, None).await;
    assert!(eventually(Duration::from_secs(10), || async { status().await == "planned" }).await);
    publish(EventType::TASK_DISPATCHED, Some("BX-ZRZY")).await;
    publish(EventType::TASK_DISPATCHED, Some("BX-ZJJ")).await;
    assert!(eventually(Duration::from_secs(10), || async { status().await == "in_progress" }).await);
    // A late plan.published changes nothing.
    publish(EventType::PLAN_PUBLISHED, None).await;
    let drained = eventually(Duration::from_secs(10), || {
        let js = js.clone();
        async move {
            let mut c = js
                .get_consumer_from_stream::<async_nats::jetstream::consumer::pull::Config, _, _>(
                    "intake-plan-published",
                    "BANGBAN_EVENTS",
                )
                .await
                .unwrap();
            let info = c.info().await.unwrap();
            info.num_pending == 0 && info.num_ack_pending == 0
        }
    })
    .await;
    assert!(drained);
    assert_eq!(status().await, "in_progress");

    // The units the tasks went to are known, and their officers may read the archive.
    let view: CaseView = app
        .http
        .get(app.url(&format!("/api/v1/cases/{}", case.id)))
        .bearer_auth(app.staff_token())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(view.units, ["BX-ZRZY", "BX-ZJJ"]);
    assert!(!view.ready_for_results);
    let officer = |unit: &str| {
        app.auth
            .issue("officer-1", Role::Officer, "371625", Some(unit.to_string()), None, Duration::from_secs(600))
            .unwrap()
    };
    let archive = app.url(&format!("/api/v1/cases/{}/archive", case.id));
    assert_eq!(app.http.get(&archive).bearer_auth(officer("BX-ZRZY")).send().await.unwrap().status(), 200);
    assert_eq!(app.http.get(&archive).bearer_auth(officer("BX-OTHER")).send().await.unwrap().status(), 404);
    let case_url = app.url(&format!("/api/v1/cases/{}", case.id));
    assert_eq!(app.http.get(&case_url).bearer_auth(officer("BX-ZRZY")).send().await.unwrap().status(), 403);

    // Every item concluded: the case is marked ready for its results, and stays in progress.
    publish(EventType::PLAN_COMPLETED, None).await;
    let ready = eventually(Duration::from_secs(10), || {
        let http = app.http.clone();
        let url = case_url.clone();
        let token = app.staff_token();
        async move {
            let v: Value = http.get(url).bearer_auth(token).send().await.unwrap().json().await.unwrap();
            v["ready_for_results"] == true && v["status"] == "in_progress"
        }
    })
    .await;
    assert!(ready);
}
