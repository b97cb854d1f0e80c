//! The register of applicants and projects, and cases that refer to them by id.

use std::time::Duration;

use bangban_contracts::{
    Operation,
    intake::{
        Actor, ApplicantPage, ApplicantQuery, ApplicantView, CaseView, ListApplicants, ProjectPage, ProjectView,
        ops::ApplicantList,
    },
};
use bangban_gateway::auth::Role;
use bangban_platform::rpc;
use serde_json::{Value, json};

use crate::support::*;

const COUNTY: &str = "371625";
const OTHER_COUNTY: &str = "371681";
const CITY: &str = "371600";

async fn register(app: &TestApp, token: &str, body: &Value) -> reqwest::Response {
    app.http.post(app.url("/api/v1/applicants")).bearer_auth(token).json(body).send().await.expect("request")
}

async fn list(app: &TestApp, token: &str, query: &str) -> reqwest::Response {
    app.http.get(app.url(&format!("/api/v1/applicants{query}"))).bearer_auth(token).send().await.expect("request")
}

async fn page(app: &TestApp, token: &str, query: &str) -> ApplicantPage {
    let res = list(app, token, query).await;
    let status = res.status();
    let text = res.text().await.unwrap();
    assert_eq!(status, 200, "{query}: {text}");
    serde_json::from_str(&text).unwrap()
}

/// A problem with the expected status, in both languages; returns it.
async fn problem(res: reqwest::Response, status: u16, what: &str) -> Value {
    assert_eq!(res.status().as_u16(), status, "{what}");
    assert_eq!(res.headers()["content-type"], "application/problem+json", "{what}");
    let p: Value = res.json().await.unwrap();
    assert!(p["detail"].is_string() && p["detail_en"].is_string(), "{what}: {p}");
    p
}

/// The applicant's phone as intake stores it, decrypted.
async fn stored_phone(app: &TestApp, id: uuid::Uuid) -> Option<String> {
    use sea_orm::EntityTrait;
    let row = bangban_intake::entity::applicant::Entity::find_by_id(id.to_string())
        .one(&app.intake_db)
        .await
        .unwrap()
        .expect("the applicant");
    let pii = bangban_platform::pii::cipher_from_settings(&app.settings).expect("the PII key");
    row.phone_enc.map(|e| pii.decrypt(&e).expect("decrypt"))
}

/// An organisation by its (public) credit code.
fn organisation(name: &str, phone: &str) -> Value {
    json!({"kind": "legal_person", "name": name, "credit_code": "91440300708461136T", "phone": phone,
        "contact_person": "王经理"})
}

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

#[tokio::test]
async fn another_county_cannot_redirect_a_registered_applicant_s_contact_data() {
    let app = TestApp::spawn().await;
    let own = app.token(Role::Assistant, COUNTY, None);
    let other = app.token(Role::Assistant, OTHER_COUNTY, None);
    let res = register(&app, &own, &organisation("博兴某新材料有限公司", "13812341234")).await;
    assert_eq!(res.status(), 201);
    let registered: ApplicantView = res.json().await.unwrap();

    // Another county, knowing only the public credit code, tries to put its own phone (and name) on it:
    // refused by registering it, and by accepting a case with it; nothing changes, nothing is audited.
    let hijack = organisation("博兴某新材料有限公司", "13900009999");
    let p = problem(register(&app, &other, &hijack).await, 403, "another county changes the phone").await;
    assert!(p["detail"].as_str().unwrap().contains("手机号码"), "{p}");
    assert!(p["detail_en"].as_str().unwrap().contains("phone"), "{p}");
    let renamed = organisation("冒名公司", "13812341234");
    problem(register(&app, &other, &renamed).await, 403, "another county renames it").await;
    let mut case = sample_case();
    case["office"] = json!(OTHER_COUNTY);
    case["project"]["office"] = json!(OTHER_COUNTY);
    case["applicant"] = hijack.clone();
    problem(app.post_case(&other, &case).await, 403, "a case that would change it").await;
    assert_eq!(count_rows(&app.intake_db, "cases").await, 0, "no case was accepted");
    assert_eq!(stored_phone(&app, registered.id).await.as_deref(), Some("13812341234"));
    assert_eq!(count_rows(&app.intake_db, "applicant_change").await, 0);
    let unchanged = &page(&app, &own, "").await.items[0];
    assert_eq!((unchanged.name.as_str(), unchanged.phone.as_deref()), ("博兴某新材料有限公司", Some("138****1234")));

    // The same data, or none to change: found again (200), unchanged.
    let res = register(&app, &other, &organisation("博兴某新材料有限公司", "13812341234")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<ApplicantView>().await.unwrap(), registered);
    let bare = json!({"kind": "legal_person", "name": "博兴某新材料有限公司", "credit_code": "91440300708461136T"});
    assert_eq!(register(&app, &other, &bare).await.status(), 200);

    // The registering county changes it, audited (the fields, never the number); so does the city office.
    let res = register(&app, &own, &organisation("博兴某新材料有限公司", "13812345678")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<ApplicantView>().await.unwrap().phone.as_deref(), Some("138****5678"));
    assert_eq!(stored_phone(&app, registered.id).await.as_deref(), Some("13812345678"));
    let mut person = organisation("博兴某新材料有限公司", "13812345678");
    person["contact_person"] = json!("李主任");
    let city = app.token(Role::OfficeAdmin, CITY, None);
    assert_eq!(register(&app, &city, &person).await.status(), 200);
    let audit = audit_rows(&app).await;
    assert_eq!(audit, [("phone".to_string(), COUNTY.to_string()), ("contact_person".into(), CITY.into())]);

    // A county that accepts a case of the applicant (its name and credit code are public) does not become
    // entitled by that: the registering county or the city changes contact data.
    let mut by_id = sample_case();
    by_id["office"] = json!(OTHER_COUNTY);
    by_id["project"]["office"] = json!(OTHER_COUNTY);
    by_id["applicant"] = Value::Null;
    by_id["applicant_id"] = json!(registered.id);
    assert_eq!(app.post_case(&other, &by_id).await.status(), 201);
    problem(register(&app, &other, &organisation("博兴某新材料有限公司", "13700001111")).await, 403, "after a case")
        .await;
    assert_eq!(stored_phone(&app, registered.id).await.as_deref(), Some("13812345678"));
    assert_eq!(audit_rows(&app).await.len(), 2);
}

