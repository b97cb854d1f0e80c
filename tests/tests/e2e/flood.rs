//! Floods against the gateway's own storage and bookkeeping (security review, issue 16: finding 1, the rest
//! of 7, and the low items on sessions and the audit log), on real parts: the test's nats-server and its
//! JetStream streams `BANGBAN_AUDIT` and `BANGBAN_SESSIONS`, measured from outside.
//!
//! - thousands of anonymous junk writes with 8 KiB paths leave the audit stream a few KiB larger, while a
//!   signed-in write is still recorded (with its path cut to 256 bytes and marked so);
//! - one token cannot flood either: its writes are rate-limited and its refusals sampled;
//! - `GET /auth/oidc/start` is rate-limited per client address, and unfinished logins are forgotten after
//!   `web.login_ttl_secs`;
//! - a full audit log refuses writes (503 `audit-full`) instead of losing their records, and takes them again
//!   once an operator makes room; records that cannot be stored are queued, and those the queue cannot hold
//!   are counted (`bangban_audit_dropped_total`): stored + dropped = written;
//! - two concurrent requests of a session whose token is due use its refresh token once;
//! - CSRF refusals are audited, within the anonymous bound;
//! - cookies are `__Host-` prefixed over HTTPS and keep their plain names over plain HTTP.

use std::{
    sync::atomic::Ordering,
    time::{Duration, Instant},
};

use async_nats::jetstream::stream;
use bangban_gateway::auth::Role;
use bangban_gateway::settings::WebSettings;
use futures::{StreamExt, TryStreamExt};
use reqwest::{StatusCode, header};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::{OidcIssuer, TestApp, eventually, oidc_settings, sample_case};

const AUDIT: &str = "BANGBAN_AUDIT";
const SESSIONS: &str = "BANGBAN_SESSIONS";
/// Requests in flight at once during a flood.
const IN_FLIGHT: usize = 16;

/// A client that does not follow redirects, so the tests see each answer.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// 8 KiB of junk that is a valid path segment.
fn junk() -> String {
    (0..256).map(|_| Uuid::new_v4().simple().to_string()).collect()
}

/// `n` requests made by `make(i)`, [`IN_FLIGHT`] at a time; their statuses.
async fn flood(n: usize, make: impl Fn(usize) -> reqwest::RequestBuilder) -> Vec<u16> {
    futures::stream::iter((0..n).map(|i| {
        let req = make(i);
        async move { req.send().await.map(|r| r.status().as_u16()).unwrap_or_else(|e| panic!("request {i}: {e}")) }
    }))
    .buffer_unordered(IN_FLIGHT)
    .collect()
    .await
}

/// The stored bytes of a stream once they have stopped changing for a second (at most 15 s); 0 when it
/// does not exist.
async fn settled_bytes(app: &TestApp, name: &str) -> u64 {
    async fn bytes(app: &TestApp, name: &str) -> u64 {
        match app.js().get_stream(name).await {
            Ok(mut s) => s.info().await.map(|i| i.state.bytes).unwrap_or(0),
            Err(_) => 0,
        }
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut last = bytes(app, name).await;
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = bytes(app, name).await;
        if now == last || Instant::now() > deadline {
            return now;
        }
        last = now;
    }
}

/// The value of the series `series` (name and labels as rendered) at `/metrics`; 0 when absent.
async fn metric(app: &TestApp, series: &str) -> f64 {
    let text = app.http.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

/// Every record of the audit log, read by the city's supervisor.
async fn audit_records(app: &TestApp) -> Vec<Value> {
    let city = app.token_as("staff-371600-supervisor-1", Role::Supervisor, "371600");
    let mut out = Vec::new();
    let mut after: Option<u64> = None;
    loop {
        let q = after
            .map_or_else(|| "/api/v1/audit?limit=500".to_string(), |a| format!("/api/v1/audit?limit=500&after={a}"));
        let res = app.http.get(app.url(&q)).bearer_auth(&city).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let page: Value = res.json().await.unwrap();
        out.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_after"].as_u64() {
            Some(a) => after = Some(a),
            None => return out,
        }
    }
}

