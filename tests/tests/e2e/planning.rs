//! Planning end to end through the gateway: the working-day calendar, the approval-item catalog, and a
//! case's plan from the draft generated on `case.accepted` to published versions on the bus.

use std::{collections::HashSet, time::Duration};

use bangban_contracts::{
    CloudEvent,
    intake::CaseView,
    planning::{
        CalendarChange, CalendarDay, CalendarInfo, CatalogItem, CatalogVersionPage, CatalogVersionView, CatalogView,
        PlanPublished, PlanStatus, PlanVersionView, PlanView, Schedule,
    },
};
use bangban_gateway::auth::Role;
use chrono::NaiveDate;
use reqwest::{Method, Response};
use serde_json::{Value, json};

use crate::support::*;

const CITY: &str = "371600";
const COUNTY: &str = "371625";

async fn send(app: &TestApp, method: Method, token: Option<&str>, path: &str, body: Option<&Value>) -> Response {
    let mut req = app.http.request(method, app.url(path));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    if let Some(body) = body {
        req = req.json(body);
    }
    req.send().await.expect("request")
}

async fn get(app: &TestApp, token: &str, path: &str) -> Response {
    send(app, Method::GET, Some(token), path, None).await
}

async fn post(app: &TestApp, token: &str, path: &str, body: &Value) -> Response {
    send(app, Method::POST, Some(token), path, Some(body)).await
}

async fn put(app: &TestApp, token: &str, path: &str, body: &Value) -> Response {
    send(app, Method::PUT, Some(token), path, Some(body)).await
}

async fn patch(app: &TestApp, token: &str, path: &str, body: &Value) -> Response {
    send(app, Method::PATCH, Some(token), path, Some(body)).await
}

/// The body of a response, after checking its status (a panic showing what came instead).
async fn body_of(res: Response, status: u16, what: &str) -> String {
    let got = res.status().as_u16();
    let text = res.text().await.expect("body");
    assert_eq!(got, status, "{what}: {text}");
    text
}

/// The JSON body of a response with the expected status, as whatever type the call site wants.
macro_rules! expect {
    ($res:expr, $status:expr, $what:expr $(,)?) => {
        async {
            let what = $what;
            let text = body_of($res, $status, what).await;
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what}: {e}: {text}"))
        }
    };
}

/// A problem document with the expected status; checks the media type.
async fn problem(res: Response, status: u16, what: &str) -> Value {
    let content_type = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let p: Value = expect!(res, status, what).await;
    assert_eq!(content_type, "application/problem+json", "{what}: {p}");
    p
}

/// The fields a problem names.
fn fields(p: &Value) -> Vec<String> {
    p["errors"]
        .as_array()
        .map(|e| e.iter().map(|e| e["field"].as_str().unwrap_or("").to_string()).collect())
        .unwrap_or_default()
}

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

async fn day(app: &TestApp, token: &str, d: &str) -> CalendarDay {
    expect!(get(app, token, &format!("/api/v1/calendar/{d}")).await, 200, d).await
}

// ---------------------------------------------------------------------------------------------------------
// Calendar
// ---------------------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_calendar_answers_real_dates_to_everyone_signed_in() {
    let app = TestApp::spawn().await;
    let applicant = app.token(Role::Applicant, COUNTY, Some(&uuid::Uuid::now_v7().to_string()));

    let d = day(&app, &applicant, "2026-02-14").await;
    assert_eq!(d.date, date("2026-02-14"));
    assert!(d.working_day, "Saturday 2026-02-14 is a make-up working day (调休上班): {d:?}");
    assert!(!d.provisional);
    assert_eq!(d.name.as_deref(), Some("春节"));

    let direct = app.planning.calendar_day(date("2026-02-14")).await.expect("planning answers directly");
    assert_eq!(d, direct, "the gateway passes planning's answer through");

    let d = day(&app, &app.staff_token(), "2026-10-01").await;
    assert!(!d.working_day && !d.provisional, "{d:?}");
    assert_eq!(d.name.as_deref(), Some("国庆节"));
    let d = day(&app, &app.staff_token(), "2026-10-08").await;
    assert!(d.working_day && d.name.is_none(), "an ordinary Thursday after National Day: {d:?}");

    let d = day(&app, &applicant, "2027-03-01").await;
    assert!(d.working_day, "a Monday of a year not loaded follows the weekday rule: {d:?}");
    assert!(d.provisional, "2027 is not loaded yet: {d:?}");

    for bad in ["2026-02-30", "2026-2-14", "tomorrow"] {
        let p = problem(get(&app, &applicant, &format!("/api/v1/calendar/{bad}")).await, 400, bad).await;
        assert_eq!(fields(&p), ["date"], "{p}");
    }
    let p = problem(send(&app, Method::GET, None, "/api/v1/calendar/2026-02-14", None).await, 401, "no token").await;
    assert_eq!(p["status"], 401);
    let p = problem(send(&app, Method::GET, Some("not-a-token"), "/api/v1/calendar", None).await, 401, "bad").await;
    assert_eq!(p["status"], 401);

    let info: CalendarInfo = expect!(get(&app, &applicant, "/api/v1/calendar").await, 200, "info").await;
    let years: Vec<i32> = info.years.iter().map(|y| y.year).collect();
    for y in [2024, 2025, 2026] {
        assert!(years.contains(&y), "{y} is embedded: {years:?}");
    }
    assert!(!years.contains(&2027));
    assert!(info.overrides.is_empty());

    // Five working days after 2026-09-30: 10-08, 10-09, Saturday 10-10 (调休上班), 10-12, 10-13.
    let answer: Value = expect!(
        post(
            &app,
            &applicant,
            "/api/v1/calendar/compute",
            &json!({"op": "add_working_days", "date": "2026-09-30", "days": 5}),
        )
        .await,
        200,
        "add",
    )
    .await;
    assert_eq!(answer["date"], "2026-10-13", "{answer}");
    assert_eq!(answer["provisional"], false, "{answer}");
    let answer: Value = expect!(
        post(&app, &applicant, "/api/v1/calendar/compute", &json!({"op": "next_working_day", "date": "2027-02-05"}))
            .await,
        200,
        "next",
    )
    .await;
    assert_eq!(answer["date"], "2027-02-08", "{answer}");
    assert_eq!(answer["provisional"], true, "{answer}");
    let p = problem(
        post(&app, &applicant, "/api/v1/calendar/compute", &json!({"op": "add_working_days", "date": "2026-09-30"}))
            .await,
        422,
        "missing days",
    )
    .await;
    assert_eq!(fields(&p), ["days"], "{p}");
}

