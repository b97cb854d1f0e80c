//! The rules of OIDC mode (统一身份认证): every token must name Bangban's audience (by default the console's client
//! id), an ID token must be the issuer's for this client, and the issuer must be reached over HTTPS — plain
//! `http://` only on loopback, or when told (`BANGBAN__ALLOW_INSECURE_DEV=true`), else the gateway refuses to
//! start.
//!
//! The stand-in issuer of `support.rs` ([`OidcIssuer`]) plays the identity provider and checks what a real one
//! would (the code once, the client, the redirect URI, the PKCE verifier); its tokens are signed with the test key
//! of `support.rs`.

use std::{net::SocketAddr, time::Duration};

use bangban_gateway::settings::WebSettings;
use bangban_platform::{Settings, bus, health::Readiness, runtime, shutdown::Shutdown};
use bangban_testkit::{NatsServer, TestDatabase};
use reqwest::{StatusCode, header};
use serde_json::{Value, json};

use crate::support::{OIDC_CLIENT_ID as CLIENT_ID, OidcIssuer, TestApp, oidc_settings, sign, test_settings};

/// OIDC mode against `issuer` with the console's client; `audience` as `BANGBAN__AUTH__AUDIENCE`.
fn oidc(s: &mut Settings, issuer: &str, audience: Option<&str>) {
    oidc_settings(s, issuer);
    s.auth.audience = audience.map(String::from);
}

/// An access token of the stand-in issuer for an assistant of the city office, with `aud` (`null`: none).
fn access_token(issuer: &str, aud: Value) -> String {
    let now = chrono::Utc::now().timestamp();
    let mut claims = json!({"sub": "oidc-user-9", "role": "assistant", "office": "371600", "iss": issuer,
        "iat": now, "exp": now + 600});
    if !aud.is_null() {
        claims["aud"] = aud;
    }
    sign(&claims)
}

/// `GET /api/v1/cases` with `token`: the status and the body.
async fn list_cases(app: &TestApp, token: &str) -> (StatusCode, Value) {
    let res = app.http.get(app.url("/api/v1/cases")).bearer_auth(token).send().await.expect("request");
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_bearer_token_must_name_the_audience_by_default_the_console_s_client_id() {
    let issuer = OidcIssuer::start().await;
    let url = issuer.url.clone();
    let app = TestApp::spawn_with(|s| oidc(s, &url, None)).await;

    for aud in [json!(CLIENT_ID), json!(["account", CLIENT_ID])] {
        let (status, body) = list_cases(&app, &access_token(&url, aud.clone())).await;
        assert_eq!(status, StatusCode::OK, "aud {aud}: {body}");
    }
    // A token the same issuer minted for another application, or for none named, opens nothing here.
    for aud in [json!("another-app"), json!(["account"]), Value::Null] {
        let (status, body) = list_cases(&app, &access_token(&url, aud.clone())).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "aud {aud}: {body}");
        assert_eq!(body["type"], "/problems/unauthorized", "{body}");
        assert!(body["detail"].as_str().unwrap_or_default().contains("不是签发给本系统的"), "{body}");
        assert!(body["detail_en"].as_str().unwrap_or_default().contains("not issued for this service"), "{body}");
    }
}

