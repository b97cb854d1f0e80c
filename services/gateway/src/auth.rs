//! Authentication (身份认证): bearer JWTs, their claims, roles, and the axum extractor handlers use.
//!
//! Every request to the API carries `Authorization: Bearer <JWT>` with the claims `sub`, `role`,
//! `office` (six-digit administrative division code, 行政区划代码), `unit` and `applicant`.
//!
//! * **Development** ([`AuthMode::Development`]): tokens are signed and verified with a local HS256
//!   secret — `auth.dev_secret`, or one generated once into `<data_dir>/dev-jwt-secret` so that
//!   `bangban serve` and `bangban token` (separate processes) agree on it.
//! * **OIDC** ([`AuthMode::Oidc`]): tokens are verified against the issuer's JWKS, found through
//!   `{issuer}/.well-known/openid-configuration`, cached for `auth.jwks_ttl_secs` and fetched again
//!   — at most once every 30 seconds — when a token names a key id the cache does not know, so a
//!   rotated key works at once but a flood of made-up key ids does not hammer the issuer. Only
//!   asymmetric algorithms (RS*, PS*, ES256, ES384, EdDSA) are accepted; never `none` nor HS*.
//!   The issuer must be an `https://` URL (plain `http://` only on a loopback host, or with
//!   `allow_insecure_dev`), and every token must name the audience (受众) `auth.audience` — by default
//!   the console's client id `web.oidc_client_id`; with neither set the authenticator is not built.
//!
//! In OIDC mode the HTTP client uses rustls without a built-in provider: the process must install
//! one (`rustls::crypto::ring::default_provider().install_default()`) before
//! [`Authenticator::from_settings`].
//!
//! Handlers take a [`Principal`] argument; a missing or bad token becomes a 401
//! `application/problem+json` response with `WWW-Authenticate: Bearer` (503 when the issuer cannot
//! be reached). The token itself never reaches a log or a span.

use std::{
    fmt,
    io::Write,
    path::Path,
    str::FromStr,
    sync::{Arc, PoisonError, RwLock},
    time::{Duration, Instant},
};

use axum::{
    extract::{FromRef, FromRequestParts, OptionalFromRequestParts},
    http::{HeaderMap, header, request::Parts},
    response::{IntoResponse, Response},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{
    Algorithm, DecodingKey, EncodingKey, Header, Validation,
    errors::ErrorKind,
    jwk::{AlgorithmParameters, EllipticCurve, Jwk, PublicKeyUse},
};
use secrecy::ExposeSecret;
use serde::{Deserialize, Deserializer, Serialize, de::DeserializeOwned};

use bangban_platform::{
    config::{AuthMode, AuthSettings, Settings},
    problem::Problem,
};

use crate::settings::WebSettings;

/// Name of the file under the data directory that holds the generated development secret.
pub const DEV_SECRET_FILE: &str = "dev-jwt-secret";

/// Shortest accepted development secret, in bytes.
const MIN_DEV_SECRET_LEN: usize = 16;
/// Tokens longer than this are rejected unread.
const MAX_TOKEN_LEN: usize = 16 * 1024;
/// Largest discovery document or JWKS accepted from the issuer.
const MAX_ISSUER_RESPONSE: usize = 1024 * 1024;
/// A token with an unknown key id makes the JWKS be fetched again at most this often.
const UNKNOWN_KID_REFETCH_INTERVAL: Duration = Duration::from_secs(30);
/// After a failed JWKS fetch, ordinary refreshes wait this long before trying again.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(5);
/// Connect timeout towards the issuer.
const ISSUER_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Whole-request timeout towards the issuer.
const ISSUER_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Algorithms accepted in OIDC mode: asymmetric ones only.
const OIDC_ALGORITHMS: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

// ---------------------------------------------------------------------------------------------
// Roles
// ---------------------------------------------------------------------------------------------

/// What a person (or system) does on the platform (角色). Serialized in lower snake case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 申请人 — the enterprise or person applying for construction approvals; the `applicant`
    /// claim names whom they act for.
    Applicant,
    /// 帮办员 — helps applicants prepare and submit their matters.
    Assistant,
    /// 代办员 — handles matters on an applicant's behalf.
    Agent,
    /// 专家 — technical reviewer (技术审查专家) called in on a matter.
    Expert,
    /// 审批业务人员 — approval official of a department; the `unit` claim names the department.
    Officer,
    /// 机构管理员 — administers the office (办事机构) named by the `office` claim.
    OfficeAdmin,
    /// 监督人员 — oversees timeliness and conduct (效能监督).
    Supervisor,
    /// 系统对接方 — another system integrated with the platform.
    Integrator,
}

impl Role {
    /// Every role, in declaration order.
    pub const ALL: [Role; 8] = [
        Role::Applicant,
        Role::Assistant,
        Role::Agent,
        Role::Expert,
        Role::Officer,
        Role::OfficeAdmin,
        Role::Supervisor,
        Role::Integrator,
    ];

    /// The wire name (`office_admin`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Applicant => "applicant",
            Role::Assistant => "assistant",
            Role::Agent => "agent",
            Role::Expert => "expert",
            Role::Officer => "officer",
            Role::OfficeAdmin => "office_admin",
            Role::Supervisor => "supervisor",
            Role::Integrator => "integrator",
        }
    }

    /// The Chinese name shown to people (`帮办员`).
    pub const fn label_zh(self) -> &'static str {
        match self {
            Role::Applicant => "申请人",
            Role::Assistant => "帮办员",
            Role::Agent => "代办员",
            Role::Expert => "专家",
            Role::Officer => "审批业务人员",
            Role::OfficeAdmin => "机构管理员",
            Role::Supervisor => "监督人员",
            Role::Integrator => "系统对接方",
        }
    }

    /// People working for the government service side: assistants, agents, officers, office
    /// administrators and supervisors (not applicants, experts or integrated systems).
    pub const fn is_staff(self) -> bool {
        matches!(self, Role::Assistant | Role::Agent | Role::Officer | Role::OfficeAdmin | Role::Supervisor)
    }

    /// Roles that help applicants with their matters (帮办代办): assistants and agents.
    pub const fn is_helper(self) -> bool {
        matches!(self, Role::Assistant | Role::Agent)
    }

    /// Whether the role's tokens must carry an `applicant` claim.
    pub const fn requires_applicant(self) -> bool {
        matches!(self, Role::Applicant)
    }

    /// Whether the role's tokens must carry a `unit` claim.
    pub const fn requires_unit(self) -> bool {
        matches!(self, Role::Officer)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that names no [`Role`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown role {0:?}; expected one of applicant, assistant, agent, expert, officer, office_admin, supervisor, integrator"
)]
pub struct ParseRoleError(pub String);

impl FromStr for Role {
    type Err = ParseRoleError;

    /// Accepts the wire name, case-insensitively, with `-` in place of `_` (`office-admin`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase().replace('-', "_");
        Role::ALL.into_iter().find(|r| r.as_str() == wanted).ok_or_else(|| ParseRoleError(s.to_string()))
    }
}

// ---------------------------------------------------------------------------------------------
// Claims and principal
// ---------------------------------------------------------------------------------------------

/// The claims of a Bangban token (令牌声明).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Subject: the stable id of the person or system.
    pub sub: String,
    /// What the subject does on the platform.
    pub role: Role,
    /// Six-digit administrative division code of the office (`330100`).
    pub office: String,
    /// Department (审批部门) of an officer; required for [`Role::Officer`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// The applicant an [`Role::Applicant`] token acts for; required for that role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applicant: Option<String>,
    /// Issuer.
    pub iss: String,
    /// Audience. A token naming several audiences decodes to the first one (the verifier has
    /// already checked that the configured audience is among them).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "one_audience")]
    pub aud: Option<String>,
    /// Expiry, seconds since the Unix epoch.
    pub exp: i64,
    /// Issue time, seconds since the Unix epoch (0 when the issuer left it out).
    #[serde(default)]
    pub iat: i64,
}

fn one_audience<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Aud {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<Aud>::deserialize(d)? {
        None => None,
        Some(Aud::One(a)) => Some(a),
        Some(Aud::Many(v)) => v.into_iter().next(),
    })
}

impl Claims {
    /// Checks what the signature cannot: a non-empty `sub`, a six-digit `office`, an `applicant`
    /// for applicants and a `unit` for officers.
    pub fn validate(&self) -> Result<(), AuthError> {
        if self.sub.trim().is_empty() {
            return Err(AuthError::InvalidClaims("`sub` must not be empty".into()));
        }
        if !is_division_code(&self.office) {
            return Err(AuthError::InvalidClaims("`office` must be a six-digit administrative division code".into()));
        }
        if self.role.requires_applicant() && blank(&self.applicant) {
            return Err(AuthError::InvalidClaims("`applicant` is required for the applicant role".into()));
        }
        if self.role.requires_unit() && blank(&self.unit) {
            return Err(AuthError::InvalidClaims("`unit` is required for the officer role".into()));
        }
        Ok(())
    }
}

fn blank(v: &Option<String>) -> bool {
    v.as_deref().is_none_or(|s| s.trim().is_empty())
}

