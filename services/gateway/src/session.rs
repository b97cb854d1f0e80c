//! Console sessions (会话) and login (登录).
//!
//! A browser signs in once and then carries an opaque session id in an HTTP-only cookie
//! (`__Host-bb_session` when the console is served over HTTPS — `Secure` cookies and an `https://`
//! `http.public_url` — else `bb_session`; `SameSite=Lax`, `Path=/`, `Secure` unless turned off). The
//! `__Host-` prefix makes browsers refuse the cookie unless it is `Secure`, host-only and for `/`, so a
//! neighbouring subdomain cannot plant a session cookie for this site. The session itself — the bearer token it
//! stands for, who it names, its CSRF token and, after an OIDC login, the refresh token — lives in the
//! JetStream stream `BANGBAN_SESSIONS` (one message per subject, the last one counts), under the SHA-256
//! of the id, so every gateway replica sees it and a logout ends it everywhere. The stream's `max_age` is
//! the session lifetime and `max_bytes` its size (`web.sessions_max_bytes`, discard `new`: when full, new
//! logins are refused, no session is pushed out). (A JetStream key-value bucket would be the same thing,
//! but async-nats 0.51 cannot read nats-server 2.9's answer to creating one.)
//!
//! A token refresh is atomic: the request that finds the access token about to expire first takes a
//! lease on the session (a write that names the session's last sequence, `Nats-Expected-Last-Subject-Sequence`),
//! and only the lease holder uses the refresh token; concurrent requests go on with the still valid token,
//! or wait for the refreshed one. So one refresh token is never sent twice (issuers that rotate refresh
//! tokens revoke the whole session when one is replayed).
//!
//! [`session_auth`] turns a session cookie into the `Authorization: Bearer …` header every handler
//! already understands. A write carried by a cookie (POST, PUT, PATCH, DELETE) must also carry the
//! session's CSRF token (防跨站请求伪造令牌): the `X-CSRF-Token` header, or the `_csrf` field of a form;
//! and, when the browser sends an `Origin`, it must be this site. Requests with their own bearer token
//! carry no ambient credential and are not checked.
//!
//! Login: in development mode a demo identity is chosen on `/login` (`POST /auth/dev-login`); with
//! `web.oidc_client_id` set, `/auth/oidc/start` runs the OIDC authorization-code flow with PKCE (S256),
//! `state` and `nonce` against the configured issuer, and `/auth/callback` finishes it. A login in
//! progress lives `web.login_ttl_secs` (10 minutes): each start first purges those older than that from the
//! stream, and `/auth/…` is rate-limited per client address.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use crate::auth::{Principal, Role};
use async_nats::jetstream;
use axum::{
    Extension, Form, Json, Router,
    body::Body,
    extract::{Query, Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use bangban_platform::{config::AuthMode, problem::Problem};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use rand::RngCore;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

use crate::{AppState, settings::WebSettings};

/// The session cookie over plain HTTP (`make run`); see [`session_cookie`].
pub const SESSION_COOKIE: &str = "bb_session";
/// The session cookie over HTTPS.
pub const HOST_SESSION_COOKIE: &str = "__Host-bb_session";
/// The cookie binding an OIDC login in progress to this browser, over plain HTTP; see [`login_cookie`].
pub const LOGIN_COOKIE: &str = "bb_login";
/// The login cookie over HTTPS.
pub const HOST_LOGIN_COOKIE: &str = "__Host-bb_login";
/// The header of a CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The form field of a CSRF token.
pub const CSRF_FIELD: &str = "_csrf";
/// The stream of sessions: one message per subject, the last one counts, `max_age` the session lifetime.
pub const STREAM: &str = "BANGBAN_SESSIONS";
/// Subject prefix of sessions (`bb.session.s.<sha256>`) and logins in progress (`bb.session.l.<sha256>`).
pub const SUBJECT_PREFIX: &str = "bb.session";
/// An access token is refreshed this long before it expires.
const REFRESH_MARGIN_SECS: i64 = 60;
/// How long a refresh lease holds (the token endpoint's timeout is 10 s).
const LEASE_SECS: i64 = 30;
/// How long a request waits for another one's refresh when its own token has expired.
const REFRESH_WAIT: Duration = Duration::from_secs(12);
/// Logins in progress remembered for purging, at most.
const MAX_LOGIN_MARKS: usize = 100_000;

/// Whether cookies get the `__Host-` prefix: they are `Secure` and the console is served over HTTPS
/// (`http.public_url`). On plain HTTP (`make run` on 127.0.0.1) the names stay unprefixed.
pub fn host_prefixed(state: &AppState) -> bool {
    state.web.secure_cookies
        && state
            .settings
            .http
            .public_url
            .as_deref()
            .is_some_and(|u| u.trim().to_ascii_lowercase().starts_with("https://"))
}

/// The session cookie's name: `__Host-bb_session` over HTTPS, else `bb_session`.
pub fn session_cookie(state: &AppState) -> &'static str {
    if host_prefixed(state) { HOST_SESSION_COOKIE } else { SESSION_COOKIE }
}

/// The login cookie's name: `__Host-bb_login` over HTTPS, else `bb_login`.
pub fn login_cookie(state: &AppState) -> &'static str {
    if host_prefixed(state) { HOST_LOGIN_COOKIE } else { LOGIN_COOKIE }
}