#[tokio::test]
async fn a_configured_audience_wins_over_the_client_id() {
    let issuer = OidcIssuer::start().await;
    let url = issuer.url.clone();
    let app = TestApp::spawn_with(|s| oidc(s, &url, Some("bangban-api"))).await;
    let (status, body) = list_cases(&app, &access_token(&url, json!("bangban-api"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = list_cases(&app, &access_token(&url, json!(CLIENT_ID))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
}

/// A client that does not follow redirects, so the test sees each answer.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// The `name=value` a `Set-Cookie` of `res` sets for the cookie called `base` (or `__Host-<base>` over HTTPS);
/// `None` when none, or when it is cleared.
fn cookie_of(res: &reqwest::Response, base: &str) -> Option<String> {
    res.headers().get_all(header::SET_COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|v| {
        let pair = v.split(';').next().unwrap_or_default();
        let (name, value) = pair.split_once('=')?;
        let ours = name == base || name.strip_prefix("__Host-") == Some(base);
        (ours && !value.is_empty()).then(|| pair.to_string())
    })
}

/// Starts a console login, signs in at the stand-in issuer and comes back to the callback: the answer.
async fn log_in(app: &TestApp, http: &reqwest::Client) -> reqwest::Response {
    let res = http.get(app.url("/auth/oidc/start?return=/console")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{:?}", res.text().await);
    let location = res.headers()[header::LOCATION].to_str().unwrap().to_string();
    let login_cookie = cookie_of(&res, "bb_login").expect("the login cookie");
    let answer: Value = http.get(&location).send().await.unwrap().json().await.unwrap();
    let (code, state) = (answer["code"].as_str().unwrap(), answer["state"].as_str().unwrap());
    http.get(app.url(&format!("/auth/callback?code={code}&state={state}")))
        .header(header::COOKIE, login_cookie)
        .send()
        .await
        .unwrap()
}

fn session_cookie(res: &reqwest::Response) -> Option<String> {
    cookie_of(res, "bb_session")
}

#[tokio::test]
async fn the_console_login_refuses_an_id_token_or_access_token_for_another_client() {
    let issuer = OidcIssuer::start().await;
    let app = TestApp::spawn_with(|s| oidc(s, &issuer.url, None)).await;
    let http = browser();

    // The ID token names another client (one the same issuer serves): no session.
    *issuer.id_audience.lock().unwrap() = json!("another-app");
    let res = log_in(&app, &http).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(session_cookie(&res).is_none());
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["type"], "/problems/login-failed", "{body}");
    assert!(body["detail"].as_str().unwrap_or_default().contains("不是签发给本系统的"), "{body}");
    assert!(body["detail_en"].as_str().unwrap_or_default().contains("not issued for this client"), "{body}");

    // Several audiences and no `azp` naming ours: no session either.
    *issuer.id_audience.lock().unwrap() = json!([CLIENT_ID, "another-app"]);
    let res = log_in(&app, &http).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(session_cookie(&res).is_none());

    // A good ID token, but the access token is for another application: no session.
    *issuer.id_audience.lock().unwrap() = json!(CLIENT_ID);
    *issuer.access_audience.lock().unwrap() = json!("another-app");
    let res = log_in(&app, &http).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(session_cookie(&res).is_none());

    // Both for this client: signed in.
    *issuer.access_audience.lock().unwrap() = json!(CLIENT_ID);
    let res = log_in(&app, &http).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{:?}", res.text().await);
    assert!(session_cookie(&res).is_some());
}

/// The gateway started on its own with `settings` (the test's NATS), as `bangban-gateway` starts it.
async fn start_gateway(settings: &Settings) -> anyhow::Result<SocketAddr> {
    let client = bus::connect(&settings.nats, "oidc-rules").await.expect("connect");
    let readiness = Readiness { nats: client.clone(), databases: Vec::new() };
    let shutdown = Shutdown::new();
    let started = bangban_gateway::start(settings, client, readiness, &shutdown).await;
    shutdown.trigger();
    started
}

#[tokio::test]
async fn an_issuer_over_plain_http_is_refused_at_start_unless_loopback_or_told() {
    runtime::install_crypto_provider();
    let nats = NatsServer::start().await.expect("nats-server");
    let db = TestDatabase::new("oidc-rules").await.expect("test database");
    let mut settings = test_settings(&nats, &db);
    oidc(&mut settings, "http://sso.bangban.invalid/realms/bangban", None);

    // Every service's start-up check names the variable and the fix …
    let refused = runtime::refuse_insecure_defaults(&settings, false).unwrap_err().to_string();
    assert!(refused.contains("refusing to start") && refused.contains("BANGBAN__AUTH__ISSUER"), "{refused}");
    assert!(refused.contains("https://") && refused.contains("BANGBAN__ALLOW_INSECURE_DEV"), "{refused}");
    // … and the gateway does not start on it, whoever starts it.
    let err = start_gateway(&settings).await.expect_err("refused").to_string();
    assert!(err.contains("https://") && err.contains("BANGBAN__AUTH__ISSUER"), "{err}");

    // HTTPS, or plain HTTP on loopback (a local identity provider), is fine.
    for fine in ["https://sso.bangban.invalid/realms/bangban", "http://127.0.0.1:1", "http://localhost:1"] {
        settings.auth.issuer = fine.into();
        runtime::refuse_insecure_defaults(&settings, false).unwrap_or_else(|e| panic!("{fine}: {e}"));
        start_gateway(&settings).await.unwrap_or_else(|e| panic!("{fine}: {e}"));
    }

    // Told explicitly (a throw-away test installation): it starts, with a warning.
    settings.auth.issuer = "http://sso.bangban.invalid/realms/bangban".into();
    settings.allow_insecure_dev = true;
    runtime::refuse_insecure_defaults(&settings, false).expect("allowed");
    start_gateway(&settings).await.expect("allowed");
}

#[tokio::test]
async fn oidc_without_an_audience_or_client_id_is_refused_at_start() {
    runtime::install_crypto_provider();
    let nats = NatsServer::start().await.expect("nats-server");
    let db = TestDatabase::new("oidc-rules").await.expect("test database");
    let mut settings = test_settings(&nats, &db);
    oidc(&mut settings, "https://sso.bangban.invalid/realms/bangban", None);
    let web: WebSettings = settings.section("web").unwrap();
    settings.set_section("web", WebSettings { oidc_client_id: None, ..web });
    let err = start_gateway(&settings).await.expect_err("refused").to_string();
    assert!(err.contains("BANGBAN__AUTH__AUDIENCE") && err.contains("BANGBAN__WEB__OIDC_CLIENT_ID"), "{err}");
    settings.auth.audience = Some("bangban-api".into());
    start_gateway(&settings).await.expect("an audience is enough");
}
