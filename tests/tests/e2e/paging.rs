//! Paging (分页) and hooks that are not enabled, end to end through the gateway (issue 16):
//!
//! - every list's `offset` beyond `i64::MAX` (which panicked a service task inside the SQLite binding, and the
//!   caller waited for the call timeout to get a 503) is a 400 problem naming `offset`, answered at once;
//!   the largest valid offset is an empty page; a `limit` outside its range is a 400 naming `limit`; the
//!   OpenAPI document states the bounds;
//! - a service given an offset that no list query lets through still never hands the database a raw `u64`;
//! - a hook whose secret is unset answers 404 `hook-not-enabled`, not 503.

use std::time::{Duration, Instant};

use bangban_contracts::{
    notification::{InboxPage, ListInbox, ops::InboxList},
    page::MAX_OFFSET,
};
use bangban_gateway::auth::Role;
use bangban_notification::NotificationService;
use bangban_platform::rpc;
use serde_json::Value;

use crate::support::*;

const CITY: &str = "371600";

/// Every paged list of the API: the ten the fuzzer broke, and the ones paged since.
const LISTS: [&str; 14] = [
    "/api/v1/cases",
    "/api/v1/applicants",
    "/api/v1/projects",
    "/api/v1/tasks",
    "/api/v1/clocks",
    "/api/v1/supervision",
    "/api/v1/evaluations",
    "/api/v1/rectifications",
    "/api/v1/inbox",
    "/api/v1/messages",
    "/api/v1/consultations",
    "/api/v1/problems",
    "/api/v1/meetings",
    "/api/v1/catalog/versions",
];

/// The lists whose pages hold at most 100 (the others 200).
const HUNDRED: [&str; 4] = ["/api/v1/evaluations", "/api/v1/rectifications", "/api/v1/inbox", "/api/v1/messages"];

/// The response's status and JSON body, and how long it took.
async fn get(app: &TestApp, token: &str, path: &str) -> (u16, Value, Duration) {
    let started = Instant::now();
    let res = app.http.get(app.url(path)).bearer_auth(token).send().await.expect("request");
    let status = res.status().as_u16();
    let text = res.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}: {text}"));
    (status, body, started.elapsed())
}

/// Checks a 400 problem naming `field`, in both languages.
fn names(path: &str, (status, p, took): &(u16, Value, Duration), field: &str) {
    assert_eq!(*status, 400, "{path}: {p}");
    assert_eq!(p["type"], "/problems/malformed-query", "{path}: {p}");
    assert_eq!(p["errors"][0]["field"], field, "{path}: {p}");
    let (zh, en) = (p["errors"][0]["reason"].as_str().unwrap(), p["errors"][0]["reason_en"].as_str().unwrap());
    assert!(zh.starts_with("须为 ") && zh.ends_with("之间的整数"), "{path}: zh-CN first: {p}");
    assert!(en.starts_with("must be a whole number from "), "{path}: {p}");
    // From the gateway's query extraction: no service is asked, nothing waits for the call timeout.
    assert!(*took < Duration::from_secs(2), "{path}: took {took:?}");
}

#[tokio::test]
async fn every_list_refuses_an_offset_no_database_takes_and_pages_to_the_end() {
    let app = TestApp::spawn_with_evaluation().await;
    let token = app.token(Role::OfficeAdmin, CITY, None);
    for list in LISTS {
        // Beyond i64::MAX: the SQLite binding panicked on it (503 after the call timeout).
        let path = format!("{list}?offset=9223372036854775808");
        let p = get(&app, &token, &path).await;
        names(&path, &p, "offset");
        assert!(p.1["errors"][0]["reason"].as_str().unwrap().contains("1000000000"), "{path}: the bound: {}", p.1);
        for wrong in [MAX_OFFSET + 1, u64::MAX] {
            let path = format!("{list}?offset={wrong}");
            names(&path, &get(&app, &token, &path).await, "offset");
        }
        for wrong in ["-1", "1.5", "", "99999999999999999999999"] {
            let path = format!("{list}?offset={wrong}");
            names(&path, &get(&app, &token, &path).await, "offset");
        }
        // The largest offset is a valid question with an empty answer.
        let path = format!("{list}?offset={MAX_OFFSET}");
        let (status, page, _) = get(&app, &token, &path).await;
        assert_eq!(status, 200, "{path}: {page}");
        assert_eq!(page["items"], serde_json::json!([]), "{path}: {page}");
        assert_eq!(page["offset"], MAX_OFFSET, "{path}: {page}");
        assert!(page["total"].is_u64(), "{path}: {page}");
        // The page size, within its bounds.
        let max = if HUNDRED.contains(&list) { 100 } else { 200 };
        for wrong in [0, max + 1] {
            let path = format!("{list}?limit={wrong}");
            let p = get(&app, &token, &path).await;
            names(&path, &p, "limit");
            assert!(p.1["errors"][0]["reason_en"].as_str().unwrap().ends_with(&format!("from 1 to {max}")), "{p:?}");
        }
        let path = format!("{list}?limit={max}&offset=0");
        let (status, page, _) = get(&app, &token, &path).await;
        assert_eq!((status, page["limit"].as_u64()), (200, Some(max)), "{path}: {page}");
    }
}

