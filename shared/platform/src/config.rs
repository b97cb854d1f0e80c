//! Layered configuration (配置): built-in defaults → optional TOML file → `BANGBAN__SECTION__KEY` variables.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::Deserialize;

/// Every setting of the platform. Each service reads the sections it needs.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Where embedded SQLite files and development secrets live (`BANGBAN__DATA_DIR`).
    pub data_dir: PathBuf,
    pub nats: NatsSettings,
    pub database: DatabaseSettings,
    pub http: HttpSettings,
    pub telemetry: TelemetrySettings,
    pub auth: AuthSettings,
    pub outbox: OutboxSettings,
    pub consumer: ConsumerSettings,
    pub pii: PiiSettings,
    /// Document storage of the archive (`BANGBAN__STORAGE__…`).
    pub storage: crate::objects::StorageSettings,
    /// The 12345 hotline's webhook.
    pub hotline: HotlineSettings,
    /// Each service's own section (`BANGBAN__DEADLINE__…`, `BANGBAN__NOTIFICATION__…`), read by the service
    /// that owns it ([`Settings::section`]).
    #[serde(skip)]
    pub sections: Sections,
    /// The platform clock (`BANGBAN__CLOCK__…`): a rehearsal clock for development, never in production.
    pub clock: ClockSettings,
    /// `BANGBAN__ALLOW_INSECURE_DEV`: lets a process start with development defaults where production is
    /// expected (development auth on a non-loopback address, no PII key, a rehearsal clock on a public
    /// listener). Off by default; never set it on a cluster people use.
    pub allow_insecure_dev: bool,
}

/// The platform clock (平台时钟, [`crate::clock`]). Unset, it is the wall clock — the only clock production
/// runs on. Setting either value starts a rehearsal clock (演练时钟) for training, demos and black-box tests: a
/// case's weeks play out in minutes. Development auth mode only: a process in OIDC (production) mode refuses to
/// start with either set (see [`ClockSettings::rehearsal`]).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ClockSettings {
    /// `BANGBAN__CLOCK__START`: the RFC 3339 instant the platform clock starts at when the process starts, e.g.
    /// `2026-03-02T09:00:00+08:00`. Unset with a speed: the clock starts at the wall clock's now.
    #[serde(deserialize_with = "rfc3339_opt")]
    pub start: Option<DateTime<Utc>>,
    /// `BANGBAN__CLOCK__SPEED`: platform seconds per wall-clock second, a finite number above 0 and at most
    /// [`ClockSettings::MAX_SPEED`] (`3600`: a platform hour per second, an 8-hour working day in 8 seconds).
    /// Unset with a start: 1 (real pace from the given instant).
    pub speed: Option<f64>,
}

/// An optional RFC 3339 instant, with an error that says what is expected.
fn rfc3339_opt<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    let Some(raw) = Option::<String>::deserialize(d)? else {
        return Ok(None);
    };
    DateTime::parse_from_rfc3339(raw.trim()).map(|t| Some(t.with_timezone(&Utc))).map_err(|e| {
        serde::de::Error::custom(format!(
            "BANGBAN__CLOCK__START must be an RFC 3339 instant such as 2026-03-02T09:00:00+08:00, got {raw:?} ({e})"
        ))
    })
}

/// Why a clock configuration is refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClockConfigError {
    #[error(
        "BANGBAN__CLOCK__START / BANGBAN__CLOCK__SPEED (the rehearsal clock) are for development only and are \
         refused in production (auth.mode = oidc); unset them"
    )]
    Production,
    #[error(
        "BANGBAN__CLOCK__SPEED must be a finite number above 0 and at most {max} (platform seconds per wall-clock \
         second), got {0}",
        max = ClockSettings::MAX_SPEED
    )]
    Speed(f64),
}

impl ClockSettings {
    /// The fastest rehearsal accepted: 100 000 platform seconds per wall-clock second (a month in under 30 s).
    pub const MAX_SPEED: f64 = 100_000.0;

