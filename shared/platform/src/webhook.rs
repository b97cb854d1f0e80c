//! Authenticated inbound webhooks (入站回调), e.g. the 12345 hotline posting consultations: an
//! HMAC-SHA256 signature over the timestamp and the raw body, a timestamp window, and replay keys.
//!
//! # Scheme
//!
//! The sender shares a secret with Bangban and sends, with the raw request body:
//!
//! - `X-Bangban-Timestamp: <unix seconds>` (decimal digits only);
//! - `X-Bangban-Signature: sha256=<hex>`, the lowercase hex HMAC-SHA256 of `"<timestamp>.<raw body>"`
//!   under the secret (see [`sign`]);
//! - optionally `X-Bangban-Delivery: <id>`, a unique id per delivery (1–128 visible ASCII characters),
//!   kept when the sender retries the same delivery.
//!
//! [`WebhookVerifier::verify`] checks the signature in constant time and refuses timestamps more
//! than the tolerance (default 5 minutes) away from now, so a captured request cannot be replayed later.
//!
//! # Replays inside the window: the caller's contract
//!
//! Within the tolerance window the same signed request is still valid, so the receiving service
//! must remember what it has accepted. In the same database transaction as the effect (recording
//! the consultation), it inserts every key of [`replay_keys`] into a table with a unique constraint
//! (its inbox-like table); a unique violation means a replay or a retried delivery: answer it
//! without repeating the effect. Because the database is shared, this holds across replicas.
//! Rows may be pruned once older than twice the tolerance (plus clock skew): the timestamp check
//! refuses such requests anyway.
//!
//! The delivery id is *not* covered by the signature, so it cannot be the only replay key: an
//! attacker replaying a captured request could put a fresh id in the header. [`replay_key`] is
//! therefore always derived from the signature (which binds timestamp and body); the delivery id is
//! an additional key that also catches a sender re-signing the same delivery at a later second.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use http::HeaderMap;
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

use crate::problem::Problem;

/// Header carrying the Unix time of signing, in seconds (lower-case name).
pub const TIMESTAMP_HEADER: &str = "x-bangban-timestamp";
/// Header carrying `sha256=<lowercase hex HMAC>` (lower-case name).
pub const SIGNATURE_HEADER: &str = "x-bangban-signature";
/// Optional header carrying the sender's unique delivery id (lower-case name).
pub const DELIVERY_HEADER: &str = "x-bangban-delivery";
/// The only signature scheme accepted, as it prefixes the signature header's value.
pub const SIGNATURE_PREFIX: &str = "sha256=";
/// How far a timestamp may be from now, either way, unless configured otherwise.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);
/// Longest delivery id accepted.
pub const MAX_DELIVERY_ID_LEN: usize = 128;

type HmacSha256 = Hmac<Sha256>;

/// Why a webhook request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// The verifier has an empty secret; every request is refused until one is configured.
    #[error("webhook secret is not configured")]
    NotConfigured,
    /// A required header is absent.
    #[error("missing header {header}")]
    MissingHeader {
        /// Lower-case header name.
        header: &'static str,
    },
    /// A header that must appear once appears more than once.
    #[error("header {header} appears more than once")]
    DuplicateHeader {
        /// Lower-case header name.
        header: &'static str,
    },
    /// The timestamp is not a decimal number of seconds.
    #[error("malformed timestamp")]
    MalformedTimestamp,
    /// The signature does not start with `sha256=`.
    #[error("unsupported signature scheme")]
    UnsupportedScheme,
    /// The signature is not 64 lowercase hex digits.
    #[error("malformed signature")]
    MalformedSignature,
    /// The delivery id is empty, too long or not visible ASCII.
    #[error("malformed delivery id")]
    MalformedDeliveryId,
    /// The signature does not match the timestamp and body under the secret.
    #[error("signature mismatch")]
    BadSignature,
    /// Correctly signed, but older than the tolerance: a late replay.
    #[error("timestamp is {age_secs} s old, beyond the tolerance")]
    Stale {
        /// How many seconds before now it was signed.
        age_secs: u64,
    },
    /// Correctly signed, but dated further in the future than the tolerance.
    #[error("timestamp is {ahead_secs} s in the future, beyond the tolerance")]
    Future {
        /// How many seconds after now it claims to be signed.
        ahead_secs: u64,
    },
}

