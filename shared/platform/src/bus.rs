//! The NATS bus (消息总线): logging in (登录) in every form the server configuration uses, connecting with
//! retry, and the JetStream streams every service relies on.
//!
//! A service logs in with exactly one of
//!
//! - a user and password (`BANGBAN__NATS__USER`, `BANGBAN__NATS__PASSWORD`),
//! - an NKey seed (`BANGBAN__NATS__NKEY_SEED`, or a file holding it: `BANGBAN__NATS__NKEY_SEED_FILE`),
//! - a `.creds` file of operator mode (`BANGBAN__NATS__CREDS_FILE`: the user's JWT and NKey seed),
//! - credentials in the URL (`nats://user:password@host:4222`, percent-encoded; `nats://token@host` for a
//!   token), used only when none of the above is set,
//!
//! or anonymously. async-nats 0.51 itself ignores credentials in a URL (it never puts the URL's user and
//! password into `CONNECT`), so they are taken out of the URL here and handed to it as options. A refused
//! login fails at once, naming the user (never the secret); only an unreachable server is retried.
//!
//! Streams are created when missing, with [`NatsSettings::stream_replicas`] replicas, and never changed
//! afterwards: an operator's settings win, and each difference from what the service would create is
//! logged as a warning ([`ensure_stream`]).

use std::{path::Path, time::Duration};

use async_nats::{
    Client, ConnectErrorKind, ConnectOptions, ServerAddr,
    jetstream::{
        self,
        context::{CreateStreamErrorKind, GetStreamErrorKind},
        stream::{Config as StreamConfig, DiscardPolicy, RetentionPolicy, StorageType, Stream},
    },
};
use bangban_contracts::subjects::{DLQ_STREAM, DLQ_SUBJECTS, EVENTS_STREAM, EVENTS_SUBJECTS};
use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};

use crate::config::NatsSettings;

/// Why the bus could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("could not reach NATS at {url} within {deadline:?}: {last}")]
    Unreachable { url: String, deadline: Duration, last: String },
    /// The login settings are unusable (two forms at once, a missing password, an unreadable file, …).
    #[error("NATS credentials: {0}")]
    Credentials(String),
    /// The server refused the login: wrong password, unknown user, a seed or JWT it does not accept.
    #[error(
        "NATS at {url} refused the login of {login}: {reason}; check this service's NATS credentials \
         (a refused login is not retried)"
    )]
    Refused { url: String, login: String, reason: String },
    #[error("JetStream stream {stream}: {reason}")]
    Stream { stream: String, reason: String },
}

/// The de-duplication window of the events stream: a relay that publishes a row again within it is
/// ignored by the broker; past it, the consumers' inboxes catch the repeat.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);

const URL_VAR: &str = "BANGBAN__NATS__URL";
const USER_VARS: &str = "BANGBAN__NATS__USER/BANGBAN__NATS__PASSWORD";
const NKEY_SEED_VAR: &str = "BANGBAN__NATS__NKEY_SEED";
const NKEY_SEED_FILE_VAR: &str = "BANGBAN__NATS__NKEY_SEED_FILE";
const CREDS_FILE_VAR: &str = "BANGBAN__NATS__CREDS_FILE";

// ---------------------------------------------------------------------------------------------------
// Logging in
// ---------------------------------------------------------------------------------------------------

/// How a service logs in to NATS (登录方式), resolved once from [`NatsSettings`].
struct Login {
    method: Method,
    /// Who logs in, for logs and errors: the user's name and where the credentials come from, never a secret.
    who: String,
}

enum Method {
    Anonymous,
    UserPassword {
        user: String,
        password: SecretString,
    },
    Token(SecretString),
    NKey(SecretString),
    /// The contents of a `.creds` file (a user JWT and its NKey seed).
    Creds(SecretString),
}

/// Credentials found in the URL.
enum UrlAuth {
    UserPassword { user: String, password: SecretString },
    Token(SecretString),
}

impl UrlAuth {
    fn same_as(&self, other: &UrlAuth) -> bool {
        match (self, other) {
            (Self::UserPassword { user: a, password: p }, Self::UserPassword { user: b, password: q }) => {
                a == b && p.expose_secret() == q.expose_secret()
            }
            (Self::Token(a), Self::Token(b)) => a.expose_secret() == b.expose_secret(),
            _ => false,
        }
    }
}

