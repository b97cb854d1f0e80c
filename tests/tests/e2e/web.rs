//! The browser side of the gateway: security headers, login (demo identities and OIDC with PKCE),
//! session cookies with CSRF protection, rate limits and the audit log.

use std::{collections::HashMap, sync::atomic::Ordering, time::Duration};

use bangban_gateway::auth::Role;
use bangban_gateway::settings::WebSettings;
use reqwest::{StatusCode, header};
use serde_json::{Value, json};

use crate::support::{OIDC_CLIENT_ID as CLIENT_ID, OidcIssuer, TestApp, oidc_settings, sample_case};

/// A client that does not follow redirects, so the tests see each answer.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// The value a `Set-Cookie` of `name` sets, with the whole header.
fn set_cookie(res: &reqwest::Response, name: &str) -> Option<(String, String)> {
    res.headers().get_all(header::SET_COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|v| {
        let (pair, _) = v.split_once(';').unwrap_or((v, ""));
        let (k, value) = pair.split_once('=')?;
        (k == name).then(|| (value.to_string(), v.to_string()))
    })
}

async fn dev_login(app: &TestApp, sub: &str, role: &str, office: &str) -> String {
    let res = browser()
        .post(app.url("/auth/dev-login"))
        .form(&[("sub", sub), ("role", role), ("office", office), ("return", "/console")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{:?}", res.text().await);
    set_cookie(&res, "bb_session").expect("a session cookie").0
}

fn cookie(session: &str) -> String {
    format!("bb_session={session}")
}

/// The cookies of a console served over HTTPS (`http.public_url` `https://…`, as in the OIDC test):
/// `__Host-` names.
const HOST_SESSION: &str = "__Host-bb_session";
const HOST_LOGIN: &str = "__Host-bb_login";

/// `GET /api/v1/session` with the session cookie.
async fn session_of(app: &TestApp, http: &reqwest::Client, session: &str) -> Value {
    session_of_named(app, http, "bb_session", session).await
}

/// `GET /api/v1/session` with the session cookie named `name`.
async fn session_of_named(app: &TestApp, http: &reqwest::Client, name: &str, session: &str) -> Value {
    http.get(app.url("/api/v1/session"))
        .header(header::COOKIE, format!("{name}={session}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn pages_and_answers_carry_the_security_headers_and_no_inline_script() {
    let app = TestApp::spawn().await;
    for path in ["/login", "/docs", "/", "/api/v1/me", "/openapi.json", "/static/docs.js"] {
        let res = app.http.get(app.url(path)).send().await.unwrap();
        let h = res.headers();
        let csp = h.get("content-security-policy").and_then(|v| v.to_str().ok()).unwrap_or_default();
        assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert!(h.contains_key("referrer-policy") && h.contains_key("strict-transport-security"), "{path}");
    }
    // Pages load their scripts and styles from /static: nothing inline for the policy to block.
    for path in ["/login", "/docs", "/"] {
        let html = app.http.get(app.url(path)).send().await.unwrap().text().await.unwrap();
        for (i, _) in html.match_indices("<script") {
            let tag = &html[i..i + html[i..].find('>').unwrap()];
            assert!(tag.contains(" src="), "{path}: inline script {tag}");
        }
        assert!(!html.contains("<style") && !html.contains(" style=\""), "{path}: inline style");
    }
    let js = app.http.get(app.url("/static/docs.js")).send().await.unwrap();
    assert_eq!(js.status(), 200);
    assert!(js.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/javascript"));
    assert_eq!(app.http.get(app.url("/static/nothing.js")).send().await.unwrap().status(), 404);
}

#[tokio::test]
async fn a_demo_login_gives_an_http_only_session_and_writes_need_its_csrf_token() {
    let app = TestApp::spawn().await;
    let http = browser();
    // The login page lists the seeded roster as demo identities.
    let page = http.get(app.url("/login?office=371600")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("staff-371600-assistant-1"), "the roster is offered");
    let res = http
        .post(app.url("/auth/dev-login"))
        .form(&[
            ("sub", "staff-371600-assistant-1"),
            ("role", "assistant"),
            ("office", "371600"),
            ("return", "/console/cases"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()[header::LOCATION], "/console/cases");
    let (session, raw) = set_cookie(&res, "bb_session").expect("session cookie");
    for attr in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/"] {
        assert!(raw.contains(attr), "{raw} lacks {attr}");
    }
    // Login is not an open redirect.
    let res = http
        .post(app.url("/auth/dev-login"))
        .form(&[("sub", "x"), ("role", "assistant"), ("office", "371600"), ("return", "//evil.example/")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()[header::LOCATION], "/console");
    // A bad identity is a problem naming the field, and no session.
    let res = http
        .post(app.url("/auth/dev-login"))
        .form(&[("sub", "x"), ("role", "king"), ("office", "371600")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    assert!(set_cookie(&res, "bb_session").is_none());

    let me = session_of(&app, &http, &session).await;
    assert_eq!(me["sub"], "staff-371600-assistant-1");
    assert_eq!(me["via"], "dev");
    let csrf = me["csrf_token"].as_str().expect("csrf token").to_string();

    // The console knows who is signed in and offers the way out, with the session's CSRF token.
    let home = http.get(app.url("/console")).header(header::COOKIE, cookie(&session)).send().await.unwrap();
    assert_eq!(home.status(), 200);
    let html = home.text().await.unwrap();
    assert!(html.contains("staff-371600-assistant-1") && html.contains(&format!("value=\"{csrf}\"")), "{html}");
    let anonymous = http.get(app.url("/console")).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::SEE_OTHER);
    assert!(anonymous.headers()[header::LOCATION].to_str().unwrap().starts_with("/login"));

    // Reads need no token; the session stands for the bearer token.
    let list = http.get(app.url("/api/v1/cases")).header(header::COOKIE, cookie(&session)).send().await.unwrap();
    assert_eq!(list.status(), 200);
    let count = |v: Value| v["total"].as_u64().unwrap();
    let before = count(list.json().await.unwrap());

    // A write without the token, with a wrong one, or from another site is refused and changes nothing.
    let origin = format!("http://{}", app.addr);
    for (token, from) in
        [(None, origin.as_str()), (Some("forged"), origin.as_str()), (Some(csrf.as_str()), "http://evil.example")]
    {
        let mut req = http
            .post(app.url("/api/v1/cases"))
            .header(header::COOKIE, cookie(&session))
            .header(header::ORIGIN, from)
            .json(&sample_case());
        if let Some(t) = token {
            req = req.header("x-csrf-token", t);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 403, "{token:?} from {from}");
        let problem: Value = res.json().await.unwrap();
        assert!(problem["type"].as_str().unwrap().ends_with("csrf"), "{problem}");
        assert!(problem["detail"].as_str().unwrap().contains("防跨站"), "{problem}");
    }
    let list: Value = http
        .get(app.url("/api/v1/cases"))
        .header(header::COOKIE, cookie(&session))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(count(list), before, "nothing was created");

    // With the token, from this site, it goes through.
    let res = http
        .post(app.url("/api/v1/cases"))
        .header(header::COOKIE, cookie(&session))
        .header(header::ORIGIN, &origin)
        .header("x-csrf-token", &csrf)
        .json(&sample_case())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{:?}", res.text().await);
    // A bearer-token client carries no ambient credential and needs no CSRF token.
    assert_eq!(app.post_case(&app.staff_token(), &sample_case()).await.status(), 201);

    // Logout is a form post: a wrong _csrf is refused, the right one ends the session everywhere.
    let res = http
        .post(app.url("/auth/logout"))
        .header(header::COOKIE, cookie(&session))
        .form(&[("_csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = http
        .post(app.url("/auth/logout"))
        .header(header::COOKIE, cookie(&session))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()[header::LOCATION], "/login");
    assert!(set_cookie(&res, "bb_session").unwrap().1.contains("Max-Age=0"));
    let res = http.get(app.url("/api/v1/session")).header(header::COOKIE, cookie(&session)).send().await.unwrap();
    assert_eq!(res.status(), 401, "the session is gone");
    // A made-up cookie is nobody.
    let res = http
        .get(app.url("/api/v1/session"))
        .header(header::COOKIE, cookie("x".repeat(43).as_str()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn login_and_public_endpoints_are_rate_limited_per_address() {
    let app = TestApp::spawn_with(|s| {
        let web: WebSettings = s.section("web").unwrap();
        s.set_section("web", WebSettings { login_per_minute: 3, public_per_minute: 2, ..web });
    })
    .await;
    let http = browser();
    for _ in 0..3 {
        dev_login(&app, "staff-371600-assistant-1", "assistant", "371600").await;
    }
    let res = http
        .post(app.url("/auth/dev-login"))
        .form(&[("sub", "staff-371600-assistant-1"), ("role", "assistant"), ("office", "371600")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = res.headers()[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((1..=20).contains(&wait), "{wait}");
    let problem: Value = res.json().await.unwrap();
    assert!(problem["detail"].as_str().unwrap().contains("请求过于频繁"));
    // Showing the login page is not an attempt.
    assert_eq!(http.get(app.url("/login")).send().await.unwrap().status(), 200);
    // The token-less endpoints have their own budget.
    for i in 0..3 {
        let res = http.post(app.url("/api/v1/hooks/sms/webhook")).body("{}").send().await.unwrap();
        assert_eq!(res.status() == StatusCode::TOO_MANY_REQUESTS, i == 2, "request {i}: {}", res.status());
    }
    // Signed-in API calls are not limited by these budgets.
    for _ in 0..5 {
        let res = http.get(app.url("/api/v1/cases")).bearer_auth(app.staff_token()).send().await.unwrap();
        assert_eq!(res.status(), 200);
    }
}

#[tokio::test]
async fn every_write_is_audited_append_only_and_only_supervisors_read_it() {
    let app = TestApp::spawn().await;
    let http = browser();
    let city_staff = app.token_as("staff-371600-assistant-1", Role::Assistant, "371600");
    let county_staff = app.token_as("staff-371625-assistant-1", Role::Assistant, "371625");
    assert_eq!(app.post_case(&city_staff, &sample_case()).await.status(), 201);
    let mut bad = sample_case();
    bad["service_type"] = json!("magic");
    assert_eq!(app.post_case(&city_staff, &bad).await.status(), 422);
    let mut county_case = sample_case();
    county_case["office"] = json!("371625");
    assert_eq!(app.post_case(&county_staff, &county_case).await.status(), 201);
    let session = dev_login(&app, "staff-371600-agent-1", "agent", "371600").await;
    let me = session_of(&app, &http, &session).await;
    let res = http
        .post(app.url("/api/v1/cases"))
        .header(header::COOKIE, cookie(&session))
        .header("x-csrf-token", me["csrf_token"].as_str().unwrap())
        .json(&sample_case())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let anonymous = http.post(app.url("/api/v1/hooks/sms/webhook")).body("{}").send().await.unwrap().status();

    // Only supervisors read it.
    for role in [Role::Assistant, Role::OfficeAdmin, Role::Integrator] {
        let res = http.get(app.url("/api/v1/audit")).bearer_auth(app.token(role, "371600", None)).send().await.unwrap();
        assert_eq!(res.status(), 403, "{role:?}");
    }
    let city = app.token_as("staff-371600-supervisor-1", Role::Supervisor, "371600");
    let page: Value =
        http.get(app.url("/api/v1/audit?limit=500")).bearer_auth(&city).send().await.unwrap().json().await.unwrap();
    let items = page["items"].as_array().unwrap().clone();
    let find = |sub: &str, status: u16| {
        items.iter().find(|r| r["actor"]["sub"] == sub && r["status"] == status).cloned().unwrap_or_else(|| {
            panic!("no record of {sub} with {status} in {items:#?}");
        })
    };
    let created = find("staff-371600-assistant-1", 201);
    assert_eq!(created["route"], "/api/v1/cases");
    assert_eq!(created["method"], "POST");
    assert_eq!(created["outcome"], "success");
    assert_eq!(created["via"], "bearer");
    assert_eq!(created["actor"]["role"], "assistant");
    assert!(created["at"].as_str().is_some() && created["client"] == "127.0.0.1");
    assert_eq!(find("staff-371600-assistant-1", 422)["outcome"], "refused");
    assert_eq!(find("staff-371600-agent-1", 201)["via"], "session");
    find("staff-371625-assistant-1", 201);
    assert!(
        items.iter().any(|r| r["via"] == "anonymous"
            && r["route"] == "/api/v1/hooks/sms/{provider}"
            && r["status"] == anonymous.as_u16()),
        "the provider hook is recorded too"
    );
    // Reads are not recorded, and no body is: the applicant's phone is nowhere in the log.
    assert!(items.iter().all(|r| r["method"] != "GET"));
    assert!(!serde_json::to_string(&items).unwrap().contains("13812341234"));

    // A county's supervisor reads only their own office's records.
    let county = app.token_as("staff-371625-supervisor-1", Role::Supervisor, "371625");
    let page: Value =
        http.get(app.url("/api/v1/audit")).bearer_auth(&county).send().await.unwrap().json().await.unwrap();
    let own = page["items"].as_array().unwrap();
    assert!(!own.is_empty() && own.iter().all(|r| r["actor"]["office"] == "371625"), "{own:#?}");
    let res = http.get(app.url("/api/v1/audit?office=371600")).bearer_auth(&county).send().await.unwrap();
    assert_eq!(res.status(), 403);
    // Filters and paging.
    let page: Value = http
        .get(app.url("/api/v1/audit?outcome=refused"))
        .bearer_auth(&city)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(page["items"].as_array().unwrap().iter().all(|r| r["outcome"] == "refused"));
    let first: Value =
        http.get(app.url("/api/v1/audit?limit=1")).bearer_auth(&city).send().await.unwrap().json().await.unwrap();
    let after = first["next_after"].as_u64().expect("more pages");
    let second: Value = http
        .get(app.url(&format!("/api/v1/audit?limit=1&after={after}")))
        .bearer_auth(&city)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_ne!(first["items"][0]["id"], second["items"][0]["id"]);
    let res = http.get(app.url("/api/v1/audit?limit=0")).bearer_auth(&city).send().await.unwrap();
    assert_eq!(res.status(), 422);
    let problem: Value = res.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "limit", "{problem}");

    // Append-only: the stream refuses deletes and purges, and keeps records at least 180 days.
    let js = app.js();
    let mut stream = js.get_stream("BANGBAN_AUDIT").await.unwrap();
    let info = stream.info().await.unwrap().config.clone();
    assert!(info.deny_delete && info.deny_purge);
    assert!(info.max_age >= Duration::from_secs(180 * 86_400), "{:?}", info.max_age);
    assert!(stream.purge().await.is_err(), "purge refused");
    assert!(stream.delete_message(1).await.is_err(), "delete refused");
}

// ---------------------------------------------------------------------------------------------
// OIDC (the stand-in issuer, its key and tokens: support.rs)
// ---------------------------------------------------------------------------------------------

fn query_of(location: &str) -> HashMap<String, String> {
    reqwest::Url::parse(location).unwrap().query_pairs().into_owned().collect()
}

/// Starts a login at the gateway and signs in at the issuer: the callback URL's query and the login cookie.
async fn start_login(
    app: &TestApp,
    http: &reqwest::Client,
) -> (HashMap<String, String>, String, HashMap<String, String>) {
    let res = http.get(app.url("/auth/oidc/start?return=/console/cases")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{:?}", res.text().await);
    let location = res.headers()[header::LOCATION].to_str().unwrap().to_string();
    let (login_cookie, raw) = set_cookie(&res, HOST_LOGIN).expect("the login is bound to this browser");
    assert!(raw.contains("HttpOnly") && raw.contains("SameSite=Lax"));
    let params = query_of(&location);
    let answer: Value = http.get(&location).send().await.unwrap().json().await.unwrap();
    let callback = HashMap::from([
        ("code".to_string(), answer["code"].as_str().unwrap().to_string()),
        ("state".to_string(), answer["state"].as_str().unwrap().to_string()),
    ]);
    (params, login_cookie, callback)
}

async fn callback(
    app: &TestApp,
    http: &reqwest::Client,
    login_cookie: &str,
    q: &HashMap<String, String>,
) -> reqwest::Response {
    http.get(app.url(&format!("/auth/callback?code={}&state={}", q["code"], q["state"])))
        .header(header::COOKIE, format!("{HOST_LOGIN}={login_cookie}"))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn oidc_login_runs_the_authorization_code_flow_with_pkce_and_refreshes() {
    let issuer = OidcIssuer::start().await;
    let app = TestApp::spawn_with(|s| oidc_settings(s, &issuer.url)).await;
    let http = browser();
    // Demo login does not exist in production mode.
    let res = http
        .post(app.url("/auth/dev-login"))
        .form(&[("sub", "x"), ("role", "supervisor"), ("office", "371600")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);

    let (params, login_cookie, q) = start_login(&app, &http).await;
    assert!(params["scope"].split(' ').any(|s| s == "openid"));
    assert_eq!(params["client_id"], CLIENT_ID);
    assert_eq!(params["redirect_uri"], "https://bangban.example/auth/callback");
    assert_eq!(params["code_challenge"].len(), 43, "S256 of the verifier, base64url");
    assert_eq!(params["state"], login_cookie);

    // Another browser (no login cookie, or another one) cannot finish this login.
    let res = callback(&app, &http, &"x".repeat(43), &q).await;
    assert_eq!(res.status(), 400);
    assert!(set_cookie(&res, HOST_SESSION).is_none());

    let res = callback(&app, &http, &login_cookie, &q).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{:?}", res.text().await);
    assert_eq!(res.headers()[header::LOCATION], "/console/cases");
    let session = set_cookie(&res, HOST_SESSION).expect("session").0;
    let grant = issuer.grants.lock().unwrap().last().cloned().unwrap();
    assert_eq!(grant["grant_type"], "authorization_code");
    assert_eq!(grant["code_verifier"].len(), 43);
    let me = session_of_named(&app, &http, HOST_SESSION, &session).await;
    assert_eq!(
        (me["sub"].as_str(), me["via"].as_str(), me["office"].as_str()),
        (Some("oidc-user-7"), Some("oidc"), Some("371600"))
    );

    // The state is spent: the same callback again is refused.
    let res = callback(&app, &http, &login_cookie, &q).await;
    assert_eq!(res.status(), 400);

    // A short-lived access token is refreshed with the refresh token, and the session goes on.
    issuer.login_ttl.store(30, Ordering::SeqCst);
    let (_, login_cookie, q) = start_login(&app, &http).await;
    let res = callback(&app, &http, &login_cookie, &q).await;
    let session = set_cookie(&res, HOST_SESSION).expect("session").0;
    issuer.login_ttl.store(3600, Ordering::SeqCst);
    let res = http
        .get(app.url("/api/v1/cases"))
        .header(header::COOKIE, format!("{HOST_SESSION}={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let grants = issuer.grants.lock().unwrap().clone();
    assert_eq!(grants.last().unwrap()["grant_type"], "refresh_token", "{grants:?}");
    // The refresh token of the second login (the issuer hands out one per login, `refresh-1`, `refresh-2`).
    assert_eq!(grants.last().unwrap()["refresh_token"], "refresh-2");
}
