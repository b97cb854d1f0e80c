//! Acceptance (受理委托, §7.2) end to end: identities checked and kept encrypted, commission
//! conditions, one specialist per case by least load, one contact card per applicant.

use std::time::Duration;

use bangban_contracts::intake::CaseView;
use serde_json::{Value, json};

use crate::support::*;

fn county_case(kind: &str) -> Value {
    let mut c = sample_case();
    c["office"] = json!("371625");
    if kind == "natural_person" {
        c["applicant"] = json!({
            "kind": "natural_person", "name": "张三",
            "id_number": "11010519491231002X", "phone": "+86 139-0543-1234"
        });
    }
    c
}

fn commission() -> Value {
    let mut c = county_case("legal_person");
    c["service_type"] = json!("commission");
    let today = chrono::Utc::now().date_naive();
    c["agreement"] = json!({
        "parties": ["滨州市某某新材料有限公司", "博兴县帮办代办中心"],
        "scope": "立项用地规划许可至施工许可阶段全部事项",
        "signed_on": (today - chrono::Days::new(8)).to_string(),
        "valid_until": (today + chrono::Days::new(365)).to_string()
    });
    c["materials"] = json!([
        {"name": "营业执照", "complete": true, "authentic": true, "valid": true},
        {"name": "项目备案证明", "complete": true, "authentic": true, "valid": true, "note": "原件已核"}
    ]);
    c
}

#[tokio::test]
async fn personal_data_is_masked_in_replies_encrypted_at_rest_and_absent_from_events() {
    let app = TestApp::spawn().await;
    let token = app.token(bangban_gateway::auth::Role::Assistant, "371625", None);
    let res = app.post_case(&token, &county_case("natural_person")).await;
    assert_eq!(res.status(), 201);
    let body = res.text().await.unwrap();
    assert!(!body.contains("11010519491231002X") && !body.contains("13905431234"), "{body}");
    let case: CaseView = serde_json::from_str(&body).unwrap();
    assert_eq!(case.applicant.id_number.as_deref(), Some("1101**********002X"));
    assert_eq!(case.applicant.phone.as_deref(), Some("139****1234"));

    // At rest: ciphertext only.
    use sea_orm::{ConnectionTrait, Statement};
    let row = app
        .intake_db
        .query_one_raw(Statement::from_string(
            app.intake_db.get_database_backend(),
            "SELECT id_number_enc, phone_enc, id_number_index FROM applicant",
        ))
        .await
        .unwrap()
        .unwrap();
    let id_enc: String = row.try_get("", "id_number_enc").unwrap();
    let phone_enc: String = row.try_get("", "phone_enc").unwrap();
    assert!(id_enc.starts_with("v1:") && !id_enc.contains("19491231"));
    assert!(phone_enc.starts_with("v1:") && !phone_enc.contains("1234"));

    // On the bus: not a digit of it.
    let js = app.js();
    let c = consumer(&js, "bb.evt.>").await;
    let msg = next_message(&c, Duration::from_secs(10)).await.expect("case.accepted");
    let payload = String::from_utf8(msg.payload.to_vec()).unwrap();
    assert!(!payload.contains("11010519491231002X") && !payload.contains("13905431234"), "{payload}");
    // Nor in any span attribute.
    for span in app.spans.get_finished_spans().unwrap() {
        for kv in &span.attributes {
            let v = kv.value.as_str();
            assert!(!v.contains("11010519491231002X") && !v.contains("13905431234"), "{}: {v}", span.name);
        }
    }

    // Nor in any log line (debug level for our crates, captured as JSON).
    let logs = bangban_telemetry::testing::captured_logs();
    assert!(logs.contains("case accepted"), "the capture works");
    for raw in ["11010519491231002X", "13905431234", "139-0543-1234"] {
        assert!(!logs.contains(raw), "raw personal data in the logs: {raw}");
    }

    // The same person again is the same applicant.
    let again: CaseView = app.post_case(&token, &county_case("natural_person")).await.json().await.unwrap();
    assert_eq!(again.applicant.id, case.applicant.id);
    assert_eq!(count_rows(&app.intake_db, "applicant").await, 1);
}