/// A setting that is present and not blank (an empty environment variable counts as unset).
fn present_str(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn present_secret(value: &Option<SecretString>) -> Option<&SecretString> {
    value.as_ref().filter(|v| !v.expose_secret().trim().is_empty())
}

fn present_path(value: &Option<std::path::PathBuf>) -> Option<&Path> {
    value.as_deref().filter(|p| !p.as_os_str().is_empty())
}

impl Login {
    /// The login the settings describe, and the server URLs without their credentials.
    async fn resolve(settings: &NatsSettings) -> Result<(Vec<String>, Login), BusError> {
        let (servers, url_auth) = split_url_credentials(&settings.url)?;
        let user = present_str(&settings.user);
        let password = present_secret(&settings.password);
        let seed = present_secret(&settings.nkey_seed);
        let seed_file = present_path(&settings.nkey_seed_file);
        let creds_file = present_path(&settings.creds_file);

        let mut forms = Vec::new();
        if user.is_some() || password.is_some() {
            forms.push(USER_VARS);
        }
        if seed.is_some() {
            forms.push(NKEY_SEED_VAR);
        }
        if seed_file.is_some() {
            forms.push(NKEY_SEED_FILE_VAR);
        }
        if creds_file.is_some() {
            forms.push(CREDS_FILE_VAR);
        }
        if forms.len() > 1 {
            return Err(BusError::Credentials(format!(
                "more than one way to log in to NATS is configured ({}); set exactly one",
                forms.join(", ")
            )));
        }
        if let (Some(form), Some(_)) = (forms.first(), &url_auth) {
            tracing::warn!("{URL_VAR} carries credentials too; they are ignored, {form} is used");
        }

        let login = if user.is_some() || password.is_some() {
            let (Some(user), Some(password)) = (user, password) else {
                return Err(BusError::Credentials(
                    "BANGBAN__NATS__USER and BANGBAN__NATS__PASSWORD must be set together".into(),
                ));
            };
            Login {
                who: format!("user \"{user}\" (from {USER_VARS})"),
                method: Method::UserPassword { user: user.to_string(), password: password.clone() },
            }
        } else if let Some(seed) = seed {
            let seed = checked_seed(seed.expose_secret(), NKEY_SEED_VAR)?;
            Login { who: format!("the NKey user whose seed is in {NKEY_SEED_VAR}"), method: Method::NKey(seed) }
        } else if let Some(path) = seed_file {
            let text = tokio::fs::read_to_string(path).await.map_err(|e| {
                BusError::Credentials(format!("{NKEY_SEED_FILE_VAR} ({}) cannot be read: {e}", path.display()))
            })?;
            let source = format!("{NKEY_SEED_FILE_VAR} ({})", path.display());
            let seed = checked_seed(&text, &source)?;
            Login { who: format!("the NKey user whose seed is in {source}"), method: Method::NKey(seed) }
        } else if let Some(path) = creds_file {
            let text = tokio::fs::read_to_string(path).await.map_err(|e| {
                BusError::Credentials(format!("{CREDS_FILE_VAR} ({}) cannot be read: {e}", path.display()))
            })?;
            let source = format!("{CREDS_FILE_VAR} ({})", path.display());
            // Parse once here, so a malformed file is reported as such and not as a refused login.
            ConnectOptions::new()
                .credentials(&text)
                .map_err(|e| BusError::Credentials(format!("{source} is not a usable .creds file: {e}")))?;
            let who = match creds_user(&text) {
                Some((Some(name), key)) => format!("user \"{name}\" ({key}) from {source}"),
                Some((None, key)) => format!("user {key} from {source}"),
                None => format!("the user of {source}"),
            };
            Login { who, method: Method::Creds(SecretString::from(text)) }
        } else {
            match url_auth {
                Some(UrlAuth::UserPassword { user, password }) => Login {
                    who: format!("user \"{user}\" (from {URL_VAR})"),
                    method: Method::UserPassword { user, password },
                },
                Some(UrlAuth::Token(token)) => {
                    Login { who: format!("a token (from {URL_VAR})"), method: Method::Token(token) }
                }
                None => Login {
                    who: format!(
                        "an anonymous client (none of {USER_VARS}, {NKEY_SEED_VAR}, {NKEY_SEED_FILE_VAR}, \
                         {CREDS_FILE_VAR} is set and {URL_VAR} carries no credentials)"
                    ),
                    method: Method::Anonymous,
                },
            }
        };
        Ok((servers, login))
    }

    /// `opts` with this login.
    fn apply(&self, opts: ConnectOptions) -> Result<ConnectOptions, BusError> {
        Ok(match &self.method {
            Method::Anonymous => opts,
            Method::UserPassword { user, password } => {
                opts.user_and_password(user.clone(), password.expose_secret().to_string())
            }
            Method::Token(token) => opts.token(token.expose_secret().to_string()),
            Method::NKey(seed) => opts.nkey(seed.expose_secret().to_string()),
            Method::Creds(text) => opts
                .credentials(text.expose_secret())
                .map_err(|e| BusError::Credentials(format!("the .creds file of {}: {e}", self.who)))?,
        })
    }
}

/// A user NKey seed (`SU…`, 58 base32 characters), surrounding whitespace removed. The message names `source`,
/// never the seed.
fn checked_seed(text: &str, source: &str) -> Result<SecretString, BusError> {
    let seed = text.trim();
    let well_formed = seed.len() == 58
        && seed.starts_with("SU")
        && seed.bytes().all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b));
    if !well_formed {
        return Err(BusError::Credentials(format!(
            "{source} does not hold a user NKey seed (58 characters starting with SU, as `nsc` or `nk -gen user` \
             print it)"
        )));
    }
    Ok(SecretString::from(seed.to_string()))
}

