//! Resource limits under floods (资源上限), checked from outside — HTTP and the JetStream streams' own numbers:
//!
//! - anonymous writes with 8 KiB junk paths and bodies to matched routes leave the audit stream
//!   (`BANGBAN_AUDIT`) bounded, and a thousand `GET /auth/oidc/start` the session stream (`BANGBAN_SESSIONS`);
//! - a 256 KiB body of 20 000 keys is answered with a 4xx in milliseconds, at a task's transitions and at every
//!   other route that takes a body (a resource bound with a generous margin, not a benchmark: it holds in a
//!   debug build);
//! - live streams (`GET /api/v1/stream`): a fourth stream of one person, and one over the gateway's total, are
//!   refused with 429; a closed stream frees its place.

use std::time::{Duration, Instant};

use bangban_gateway::auth::Role;
use bangban_gateway::settings::WebSettings;
use futures::StreamExt;
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::*;

/// What a flood may add to a stream, in bytes: a few dozen records (unbounded, 1 000 logins started add some
/// 270 KiB to the session stream, 3 000 refused writes many MiB to the audit log).
const GROWTH_BOUND: u64 = 64 * 1024;
/// Requests in flight at once during a flood.
const IN_FLIGHT: usize = 16;
/// The longest a large-key body may take to be answered.
const ANSWER_WITHIN: Duration = Duration::from_secs(2);

/// The stored bytes of a stream; 0 when it does not exist (yet).
async fn stream_bytes(app: &TestApp, name: &str) -> u64 {
    match app.js().get_stream(name).await {
        Ok(mut s) => s.info().await.map(|i| i.state.bytes).unwrap_or(0),
        Err(_) => 0,
    }
}

/// The stream's bytes once they have stopped changing for a second (records stored in the background, or
/// aggregated, land first), at most 15 s.
async fn settled_bytes(app: &TestApp, name: &str) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut last = stream_bytes(app, name).await;
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = stream_bytes(app, name).await;
        if now == last || Instant::now() > deadline {
            return now;
        }
        last = now;
    }
}

/// 8 KiB of junk that is a valid path segment.
fn junk() -> String {
    (0..256).map(|_| Uuid::new_v4().simple().to_string()).collect()
}

/// `n` requests made by `make(i)`, [`IN_FLIGHT`] at a time; their statuses.
async fn flood(n: usize, make: impl Fn(usize) -> reqwest::RequestBuilder) -> Vec<StatusCode> {
    futures::stream::iter((0..n).map(|i| {
        let req = make(i);
        async move { req.send().await.map(|r| r.status()).unwrap_or_else(|e| panic!("request {i}: {e}")) }
    }))
    .buffer_unordered(IN_FLIGHT)
    .collect()
    .await
}

/// How many of each status, for messages.
fn tally(statuses: &[StatusCode]) -> Vec<(u16, usize)> {
    let mut out: Vec<(u16, usize)> = Vec::new();
    for s in statuses {
        match out.iter_mut().find(|(code, _)| *code == s.as_u16()) {
            Some((_, n)) => *n += 1,
            None => out.push((s.as_u16(), 1)),
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn anonymous_write_floods_leave_the_audit_and_session_streams_bounded() {
    // The stand-in issuer: nobody signs in, the flood only starts logins.
    let issuer = OidcIssuer::start().await;
    let app = TestApp::spawn_with(|s| {
        oidc_settings(s, &issuer.url);
        // The test client is the ingress: the writes below come from many addresses (`X-Forwarded-For`).
        let web: WebSettings = s.section("web").unwrap();
        s.set_section("web", WebSettings { trusted_proxies: vec!["127.0.0.0/8".into()], ..web });
    })
    .await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client");

    // One anonymous write first, so that the audit stream exists and is measured from there.
    let res = http.post(app.url("/api/v1/cases")).json(&json!({})).send().await.expect("request");
    assert_eq!(res.status(), 401);
    let before = settled_bytes(&app, "BANGBAN_AUDIT").await;

    // 3 000 anonymous writes to matched routes, each with an 8 KiB junk path segment and an 8 KiB junk body, each
    // from another address (a distributed flood: no per-address bound helps).
    let routes =
        ["/api/v1/cases/{}/terminate", "/api/v1/tasks/{}/transitions", "/api/v1/consultations/{}/joint-meeting"];
    let statuses = flood(3000, |i| {
        let path = routes[i % routes.len()].replace("{}", &junk());
        http.post(app.url(&path))
            .header("x-forwarded-for", format!("10.{}.{}.{}", i / 65_536, (i / 256) % 256, i % 256))
            .header(header::CONTENT_TYPE, "application/json")
            .body(format!("{{\"junk\": \"{}\"}}", junk()))
    })
    .await;
    assert!(
        statuses.iter().all(|s| s.is_client_error()),
        "anonymous writes are refused, never 5xx: {:?}",
        tally(&statuses)
    );
    let after = settled_bytes(&app, "BANGBAN_AUDIT").await;
    assert!(
        after.saturating_sub(before) < GROWTH_BOUND,
        "3 000 anonymous writes grew BANGBAN_AUDIT by {} bytes ({before} → {after}), bound {GROWTH_BOUND}; answers {:?}",
        after.saturating_sub(before),
        tally(&statuses)
    );

    // 1 000 logins started from one address and never finished.
    let res = http.get(app.url("/auth/oidc/start")).send().await.expect("request");
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "OIDC login is configured: {:?}", res.text().await);
    let before = settled_bytes(&app, "BANGBAN_SESSIONS").await;
    let statuses = flood(1000, |i| http.get(app.url(&format!("/auth/oidc/start?return=/console/cases/{i}")))).await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::SEE_OTHER || *s == StatusCode::TOO_MANY_REQUESTS),
        "started or refused as too many, never 5xx: {:?}",
        tally(&statuses)
    );
    let after = settled_bytes(&app, "BANGBAN_SESSIONS").await;
    assert!(
        after.saturating_sub(before) < GROWTH_BOUND,
        "1 000 GET /auth/oidc/start grew BANGBAN_SESSIONS by {} bytes ({before} → {after}), bound {GROWTH_BOUND}; \
         answers {:?}",
        after.saturating_sub(before),
        tally(&statuses)
    );
}