/// A session as stored (会话记录).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionRecord {
    /// The bearer token the session stands for.
    pub token: String,
    /// The CSRF token of every write.
    pub csrf: String,
    pub sub: String,
    pub role: Role,
    pub office: String,
    #[serde(default)]
    pub unit: Option<String>,
    #[serde(default)]
    pub applicant: Option<String>,
    /// `dev` or `oidc`.
    pub via: String,
    /// Unix seconds.
    pub created_at: i64,
    pub expires_at: i64,
    /// When the bearer token expires (Unix seconds).
    pub token_expires_at: i64,
    /// The issuer's refresh token (OIDC only).
    #[serde(default)]
    pub refresh_token: Option<String>,
}

/// A session as stored: the record and, while one request refreshes its token, that request's lease
/// (Unix seconds).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Stored {
    #[serde(flatten)]
    record: SessionRecord,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refreshing_until: Option<i64>,
}

/// An OIDC login in progress, keyed by its `state`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PendingLogin {
    verifier: String,
    nonce: String,
    return_to: String,
    created_at: i64,
}

/// What a request signed in by cookie carries in its extensions.
#[derive(Debug, Clone)]
pub struct SessionContext {
    pub csrf: String,
    pub record: SessionRecord,
}

/// The session store over the session stream. Cheap to clone.
#[derive(Clone)]
pub struct Sessions {
    js: jetstream::Context,
    store: std::sync::Arc<OnceCell<jetstream::stream::Stream>>,
    ttl: Duration,
    replicas: usize,
    max_bytes: i64,
    login_ttl: i64,
    /// (Unix seconds, stream sequence) of the logins this replica started, oldest first: the purge bound.
    logins: Arc<Mutex<VecDeque<(i64, u64)>>>,
    http: reqwest::Client,
    discovery: std::sync::Arc<tokio::sync::RwLock<Option<(Discovery, i64)>>>,
}

/// The endpoints of the issuer's discovery document the login needs.
#[derive(Debug, Clone, Deserialize)]
pub struct Discovery {
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    #[serde(default)]
    pub end_session_endpoint: Option<String>,
}

fn now() -> i64 {
    // The wall clock: sessions are security, which a rehearsal clock must not fool.
    chrono::Utc::now().timestamp()
}

/// 32 random bytes, base64url.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn digest(value: &str) -> String {
    bangban_platform::objects::sha256_hex(value.as_bytes())
}