impl From<WebhookError> for Problem {
    /// 401 with a Chinese and an English detail (404 `hook-not-enabled` when no secret is configured: a hook
    /// without its secret is not enabled, and no client can fix that by retrying). Never contains
    /// the expected signature or anything derived from the secret.
    fn from(e: WebhookError) -> Self {
        match e {
            WebhookError::NotConfigured => {
                Problem::new(http::StatusCode::NOT_FOUND, "hook-not-enabled", "回调未启用", "Hook not enabled")
                    .with_detail(
                        "回调接口未配置签名密钥，未启用",
                        "the hook has no secret configured: it is not enabled",
                    )
            }
            WebhookError::MissingHeader { header } => {
                Problem::bad_signature(format!("缺少请求头 {header}"), format!("missing header {header}"))
            }
            WebhookError::DuplicateHeader { header } => Problem::bad_signature(
                format!("请求头 {header} 重复"),
                format!("header {header} appears more than once"),
            ),
            WebhookError::MalformedTimestamp => Problem::bad_signature(
                "X-Bangban-Timestamp 须为 Unix 时间戳（秒）",
                "X-Bangban-Timestamp must be Unix time in seconds",
            ),
            WebhookError::UnsupportedScheme => Problem::bad_signature(
                "X-Bangban-Signature 须以 sha256= 开头",
                "X-Bangban-Signature must start with sha256=",
            ),
            WebhookError::MalformedSignature => Problem::bad_signature(
                "X-Bangban-Signature 须为 sha256= 加 64 位小写十六进制数",
                "X-Bangban-Signature must be sha256= followed by 64 lowercase hex digits",
            ),
            WebhookError::MalformedDeliveryId => Problem::bad_signature(
                format!("X-Bangban-Delivery 须为 1 至 {MAX_DELIVERY_ID_LEN} 个可见 ASCII 字符"),
                format!("X-Bangban-Delivery must be 1 to {MAX_DELIVERY_ID_LEN} visible ASCII characters"),
            ),
            WebhookError::BadSignature => Problem::bad_signature("签名校验失败", "the signature does not match"),
            WebhookError::Stale { age_secs } => Problem::bad_signature(
                format!("请求时间戳已过期（早于当前 {age_secs} 秒），请重新签名"),
                format!("the timestamp is {age_secs} s old; sign the request again"),
            ),
            WebhookError::Future { ahead_secs } => Problem::bad_signature(
                format!("请求时间戳晚于当前 {ahead_secs} 秒，请校准时钟"),
                format!("the timestamp is {ahead_secs} s in the future; check the sender's clock"),
            ),
        }
    }
}

/// A request whose signature and timestamp were accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Unix seconds the sender signed at.
    pub timestamp: u64,
    /// The sender's delivery id, when it sent one.
    pub delivery_id: Option<String>,
    /// The signature, 64 lowercase hex digits (without `sha256=`).
    pub signature_hex: String,
}

/// Checks inbound webhook requests against one shared secret.
#[derive(Debug, Clone)]
pub struct WebhookVerifier {
    secret: SecretString,
    tolerance: Duration,
}

impl WebhookVerifier {
    /// A verifier for `secret` with the default tolerance of 300 s. An empty secret refuses
    /// everything with [`WebhookError::NotConfigured`].
    pub fn new(secret: SecretString) -> Self {
        Self { secret, tolerance: DEFAULT_TOLERANCE }
    }

    /// The same verifier accepting timestamps up to `tolerance` away from now (whole seconds).
    pub fn with_tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// How far a timestamp may be from now.
    pub fn tolerance(&self) -> Duration {
        self.tolerance
    }