/// `(fields, actor_office)` of the applicant changes audited, in order.
async fn audit_rows(app: &TestApp) -> Vec<(String, String)> {
    use bangban_intake::entity::applicant_change;
    use sea_orm::{EntityTrait, QueryOrder};
    applicant_change::Entity::find()
        .order_by_asc(applicant_change::Column::At)
        .all(&app.intake_db)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.fields, r.actor_office))
        .collect()
}

#[tokio::test]
async fn the_applicant_register_is_scoped_to_the_office_in_the_gateway_and_in_intake() {
    let app = TestApp::spawn().await;
    let own = app.token(Role::Assistant, COUNTY, None);
    let other = app.token(Role::Assistant, OTHER_COUNTY, None);
    let zhang =
        json!({"kind": "natural_person", "name": "张三", "id_number": "11010519491231002X", "phone": "13905431234"});
    let li = organisation("邹平某公司", "13812341234");
    let zhang: ApplicantView = register(&app, &own, &zhang).await.json().await.unwrap();
    let li: ApplicantView = register(&app, &other, &li).await.json().await.unwrap();
    let ids = |p: &ApplicantPage| {
        let mut ids: Vec<uuid::Uuid> = p.items.iter().map(|a| a.id).collect();
        ids.sort();
        ids
    };
    let both = {
        let mut v = vec![zhang.id, li.id];
        v.sort();
        v
    };

    // Each county its own; asking for another is refused, naming both offices.
    let p = page(&app, &own, "").await;
    assert_eq!((p.total, ids(&p)), (1, vec![zhang.id]));
    let p = page(&app, &other, "?q=%E5%BC%A0").await;
    assert_eq!(p.total, 0, "another county's applicant is not found by name either");
    let p = problem(list(&app, &own, &format!("?office={OTHER_COUNTY}")).await, 403, "another office").await;
    assert!(p["detail"].as_str().unwrap().contains(OTHER_COUNTY), "{p}");
    assert_eq!(page(&app, &own, &format!("?office={COUNTY}")).await.total, 1);

    // The city office and supervisors: everyone, or the office asked for.
    for token in [app.token(Role::OfficeAdmin, CITY, None), app.token(Role::Supervisor, COUNTY, None)] {
        assert_eq!(ids(&page(&app, &token, "").await), both);
        assert_eq!(ids(&page(&app, &token, &format!("?office={OTHER_COUNTY}")).await), vec![li.id]);
    }
    let p = problem(list(&app, &app.token(Role::Supervisor, CITY, None), "?office=999999").await, 422, "unknown").await;
    assert_eq!(p["errors"][0]["field"], "office", "{p}");
    // Applicants see themselves on their cases, not in the register.
    let applicant = app.token(Role::Applicant, COUNTY, Some(&zhang.id.to_string()));
    problem(list(&app, &applicant, "").await, 403, "an applicant").await;

    // A case accepted by the other county brings the applicant into its register.
    let mut case = sample_case();
    case["office"] = json!(OTHER_COUNTY);
    case["project"]["office"] = json!(OTHER_COUNTY);
    case["applicant"] = Value::Null;
    case["applicant_id"] = json!(zhang.id);
    assert_eq!(app.post_case(&other, &case).await.status(), 201);
    assert_eq!(ids(&page(&app, &other, "").await), both);
    assert_eq!(ids(&page(&app, &own, "").await), vec![zhang.id], "and nothing into the first county's");

    // Intake scopes the list itself, whatever a caller on the bus passes on.
    let call = |actor: Actor, filter: ListApplicants| {
        let client = app.client.clone();
        async move { rpc::call::<ApplicantList>(&client, &ApplicantQuery { actor, filter }, Duration::from_secs(5)).await }
    };
    let actor = |role: &str, office: &str| Actor { sub: "bus".into(), role: role.into(), office: office.into() };
    let p = call(actor("assistant", COUNTY), ListApplicants::default()).await.unwrap();
    assert_eq!(ids(&p), vec![zhang.id]);
    let asked = ListApplicants { office: Some(OTHER_COUNTY.into()), ..Default::default() };
    let status = |r: Result<ApplicantPage, rpc::CallError>| match r {
        Err(rpc::CallError::Problem(p)) => p.status,
        other => panic!("a problem: {other:?}"),
    };
    assert_eq!(status(call(actor("assistant", COUNTY), asked).await), 403);
    assert_eq!(status(call(actor("applicant", CITY), ListApplicants::default()).await), 403);
    assert_eq!(status(call(actor("officer", CITY), ListApplicants::default()).await), 403);
    // The old request without an actor is not served (not the operation's request type: a raw call).
    let bare = rpc::call_subject::<_, ApplicantPage>(
        &app.client,
        ApplicantList::subject(),
        &ListApplicants::default(),
        Duration::from_secs(5),
    )
    .await;
    assert!(bare.is_err(), "{bare:?}");
}
