//! The platform clock (平台时钟) end to end: `GET /api/v1/clock` is public, and it is the time the services
//! stamp — so a rehearsal moves both together.

use bangban_contracts::intake::CaseView;
use bangban_platform::clock;
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::support::*;

#[tokio::test]
async fn the_clock_is_public_and_is_the_time_the_services_stamp() {
    let app = TestApp::spawn().await;

    // No token needed; the wall clock unless rehearsed.
    let res = app.http.get(app.url("/api/v1/clock")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let view: Value = res.json().await.unwrap();
    assert_eq!(view["rehearsal"], false);
    assert_eq!(view["speed"], 1.0);
    let now: DateTime<Utc> = view["now"].as_str().expect("RFC 3339").parse().unwrap();
    assert!((now - Utc::now()).num_seconds().abs() < 5, "{now}");
    let spec: Value = app.http.get(app.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    let op = &spec["paths"]["/api/v1/clock"]["get"];
    assert!(op.is_object() && op.get("security").is_none(), "documented as public: {op}");

    // The clock is process-wide: move it only where every test has its own process (nextest).
    if std::env::var_os("NEXTEST_RUN_ID").is_none() {
        eprintln!("not under cargo-nextest: the rehearsal part of this test is skipped");
        return;
    }
    let t0: DateTime<Utc> = "2026-03-02T01:00:00Z".parse().unwrap();
    clock::set_manual(t0);
    let view: Value = app.http.get(app.url("/api/v1/clock")).send().await.unwrap().json().await.unwrap();
    assert_eq!(view["rehearsal"], true);
    assert_eq!(view["speed"], 0.0);
    assert_eq!(view["now"].as_str().unwrap().parse::<DateTime<Utc>>().unwrap(), t0);
    let res = app.post_case(&app.staff_token(), &sample_case()).await;
    assert_eq!(res.status(), 201);
    let case: CaseView = res.json().await.unwrap();
    assert_eq!((case.created_at, case.updated_at), (t0, t0), "intake stamps the platform clock");
    clock::advance(chrono::Duration::days(3));
    let view: Value = app.http.get(app.url("/api/v1/clock")).send().await.unwrap().json().await.unwrap();
    assert_eq!(view["now"].as_str().unwrap().parse::<DateTime<Utc>>().unwrap(), t0 + chrono::Duration::days(3));
    clock::use_system();
}