/// A plausible 2027 schedule in the holiday-cn day-list format.
fn schedule_2027() -> Value {
    json!({
        "year": 2027,
        "papers": ["国务院办公厅关于2027年部分节假日安排的通知（测试用）"],
        "days": [
            {"name": "元旦", "date": "2027-01-01", "isOffDay": true},
            {"name": "元旦", "date": "2027-01-02", "isOffDay": true},
            {"name": "元旦", "date": "2027-01-03", "isOffDay": true},
            {"name": "春节", "date": "2027-02-06", "isOffDay": true},
            {"name": "春节", "date": "2027-02-07", "isOffDay": true},
            {"name": "春节", "date": "2027-02-08", "isOffDay": true},
            {"name": "春节", "date": "2027-02-09", "isOffDay": true},
            {"name": "春节", "date": "2027-02-10", "isOffDay": true},
            {"name": "春节", "date": "2027-02-11", "isOffDay": true},
            {"name": "春节", "date": "2027-02-12", "isOffDay": true},
            {"name": "春节", "date": "2027-02-20", "isOffDay": false}
        ]
    })
}

#[tokio::test]
async fn a_city_admin_loads_the_next_year_and_sets_overrides() {
    let app = TestApp::spawn().await;
    let admin = app.token(Role::OfficeAdmin, CITY, None);
    let county_admin = app.token(Role::OfficeAdmin, COUNTY, None);
    let city_assistant = app.token(Role::Assistant, CITY, None);

    let before = day(&app, &admin, "2027-01-01").await;
    assert!(before.working_day && before.provisional, "{before:?}");

    let p =
        problem(put(&app, &county_admin, "/api/v1/calendar/years/2027", &schedule_2027()).await, 403, "county").await;
    assert!(p["detail"].as_str().unwrap().contains("全市统一"), "{p}");
    problem(put(&app, &city_assistant, "/api/v1/calendar/years/2027", &schedule_2027()).await, 403, "assistant").await;
    let p = problem(put(&app, &admin, "/api/v1/calendar/years/twenty", &schedule_2027()).await, 400, "year").await;
    assert_eq!(fields(&p), ["year"], "{p}");

    // A make-up working day on a Wednesday is no make-up day.
    let mut wrong = schedule_2027();
    wrong["days"].as_array_mut().unwrap().push(json!({"name": "元旦", "date": "2027-01-06", "isOffDay": false}));
    let res = put(&app, &admin, "/api/v1/calendar/years/2027", &wrong).await;
    let status = res.status().as_u16();
    assert!(status == 400 || status == 422, "a make-up day on a Wednesday: {status}");
    let p = problem(res, status, "wednesday").await;
    assert!(fields(&p).iter().any(|f| f.contains("days")), "the problem names the day: {p}");
    assert!(p.to_string().contains("2027-01-06"), "{p}");
    assert!(day(&app, &admin, "2027-01-01").await.provisional, "nothing was loaded");

    let change: CalendarChange =
        expect!(put(&app, &admin, "/api/v1/calendar/years/2027", &schedule_2027()).await, 200, "load").await;
    let kind = serde_json::to_value(&change.change).unwrap();
    assert_eq!(kind["kind"], "year_loaded", "{kind}");
    assert_eq!(kind["year"], 2027);
    assert!(change.dates_changed.contains(&date("2027-01-01")), "{:?}", change.dates_changed);
    assert!(change.dates_changed.contains(&date("2027-02-20")), "{:?}", change.dates_changed);
    assert!(
        !change.dates_changed.contains(&date("2027-01-02")),
        "a Saturday stays a day off: {:?}",
        change.dates_changed
    );
    assert_eq!(change.changed_by, "tester");

    let d = day(&app, &city_assistant, "2027-01-01").await;
    assert!(!d.working_day && !d.provisional, "{d:?}");
    assert_eq!(d.name.as_deref(), Some("元旦"));
    let d = day(&app, &city_assistant, "2027-02-20").await;
    assert!(d.working_day && !d.provisional, "{d:?}");
    assert_eq!(d.name.as_deref(), Some("春节"));
    assert!(!day(&app, &city_assistant, "2027-03-01").await.provisional);
    let info: CalendarInfo = expect!(get(&app, &county_admin, "/api/v1/calendar").await, 200, "info").await;
    let loaded = info.years.iter().find(|y| y.year == 2027).expect("2027 listed");
    assert_eq!(loaded.source, "loaded");
    assert_eq!(loaded.loaded_by.as_deref(), Some("tester"));
    assert_eq!((loaded.days_off, loaded.make_up_days), (10, 1));
    assert!(info.revision > 0);

    // An override: a typhoon closes the offices on Monday 2026-07-20.
    let url = "/api/v1/calendar/overrides/2026-07-20";
    let closure = json!({"working_day": false, "name": "台风停工", "reason": "市政府2026年7月19日临时通知"});
    problem(put(&app, &county_admin, url, &closure).await, 403, "county override").await;
    let p = problem(put(&app, &admin, "/api/v1/calendar/overrides/2026-07-32", &closure).await, 400, "bad date").await;
    assert_eq!(fields(&p), ["date"]);
    let p = problem(put(&app, &admin, url, &json!({"working_day": false, "name": "台风停工"})).await, 422, "no reason")
        .await;
    assert_eq!(fields(&p), ["reason"], "{p}");
    let change: CalendarChange = expect!(put(&app, &admin, url, &closure).await, 200, "override").await;
    assert_eq!(serde_json::to_value(&change.change).unwrap()["kind"], "override_set");
    assert_eq!(change.dates_changed, vec![date("2026-07-20")]);
    let d = day(&app, &city_assistant, "2026-07-20").await;
    assert!(!d.working_day, "{d:?}");
    assert_eq!(d.name.as_deref(), Some("台风停工"));
    let info: CalendarInfo = expect!(get(&app, &admin, "/api/v1/calendar").await, 200, "info").await;
    assert_eq!(info.overrides.len(), 1);
    assert_eq!(info.overrides[0].reason, "市政府2026年7月19日临时通知");

    let remove = json!({"reason": "临时停工通知已撤销"});
    problem(post(&app, &county_admin, &format!("{url}/remove"), &remove).await, 403, "county remove").await;
    let p = problem(post(&app, &admin, &format!("{url}/remove"), &json!({"why": "x"})).await, 422, "bad body").await;
    assert!(fields(&p).contains(&"why".to_string()), "{p}");
    let change: CalendarChange =
        expect!(post(&app, &admin, &format!("{url}/remove"), &remove).await, 200, "remove").await;
    assert_eq!(serde_json::to_value(&change.change).unwrap()["kind"], "override_removed");
    let d = day(&app, &city_assistant, "2026-07-20").await;
    assert!(d.working_day && d.name.is_none(), "{d:?}");
    let res = post(&app, &admin, &format!("{url}/remove"), &remove).await;
    assert_eq!(res.status(), 404, "no override left on that date");
}