/// Whether `s` is six ASCII digits.
fn is_division_code(s: &str) -> bool {
    s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Who is calling (调用者), as handlers see it once the token has been verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Principal {
    /// Stable id of the person or system.
    pub sub: String,
    /// What they do on the platform.
    pub role: Role,
    /// Six-digit administrative division code of their office.
    pub office: String,
    /// Department of an officer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// The applicant an applicant acts for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applicant: Option<String>,
}

impl Principal {
    /// Whether the principal has one of `roles`.
    pub fn has_role(&self, roles: &[Role]) -> bool {
        roles.contains(&self.role)
    }

    /// `Ok` when the principal has one of `roles`, otherwise [`Forbidden`] (a 403 problem
    /// naming the roles once converted).
    pub fn require_role(&self, roles: &[Role]) -> Result<(), Forbidden> {
        if self.has_role(roles) { Ok(()) } else { Err(Forbidden { required: roles.to_vec() }) }
    }
}

/// The principal has none of the roles an operation requires; becomes a 403 [`Problem`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forbidden {
    /// The roles that would have been allowed.
    pub required: Vec<Role>,
}

impl fmt::Display for Forbidden {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let en: Vec<&str> = self.required.iter().map(|r| r.as_str()).collect();
        write!(f, "this operation is reserved to the roles {}", en.join(", "))
    }
}

impl std::error::Error for Forbidden {}

impl From<Forbidden> for Problem {
    fn from(e: Forbidden) -> Self {
        let zh: Vec<&str> = e.required.iter().map(|r| r.label_zh()).collect();
        Problem::forbidden(format!("此操作仅限{}", zh.join("、")), e.to_string())
    }
}

impl IntoResponse for Forbidden {
    fn into_response(self) -> Response {
        Problem::from(self).into_response()
    }
}

impl From<Claims> for Principal {
    fn from(c: Claims) -> Self {
        Self { sub: c.sub, role: c.role, office: c.office, unit: c.unit, applicant: c.applicant }
    }
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// Why a token was not accepted, or the authenticator could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization: Bearer …` header.
    #[error("no bearer token")]
    Missing,
    /// The header or the token is not shaped like a JWT.
    #[error("malformed bearer token")]
    Malformed,
    /// The signature does not verify, the algorithm is not accepted, or the key is unknown.
    #[error("bad token signature")]
    BadSignature,
    /// `exp` is past, beyond the allowed clock skew.
    #[error("token expired")]
    Expired,
    /// `iss` is not the configured issuer.
    #[error("token issued by an unexpected issuer")]
    WrongIssuer,
    /// `aud` is missing or not the configured audience.
    #[error("token issued for another audience")]
    WrongAudience,
    /// The claims are missing or wrong (the reason is safe to show the client).
    #[error("invalid token claims: {0}")]
    InvalidClaims(String),
    /// The OIDC issuer or its JWKS cannot be reached or read; the text is for the log only.
    #[error("identity provider unavailable: {0}")]
    IssuerUnavailable(String),
    /// The authenticator is misconfigured or asked for something its mode cannot do.
    #[error("authentication configuration: {0}")]
    Config(String),
}

impl AuthError {
    /// Whether the client is at fault (a 401), as opposed to the issuer or our configuration.
    pub fn is_client_error(&self) -> bool {
        !matches!(self, AuthError::IssuerUnavailable(_) | AuthError::Config(_))
    }
}

impl From<AuthError> for Problem {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Missing => Problem::unauthorized(
                "缺少身份令牌，请在 Authorization 请求头中以 Bearer 方式提供",
                "no bearer token; send one in the Authorization header",
            ),
            AuthError::Malformed => Problem::unauthorized("身份令牌格式错误", "the bearer token is malformed"),
            AuthError::BadSignature => Problem::unauthorized(
                "身份令牌签名无效或签名密钥未知",
                "the token signature is invalid or its key is unknown",
            ),
            AuthError::Expired => {
                Problem::unauthorized("身份令牌已过期，请重新登录", "the token has expired; sign in again")
            }
            AuthError::WrongIssuer => {
                Problem::unauthorized("身份令牌的签发方不受信任", "the token was issued by an untrusted issuer")
            }
            AuthError::WrongAudience => {
                Problem::unauthorized("身份令牌不是签发给本系统的", "the token was not issued for this service")
            }
            AuthError::InvalidClaims(reason) => Problem::unauthorized(
                format!("身份令牌中的声明无效：{reason}"),
                format!("the token's claims are invalid: {reason}"),
            ),
            AuthError::IssuerUnavailable(_) => Problem::unavailable(
                "身份认证服务暂不可用，请稍后重试",
                "the identity provider cannot be reached; try again later",
            ),
            AuthError::Config(_) => Problem::internal(),
        }
    }
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        Problem::from(self).into_response()
    }
}

fn map_jwt_error(e: jsonwebtoken::errors::Error) -> AuthError {
    match e.kind() {
        ErrorKind::InvalidToken | ErrorKind::Base64(_) | ErrorKind::Utf8(_) => AuthError::Malformed,
        ErrorKind::ExpiredSignature => AuthError::Expired,
        ErrorKind::InvalidIssuer => AuthError::WrongIssuer,
        ErrorKind::InvalidAudience => AuthError::WrongAudience,
        ErrorKind::MissingRequiredClaim(c) if c == "aud" => AuthError::WrongAudience,
        ErrorKind::MissingRequiredClaim(c) => AuthError::InvalidClaims(format!("claim `{c}` is missing")),
        ErrorKind::InvalidClaimFormat(c) => AuthError::InvalidClaims(format!("claim `{c}` has the wrong format")),
        ErrorKind::ImmatureSignature => AuthError::InvalidClaims("the token is not valid yet (`nbf`)".into()),
        ErrorKind::InvalidSubject => AuthError::InvalidClaims("unexpected `sub`".into()),
        // The header was read before decoding, so a JSON error is about the claims. serde's
        // message names the field and the expected values and holds nothing internal.
        ErrorKind::Json(err) => AuthError::InvalidClaims(err.to_string()),
        _ => AuthError::BadSignature,
    }
}

// ---------------------------------------------------------------------------------------------
// Authenticator
// ---------------------------------------------------------------------------------------------

/// Verifies (and in development mode issues) tokens. Cheap to clone; put it in the router state.
#[derive(Clone)]
pub struct Authenticator {
    inner: Arc<Inner>,
}

struct Inner {
    issuer: String,
    audience: Option<String>,
    leeway_secs: u64,
    backend: Backend,
}

enum Backend {
    Development { encoding: EncodingKey, decoding: DecodingKey },
    Oidc(Oidc),
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field("mode", &self.mode())
            .field("issuer", &self.inner.issuer)
            .field("audience", &self.inner.audience)
            .finish_non_exhaustive()
    }
}

impl Authenticator {
    /// Builds the authenticator the configuration asks for.
    ///
    /// Development mode reads `auth.dev_secret`, else `<data_dir>/dev-jwt-secret`, generating it
    /// (32 random bytes, base64url, mode 0600) when absent. OIDC mode fetches nothing yet: the
    /// discovery document and JWKS are fetched on the first verification (or
    /// [`Authenticator::prefetch`]).
    ///
    /// # Panics
    ///
    /// In OIDC mode, when no rustls crypto provider has been installed in the process.
    pub fn from_settings(settings: &Settings) -> Result<Self, AuthError> {
        let web: WebSettings = settings
            .section(WebSettings::SECTION)
            .map_err(|e| AuthError::Config(format!("the web settings (BANGBAN__WEB__…): {e}")))?;
        Self::new(settings, &web)
    }

    /// As [`Authenticator::from_settings`], with the gateway's settings already read (the default audience
    /// in OIDC mode is `web.oidc_client_id`).
    ///
    /// # Panics
    ///
    /// In OIDC mode, when no rustls crypto provider has been installed in the process.
    pub fn new(settings: &Settings, web: &WebSettings) -> Result<Self, AuthError> {
        let auth = &settings.auth;
        if auth.issuer.trim().is_empty() {
            return Err(AuthError::Config("auth.issuer must not be empty".into()));
        }
        let configured = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(String::from);
        let audience = match auth.mode {
            AuthMode::Development => configured(&auth.audience),
            // A token the issuer minted for another application (another client of the same realm) must not
            // open this one: the audience is required, by default the console's own client id.
            AuthMode::Oidc => {
                Some(configured(&auth.audience).or_else(|| configured(&web.oidc_client_id)).ok_or_else(|| {
                    AuthError::Config(
                        "in OIDC mode tokens are checked for their audience: set BANGBAN__AUTH__AUDIENCE (the `aud` \
                         the issuer puts in Bangban's access tokens), or BANGBAN__WEB__OIDC_CLIENT_ID, its default"
                            .into(),
                    )
                })?)
            }
        };
        let backend = match auth.mode {
            AuthMode::Development => {
                let secret = match &auth.dev_secret {
                    Some(s) => s.expose_secret().as_bytes().to_vec(),
                    None => load_or_create_dev_secret(&settings.data_dir)?,
                };
                if secret.len() < MIN_DEV_SECRET_LEN {
                    return Err(AuthError::Config(format!(
                        "the development secret must be at least {MIN_DEV_SECRET_LEN} bytes long"
                    )));
                }
                Backend::Development {
                    encoding: EncodingKey::from_secret(&secret),
                    decoding: DecodingKey::from_secret(&secret),
                }
            }
            AuthMode::Oidc => Backend::Oidc(Oidc::new(auth, settings.allow_insecure_dev)?),
        };
        Ok(Self {
            inner: Arc::new(Inner { issuer: auth.issuer.clone(), audience, leeway_secs: auth.leeway_secs, backend }),
        })
    }

