//! The case dossier (案件全景) through the gateway: every part gathered in parallel with the caller's own
//! permissions; a service that does not answer leaves its part out, named in `missing`, and the dossier still
//! answers.

use std::time::Duration;

use bangban_contracts::{intake::CaseView, planning::PlanView, routing::TaskView};
use bangban_gateway::auth::Role;
use serde_json::{Value, json};

use crate::support::*;

const REACT: Duration = Duration::from_secs(20);

async fn get(app: &TestApp, token: &str, path: &str) -> reqwest::Response {
    app.http.get(app.url(path)).bearer_auth(token).send().await.expect("request")
}

async fn json_of(res: reqwest::Response, status: u16) -> Value {
    assert_eq!(res.status().as_u16(), status);
    res.json().await.expect("json")
}

/// A case of 371625 with its plan published and its tasks routed.
async fn routed_case(app: &TestApp) -> (CaseView, String, Vec<TaskView>) {
    let mut body = sample_case();
    body["office"] = json!("371625");
    let res = app.post_case(&app.token(Role::Assistant, "371625", None), &body).await;
    let case: CaseView = res.json().await.expect("case");
    let specialist = app.token_as(&case.specialist_id, Role::Assistant, &case.office);
    let plan_url = format!("/api/v1/cases/{}/plan", case.id);
    assert!(eventually(REACT, || async { get(app, &specialist, &plan_url).await.status() == 200 }).await);
    let plan: PlanView = app
        .http
        .post(app.url(&format!("{plan_url}/publish")))
        .bearer_auth(&specialist)
        .json(&json!({"note": "方案已确认"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tasks_url = format!("/api/v1/cases/{}/tasks", case.id);
    assert!(
        eventually(REACT, || async {
            let t: Vec<TaskView> = get(app, &specialist, &tasks_url).await.json().await.unwrap_or_default();
            t.len() == plan.items.len()
        })
        .await
    );
    let tasks = get(app, &specialist, &tasks_url).await.json().await.unwrap();
    (case, specialist, tasks)
}

fn missing(d: &Value) -> Vec<(String, u64)> {
    d["missing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["part"].as_str().unwrap().to_string(), m["status"].as_u64().unwrap()))
        .collect()
}

#[tokio::test]
async fn the_dossier_gathers_every_part_and_names_what_a_silent_service_leaves_out() {
    // Notification and evaluation are not running here: their parts are missing, the rest is whole.
    let app = TestApp::spawn().await;
    let (case, specialist, tasks) = routed_case(&app).await;
    let url = format!("/api/v1/cases/{}/dossier", case.id);
    let started = std::time::Instant::now();
    let d = json_of(get(&app, &specialist, &url).await, 200).await;
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(d["case"]["id"], json!(case.id));
    assert!(d["case"]["contact_card"].is_object(), "the contact card: {}", d["case"]);
    assert_eq!(d["plan"]["case_id"], json!(case.id));
    assert!(d["schedule"]["items"].as_array().is_some_and(|i| !i.is_empty()));
    assert_eq!(d["tasks"].as_array().unwrap().len(), tasks.len());
    assert!(d["clocks"].is_array() && d["supervision"]["items"].is_array());
    let gone = missing(&d);
    assert!(gone.contains(&("messages".into(), 503)) && gone.contains(&("evaluations".into(), 503)), "{gone:?}");
    assert_eq!(gone.len(), 2, "{gone:?}");
    assert!(d["messages"].is_null() && d["evaluations"].is_null());
    let m = &d["missing"][0];
    assert!(m["reason"].is_string() && m["reason_en"].is_string());

    // The applicant sees their case, its plan and tasks; what is for staff only is named, not shown.
    let applicant = app.token(Role::Applicant, "371625", Some(&case.applicant.id.to_string()));
    let mine = json_of(get(&app, &applicant, &url).await, 200).await;
    assert_eq!(mine["tasks"].as_array().unwrap().len(), tasks.len());
    assert!(missing(&mine).contains(&("supervision".into(), 403)), "{:?}", missing(&mine));
    assert!(mine["supervision"].is_null());

    // Someone else's case is not theirs at all.
    let stranger = app.token(Role::Applicant, "371625", Some(&uuid::Uuid::now_v7().to_string()));
    assert!(matches!(get(&app, &stranger, &url).await.status().as_u16(), 403 | 404));
    let other_county = app.token(Role::Assistant, "371681", None);
    assert!(matches!(get(&app, &other_county, &url).await.status().as_u16(), 403 | 404));
    assert_eq!(get(&app, &specialist, "/api/v1/cases/not-a-uuid/dossier").await.status().as_u16(), 400);
}

#[tokio::test]
async fn with_every_service_running_the_dossier_is_complete() {
    let app = TestApp::spawn_with_evaluation().await;
    let (case, specialist, _) = routed_case(&app).await;
    let url = format!("/api/v1/cases/{}/dossier", case.id);
    // The acceptance SMS reaches the dossier once notification has sent it.
    assert!(
        eventually(REACT, || async {
            let d = json_of(get(&app, &specialist, &url).await, 200).await;
            d["messages"]["total"].as_u64() == Some(1)
        })
        .await
    );
    let d = json_of(get(&app, &specialist, &url).await, 200).await;
    assert_eq!(missing(&d), Vec::<(String, u64)>::new());
    assert_eq!(d["evaluations"]["total"], json!(0));
    assert!(!d.to_string().contains("13812341234"), "no raw number anywhere");
}