// ---------------------------------------------------------------------------------------------------------
// Catalog
// ---------------------------------------------------------------------------------------------------------

async fn catalog(app: &TestApp, token: &str, query: &str) -> CatalogView {
    expect!(get(app, token, &format!("/api/v1/catalog{query}")).await, 200, query).await
}

#[tokio::test]
async fn the_catalog_is_read_by_all_filtered_and_edited_by_the_city_only() {
    let app = TestApp::spawn().await;
    let applicant = app.token(Role::Applicant, COUNTY, Some(&uuid::Uuid::now_v7().to_string()));
    let admin = app.token(Role::OfficeAdmin, CITY, None);
    let county_admin = app.token(Role::OfficeAdmin, COUNTY, None);

    let all = catalog(&app, &applicant, "").await;
    assert!(all.items.len() >= 40, "at least 40 items: {}", all.items.len());
    let stages: HashSet<String> =
        all.items.iter().map(|i| serde_json::to_value(i.stage).unwrap().as_str().unwrap().to_string()).collect();
    for s in ["land_use_planning", "engineering_permit", "construction_permit", "completion_acceptance", "utilities"] {
        assert!(stages.contains(s), "{s} in {stages:?}");
    }

    let permits = catalog(&app, &applicant, "?stage=engineering_permit").await;
    assert!(!permits.items.is_empty());
    assert!(permits.items.len() < all.items.len());
    assert!(permits.items.iter().all(|i| i.stage.as_str() == "engineering_permit"));
    let industrial = catalog(&app, &applicant, "?category=industrial").await;
    assert!(!industrial.items.is_empty() && industrial.items.len() <= all.items.len());
    assert!(
        industrial.items.iter().all(|i| i.applies.categories.is_empty()
            || i.applies.categories.iter().any(|c| c.as_str() == "industrial")),
        "only items that apply to industrial projects"
    );
    let both = catalog(&app, &applicant, "?stage=engineering_permit&category=industrial").await;
    assert!(both.items.iter().all(|i| i.stage.as_str() == "engineering_permit"));
    assert!(both.items.len() <= permits.items.len());
    for (query, field) in [("?stage=flying", "stage"), ("?category=castle", "category"), ("?version=v1", "version")] {
        let p = problem(get(&app, &applicant, &format!("/api/v1/catalog{query}")).await, 400, query).await;
        assert_eq!(fields(&p), [field], "{p}");
    }

    let versions: CatalogVersionPage =
        expect!(get(&app, &applicant, "/api/v1/catalog/versions").await, 200, "versions").await;
    assert_eq!((versions.total, versions.items.len(), versions.limit, versions.offset), (1, 1, 50, 0), "{versions:?}");
    assert_eq!(versions.items[0].change, "seed");
    assert_eq!(versions.items[0].version, all.version);

    // The city changes an item's promised time: a new version; the old one stays readable.
    let mut item: CatalogItem = all.items.iter().find(|i| i.promised_working_days > 1).expect("an item").clone();
    let old_days = item.promised_working_days;
    item.promised_working_days = old_days - 1;
    let body = json!({"item": item, "reason": "依据市政府最新承诺时限调整", "expected_version": all.version});
    let path = format!("/api/v1/catalog/items/{}", item.code);
    let p = problem(put(&app, &county_admin, &path, &body).await, 403, "county admin").await;
    assert!(p["detail"].as_str().unwrap().contains("事项库"), "{p}");
    problem(put(&app, &app.token(Role::Assistant, CITY, None), &path, &body).await, 403, "assistant").await;

    let v: CatalogVersionView = expect!(put(&app, &admin, &path, &body).await, 200, "put").await;
    assert_eq!(v.version, all.version + 1);
    assert_eq!(v.change, "put_item");
    assert_eq!(v.code.as_deref(), Some(item.code.as_str()));
    assert_eq!(v.items as usize, all.items.len());
    let now = catalog(&app, &applicant, "").await;
    assert_eq!(now.version, v.version);
    assert_eq!(now.items.iter().find(|i| i.code == item.code).unwrap().promised_working_days, old_days - 1);
    let then = catalog(&app, &applicant, &format!("?version={}", all.version)).await;
    assert_eq!(then.items.iter().find(|i| i.code == item.code).unwrap().promised_working_days, old_days);
    problem(put(&app, &admin, &path, &body).await, 409, "stale expected_version").await;

    // A new item whose predecessor does not exist, then one that closes a cycle.
    let mut new_item = item.clone();
    new_item.code = "ZZ-01".into();
    new_item.name = "测试事项".into();
    new_item.predecessors = vec!["ZZ-99".into()];
    let res =
        put(&app, &admin, "/api/v1/catalog/items/ZZ-01", &json!({"item": new_item, "reason": "新增测试事项"})).await;
    let status = res.status().as_u16();
    assert!(status == 400 || status == 422, "unknown predecessor: {status}");
    let p = problem(res, status, "unknown predecessor").await;
    assert!(fields(&p).iter().any(|f| f.contains("predecessors")), "{p}");

    let chained = now.items.iter().find(|i| !i.predecessors.is_empty()).expect("an item with a predecessor").clone();
    let mut first = now.items.iter().find(|i| i.code == chained.predecessors[0]).expect("its predecessor").clone();
    first.predecessors.push(chained.code.clone());
    let res = put(
        &app,
        &admin,
        &format!("/api/v1/catalog/items/{}", first.code),
        &json!({"item": first, "reason": "形成循环的前置关系"}),
    )
    .await;
    let status = res.status().as_u16();
    assert!(status == 400 || status == 422 || status == 409, "a cycle: {status}");
    let p = problem(res, status, "cycle").await;
    assert!(fields(&p).iter().any(|f| f.contains("predecessors")), "{p}");
    assert_eq!(catalog(&app, &applicant, "").await.version, v.version, "refused edits make no version");

    // Removing an item: another version.
    let leaf = now
        .items
        .iter()
        .find(|i| now.items.iter().all(|o| !o.predecessors.contains(&i.code)) && i.code != item.code)
        .expect("an item nobody waits for")
        .clone();
    problem(
        post(
            &app,
            &county_admin,
            &format!("/api/v1/catalog/items/{}/remove", leaf.code),
            &json!({"reason": "该事项已取消"}),
        )
        .await,
        403,
        "county remove",
    )
    .await;
    let removed: CatalogVersionView = expect!(
        post(&app, &admin, &format!("/api/v1/catalog/items/{}/remove", leaf.code), &json!({"reason": "该事项已取消"}))
            .await,
        200,
        "remove",
    )
    .await;
    assert_eq!((removed.version, removed.change.as_str()), (v.version + 1, "remove_item"));
    assert_eq!(removed.items as usize, all.items.len() - 1);
    let versions: CatalogVersionPage =
        expect!(get(&app, &admin, "/api/v1/catalog/versions").await, 200, "versions").await;
    assert_eq!((versions.total, versions.items.len()), (3, 3), "{versions:?}");
    // A page at a time, newest first.
    let numbers = |page: &CatalogVersionPage| page.items.iter().map(|v| v.version).collect::<Vec<_>>();
    assert_eq!(numbers(&versions), [removed.version, v.version, all.version]);
    let first: CatalogVersionPage =
        expect!(get(&app, &admin, "/api/v1/catalog/versions?limit=2").await, 200, "first page").await;
    let second: CatalogVersionPage =
        expect!(get(&app, &admin, "/api/v1/catalog/versions?limit=2&offset=2").await, 200, "second page").await;
    assert_eq!((first.total, first.limit, second.total, second.offset), (3, 2, 3, 2));
    assert_eq!((numbers(&first), numbers(&second)), (vec![removed.version, v.version], vec![all.version]));
    let beyond: CatalogVersionPage =
        expect!(get(&app, &admin, "/api/v1/catalog/versions?offset=3").await, 200, "beyond").await;
    assert!(beyond.items.is_empty() && beyond.total == 3, "{beyond:?}");
    for query in ["limit=0", "limit=201", "offset=-1", "offset=9223372036854775808", "page=2"] {
        let p = problem(get(&app, &admin, &format!("/api/v1/catalog/versions?{query}")).await, 400, query).await;
        assert_eq!(fields(&p), [query.split('=').next().unwrap()], "{p}");
    }
}