/// Equality that takes the same time wherever the inputs differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A value a session id or state may hold: 43 base64url characters.
fn well_formed(value: &str) -> bool {
    value.len() == 43 && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn store_unavailable() -> Problem {
    Problem::unavailable("会话服务暂不可用，请稍后重试", "the session store is unavailable; try again later")
}

impl Sessions {
    /// A store over `client`'s JetStream; the bucket is created on first use.
    pub fn new(client: async_nats::Client, ttl: Duration) -> Self {
        bangban_platform::runtime::install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        let web = WebSettings::default();
        Self {
            js: jetstream::new(client),
            store: Default::default(),
            ttl,
            replicas: 1,
            max_bytes: i64::try_from(web.sessions_max_bytes).unwrap_or(i64::MAX),
            login_ttl: i64::try_from(web.login_ttl_secs).unwrap_or(600),
            logins: Default::default(),
            http,
            discovery: Default::default(),
        }
    }

    /// The size limit and the login lifetime of `web` (`BANGBAN__WEB__SESSIONS_MAX_BYTES`,
    /// `BANGBAN__WEB__LOGIN_TTL_SECS`).
    pub fn with_settings(mut self, web: &WebSettings) -> Self {
        self.max_bytes = i64::try_from(web.sessions_max_bytes.max(64 * 1024)).unwrap_or(i64::MAX);
        self.login_ttl = i64::try_from(web.login_ttl_secs.max(1)).unwrap_or(600);
        self
    }

    /// How long an OIDC login in progress lasts (seconds).
    pub fn login_ttl_secs(&self) -> i64 {
        self.login_ttl
    }

    /// Creates the session stream, when it is missing, with `replicas` replicas
    /// (`BANGBAN__NATS__STREAM_REPLICAS`).
    pub fn with_stream_replicas(mut self, replicas: usize) -> Self {
        self.replicas = replicas.max(1);
        self
    }

    /// The session lifetime.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    async fn stream(&self) -> Result<&jetstream::stream::Stream, Problem> {
        self.store
            .get_or_try_init(|| async {
                // Created when missing, never changed (an operator's settings win; differences are warned about).
                let config = jetstream::stream::Config {
                    name: STREAM.into(),
                    description: Some("Bangban console sessions (会话) and OIDC logins in progress".into()),
                    subjects: vec![format!("{SUBJECT_PREFIX}.>")],
                    max_messages_per_subject: 1,
                    max_age: self.ttl,
                    max_bytes: self.max_bytes,
                    // Full: refuse new logins (503) rather than push out someone's session.
                    discard: jetstream::stream::DiscardPolicy::New,
                    storage: jetstream::stream::StorageType::File,
                    num_replicas: self.replicas,
                    ..Default::default()
                };
                crate::audit::ensure_bounded_stream(&self.js, config).await.map_err(|e| {
                    tracing::error!(error = %e, "cannot create the session stream");
                    store_unavailable()
                })
            })
            .await
    }

    /// Writes `value` under `key`; with `expected`, only if the key's last message is still that sequence
    /// (`Ok(None)` when it is not). The new message's sequence.
    async fn put_json_if<T: Serialize>(
        &self,
        key: &str,
        value: &T,
        expected: Option<u64>,
    ) -> Result<Option<u64>, Problem> {
        use jetstream::context::PublishErrorKind;
        let bytes = serde_json::to_vec(value).map_err(|_| Problem::internal())?;
        self.stream().await?;
        let failed = |e: String| {
            tracing::error!(error = %e, "cannot write a session");
            store_unavailable()
        };
        let mut headers = async_nats::HeaderMap::new();
        if let Some(seq) = expected {
            headers.insert(async_nats::header::NATS_EXPECTED_LAST_SUBJECT_SEQUENCE, seq.to_string().as_str());
        }
        let ack = self
            .js
            .publish_with_headers(format!("{SUBJECT_PREFIX}.{key}"), headers, bytes.into())
            .await
            .map_err(|e| failed(e.to_string()))?;
        match ack.await {
            Ok(ack) => Ok(Some(ack.sequence)),
            Err(e) if expected.is_some() && e.kind() == PublishErrorKind::WrongLastSequence => Ok(None),
            Err(e) => Err(failed(e.to_string())),
        }
    }

    async fn put_json<T: Serialize>(&self, key: &str, value: &T) -> Result<u64, Problem> {
        self.put_json_if(key, value, None).await?.ok_or_else(store_unavailable)
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, key: &str) -> Result<Option<T>, Problem> {
        Ok(self.get_versioned(key).await?.map(|(value, _)| value))
    }

    /// The value under `key` and its message's sequence.
    async fn get_versioned<T: serde::de::DeserializeOwned>(&self, key: &str) -> Result<Option<(T, u64)>, Problem> {
        use jetstream::stream::LastRawMessageErrorKind;
        match self.stream().await?.get_last_raw_message_by_subject(&format!("{SUBJECT_PREFIX}.{key}")).await {
            Ok(msg) if msg.payload.is_empty() => Ok(None),
            Ok(msg) => Ok(serde_json::from_slice(&msg.payload).ok().map(|v| (v, msg.sequence))),
            Err(e) if e.kind() == LastRawMessageErrorKind::NoMessageFound => Ok(None),
            Err(e) => {
                tracing::error!(error = %e, "cannot read a session");
                Err(store_unavailable())
            }
        }
    }

    async fn delete_key(&self, key: &str) -> Result<(), Problem> {
        self.stream().await?.purge().filter(format!("{SUBJECT_PREFIX}.{key}")).await.map(|_| ()).map_err(|e| {
            tracing::error!(error = %e, "cannot delete a session");
            store_unavailable()
        })
    }

    /// Stores a new session; returns the id for the cookie.
    pub async fn create(&self, record: &SessionRecord) -> Result<String, Problem> {
        let id = random_token();
        self.put_json(&format!("s.{}", digest(&id)), record).await?;
        Ok(id)
    }

    /// The live session of a cookie value, if any.
    pub async fn load(&self, id: &str) -> Result<Option<SessionRecord>, Problem> {
        Ok(self.load_stored(id).await?.map(|(s, _)| s.record))
    }

    /// The live session of a cookie value as stored, with its message's sequence.
    async fn load_stored(&self, id: &str) -> Result<Option<(Stored, u64)>, Problem> {
        if !well_formed(id) {
            return Ok(None);
        }
        let key = format!("s.{}", digest(id));
        match self.get_versioned::<Stored>(&key).await? {
            Some((s, seq)) if s.record.expires_at > now() => Ok(Some((s, seq))),
            Some(_) => {
                self.delete_key(&key).await?;
                Ok(None)
            }
            None => Ok(None),
        }
    }

    /// Writes the session if it is still at `seq`: the new sequence, or `None` when another write (a
    /// concurrent request's, a logout) came first.
    async fn save_if(&self, id: &str, stored: &Stored, seq: u64) -> Result<Option<u64>, Problem> {
        self.put_json_if(&format!("s.{}", digest(id)), stored, Some(seq)).await
    }

    /// Stores a login in progress under its `state`, after purging those older than the login lifetime.
    async fn start_login(&self, login_state: &str, pending: &PendingLogin) -> Result<(), Problem> {
        self.forget_stale_logins().await;
        let seq = self.put_json(&format!("l.{}", digest(login_state)), pending).await?;
        let mut marks = self.logins.lock().unwrap_or_else(|e| e.into_inner());
        marks.push_back((now(), seq));
        if marks.len() > MAX_LOGIN_MARKS {
            marks.pop_front();
        }
        Ok(())
    }

    /// Purges the logins in progress older than the login lifetime: every `l.` message up to the newest
    /// one this replica started before the cutoff (sequences grow with time, so that covers the other
    /// replicas' older logins too). Best effort: a failure only leaves them to the stream's `max_age`.
    async fn forget_stale_logins(&self) {
        let cutoff = now() - self.login_ttl;
        let upto = {
            let mut marks = self.logins.lock().unwrap_or_else(|e| e.into_inner());
            let mut upto = None;
            while marks.front().is_some_and(|(at, _)| *at <= cutoff) {
                upto = marks.pop_front().map(|(_, seq)| seq);
            }
            upto
        };
        let Some(seq) = upto else { return };
        let Ok(stream) = self.stream().await else { return };
        match stream.purge().filter(format!("{SUBJECT_PREFIX}.l.>")).sequence(seq + 1).await {
            Ok(r) if r.purged > 0 => tracing::info!(purged = r.purged, "forgot unfinished logins"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot purge unfinished logins"),
        }
    }

    /// Ends a session.
    pub async fn delete(&self, id: &str) -> Result<(), Problem> {
        if !well_formed(id) {
            return Ok(());
        }
        self.delete_key(&format!("s.{}", digest(id))).await
    }

    /// The issuer's discovery document, fetched at most every 10 minutes.
    pub async fn discovery(&self, issuer: &str) -> Result<Discovery, Problem> {
        if let Some((d, at)) = self.discovery.read().await.as_ref()
            && now() - at < 600
        {
            return Ok(d.clone());
        }
        let url = format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'));
        let unavailable = || {
            Problem::unavailable(
                "身份认证服务暂不可用，请稍后重试",
                "the identity provider cannot be reached; try again later",
            )
        };
        let d: Discovery = self
            .http
            .get(&url)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| {
                tracing::warn!(error = %e, "cannot fetch the OIDC discovery document");
                unavailable()
            })?
            .json()
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "the OIDC discovery document is not understood");
                unavailable()
            })?;
        *self.discovery.write().await = Some((d.clone(), now()));
        Ok(d)
    }
}