    /// Verifies the headers and the raw `body` as received, at time `now`. The signature is
    /// checked first (in constant time), then the timestamp window; a `Stale` or `Future` error
    /// therefore always concerns a genuinely signed request. Replays inside the window are the
    /// caller's to refuse, with [`replay_keys`].
    pub fn verify(&self, headers: &HeaderMap, body: &[u8], now: SystemTime) -> Result<Verified, WebhookError> {
        let secret = self.secret.expose_secret().as_bytes();
        if secret.is_empty() {
            return Err(WebhookError::NotConfigured);
        }
        let timestamp_text = single_header(headers, TIMESTAMP_HEADER)?
            .ok_or(WebhookError::MissingHeader { header: TIMESTAMP_HEADER })?;
        let signature_text = single_header(headers, SIGNATURE_HEADER)?
            .ok_or(WebhookError::MissingHeader { header: SIGNATURE_HEADER })?;
        let delivery_id = single_header(headers, DELIVERY_HEADER)?;

        let timestamp = timestamp_text.and_then(parse_timestamp).ok_or(WebhookError::MalformedTimestamp)?;
        let signature_hex = signature_text
            .ok_or(WebhookError::MalformedSignature)?
            .strip_prefix(SIGNATURE_PREFIX)
            .ok_or(WebhookError::UnsupportedScheme)?;
        let signature = decode_lower_hex_32(signature_hex).ok_or(WebhookError::MalformedSignature)?;
        let delivery_id = match delivery_id {
            None => None,
            Some(value) => Some(value.filter(|v| valid_delivery_id(v)).ok_or(WebhookError::MalformedDeliveryId)?),
        };

        mac(secret, timestamp, body).verify_slice(&signature).map_err(|_| WebhookError::BadSignature)?;

        let now = now.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let tolerance = self.tolerance.as_secs();
        if timestamp <= now {
            let age_secs = now - timestamp;
            if age_secs > tolerance {
                return Err(WebhookError::Stale { age_secs });
            }
        } else {
            let ahead_secs = timestamp - now;
            if ahead_secs > tolerance {
                return Err(WebhookError::Future { ahead_secs });
            }
        }

        Ok(Verified {
            timestamp,
            delivery_id: delivery_id.map(str::to_string),
            signature_hex: signature_hex.to_string(),
        })
    }
}

/// The key that refuses a replay of this exact signed request: `sig:<signature hex>`. Derived from
/// the signature, which binds timestamp and body, so changing any unsigned header does not change it.
/// Store it under a unique constraint in the transaction of the effect (see the module docs).
pub fn replay_key(verified: &Verified) -> String {
    format!("sig:{}", verified.signature_hex)
}

/// Every key to store under a unique constraint for this request: [`replay_key`], then
/// `delivery:<id>` when the sender gave a delivery id (which also catches the same delivery
/// re-signed at a later second). Any one of them already present means: do not repeat the effect.
pub fn replay_keys(verified: &Verified) -> Vec<String> {
    let mut keys = vec![replay_key(verified)];
    if let Some(id) = &verified.delivery_id {
        keys.push(format!("delivery:{id}"));
    }
    keys
}