    /// Whether a rehearsal clock is asked for (either value set).
    pub fn is_set(&self) -> bool {
        self.start.is_some() || self.speed.is_some()
    }

    /// The rehearsal to start — its start instant and speed, defaults filled in from `now` and 1 — or `None` for
    /// the wall clock. Refused in OIDC (production) mode, and for a speed that is not finite, not above 0 or above
    /// [`ClockSettings::MAX_SPEED`].
    pub fn rehearsal(
        &self,
        auth: &AuthSettings,
        now: DateTime<Utc>,
    ) -> Result<Option<(DateTime<Utc>, f64)>, ClockConfigError> {
        if !self.is_set() {
            return Ok(None);
        }
        if auth.mode != AuthMode::Development {
            return Err(ClockConfigError::Production);
        }
        let speed = self.speed.unwrap_or(1.0);
        if !(speed.is_finite() && speed > 0.0 && speed <= Self::MAX_SPEED) {
            return Err(ClockConfigError::Speed(speed));
        }
        Ok(Some((self.start.unwrap_or(now), speed)))
    }
}

/// The services' own sections of the configuration (see [`Settings::section`]).
#[derive(Clone, Default)]
pub struct Sections {
    raw: Option<std::sync::Arc<config::Config>>,
    overrides: std::collections::BTreeMap<String, std::sync::Arc<dyn std::any::Any + Send + Sync>>,
}

impl std::fmt::Debug for Sections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sections").field("overridden", &self.overrides.keys().collect::<Vec<_>>()).finish()
    }
}

/// The 12345 hotline posts consultations to a signed webhook.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct HotlineSettings {
    /// `BANGBAN__HOTLINE__SECRET`: the shared HMAC-SHA256 secret; the webhook refuses everything when unset.
    pub secret: Option<SecretString>,
}

/// Personal data at rest (个人信息加密).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PiiSettings {
    /// `BANGBAN__PII__KEY`: 32 bytes, base64. Required in OIDC (production) mode; in development
    /// one is generated once into `<data_dir>/dev-pii-key`.
    pub key: Option<SecretString>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./data"),
            nats: NatsSettings::default(),
            database: DatabaseSettings::default(),
            http: HttpSettings::default(),
            telemetry: TelemetrySettings::default(),
            auth: AuthSettings::default(),
            outbox: OutboxSettings::default(),
            consumer: ConsumerSettings::default(),
            pii: PiiSettings::default(),
            storage: Default::default(),
            hotline: HotlineSettings::default(),
            sections: Sections::default(),
            clock: ClockSettings::default(),
            allow_insecure_dev: false,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct NatsSettings {
    /// `BANGBAN__NATS__URL`, e.g. `nats://127.0.0.1:4222`.
    pub url: String,
    /// Optional credentials file (`.creds`: a user JWT and its NKey seed) for a NATS user of the deployment's
    /// accounts (`BANGBAN__NATS__CREDS_FILE`).
    pub creds_file: Option<PathBuf>,
    /// NATS user name (`BANGBAN__NATS__USER`), with [`NatsSettings::password`]; overrides a user in the URL.
    pub user: Option<String>,
    /// NATS password (`BANGBAN__NATS__PASSWORD`) of [`NatsSettings::user`].
    pub password: Option<SecretString>,
    /// NKey seed (`SU…`) of this service's NATS user (`BANGBAN__NATS__NKEY_SEED`).
    pub nkey_seed: Option<SecretString>,
    /// A file holding the NKey seed (`BANGBAN__NATS__NKEY_SEED_FILE`), e.g. a mounted Secret.
    pub nkey_seed_file: Option<PathBuf>,
    /// Replicas of the streams a service creates when they are missing (`BANGBAN__NATS__STREAM_REPLICAS`;
    /// 1 for a single server, 3 on a cluster). An existing stream is never changed.
    pub stream_replicas: usize,
    /// How long a request to another service may take before the caller gives up.
    #[serde(with = "humantime_ms")]
    pub request_timeout: Duration,
    /// How long to keep trying to reach NATS at start before giving up.
    #[serde(with = "humantime_ms")]
    pub connect_deadline: Duration,
}