/// A JSON object of 20 000 keys (`{"k00000": {}, …}`), about 240 KiB: within the production body limit.
fn many_keys() -> Vec<u8> {
    let mut body = serde_json::Map::new();
    for i in 0..20_000 {
        body.insert(format!("k{i:05}"), json!({}));
    }
    let bytes = serde_json::to_vec(&Value::Object(body)).expect("JSON");
    assert!(bytes.len() <= 256 * 1024, "{} bytes", bytes.len());
    bytes
}

/// The platform with the production body limit (256 KiB; the tests' default is 16 KiB).
async fn with_production_body_limit() -> TestApp {
    TestApp::spawn_with(|s| s.http.body_limit = bangban_platform::Settings::default().http.body_limit).await
}

#[tokio::test]
async fn a_task_step_of_twenty_thousand_keys_is_refused_in_milliseconds() {
    let app = with_production_body_limit().await;
    let body = many_keys();
    let officer = app.officer_token("BX-ZRZY", "371625");
    let url = app.url(&format!("/api/v1/tasks/{}/transitions", Uuid::now_v7()));
    // Twice: the second is not helped by anything the first warmed.
    for attempt in 0..2 {
        let started = Instant::now();
        let res = app
            .http
            .post(&url)
            .bearer_auth(&officer)
            .header(header::CONTENT_TYPE, "application/json")
            .body(body.clone())
            .send()
            .await
            .expect("request");
        let took = started.elapsed();
        let status = res.status();
        let problem: Value = res.json().await.unwrap_or(Value::Null);
        assert!(status.is_client_error(), "attempt {attempt}: {status} {problem}");
        assert!(took < ANSWER_WITHIN, "attempt {attempt}: answered in {took:?} ({status}), bound {ANSWER_WITHIN:?}");
        assert!(problem["title"].is_string() && problem["title_en"].is_string(), "a problem in zh and en: {problem}");
    }
}

#[tokio::test]
async fn every_route_that_takes_a_body_refuses_twenty_thousand_keys_in_milliseconds() {
    let app = with_production_body_limit().await;
    let body = many_keys();
    let spec: Value = app.http.get(app.url("/openapi.json")).send().await.expect("request").json().await.expect("JSON");
    let admin = app.token(Role::OfficeAdmin, "371600", None);
    let mut slow = Vec::new();
    let mut tried = 0;
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for method in ["post", "put", "patch"] {
            let Some(op) = item.get(method) else { continue };
            if op.get("requestBody").is_none() {
                continue;
            }
            tried += 1;
            // Every path parameter a fresh id (the body is read before anything is looked up).
            let mut concrete = String::new();
            for segment in path.split('/').skip(1) {
                concrete.push('/');
                if segment.starts_with('{') {
                    concrete.push_str(&Uuid::now_v7().to_string());
                } else {
                    concrete.push_str(segment);
                }
            }
            let started = Instant::now();
            let res = app
                .http
                .request(Method::from_bytes(method.to_uppercase().as_bytes()).expect("method"), app.url(&concrete))
                .bearer_auth(&admin)
                .header(header::CONTENT_TYPE, "application/json")
                .body(body.clone())
                .send()
                .await
                .expect("request");
            let took = started.elapsed();
            let status = res.status();
            if !status.is_client_error() || took >= ANSWER_WITHIN {
                slow.push(format!("{} {path}: {status} in {took:?}", method.to_uppercase()));
            }
        }
    }
    assert!(tried >= 20, "the OpenAPI document lists the routes that take a body: {tried}");
    assert!(slow.is_empty(), "a 20 000-key body must be refused (4xx) within {ANSWER_WITHIN:?}:\n{}", slow.join("\n"));
}

