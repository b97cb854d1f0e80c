//! Settings of the gateway's browser side (`BANGBAN__WEB__…`, `[web]` in the file): sessions and their
//! cookies, the OIDC authorization-code login, rate limits and the audit log (审计日志). The gateway owns
//! them and reads them once, when it builds its state ([`WebSettings::from_settings`]).

use bangban_platform::{
    Settings,
    net::{CidrError, TrustedProxies},
    service::ServiceSettings,
};
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
    #[serde(deserialize_with = "comma_list")]
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
    /// The section's name: `BANGBAN__WEB__…` variables, `[web]` in the file.
    pub const SECTION: &'static str = "web";

    /// The shortest retention the audit log may be configured with (days).
    pub const MIN_AUDIT_RETENTION_DAYS: u32 = 180;

    /// The retention in effect: the configured days, never below [`Self::MIN_AUDIT_RETENTION_DAYS`].
    pub fn audit_retention_days(&self) -> u32 {
        self.audit_retention_days.max(Self::MIN_AUDIT_RETENTION_DAYS)
    }

    /// The gateway's settings from the `web` section of `settings` (its defaults where unset), checked
    /// ([`ServiceSettings::problems`]).
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        let web: Self = settings.section(Self::SECTION)?;
        let problems = web.problems();
        if !problems.is_empty() {
            anyhow::bail!("{} settings (BANGBAN__WEB__…): {}", Self::SECTION, problems.join("; "));
        }
        Ok(web)
    }

    /// The proxies whose `X-Forwarded-For` is believed: `trusted_proxies`, or the loopback and private
    /// networks ([`TrustedProxies::PRIVATE`]) when only the older `trust_forwarded_for` is set.
    pub fn trusted_proxies(&self) -> Result<TrustedProxies, CidrError> {
        if self.trusted_proxies.is_empty() && self.trust_forwarded_for {
            return TrustedProxies::parse(&TrustedProxies::PRIVATE);
        }
        TrustedProxies::parse(&self.trusted_proxies)
    }
}

impl ServiceSettings for WebSettings {
    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if let Err(e) = self.trusted_proxies() {
            problems.push(format!("trusted_proxies (BANGBAN__WEB__TRUSTED_PROXIES): {e}"));
        }
        problems
    }
}

/// A list given as a sequence (TOML) or as one comma-separated string (environment variables).
fn comma_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
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

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn defaults_are_usable() {
        assert_eq!(WebSettings::default().problems(), Vec::<String>::new());
        let web = WebSettings::from_settings(&Settings::default()).unwrap();
        assert_eq!(web.session_ttl_secs, 8 * 3600);
        assert!(web.secure_cookies && web.trusted_proxies.is_empty());
    }

    #[test]
    fn read_from_the_web_section_under_the_same_names() {
        let vars = [
            ("BANGBAN__WEB__TRUSTED_PROXIES", "10.0.0.0/8, fd00::/8"),
            ("BANGBAN__WEB__SESSION_TTL_SECS", "3600"),
            ("BANGBAN__WEB__SECURE_COOKIES", "false"),
            ("BANGBAN__WEB__OIDC_CLIENT_ID", "bangban-console"),
            ("BANGBAN__WEB__AUDIT_MAX_BYTES", "4096"),
            ("BANGBAN__WEB__WRITES_PER_MINUTE", "20"),
        ];
        let s = Settings::load_from(None, vars.map(|(k, v)| (k.to_string(), v.to_string()))).unwrap();
        let web = WebSettings::from_settings(&s).unwrap();
        assert_eq!(web.trusted_proxies, vec!["10.0.0.0/8".to_string(), "fd00::/8".to_string()]);
        assert_eq!((web.session_ttl_secs, web.secure_cookies), (3600, false));
        assert_eq!(web.oidc_client_id.as_deref(), Some("bangban-console"));
        assert_eq!((web.audit_max_bytes, web.writes_per_minute), (4096, 20));
        assert_eq!(web.login_per_minute, 10, "unset: the default");

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bangban.toml");
        std::fs::write(&file, "[web]\ntrusted_proxies = [\"10.42.0.0/16\"]\nlogin_per_minute = 3\n").unwrap();
        let s = Settings::load_from(Some(&file), Vec::<(String, String)>::new()).unwrap();
        let web = WebSettings::from_settings(&s).unwrap();
        assert_eq!((web.trusted_proxies, web.login_per_minute), (vec!["10.42.0.0/16".to_string()], 3));

        let d = WebSettings::from_settings(&Settings::load_from(None, Vec::<(String, String)>::new()).unwrap());
        assert!(d.unwrap().trusted_proxies.is_empty());
    }

    #[test]
    fn a_set_section_wins() {
        let mut s = Settings::default();
        s.set_section(WebSettings::SECTION, WebSettings { login_per_minute: 5, ..WebSettings::default() });
        assert_eq!(WebSettings::from_settings(&s).unwrap().login_per_minute, 5);
    }

    #[test]
    fn networks_that_are_not_networks_are_refused_by_name() {
        let web = WebSettings { trusted_proxies: vec!["10.0.0.0/8".into(), "nope".into()], ..Default::default() };
        let problems = web.problems();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].starts_with("trusted_proxies") && problems[0].contains("\"nope\""), "{problems:?}");
        let s =
            Settings::load_from(None, vec![("BANGBAN__WEB__TRUSTED_PROXIES".into(), "10.0.0.0/33".into())]).unwrap();
        let e = WebSettings::from_settings(&s).unwrap_err().to_string();
        assert!(e.contains("BANGBAN__WEB__TRUSTED_PROXIES") && e.contains("10.0.0.0/33"), "{e}");
    }

    #[test]
    fn settings_choose_the_networks() {
        let mut web = WebSettings::default();
        assert!(web.trusted_proxies().unwrap().is_empty());
        web.trust_forwarded_for = true;
        assert!(web.trusted_proxies().unwrap().contains(ip("192.168.1.1")));
        web.trusted_proxies = vec!["100.64.0.0/10".into()];
        let p = web.trusted_proxies().unwrap();
        assert!(p.contains(ip("100.64.1.1")) && !p.contains(ip("192.168.1.1")));
        web.trusted_proxies = vec!["nope".into()];
        assert!(web.trusted_proxies().is_err());
    }

    #[test]
    fn retention_is_never_below_the_minimum() {
        let web = WebSettings { audit_retention_days: 30, ..Default::default() };
        assert_eq!(web.audit_retention_days(), WebSettings::MIN_AUDIT_RETENTION_DAYS);
        assert_eq!(WebSettings::default().audit_retention_days(), 400);
    }
}