    /// The mode this authenticator works in.
    pub fn mode(&self) -> AuthMode {
        match self.inner.backend {
            Backend::Development { .. } => AuthMode::Development,
            Backend::Oidc(_) => AuthMode::Oidc,
        }
    }

    /// The expected (and, in development mode, issued) `iss`.
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// The audience every token must name (`aud`); `None` in development mode when none is configured.
    pub fn audience(&self) -> Option<&str> {
        self.inner.audience.as_deref()
    }

    /// Whether the claims of an ID token — received directly from the issuer's token endpoint, so not verified
    /// again — were issued by this issuer for the client `client_id` (OIDC Core §3.1.3.7, 2–5): `iss` is the
    /// issuer, `aud` (a string or a list) names `client_id`, and `azp`, required when there are several
    /// audiences, is `client_id`.
    pub fn id_token_is_for(&self, claims: &serde_json::Value, client_id: &str) -> bool {
        let issuer = |v: &str| v.trim_end_matches('/').to_string();
        let iss_ok =
            claims.get("iss").and_then(serde_json::Value::as_str).map(issuer) == Some(issuer(self.inner.issuer.trim()));
        let audiences: Vec<&str> = match claims.get("aud") {
            Some(serde_json::Value::String(a)) => vec![a.as_str()],
            Some(serde_json::Value::Array(list)) => list.iter().filter_map(serde_json::Value::as_str).collect(),
            _ => Vec::new(),
        };
        let azp = claims.get("azp").map(|v| v.as_str() == Some(client_id));
        let azp_ok = match azp {
            Some(matches) => matches,
            None => audiences.len() == 1,
        };
        iss_ok && audiences.contains(&client_id) && azp_ok
    }

    /// Fetches the OIDC discovery document and JWKS now, e.g. at start or in a readiness check.
    /// Does nothing in development mode.
    pub async fn prefetch(&self) -> Result<(), AuthError> {
        match &self.inner.backend {
            Backend::Development { .. } => Ok(()),
            Backend::Oidc(oidc) => {
                let generation = oidc.snapshot().generation;
                oidc.refresh(Refresh::Scheduled, generation).await
            }
        }
    }

    /// Verifies a bearer token (without the `Bearer ` prefix) and returns who it names.
    pub async fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        let token = token.trim();
        if token.is_empty() {
            return Err(AuthError::Missing);
        }
        if token.len() > MAX_TOKEN_LEN {
            return Err(AuthError::Malformed);
        }
        let alg = peek_algorithm(token)?;
        let claims = match &self.inner.backend {
            Backend::Development { decoding, .. } => {
                if alg != Algorithm::HS256 {
                    return Err(AuthError::BadSignature);
                }
                jsonwebtoken::decode::<Claims>(token, decoding, &self.validation(alg)).map_err(map_jwt_error)?.claims
            }
            Backend::Oidc(oidc) => {
                if !OIDC_ALGORITHMS.contains(&alg) {
                    return Err(AuthError::BadSignature);
                }
                let header = jsonwebtoken::decode_header(token).map_err(|_| AuthError::Malformed)?;
                oidc.verify(token, alg, header.kid.as_deref(), &self.validation(alg)).await?
            }
        };
        claims.validate()?;
        Ok(Principal::from(claims))
    }

    /// Signs `claims` with the development secret (HS256). The claims are checked as
    /// [`Claims::validate`] does; `iss`, `aud` and `exp` are signed as given.
    pub fn issue_dev_token(&self, claims: &Claims) -> Result<String, AuthError> {
        let Backend::Development { encoding, .. } = &self.inner.backend else {
            return Err(AuthError::Config("tokens can only be issued in development mode; ask the OIDC issuer".into()));
        };
        claims.validate()?;
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, encoding)
            .map_err(|e| AuthError::Config(format!("cannot sign the token: {e}")))
    }

    /// Issues a development token valid for `ttl` from now, with the configured issuer and
    /// audience (what `bangban token` prints).
    pub fn issue(
        &self,
        sub: impl Into<String>,
        role: Role,
        office: impl Into<String>,
        unit: Option<String>,
        applicant: Option<String>,
        ttl: Duration,
    ) -> Result<String, AuthError> {
        // The wall clock, not the platform clock: token lifetimes are security, which a rehearsal clock must not fool.
        let now = chrono::Utc::now().timestamp();
        let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
        let claims = Claims {
            sub: sub.into(),
            role,
            office: office.into(),
            unit,
            applicant,
            iss: self.inner.issuer.clone(),
            aud: self.inner.audience.clone(),
            exp: now.saturating_add(ttl),
            iat: now,
        };
        self.issue_dev_token(&claims)
    }

    fn validation(&self, alg: Algorithm) -> Validation {
        let mut v = Validation::new(alg);
        v.leeway = self.inner.leeway_secs;
        // jsonwebtoken checks `exp`/`nbf` against the wall clock, never the platform clock: security is not rehearsed.
        v.validate_exp = true;
        v.validate_nbf = true;
        v.set_issuer(&[self.inner.issuer.as_str()]);
        let mut required = vec!["exp", "iss", "sub"];
        match &self.inner.audience {
            Some(aud) => {
                v.set_audience(&[aud.as_str()]);
                required.push("aud");
            }
            None => v.validate_aud = false,
        }
        v.set_required_spec_claims(&required);
        v
    }
}

/// Reads the `alg` of the token's header without trusting anything else in it. Algorithms
/// jsonwebtoken does not know (`none` among them) are a bad signature, an unreadable header is
/// malformed.
fn peek_algorithm(token: &str) -> Result<Algorithm, AuthError> {
    #[derive(Deserialize)]
    struct RawHeader {
        alg: String,
    }
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(AuthError::Malformed);
    };
    let bytes = URL_SAFE_NO_PAD.decode(header.trim_end_matches('=')).map_err(|_| AuthError::Malformed)?;
    let raw: RawHeader = serde_json::from_slice(&bytes).map_err(|_| AuthError::Malformed)?;
    Algorithm::from_str(&raw.alg).map_err(|_| AuthError::BadSignature)
}

/// The development secret stored under `data_dir`, created on first use.
fn load_or_create_dev_secret(data_dir: &Path) -> Result<Vec<u8>, AuthError> {
    let path = data_dir.join(DEV_SECRET_FILE);
    if let Some(secret) = read_secret_file(&path)? {
        return Ok(secret);
    }
    std::fs::create_dir_all(data_dir)
        .map_err(|e| AuthError::Config(format!("cannot create the data directory {}: {e}", data_dir.display())))?;
    let secret = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());

    // Write a private temporary file, then link it into place: the link fails if another process
    // got there first, and nobody ever sees a half-written secret.
    let tmp = data_dir.join(format!(".{DEV_SECRET_FILE}.{}.{}.tmp", std::process::id(), uuid::Uuid::new_v4()));
    let result = write_private(&tmp, secret.as_bytes()).and_then(|()| std::fs::hard_link(&tmp, &path));
    let _ = std::fs::remove_file(&tmp);
    match result {
        Ok(()) => {
            tracing::info!(path = %path.display(), "generated a development JWT secret");
            Ok(secret.into_bytes())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            read_secret_file(&path)?.ok_or_else(|| AuthError::Config(format!("{} is empty", path.display())))
        }
        Err(_) => {
            // Hard links unsupported here: fall back to an exclusive create.
            match write_private(&path, secret.as_bytes()) {
                Ok(()) => Ok(secret.into_bytes()),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    // Another process is writing it right now; give it a moment.
                    for _ in 0..20 {
                        if let Some(s) = read_secret_file(&path)? {
                            return Ok(s);
                        }
                        std::thread::sleep(Duration::from_millis(50));
                    }
                    Err(AuthError::Config(format!("{} is empty", path.display())))
                }
                Err(e) => Err(AuthError::Config(format!("cannot write {}: {e}", path.display()))),
            }
        }
    }
}