// ---------------------------------------------------------------------------------------------
// Cookies
// ---------------------------------------------------------------------------------------------

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"'))
}

/// A `Set-Cookie` value: `HttpOnly; SameSite=Lax; Path=/`, no `Domain` (host-only, as `__Host-` requires),
/// `Secure` when `secure`.
fn set_cookie(name: &str, value: &str, max_age: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"))
        .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The longest return path kept for after the login (it is stored with the login in progress).
pub const RETURN_LIMIT: usize = 512;

/// A local path to go back to after login: starts with one `/`, no scheme, no backslash, at most
/// [`RETURN_LIMIT`] bytes.
pub fn safe_return(value: Option<&str>) -> String {
    match value {
        // Browsers drop tabs and line breaks from URLs (`/\t/evil.example` becomes `//evil.example`), so no
        // control character or whitespace at all is accepted.
        Some(v)
            if v.len() <= RETURN_LIMIT
                && v.starts_with('/')
                && !v.starts_with("//")
                && !v.contains('\\')
                && !v.chars().any(|c| c.is_control() || c.is_whitespace()) =>
        {
            v.to_string()
        }
        _ => "/console".into(),
    }
}

// ---------------------------------------------------------------------------------------------
// The middleware
// ---------------------------------------------------------------------------------------------

fn csrf_refused() -> Problem {
    Problem::new(StatusCode::FORBIDDEN, "csrf", "请求被拒绝：缺少有效的防跨站令牌", "Refused: no valid CSRF token")
        .with_detail(
            "通过浏览器会话提交的修改须携带本会话的防跨站令牌（X-CSRF-Token 请求头或表单字段 _csrf），且来自本站页面；请刷新页面后重试",
            "a change sent with a browser session must carry the session's CSRF token (the X-CSRF-Token header or the _csrf form field) and come from this site's pages; reload the page and try again",
        )
}

/// Whether the request's `Origin`, when sent, is this site.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let authority = origin.split_once("://").map(|(_, rest)| rest).unwrap_or("");
    authority.eq_ignore_ascii_case(host)
}

fn is_write(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn is_form(headers: &HeaderMap) -> bool {
    headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|ct| {
        ct.split(';').next().unwrap_or_default().trim().eq_ignore_ascii_case("application/x-www-form-urlencoded")
    })
}

