//! Settings of the gateway's browser side (`BANGBAN__WEB__…`): sessions and their cookies, the OIDC
//! authorization-code login, rate limits and the audit log (审计日志).

use secrecy::SecretString;
use serde::Deserialize;

/// Sessions, login, rate limits and audit (`BANGBAN__WEB__…`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct WebSettings {
    /// How long a console session (会话) lasts after login, in seconds (8 hours: a working day).
    pub session_ttl_secs: u64,
    /// Session and login cookies carry `Secure` (sent over HTTPS only; browsers also accept them from
    /// `http://localhost` and `http://127.0.0.1`). Turn off only for a plain-HTTP test host by name.
    pub secure_cookies: bool,
    /// OIDC client id of the console (authorization-code flow with PKCE); unset: no OIDC login offered.
    pub oidc_client_id: Option<String>,
    /// OIDC client secret, when the issuer requires a confidential client (`client_secret_post`).
    pub oidc_client_secret: Option<SecretString>,
    /// The redirect URI registered with the issuer; unset: `<http.public_url>/auth/callback`.
    pub oidc_redirect_url: Option<String>,
    /// Scopes asked for (space-separated); `openid` is always included.
    pub oidc_scopes: String,
    /// Login attempts allowed per client address per minute (登录限流).
    pub login_per_minute: u32,
    /// OIDC logins started per minute by the whole gateway, every address together (each stores a login in
    /// progress until `login_ttl_secs`: this bounds them however many addresses an attacker has).
    pub login_starts_per_minute: u32,
    /// Requests per client address per minute to the token-less public endpoints (provider hooks,
    /// evaluation by one-time code).
    pub public_per_minute: u32,
    /// Deprecated alias: `true` trusts the loopback and private networks as proxies (see `trusted_proxies`).
    pub trust_forwarded_for: bool,
    /// `BANGBAN__WEB__TRUSTED_PROXIES`: networks of the proxies in front of the gateway (the ingress
    /// controller's pods), comma-separated CIDRs such as `10.0.0.0/8,fd00::/8`. When the connecting peer is
    /// one of them, the client address is the rightmost `X-Forwarded-For` entry that is not; otherwise the
    /// header is ignored. Empty: the peer's address is the client's.
    #[serde(deserialize_with = "crate::web_settings::comma_list")]
    pub trusted_proxies: Vec<String>,
    /// Days the audit log keeps a record (at least 180).
    pub audit_retention_days: u32,
    /// `BANGBAN__WEB__AUDIT_MAX_BYTES`: the size limit (容量上限) of the audit stream `BANGBAN_AUDIT`
    /// (`max_bytes`, discard `new`: a full log refuses new records rather than dropping old ones, and the
    /// gateway then refuses writes with 503 until there is room). Reserved against the NATS account.
    pub audit_max_bytes: u64,
    /// Refused anonymous writes (未认证的被拒写请求) recorded one by one per minute, all client addresses
    /// together (at most 2 per address); the rest are counted in one summary record (汇总记录) a minute.
    pub audit_anonymous_refusals_per_minute: u32,
    /// Refused writes of one signed-in person recorded one by one per minute; the rest are counted in one
    /// summary record a minute per person.
    pub audit_actor_refusals_per_minute: u32,
    /// Audit records kept in memory while they cannot be stored (the bus unreachable, the log full), retried
    /// until stored; beyond this many a record is dropped and counted (`bangban_audit_dropped_total`).
    pub audit_queue_capacity: usize,
    /// `BANGBAN__WEB__SESSIONS_MAX_BYTES`: the size limit of the session stream `BANGBAN_SESSIONS` (sessions
    /// and OIDC logins in progress; discard `new`: a full store refuses new logins, never ends a session).
    pub sessions_max_bytes: u64,
    /// How long an OIDC login may take between `/auth/oidc/start` and `/auth/callback`, in seconds; an
    /// unfinished login is removed from the session stream after this.
    pub login_ttl_secs: u64,
    /// Writes (POST, PUT, PATCH, DELETE) one signed-in person (`sub`) may send per minute and gateway
    /// replica (写请求限流); more get 429.
    pub writes_per_minute: u32,
}

impl Default for WebSettings {
    fn default() -> Self {
        Self {
            session_ttl_secs: 8 * 3600,
            secure_cookies: true,
            oidc_client_id: None,
            oidc_client_secret: None,
            oidc_redirect_url: None,
            oidc_scopes: "openid profile".into(),
            login_per_minute: 10,
            login_starts_per_minute: 600,
            public_per_minute: 60,
            trust_forwarded_for: false,
            trusted_proxies: Vec::new(),
            audit_retention_days: 400,
            audit_max_bytes: 2 << 30,
            audit_anonymous_refusals_per_minute: 10,
            audit_actor_refusals_per_minute: 30,
            audit_queue_capacity: 10_000,
            sessions_max_bytes: 256 << 20,
            login_ttl_secs: 600,
            writes_per_minute: 600,
        }
    }
}

impl WebSettings {
    /// The shortest retention the audit log may be configured with (days).
    pub const MIN_AUDIT_RETENTION_DAYS: u32 = 180;

    /// The retention in effect: the configured days, never below [`Self::MIN_AUDIT_RETENTION_DAYS`].
    pub fn audit_retention_days(&self) -> u32 {
        self.audit_retention_days.max(Self::MIN_AUDIT_RETENTION_DAYS)
    }
}

/// A list given as a sequence (TOML) or as one comma-separated string (environment variables).
pub(crate) fn comma_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        One(String),
        Many(Vec<String>),
    }
    let items = match Raw::deserialize(d)? {
        Raw::One(s) => s.split(',').map(str::to_string).collect::<Vec<_>>(),
        Raw::Many(v) => v,
    };
    Ok(items.into_iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
}