impl Default for NatsSettings {
    fn default() -> Self {
        Self {
            url: "nats://127.0.0.1:4222".into(),
            creds_file: None,
            user: None,
            password: None,
            nkey_seed: None,
            nkey_seed_file: None,
            stream_replicas: 1,
            request_timeout: Duration::from_secs(5),
            connect_deadline: Duration::from_secs(60),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct DatabaseSettings {
    /// `BANGBAN__DATABASE__URL`. Unset: one SQLite file per service under `data_dir`.
    /// A `postgres://` URL: one database, one schema per service.
    pub url: Option<String>,
    /// Prefix of the per-service PostgreSQL schema names (`<prefix><service>`); empty by default.
    pub schema_prefix: String,
    pub max_connections: u32,
    /// What a service does with its schema at start (`BANGBAN__DATABASE__MIGRATE`): `auto` brings it up to
    /// date (one process at a time: a PostgreSQL advisory lock per schema), `verify` only checks that it is
    /// current and waits for `bangban migrate` (the chart's migration Job) until `migrate_wait` has passed.
    pub migrate: MigrateMode,
    /// How long a service in `verify` mode waits for its schema to become current, in milliseconds.
    #[serde(with = "humantime_ms")]
    pub migrate_wait: Duration,
}

/// See [`DatabaseSettings::migrate`].
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum MigrateMode {
    /// Apply pending migrations at start, under a lock.
    #[default]
    Auto,
    /// Never migrate; refuse to start while migrations are pending.
    Verify,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: None,
            schema_prefix: String::new(),
            max_connections: 10,
            migrate: MigrateMode::Auto,
            migrate_wait: Duration::from_secs(120),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct HttpSettings {
    /// `BANGBAN__HTTP__LISTEN`.
    pub listen: SocketAddr,
    /// Largest accepted request body in bytes.
    pub body_limit: usize,
    /// The URL people use to reach the console, printed at start; derived from `listen` when unset.
    pub public_url: Option<String>,
    /// `BANGBAN__HTTP__METRICS_LISTEN`: serve `/metrics` on this address only (a port the ingress does not
    /// route). Unset: `/metrics` is served on `listen` (local development).
    pub metrics_listen: Option<SocketAddr>,
    /// `BANGBAN__HTTP__STREAMS_PER_PERSON`: live streams (实时推送, `GET /api/v1/stream`) one person (`sub`)
    /// may hold open at one gateway; one more is refused with 429.
    pub streams_per_person: usize,
    /// `BANGBAN__HTTP__STREAMS_MAX`: live streams one gateway holds open in all; one more is refused with 429.
    pub streams_max: usize,
    /// `BANGBAN__HTTP__MAX_CONNECTIONS`: connections the gateway holds open at once; one more waits in the
    /// kernel's backlog, unaccepted, until another closes (`bangban_http_connections_open`).
    pub max_connections: usize,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            body_limit: 256 * 1024,
            public_url: None,
            metrics_listen: None,
            streams_per_person: 3,
            streams_max: 1000,
            max_connections: 10_000,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// JSON lines with trace and span ids, for machines.
    Json,
    /// Human-readable, for a terminal.
    Pretty,
    /// Pretty on a terminal, JSON otherwise.
    #[default]
    Auto,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct TelemetrySettings {
    /// `BANGBAN__TELEMETRY__OTLP_ENDPOINT`: OTLP/HTTP endpoint (e.g. `http://127.0.0.1:4318`); no export when unset.
    pub otlp_endpoint: Option<String>,
    pub log_format: LogFormat,
    /// `RUST_LOG`-style filter.
    pub log_filter: String,
}

impl Default for TelemetrySettings {
    fn default() -> Self {
        Self {
            otlp_endpoint: None,
            log_format: LogFormat::Auto,
            log_filter: "info,sqlx=warn,sea_orm=warn,async_nats=warn".into(),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// Tokens signed and verified with a local HS256 secret (`bangban token`).
    #[default]
    Development,
    /// Tokens verified against an OIDC issuer's JWKS.
    Oidc,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct AuthSettings {
    pub mode: AuthMode,
    /// HS256 secret of development mode. Unset: generated once into `<data_dir>/dev-jwt-secret`.
    pub dev_secret: Option<SecretString>,
    /// Issuer (`iss`) of development tokens, and of OIDC tokens in production. In OIDC mode an `https://`
    /// URL (签发方须使用 HTTPS); plain `http://` only on a loopback host (`localhost`, `127.0.0.1`, `[::1]`)
    /// or with `allow_insecure_dev` (see [`AuthSettings::issuer_over_plain_http`]).
    pub issuer: String,
    /// `BANGBAN__AUTH__AUDIENCE`: the audience (`aud`, 受众) a bearer token must name. In OIDC mode the
    /// gateway defaults it to the console's client id (`BANGBAN__WEB__OIDC_CLIENT_ID`), and one of the two
    /// is required: a token without it in `aud` is refused. In development mode it is checked when set.
    pub audience: Option<String>,
    /// How long a JWKS is trusted before it is fetched again, in seconds.
    pub jwks_ttl_secs: u64,
    /// Allowed clock skew in seconds.
    pub leeway_secs: u64,
}

impl AuthSettings {
    /// Whether tokens would be verified with keys fetched over plain `http://` from a host that is not
    /// loopback — in OIDC mode only (development tokens are not fetched). Anyone on the path could swap the
    /// issuer's keys (JWKS) and sign tokens of any role.
    pub fn issuer_over_plain_http(&self) -> bool {
        if self.mode != AuthMode::Oidc {
            return false;
        }
        let issuer = self.issuer.trim();
        if !issuer.get(..7).is_some_and(|p| p.eq_ignore_ascii_case("http://")) {
            return false;
        }
        // The host as the HTTP client will see it (WHATWG URL parsing: a backslash ends the authority, user
        // info is dropped); anything that does not parse is not trusted as loopback.
        let Ok(url) = reqwest::Url::parse(issuer) else { return true };
        let host = url.host_str().unwrap_or_default();
        let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
        let loopback = host.eq_ignore_ascii_case("localhost")
            || host.parse::<std::net::IpAddr>().is_ok_and(crate::net::is_loopback);
        !loopback
    }
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            mode: AuthMode::Development,
            dev_secret: None,
            issuer: "bangban-dev".into(),
            audience: None,
            jwks_ttl_secs: 600,
            leeway_secs: 30,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct OutboxSettings {
    /// How often the relay looks for rows written by other processes, in milliseconds.
    #[serde(with = "humantime_ms")]
    pub poll_interval: Duration,
    /// Rows published per round.
    pub batch_size: u64,
}

impl Default for OutboxSettings {
    fn default() -> Self {
        Self { poll_interval: Duration::from_millis(500), batch_size: 256 }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct ConsumerSettings {
    /// Deliveries of one message before it goes to the dead-letter stream.
    pub max_deliver: i64,
    /// How long the server waits for an ack before redelivering, in milliseconds.
    #[serde(with = "humantime_ms")]
    pub ack_wait: Duration,
}

impl Default for ConsumerSettings {
    fn default() -> Self {
        Self { max_deliver: 8, ack_wait: Duration::from_secs(30) }
    }
}

/// Durations are written as milliseconds in files and variables (`BANGBAN__NATS__REQUEST_TIMEOUT=2000`).
mod humantime_ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Int(u64),
            Str(String),
        }
        match Raw::deserialize(d)? {
            Raw::Int(ms) => Ok(Duration::from_millis(ms)),
            Raw::Str(s) => s
                .trim()
                .parse::<u64>()
                .map(Duration::from_millis)
                .map_err(|_| serde::de::Error::custom(format!("expected milliseconds, got {s:?}"))),
        }
    }
}

/// Why the configuration could not be read.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(#[from] config::ConfigError);

impl Settings {
    /// Defaults, then the optional file, then `BANGBAN__…` from the process environment.
    pub fn load(file: Option<&std::path::Path>) -> Result<Self, ConfigError> {
        Self::load_from(file, std::env::vars())
    }

    /// As [`Settings::load`] with an explicit environment, so tests need not touch the process's.
    pub fn load_from(
        file: Option<&std::path::Path>,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut builder = config::Config::builder();
        if let Some(path) = file {
            builder = builder.add_source(config::File::from(path).format(config::FileFormat::Toml).required(true));
        }
        let env: config::Map<String, String> = vars.into_iter().filter(|(k, _)| k.starts_with("BANGBAN__")).collect();
        builder = builder.add_source(
            config::Environment::with_prefix("BANGBAN")
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true)
                .source(Some(env)),
        );
        let config = builder.build()?;
        let mut settings: Settings = config.clone().try_deserialize()?;
        settings.sections.raw = Some(std::sync::Arc::new(config));
        Ok(settings)
    }

    /// A service's own section (`BANGBAN__<NAME>__…` or `[<name>]` in the file): its defaults where unset.
    /// The platform does not know the services' settings; each service reads its own.
    pub fn section<T: serde::de::DeserializeOwned + Default + Clone + 'static>(
        &self,
        name: &str,
    ) -> Result<T, ConfigError> {
        if let Some(value) = self.sections.overrides.get(name) {
            return value.downcast_ref::<T>().cloned().ok_or_else(|| {
                ConfigError(config::ConfigError::Message(format!("section {name} was set as another type")))
            });
        }
        match self.sections.raw.as_deref().map(|raw| raw.get::<T>(name)) {
            None | Some(Err(config::ConfigError::NotFound(_))) => Ok(T::default()),
            Some(Err(e)) => Err(ConfigError(e)),
            Some(Ok(v)) => Ok(v),
        }
    }

    /// Sets a service's section, replacing what the configuration says (tests and tools).
    pub fn set_section<T: Send + Sync + 'static>(&mut self, name: &str, value: T) {
        self.sections.overrides.insert(name.to_string(), std::sync::Arc::new(value));
    }

    /// Development defaults where production is expected (生产环境拒绝开发默认值), each as a sentence naming the
    /// setting to change; empty when the process may start. `allow_insecure_dev` empties it (each is then
    /// logged as a warning by [`crate::runtime::bootstrap`]).
    ///
    /// - development auth (locally signed tokens, a `/login` where anyone picks an identity) on a listener
    ///   that is not loopback — which is also where the development JWT secret and the generated PII key
    ///   would be used;
    /// - an OIDC issuer reached over plain `http://` on a host that is not loopback;
    /// - a development JWT secret configured beside OIDC;
    /// - OIDC (production) without a PII key (`pii_needed`: the process runs a service that keeps personal
    ///   data — intake, notification, evaluation);
    /// - a rehearsal clock outside development auth on loopback.
    pub fn insecure_dev_defaults(&self, pii_needed: bool) -> Vec<String> {
        let exposed = [Some(self.http.listen), self.http.metrics_listen]
            .into_iter()
            .flatten()
            .any(|a| !crate::net::is_loopback(a.ip()));
        let mut found = Vec::new();
        let development = self.auth.mode == AuthMode::Development;
        if development && exposed {
            found.push(format!(
                "development auth (BANGBAN__AUTH__MODE=development: tokens signed with the development JWT secret, \
                 a demo login where anyone picks an identity) on the non-loopback address {}; set \
                 BANGBAN__AUTH__MODE=oidc with BANGBAN__AUTH__ISSUER",
                self.http.listen
            ));
        }
        if self.auth.issuer_over_plain_http() {
            found.push(format!(
                "the OIDC issuer {:?} is plain http:// on a host that is not loopback: its signing keys could be \
                 swapped on the way; set BANGBAN__AUTH__ISSUER to its https:// URL",
                self.auth.issuer
            ));
        }
        if !development && self.auth.dev_secret.is_some() {
            found.push(
                "BANGBAN__AUTH__DEV_SECRET (the development JWT secret) is set beside OIDC auth; remove it".to_string(),
            );
        }
        if pii_needed && self.pii.key.is_none() && (!development || exposed) {
            found.push(
                "no BANGBAN__PII__KEY (32 bytes, base64): personal data would be encrypted with a key generated \
                 into the data folder; give every service that keeps personal data the same key from a Secret"
                    .to_string(),
            );
        }
        if self.clock.is_set() && (!development || exposed) {
            found.push(
                "a rehearsal clock (BANGBAN__CLOCK__START / BANGBAN__CLOCK__SPEED) is for development and training \
                 only; unset them"
                    .to_string(),
            );
        }
        found
    }

    /// The URL printed for people: the console.
    pub fn public_url(&self) -> String {
        self.http.public_url.clone().unwrap_or_else(|| format!("http://{}/", self.http.listen))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_then_file_then_environment() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bangban.toml");
        std::fs::write(
            &file,
            "data_dir = \"/srv/bangban\"\n[nats]\nurl = \"nats://file:4222\"\n[http]\nlisten = \"0.0.0.0:9000\"\n",
        )
        .unwrap();
        let vars = vec![
            ("BANGBAN__NATS__URL".to_string(), "nats://env:4222".to_string()),
            ("BANGBAN__DATABASE__URL".to_string(), "postgres://db/bangban".to_string()),
            ("BANGBAN__NATS__REQUEST_TIMEOUT".to_string(), "1500".to_string()),
            ("OTHER".to_string(), "ignored".to_string()),
        ];
        let s = Settings::load_from(Some(&file), vars).unwrap();
        assert_eq!(s.nats.url, "nats://env:4222");
        assert_eq!(s.database.url.as_deref(), Some("postgres://db/bangban"));
        assert_eq!(s.data_dir, PathBuf::from("/srv/bangban"));
        assert_eq!(s.http.listen.port(), 9000);
        assert_eq!(s.nats.request_timeout, Duration::from_millis(1500));
        assert_eq!(s.auth.mode, AuthMode::Development);
    }

    #[test]
    fn empty_environment_gives_embedded_defaults() {
        let s = Settings::load_from(None, Vec::<(String, String)>::new()).unwrap();
        assert_eq!(s.http.listen.to_string(), "127.0.0.1:8080");
        assert!(s.database.url.is_none());
        assert_eq!(s.data_dir, PathBuf::from("./data"));
    }

    #[test]
    fn data_dir_from_environment() {
        let s = Settings::load_from(None, vec![("BANGBAN__DATA_DIR".into(), "/tmp/x".into())]).unwrap();
        assert_eq!(s.data_dir, PathBuf::from("/tmp/x"));
    }

    #[test]
    fn clock_from_environment() {
        let s = Settings::load_from(
            None,
            vec![
                ("BANGBAN__CLOCK__START".into(), "2026-03-02T09:00:00+08:00".into()),
                ("BANGBAN__CLOCK__SPEED".into(), "3600".into()),
            ],
        )
        .unwrap();
        assert_eq!(s.clock.start, Some("2026-03-02T01:00:00Z".parse().unwrap()));
        assert_eq!(s.clock.speed, Some(3600.0));
        let s = Settings::load_from(None, vec![("BANGBAN__CLOCK__SPEED".into(), "0.5".into())]).unwrap();
        assert_eq!(s.clock, ClockSettings { start: None, speed: Some(0.5) });
        let e = Settings::load_from(None, vec![("BANGBAN__CLOCK__START".into(), "next monday".into())]).unwrap_err();
        assert!(e.to_string().contains("BANGBAN__CLOCK__START must be an RFC 3339 instant"), "{e}");
        assert_eq!(Settings::load_from(None, Vec::<(String, String)>::new()).unwrap().clock, ClockSettings::default());
    }

    #[test]
    fn rehearsal_clock_is_development_only_and_sane() {
        let now: DateTime<Utc> = "2026-05-01T00:00:00Z".parse().unwrap();
        let start: DateTime<Utc> = "2026-03-02T01:00:00Z".parse().unwrap();
        let dev = AuthSettings::default();
        let prod = AuthSettings { mode: AuthMode::Oidc, ..AuthSettings::default() };

        // Unset: the wall clock, in either mode.
        assert_eq!(ClockSettings::default().rehearsal(&dev, now), Ok(None));
        assert_eq!(ClockSettings::default().rehearsal(&prod, now), Ok(None));

        // Development: accepted, defaults filled in.
        let both = ClockSettings { start: Some(start), speed: Some(3600.0) };
        assert_eq!(both.rehearsal(&dev, now), Ok(Some((start, 3600.0))));
        let only_speed = ClockSettings { start: None, speed: Some(60.0) };
        assert_eq!(only_speed.rehearsal(&dev, now), Ok(Some((now, 60.0))));
        let only_start = ClockSettings { start: Some(start), speed: None };
        assert_eq!(only_start.rehearsal(&dev, now), Ok(Some((start, 1.0))));
        let fastest = ClockSettings { start: None, speed: Some(ClockSettings::MAX_SPEED) };
        assert!(fastest.rehearsal(&dev, now).unwrap().is_some());

        // Production: refused, whatever is set, naming the variables.
        for clock in [both, only_speed, only_start] {
            let e = clock.rehearsal(&prod, now).unwrap_err();
            assert_eq!(e, ClockConfigError::Production);
            assert!(e.to_string().contains("BANGBAN__CLOCK__START") && e.to_string().contains("BANGBAN__CLOCK__SPEED"));
        }

        // Nonsense speeds: refused.
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, ClockSettings::MAX_SPEED * 1.5, 1e12] {
            let e = ClockSettings { start: None, speed: Some(bad) }.rehearsal(&dev, now).unwrap_err();
            assert!(matches!(e, ClockConfigError::Speed(_)), "{bad}");
            assert!(e.to_string().contains("BANGBAN__CLOCK__SPEED"), "{e}");
        }
    }

    #[test]
    fn production_refuses_development_defaults() {
        let local = Settings::default();
        assert!(local.insecure_dev_defaults(true).is_empty(), "make run: development on loopback is fine");

        let mut exposed = Settings::default();
        exposed.http.listen = "0.0.0.0:8080".parse().unwrap();
        let found = exposed.insecure_dev_defaults(true);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].contains("BANGBAN__AUTH__MODE=oidc") && found[0].contains("0.0.0.0:8080"), "{found:?}");
        assert!(found[1].contains("BANGBAN__PII__KEY"), "{found:?}");
        assert_eq!(exposed.insecure_dev_defaults(false).len(), 1, "no PII kept: no key needed");

        let mut metrics_exposed = Settings::default();
        metrics_exposed.http.metrics_listen = Some("0.0.0.0:9090".parse().unwrap());
        assert!(!metrics_exposed.insecure_dev_defaults(false).is_empty());

        let mut prod = exposed.clone();
        prod.auth.mode = AuthMode::Oidc;
        prod.pii.key = Some(SecretString::from("k".to_string()));
        assert!(prod.insecure_dev_defaults(true).is_empty(), "{:?}", prod.insecure_dev_defaults(true));
        prod.auth.dev_secret = Some(SecretString::from("s".repeat(40)));
        prod.clock.speed = Some(60.0);
        let found = prod.insecure_dev_defaults(true);
        assert!(found.iter().any(|f| f.contains("BANGBAN__AUTH__DEV_SECRET")), "{found:?}");
        assert!(found.iter().any(|f| f.contains("BANGBAN__CLOCK__SPEED")), "{found:?}");

        let mut oidc_no_key = Settings::default();
        oidc_no_key.auth.mode = AuthMode::Oidc;
        assert!(oidc_no_key.insecure_dev_defaults(true)[0].contains("BANGBAN__PII__KEY"));

        let s = Settings::load_from(None, vec![("BANGBAN__ALLOW_INSECURE_DEV".into(), "true".into())]).unwrap();
        assert!(s.allow_insecure_dev);
    }

    #[test]
    fn an_oidc_issuer_over_plain_http_is_refused_unless_loopback() {
        let mut s = Settings::default();
        s.auth.mode = AuthMode::Oidc;
        s.pii.key = Some(SecretString::from("k".to_string()));
        for remote in [
            "http://sso.example.gov.cn/realms/bangban",
            "HTTP://10.0.0.7:8080",
            "http://127.0.0.1.evil.example/",
            "http://localhost@sso.example/",
            "http://[2001:db8::1]:8443/",
            // A backslash ends the authority for the HTTP client: the host is sso.evil.
            "http://sso.evil\\@127.0.0.1/",
        ] {
            s.auth.issuer = remote.into();
            assert!(s.auth.issuer_over_plain_http(), "{remote}");
            let found = s.insecure_dev_defaults(true);
            assert_eq!(found.len(), 1, "{found:?}");
            assert!(found[0].contains("BANGBAN__AUTH__ISSUER") && found[0].contains("https://"), "{found:?}");
        }
        for fine in [
            "https://sso.example.gov.cn/realms/bangban",
            "http://127.0.0.1:5556",
            "http://localhost:8080/realms/x",
            "http://[::1]:9000",
            "http://user@127.0.0.2/",
        ] {
            s.auth.issuer = fine.into();
            assert!(!s.auth.issuer_over_plain_http(), "{fine}");
            assert!(s.insecure_dev_defaults(true).is_empty(), "{fine}: {:?}", s.insecure_dev_defaults(true));
        }
        // Development tokens are not fetched from anywhere: their issuer is only a name.
        s.auth.mode = AuthMode::Development;
        s.auth.issuer = "http://sso.example".into();
        assert!(!s.auth.issuer_over_plain_http());
    }

    #[test]
    fn new_deployment_settings_from_environment() {
        let s = Settings::load_from(
            None,
            vec![
                ("BANGBAN__NATS__USER".into(), "intake".into()),
                ("BANGBAN__NATS__PASSWORD".into(), "pw".into()),
                ("BANGBAN__NATS__STREAM_REPLICAS".into(), "3".into()),
                ("BANGBAN__HTTP__METRICS_LISTEN".into(), "0.0.0.0:9090".into()),
                ("BANGBAN__DATABASE__MIGRATE".into(), "verify".into()),
                ("BANGBAN__DATABASE__MIGRATE_WAIT".into(), "5000".into()),
                ("BANGBAN__HTTP__STREAMS_PER_PERSON".into(), "5".into()),
                ("BANGBAN__HTTP__STREAMS_MAX".into(), "200".into()),
            ],
        )
        .unwrap();
        assert_eq!((s.http.streams_per_person, s.http.streams_max), (5, 200));
        assert_eq!(s.nats.user.as_deref(), Some("intake"));
        assert_eq!(s.nats.stream_replicas, 3);
        assert_eq!(s.http.metrics_listen, Some("0.0.0.0:9090".parse().unwrap()));
        assert_eq!(s.database.migrate, MigrateMode::Verify);
        assert_eq!(s.database.migrate_wait, Duration::from_secs(5));
        let d = Settings::load_from(None, Vec::<(String, String)>::new()).unwrap();
        assert_eq!((d.database.migrate, d.nats.stream_replicas, d.http.metrics_listen), (MigrateMode::Auto, 1, None));
        assert_eq!((d.http.streams_per_person, d.http.streams_max), (3, 1000));
    }
}