#[tokio::test]
async fn an_anonymous_junk_write_flood_leaves_the_audit_log_small_and_signed_in_writes_are_still_audited() {
    let app = TestApp::spawn().await;
    let http = browser();
    // One anonymous write first: the stream exists and is measured from there.
    let res = http.post(app.url("/api/v1/cases")).json(&json!({})).send().await.unwrap();
    assert_eq!(res.status(), 401);
    let before = settled_bytes(&app, AUDIT).await;

    // 3 000 anonymous writes to matched routes, each with an 8 KiB junk path segment.
    let routes = ["/api/v1/cases/{}/terminate", "/api/v1/tasks/{}/transitions", "/api/v1/cases/{}/specialist"];
    let statuses = flood(3000, |i| {
        http.post(app.url(&routes[i % routes.len()].replace("{}", &junk()))).json(&json!({"junk": junk()}))
    })
    .await;
    assert!(statuses.iter().all(|s| (400..500).contains(s)), "refused, never 5xx");
    let after = settled_bytes(&app, AUDIT).await;
    // Without sampling: 3 000 records of 8 KiB paths, about 25 MB.
    assert!(after - before < 32 * 1024, "3 000 junk writes grew the audit log by {} bytes", after - before);
    let suppressed = metric(&app, "bangban_audit_suppressed_total{actor=\"anonymous\"}").await;
    assert!(suppressed >= 2_980.0, "the rest are counted: {suppressed}");

    // A signed-in write is recorded as ever, and the sampled anonymous ones keep 256 bytes of their path.
    let staff = app.token_as("staff-371600-assistant-1", Role::Assistant, "371600");
    assert_eq!(app.post_case(&staff, &sample_case()).await.status(), 201);
    let records = audit_records(&app).await;
    assert!(
        records.iter().any(|r| r["actor"]["sub"] == "staff-371600-assistant-1" && r["status"] == 201),
        "{records:#?}"
    );
    let anonymous: Vec<&Value> = records.iter().filter(|r| r["via"] == "anonymous").collect();
    assert!(!anonymous.is_empty() && anonymous.len() <= 11, "{}", anonymous.len());
    for r in anonymous.iter().filter(|r| r["route"] != "/api/v1/cases") {
        assert!(r["path"].as_str().unwrap().len() <= 256 && r["path_truncated"] == true, "{r}");
    }
    // The stream is bounded and refuses rather than drops when full.
    let config = app.js().get_stream(AUDIT).await.unwrap().cached_info().config.clone();
    assert!(config.max_bytes > 0 && config.discard == stream::DiscardPolicy::New, "{config:?}");
}

#[tokio::test]
async fn one_token_can_flood_neither_the_services_nor_the_audit_log() {
    let app = TestApp::spawn_with(|s| {
        let web: WebSettings = s.section("web").unwrap();
        s.set_section("web", WebSettings { writes_per_minute: 20, audit_actor_refusals_per_minute: 5, ..web });
    })
    .await;
    let staff = app.token_as("staff-371600-assistant-1", Role::Assistant, "371600");
    let before = settled_bytes(&app, AUDIT).await;
    let statuses = flood(300, |_| {
        app.http.post(app.url("/api/v1/cases")).bearer_auth(&staff).json(&json!({"service_type": "magic"}))
    })
    .await;
    // The budget (20), and maybe a token refilled while the flood ran (one every 3 s).
    let done = statuses.iter().filter(|s| **s == 422).count();
    assert!((20..=22).contains(&done), "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 300 - done);
    let res = app.post_case(&staff, &sample_case()).await;
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key(header::RETRY_AFTER));
    let problem: Value = res.json().await.unwrap();
    assert!(problem["detail"].as_str().unwrap().contains("请求过于频繁"), "{problem}");
    // Someone else is not affected, and their write is audited.
    let colleague = app.token_as("staff-371600-assistant-2", Role::Assistant, "371600");
    assert_eq!(app.post_case(&colleague, &sample_case()).await.status(), 201);
    let after = settled_bytes(&app, AUDIT).await;
    assert!(after - before < 16 * 1024, "300 refused writes of one person grew the log by {}", after - before);
    let records = audit_records(&app).await;
    let own = records.iter().filter(|r| r["actor"]["sub"] == "staff-371600-assistant-1").count();
    assert_eq!(own, 5, "the person's bound per minute");
    assert!(records.iter().any(|r| r["actor"]["sub"] == "staff-371600-assistant-2" && r["status"] == 201));
}

/// The value a `Set-Cookie` of `name` sets, and the whole header.
fn set_cookie(res: &reqwest::Response, name: &str) -> Option<(String, String)> {
    res.headers().get_all(header::SET_COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|v| {
        let (pair, _) = v.split_once(';').unwrap_or((v, ""));
        let (k, value) = pair.split_once('=')?;
        (k == name).then(|| (value.to_string(), v.to_string()))
    })
}