#[tokio::test]
async fn identities_are_checked_with_their_check_digits() {
    let app = TestApp::spawn().await;
    let token = app.token(bangban_gateway::auth::Role::Assistant, "371625", None);
    let mut bad_id = county_case("natural_person");
    bad_id["applicant"]["id_number"] = json!("110105194912310021");
    let res = app.post_case(&token, &bad_id).await;
    assert_eq!(res.status(), 422);
    let p: Value = res.json().await.unwrap();
    assert_eq!(p["errors"][0]["field"], "applicant.id_number");
    assert!(!p.to_string().contains("110105194912310021"), "the problem does not echo the number");

    let mut bad_code = county_case("legal_person");
    bad_code["applicant"]["credit_code"] = json!("91440300708461136X");
    bad_code["applicant"]["phone"] = json!("1234567");
    let p: Value = app.post_case(&token, &bad_code).await.json().await.unwrap();
    let fields: Vec<&str> = p["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["applicant.credit_code", "applicant.phone"]);
    assert_eq!(count_rows(&app.intake_db, "cases").await, 0);
    assert_eq!(count_rows(&app.intake_db, "applicant").await, 0);
}

#[tokio::test]
async fn a_commission_needs_an_agreement_and_a_passed_review() {
    let app = TestApp::spawn().await;
    let token = app.token(bangban_gateway::auth::Role::Agent, "371625", None);

    let mut no_agreement = commission();
    no_agreement.as_object_mut().unwrap().remove("agreement");
    let res = app.post_case(&token, &no_agreement).await;
    assert_eq!(res.status(), 422);
    let p: Value = res.json().await.unwrap();
    assert_eq!(p["errors"][0]["field"], "agreement");
    assert!(p["errors"][0]["reason"].as_str().unwrap().contains("协议"));

    let mut failed = commission();
    failed["materials"][1]["authentic"] = json!(false);
    let res = app.post_case(&token, &failed).await;
    assert_eq!(res.status(), 422);
    let p: Value = res.json().await.unwrap();
    assert_eq!(p["errors"][0]["field"], "materials[1]");
    assert!(p["errors"][0]["reason"].as_str().unwrap().contains("真实性"));
    assert_eq!(count_rows(&app.intake_db, "cases").await, 0);
    assert_eq!(count_rows(&app.intake_db, "outbox").await, 0);

    let res = app.post_case(&token, &commission()).await;
    assert_eq!(res.status(), 201);
    let case: CaseView = res.json().await.unwrap();
    assert!(case.specialist_id.contains("-agent-"), "a commission gets an agent: {}", case.specialist_id);
    assert_eq!(count_rows(&app.intake_db, "material_review").await, 2);
    assert_eq!(count_rows(&app.intake_db, "agreement").await, 1);
    let js = app.js();
    let c = consumer(&js, "bb.evt.371625.materials.reviewed").await;
    let msg = next_message(&c, Duration::from_secs(10)).await.expect("materials.reviewed");
    let data: Value = serde_json::from_slice(&msg.payload).unwrap();
    assert_eq!(data["passed"], true);
}

#[tokio::test]
async fn specialists_are_assigned_by_least_load_and_the_contact_card_follows() {
    let app = TestApp::spawn().await;
    let token = app.token(bangban_gateway::auth::Role::Assistant, "371625", None);
    let mut assigned = Vec::new();
    for i in 0..4 {
        let mut c = county_case("legal_person");
        // Different organisations, so that each gets its own card.
        let codes = ["91440300708461136T", "914403001922038216", "91110000802100433B", "91110108551385082Q"];
        c["applicant"]["credit_code"] = json!(codes[i]);
        let case: CaseView = app.post_case(&token, &c).await.json().await.unwrap();
        assert_eq!(case.contact_card.specialist_id, case.specialist_id);
        assert!(case.contact_card.phone.starts_with("0543-"));
        assert!(!case.contact_card.service_items.is_empty());
        assigned.push(case.specialist_id);
    }
    assert_eq!(
        assigned,
        [
            "staff-371625-assistant-1",
            "staff-371625-assistant-2",
            "staff-371625-assistant-1",
            "staff-371625-assistant-2"
        ],
        "the least loaded assistant of the accepting office, ties to the lower number"
    );

    // Named explicitly: must be an assistant of that office.
    let mut named = county_case("legal_person");
    named["specialist_id"] = json!("staff-371625-assistant-2");
    let case: CaseView = app.post_case(&token, &named).await.json().await.unwrap();
    assert_eq!(case.specialist_id, "staff-371625-assistant-2");
    let mut wrong = county_case("legal_person");
    wrong["specialist_id"] = json!("staff-371681-assistant-1");
    let res = app.post_case(&token, &wrong).await;
    assert_eq!(res.status(), 422);
    let p: Value = res.json().await.unwrap();
    assert_eq!(p["errors"][0]["field"], "specialist_id");

    // One card per applicant: the first organisation came back, its earlier card is superseded.
    use sea_orm::{ConnectionTrait, Statement};
    let row = app
        .intake_db
        .query_one_raw(Statement::from_string(
            app.intake_db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM contact_card c JOIN applicant a ON a.id = c.applicant_id \
             WHERE a.credit_code = '91440300708461136T' AND c.superseded_at IS NULL",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get::<i64>("", "n").unwrap(), 1);
    assert_eq!(count_rows(&app.intake_db, "contact_card").await, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_acceptances_all_succeed_with_distinct_ledger_numbers() {
    let app = TestApp::spawn().await;
    let token = app.token(bangban_gateway::auth::Role::Assistant, "371625", None);
    let body = county_case("legal_person");
    // Writers overlap with each other and with the relay: on SQLite every write transaction takes
    // the write lock up front instead of failing when it upgrades (`database is locked`).
    let requests = (0..24).map(|_| app.post_case(&token, &body));
    let responses = futures::future::join_all(requests).await;
    let mut ledger = std::collections::HashSet::new();
    for res in responses {
        assert_eq!(res.status(), 201);
        let case: CaseView = res.json().await.unwrap();
        assert!(ledger.insert(case.ledger_no));
    }
    assert_eq!(count_rows(&app.intake_db, "cases").await, 24);
    assert_eq!(count_rows(&app.intake_db, "applicant").await, 1, "one organisation, one record");
}
