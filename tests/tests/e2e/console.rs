//! The web console's pages and forms, posted as a browser posts them: a specialist accepts a case and publishes
//! its plan, a unit officer receives, reviews and approves an item from the inbox, the specialist records the
//! result's collection, and the applicant sees it and rates it — each person with their own session, each form
//! with its CSRF token, each page showing only what its reader may see.

use std::time::Duration;

use reqwest::{StatusCode, header};
use serde_json::Value;

use crate::support::{TestApp, eventually};

const COUNTY: &str = "371625";

/// A person signed in through the demo login: their session cookie and CSRF token.
struct Person {
    cookie: String,
    csrf: String,
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

async fn sign_in(app: &TestApp, http: &reqwest::Client, fields: &[(&str, &str)]) -> Person {
    let res = http.post(app.url("/auth/dev-login")).form(fields).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{fields:?}");
    let raw = res.headers()[header::SET_COOKIE].to_str().unwrap().to_string();
    let cookie = raw.split(';').next().unwrap().to_string();
    let me: Value = http
        .get(app.url("/api/v1/session"))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    Person { cookie, csrf: me["csrf_token"].as_str().unwrap().to_string() }
}

async fn page(app: &TestApp, http: &reqwest::Client, who: &Person, path: &str) -> (StatusCode, String) {
    let res = http.get(app.url(path)).header(header::COOKIE, &who.cookie).send().await.unwrap();
    (res.status(), res.text().await.unwrap())
}

/// Posts a form with the person's CSRF token; returns the status and the redirect target (else the page).
async fn submit(
    app: &TestApp,
    http: &reqwest::Client,
    who: &Person,
    path: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, String) {
    let mut all: Vec<(&str, &str)> = vec![("_csrf", who.csrf.as_str())];
    all.extend_from_slice(fields);
    let res = http.post(app.url(path)).header(header::COOKIE, &who.cookie).form(&all).send().await.unwrap();
    let status = res.status();
    match res.headers().get(header::LOCATION) {
        Some(location) => (status, location.to_str().unwrap().to_string()),
        None => (status, res.text().await.unwrap()),
    }
}

#[tokio::test]
async fn a_case_goes_from_acceptance_to_rating_through_the_console() {
    let app = TestApp::spawn_with_evaluation().await;
    let http = browser();
    let window =
        sign_in(&app, &http, &[("sub", "staff-371625-assistant-1"), ("role", "assistant"), ("office", COUNTY)]).await;

    // The specialist's pages: the ledger and the new-case form.
    let (status, html) = page(&app, &http, &window, "/console").await;
    assert_eq!(status, 200);
    assert!(html.contains("台账") && html.contains("/console/cases/new"), "{html}");
    let (status, html) = page(&app, &http, &window, "/console/cases/new").await;
    assert_eq!(status, 200);
    assert!(html.contains("name=\"applicant.name\"") && html.contains("name=\"_csrf\""));

    // A mistake comes back as a page naming the field, and creates nothing.
    let case_form = [
        ("service_type", "assist"),
        ("office", COUNTY),
        ("applicant.kind", "legal_person"),
        ("applicant.name", "滨州市某某新材料有限公司"),
        ("applicant.credit_code", "91440300708461136T"),
        ("applicant.phone", "13812341234"),
        ("applicant.contact_person", "王经理"),
        ("project.name", "年产5万吨新材料项目"),
        ("project.category", "industrial"),
        ("project.office", COUNTY),
    ];
    let mut bad = case_form.to_vec();
    bad[5] = ("applicant.phone", "12345");
    let (status, html) = submit(&app, &http, &window, "/console/cases", &bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(html.contains("applicant.phone"), "the field is named: {html}");
    // Without the CSRF token the form is refused.
    let res = http
        .post(app.url("/console/cases"))
        .header(header::COOKIE, &window.cookie)
        .form(&case_form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    let (status, location) = submit(&app, &http, &window, "/console/cases", &case_form).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{location}");
    assert!(location.ends_with("?ok=created"), "{location}");
    let case_path = location.trim_end_matches("?ok=created").to_string();
    let case_id = case_path.rsplit('/').next().unwrap().to_string();
    let case: Value = http
        .get(app.url(&format!("/api/v1/cases/{case_id}")))
        .header(header::COOKIE, &window.cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let specialist_id = case["specialist_id"].as_str().unwrap().to_string();
    let applicant_id = case["applicant"]["id"].as_str().unwrap().to_string();

    // The case's own specialist publishes the plan from the case page.
    let specialist = sign_in(&app, &http, &[("sub", &specialist_id), ("role", "assistant"), ("office", COUNTY)]).await;
    let drafted = eventually(Duration::from_secs(30), || async {
        page(&app, &http, &specialist, &case_path).await.1.contains("/publish\"")
    })
    .await;
    assert!(drafted, "the draft plan and its publish form");
    let (_, html) = page(&app, &http, &specialist, &case_path).await;
    assert!(html.contains("专员联系卡") && html.contains("data-plan-status=\"draft\""));
    let (status, location) =
        submit(&app, &http, &specialist, &format!("{case_path}/publish"), &[("note", "方案已与服务对象确认")]).await;
    assert_eq!((status, location.ends_with("?ok=published")), (StatusCode::SEE_OTHER, true), "{location}");

    // The tasks are routed; the page shows the Gantt chart and each item's status mark.
    let routed = eventually(Duration::from_secs(30), || async {
        page(&app, &http, &specialist, &case_path).await.1.contains("data-status=\"dispatched\"")
    })
    .await;
    assert!(routed, "tasks dispatched");
    let (_, html) = page(&app, &http, &specialist, &case_path).await;
    assert!(html.contains("<svg") && html.contains("bb-gantt") && html.contains("今天"), "the Gantt chart");
    let tasks: Vec<Value> = http
        .get(app.url(&format!("/api/v1/cases/{case_id}/tasks")))
        .header(header::COOKIE, &specialist.cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let task = tasks.iter().find(|t| t["status"] == "dispatched" && t["unit_office"] == COUNTY).expect("a county task");
    let (task_id, unit) = (task["id"].as_str().unwrap().to_string(), task["unit_code"].as_str().unwrap().to_string());
    let other_unit =
        tasks.iter().map(|t| t["unit_code"].as_str().unwrap().to_string()).find(|u| *u != unit).expect("a second unit");

    // The unit's officer works the task from the inbox; another unit's officer does not see it.
    let officer = sign_in(
        &app,
        &http,
        &[("sub", &format!("officer-{unit}")), ("role", "officer"), ("office", COUNTY), ("unit", &unit)],
    )
    .await;
    let (status, html) = page(&app, &http, &officer, "/console").await;
    assert_eq!(status, 200);
    assert!(html.contains(&format!("data-task=\"{task_id}\"")) && html.contains("data-action=\"receive\""), "{html}");
    let stranger = sign_in(
        &app,
        &http,
        &[("sub", &format!("officer-{other_unit}")), ("role", "officer"), ("office", COUNTY), ("unit", &other_unit)],
    )
    .await;
    assert!(!page(&app, &http, &stranger, "/console").await.1.contains(&format!("data-task=\"{task_id}\"")));
    let step = format!("/console/tasks/{task_id}/transition");
    for fields in [
        vec![("action", "receive")],
        vec![("action", "start_review")],
        vec![
            ("action", "approve"),
            ("kind", "建设工程规划许可证"),
            ("number", "建字第371625202600123号"),
            ("issued_on", "2026-03-02"),
        ],
    ] {
        let (status, location) = submit(&app, &http, &officer, &step, &fields).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{fields:?}: {location}");
        assert_eq!(location, "/console?ok=done");
    }
    // The other unit cannot act on it: a 403/404 page, nothing changes.
    let (status, _) =
        submit(&app, &http, &stranger, &step, &[("action", "reject"), ("reason", "x"), ("legal_basis", "y")]).await;
    assert!(status == StatusCode::FORBIDDEN || status == StatusCode::NOT_FOUND, "{status}");

    // The specialist records that the result was collected.
    let (status, location) = submit(
        &app,
        &http,
        &specialist,
        &step,
        &[("action", "collect_result"), ("by", "assistant"), ("back", &case_path)],
    )
    .await;
    assert_eq!((status, location), (StatusCode::SEE_OTHER, format!("{case_path}?ok=done")));

    // The applicant sees their case, its progress and rates the item once.
    let applicant = sign_in(
        &app,
        &http,
        &[
            ("sub", &format!("applicant-{applicant_id}")),
            ("role", "applicant"),
            ("office", COUNTY),
            ("applicant", &applicant_id),
        ],
    )
    .await;
    let (_, html) = page(&app, &http, &applicant, "/console").await;
    assert!(html.contains("我的案件") && html.contains(&case_path), "{html}");
    let rating = format!("/console/tasks/{task_id}/rating");
    let rate_form = format!("action=\"{rating}\"");
    // The form appears once evaluation has invited the applicant (it hears of the collection on the bus).
    let invited = eventually(Duration::from_secs(30), || async {
        page(&app, &http, &applicant, &case_path).await.1.contains(&rate_form)
    })
    .await;
    assert!(invited, "the rating form");
    let (_, html) = page(&app, &http, &applicant, &case_path).await;
    assert!(html.contains("办理进度") && html.contains("data-status=\"result_collected\""), "{html}");
    assert!(!html.contains("督办") && !html.contains("/publish\""), "no staff parts for the applicant");
    let (status, location) =
        submit(&app, &http, &applicant, &rating, &[("case", &case_id), ("level", "5"), ("comment", "办事高效")]).await;
    assert_eq!((status, location), (StatusCode::SEE_OTHER, format!("{case_path}?ok=rated")));
    let shown = eventually(Duration::from_secs(10), || async {
        let html = page(&app, &http, &applicant, &case_path).await.1;
        html.contains("已评价") && !html.contains(&rate_form)
    })
    .await;
    assert!(shown, "the item shows as rated");
    let (status, html) = submit(&app, &http, &applicant, &rating, &[("case", &case_id), ("level", "1")]).await;
    assert_eq!(status, StatusCode::CONFLICT, "once only: {html}");

    // Another applicant is refused the case page.
    let other = sign_in(
        &app,
        &http,
        &[
            ("sub", "applicant-x"),
            ("role", "applicant"),
            ("office", COUNTY),
            ("applicant", "00000000-0000-7000-8000-000000000001"),
        ],
    )
    .await;
    let (status, _) = page(&app, &http, &other, &case_path).await;
    assert!(status == StatusCode::NOT_FOUND || status == StatusCode::FORBIDDEN, "{status}");

    // The office admin's dashboard draws its charts.
    let admin =
        sign_in(&app, &http, &[("sub", "staff-371625-office_admin-1"), ("role", "office_admin"), ("office", COUNTY)])
            .await;
    let (status, html) = page(&app, &http, &admin, "/console").await;
    assert_eq!(status, 200);
    assert!(html.contains("监控看板") && html.matches("<svg").count() >= 6, "{html}");
    assert!(html.contains("Cases by category") && html.contains("一般工业"), "cases counted by category");
    // Without a session the console sends the browser to the login page.
    let res = http.get(app.url(&case_path)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_window_records_a_consultation_in_one_form() {
    let app = TestApp::spawn().await;
    let http = browser();
    let window =
        sign_in(&app, &http, &[("sub", "staff-371625-assistant-1"), ("role", "assistant"), ("office", COUNTY)]).await;
    let (status, html) = page(&app, &http, &window, "/console/consultations/new").await;
    assert_eq!(status, 200);
    assert!(html.contains("咨询登记") && html.contains("autofocus"));
    let (status, location) = submit(
        &app,
        &http,
        &window,
        "/console/consultations/new",
        &[
            ("office", COUNTY),
            ("channel", "window"),
            ("applicant.name", "王经理"),
            ("applicant.phone", "13812341234"),
            ("project.name", "年产5万吨新材料项目"),
            ("project.category", "industrial"),
            ("project.office", COUNTY),
            ("needs", "希望帮办立项至施工许可"),
            ("project_state", "已完成项目备案"),
            ("intent", "assist"),
        ],
    )
    .await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/console/consultations/new?ok=recorded"));
    let list: Value = http
        .get(app.url("/api/v1/consultations"))
        .header(header::COOKIE, &window.cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 1, "{list}");
    let (status, html) = submit(&app, &http, &window, "/console/consultations/new", &[("office", COUNTY)]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
}