// ---------------------------------------------------------------------------------------------------------
// Live streams
// ---------------------------------------------------------------------------------------------------------

/// An open live stream, once its `event: ready` has come.
struct Live(#[allow(dead_code)] reqwest::Response);

/// Opens `GET /api/v1/stream` as `token`: the stream once ready, or the refusal's status and body.
async fn open(app: &TestApp, token: &str) -> Result<Live, (StatusCode, Value)> {
    let http = reqwest::Client::builder().connect_timeout(Duration::from_secs(5)).build().expect("client");
    let mut res = http.get(app.url("/api/v1/stream")).bearer_auth(token).send().await.expect("request");
    if res.status() != StatusCode::OK {
        let status = res.status();
        return Err((status, res.json().await.unwrap_or(Value::Null)));
    }
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !String::from_utf8_lossy(&seen).contains("event: ready") {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, res.chunk()).await {
            Ok(Ok(Some(bytes))) => seen.extend_from_slice(&bytes),
            other => panic!("no ready event: {other:?} after {:?}", String::from_utf8_lossy(&seen)),
        }
    }
    Ok(Live(res))
}

/// A refusal as too many: 429 with a problem in zh and en.
fn too_many(what: &str, refused: Result<Live, (StatusCode, Value)>) {
    match refused {
        Ok(_) => panic!("{what}: opened"),
        Err((status, problem)) => {
            assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{what}: {problem}");
            assert!(problem["title"].is_string() && problem["title_en"].is_string(), "{what}: {problem}");
        }
    }
}

#[tokio::test]
async fn a_fourth_stream_of_one_person_and_one_over_the_total_are_refused() {
    let app = TestApp::spawn_with(|s| {
        s.http.streams_per_person = 3;
        s.http.streams_max = 5;
    })
    .await;
    let one = app.token_as("staff-371625-assistant-1", Role::Assistant, "371625");
    let mut held = Vec::new();
    for i in 0..3 {
        held.push(open(&app, &one).await.unwrap_or_else(|e| panic!("stream {i} of one person: {e:?}")));
    }
    too_many("a fourth stream of one person", open(&app, &one).await);

    // Others still get theirs, up to the gateway's total.
    let two = app.token_as("staff-371625-assistant-2", Role::Assistant, "371625");
    let _second = open(&app, &two).await.expect("another person's stream");
    let three = app.token_as("staff-371625-assistant-3", Role::Assistant, "371625");
    let _third = open(&app, &three).await.expect("the fifth stream in all");
    let four = app.token_as("staff-371625-assistant-4", Role::Assistant, "371625");
    too_many("a sixth stream in all", open(&app, &four).await);

    // A closed stream frees its place (the gateway notices the client has gone).
    drop(held.pop());
    let deadline = Instant::now() + Duration::from_secs(15);
    let reopened = loop {
        match open(&app, &one).await {
            Ok(live) => break Some(live),
            Err(_) if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(100)).await,
            Err(_) => break None,
        }
    };
    assert!(reopened.is_some(), "a closed stream frees its place");
}

/// Sends `GET /healthz` on a raw connection and waits up to `wait` for the first bytes of the answer.
async fn raw_get(stream: &mut tokio::net::TcpStream, send: bool, wait: Duration) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    if send {
        stream.write_all(b"GET /healthz HTTP/1.1\r\nhost: bangban\r\n\r\n").await.unwrap();
    }
    let mut buf = vec![0u8; 2048];
    match tokio::time::timeout(wait, stream.read(&mut buf)).await {
        Ok(Ok(n)) if n > 0 => Some(String::from_utf8_lossy(&buf[..n]).into_owned()),
        _ => None,
    }
}

#[tokio::test]
async fn idle_connections_beyond_the_gateway_s_cap_wait_unaccepted() {
    let app = TestApp::spawn_with(|s| s.http.max_connections = 3).await;
    // Three connections opened and left idle (a slow client, or many) hold every place…
    let mut idle = Vec::new();
    for _ in 0..3 {
        idle.push(tokio::net::TcpStream::connect(app.addr).await.unwrap());
    }
    // …so one more is not read at all, however long it waits (no task, no buffer spent on it)…
    let mut next = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    assert_eq!(raw_get(&mut next, true, Duration::from_millis(500)).await, None, "served beyond the cap");
    // …until one of them closes.
    idle.pop();
    let answer = raw_get(&mut next, false, Duration::from_secs(5)).await.expect("served once a place is free");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}