/// The trimmed content of the secret file; `None` when it does not exist or is empty.
fn read_secret_file(path: &Path) -> Result<Option<Vec<u8>>, AuthError> {
    match std::fs::read_to_string(path) {
        Ok(s) if s.trim().is_empty() => Ok(None),
        Ok(s) => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                if let Ok(meta) = std::fs::metadata(path)
                    && meta.permissions().mode() & 0o077 != 0
                {
                    tracing::warn!(path = %path.display(), "the development JWT secret is readable by other users");
                }
            }
            Ok(Some(s.trim().as_bytes().to_vec()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(AuthError::Config(format!("cannot read {}: {e}", path.display()))),
    }
}

/// Creates `path` (which must not exist) readable and writable by the owner only.
fn write_private(path: &Path, content: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(content)?;
    file.sync_all()
}

// ---------------------------------------------------------------------------------------------
// OIDC
// ---------------------------------------------------------------------------------------------

struct Oidc {
    http: reqwest::Client,
    issuer: String,
    discovery_url: String,
    ttl: Duration,
    cache: RwLock<JwksCache>,
    refresh: tokio::sync::Mutex<RefreshState>,
}

#[derive(Default)]
struct JwksCache {
    keys: Arc<Vec<CachedKey>>,
    fetched_at: Option<Instant>,
    /// Bumped on every successful fetch, so waiters know someone else refreshed already.
    generation: u64,
}

#[derive(Clone)]
struct Snapshot {
    keys: Arc<Vec<CachedKey>>,
    fresh: bool,
    generation: u64,
}

struct CachedKey {
    kid: Option<String>,
    algorithms: Vec<Algorithm>,
    key: DecodingKey,
}

#[derive(Default)]
struct RefreshState {
    jwks_uri: Option<String>,
    last_unknown_kid_fetch: Option<Instant>,
    last_failure: Option<Instant>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refresh {
    /// The cache is empty or older than the TTL.
    Scheduled,
    /// A token named a key the cache does not hold.
    UnknownKid,
}

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
}

#[derive(Deserialize)]
struct RawJwkSet {
    keys: Vec<serde_json::Value>,
}

impl Oidc {
    /// `allow_insecure_dev`: a plain `http://` issuer that is not loopback is only warned about.
    fn new(auth: &AuthSettings, allow_insecure_dev: bool) -> Result<Self, AuthError> {
        let issuer = auth.issuer.trim().to_string();
        if !(issuer.starts_with("https://") || issuer.starts_with("http://")) {
            return Err(AuthError::Config(format!("auth.issuer must be an http(s) URL in OIDC mode, not {issuer:?}")));
        }
        if auth.issuer_over_plain_http() {
            if !allow_insecure_dev {
                return Err(AuthError::Config(format!(
                    "the OIDC issuer {issuer:?} is plain http:// on a host that is not loopback: its signing keys \
                     could be swapped on the way; set BANGBAN__AUTH__ISSUER to its https:// URL \
                     (or BANGBAN__ALLOW_INSECURE_DEV=true for a throw-away test installation)"
                )));
            }
            tracing::warn!(%issuer, "INSECURE (BANGBAN__ALLOW_INSECURE_DEV=true): the OIDC issuer is plain http://");
        }
        let discovery_url = format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'));
        let http = reqwest::Client::builder()
            .connect_timeout(ISSUER_CONNECT_TIMEOUT)
            .timeout(ISSUER_REQUEST_TIMEOUT)
            .redirect(reqwest::redirect::Policy::limited(3))
            .build()
            .map_err(|e| AuthError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            http,
            issuer,
            discovery_url,
            ttl: Duration::from_secs(auth.jwks_ttl_secs),
            cache: RwLock::new(JwksCache::default()),
            refresh: tokio::sync::Mutex::new(RefreshState::default()),
        })
    }

    fn snapshot(&self) -> Snapshot {
        let cache = self.cache.read().unwrap_or_else(PoisonError::into_inner);
        Snapshot {
            keys: cache.keys.clone(),
            fresh: cache.fetched_at.is_some_and(|t| t.elapsed() < self.ttl),
            generation: cache.generation,
        }
    }

    async fn verify(
        &self,
        token: &str,
        alg: Algorithm,
        kid: Option<&str>,
        validation: &Validation,
    ) -> Result<Claims, AuthError> {
        let mut snap = self.snapshot();
        if !snap.fresh {
            match self.refresh(Refresh::Scheduled, snap.generation).await {
                Ok(()) => snap = self.snapshot(),
                // Keys that have just gone stale are better than none while the issuer is down.
                Err(e) if !snap.keys.is_empty() => {
                    tracing::debug!(error = %e, "JWKS refresh failed; using the cached keys");
                }
                Err(e) => return Err(e),
            }
        }
        if !has_candidate(&snap.keys, alg, kid) {
            // Refused (too soon after the last one) comes back as BadSignature.
            self.refresh(Refresh::UnknownKid, snap.generation).await?;
            snap = self.snapshot();
            if !has_candidate(&snap.keys, alg, kid) {
                return Err(AuthError::BadSignature);
            }
        }
        let mut last = AuthError::BadSignature;
        for key in snap.keys.iter().filter(|k| k.matches(alg, kid)) {
            match jsonwebtoken::decode::<Claims>(token, &key.key, validation) {
                Ok(data) => return Ok(data.claims),
                Err(e) => match map_jwt_error(e) {
                    // Without a kid several keys may fit; try the next one.
                    AuthError::BadSignature => last = AuthError::BadSignature,
                    other => return Err(other),
                },
            }
        }
        Err(last)
    }

    /// Fetches the JWKS again unless someone else did since `seen_generation`. A refresh for an
    /// unknown kid within [`UNKNOWN_KID_REFETCH_INTERVAL`] of the previous one is refused with
    /// [`AuthError::BadSignature`].
    async fn refresh(&self, why: Refresh, seen_generation: u64) -> Result<(), AuthError> {
        let mut state = self.refresh.lock().await;
        if self.snapshot().generation != seen_generation {
            return Ok(());
        }
        let now = Instant::now();
        match why {
            Refresh::UnknownKid => {
                if state.last_unknown_kid_fetch.is_some_and(|t| now.duration_since(t) < UNKNOWN_KID_REFETCH_INTERVAL) {
                    return Err(AuthError::BadSignature);
                }
                state.last_unknown_kid_fetch = Some(now);
            }
            Refresh::Scheduled => {
                if state.last_failure.is_some_and(|t| now.duration_since(t) < RETRY_AFTER_FAILURE) {
                    return Err(AuthError::IssuerUnavailable("the last JWKS fetch failed moments ago".into()));
                }
            }
        }
        match self.fetch_keys(&mut state).await {
            Ok(keys) => {
                tracing::debug!(keys = keys.len(), reason = ?why, "fetched the issuer's JWKS");
                let mut cache = self.cache.write().unwrap_or_else(PoisonError::into_inner);
                cache.keys = Arc::new(keys);
                cache.fetched_at = Some(Instant::now());
                cache.generation += 1;
                state.last_failure = None;
                Ok(())
            }
            Err(reason) => {
                tracing::warn!(issuer = %self.issuer, error = %reason, "cannot fetch the issuer's JWKS");
                state.last_failure = Some(Instant::now());
                // Discover again next time, in case the JWKS moved.
                state.jwks_uri = None;
                Err(AuthError::IssuerUnavailable(reason))
            }
        }
    }

    async fn fetch_keys(&self, state: &mut RefreshState) -> Result<Vec<CachedKey>, String> {
        let jwks_uri = match &state.jwks_uri {
            Some(uri) => uri.clone(),
            None => {
                let doc: Discovery = self.get_json(&self.discovery_url).await?;
                if doc.issuer.trim_end_matches('/') != self.issuer.trim_end_matches('/') {
                    return Err(format!(
                        "the discovery document names issuer {:?}, expected {:?}",
                        doc.issuer, self.issuer
                    ));
                }
                let secure_enough = doc.jwks_uri.starts_with("https://")
                    || (doc.jwks_uri.starts_with("http://") && self.issuer.starts_with("http://"));
                if !secure_enough {
                    return Err(format!("unacceptable jwks_uri {:?}", doc.jwks_uri));
                }
                state.jwks_uri = Some(doc.jwks_uri.clone());
                doc.jwks_uri
            }
        };
        let set: RawJwkSet = self.get_json(&jwks_uri).await?;
        let keys: Vec<CachedKey> = set.keys.into_iter().filter_map(CachedKey::from_value).collect();
        if keys.is_empty() {
            return Err("the JWKS holds no usable signing key".into());
        }
        Ok(keys)
    }

    async fn get_json<T: DeserializeOwned>(&self, url: &str) -> Result<T, String> {
        let mut response = self
            .http
            .get(url)
            .header(header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| format!("GET {url}: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("GET {url}: HTTP {}", response.status()));
        }
        if response.content_length().is_some_and(|n| n > MAX_ISSUER_RESPONSE as u64) {
            return Err(format!("GET {url}: response too large"));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| format!("GET {url}: {e}"))? {
            if body.len() + chunk.len() > MAX_ISSUER_RESPONSE {
                return Err(format!("GET {url}: response too large"));
            }
            body.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&body).map_err(|e| format!("GET {url}: unexpected document: {e}"))
    }
}

fn has_candidate(keys: &[CachedKey], alg: Algorithm, kid: Option<&str>) -> bool {
    keys.iter().any(|k| k.matches(alg, kid))
}

impl CachedKey {
    /// A verification key from one JWK of the set; `None` for keys that cannot verify OIDC tokens
    /// (encryption keys, symmetric keys, unknown curves and types).
    fn from_value(value: serde_json::Value) -> Option<Self> {
        let jwk: Jwk = serde_json::from_value(value).ok()?;
        if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption | PublicKeyUse::Other(_))) {
            return None;
        }
        let by_type: Vec<Algorithm> = match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => vec![
                Algorithm::RS256,
                Algorithm::RS384,
                Algorithm::RS512,
                Algorithm::PS256,
                Algorithm::PS384,
                Algorithm::PS512,
            ],
            AlgorithmParameters::EllipticCurve(p) => match p.curve {
                EllipticCurve::P256 => vec![Algorithm::ES256],
                EllipticCurve::P384 => vec![Algorithm::ES384],
                _ => return None,
            },
            AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => {
                vec![Algorithm::EdDSA]
            }
            _ => return None,
        };
        let algorithms = match jwk.common.key_algorithm {
            None => by_type,
            Some(declared) => {
                let declared = Algorithm::try_from(declared).ok()?;
                if !by_type.contains(&declared) {
                    return None;
                }
                vec![declared]
            }
        };
        let key = DecodingKey::from_jwk(&jwk).ok()?;
        Some(Self { kid: jwk.common.key_id.clone(), algorithms, key })
    }

    fn matches(&self, alg: Algorithm, kid: Option<&str>) -> bool {
        self.algorithms.contains(&alg) && kid.is_none_or(|kid| self.kid.as_deref() == Some(kid))
    }
}