// ---------------------------------------------------------------------------------------------------------
// Plans
// ---------------------------------------------------------------------------------------------------------

async fn create_case(app: &TestApp, credit_code: &str) -> CaseView {
    let mut body = sample_case();
    body["office"] = json!(COUNTY);
    body["project"]["office"] = json!(COUNTY);
    body["applicant"]["credit_code"] = json!(credit_code);
    expect!(app.post_case(&app.token(Role::Assistant, COUNTY, None), &body).await, 201, "case").await
}

/// Waits for the draft planning generates on `case.accepted`.
async fn wait_for_plan(app: &TestApp, case: &CaseView, token: &str) -> PlanView {
    let url = format!("/api/v1/cases/{}/plan", case.id);
    let ready = eventually(Duration::from_secs(30), || async { get(app, token, &url).await.status() == 200 }).await;
    let res = get(app, token, &url).await;
    assert!(ready, "no plan for case {} after 30 s: {} {}", case.id, res.status(), res.text().await.unwrap());
    expect!(get(app, token, &url).await, 200, "plan").await
}

fn codes(plan: &PlanView) -> Vec<String> {
    plan.items.iter().map(|i| i.code.clone()).collect()
}

/// An item of the plan no other item of it waits for, other than `except`.
fn leaf(plan: &PlanView, except: &[&str]) -> String {
    plan.items
        .iter()
        .rev()
        .find(|i| !except.contains(&i.code.as_str()) && plan.items.iter().all(|o| !o.predecessors.contains(&i.code)))
        .expect("a leaf item")
        .code
        .clone()
}

