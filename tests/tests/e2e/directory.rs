//! Offices and staff through the gateway.

use bangban_contracts::intake::{OfficeView, StaffView};
use bangban_gateway::auth::Role;
use serde_json::Value;

use crate::support::*;

#[tokio::test]
async fn offices_and_staff_are_listed_and_seeding_twice_adds_nothing() {
    let app = TestApp::spawn().await;
    let token = app.staff_token();
    let offices: Vec<OfficeView> =
        app.http.get(app.url("/api/v1/offices")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    assert_eq!(offices.len(), 8);
    assert_eq!(offices[0].code, "371600");
    assert_eq!(offices[0].name, "滨州市");

    let before = count_rows(&app.intake_db, "staff").await;
    bangban_intake::seed::seed(&app.intake_db).await.unwrap();
    assert_eq!(count_rows(&app.intake_db, "staff").await, before, "seeding is idempotent");
    assert_eq!(count_rows(&app.intake_db, "office").await, 8);

    let res = app.http.get(app.url("/api/v1/staff?office=371625&role=agent")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let agents: Vec<StaffView> = res.json().await.unwrap();
    assert_eq!(agents.len(), 2);
    assert!(agents.iter().all(|s| s.office == "371625" && s.role == "agent" && !s.service_items.is_empty()));

    let res = app.http.get(app.url("/api/v1/staff?office=999999")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), 422);
    let res = app.http.get(app.url("/api/v1/staff?colour=red")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), 400);
    let p: Value = res.json().await.unwrap();
    assert_eq!(p["type"], "/problems/malformed-query");

    // Applicants and integrators do not browse the staff directory.
    let applicant = app.token(Role::Applicant, "371600", Some("a-1"));
    assert_eq!(app.http.get(app.url("/api/v1/staff")).bearer_auth(applicant).send().await.unwrap().status(), 403);
    let integrator = app.token(Role::Integrator, "371600", None);
    assert_eq!(app.http.get(app.url("/api/v1/staff")).bearer_auth(integrator).send().await.unwrap().status(), 403);
}