/// Turns a session cookie into the bearer token of its session, after the CSRF check of a write.
pub async fn session_auth(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if req.headers().contains_key(header::AUTHORIZATION) {
        return next.run(req).await;
    }
    let Some(id) = cookie(req.headers(), session_cookie(&state)).map(str::to_owned) else {
        return next.run(req).await;
    };
    let instance = crate::audit::truncate_path(req.uri().path()).0;
    let (stored, seq) = match state.sessions.load_stored(&id).await {
        Ok(Some(found)) => found,
        Ok(None) => return next.run(req).await,
        Err(p) => return p.with_instance(instance).into_response(),
    };
    let mut record = stored.record.clone();
    let (mut parts, body) = req.into_parts();
    let mut body = body;
    if is_write(&parts.method) {
        if !same_origin(&parts.headers) {
            tracing::warn!(path = %instance, "cross-site write refused");
            crate::audit::record_csrf_refusal(&state, &parts, &record).await;
            return csrf_refused().with_instance(instance).into_response();
        }
        let header_token = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let presented = match header_token {
            Some(t) => Some(t),
            None if is_form(&parts.headers) => {
                let limit = parts.extensions.get::<crate::extract::BodyLimit>().map(|l| l.0).unwrap_or(256 * 1024);
                let bytes = match axum::body::to_bytes(body, limit).await {
                    Ok(b) => b,
                    Err(_) => return Problem::payload_too_large(limit).with_instance(instance).into_response(),
                };
                let token = form_urlencoded::parse(&bytes).find(|(k, _)| k == CSRF_FIELD).map(|(_, v)| v.into_owned());
                body = Body::from(bytes);
                token
            }
            None => None,
        };
        if !presented.is_some_and(|t| constant_time_eq(t.as_bytes(), record.csrf.as_bytes())) {
            tracing::warn!(path = %instance, "write without the session's CSRF token refused");
            crate::audit::record_csrf_refusal(&state, &parts, &record).await;
            return csrf_refused().with_instance(instance).into_response();
        }
    }
    if needs_refresh(&record) {
        match refreshed(&state, &id, stored, seq).await {
            Ok(Some(r)) => record = r,
            Ok(None) => return next.run(Request::from_parts(parts, body)).await,
            Err(p) => return p.with_instance(instance).into_response(),
        }
    }
    if let Ok(v) = HeaderValue::from_str(&format!("Bearer {}", record.token)) {
        parts.headers.insert(header::AUTHORIZATION, v);
    }
    parts.extensions.insert(SessionContext { csrf: record.csrf.clone(), record });
    next.run(Request::from_parts(parts, body)).await
}

fn needs_refresh(record: &SessionRecord) -> bool {
    record.refresh_token.is_some() && record.token_expires_at - REFRESH_MARGIN_SECS <= now()
}