/// The user's name and public key from the JWT of a `.creds` file (for messages; the server checks the JWT).
fn creds_user(text: &str) -> Option<(Option<String>, String)> {
    let mut lines = text.lines().map(str::trim);
    lines.find(|l| l.contains("BEGIN NATS USER JWT"))?;
    let jwt = lines.find(|l| !l.is_empty())?;
    let claims = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(claims.trim_end_matches('=')).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let key = claims.get("sub")?.as_str()?.to_string();
    let name = claims.get("name").and_then(|n| n.as_str()).filter(|n| !n.is_empty()).map(str::to_string);
    Some((name, key))
}

/// The server URLs of `url` (comma-separated) without their userinfo, each checked, and the credentials they
/// carried, percent-decoded (`user:password` → user and password, a lone `token` → a token).
fn split_url_credentials(url: &str) -> Result<(Vec<String>, Option<UrlAuth>), BusError> {
    let invalid = |reason: String| BusError::Credentials(format!("{URL_VAR} ({}): {reason}", redact_url(url)));
    let mut servers = Vec::new();
    let mut found: Option<UrlAuth> = None;
    for one in url.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (scheme, rest) = match one.split_once("://") {
            Some((s, r)) => (Some(s), r),
            None => (None, one),
        };
        let (auth, host) = match rest.rsplit_once('@') {
            Some((userinfo, host)) => {
                let auth = match userinfo.split_once(':') {
                    Some((user, password)) => {
                        let user = percent_decode(user)
                            .map_err(|_| invalid("the user is not valid percent-encoding".into()))?;
                        let password = percent_decode(password)
                            .map_err(|_| invalid("the password is not valid percent-encoding".into()))?;
                        if user.is_empty() {
                            return Err(invalid("a password without a user".into()));
                        }
                        UrlAuth::UserPassword { user, password: SecretString::from(password) }
                    }
                    None => UrlAuth::Token(SecretString::from(
                        percent_decode(userinfo)
                            .map_err(|_| invalid("the token is not valid percent-encoding".into()))?,
                    )),
                };
                (Some(auth), host)
            }
            None => (None, rest),
        };
        let server = match scheme {
            Some(s) => format!("{s}://{host}"),
            None => host.to_string(),
        };
        server.parse::<ServerAddr>().map_err(|e| invalid(e.to_string()))?;
        servers.push(server);
        if let Some(auth) = auth {
            match &found {
                Some(previous) if !previous.same_as(&auth) => {
                    return Err(invalid(format!(
                        "the servers carry different credentials; give them once with {USER_VARS}"
                    )));
                }
                Some(_) => {}
                None => found = Some(auth),
            }
        }
    }
    if servers.is_empty() {
        return Err(BusError::Credentials(format!("{URL_VAR} names no server")));
    }
    Ok((servers, found))
}

/// `%XX` sequences decoded; the result must be UTF-8.
fn percent_decode(text: &str) -> Result<String, ()> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or(())?;
            let hex = std::str::from_utf8(hex).map_err(|_| ())?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| ())?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| ())
}

/// A failure the server or the client's signing reported about the credentials: retrying cannot help.
fn is_login_refused(error: &async_nats::ConnectError) -> bool {
    if matches!(error.kind(), ConnectErrorKind::AuthorizationViolation | ConnectErrorKind::Authentication) {
        return true;
    }
    is_refusal_text(&error.to_string())
}

fn is_refusal_text(text: &str) -> bool {
    let text = text.to_lowercase();
    text.contains("authorization violation") || text.contains("authentication")
}