/// A catalog item the plan does not have (one added on demand, preferably), other than `except`.
fn not_in_plan(catalog: &CatalogView, plan: &PlanView, except: &[&str]) -> String {
    let have = codes(plan);
    let candidates: Vec<&CatalogItem> =
        catalog.items.iter().filter(|i| !have.contains(&i.code) && !except.contains(&i.code.as_str())).collect();
    let fits = |i: &&&CatalogItem| {
        let categories = &i.applies.categories;
        categories.is_empty() || categories.contains(&plan.profile.category)
    };
    candidates
        .iter()
        .find(|i| i.applies.on_demand && fits(i))
        .or(candidates.iter().find(fits))
        .or(candidates.first())
        .expect("a catalog item outside the plan")
        .code
        .clone()
}

fn check_schedule(schedule: &Schedule, plan_codes: &[String]) {
    let scheduled: Vec<String> = schedule.items.iter().map(|i| i.code.clone()).collect();
    assert_eq!(scheduled, plan_codes, "the schedule has every item, in plan order");
    assert!(schedule.start <= schedule.end);
    assert!(schedule.total_working_days > 0);
    for i in &schedule.items {
        assert!(schedule.start <= i.start && i.start <= i.end && i.end <= schedule.end, "{i:?}");
        assert!(!i.critical || i.slack == 0, "a critical item has no slack: {i:?}");
    }
    assert!(!schedule.critical_path.is_empty());
    for code in &schedule.critical_path {
        let i = schedule.items.iter().find(|i| &i.code == code).expect("a critical item is scheduled");
        assert!(i.critical && i.slack == 0, "{i:?}");
    }
    let last = schedule.items.iter().find(|i| Some(&i.code) == schedule.critical_path.last()).unwrap();
    assert_eq!(last.end, schedule.end, "the critical path ends with the plan");
    assert!(!schedule.stages.is_empty());
    let targets: Vec<&str> = schedule.targets.iter().map(|t| t.target.as_str()).collect();
    assert!(targets.contains(&"whole_process") && targets.contains(&"main_flow"), "{targets:?}");
    for t in &schedule.targets {
        assert_eq!(t.met, t.excess_working_days == 0, "{t:?}");
        assert_eq!(t.excess_working_days, t.planned_working_days.saturating_sub(t.limit_working_days), "{t:?}");
    }
}