/// The session with a fresh token, refreshed by exactly one request at a time; `None` when the session
/// ended (the refresh was refused, or it was logged out meanwhile).
///
/// The first request takes a lease by writing the session with `Nats-Expected-Last-Subject-Sequence` =
/// the sequence it read: of two concurrent requests only one succeeds. The holder redeems the refresh
/// token and stores the result (again only if nothing was written since its lease). The others go on with
/// the current token while it is still valid, else wait for the holder's result; a lease older than
/// [`LEASE_SECS`] (its holder died) can be taken over.
async fn refreshed(
    state: &AppState,
    id: &str,
    mut stored: Stored,
    mut seq: u64,
) -> Result<Option<SessionRecord>, Problem> {
    let deadline = Instant::now() + REFRESH_WAIT;
    loop {
        if !needs_refresh(&stored.record) {
            return Ok(Some(stored.record));
        }
        let leased = stored.refreshing_until.is_some_and(|until| until > now());
        if !leased {
            let lease = Stored { record: stored.record.clone(), refreshing_until: Some(now() + LEASE_SECS) };
            if let Some(lease_seq) = state.sessions.save_if(id, &lease, seq).await? {
                return match refresh(state, &stored.record).await {
                    Ok(record) => {
                        let fresh = Stored { record: record.clone(), refreshing_until: None };
                        match state.sessions.save_if(id, &fresh, lease_seq).await? {
                            Some(_) => Ok(Some(record)),
                            None => Ok(None),
                        }
                    }
                    Err(e) => {
                        tracing::info!(error = %e, "the session's token could not be refreshed; the session ends");
                        let _ = state.sessions.delete(id).await;
                        Ok(None)
                    }
                };
            }
        } else if stored.record.token_expires_at > now() {
            // Another request is refreshing; this one's token is still good.
            return Ok(Some(stored.record));
        }
        if Instant::now() >= deadline {
            return Err(store_unavailable());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        match state.sessions.load_stored(id).await? {
            Some((s, q)) => (stored, seq) = (s, q),
            None => return Ok(None),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Login and logout
// ---------------------------------------------------------------------------------------------

/// The routes of login, logout and the session; only the session's read is part of the API document.
pub fn router() -> utoipa_axum::router::OpenApiRouter<AppState> {
    let login = Router::new()
        .route("/auth/dev-login", post(dev_login))
        .route("/auth/oidc/start", get(oidc_start))
        .route("/auth/callback", get(oidc_callback))
        .route("/auth/logout", post(logout));
    utoipa_axum::router::OpenApiRouter::from(login).routes(utoipa_axum::routes!(current_session))
}

/// The form of a development login: a demo identity.
#[derive(Debug, Deserialize)]
pub struct DevLogin {
    pub sub: String,
    pub role: String,
    pub office: String,
    #[serde(default)]
    pub unit: Option<String>,
    #[serde(default)]
    pub applicant: Option<String>,
    #[serde(default, rename = "return")]
    pub return_to: Option<String>,
}

fn empty_none(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

fn login_cookie_response(state: &AppState, id: &str, to: &str) -> Response {
    let mut res = Redirect::to(to).into_response();
    let max_age = i64::try_from(state.sessions.ttl().as_secs()).unwrap_or(i64::MAX);
    res.headers_mut()
        .append(header::SET_COOKIE, set_cookie(session_cookie(state), id, max_age, state.web.secure_cookies));
    res
}

/// Development login: signs in as the chosen demo identity (404 outside development mode).
async fn dev_login(State(state): State<AppState>, headers: HeaderMap, Form(form): Form<DevLogin>) -> Response {
    if state.auth.mode() != AuthMode::Development {
        return Problem::not_found("生产环境不提供演示登录", "demo login exists in development mode only")
            .into_response();
    }
    if !same_origin(&headers) {
        return csrf_refused().with_instance("/auth/dev-login").into_response();
    }
    let role: Role = match form.role.parse() {
        Ok(r) => r,
        Err(e) => {
            return Problem::invalid_field("role", format!("未知的角色 {:?}", form.role), e.to_string())
                .into_response();
        }
    };
    let ttl = state.sessions.ttl();
    let (unit, applicant) = (empty_none(form.unit), empty_none(form.applicant));
    let token = match state.auth.issue(form.sub.trim(), role, form.office.trim(), unit.clone(), applicant.clone(), ttl)
    {
        Ok(t) => t,
        Err(e) => return Problem::from(e).with_instance("/auth/dev-login").into_response(),
    };
    let now = now();
    let expires_at = now + i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2);
    let record = SessionRecord {
        token,
        csrf: random_token(),
        sub: form.sub.trim().to_string(),
        role,
        office: form.office.trim().to_string(),
        unit,
        applicant,
        via: "dev".into(),
        created_at: now,
        expires_at,
        token_expires_at: expires_at,
        refresh_token: None,
    };
    match state.sessions.create(&record).await {
        Ok(id) => {
            tracing::info!(role = role.as_str(), office = %record.office, "development login");
            login_cookie_response(&state, &id, &safe_return(form.return_to.as_deref()))
        }
        Err(p) => p.into_response(),
    }
}

/// Query of `/auth/oidc/start`.
#[derive(Debug, Deserialize)]
struct StartQuery {
    #[serde(default, rename = "return")]
    return_to: Option<String>,
}

fn oidc_client(state: &AppState) -> Result<String, Problem> {
    if state.auth.mode() != AuthMode::Oidc {
        return Err(Problem::not_found("未配置统一身份认证登录", "OIDC login is not configured"));
    }
    state.web.oidc_client_id.clone().filter(|c| !c.trim().is_empty()).ok_or_else(|| {
        Problem::not_found("未配置统一身份认证登录", "OIDC login is not configured (web.oidc_client_id)")
    })
}

fn redirect_uri(state: &AppState) -> String {
    state.web.oidc_redirect_url.clone().unwrap_or_else(|| {
        let base =
            state.settings.http.public_url.clone().unwrap_or_else(|| format!("http://{}", state.settings.http.listen));
        format!("{}/auth/callback", base.trim_end_matches('/'))
    })
}

/// Starts the OIDC authorization-code flow with PKCE: redirects to the issuer.
async fn oidc_start(State(state): State<AppState>, Query(q): Query<StartQuery>) -> Response {
    let client_id = match oidc_client(&state) {
        Ok(c) => c,
        Err(p) => return p.into_response(),
    };
    let discovery = match state.sessions.discovery(state.auth.issuer()).await {
        Ok(d) => d,
        Err(p) => return p.into_response(),
    };
    let (login_state, verifier, nonce) = (random_token(), random_token(), random_token());
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let pending = PendingLogin {
        verifier,
        nonce: nonce.clone(),
        return_to: safe_return(q.return_to.as_deref()),
        created_at: now(),
    };
    if let Err(p) = state.sessions.start_login(&login_state, &pending).await {
        return p.into_response();
    }
    let mut scopes: Vec<&str> = state.web.oidc_scopes.split_whitespace().collect();
    if !scopes.contains(&"openid") {
        scopes.insert(0, "openid");
    }
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", &client_id)
        .append_pair("redirect_uri", &redirect_uri(&state))
        .append_pair("scope", &scopes.join(" "))
        .append_pair("state", &login_state)
        .append_pair("nonce", &nonce)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256")
        .finish();
    let sep = if discovery.authorization_endpoint.contains('?') { '&' } else { '?' };
    let mut res = Redirect::to(&format!("{}{sep}{query}", discovery.authorization_endpoint)).into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(login_cookie(&state), &login_state, state.sessions.login_ttl_secs(), state.web.secure_cookies),
    );
    res
}

/// Query of `/auth/callback`.
#[derive(Debug, Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// The token endpoint's answer.
#[derive(Debug, Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    id_token: Option<String>,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    expires_in: Option<i64>,
}

fn login_failed(zh: &str, en: &str) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, "login-failed", "登录失败", "Login failed").with_detail(zh, en)
}

/// The claims of a JWT's payload, read without checking the signature (for a token already verified, or
/// received directly from the issuer over TLS).
pub(crate) fn jwt_claims(token: &str) -> Option<serde_json::Value> {
    let payload = token.split('.').nth(1)?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?).ok()
}