/// Signs `body` at `timestamp` under `secret`; returns the `X-Bangban-Signature` header value,
/// `sha256=<lowercase hex HMAC-SHA256(secret, "<timestamp>.<body>")>`. For tests and the hotline
/// simulator.
pub fn sign(secret: &[u8], timestamp: u64, body: &[u8]) -> String {
    let tag = mac(secret, timestamp, body).finalize().into_bytes();
    let mut out = String::with_capacity(SIGNATURE_PREFIX.len() + 64);
    out.push_str(SIGNATURE_PREFIX);
    for b in tag {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn mac(secret: &[u8], timestamp: u64, body: &[u8]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The header's only value: `Ok(None)` when absent, `Ok(Some(None))` when not visible ASCII.
fn single_header<'a>(headers: &'a HeaderMap, name: &'static str) -> Result<Option<Option<&'a str>>, WebhookError> {
    let mut values = headers.get_all(name).iter();
    let Some(first) = values.next() else { return Ok(None) };
    if values.next().is_some() {
        return Err(WebhookError::DuplicateHeader { header: name });
    }
    Ok(Some(first.to_str().ok()))
}

fn parse_timestamp(text: &str) -> Option<u64> {
    if text.is_empty() || text.len() > 20 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn decode_lower_hex_32(text: &str) -> Option<[u8; 32]> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        }
    }
    let bytes = text.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        out[i] = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(out)
}

fn valid_delivery_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_DELIVERY_ID_LEN && id.bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    const SECRET: &[u8] = b"hotline-shared-secret";
    const T0: u64 = 1_700_000_000;

    fn verifier() -> WebhookVerifier {
        WebhookVerifier::new(SecretString::from(String::from_utf8(SECRET.to_vec()).unwrap()))
    }

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn headers(timestamp: &str, signature: &str, delivery: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(TIMESTAMP_HEADER, HeaderValue::from_str(timestamp).unwrap());
        h.insert(SIGNATURE_HEADER, HeaderValue::from_str(signature).unwrap());
        if let Some(d) = delivery {
            h.insert(DELIVERY_HEADER, HeaderValue::from_str(d).unwrap());
        }
        h
    }

    fn signed(body: &[u8], timestamp: u64, delivery: Option<&str>) -> HeaderMap {
        headers(&timestamp.to_string(), &sign(SECRET, timestamp, body), delivery)
    }

    const BODY: &[u8] = "{\"caller\":\"张三\",\"phone\":\"13800001234\"}".as_bytes();

    #[test]
    fn sign_matches_hand_computed_vectors() {
        // python3 -c 'import hmac,hashlib;print(hmac.new(b"secret",b"1700000000.{}",hashlib.sha256).hexdigest())'
        assert_eq!(
            sign(b"secret", 1_700_000_000, b"{}"),
            "sha256=b8569b78799ff9e3cbff0fc2d63a33a2b57f3282abd07c37ae5e8e7d79a5f163"
        );
        // The same over a UTF-8 body: b'1700000000.{"caller":"\xe5\xbc\xa0\xe4\xb8\x89"}'.
        assert_eq!(
            sign(SECRET, 1_700_000_000, "{\"caller\":\"张三\"}".as_bytes()),
            "sha256=3b72671a9ddcb2f2283f72b29e8573b349ef90eea8dca76b1f4c2faf98346f76"
        );
    }

    #[test]
    fn a_good_signature_is_accepted() {
        let v = verifier().verify(&signed(BODY, T0, None), BODY, at(T0 + 10)).unwrap();
        assert_eq!(v.timestamp, T0);
        assert_eq!(v.delivery_id, None);
        assert_eq!(format!("sha256={}", v.signature_hex), sign(SECRET, T0, BODY));

        let v = verifier().verify(&signed(BODY, T0, Some("hl-2026-000042")), BODY, at(T0)).unwrap();
        assert_eq!(v.delivery_id.as_deref(), Some("hl-2026-000042"));
        // Empty bodies are signed too.
        verifier().verify(&signed(b"", T0, None), b"", at(T0)).unwrap();
    }

    #[test]
    fn a_signature_under_another_secret_is_refused() {
        let h = headers(&T0.to_string(), &sign(b"not-the-secret", T0, BODY), None);
        assert_eq!(verifier().verify(&h, BODY, at(T0)), Err(WebhookError::BadSignature));
        // A valid-looking but wrong hex string, too.
        let h = headers(&T0.to_string(), &format!("sha256={}", "0".repeat(64)), None);
        assert_eq!(verifier().verify(&h, BODY, at(T0)), Err(WebhookError::BadSignature));
    }

    #[test]
    fn a_tampered_body_or_timestamp_is_refused() {
        let h = signed(BODY, T0, None);
        let tampered = "{\"caller\":\"李四\",\"phone\":\"13800001234\"}".as_bytes();
        assert_eq!(verifier().verify(&h, tampered, at(T0)), Err(WebhookError::BadSignature));
        let mut longer = BODY.to_vec();
        longer.push(b' ');
        assert_eq!(verifier().verify(&h, &longer, at(T0)), Err(WebhookError::BadSignature));
        // The timestamp is signed: moving it forward to dodge the window breaks the signature.
        let h = headers(&(T0 + 600).to_string(), &sign(SECRET, T0, BODY), None);
        assert_eq!(verifier().verify(&h, BODY, at(T0 + 600)), Err(WebhookError::BadSignature));
    }

    #[test]
    fn missing_or_duplicated_headers_are_refused() {
        let full = signed(BODY, T0, None);
        let mut h = full.clone();
        h.remove(TIMESTAMP_HEADER);
        assert_eq!(
            verifier().verify(&h, BODY, at(T0)),
            Err(WebhookError::MissingHeader { header: "x-bangban-timestamp" })
        );
        let mut h = full.clone();
        h.remove(SIGNATURE_HEADER);
        assert_eq!(
            verifier().verify(&h, BODY, at(T0)),
            Err(WebhookError::MissingHeader { header: "x-bangban-signature" })
        );
        assert_eq!(
            verifier().verify(&HeaderMap::new(), BODY, at(T0)),
            Err(WebhookError::MissingHeader { header: "x-bangban-timestamp" })
        );
        let mut h = full.clone();
        h.append(SIGNATURE_HEADER, HeaderValue::from_static("sha256=00"));
        assert_eq!(
            verifier().verify(&h, BODY, at(T0)),
            Err(WebhookError::DuplicateHeader { header: "x-bangban-signature" })
        );
    }

    #[test]
    fn a_stale_timestamp_is_refused() {
        let h = signed(BODY, T0, None);
        // Exactly at the tolerance is still accepted; one second later is not.
        verifier().verify(&h, BODY, at(T0 + 300)).unwrap();
        assert_eq!(verifier().verify(&h, BODY, at(T0 + 301)), Err(WebhookError::Stale { age_secs: 301 }));
        assert_eq!(verifier().verify(&h, BODY, at(T0 + 86_400)), Err(WebhookError::Stale { age_secs: 86_400 }));
        // A custom tolerance.
        let strict = verifier().with_tolerance(Duration::from_secs(30));
        assert_eq!(strict.tolerance(), Duration::from_secs(30));
        assert_eq!(strict.verify(&h, BODY, at(T0 + 31)), Err(WebhookError::Stale { age_secs: 31 }));
    }

    #[test]
    fn a_future_timestamp_beyond_the_tolerance_is_refused() {
        let h = signed(BODY, T0, None);
        verifier().verify(&h, BODY, at(T0 - 300)).unwrap();
        assert_eq!(verifier().verify(&h, BODY, at(T0 - 301)), Err(WebhookError::Future { ahead_secs: 301 }));
        // A clock before 1970 is treated as 0, far behind the timestamp.
        assert!(matches!(
            verifier().verify(&h, BODY, UNIX_EPOCH - Duration::from_secs(1)),
            Err(WebhookError::Future { .. })
        ));
    }

    #[test]
    fn a_wrong_scheme_prefix_is_refused() {
        let hex = sign(SECRET, T0, BODY).trim_start_matches(SIGNATURE_PREFIX).to_string();
        for sig in [
            hex.clone(),
            format!("sha1={hex}"),
            format!("SHA256={hex}"),
            format!("sha512={hex}"),
            format!(" sha256={hex}"),
        ] {
            let h = headers(&T0.to_string(), &sig, None);
            assert_eq!(verifier().verify(&h, BODY, at(T0)), Err(WebhookError::UnsupportedScheme), "{sig}");
        }
    }

    #[test]
    fn malformed_signatures_timestamps_and_delivery_ids_are_refused() {
        let good = sign(SECRET, T0, BODY);
        let hex = good.trim_start_matches(SIGNATURE_PREFIX);
        for sig in [
            format!("sha256={}", hex.to_uppercase()),
            format!("sha256={}", &hex[..62]),
            format!("sha256={hex}00"),
            format!("sha256={}zz", &hex[..62]),
            "sha256=".to_string(),
        ] {
            let h = headers(&T0.to_string(), &sig, None);
            assert_eq!(verifier().verify(&h, BODY, at(T0)), Err(WebhookError::MalformedSignature), "{sig}");
        }
        let mut h = signed(BODY, T0, None);
        h.insert(SIGNATURE_HEADER, HeaderValue::from_bytes("sha256=签名".as_bytes()).unwrap());
        assert_eq!(verifier().verify(&h, BODY, at(T0)), Err(WebhookError::MalformedSignature));

        for ts in ["", "abc", "-1", "+1700000000", "1700000000.5", " 1700000000", "99999999999999999999999"] {
            let h = headers(ts, &good, None);
            assert_eq!(verifier().verify(&h, BODY, at(T0)), Err(WebhookError::MalformedTimestamp), "{ts:?}");
        }

        let mut h = signed(BODY, T0, None);
        h.insert(DELIVERY_HEADER, HeaderValue::from_static(""));
        assert_eq!(verifier().verify(&h, BODY, at(T0)), Err(WebhookError::MalformedDeliveryId));
        h.insert(DELIVERY_HEADER, HeaderValue::from_static("id with spaces"));
        assert_eq!(verifier().verify(&h, BODY, at(T0)), Err(WebhookError::MalformedDeliveryId));
        h.insert(DELIVERY_HEADER, HeaderValue::from_str(&"x".repeat(MAX_DELIVERY_ID_LEN + 1)).unwrap());
        assert_eq!(verifier().verify(&h, BODY, at(T0)), Err(WebhookError::MalformedDeliveryId));
    }

    #[test]
    fn an_empty_secret_refuses_everything() {
        let v = WebhookVerifier::new(SecretString::from(String::new()));
        let h = headers(&T0.to_string(), &sign(b"", T0, BODY), None);
        assert_eq!(v.verify(&h, BODY, at(T0)), Err(WebhookError::NotConfigured));
        assert_eq!(Problem::from(WebhookError::NotConfigured).status, 404);
    }

    #[test]
    fn replay_keys_are_bound_to_the_signature() {
        let a = verifier().verify(&signed(BODY, T0, Some("hl-1")), BODY, at(T0)).unwrap();
        // The same captured request with a forged, fresh delivery id still has the same replay key.
        let b = verifier().verify(&signed(BODY, T0, Some("hl-forged")), BODY, at(T0 + 5)).unwrap();
        assert_eq!(replay_key(&a), replay_key(&b));
        assert_eq!(replay_key(&a), format!("sig:{}", a.signature_hex));
        assert_eq!(replay_keys(&a), vec![replay_key(&a), "delivery:hl-1".to_string()]);
        // The same delivery re-signed a second later: a new signature, the same delivery key.
        let c = verifier().verify(&signed(BODY, T0 + 1, Some("hl-1")), BODY, at(T0 + 5)).unwrap();
        assert_ne!(replay_key(&a), replay_key(&c));
        assert_eq!(replay_keys(&a)[1], replay_keys(&c)[1]);
        // Without a delivery id, only the signature key.
        let d = verifier().verify(&signed(BODY, T0, None), BODY, at(T0)).unwrap();
        assert_eq!(replay_keys(&d), vec![replay_key(&d)]);
    }

    #[test]
    fn problems_are_401_and_never_echo_the_expected_signature() {
        let expected = sign(SECRET, T0, BODY);
        let h = headers(&T0.to_string(), &sign(b"wrong", T0, BODY), None);
        let err = verifier().verify(&h, BODY, at(T0)).unwrap_err();
        let problem = Problem::from(err);
        assert_eq!(problem.status, 401);
        let json = serde_json::to_string(&problem).unwrap();
        assert!(!json.contains(expected.trim_start_matches(SIGNATURE_PREFIX)), "{json}");
        assert!(problem.detail.is_some() && problem.detail_en.is_some());

        for e in [
            WebhookError::MissingHeader { header: "x-bangban-timestamp" },
            WebhookError::DuplicateHeader { header: "x-bangban-signature" },
            WebhookError::MalformedTimestamp,
            WebhookError::UnsupportedScheme,
            WebhookError::MalformedSignature,
            WebhookError::MalformedDeliveryId,
            WebhookError::BadSignature,
            WebhookError::Stale { age_secs: 301 },
            WebhookError::Future { ahead_secs: 301 },
        ] {
            let p = Problem::from(e.clone());
            assert_eq!(p.status, 401, "{e:?}");
            assert!(p.detail.is_some() && p.detail_en.is_some(), "{e:?}");
        }
    }

    #[test]
    fn the_secret_does_not_leak_through_debug() {
        assert!(!format!("{:?}", verifier()).contains("hotline-shared-secret"));
    }
}