/// Pending logins in the session stream.
async fn pending_logins(app: &TestApp) -> usize {
    let Ok(stream) = app.js().get_stream(SESSIONS).await else { return 0 };
    let subjects: Vec<(String, usize)> =
        stream.info_with_subjects("bb.session.l.>").await.unwrap().try_collect().await.unwrap();
    subjects.len()
}

#[tokio::test]
async fn oidc_start_is_rate_limited_per_address_and_unfinished_logins_are_forgotten() {
    let issuer = OidcIssuer::start().await;
    let app = TestApp::spawn_with(|s| {
        oidc_settings(s, &issuer.url);
        let web: WebSettings = s.section("web").unwrap();
        // The test's requests come through "the ingress" on 127.0.0.1, naming their client addresses.
        let trusted_proxies = vec!["127.0.0.0/8".into()];
        s.set_section("web", WebSettings { login_per_minute: 5, login_ttl_secs: 2, trusted_proxies, ..web });
    })
    .await;
    let http = browser();
    let start = |client: &str| {
        http.get(app.url("/auth/oidc/start?return=/console")).header("x-forwarded-for", client.to_string()).send()
    };
    for _ in 0..5 {
        let res = start("198.51.100.7").await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{:?}", res.text().await);
        let (_, raw) = set_cookie(&res, "__Host-bb_login").expect("the login cookie, __Host- over HTTPS");
        assert!(raw.contains("Max-Age=2"), "as long as the login may take: {raw}");
    }
    let res = start("198.51.100.7").await.unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key(header::RETRY_AFTER));
    let problem: Value = res.json().await.unwrap();
    assert!(problem["detail"].as_str().unwrap().contains("请求过于频繁"), "{problem}");
    assert_eq!(pending_logins(&app).await, 5, "the refused start stored nothing");

    // Another address has its own budget; once the lifetime has passed, a start purges the unfinished ones.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(start("198.51.100.8").await.unwrap().status(), StatusCode::SEE_OTHER);
    assert_eq!(pending_logins(&app).await, 1, "only the new login is left");
    // A stale login cannot be finished either (it is gone).
}

#[tokio::test]
async fn logins_started_from_many_addresses_are_bounded_by_the_gateway_s_budget() {
    let issuer = OidcIssuer::start().await;
    let app = TestApp::spawn_with(|s| {
        oidc_settings(s, &issuer.url);
        let web: WebSettings = s.section("web").unwrap();
        let trusted_proxies = vec!["127.0.0.0/8".into()];
        s.set_section("web", WebSettings { login_per_minute: 5, login_starts_per_minute: 20, trusted_proxies, ..web });
    })
    .await;
    let http = browser();
    // Each from an address of its own (a /64 of its own), with the longest return path there is.
    let long = format!("/console/{}", "a".repeat(60_000));
    let mut started = 0;
    let mut refused = 0;
    for i in 0..100u32 {
        let client = format!("2001:db8:{:x}::1", i + 1);
        let res = http
            .get(app.url(&format!("/auth/oidc/start?return={long}")))
            .header("x-forwarded-for", client)
            .send()
            .await
            .unwrap();
        match res.status() {
            StatusCode::SEE_OTHER => started += 1,
            StatusCode::TOO_MANY_REQUESTS => refused += 1,
            other => panic!("{other}: {:?}", res.text().await),
        }
    }
    assert_eq!((started, refused), (20, 80), "the gateway's budget, whatever the addresses");
    assert_eq!(pending_logins(&app).await, 20);
    let bytes = app.js().get_stream("BANGBAN_SESSIONS").await.unwrap().info().await.unwrap().state.bytes;
    assert!(bytes < 20 * 2_048, "no 60 KB return path kept with a login: {bytes} bytes");
}