#[tokio::test]
async fn the_document_states_the_bounds_of_every_page() {
    let app = TestApp::spawn().await;
    let doc: Value = app.http.get(app.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    for list in LISTS {
        let params = doc["paths"][list]["get"]["parameters"].as_array().unwrap_or_else(|| panic!("{list}"));
        let schema = |name: &str| {
            params
                .iter()
                .find(|p| p["name"] == name && p["in"] == "query")
                .unwrap_or_else(|| panic!("{list}: no {name}"))["schema"]
                .clone()
        };
        let max = if HUNDRED.contains(&list) { 100 } else { 200 };
        assert_eq!(
            (schema("limit")["minimum"].as_f64(), schema("limit")["maximum"].as_f64()),
            (Some(1.0), Some(max as f64)),
            "{list}"
        );
        assert_eq!(
            (schema("offset")["minimum"].as_f64(), schema("offset")["maximum"].as_f64()),
            (Some(0.0), Some(MAX_OFFSET as f64)),
            "{list}"
        );
        let page = &doc["paths"][list]["get"]["responses"]["200"]["content"]["application/json"]["schema"];
        assert!(page["$ref"].as_str().is_some_and(|r| r.ends_with("Page")), "{list}: a page: {page}");
    }
}

#[tokio::test]
async fn a_service_never_hands_the_database_a_raw_offset() {
    // The inbox request is built by the gateway (the owners come from the token), so its offset is not checked
    // as it is decoded: notification bounds it itself.
    let app = TestApp::spawn_with_notification().await;
    let req =
        ListInbox { owners: vec!["staff:nobody".into()], unread_only: false, limit: Some(20), offset: Some(u64::MAX) };
    let page: InboxPage =
        rpc::call::<InboxList>(&app.client, &req, Duration::from_secs(3)).await.expect("an empty page, not a panic");
    assert!(page.items.is_empty());
    assert_eq!(page.offset, MAX_OFFSET);
}

#[tokio::test]
async fn hooks_without_a_secret_are_not_enabled() {
    let app =
        TestApp::spawn_with_notification_and(|s| tune::<NotificationService>(s, |n| n.receipt_token = None)).await;
    let post = |path: String| {
        let http = app.http.clone();
        async move {
            let started = Instant::now();
            let res = http
                .post(path)
                .header("content-type", "application/json")
                .header("x-bangban-timestamp", "1795836600")
                .header("x-bangban-signature", "sha256=00")
                .body("[]")
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.unwrap(), started.elapsed())
        }
    };
    // The hotline's secret is unset in every test app; the Aliyun and Tencent token is unset here.
    for hook in ["/api/v1/hooks/hotline", "/api/v1/hooks/sms/aliyun?token=guess", "/api/v1/hooks/sms/tencent"] {
        let (status, p, took) = post(app.url(hook)).await;
        assert_eq!(status, 404, "{hook}: {p}");
        assert_eq!(p["type"], "/problems/hook-not-enabled", "{hook}: {p}");
        assert_eq!((p["title"].as_str(), p["title_en"].as_str()), (Some("回调未启用"), Some("Hook not enabled")));
        assert!(!p.to_string().contains("BANGBAN__"), "{hook}: no hint about the configuration: {p}");
        assert!(took < Duration::from_secs(2), "{hook}: took {took:?}");
    }
    // The webhook's receipts, whose secret is set, are still checked.
    let (status, p, _) = post(app.url("/api/v1/hooks/sms/webhook")).await;
    assert_eq!(status, 401, "{p}");
    assert_eq!(count_rows(&app.intake_db, "consultation").await, 0);
}