// ---------------------------------------------------------------------------------------------
// Axum extractor
// ---------------------------------------------------------------------------------------------

/// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive).
/// `Ok(None)` when there is no Authorization header at all.
pub fn bearer_token(headers: &HeaderMap) -> Result<Option<&str>, AuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| AuthError::Malformed)?.trim();
    let (scheme, token) = value.split_once(char::is_whitespace).ok_or(AuthError::Malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::Missing);
    }
    let token = token.trim();
    if token.is_empty() || token.contains(char::is_whitespace) {
        return Err(AuthError::Malformed);
    }
    Ok(Some(token))
}

async fn authenticate(parts: &Parts, auth: &Authenticator, token: &str) -> Result<Principal, Problem> {
    match auth.verify(token).await {
        Ok(principal) => {
            let span = tracing::Span::current();
            span.record("enduser.id", principal.sub.as_str());
            span.record("enduser.role", principal.role.as_str());
            Ok(principal)
        }
        Err(e) => {
            if e.is_client_error() {
                tracing::debug!(error = %e, "bearer token rejected");
            } else {
                tracing::warn!(error = %e, "cannot verify bearer token");
            }
            Err(Problem::from(e).with_instance(parts.uri.path()))
        }
    }
}

impl<S> FromRequestParts<S> for Principal
where
    Authenticator: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let auth = Authenticator::from_ref(state);
        let token = match bearer_token(&parts.headers) {
            Ok(Some(token)) => token.to_owned(),
            Ok(None) => {
                return Err(Problem::from(AuthError::Missing).with_instance(parts.uri.path()));
            }
            Err(e) => return Err(Problem::from(e).with_instance(parts.uri.path())),
        };
        authenticate(parts, &auth, &token).await
    }
}

/// `Option<Principal>`: `None` without an Authorization header, a rejection for a bad token.
impl<S> OptionalFromRequestParts<S> for Principal
where
    Authenticator: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Option<Self>, Self::Rejection> {
        let auth = Authenticator::from_ref(state);
        let token = match bearer_token(&parts.headers) {
            Ok(Some(token)) => token.to_owned(),
            Ok(None) => return Ok(None),
            Err(e) => return Err(Problem::from(e).with_instance(parts.uri.path())),
        };
        authenticate(parts, &auth, &token).await.map(Some)
    }
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use std::{
        net::SocketAddr,
        sync::{
            Mutex,
            atomic::{AtomicUsize, Ordering},
        },
    };

    use axum::{
        Json, Router,
        body::Body,
        extract::State,
        http::{Request, StatusCode},
        routing::get,
    };
    use secrecy::SecretString;
    use tower::ServiceExt;

    use super::*;

    /// Test-only P-256 keys generated with
    /// `openssl ecparam -genkey -noout -name prime256v1 | openssl pkcs8 -topk8 -nocrypt`.
    const EC_KEY_1: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgGwEYio7I49weC6VO
cVDodysCwjnT9ruZTppZK4UF+2KhRANCAATSgc/Jrv4dEC80t9PYON8wVHhwk7S4
6+Ule9qOEBuwAEgdqsLmaCe+7Xh7aBQCHjDa/Iq7V1/MFa4cx0AxpTvS
-----END PRIVATE KEY-----
";
    /// Public coordinates of [`EC_KEY_1`] (from `openssl ec -pubout`), base64url.
    const EC_KEY_1_X: &str = "0oHPya7-HRAvNLfT2DjfMFR4cJO0uOvlJXvajhAbsAA";
    const EC_KEY_1_Y: &str = "SB2qwuZoJ77teHtoFAIeMNr8irtXX8wVrhzHQDGlO9I";
    const EC_KEY_2: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgd2ZSSj5VX5NDDnLq