async fn case_status(app: &TestApp, case: &CaseView) -> String {
    let token = app.token(Role::Assistant, COUNTY, None);
    let view: CaseView = expect!(get(app, &token, &format!("/api/v1/cases/{}", case.id)).await, 200, "case").await;
    view.status.as_str().to_string()
}

async fn published_event(
    consumer: &async_nats::jetstream::consumer::Consumer<async_nats::jetstream::consumer::pull::Config>,
) -> (String, PlanPublished) {
    let msg = next_message(consumer, Duration::from_secs(15)).await.expect("plan.published on the bus");
    let event = CloudEvent::from_parts(msg.headers.as_ref(), msg.payload.clone()).expect("a CloudEvent");
    assert_eq!(event.source, "/bangban/planning");
    msg.ack().await.unwrap();
    (msg.subject.to_string(), event.data_as().expect("PlanPublished"))
}

#[tokio::test]
async fn a_plan_goes_from_the_generated_draft_to_published_versions() {
    let app = TestApp::spawn().await;
    let js = app.js();
    let published = consumer(&js, "bb.evt.*.plan.published").await;
    let case = create_case(&app, "91440300708461136T").await;
    let other = create_case(&app, "914403001922038216").await;
    let specialist = app.token_as(&case.specialist_id, Role::Assistant, COUNTY);
    let colleague = app.token_as("staff-371625-assistant-9", Role::Assistant, COUNTY);
    let elsewhere = app.token_as("staff-371681-assistant-1", Role::Assistant, "371681");
    let applicant = app.token(Role::Applicant, COUNTY, Some(&case.applicant.id.to_string()));
    let stranger = app.token(Role::Applicant, COUNTY, Some(&uuid::Uuid::now_v7().to_string()));
    let base = format!("/api/v1/cases/{}/plan", case.id);

    // The draft generated on case.accepted.
    let plan = wait_for_plan(&app, &case, &specialist).await;
    assert_eq!(
        (plan.case_id, plan.ledger_no.as_str(), plan.office.as_str()),
        (case.id, case.ledger_no.as_str(), COUNTY)
    );
    assert_eq!(plan.specialist_id, case.specialist_id);
    assert_eq!((plan.version, plan.status), (0, PlanStatus::Draft));
    assert!(plan.items.len() >= 5, "an industrial project needs many items: {:?}", codes(&plan));
    assert!(plan.catalog_version >= 1);
    assert_eq!(plan.profile.category.as_str(), "industrial");
    check_schedule(&plan.schedule, &codes(&plan));
    let schedule: Schedule = expect!(get(&app, &specialist, &format!("{base}/schedule")).await, 200, "schedule").await;
    assert_eq!(schedule, plan.schedule);
    assert!(wait_for_plan(&app, &other, &specialist).await.case_id == other.id);

    // Who reads it, who changes it.
    let seen: PlanView = expect!(get(&app, &applicant, &base).await, 200, "the applicant reads the plan").await;
    assert_eq!(seen.items, plan.items);
    problem(get(&app, &stranger, &base).await, 404, "an applicant of another case").await;
    problem(get(&app, &stranger, &format!("{base}/schedule")).await, 404, "and its schedule").await;
    problem(get(&app, &elsewhere, &base).await, 404, "another county").await;
    let supervisor = app.token(Role::Supervisor, "371681", None);
    let _: PlanView = expect!(get(&app, &supervisor, &base).await, 200, "a supervisor reads").await;
    problem(post(&app, &applicant, &format!("{base}/publish"), &json!({})).await, 403, "the applicant publishes").await;
    problem(post(&app, &supervisor, &format!("{base}/publish"), &json!({})).await, 403, "a supervisor publishes").await;
    let edited_code =
        plan.items.iter().find(|i| i.promised_working_days > 0).expect("an item with a time").code.clone();
    let item_url = format!("{base}/items/{edited_code}");
    let p = problem(
        patch(&app, &colleague, &item_url, &json!({"promised_working_days": 3, "reason": "同事代改"})).await,
        403,
        "a colleague who is not the specialist",
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("代办方案"), "{p}");
    problem(
        patch(&app, &elsewhere, &item_url, &json!({"promised_working_days": 3, "reason": "外县"})).await,
        404,
        "other county",
    )
    .await;
    problem(get(&app, &specialist, "/api/v1/cases/not-a-uuid/plan").await, 400, "bad id").await;
    problem(get(&app, &specialist, &format!("/api/v1/cases/{}/plan", uuid::Uuid::now_v7())).await, 404, "no case")
        .await;
    let p = problem(
        patch(&app, &specialist, &item_url, &json!({"promised_working_days": "three", "reason": "x"})).await,
        422,
        "type",
    )
    .await;
    assert_eq!(fields(&p), ["promised_working_days"], "{p}");

    // The specialist changes a time, removes an item and adds one.
    let old = plan.items.iter().find(|i| i.code == edited_code).unwrap().promised_working_days;
    let body = json!({"promised_working_days": old + 3, "note": "需补充专家评审", "reason": "实际办理需延长", "expected_revision": plan.revision});
    let after_edit: PlanView = expect!(patch(&app, &specialist, &item_url, &body).await, 200, "edit").await;
    let item = after_edit.items.iter().find(|i| i.code == edited_code).unwrap();
    assert_eq!(item.promised_working_days, old + 3);
    assert!(after_edit.revision > plan.revision);
    let scheduled = after_edit.schedule.items.iter().find(|i| i.code == edited_code).unwrap();
    assert_eq!(scheduled.working_days, old + 3);
    let p = problem(patch(&app, &specialist, &item_url, &body).await, 409, "stale expected_revision").await;
    assert_eq!(p["status"], 409);

    let removed_code = leaf(&after_edit, &[&edited_code]);
    let p = problem(
        post(&app, &specialist, &format!("{base}/items/{removed_code}/remove"), &json!({"reason": ""})).await,
        422,
        "a removal needs a reason",
    )
    .await;
    assert_eq!(fields(&p), ["reason"], "{p}");
    let after_remove: PlanView = expect!(
        post(&app, &specialist, &format!("{base}/items/{removed_code}/remove"), &json!({"reason": "项目不涉及该事项"}))
            .await,
        200,
        "remove",
    )
    .await;
    assert!(!codes(&after_remove).contains(&removed_code));
    check_schedule(&after_remove.schedule, &codes(&after_remove));

    let full = catalog(&app, &specialist, "").await;
    let added_code = not_in_plan(&full, &after_remove, &[&removed_code]);
    let after_add: PlanView = expect!(
        post(&app, &specialist, &format!("{base}/items"), &json!({"code": added_code, "reason": "项目需要办理该事项"}))
            .await,
        200,
        "add",
    )
    .await;
    assert!(codes(&after_add).contains(&added_code));
    check_schedule(&after_add.schedule, &codes(&after_add));
    let res =
        post(&app, &specialist, &format!("{base}/items"), &json!({"code": "ZZ-404", "reason": "不存在的事项"})).await;
    let status = res.status().as_u16();
    assert!(status == 404 || status == 422, "an unknown catalog code: {status}");
    let p = problem(res, status, "an unknown catalog code").await;
    assert!(p.to_string().contains("ZZ-404"), "{p}");

    // Version 1.
    let v1: PlanView = expect!(
        post(
            &app,
            &specialist,
            &format!("{base}/publish"),
            &json!({"note": "方案已与服务对象确认", "expected_revision": after_add.revision}),
        )
        .await,
        200,
        "publish",
    )
    .await;
    assert_eq!((v1.version, v1.status), (1, PlanStatus::Published));
    assert!(!v1.draft_changes);
    assert!(v1.published_at.is_some());
    let (subject, event) = published_event(&published).await;
    assert_eq!(subject, format!("bb.evt.{COUNTY}.plan.published"));
    assert_eq!((event.case_id, event.version, event.ledger_no.as_str()), (case.id, 1, case.ledger_no.as_str()));
    assert_eq!(event.specialist_id, case.specialist_id);
    assert_eq!(event.applicant_id, case.applicant.id);
    assert_eq!(event.project_office, COUNTY);
    let mut event_codes: Vec<String> = event.items.iter().map(|i| i.code.clone()).collect();
    event_codes.sort();
    let mut all_codes = codes(&v1);
    all_codes.sort();
    assert_eq!(event_codes, all_codes, "every item of the plan");
    for i in &event.items {
        let s = v1.schedule.items.iter().find(|s| s.code == i.code).unwrap();
        assert_eq!((i.planned_start, i.planned_end), (s.start, s.end), "{}", i.code);
        assert!(!i.name.is_empty() && !i.legal_basis.is_empty(), "{}", i.code);
    }
    let edited = event.items.iter().find(|i| i.code == edited_code).unwrap();
    assert_eq!(edited.promised_working_days, old + 3);
    assert_eq!((event.planned_start, event.planned_end), (v1.schedule.start, v1.schedule.end));
    assert_eq!(event.total_working_days, v1.schedule.total_working_days);
    assert_eq!(event.critical_path, v1.schedule.critical_path);
    let mut added = event.changes.added.clone();
    added.sort();
    assert_eq!(added, all_codes, "version 1 adds everything");
    assert!(event.changes.changed.is_empty() && event.changes.withdrawn.is_empty());
    assert_eq!(event.note.as_deref(), Some("方案已与服务对象确认"));
    // Intake follows plan.published to `planned`, and routing's first dispatch on to `in_progress`.
    let moved = eventually(Duration::from_secs(15), || async {
        matches!(case_status(&app, &case).await.as_str(), "planned" | "in_progress")
    })
    .await;
    assert!(moved, "intake follows plan.published: {}", case_status(&app, &case).await);

    // Version 2: a changed time, a withdrawn item, an added one.
    let changed_code = leaf(&v1, &[&edited_code, &added_code]);
    let days = v1.items.iter().find(|i| i.code == changed_code).unwrap().promised_working_days;
    let _: PlanView = expect!(
        patch(
            &app,
            &specialist,
            &format!("{base}/items/{changed_code}"),
            &json!({"promised_working_days": days + 2, "reason": "单位反馈需延长"}),
        )
        .await,
        200,
        "edit again",
    )
    .await;
    let withdrawn_code = leaf(&v1, &[&edited_code, &added_code, &changed_code]);
    let _: PlanView = expect!(
        post(
            &app,
            &specialist,
            &format!("{base}/items/{withdrawn_code}/remove"),
            &json!({"reason": "已由建设单位自行办结"}),
        )
        .await,
        200,
        "remove again",
    )
    .await;
    let draft: PlanView = expect!(
        post(&app, &specialist, &format!("{base}/items"), &json!({"code": removed_code, "reason": "经核实仍需办理"}))
            .await,
        200,
        "add back",
    )
    .await;
    assert!(draft.draft_changes);
    assert_eq!(draft.version, 1);
    assert_eq!(draft.pending_changes.added, vec![removed_code.clone()]);
    assert_eq!(draft.pending_changes.changed, vec![changed_code.clone()]);
    assert_eq!(draft.pending_changes.withdrawn, vec![withdrawn_code.clone()]);
    let admin = app.token(Role::OfficeAdmin, COUNTY, None);
    let v2: PlanView =
        expect!(post(&app, &admin, &format!("{base}/publish"), &json!({})).await, 200, "an admin publishes").await;
    assert_eq!(v2.version, 2);
    let (_, event) = published_event(&published).await;
    assert_eq!((event.case_id, event.version), (case.id, 2));
    assert_eq!(event.changes.added, vec![removed_code.clone()]);
    assert_eq!(event.changes.changed, vec![changed_code.clone()]);
    assert_eq!(event.changes.withdrawn, vec![withdrawn_code.clone()]);
    assert_eq!(event.published_by, "tester");

    let version: PlanVersionView = expect!(get(&app, &applicant, &format!("{base}/versions/2")).await, 200, "v2").await;
    assert_eq!((version.version, version.changes.clone()), (2, event.changes.clone()));
    assert_eq!(version.items, v2.items);
    let first: PlanVersionView = expect!(get(&app, &applicant, &format!("{base}/versions/1")).await, 200, "v1").await;
    assert_eq!(first.items, v1.items);
    assert_eq!(first.note.as_deref(), Some("方案已与服务对象确认"));
    problem(get(&app, &applicant, &format!("{base}/versions/9")).await, 404, "no version 9").await;
    let p = problem(get(&app, &applicant, &format!("{base}/versions/latest")).await, 400, "bad version").await;
    assert_eq!(fields(&p), ["version"]);
    problem(get(&app, &stranger, &format!("{base}/versions/1")).await, 404, "a stranger").await;
    assert!(matches!(case_status(&app, &case).await.as_str(), "planned" | "in_progress"));
    assert_eq!(count_rows(&app.planning_db, "plan").await, 2, "one plan per case");
    assert_eq!(count_rows(&app.planning_db, "plan_version").await, 2, "two publications");
}