async fn token_request(state: &AppState, form: &[(&str, &str)]) -> Result<TokenAnswer, String> {
    let discovery = state.sessions.discovery(state.auth.issuer()).await.map_err(|p| format!("{p:?}"))?;
    let mut form: Vec<(&str, &str)> = form.to_vec();
    let secret = state.web.oidc_client_secret.as_ref().map(|s| s.expose_secret().to_string());
    if let Some(secret) = &secret {
        form.push(("client_secret", secret));
    }
    let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(form.iter()).finish();
    let res = state
        .sessions
        .http
        .post(&discovery.token_endpoint)
        .header(header::ACCEPT, "application/json")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .map_err(|e| format!("token endpoint unreachable: {e}"))?;
    let status = res.status();
    if !status.is_success() {
        let body = res.text().await.unwrap_or_default();
        return Err(format!("token endpoint answered {status}: {}", body.chars().take(200).collect::<String>()));
    }
    res.json::<TokenAnswer>().await.map_err(|e| format!("token answer not understood: {e}"))
}

/// When `token` expires: its `exp`, else `expires_in` from now, else an hour.
fn token_expiry(token: &str, expires_in: Option<i64>) -> i64 {
    jwt_claims(token)
        .and_then(|c| c.get("exp").and_then(serde_json::Value::as_i64))
        .or_else(|| expires_in.map(|s| now() + s))
        .unwrap_or_else(|| now() + 3600)
}

/// Finishes the OIDC flow: checks `state` against this browser's login cookie, redeems the code with the
/// PKCE verifier, checks the ID token's `nonce` and verifies the access token like any bearer token.
async fn oidc_callback(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<CallbackQuery>) -> Response {
    let client_id = match oidc_client(&state) {
        Ok(c) => c,
        Err(p) => return p.into_response(),
    };
    if let Some(error) = q.error {
        return login_failed(
            &format!("身份认证服务拒绝了登录（{error}）"),
            &format!("the identity provider refused ({error})"),
        )
        .into_response();
    }
    let (Some(code), Some(login_state)) = (q.code, q.state) else {
        return login_failed("回调缺少 code 或 state", "the callback lacks code or state").into_response();
    };
    let bound =
        cookie(&headers, login_cookie(&state)).is_some_and(|c| constant_time_eq(c.as_bytes(), login_state.as_bytes()));
    if !bound || !well_formed(&login_state) {
        return login_failed(
            "登录状态不匹配，请重新登录",
            "the login state does not match this browser; sign in again",
        )
        .into_response();
    }
    let key = format!("l.{}", digest(&login_state));
    let pending = match state.sessions.get_json::<PendingLogin>(&key).await {
        Ok(Some(p)) if now() - p.created_at <= state.sessions.login_ttl_secs() => p,
        Ok(_) => return login_failed("登录已过期，请重新登录", "the login expired; sign in again").into_response(),
        Err(p) => return p.into_response(),
    };
    // One use only.
    if let Err(p) = state.sessions.delete_key(&key).await {
        return p.into_response();
    }
    let redirect = redirect_uri(&state);
    let answer = match token_request(
        &state,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &redirect),
            ("client_id", &client_id),
            ("code_verifier", &pending.verifier),
        ],
    )
    .await
    {
        Ok(a) => a,
        Err(e) => {
            tracing::warn!(error = %e, "OIDC code redemption failed");
            return login_failed(
                "无法兑换授权码，请重新登录",
                "the authorization code could not be redeemed; sign in again",
            )
            .into_response();
        }
    };
    if let Some(id_token) = &answer.id_token {
        // Received directly from the token endpoint over TLS (OIDC Core §3.1.3.7): the nonce binds it to this login.
        let claims = jwt_claims(id_token).unwrap_or_default();
        let nonce_ok = claims
            .get("nonce")
            .and_then(serde_json::Value::as_str)
            .is_some_and(|n| constant_time_eq(n.as_bytes(), pending.nonce.as_bytes()));
        if !nonce_ok {
            return login_failed("身份令牌的 nonce 不匹配", "the ID token's nonce does not match").into_response();
        }
        // Issued by our issuer for this client (another client's ID token must not sign in here).
        if !state.auth.id_token_is_for(&claims, &client_id) {
            return login_failed("身份令牌不是签发给本系统的", "the ID token was not issued for this client")
                .into_response();
        }
    }
    let principal: Principal = match state.auth.verify(&answer.access_token).await {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(error = %e, "the issuer's access token was refused");
            return Problem::from(e).into_response();
        }
    };
    let now = now();
    let record = SessionRecord {
        token_expires_at: token_expiry(&answer.access_token, answer.expires_in),
        token: answer.access_token,
        csrf: random_token(),
        sub: principal.sub.clone(),
        role: principal.role,
        office: principal.office.clone(),
        unit: principal.unit.clone(),
        applicant: principal.applicant.clone(),
        via: "oidc".into(),
        created_at: now,
        expires_at: now + i64::try_from(state.sessions.ttl().as_secs()).unwrap_or(i64::MAX / 2),
        refresh_token: answer.refresh_token,
    };
    match state.sessions.create(&record).await {
        Ok(id) => {
            tracing::info!(role = principal.role.as_str(), office = %principal.office, "OIDC login");
            let mut res = login_cookie_response(&state, &id, &pending.return_to);
            res.headers_mut()
                .append(header::SET_COOKIE, set_cookie(login_cookie(&state), "", 0, state.web.secure_cookies));
            res
        }
        Err(p) => p.into_response(),
    }
}