4M17LY9OvURBaKgetPYujwp+1R6hRANCAASXAdiOWaYGFDGLoN5tnSfPiu2EdkzZ
/5WEomecrQZuEQYXC2WUNORzbs46UBTIxj9SErJ3GRo7Mz5Pa7hUSVzS
-----END PRIVATE KEY-----
";

    const SECRET: &str = "test-secret-0123456789-abcdefghijklmnop";

    fn dev_settings(secret: Option<&str>, issuer: &str, data_dir: &Path) -> Settings {
        let mut s = Settings { data_dir: data_dir.to_path_buf(), ..Settings::default() };
        s.auth.mode = AuthMode::Development;
        s.auth.dev_secret = secret.map(|s| SecretString::from(s.to_string()));
        s.auth.issuer = issuer.into();
        s
    }

    fn dev_auth(secret: &str, issuer: &str) -> Authenticator {
        let dir = tempfile::tempdir().unwrap();
        Authenticator::from_settings(&dev_settings(Some(secret), issuer, dir.path())).unwrap()
    }

    fn now() -> i64 {
        chrono::Utc::now().timestamp()
    }

    fn claims(role: Role, iss: &str) -> Claims {
        Claims {
            sub: "u-1001".into(),
            role,
            office: "330100".into(),
            unit: role.requires_unit().then(|| "zjj".to_string()),
            applicant: role.requires_applicant().then(|| "91330100MA2H000001".to_string()),
            iss: iss.into(),
            aud: None,
            exp: now() + 3600,
            iat: now(),
        }
    }

    /// Signs arbitrary JSON claims, bypassing every check of ours.
    fn sign_raw(alg: Algorithm, kid: Option<&str>, claims: &serde_json::Value, key: &EncodingKey) -> String {
        let mut header = Header::new(alg);
        header.kid = kid.map(str::to_string);
        jsonwebtoken::encode(&header, claims, key).unwrap()
    }

    fn b64(v: &serde_json::Value) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
    }

    // --- roles -------------------------------------------------------------------------------

    #[test]
    fn roles_round_trip_through_text_and_json() {
        for role in Role::ALL {
            assert_eq!(role.to_string().parse::<Role>().unwrap(), role);
            let json = serde_json::to_value(role).unwrap();
            assert_eq!(json, serde_json::Value::String(role.as_str().into()));
            assert_eq!(serde_json::from_value::<Role>(json).unwrap(), role);
        }
        assert_eq!("office-admin".parse::<Role>().unwrap(), Role::OfficeAdmin);
        assert_eq!(" Officer ".parse::<Role>().unwrap(), Role::Officer);
        assert!("admin".parse::<Role>().is_err());
        assert!(serde_json::from_str::<Role>("\"OfficeAdmin\"").is_err());
        assert_eq!(Role::Assistant.label_zh(), "帮办员");
        assert_eq!(Role::Agent.label_zh(), "代办员");
        assert!(Role::Officer.is_staff() && !Role::Applicant.is_staff() && !Role::Integrator.is_staff());
    }

    // --- development mode ----------------------------------------------------------------------

    #[tokio::test]
    async fn dev_token_round_trips() {
        let auth = dev_auth(SECRET, "bangban-dev");
        let token =
            auth.issue("u-1", Role::Officer, "330100", Some("zjj".into()), None, Duration::from_secs(600)).unwrap();
        let p = auth.verify(&token).await.unwrap();
        assert_eq!(
            p,
            Principal {
                sub: "u-1".into(),
                role: Role::Officer,
                office: "330100".into(),
                unit: Some("zjj".into()),
                applicant: None
            }
        );
        let token =
            auth.issue("a-1", Role::Applicant, "110105", None, Some("app-9".into()), Duration::from_secs(600)).unwrap();
        assert_eq!(auth.verify(&token).await.unwrap().applicant.as_deref(), Some("app-9"));
    }

    #[tokio::test]
    async fn expired_token_is_rejected_beyond_leeway() {
        let auth = dev_auth(SECRET, "bangban-dev");
        let mut c = claims(Role::Assistant, "bangban-dev");
        c.exp = now() - 120; // leeway is 30 s
        let token = auth.issue_dev_token(&c).unwrap();
        assert_eq!(auth.verify(&token).await.unwrap_err(), AuthError::Expired);

        c.exp = now() - 5; // within leeway
        let token = auth.issue_dev_token(&c).unwrap();
        assert!(auth.verify(&token).await.is_ok());
    }

    #[tokio::test]
    async fn token_signed_with_another_secret_is_a_bad_signature() {
        let ours = dev_auth(SECRET, "bangban-dev");
        let theirs = dev_auth("another-secret-that-is-long-enough", "bangban-dev");
        let token = theirs.issue_dev_token(&claims(Role::Expert, "bangban-dev")).unwrap();
        assert_eq!(ours.verify(&token).await.unwrap_err(), AuthError::BadSignature);
    }

    #[tokio::test]
    async fn wrong_issuer_is_rejected() {
        let ours = dev_auth(SECRET, "bangban-dev");
        let theirs = dev_auth(SECRET, "someone-else");
        let token = theirs.issue_dev_token(&claims(Role::Expert, "someone-else")).unwrap();
        assert_eq!(ours.verify(&token).await.unwrap_err(), AuthError::WrongIssuer);
    }

    #[tokio::test]
    async fn tampered_payload_is_a_bad_signature() {
        let auth = dev_auth(SECRET, "bangban-dev");
        let token = auth.issue_dev_token(&claims(Role::Assistant, "bangban-dev")).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        let mut payload: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        payload["role"] = "office_admin".into();
        let forged = format!("{}.{}.{}", parts[0], b64(&payload), parts[2]);
        assert_eq!(auth.verify(&forged).await.unwrap_err(), AuthError::BadSignature);
        // The untouched token still verifies.
        assert_eq!(auth.verify(&token).await.unwrap().role, Role::Assistant);
    }

    #[tokio::test]
    async fn alg_none_is_rejected() {
        let auth = dev_auth(SECRET, "bangban-dev");
        let payload = serde_json::to_value(claims(Role::OfficeAdmin, "bangban-dev")).unwrap();
        for header in [serde_json::json!({"alg": "none", "typ": "JWT"}), serde_json::json!({"alg": "None"})] {
            let unsigned = format!("{}.{}.", b64(&header), b64(&payload));
            assert_eq!(auth.verify(&unsigned).await.unwrap_err(), AuthError::BadSignature);
        }
    }

    #[tokio::test]
    async fn garbage_is_malformed_and_empty_is_missing() {
        let auth = dev_auth(SECRET, "bangban-dev");
        for t in ["abc", "a.b", "a.b.c.d", "!!!.e30.sig", "e30.e30.sig"] {
            assert_eq!(auth.verify(t).await.unwrap_err(), AuthError::Malformed, "{t}");
        }
        assert_eq!(auth.verify("  ").await.unwrap_err(), AuthError::Missing);
    }

    #[tokio::test]
    async fn claims_are_checked_on_issue_and_on_verify() {
        let auth = dev_auth(SECRET, "bangban-dev");
        let key = EncodingKey::from_secret(SECRET.as_bytes());
        let base = serde_json::to_value(claims(Role::Assistant, "bangban-dev")).unwrap();

        // Each case overrides claims of a valid token; `null` removes the claim.
        let cases = [
            ("short office", serde_json::json!({"office": "33010"})),
            ("non-digit office", serde_json::json!({"office": "33O100"})),
            ("full-width digits", serde_json::json!({"office": "３３０１００"})),
            ("applicant without applicant", serde_json::json!({"role": "applicant"})),
            ("officer without unit", serde_json::json!({"role": "officer"})),
            ("officer with blank unit", serde_json::json!({"role": "officer", "unit": " "})),
            ("unknown role", serde_json::json!({"role": "admin"})),
            ("no role", serde_json::json!({"role": null})),
            ("empty sub", serde_json::json!({"sub": ""})),
            ("no sub", serde_json::json!({"sub": null})),
            ("no office", serde_json::json!({"office": null})),
        ];
        for (name, patch) in cases {
            let mut c = base.clone();
            let obj = c.as_object_mut().unwrap();
            for (k, v) in patch.as_object().unwrap() {
                if v.is_null() {
                    obj.remove(k);
                } else {
                    obj.insert(k.clone(), v.clone());
                }
            }
            let token = sign_raw(Algorithm::HS256, None, &c, &key);
            let err = auth.verify(&token).await.unwrap_err();
            assert!(matches!(err, AuthError::InvalidClaims(_)), "{name}: {err:?}");
            if let Ok(c) = serde_json::from_value::<Claims>(c) {
                assert!(matches!(auth.issue_dev_token(&c), Err(AuthError::InvalidClaims(_))), "{name}");
            }
        }
        let mut no_exp = base.clone();
        no_exp.as_object_mut().unwrap().remove("exp");
        let err = auth.verify(&sign_raw(Algorithm::HS256, None, &no_exp, &key)).await.unwrap_err();
        assert!(matches!(err, AuthError::InvalidClaims(_)), "{err:?}");

        assert!(matches!(
            auth.issue("x", Role::Applicant, "330100", None, None, Duration::from_secs(60)),
            Err(AuthError::InvalidClaims(_))
        ));
    }

    #[tokio::test]
    async fn audience_is_checked_when_configured() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = dev_settings(Some(SECRET), "bangban-dev", dir.path());
        s.auth.audience = Some("bangban-api".into());
        let auth = Authenticator::from_settings(&s).unwrap();
        let plain = dev_auth(SECRET, "bangban-dev");

        let good = auth.issue("u", Role::Supervisor, "330100", None, None, Duration::from_secs(60)).unwrap();
        assert_eq!(auth.verify(&good).await.unwrap().role, Role::Supervisor);

        let no_aud = plain.issue("u", Role::Supervisor, "330100", None, None, Duration::from_secs(60)).unwrap();
        assert_eq!(auth.verify(&no_aud).await.unwrap_err(), AuthError::WrongAudience);

        let mut c = claims(Role::Supervisor, "bangban-dev");
        c.aud = Some("other-api".into());
        let other = plain.issue_dev_token(&c).unwrap();
        assert_eq!(auth.verify(&other).await.unwrap_err(), AuthError::WrongAudience);

        // Several audiences, ours among them.
        let key = EncodingKey::from_secret(SECRET.as_bytes());
        let mut raw = serde_json::to_value(claims(Role::Supervisor, "bangban-dev")).unwrap();
        raw["aud"] = serde_json::json!(["bangban-api", "account"]);
        let token = sign_raw(Algorithm::HS256, None, &raw, &key);
        assert!(auth.verify(&token).await.is_ok());
        // Without a configured audience, `aud` is not checked.
        assert!(plain.verify(&other).await.is_ok());
    }

    #[tokio::test]
    async fn dev_secret_file_is_generated_once_and_shared() {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().join("nested").join("data");
        let first = Authenticator::from_settings(&dev_settings(None, "bangban-dev", &data_dir)).unwrap();
        let path = data_dir.join(DEV_SECRET_FILE);
        let content = std::fs::read_to_string(&path).unwrap();
        assert_eq!(content.len(), 43, "32 bytes, base64url without padding");
        assert_eq!(URL_SAFE_NO_PAD.decode(&content).unwrap().len(), 32);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        // No temporary file left behind.
        assert_eq!(std::fs::read_dir(&data_dir).unwrap().count(), 1);

        let second = Authenticator::from_settings(&dev_settings(None, "bangban-dev", &data_dir)).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), content, "reused, not regenerated");
        let token = first.issue("u", Role::Agent, "330100", None, None, Duration::from_secs(60)).unwrap();
        assert_eq!(second.verify(&token).await.unwrap().role, Role::Agent);

        // Another data directory means another secret.
        let other_dir = tempfile::tempdir().unwrap();
        let third = Authenticator::from_settings(&dev_settings(None, "bangban-dev", other_dir.path())).unwrap();
        assert_eq!(third.verify(&token).await.unwrap_err(), AuthError::BadSignature);
    }

    #[test]
    fn short_or_empty_configuration_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = Authenticator::from_settings(&dev_settings(Some("short"), "bangban-dev", dir.path())).unwrap_err();
        assert!(matches!(err, AuthError::Config(_)));
        let err = Authenticator::from_settings(&dev_settings(Some(SECRET), " ", dir.path())).unwrap_err();
        assert!(matches!(err, AuthError::Config(_)));
        let mut s = dev_settings(None, "not-a-url", dir.path());
        s.auth.mode = AuthMode::Oidc;
        s.auth.audience = Some("bangban-api".into());
        assert!(matches!(Authenticator::from_settings(&s), Err(AuthError::Config(_))));
    }

    // --- problems ------------------------------------------------------------------------------

    #[test]
    fn errors_become_problems_without_internals() {
        for e in [
            AuthError::Missing,
            AuthError::Malformed,
            AuthError::BadSignature,
            AuthError::Expired,
            AuthError::WrongIssuer,
            AuthError::WrongAudience,
            AuthError::InvalidClaims("`office` must be a six-digit administrative division code".into()),
        ] {
            let p = Problem::from(e.clone());
            assert_eq!(p.status, 401, "{e:?}");
            assert!(p.detail.as_deref().is_some_and(|d| !d.is_empty()));
            assert!(p.detail_en.as_deref().is_some_and(|d| !d.is_empty()));
        }
        let p = Problem::from(AuthError::IssuerUnavailable("GET http://10.0.0.7/jwks: connection refused".into()));
        assert_eq!(p.status, 503);
        let body = serde_json::to_string(&p).unwrap();
        assert!(!body.contains("10.0.0.7") && !body.contains("refused"), "{body}");
        let p = Problem::from(AuthError::Config("secret file /srv/x unreadable".into()));
        assert_eq!(p.status, 500);
        assert!(!serde_json::to_string(&p).unwrap().contains("/srv/x"));
    }

    // --- OIDC ----------------------------------------------------------------------------------

    fn install_tls() {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }

    #[derive(Default)]
    struct Issuer {
        url: Mutex<String>,
        keys: Mutex<Vec<Jwk>>,
        discovery_hits: AtomicUsize,
        jwks_hits: AtomicUsize,
    }

    fn public_jwk(pem: &str, kid: &str) -> Jwk {
        let key = EncodingKey::from_ec_pem(pem.as_bytes()).unwrap();
        let mut jwk = Jwk::from_encoding_key(&key, Algorithm::ES256).unwrap();
        jwk.common.key_id = Some(kid.into());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        jwk
    }

    async fn start_issuer(keys: Vec<Jwk>) -> (Arc<Issuer>, String) {
        async fn discovery(State(s): State<Arc<Issuer>>) -> Json<serde_json::Value> {
            s.discovery_hits.fetch_add(1, Ordering::SeqCst);
            let url = s.url.lock().unwrap().clone();
            Json(serde_json::json!({"issuer": url, "jwks_uri": format!("{url}/keys")}))
        }
        async fn jwks(State(s): State<Arc<Issuer>>) -> Json<serde_json::Value> {
            s.jwks_hits.fetch_add(1, Ordering::SeqCst);
            let keys = s.keys.lock().unwrap().clone();
            // An encryption key with an algorithm we do not know must not spoil the set.
            let mut all = vec![
                serde_json::json!({"kty": "RSA", "use": "enc", "alg": "RSA-OAEP-384", "kid": "enc", "n": "AQAB", "e": "AQAB"}),
            ];
            all.extend(keys.iter().map(|k| serde_json::to_value(k).unwrap()));
            Json(serde_json::json!({ "keys": all }))
        }
        let state = Arc::new(Issuer { keys: Mutex::new(keys), ..Issuer::default() });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let url = format!("http://{addr}");
        *state.url.lock().unwrap() = url.clone();
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/keys", get(jwks))
            .with_state(state.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (state, url)
    }

    /// The console's client id in the OIDC tests: the audience by default.
    const CLIENT_ID: &str = "bangban-console";

    fn oidc_settings(issuer: &str) -> Settings {
        install_tls();
        let mut s = Settings::default();
        s.auth.mode = AuthMode::Oidc;
        s.auth.issuer = issuer.into();
        s.set_section(
            WebSettings::SECTION,
            WebSettings { oidc_client_id: Some(CLIENT_ID.into()), ..Default::default() },
        );
        s
    }

    fn oidc_auth(issuer: &str, ttl: u64) -> Authenticator {
        let mut s = oidc_settings(issuer);
        s.auth.jwks_ttl_secs = ttl;
        Authenticator::from_settings(&s).unwrap()
    }

    /// A token of `role` from `iss` for the console's client ([`CLIENT_ID`]).
    fn es256(pem: &str, kid: &str, iss: &str, role: Role) -> String {
        es256_for(pem, kid, iss, role, serde_json::json!(CLIENT_ID))
    }

    /// A token of `role` from `iss` with `aud` as given (`null`: none).
    fn es256_for(pem: &str, kid: &str, iss: &str, role: Role, aud: serde_json::Value) -> String {
        let mut claims = serde_json::to_value(claims(role, iss)).unwrap();
        if !aud.is_null() {
            claims["aud"] = aud;
        }
        sign_raw(Algorithm::ES256, Some(kid), &claims, &EncodingKey::from_ec_pem(pem.as_bytes()).unwrap())
    }

    #[tokio::test]
    async fn oidc_tokens_must_name_the_audience_by_default_the_client_id() {
        let (_issuer, url) = start_issuer(vec![public_jwk(EC_KEY_1, "k1")]).await;
        let auth = oidc_auth(&url, 600);
        assert_eq!(auth.audience(), Some(CLIENT_ID));
        let token = |aud: serde_json::Value| es256_for(EC_KEY_1, "k1", &url, Role::Assistant, aud);
        assert_eq!(auth.verify(&token(serde_json::json!(CLIENT_ID))).await.unwrap().role, Role::Assistant);
        assert_eq!(auth.verify(&token(serde_json::json!([CLIENT_ID, "account"]))).await.unwrap().role, Role::Assistant);
        // Another application of the same issuer, or none named: refused.
        for aud in [serde_json::json!("another-app"), serde_json::json!(["account"]), serde_json::Value::Null] {
            assert_eq!(auth.verify(&token(aud.clone())).await.unwrap_err(), AuthError::WrongAudience, "{aud}");
        }

        // A configured audience wins over the client id.
        let mut s = oidc_settings(&url);
        s.auth.audience = Some("bangban-api".into());
        let api = Authenticator::from_settings(&s).unwrap();
        assert_eq!(api.audience(), Some("bangban-api"));
        assert_eq!(api.verify(&token(serde_json::json!("bangban-api"))).await.unwrap().role, Role::Assistant);
        assert_eq!(api.verify(&token(serde_json::json!(CLIENT_ID))).await.unwrap_err(), AuthError::WrongAudience);
    }

    #[test]
    fn oidc_without_an_audience_is_not_built() {
        let mut s = oidc_settings("https://sso.example.gov.cn/realms/bangban");
        s.set_section(WebSettings::SECTION, WebSettings { oidc_client_id: None, ..Default::default() });
        for blank in [None, Some(" ".to_string())] {
            s.auth.audience = blank;
            let err = Authenticator::from_settings(&s).unwrap_err();
            let AuthError::Config(text) = &err else { panic!("{err:?}") };
            assert!(
                text.contains("BANGBAN__AUTH__AUDIENCE") && text.contains("BANGBAN__WEB__OIDC_CLIENT_ID"),
                "{text}"
            );
        }
        s.auth.audience = Some("bangban-api".into());
        assert_eq!(Authenticator::from_settings(&s).unwrap().audience(), Some("bangban-api"));
        // Development mode checks it only when set.
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(dev_auth(SECRET, "bangban-dev").audience(), None);
        let mut dev = dev_settings(Some(SECRET), "bangban-dev", dir.path());
        dev.set_section(
            WebSettings::SECTION,
            WebSettings { oidc_client_id: Some(CLIENT_ID.into()), ..Default::default() },
        );
        assert_eq!(Authenticator::from_settings(&dev).unwrap().audience(), None);
    }

    #[test]
    fn an_oidc_issuer_over_plain_http_is_refused_unless_loopback_or_told() {
        for remote in ["http://sso.example.gov.cn/realms/bangban", "http://10.0.0.7:8080"] {
            let mut s = oidc_settings(remote);
            let err = Authenticator::from_settings(&s).unwrap_err();
            let AuthError::Config(text) = &err else { panic!("{err:?}") };
            assert!(text.contains("https://") && text.contains("BANGBAN__AUTH__ISSUER"), "{text}");
            s.allow_insecure_dev = true;
            assert_eq!(Authenticator::from_settings(&s).unwrap().mode(), AuthMode::Oidc, "{remote}, told");
        }
        for fine in ["https://sso.example.gov.cn/realms/bangban", "http://127.0.0.1:5556", "http://localhost:8080"] {
            assert!(Authenticator::from_settings(&oidc_settings(fine)).is_ok(), "{fine}");
        }
    }

    #[test]
    fn an_id_token_must_be_the_issuer_s_for_this_client() {
        let auth = Authenticator::from_settings(&oidc_settings("https://sso.example/realms/b")).unwrap();
        let iss = "https://sso.example/realms/b";
        let ok = |claims: serde_json::Value| auth.id_token_is_for(&claims, CLIENT_ID);
        assert!(ok(serde_json::json!({"iss": iss, "aud": CLIENT_ID})));
        assert!(ok(serde_json::json!({"iss": format!("{iss}/"), "aud": [CLIENT_ID]})));
        assert!(ok(serde_json::json!({"iss": iss, "aud": [CLIENT_ID, "api"], "azp": CLIENT_ID})));
        assert!(!ok(serde_json::json!({"iss": iss, "aud": "another-app"})), "another client's");
        assert!(!ok(serde_json::json!({"iss": iss})), "no audience");
        assert!(!ok(serde_json::json!({"iss": iss, "aud": [CLIENT_ID, "api"]})), "several audiences, no azp");
        assert!(!ok(serde_json::json!({"iss": iss, "aud": CLIENT_ID, "azp": "another-app"})), "another azp");
        assert!(!ok(serde_json::json!({"iss": "https://elsewhere.example", "aud": CLIENT_ID})), "another issuer");
        assert!(!ok(serde_json::json!({"aud": CLIENT_ID})), "no issuer");
    }

    #[test]
    fn embedded_test_key_matches_its_coordinates() {
        let jwk = public_jwk(EC_KEY_1, "k1");
        let AlgorithmParameters::EllipticCurve(p) = &jwk.algorithm else { panic!("not EC") };
        assert_eq!((p.x.as_str(), p.y.as_str()), (EC_KEY_1_X, EC_KEY_1_Y));
    }

    #[tokio::test]
    async fn oidc_verifies_es256_against_the_jwks_and_caches_it() {
        let (issuer, url) = start_issuer(vec![public_jwk(EC_KEY_1, "k1")]).await;
        let auth = oidc_auth(&url, 600);
        assert_eq!(auth.mode(), AuthMode::Oidc);
        let token = es256(EC_KEY_1, "k1", &url, Role::Officer);
        let p = auth.verify(&token).await.unwrap();
        assert_eq!((p.role, p.office.as_str(), p.unit.as_deref()), (Role::Officer, "330100", Some("zjj")));
        auth.verify(&token).await.unwrap();
        assert_eq!(issuer.discovery_hits.load(Ordering::SeqCst), 1);
        assert_eq!(issuer.jwks_hits.load(Ordering::SeqCst), 1, "the JWKS is cached");

        // Signed by a key the issuer does not publish under that kid.
        let forged = es256(EC_KEY_2, "k1", &url, Role::Officer);
        assert_eq!(auth.verify(&forged).await.unwrap_err(), AuthError::BadSignature);
        // Right key, wrong issuer.
        let other = es256(EC_KEY_1, "k1", "https://elsewhere.example", Role::Officer);
        assert_eq!(auth.verify(&other).await.unwrap_err(), AuthError::WrongIssuer);
    }

    #[tokio::test]
    async fn oidc_refetches_once_for_an_unknown_kid() {
        let (issuer, url) = start_issuer(vec![public_jwk(EC_KEY_1, "k1")]).await;
        let auth = oidc_auth(&url, 600);
        auth.verify(&es256(EC_KEY_1, "k1", &url, Role::Expert)).await.unwrap();
        assert_eq!(issuer.jwks_hits.load(Ordering::SeqCst), 1);

        // The issuer rotates in a new key; a token using it is accepted after one refetch.
        issuer.keys.lock().unwrap().push(public_jwk(EC_KEY_2, "k2"));
        let rotated = es256(EC_KEY_2, "k2", &url, Role::Expert);
        assert_eq!(auth.verify(&rotated).await.unwrap().role, Role::Expert);
        assert_eq!(issuer.jwks_hits.load(Ordering::SeqCst), 2);

        // Another unknown kid within 30 s does not reach the issuer.
        let bogus = es256(EC_KEY_2, "k3", &url, Role::Expert);
        assert_eq!(auth.verify(&bogus).await.unwrap_err(), AuthError::BadSignature);
        assert_eq!(auth.verify(&bogus).await.unwrap_err(), AuthError::BadSignature);
        assert_eq!(issuer.jwks_hits.load(Ordering::SeqCst), 2);
        // Known keys keep working.
        auth.verify(&rotated).await.unwrap();
        assert_eq!(issuer.discovery_hits.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn oidc_refetches_after_the_ttl() {
        let (issuer, url) = start_issuer(vec![public_jwk(EC_KEY_1, "k1")]).await;
        let auth = oidc_auth(&url, 0);
        let token = es256(EC_KEY_1, "k1", &url, Role::Integrator);
        auth.verify(&token).await.unwrap();
        auth.verify(&token).await.unwrap();
        assert_eq!(issuer.jwks_hits.load(Ordering::SeqCst), 2);
        assert_eq!(issuer.discovery_hits.load(Ordering::SeqCst), 1, "jwks_uri is remembered");
    }

    #[tokio::test]
    async fn oidc_rejects_hs256_and_none() {
        let (issuer, url) = start_issuer(vec![public_jwk(EC_KEY_1, "k1")]).await;
        let auth = oidc_auth(&url, 600);
        let payload = serde_json::to_value(claims(Role::Officer, &url)).unwrap();
        // HS256 signed with the public x coordinate, the classic key-confusion attempt.
        let hs = sign_raw(Algorithm::HS256, Some("k1"), &payload, &EncodingKey::from_secret(EC_KEY_1_X.as_bytes()));
        assert_eq!(auth.verify(&hs).await.unwrap_err(), AuthError::BadSignature);
        let none = format!("{}.{}.", b64(&serde_json::json!({"alg": "none", "kid": "k1"})), b64(&payload));
        assert_eq!(auth.verify(&none).await.unwrap_err(), AuthError::BadSignature);
        assert_eq!(issuer.jwks_hits.load(Ordering::SeqCst), 0, "rejected before any fetch");
        // Development tokens cannot be minted in OIDC mode.
        assert!(matches!(
            auth.issue("u", Role::Expert, "330100", None, None, Duration::from_secs(60)),
            Err(AuthError::Config(_))
        ));
    }

    #[tokio::test]
    async fn oidc_issuer_down_is_unavailable() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        drop(listener);
        let auth = oidc_auth(&url, 600);
        let err = auth.verify(&es256(EC_KEY_1, "k1", &url, Role::Officer)).await.unwrap_err();
        assert!(matches!(err, AuthError::IssuerUnavailable(_)), "{err:?}");
        let problem = Problem::from(err);
        assert_eq!(problem.status, 503);
        let response = problem.into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(matches!(auth.prefetch().await, Err(AuthError::IssuerUnavailable(_))));
    }

    // --- extractor -----------------------------------------------------------------------------

    fn app(auth: Authenticator) -> Router {
        async fn me(p: Principal) -> Json<Principal> {
            Json(p)
        }
        async fn maybe(p: Option<Principal>) -> String {
            p.map_or_else(|| "anonymous".into(), |p| p.sub)
        }
        Router::new().route("/me", get(me)).route("/maybe", get(maybe)).with_state(auth)
    }

    async fn call(app: &Router, path: &str, authorization: Option<&str>) -> (StatusCode, HeaderMap, serde_json::Value) {
        let mut req = Request::get(path);
        if let Some(a) = authorization {
            req = req.header(header::AUTHORIZATION, a);
        }
        let res = app.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
        let (parts, body) = res.into_parts();
        let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
        let json = serde_json::from_slice(&bytes).unwrap_or_else(|_| String::from_utf8_lossy(&bytes).into());
        (parts.status, parts.headers, json)
    }

    #[tokio::test]
    async fn extractor_requires_a_good_bearer_token() {
        let auth = dev_auth(SECRET, "bangban-dev");
        let token = auth.issue("u-7", Role::Assistant, "330100", None, None, Duration::from_secs(60)).unwrap();
        let app = app(auth.clone());

        let (status, headers, body) = call(&app, "/me", None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(headers[header::WWW_AUTHENTICATE], "Bearer");
        assert_eq!(headers[header::CONTENT_TYPE], bangban_platform::problem::PROBLEM_JSON);
        assert_eq!(body["type"], "/problems/unauthorized");
        assert_eq!(body["instance"], "/me");
        assert!(body["detail"].as_str().unwrap().contains("Bearer"));

        for bad in ["Basic dXNlcjpwYXNz", "Bearer", "Bearer not.a.jwt", "Bearer a b"] {
            let (status, headers, _) = call(&app, "/me", Some(bad)).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{bad}");
            assert_eq!(headers[header::WWW_AUTHENTICATE], "Bearer");
        }

        for scheme in ["Bearer", "bearer", "BEARER"] {
            let (status, _, body) = call(&app, "/me", Some(&format!("{scheme} {token}"))).await;
            assert_eq!(status, StatusCode::OK, "{scheme}");
            assert_eq!(body, serde_json::json!({"sub": "u-7", "role": "assistant", "office": "330100"}));
        }

        let mut c = claims(Role::Assistant, "bangban-dev");
        c.exp = now() - 3600;
        let expired = auth.issue_dev_token(&c).unwrap();
        let (status, _, body) = call(&app, "/me", Some(&format!("Bearer {expired}"))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(body["detail_en"].as_str().unwrap().contains("expired"));

        // Optional principal: anonymous without a header, rejected with a bad one.
        assert_eq!(call(&app, "/maybe", None).await.2, "anonymous");
        assert_eq!(call(&app, "/maybe", Some(&format!("Bearer {token}"))).await.2, "u-7");
        assert_eq!(call(&app, "/maybe", Some(&format!("Bearer {expired}"))).await.0, StatusCode::UNAUTHORIZED);
    }

    #[test]
    fn principal_role_checks() {
        let p = Principal { sub: "s".into(), role: Role::Expert, office: "330100".into(), unit: None, applicant: None };
        assert!(p.require_role(&[Role::Expert, Role::Officer]).is_ok());
        let problem = Problem::from(p.require_role(&[Role::Officer, Role::OfficeAdmin]).unwrap_err());
        assert_eq!(problem.status, 403);
        assert!(problem.detail.unwrap().contains("审批业务人员"));
    }
}