#[tokio::test]
async fn terminating_the_case_withdraws_its_plan() {
    let app = TestApp::spawn().await;
    let case = create_case(&app, "91440300708461136T").await;
    let specialist = app.token_as(&case.specialist_id, Role::Assistant, COUNTY);
    let plan = wait_for_plan(&app, &case, &specialist).await;
    let base = format!("/api/v1/cases/{}/plan", case.id);

    let terminated: CaseView = expect!(
        post(
            &app,
            &specialist,
            &format!("/api/v1/cases/{}/terminate", case.id),
            &json!({"reason": "applicant_request", "note": "服务对象书面申请终止代办"}),
        )
        .await,
        200,
        "terminate",
    )
    .await;
    assert_eq!(terminated.status.as_str(), "terminated");
    let withdrawn = eventually(Duration::from_secs(15), || async {
        let plan: PlanView = expect!(get(&app, &specialist, &base).await, 200, "plan").await;
        plan.status == PlanStatus::Withdrawn
    })
    .await;
    assert!(withdrawn, "case.terminated withdraws the plan");

    let code = plan.items[0].code.clone();
    let p = problem(
        patch(
            &app,
            &specialist,
            &format!("{base}/items/{code}"),
            &json!({"promised_working_days": 9, "reason": "终止后修改"}),
        )
        .await,
        409,
        "editing a withdrawn plan",
    )
    .await;
    assert_eq!(p["status"], 409);
    problem(post(&app, &specialist, &format!("{base}/publish"), &json!({})).await, 409, "publishing it").await;
    problem(
        post(&app, &specialist, &format!("{base}/regenerate"), &json!({"reason": "重新生成方案"})).await,
        409,
        "regenerating",
    )
    .await;
    let still: PlanView = expect!(get(&app, &specialist, &base).await, 200, "still readable").await;
    assert_eq!(still.status, PlanStatus::Withdrawn);
    let readiness: Value = app.http.get(app.url("/readyz")).send().await.unwrap().json().await.unwrap();
    assert_eq!(readiness["databases"]["planning"], "ok", "{readiness}");
}