/// Connects to NATS with the login the settings describe (see the module documentation), retrying an
/// unreachable server with exponential backoff (capped at 5 s) until `connect_deadline`. A refused login
/// fails at once ([`BusError::Refused`]), as do unusable settings ([`BusError::Credentials`]). Once connected
/// the client reconnects on its own, forever.
pub async fn connect(settings: &NatsSettings, name: &str) -> Result<Client, BusError> {
    let (servers, login) = Login::resolve(settings).await?;
    let shown = servers.join(",");
    tracing::info!(servers = %shown, login = %login.who, "connecting to NATS");
    let started = std::time::Instant::now();
    let mut delay = Duration::from_millis(100);
    loop {
        let opts = ConnectOptions::new()
            .name(name)
            .connection_timeout(Duration::from_secs(3))
            .max_reconnects(None)
            // async-nats waits this long before every attempt, the first included: none before the first (the
            // loop below spaces out the initial attempts), then 200 ms doubling to 5 s.
            .reconnect_delay_callback(|attempts| match attempts {
                0 | 1 => Duration::ZERO,
                n => Duration::from_millis((100u64 << n.min(6)).min(5_000)),
            })
            .event_callback(|event| async move {
                match event {
                    async_nats::Event::Disconnected => tracing::warn!("NATS disconnected"),
                    async_nats::Event::Connected => tracing::info!("NATS connected"),
                    // Permission violations, and a login refused on a reconnect (a rotated password): the client
                    // keeps retrying, so say so where operators look.
                    async_nats::Event::ServerError(e) => tracing::warn!(error = %e, "NATS server error"),
                    async_nats::Event::ClientError(e) if is_refusal_text(&e.to_string()) => {
                        tracing::warn!(error = %e, "NATS refused the login on reconnect; check this service's credentials")
                    }
                    other => tracing::debug!(event = %other, "NATS event"),
                }
            });
        let opts = login.apply(opts)?;
        match opts.connect(servers.as_slice()).await {
            Ok(client) => return Ok(client),
            Err(e) if is_login_refused(&e) => {
                return Err(BusError::Refused { url: shown, login: login.who, reason: e.to_string() });
            }
            Err(e) => {
                if started.elapsed() + delay > settings.connect_deadline {
                    return Err(BusError::Unreachable {
                        url: shown,
                        deadline: settings.connect_deadline,
                        last: e.to_string(),
                    });
                }
                tracing::warn!(url = %shown, error = %e, retry_in = ?delay, "NATS not reachable yet");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// Streams
// ---------------------------------------------------------------------------------------------------

/// The configuration of `BANGBAN_EVENTS`: every event, file storage, a 2-minute duplicate window.
pub fn events_stream_config() -> StreamConfig {
    StreamConfig {
        name: EVENTS_STREAM.to_string(),
        description: Some("Bangban events (bb.evt.>), CloudEvents in binary mode".into()),
        subjects: vec![EVENTS_SUBJECTS.to_string()],
        storage: StorageType::File,
        retention: RetentionPolicy::Limits,
        discard: DiscardPolicy::Old,
        duplicate_window: DUPLICATE_WINDOW,
        // Keep a year of facts: county offices and integrators may replay.
        max_age: Duration::from_secs(365 * 24 * 3600),
        ..Default::default()
    }
}

/// The configuration of `BANGBAN_DLQ`: events consumers gave up on.
pub fn dlq_stream_config() -> StreamConfig {
    StreamConfig {
        name: DLQ_STREAM.to_string(),
        description: Some("Bangban dead letters (bb.dlq.<consumer>)".into()),
        subjects: vec![DLQ_SUBJECTS.to_string()],
        storage: StorageType::File,
        retention: RetentionPolicy::Limits,
        discard: DiscardPolicy::Old,
        duplicate_window: DUPLICATE_WINDOW,
        max_age: Duration::from_secs(90 * 24 * 3600),
        ..Default::default()
    }
}

/// Creates `BANGBAN_EVENTS` and `BANGBAN_DLQ` when they are missing, with `replicas` replicas
/// ([`NatsSettings::stream_replicas`]); existing ones are left as they are (see [`ensure_stream`]).
pub async fn ensure_streams(js: &jetstream::Context, replicas: usize) -> Result<(), BusError> {
    for cfg in [events_stream_config(), dlq_stream_config()] {
        ensure_stream(js, StreamConfig { num_replicas: replicas.max(1), ..cfg }).await?;
    }
    Ok(())
}

/// Whether the process `service_name` (as given to [`crate::runtime::bootstrap`]) makes sure of the event streams
/// at start: every service and `bangban serve` do; the gateway (`bangban-gateway`) does not — it only calls
/// services and keeps streams of its own, and on the secured server (`deploy/nats`) its user may not touch
/// `BANGBAN_EVENTS` or `BANGBAN_DLQ`.
pub fn creates_event_streams(service_name: &str) -> bool {
    service_name != "bangban-gateway"
}

/// Creates the stream `wanted` describes when it does not exist; an existing stream is **never changed**
/// (an operator may have tuned it: retention, replicas, limits). Each important setting where the existing
/// stream differs from `wanted` is logged as a warning naming the stream, the setting, the wanted and the
/// actual value ([`stream_differences`]).
pub async fn ensure_stream(js: &jetstream::Context, wanted: StreamConfig) -> Result<Stream, BusError> {
    let name = wanted.name.clone();
    let failed = |reason: String| BusError::Stream { stream: name.clone(), reason };
    match js.get_stream(&name).await {
        Ok(stream) => {
            report_differences(&wanted, &stream.cached_info().config);
            return Ok(stream);
        }
        Err(e) if matches!(e.kind(), GetStreamErrorKind::JetStream(j) if j.code() == 404) => {}
        Err(e) => return Err(failed(e.to_string())),
    }
    match js.create_stream(wanted.clone()).await {
        Ok(stream) => {
            tracing::info!(stream = %name, replicas = wanted.num_replicas.max(1), "created the JetStream stream {name}");
            Ok(stream)
        }
        // Another replica of the service created it in between.
        Err(e)
            if matches!(e.kind(), CreateStreamErrorKind::JetStream(j)
                if j.error_code() == jetstream::ErrorCode::STREAM_NAME_EXIST) =>
        {
            let stream = js.get_stream(&name).await.map_err(|e| failed(e.to_string()))?;
            report_differences(&wanted, &stream.cached_info().config);
            Ok(stream)
        }
        Err(e) => Err(failed(e.to_string())),
    }
}

fn report_differences(wanted: &StreamConfig, actual: &StreamConfig) {
    for d in stream_differences(wanted, actual) {
        tracing::warn!(
            stream = %wanted.name,
            field = d.field,
            wanted = %d.wanted,
            actual = %d.actual,
            "the JetStream stream {} has {} = {} where this service would create it with {}; left unchanged \
             (an existing stream is never changed by a service)",
            wanted.name,
            d.field,
            d.actual,
            d.wanted
        );
    }
}

/// One setting in which an existing stream differs from what a service would create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamDifference {
    /// The setting, as in the stream's configuration (`max_age`, `num_replicas`, …).
    pub field: &'static str,
    pub wanted: String,
    pub actual: String,
}

/// The important settings (subjects, storage, retention, discard, max_age, duplicate_window, num_replicas,
/// the limits, deny_delete and deny_purge) in which `actual` differs from `wanted`. Values the server fills
/// in for an unset one (0 replicas is 1, a 0 duplicate window is the server's default, 0 and -1 limits are
/// unlimited) count as equal; the order of subjects does not matter.
pub fn stream_differences(wanted: &StreamConfig, actual: &StreamConfig) -> Vec<StreamDifference> {
    let mut out = Vec::new();
    let mut differ = |field: &'static str, w: String, a: String| {
        if w != a {
            out.push(StreamDifference { field, wanted: w, actual: a });
        }
    };
    let subjects = |s: &[String]| {
        let mut s = s.to_vec();
        s.sort();
        s.join(", ")
    };
    differ("subjects", subjects(&wanted.subjects), subjects(&actual.subjects));
    differ("storage", format!("{:?}", wanted.storage), format!("{:?}", actual.storage));
    differ("retention", format!("{:?}", wanted.retention), format!("{:?}", actual.retention));
    differ("discard", format!("{:?}", wanted.discard), format!("{:?}", actual.discard));
    differ("max_age", show_age(wanted.max_age), show_age(actual.max_age));
    if !wanted.duplicate_window.is_zero() {
        differ("duplicate_window", show_duration(wanted.duplicate_window), show_duration(actual.duplicate_window));
    }
    differ("num_replicas", wanted.num_replicas.max(1).to_string(), actual.num_replicas.max(1).to_string());
    differ("max_messages", show_limit(wanted.max_messages), show_limit(actual.max_messages));
    differ(
        "max_messages_per_subject",
        show_limit(wanted.max_messages_per_subject),
        show_limit(actual.max_messages_per_subject),
    );
    differ("max_bytes", show_limit(wanted.max_bytes), show_limit(actual.max_bytes));
    differ("deny_delete", wanted.deny_delete.to_string(), actual.deny_delete.to_string());
    differ("deny_purge", wanted.deny_purge.to_string(), actual.deny_purge.to_string());
    out
}

fn show_limit(n: i64) -> String {
    if n <= 0 { "unlimited".into() } else { n.to_string() }
}

fn show_age(d: Duration) -> String {
    if d.is_zero() { "unlimited".into() } else { show_duration(d) }
}

/// `365d`, `2m`, `90s`, `1500ms`.
fn show_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if d.subsec_nanos() != 0 {
        format!("{}ms", d.as_millis())
    } else if secs != 0 && secs.is_multiple_of(86_400) {
        format!("{}d", secs / 86_400)
    } else if secs != 0 && secs.is_multiple_of(3_600) {
        format!("{}h", secs / 3_600)
    } else if secs != 0 && secs.is_multiple_of(60) {
        format!("{}m", secs / 60)
    } else {
        format!("{secs}s")
    }
}

/// Is the client connected right now? (`/readyz`, and failing fast instead of hanging.)
pub fn is_connected(client: &Client) -> bool {
    client.connection_state() == async_nats::connection::State::Connected
}

/// The URL without its credentials (`nats://user:secret@host` → `nats://user:***@host`), for logs and errors.
pub fn redact_url(url: &str) -> String {
    url.split(',')
        .map(|one| {
            let (scheme, rest) = match one.split_once("://") {
                Some((s, r)) => (Some(s), r),
                None => (None, one),
            };
            let rest = match rest.rsplit_once('@') {
                Some((userinfo, host)) => match userinfo.split_once(':') {
                    Some((user, _)) => format!("{user}:***@{host}"),
                    None => format!("***@{host}"),
                },
                None => rest.to_string(),
            };
            match scheme {
                Some(s) => format!("{s}://{rest}"),
                None => rest,
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod redact_tests {
    #[test]
    fn credentials_never_reach_a_log() {
        assert_eq!(super::redact_url("nats://planning:s3cret@nats:4222"), "nats://planning:***@nats:4222");
        assert_eq!(super::redact_url("nats://tok3n@nats:4222"), "nats://***@nats:4222");
        assert_eq!(
            super::redact_url("nats://a:b@n1:4222,nats://c:d@n2:4222"),
            "nats://a:***@n1:4222,nats://c:***@n2:4222"
        );
        assert_eq!(super::redact_url("nats://127.0.0.1:4222"), "nats://127.0.0.1:4222");
    }
}

#[cfg(test)]
mod login_tests {
    use std::path::PathBuf;

    use super::*;

    const SEED: &str = "SUAIO3FHUX5PNV2LQIIP7TZ3N4L7TX3W53MQGEIVYFIGA635OZCKEYHFLM";

    fn settings(url: &str) -> NatsSettings {
        NatsSettings { url: url.into(), ..Default::default() }
    }

    async fn resolve(s: &NatsSettings) -> Result<(Vec<String>, Login), BusError> {
        Login::resolve(s).await
    }

    fn user_password(login: &Login) -> (String, String) {
        match &login.method {
            Method::UserPassword { user, password } => (user.clone(), password.expose_secret().to_string()),
            _ => panic!("not a user and password: {}", login.who),
        }
    }

    #[tokio::test]
    async fn the_url_form_is_taken_out_of_the_url_and_percent_decoded() {
        let (servers, login) = resolve(&settings("nats://intake:p%40ss%3Aw%2Frd%25@127.0.0.1:4222")).await.unwrap();
        assert_eq!(servers, vec!["nats://127.0.0.1:4222".to_string()]);
        assert_eq!(user_password(&login), ("intake".into(), "p@ss:w/rd%".into()));
        assert!(login.who.contains("\"intake\"") && login.who.contains(URL_VAR), "{}", login.who);
        assert!(!login.who.contains("p@ss"));

        // Several servers with the same credentials; no scheme is fine too.
        let (servers, login) = resolve(&settings("nats://a:b@n1:4222, nats://a:b@n2:4222,n3:4222")).await.unwrap();
        assert_eq!(servers, vec!["nats://n1:4222", "nats://n2:4222", "n3:4222"]);
        assert_eq!(user_password(&login), ("a".into(), "b".into()));

        // A lone userinfo is a token.
        let (_, login) = resolve(&settings("nats://s3cret@n1:4222")).await.unwrap();
        assert!(matches!(&login.method, Method::Token(t) if t.expose_secret() == "s3cret"));

        let (servers, login) = resolve(&settings("nats://127.0.0.1:4222")).await.unwrap();
        assert_eq!(servers, vec!["nats://127.0.0.1:4222".to_string()]);
        assert!(matches!(login.method, Method::Anonymous));
    }

    #[tokio::test]
    async fn bad_urls_are_refused_without_showing_the_secret() {
        for url in ["nats://a:b@n1:4222,nats://a:c@n2:4222", "nats://a:bad%zz@n1", "nats://:secret@n1", "http://x:y@h"]
        {
            let err = resolve(&settings(url)).await.err().unwrap_or_else(|| panic!("{url} accepted")).to_string();
            assert!(err.contains(URL_VAR), "{err}");
            for secret in ["secret", ":b@", ":c@", "bad%zz", ":y@"] {
                assert!(!err.contains(secret), "{err} shows {secret}");
            }
        }
    }

    #[tokio::test]
    async fn explicit_settings_win_over_the_url() {
        let mut s = settings("nats://intake:from-url@127.0.0.1:4222");
        s.user = Some("planning".into());
        s.password = Some(SecretString::from("explicit"));
        let (servers, login) = resolve(&s).await.unwrap();
        assert_eq!(servers, vec!["nats://127.0.0.1:4222".to_string()]);
        assert_eq!(user_password(&login), ("planning".into(), "explicit".into()));

        let mut s = settings("nats://intake:from-url@127.0.0.1:4222");
        s.nkey_seed = Some(SecretString::from(format!("  {SEED}\n")));
        let (_, login) = resolve(&s).await.unwrap();
        assert!(matches!(&login.method, Method::NKey(seed) if seed.expose_secret() == SEED));
    }

    #[tokio::test]
    async fn two_forms_at_once_or_half_a_form_are_errors_naming_the_variables() {
        let mut s = settings("nats://127.0.0.1:4222");
        s.user = Some("intake".into());
        s.password = Some(SecretString::from("pw"));
        s.creds_file = Some(PathBuf::from("/run/secrets/intake.creds"));
        let err = resolve(&s).await.err().unwrap().to_string();
        assert!(err.contains(USER_VARS) && err.contains(CREDS_FILE_VAR), "{err}");

        let mut s = settings("nats://127.0.0.1:4222");
        s.nkey_seed = Some(SecretString::from(SEED));
        s.nkey_seed_file = Some(PathBuf::from("/run/secrets/seed"));
        let err = resolve(&s).await.err().unwrap().to_string();
        assert!(err.contains(NKEY_SEED_VAR) && err.contains(NKEY_SEED_FILE_VAR), "{err}");

        let mut s = settings("nats://127.0.0.1:4222");
        s.user = Some("intake".into());
        let err = resolve(&s).await.err().unwrap().to_string();
        assert!(err.contains("BANGBAN__NATS__PASSWORD"), "{err}");

        // Blank values (an empty environment variable) count as unset.
        let mut s = settings("nats://127.0.0.1:4222");
        s.user = Some(" ".into());
        s.password = Some(SecretString::from(""));
        s.creds_file = Some(PathBuf::new());
        assert!(matches!(resolve(&s).await.unwrap().1.method, Method::Anonymous));
    }

    #[tokio::test]
    async fn nkey_seeds_are_trimmed_and_checked_without_being_shown() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("seed");
        std::fs::write(&file, format!("{SEED}\n")).unwrap();
        let mut s = settings("nats://127.0.0.1:4222");
        s.nkey_seed_file = Some(file.clone());
        let (_, login) = resolve(&s).await.unwrap();
        assert!(matches!(&login.method, Method::NKey(seed) if seed.expose_secret() == SEED));
        assert!(login.who.contains(NKEY_SEED_FILE_VAR), "{}", login.who);

        // An account seed, garbage, a missing file.
        let account_seed = format!("SA{}", &SEED[2..]);
        std::fs::write(&file, &account_seed).unwrap();
        let err = resolve(&s).await.err().unwrap().to_string();
        assert!(err.contains(NKEY_SEED_FILE_VAR) && !err.contains(&account_seed[4..]), "{err}");
        s.nkey_seed_file = Some(dir.path().join("missing"));
        assert!(resolve(&s).await.err().unwrap().to_string().contains("cannot be read"));
        let s = NatsSettings { nkey_seed: Some(SecretString::from("not-a-seed")), ..settings("nats://h:4222") };
        let err = resolve(&s).await.err().unwrap().to_string();
        assert!(err.contains(NKEY_SEED_VAR) && !err.contains("not-a-seed"), "{err}");
    }

    #[tokio::test]
    async fn a_creds_file_names_its_user() {
        // Claims {"sub":"UA…","name":"intake"}; the signature is not checked by the client.
        let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(r#"{"sub":"UABCDEFGHIJKLMNOPQRSTUVWXYZ234567ABCDEFGHIJKLMNOPQRSTUV","name":"intake"}"#);
        let creds = format!(
            "-----BEGIN NATS USER JWT-----\neyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.{claims}.c2ln\n\
             ------END NATS USER JWT------\n\n*** secret ***\n\n-----BEGIN USER NKEY SEED-----\n{SEED}\n\
             ------END USER NKEY SEED------\n"
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("intake.creds");
        std::fs::write(&file, creds).unwrap();
        let s = NatsSettings { creds_file: Some(file.clone()), ..settings("nats://h:4222") };
        let (_, login) = resolve(&s).await.unwrap();
        assert!(login.who.contains("\"intake\"") && login.who.contains("UABCDEF"), "{}", login.who);
        assert!(matches!(login.method, Method::Creds(_)));

        std::fs::write(&file, "not a creds file").unwrap();
        let err = resolve(&s).await.err().unwrap().to_string();
        assert!(err.contains(CREDS_FILE_VAR) && err.contains("not a usable .creds file"), "{err}");
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%20b%2B%e4%b8%ad").unwrap(), "a b+中");
        assert!(percent_decode("%").is_err());
        assert!(percent_decode("%4").is_err());
        assert!(percent_decode("%ff").is_err(), "not UTF-8");
    }
}

#[cfg(test)]
mod stream_tests {
    use super::*;

    /// What the server reports for a stream created from `wanted`: its defaults filled in.
    fn as_created(wanted: &StreamConfig) -> StreamConfig {
        StreamConfig {
            num_replicas: wanted.num_replicas.max(1),
            max_messages: -1,
            max_messages_per_subject: -1,
            max_bytes: -1,
            subjects: wanted.subjects.iter().rev().cloned().collect(),
            ..wanted.clone()
        }
    }

    #[test]
    fn a_stream_as_created_has_no_differences() {
        for wanted in [events_stream_config(), dlq_stream_config()] {
            assert_eq!(stream_differences(&wanted, &as_created(&wanted)), vec![]);
        }
        let mut sessions = StreamConfig {
            name: "S".into(),
            subjects: vec!["a.>".into(), "b.>".into()],
            max_messages_per_subject: 1,
            ..Default::default()
        };
        let mut actual = as_created(&sessions);
        actual.max_messages_per_subject = 1;
        actual.duplicate_window = Duration::from_secs(120); // the server's default for a 0 window
        assert_eq!(stream_differences(&sessions, &actual), vec![]);
        sessions.max_messages_per_subject = 2;
        assert_eq!(stream_differences(&sessions, &actual)[0].field, "max_messages_per_subject");
    }

    #[test]
    fn every_important_difference_is_named_with_both_values() {
        let wanted = StreamConfig { num_replicas: 3, deny_delete: true, deny_purge: true, ..events_stream_config() };
        let actual = StreamConfig {
            subjects: vec!["bb.evt.>".into(), "bb.other.>".into()],
            storage: StorageType::Memory,
            retention: RetentionPolicy::WorkQueue,
            discard: DiscardPolicy::New,
            max_age: Duration::from_secs(30 * 86_400),
            duplicate_window: Duration::from_secs(90),
            num_replicas: 1,
            max_messages: 1_000,
            max_messages_per_subject: 10,
            max_bytes: 1 << 30,
            deny_delete: false,
            deny_purge: false,
            ..events_stream_config()
        };
        let found = stream_differences(&wanted, &actual);
        let fields: Vec<&str> = found.iter().map(|d| d.field).collect();
        assert_eq!(
            fields,
            vec![
                "subjects",
                "storage",
                "retention",
                "discard",
                "max_age",
                "duplicate_window",
                "num_replicas",
                "max_messages",
                "max_messages_per_subject",
                "max_bytes",
                "deny_delete",
                "deny_purge"
            ]
        );
        let age = found.iter().find(|d| d.field == "max_age").unwrap();
        assert_eq!((age.wanted.as_str(), age.actual.as_str()), ("365d", "30d"));
        let replicas = found.iter().find(|d| d.field == "num_replicas").unwrap();
        assert_eq!((replicas.wanted.as_str(), replicas.actual.as_str()), ("3", "1"));
        let subjects = found.iter().find(|d| d.field == "subjects").unwrap();
        assert_eq!(subjects.actual, "bb.evt.>, bb.other.>");
        let window = found.iter().find(|d| d.field == "duplicate_window").unwrap();
        assert_eq!((window.wanted.as_str(), window.actual.as_str()), ("2m", "90s"));
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(show_duration(Duration::from_secs(7200)), "2h");
        assert_eq!(show_duration(Duration::from_millis(1500)), "1500ms");
        assert_eq!(show_duration(Duration::ZERO), "0s");
        assert_eq!(show_age(Duration::ZERO), "unlimited");
    }
}