async fn refresh(state: &AppState, record: &SessionRecord) -> Result<SessionRecord, String> {
    let client_id = oidc_client(state).map_err(|p| format!("{p:?}"))?;
    let refresh_token = record.refresh_token.clone().ok_or("no refresh token")?;
    let answer = token_request(
        state,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh_token), ("client_id", &client_id)],
    )
    .await?;
    let principal = state.auth.verify(&answer.access_token).await.map_err(|e| e.to_string())?;
    if principal.sub != record.sub {
        return Err("the refreshed token names someone else".into());
    }
    Ok(SessionRecord {
        token_expires_at: token_expiry(&answer.access_token, answer.expires_in),
        token: answer.access_token,
        role: principal.role,
        office: principal.office,
        unit: principal.unit,
        applicant: principal.applicant,
        refresh_token: answer.refresh_token.or(Some(refresh_token)),
        ..record.clone()
    })
}

/// Ends the session and goes to the login page. A session is ended only by a request that passed the
/// session's CSRF check in [`session_auth`].
async fn logout(State(state): State<AppState>, headers: HeaderMap, ext: Option<Extension<SessionContext>>) -> Response {
    if ext.is_some()
        && let Some(id) = cookie(&headers, session_cookie(&state))
        && let Err(p) = state.sessions.delete(id).await
    {
        return p.into_response();
    }
    let mut res = Redirect::to("/login").into_response();
    res.headers_mut().append(header::SET_COOKIE, set_cookie(session_cookie(&state), "", 0, state.web.secure_cookies));
    res
}

/// Who the session names and its CSRF token (for scripts of the console).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionView {
    pub sub: String,
    pub role: String,
    pub office: String,
    pub unit: Option<String>,
    pub applicant: Option<String>,
    /// `dev`, `oidc`, or `bearer` for a request with its own token.
    pub via: String,
    /// Unix seconds; absent for a bearer token.
    pub expires_at: Option<i64>,
    /// The token every write of this session must carry (`X-CSRF-Token`).
    pub csrf_token: Option<String>,
}

/// The current session (当前会话).
#[utoipa::path(
    get, path = "/api/v1/session", tag = "session",
    responses(
        (status = 200, description = "当前会话 / the current session", body = SessionView),
        (status = 401, description = "未登录 / not signed in", body = Problem),
    ),
)]
pub async fn current_session(principal: Principal, ext: Option<Extension<SessionContext>>) -> Json<SessionView> {
    let session = ext.as_ref().map(|e| &e.0);
    Json(SessionView {
        sub: principal.sub,
        role: principal.role.as_str().to_string(),
        office: principal.office,
        unit: principal.unit,
        applicant: principal.applicant,
        via: session.map(|s| s.record.via.clone()).unwrap_or_else(|| "bearer".into()),
        expires_at: session.map(|s| s.record.expires_at),
        csrf_token: session.map(|s| s.csrf.clone()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("a=1; bb_session=abc; c=3"));
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&h, "bb"), None);
    }

    #[test]
    fn only_local_paths_are_returned_to() {
        assert_eq!(safe_return(Some("/console/cases")), "/console/cases");
        // A long one is not kept with the login in progress (64 KiB each would fill the session store).
        let long = format!("/console/{}", "a".repeat(RETURN_LIMIT));
        assert_eq!(safe_return(Some(&long)), "/console");
        let fits = format!("/{}", "a".repeat(RETURN_LIMIT - 1));
        assert_eq!(safe_return(Some(&fits)), fits);
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/\\evil",
            "javascript:alert(1)",
            "",
            "/\t/evil.example",
            "/\n/evil.example",
            "/ /evil.example",
            "/\u{7f}/evil.example",
        ] {
            assert_eq!(safe_return(Some(bad)), "/console", "{bad}");
        }
        assert_eq!(safe_return(None), "/console");
    }

    #[test]
    fn origin_must_be_this_host() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert!(same_origin(&h), "no Origin: not a cross-site browser request");
        h.insert(header::ORIGIN, HeaderValue::from_static("http://127.0.0.1:8080"));
        assert!(same_origin(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("http://evil.example"));
        assert!(!same_origin(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(!same_origin(&h));
    }

    #[test]
    fn tokens_are_random_and_well_formed() {
        let (a, b) = (random_token(), random_token());
        assert_ne!(a, b);
        assert!(well_formed(&a) && well_formed(&b));
        assert!(!well_formed("short") && !well_formed(&format!("{}!", &a[..42])));
        assert!(constant_time_eq(a.as_bytes(), a.as_bytes()) && !constant_time_eq(a.as_bytes(), b.as_bytes()));
    }
}