#[tokio::test]
async fn two_concurrent_requests_of_a_session_use_its_refresh_token_once() {
    let issuer = OidcIssuer::start().await;
    let app = TestApp::spawn_with(|s| oidc_settings(s, &issuer.url)).await;
    let http = browser();
    // Sign in with an access token that is due for a refresh at once (30 s left, the margin is 60 s).
    issuer.login_ttl.store(30, Ordering::SeqCst);
    let res = http.get(app.url("/auth/oidc/start?return=/console")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (login, _) = set_cookie(&res, "__Host-bb_login").unwrap();
    let location = res.headers()[header::LOCATION].to_str().unwrap().to_string();
    let answer: Value = http.get(&location).send().await.unwrap().json().await.unwrap();
    let (code, state) = (answer["code"].as_str().unwrap(), answer["state"].as_str().unwrap());
    let res = http
        .get(app.url(&format!("/auth/callback?code={code}&state={state}")))
        .header(header::COOKIE, format!("__Host-bb_login={login}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{:?}", res.text().await);
    let (session, _) = set_cookie(&res, "__Host-bb_session").expect("the session cookie");
    let cookie = format!("__Host-bb_session={session}");

    // Two requests at once: one refreshes, the other goes on with the still valid token.
    let list = || http.get(app.url("/api/v1/cases")).header(header::COOKIE, cookie.clone()).send();
    let (a, b) = tokio::join!(list(), list());
    assert_eq!((a.unwrap().status(), b.unwrap().status()), (StatusCode::OK, StatusCode::OK));
    assert_eq!(issuer.refresh_grants.load(Ordering::SeqCst), 1, "the refresh token was used once");
    // The session carries the refreshed token from now on.
    for _ in 0..3 {
        assert_eq!(list().await.unwrap().status(), StatusCode::OK);
    }
    assert_eq!(issuer.refresh_grants.load(Ordering::SeqCst), 1);
    assert!(issuer.refresh.lock().unwrap().is_some(), "the issuer saw no replay");
}

async fn dev_login(app: &TestApp, http: &reqwest::Client, name: &str) -> String {
    let res = http
        .post(app.url("/auth/dev-login"))
        .form(&[("sub", "staff-371600-agent-1"), ("role", "agent"), ("office", "371600")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    set_cookie(&res, name).unwrap_or_else(|| panic!("a {name} cookie: {:?}", res.headers())).0
}

#[tokio::test]
async fn csrf_refusals_are_audited_within_the_anonymous_bound() {
    let app = TestApp::spawn().await;
    let http = browser();
    let session = dev_login(&app, &http, "bb_session").await;
    let cookie = format!("bb_session={session}");
    let origin = format!("http://{}", app.addr);
    let res = http
        .post(app.url("/api/v1/cases"))
        .header(header::COOKIE, &cookie)
        .header(header::ORIGIN, &origin)
        .json(&sample_case())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "no CSRF token");
    let records = audit_records(&app).await;
    let refused: Vec<&Value> =
        records.iter().filter(|r| r["actor"]["sub"] == "staff-371600-agent-1" && r["status"] == 403).collect();
    assert_eq!(refused.len(), 1, "{records:#?}");
    assert_eq!(
        (&refused[0]["via"], &refused[0]["route"], &refused[0]["method"], &refused[0]["outcome"]),
        (&json!("session"), &json!("/api/v1/cases"), &json!("POST"), &json!("refused"))
    );
    assert_eq!(refused[0]["client"], "127.0.0.1");

    // A cross-site page making the browser post over and over: a few records, the rest counted.
    let statuses = flood(200, |_| {
        http.post(app.url("/api/v1/cases"))
            .header(header::COOKIE, &cookie)
            .header(header::ORIGIN, "https://evil.example")
            .json(&sample_case())
    })
    .await;
    assert!(statuses.iter().all(|s| *s == 403));
    let records = audit_records(&app).await;
    let refused = records.iter().filter(|r| r["actor"]["sub"] == "staff-371600-agent-1" && r["status"] == 403);
    assert_eq!(refused.count(), 2, "at most two per client address and minute");
    assert!(metric(&app, "bangban_audit_suppressed_total{actor=\"anonymous\"}").await >= 199.0);
}

#[tokio::test]
async fn cookies_are_host_prefixed_over_https_and_keep_their_names_over_plain_http() {
    let https = TestApp::spawn_with(|s| s.http.public_url = Some("https://bangban.example/".into())).await;
    let http = browser();
    let res = http
        .post(https.url("/auth/dev-login"))
        .form(&[("sub", "staff-371600-agent-1"), ("role", "agent"), ("office", "371600")])
        .send()
        .await
        .unwrap();
    assert!(set_cookie(&res, "bb_session").is_none());
    let (session, raw) = set_cookie(&res, "__Host-bb_session").expect("a __Host- session cookie");
    for attr in ["; Path=/", "; Secure", "; HttpOnly", "; SameSite=Lax"] {
        assert!(raw.contains(attr), "{raw} lacks {attr}");
    }
    assert!(!raw.to_ascii_lowercase().contains("domain="), "host-only: {raw}");
    let me =
        |name: &str| http.get(https.url("/api/v1/session")).header(header::COOKIE, format!("{name}={session}")).send();
    assert_eq!(me("__Host-bb_session").await.unwrap().status(), 200);
    // A cookie planted without the prefix (by a neighbouring subdomain) is not read.
    assert_eq!(me("bb_session").await.unwrap().status(), 401);

    // Plain HTTP (make run on 127.0.0.1): the names stay unprefixed.
    let plain = TestApp::spawn().await;
    let session = dev_login(&plain, &http, "bb_session").await;
    let res = http.get(plain.url("/api/v1/session")).header(header::COOKIE, format!("bb_session={session}")).send();
    assert_eq!(res.await.unwrap().status(), 200);
}

#[tokio::test]
async fn a_full_audit_log_refuses_writes_until_there_is_room_and_loses_no_record() {
    let app = TestApp::spawn_with(|s| {
        let web: WebSettings = s.section("web").unwrap();
        s.set_section("web", WebSettings { audit_max_bytes: 4 * 1024, ..web });
    })
    .await;
    let staff = app.token_as("staff-371600-assistant-1", Role::Assistant, "371600");
    let cases = || async {
        let list: Value =
            app.http.get(app.url("/api/v1/cases")).bearer_auth(&staff).send().await.unwrap().json().await.unwrap();
        list["total"].as_u64().unwrap()
    };
    let cases_before = cases().await;
    let mut created = 0;
    let mut refused = None;
    for _ in 0..40 {
        let res = app.post_case(&staff, &sample_case()).await;
        match res.status().as_u16() {
            201 => created += 1,
            503 => {
                refused = Some(res.json::<Value>().await.unwrap());
                break;
            }
            other => panic!("{other}"),
        }
    }
    let problem = refused.expect("the full log refuses writes");
    assert!(problem["type"].as_str().unwrap().ends_with("audit-full"), "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("审计日志"), "{problem}");
    assert!(created >= 2, "{created}");
    assert_eq!(metric(&app, "bangban_audit_full").await, 1.0);
    assert!(metric(&app, "bangban_audit_pending").await >= 1.0, "the last record waits, it is not lost");
    // The refused write was not performed.
    assert_eq!(cases().await - cases_before, created);

    // An operator makes room (`nats stream edit BANGBAN_AUDIT --max-bytes …`): the waiting record is stored,
    // writes are taken again.
    let js = app.js();
    let config = js.get_stream(AUDIT).await.unwrap().cached_info().config.clone();
    js.update_stream(stream::Config { max_bytes: 1 << 20, ..config }).await.unwrap();
    let accepted = eventually(Duration::from_secs(60), || async {
        let res = app.post_case(&staff, &sample_case()).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        res.status() == 201
    })
    .await;
    assert!(accepted, "writes are accepted again once the log has room");
    let records = audit_records(&app).await;
    let stored = records.iter().filter(|r| r["actor"]["sub"] == "staff-371600-assistant-1" && r["status"] == 201);
    assert_eq!(stored.count() as u64, created + 1, "every performed write has its record");
    assert_eq!(metric(&app, "bangban_audit_full").await, 0.0);
}

#[tokio::test]
async fn records_that_cannot_be_stored_wait_and_those_beyond_the_queue_are_counted() {
    let mut app = TestApp::spawn_with(|s| {
        let web: WebSettings = s.section("web").unwrap();
        s.set_section("web", WebSettings { audit_queue_capacity: 2, ..web });
    })
    .await;
    let staff = app.token_as("staff-371600-assistant-1", Role::Assistant, "371600");
    assert_eq!(app.post_case(&staff, &sample_case()).await.status(), 201);
    assert_eq!(audit_records(&app).await.len(), 1);
    let dropped_before = metric(&app, "bangban_audit_dropped_total").await;

    // NATS goes away: writes fail (the services are unreachable), and their records cannot be stored.
    app.nats.stop();
    let statuses = flood(6, |_| app.http.post(app.url("/api/v1/cases")).bearer_auth(&staff).json(&sample_case())).await;
    assert!(statuses.iter().all(|s| *s >= 500), "{statuses:?}");
    let dropped = metric(&app, "bangban_audit_dropped_total").await - dropped_before;
    assert!(dropped >= 1.0, "more than the queue holds: some are dropped, and counted");
    app.nats.restart();

    // Back: the queued ones are stored. Stored + dropped = written.
    let complete = eventually(Duration::from_secs(60), || async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let failed =
            audit_records(&app).await.iter().filter(|r| r["status"].as_u64().is_some_and(|s| s >= 500)).count();
        failed as f64 + dropped == 6.0
    })
    .await;
    let failed = audit_records(&app).await.iter().filter(|r| r["status"].as_u64().is_some_and(|s| s >= 500)).count();
    assert!(complete, "{failed} stored + {dropped} dropped of 6");
    assert_eq!(metric(&app, "bangban_audit_pending").await, 0.0);
}
