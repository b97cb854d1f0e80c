//! The register of applicants and projects, and cases that refer to them by id.

use bangban_contracts::intake::{ApplicantPage, ApplicantView, CaseView, ProjectPage, ProjectView};
use bangban_platform::auth::Role;
use serde_json::{Value, json};

use crate::support::*;

#[tokio::test]
async fn registered_applicants_and_projects_are_reused_by_cases() {
    let app = TestApp::spawn().await;
    let token = app.token(Role::Assistant, "371625", None);
    let person =
        json!({"kind": "natural_person", "name": "王五", "id_number": "11010519491231002X", "phone": "13905431234"});
    let res = app.http.post(app.url("/api/v1/applicants")).bearer_auth(&token).json(&person).send().await.unwrap();
    assert_eq!(res.status(), 201);
    let first: ApplicantView = res.json().await.unwrap();
    assert_eq!(first.phone.as_deref(), Some("139****1234"));
    let res = app.http.post(app.url("/api/v1/applicants")).bearer_auth(&token).json(&person).send().await.unwrap();
    assert_eq!(res.status(), 200, "the same person is found again");
    let again: ApplicantView = res.json().await.unwrap();
    assert_eq!(again.id, first.id);

    let bad = json!({"kind": "natural_person", "name": "王五", "id_number": "110105194912310021"});
    let res = app.http.post(app.url("/api/v1/applicants")).bearer_auth(&token).json(&bad).send().await.unwrap();
    assert_eq!(res.status(), 422);

    let page: ApplicantPage = app
        .http
        .get(app.url("/api/v1/applicants?q=%E7%8E%8B"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page.total, 1);
    assert_eq!(page.items[0].id_number.as_deref(), Some("1101**********002X"));

    let project =
        json!({"name": "博兴县物流园", "category": "other", "office": "371625", "code": "2026-371625-59-03-000001"});
    let res = app.http.post(app.url("/api/v1/projects")).bearer_auth(&token).json(&project).send().await.unwrap();
    assert_eq!(res.status(), 201);
    let project: ProjectView = res.json().await.unwrap();
    let elsewhere = json!({"name": "邹平项目", "category": "other", "office": "371681"});
    let res = app.http.post(app.url("/api/v1/projects")).bearer_auth(&token).json(&elsewhere).send().await.unwrap();
    assert_eq!(res.status(), 403, "a county registers projects of its own area");

    let body =
        json!({"service_type": "assist", "office": "371625", "applicant_id": first.id, "project_id": project.id});
    let res = app.post_case(&token, &body).await;
    assert_eq!(res.status(), 201);
    let case: CaseView = res.json().await.unwrap();
    assert_eq!(case.applicant.id, first.id);
    assert_eq!(case.project.code.as_deref(), Some("2026-371625-59-03-000001"));

    let unknown = json!({"service_type": "assist", "office": "371625", "applicant_id": uuid::Uuid::now_v7(), "project_id": project.id});
    let res = app.post_case(&token, &unknown).await;
    assert_eq!(res.status(), 422);
    let p: Value = res.json().await.unwrap();
    assert_eq!(p["errors"][0]["field"], "applicant_id");

    let page: ProjectPage =
        app.http.get(app.url("/api/v1/projects")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    assert_eq!(page.total, 1);
    let other = app.token(Role::Assistant, "371681", None);
    let page: ProjectPage =
        app.http.get(app.url("/api/v1/projects")).bearer_auth(&other).send().await.unwrap().json().await.unwrap();
    assert_eq!(page.total, 0, "another county sees its own area only");
    let applicant = app.token(Role::Applicant, "371625", Some(&first.id.to_string()));
    assert_eq!(app.http.get(app.url("/api/v1/applicants")).bearer_auth(applicant).send().await.unwrap().status(), 403);
}

#[tokio::test]
async fn project_attributes_are_kept_refused_when_unknown_and_documented() {
    let app = TestApp::spawn().await;
    let token = app.token(Role::Assistant, "371625", None);
    let project = json!({
        "name": "博兴县安置房项目", "category": "gov_housing", "office": "371625",
        "investment_kind": "government", "land_supply": "allocation", "construction": "new"
    });
    let res = app.http.post(app.url("/api/v1/projects")).bearer_auth(&token).json(&project).send().await.unwrap();
    assert_eq!(res.status(), 201);
    let registered: Value = res.json().await.unwrap();
    assert_eq!(
        (&registered["investment_kind"], &registered["land_supply"], &registered["construction"]),
        (&json!("government"), &json!("allocation"), &json!("new"))
    );
    let body = json!({"service_type": "assist", "office": "371625",
        "applicant": {"kind": "legal_person", "name": "博兴县城投公司", "credit_code": "91440300708461136T"},
        "project_id": registered["id"]});
    let res = app.post_case(&token, &body).await;
    assert_eq!(res.status(), 201);
    let case: Value = res.json().await.unwrap();
    assert_eq!(case["project"], registered, "a case of a registered project shows its attributes");

    // An unknown value is refused by name, as a project and as the project of a case.
    let mut bad = project.clone();
    bad["land_supply"] = json!("stolen");
    let res = app.http.post(app.url("/api/v1/projects")).bearer_auth(&token).json(&bad).send().await.unwrap();
    assert_eq!(res.status(), 422);
    let p: Value = res.json().await.unwrap();
    assert_eq!(p["errors"][0]["field"], "land_supply", "{p}");
    assert!(p["errors"][0]["reason_en"].as_str().unwrap_or_default().contains("stolen"), "{p}");
    let mut case = sample_case();
    case["project"]["construction"] = json!("demolition");
    let res = app.post_case(&token, &case).await;
    assert_eq!(res.status(), 422);
    let p: Value = res.json().await.unwrap();
    assert_eq!(p["errors"][0]["field"], "project.construction", "{p}");

    // The OpenAPI document describes them.
    let spec: Value = app.http.get(app.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    let schemas = &spec["components"]["schemas"];
    for schema in ["NewProject", "ProjectView"] {
        for field in ["investment_kind", "land_supply", "construction"] {
            assert!(schemas[schema]["properties"][field].is_object(), "{schema}.{field}: {}", schemas[schema]);
        }
    }
    assert_eq!(
        schemas["LandSupply"]["enum"],
        json!(["allocation", "transfer", "existing"]),
        "{}",
        schemas["LandSupply"]
    );
}
