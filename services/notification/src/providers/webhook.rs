//! Our own webhook provider: a JSON POST to a configured URL, for gateways that are not Alibaba
//! Cloud or Tencent Cloud (an operator's SMS gateway, a test double).
//!
//! # Request
//!
//! ```text
//! POST <url>
//! content-type: application/json
//! idempotency-key: <message id>
//! x-bangban-timestamp: <Unix seconds>
//! x-bangban-signature: sha256=<lowercase hex HMAC-SHA256(secret, "<timestamp>.<body>")>
//!
//! {"message_id":"…","phone":"+86…","template":"…","template_version":2,"params":{…},"text":"…"}
//! ```
//!
//! The receiver must treat a repeated `idempotency-key` as the same message (answer it as it
//! answered the first time, without sending again). It answers 2xx with an optional
//! `{"id":"<its id>"}` when it took the message; 408, 409 (the same key still in progress), 425,
//! 429 and 5xx for "try again later"; any other 4xx, optionally with `{"code":…,"message":…}`,
//! for "never".
//!
//! # Receipts
//!
//! The gateway reports delivery by POSTing a [`WebhookReceipt`] to us, signed the same way with
//! the same secret; [`verify`] checks it (and any other request signed this way) in constant time
//! and within a timestamp tolerance. Replays inside the tolerance are the receiver's to refuse (a
//! receipt applied twice changes nothing, as the delivery state only moves forward).
//!
//! The `x-bangban-signature` header may carry several comma-separated `sha256=` values (e.g. while the
//! secret is rotated); one match is enough. Unknown schemes are ignored.

use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use http::{HeaderMap, Method, Request, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::{
    BuildError, DeliveryReceipt, SendOutcome, SmsRequest, TemplateParams, check_message_id, classify_http_status,
    outcome_without_code,
};

/// Header carrying the Unix time of signing, in seconds.
pub const TIMESTAMP_HEADER: &str = "x-bangban-timestamp";
/// Header carrying `sha256=<hex>` (the scheme of every Bangban webhook, see `bangban_platform::webhook`).
pub const SIGNATURE_HEADER: &str = "x-bangban-signature";
/// Header carrying the message id.
pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";
/// The signature scheme: HMAC-SHA256 over `"<timestamp>.<body>"`, lowercase hex.
pub const SCHEME: &str = "sha256";
/// How far a timestamp may be from now, either way, unless configured otherwise.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

type HmacSha256 = Hmac<Sha256>;

/// Where the webhook goes and the secret it is signed with. `Debug` does not show the secret.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// Absolute `http(s)://` URL.
    pub url: String,
    /// The shared secret.
    pub secret: SecretString,
}

#[derive(Serialize)]
struct WebhookBody<'a> {
    message_id: &'a str,
    phone: &'a str,
    template: &'a str,
    template_version: u32,
    params: &'a TemplateParams,
    text: &'a str,
}

/// The JSON body for `sms`, exactly as sent and signed.
pub fn body(sms: &SmsRequest) -> Vec<u8> {
    serde_json::to_vec(&WebhookBody {
        message_id: &sms.message_id,
        phone: sms.phone.e164(),
        template: &sms.template_id,
        template_version: sms.template_version,
        params: &sms.params,
        text: &sms.text,
    })
    .expect("strings always serialize")
}

fn mac(secret: &SecretString, timestamp: &str, body: &[u8]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret.expose_secret().as_bytes()).expect("HMAC takes any key");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `x-bangban-signature` value for `body` signed at `timestamp` (Unix seconds): `sha256=<hex>`.
pub fn sign(secret: &SecretString, timestamp: i64, body: &[u8]) -> String {
    format!("{SCHEME}={}", hex::encode(mac(secret, &timestamp.to_string(), body).finalize().into_bytes()))
}

/// The signed webhook request for `sms` at `now`. No nonce: the timestamp and the idempotency key
/// do its work; `_nonce` is accepted for the providers' common shape and not used.
pub fn build_request(
    config: &WebhookConfig,
    sms: &SmsRequest,
    now: DateTime<Utc>,
    _nonce: &str,
) -> Result<Request<Vec<u8>>, BuildError> {
    check_message_id(&sms.message_id)?;
    let uri: http::Uri = config.url.parse().map_err(|_| BuildError::InvalidEndpoint(config.url.clone()))?;
    if !matches!(uri.scheme_str(), Some("https" | "http")) || uri.authority().is_none() {
        return Err(BuildError::InvalidEndpoint(config.url.clone()));
    }
    let body = body(sms);
    let timestamp = now.timestamp();
    Ok(Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(IDEMPOTENCY_KEY_HEADER, sms.message_id.as_str())
        .header(TIMESTAMP_HEADER, timestamp.to_string())
        .header(SIGNATURE_HEADER, sign(&config.secret, timestamp, &body))
        .body(body)?)
}

#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// What the receiver's answer means (see the module docs): 2xx accepted, with its `id` when given;
/// 409 temporary (the same key is still being processed); otherwise by status, with the answer's
/// `code` and `message` when it gave them.
pub fn parse_response(status: StatusCode, body: &[u8]) -> SendOutcome {
    let answer = serde_json::from_slice::<Answer>(body).ok();
    if status.is_success() {
        return SendOutcome::Accepted { provider_message_id: answer.and_then(|a| a.id).unwrap_or_default() };
    }
    let kind = if status == StatusCode::CONFLICT {
        super::FailureKind::Temporary
    } else {
        classify_http_status(status).unwrap_or(super::FailureKind::Permanent)
    };
    match answer {
        Some(Answer { code: Some(code), message, .. }) => SendOutcome::failure(kind, code, message.unwrap_or_default()),
        _ => match outcome_without_code(status, body) {
            SendOutcome::Temporary { code, message } | SendOutcome::Permanent { code, message } => {
                SendOutcome::failure(kind, code, message)
            }
            accepted => accepted,
        },
    }
}

/// Why a signed request was refused. None of these reveal the expected signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The secret is empty: everything is refused until one is configured.
    #[error("webhook secret is not configured")]
    NotConfigured,
    /// A required header is absent.
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    /// A header that must appear once appears more than once.
    #[error("header {0} appears more than once")]
    DuplicateHeader(&'static str),
    /// The timestamp is not a decimal number of seconds.
    #[error("malformed timestamp")]
    MalformedTimestamp,
    /// The signature header has no `sha256=` value.
    #[error("no sha256 signature")]
    UnsupportedScheme,
    /// A `sha256=` value is not 64 lowercase hex digits.
    #[error("malformed signature")]
    MalformedSignature,
    /// No `sha256=` value matches the timestamp and body under the secret.
    #[error("signature mismatch")]
    BadSignature,
    /// Correctly signed, but older than the tolerance.
    #[error("timestamp is {age_secs} s old, beyond the tolerance")]
    Stale {
        /// Seconds before now.
        age_secs: u64,
    },
    /// Correctly signed, but further in the future than the tolerance.
    #[error("timestamp is {ahead_secs} s in the future, beyond the tolerance")]
    Future {
        /// Seconds after now.
        ahead_secs: u64,
    },
}

/// Verifies a request signed with this scheme (a receipt, or a webhook as the receiver sees it):
/// the signature first, in constant time, then the timestamp within `tolerance` of `now`. Returns
/// the signed timestamp.
pub fn verify(
    secret: &SecretString,
    headers: &HeaderMap,
    body: &[u8],
    now: DateTime<Utc>,
    tolerance: Duration,
) -> Result<i64, VerifyError> {
    if secret.expose_secret().is_empty() {
        return Err(VerifyError::NotConfigured);
    }
    let timestamp_text = single_header(headers, TIMESTAMP_HEADER)?;
    let signature_text = single_header(headers, SIGNATURE_HEADER)?;
    if timestamp_text.is_empty() || timestamp_text.len() > 18 || !timestamp_text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(VerifyError::MalformedTimestamp);
    }
    let timestamp: i64 = timestamp_text.parse().map_err(|_| VerifyError::MalformedTimestamp)?;

    let mut candidates = Vec::new();
    for part in signature_text.split(',') {
        if let Some(hex_value) = part.trim().strip_prefix("sha256=") {
            let bytes = decode_lower_hex_32(hex_value).ok_or(VerifyError::MalformedSignature)?;
            candidates.push(bytes);
        }
    }
    if candidates.is_empty() {
        return Err(VerifyError::UnsupportedScheme);
    }
    let expected = mac(secret, timestamp_text, body);
    // Every candidate is compared (each in constant time), so timing says nothing about which one matched.
    let matched = candidates.iter().fold(false, |found, c| expected.clone().verify_slice(c).is_ok() | found);
    if !matched {
        return Err(VerifyError::BadSignature);
    }

    let now = now.timestamp();
    let tolerance = i64::try_from(tolerance.as_secs()).unwrap_or(i64::MAX);
    if timestamp <= now {
        let age = now - timestamp;
        if age > tolerance {
            return Err(VerifyError::Stale { age_secs: age.unsigned_abs() });
        }
    } else {
        let ahead = timestamp - now;
        if ahead > tolerance {
            return Err(VerifyError::Future { ahead_secs: ahead.unsigned_abs() });
        }
    }
    Ok(timestamp)
}

fn single_header<'a>(headers: &'a HeaderMap, name: &'static str) -> Result<&'a str, VerifyError> {
    let mut values = headers.get_all(name).iter();
    let first = values.next().ok_or(VerifyError::MissingHeader(name))?;
    if values.next().is_some() {
        return Err(VerifyError::DuplicateHeader(name));
    }
    first.to_str().map_err(|_| match name {
        TIMESTAMP_HEADER => VerifyError::MalformedTimestamp,
        _ => VerifyError::MalformedSignature,
    })
}

fn decode_lower_hex_32(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 || !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(text, &mut out).ok()?;
    Some(out)
}

/// Whether the gateway delivered the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReceiptStatus {
    /// The handset received it.
    Delivered,
    /// It will not arrive.
    Failed,
}

/// A delivery receipt from the webhook gateway:
/// `{"message_id":…, "status":"delivered"|"failed", "provider_message_id":…, "code":…,
/// "message":…, "reported_at":"<RFC 3339>"}`, the last four optional.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookReceipt {
    /// Our message id, as sent in `idempotency-key`.
    pub message_id: String,
    /// Delivered or failed.
    pub status: ReceiptStatus,
    /// The gateway's id, as it answered the send.
    #[serde(default)]
    pub provider_message_id: Option<String>,
    /// The gateway's or carrier's status code.
    #[serde(default)]
    pub code: Option<String>,
    /// Its explanation.
    #[serde(default)]
    pub message: Option<String>,
    /// When the status was known.
    #[serde(default)]
    pub reported_at: Option<DateTime<Utc>>,
}

impl WebhookReceipt {
    /// The provider-independent receipt.
    pub fn to_receipt(&self) -> DeliveryReceipt {
        DeliveryReceipt {
            provider_message_id: self.provider_message_id.clone().unwrap_or_default(),
            message_id: Some(self.message_id.clone()),
            phone: None,
            delivered: self.status == ReceiptStatus::Delivered,
            code: self.code.clone().unwrap_or_default(),
            message: self.message.clone().unwrap_or_default(),
            reported_at: self.reported_at,
        }
    }
}

/// Parses a receipt body (verify it with [`verify`] first).
pub fn parse_receipt(body: &[u8]) -> Result<WebhookReceipt, serde_json::Error> {
    serde_json::from_slice(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::PhoneNumber;
    use chrono::TimeZone;
    use http::HeaderValue;

    const T0: i64 = 1_709_258_584; // 2024-03-01T02:03:04Z

    fn secret() -> SecretString {
        SecretString::from("whsec_test_secret".to_string())
    }

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(secs, 0).unwrap()
    }

    fn sample_sms() -> SmsRequest {
        let mut params = TemplateParams::new();
        params.insert("case", "JX-2024-001");
        params.insert("name", "张三");
        SmsRequest {
            message_id: "0190f3a2-7c1e-7b3a-9c4d-1234567890ab".into(),
            phone: PhoneNumber::parse("13800138000").unwrap(),
            template_id: "case.accepted".into(),
            template_version: 2,
            provider_template: "unused".into(),
            sign_name: "unused".into(),
            params,
            text: "您的案件JX-2024-001已受理，帮办员张三。".into(),
        }
    }

    const SAMPLE_BODY: &str = r#"{"message_id":"0190f3a2-7c1e-7b3a-9c4d-1234567890ab","phone":"+8613800138000","template":"case.accepted","template_version":2,"params":{"case":"JX-2024-001","name":"张三"},"text":"您的案件JX-2024-001已受理，帮办员张三。"}"#;

    /// The expected signature was computed independently in Python, not by this code:
    /// `"sha256=" + hmac.new(b"whsec_test_secret", b"1709258584." + SAMPLE_BODY.encode(), sha256).hexdigest()`.
    const SAMPLE_SIGNATURE: &str = "sha256=3b0691690fb6ec5293f41e178e578104354ae486d55cbfd8cea743cc74098f6f";

    #[test]
    fn builds_a_signed_request() {
        let config = WebhookConfig { url: "https://sms-gateway.example.gov.cn/v1/messages".into(), secret: secret() };
        let request = build_request(&config, &sample_sms(), at(T0), "").unwrap();
        assert_eq!(request.method(), Method::POST);
        assert_eq!(request.uri(), "https://sms-gateway.example.gov.cn/v1/messages");
        assert_eq!(std::str::from_utf8(request.body()).unwrap(), SAMPLE_BODY);
        let header = |name: &str| request.headers()[name].to_str().unwrap().to_string();
        assert_eq!(header("content-type"), "application/json");
        assert_eq!(header("idempotency-key"), "0190f3a2-7c1e-7b3a-9c4d-1234567890ab");
        assert_eq!(header("x-bangban-timestamp"), "1709258584");
        assert_eq!(header("x-bangban-signature"), SAMPLE_SIGNATURE);

        // The receiver's view: the same request verifies.
        assert_eq!(verify(&secret(), request.headers(), request.body(), at(T0 + 10), DEFAULT_TOLERANCE), Ok(T0));
    }

    #[test]
    fn refuses_bad_urls_and_ids() {
        let mut config = WebhookConfig { url: "/relative".into(), secret: secret() };
        assert!(matches!(build_request(&config, &sample_sms(), at(T0), ""), Err(BuildError::InvalidEndpoint(_))));
        config.url = "http://127.0.0.1:9/hook".into();
        let mut sms = sample_sms();
        sms.message_id = "bad\nid".into();
        assert_eq!(build_request(&config, &sms, at(T0), "").unwrap_err(), BuildError::InvalidMessageId);
    }

    fn headers(timestamp: &str, signature: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(TIMESTAMP_HEADER, HeaderValue::from_str(timestamp).unwrap());
        h.insert(SIGNATURE_HEADER, HeaderValue::from_str(signature).unwrap());
        h
    }

    #[test]
    fn verifies_independently_computed_signatures() {
        let h = headers("1709258584", SAMPLE_SIGNATURE);
        assert_eq!(verify(&secret(), &h, SAMPLE_BODY.as_bytes(), at(T0), DEFAULT_TOLERANCE), Ok(T0));
    }

    #[test]
    fn refuses_tampering_and_wrong_secrets() {
        let h = headers("1709258584", SAMPLE_SIGNATURE);
        let tampered = SAMPLE_BODY.replace("张三", "李四");
        assert_eq!(
            verify(&secret(), &h, tampered.as_bytes(), at(T0), DEFAULT_TOLERANCE),
            Err(VerifyError::BadSignature)
        );
        let other = SecretString::from("another".to_string());
        assert_eq!(
            verify(&other, &h, SAMPLE_BODY.as_bytes(), at(T0), DEFAULT_TOLERANCE),
            Err(VerifyError::BadSignature)
        );
        // The timestamp is signed: moving it breaks the signature.
        let moved = headers("1709258585", SAMPLE_SIGNATURE);
        assert_eq!(
            verify(&secret(), &moved, SAMPLE_BODY.as_bytes(), at(T0), DEFAULT_TOLERANCE),
            Err(VerifyError::BadSignature)
        );
        let empty = SecretString::from(String::new());
        assert_eq!(
            verify(&empty, &h, SAMPLE_BODY.as_bytes(), at(T0), DEFAULT_TOLERANCE),
            Err(VerifyError::NotConfigured)
        );
    }

    #[test]
    fn enforces_the_tolerance() {
        let body = b"{}";
        let h = headers(&T0.to_string(), &sign(&secret(), T0, body));
        let tolerance = Duration::from_secs(300);
        assert_eq!(verify(&secret(), &h, body, at(T0 + 300), tolerance), Ok(T0));
        assert_eq!(verify(&secret(), &h, body, at(T0 - 300), tolerance), Ok(T0));
        assert_eq!(verify(&secret(), &h, body, at(T0 + 301), tolerance), Err(VerifyError::Stale { age_secs: 301 }));
        assert_eq!(verify(&secret(), &h, body, at(T0 - 301), tolerance), Err(VerifyError::Future { ahead_secs: 301 }));
    }

    #[test]
    fn accepts_any_of_several_sha256_signatures_and_ignores_other_schemes() {
        let body = b"{}";
        let good = sign(&secret(), T0, body);
        let old = sign(&SecretString::from("old".to_string()), T0, body);
        let h = headers(&T0.to_string(), &format!("v0=abc, {old},{good}"));
        assert_eq!(verify(&secret(), &h, body, at(T0), DEFAULT_TOLERANCE), Ok(T0));
        let h = headers(&T0.to_string(), &format!("v1={}", &good[7..]));
        assert_eq!(verify(&secret(), &h, body, at(T0), DEFAULT_TOLERANCE), Err(VerifyError::UnsupportedScheme));
    }

    #[test]
    fn refuses_malformed_headers() {
        let body = b"{}";
        let good = sign(&secret(), T0, body);
        let check = |h: &HeaderMap| verify(&secret(), h, body, at(T0), DEFAULT_TOLERANCE);

        let mut h = HeaderMap::new();
        h.insert(SIGNATURE_HEADER, HeaderValue::from_str(&good).unwrap());
        assert_eq!(check(&h), Err(VerifyError::MissingHeader(TIMESTAMP_HEADER)));
        let mut h = HeaderMap::new();
        h.insert(TIMESTAMP_HEADER, HeaderValue::from(T0));
        assert_eq!(check(&h), Err(VerifyError::MissingHeader(SIGNATURE_HEADER)));

        assert_eq!(check(&headers("-1", &good)), Err(VerifyError::MalformedTimestamp));
        assert_eq!(check(&headers("1709258584.0", &good)), Err(VerifyError::MalformedTimestamp));
        assert_eq!(
            check(&headers(&T0.to_string(), &good.to_uppercase().replace("SHA256", "sha256"))),
            Err(VerifyError::MalformedSignature)
        );
        assert_eq!(check(&headers(&T0.to_string(), "sha256=abcd")), Err(VerifyError::MalformedSignature));

        let mut h = headers(&T0.to_string(), &good);
        h.append(SIGNATURE_HEADER, HeaderValue::from_str(&good).unwrap());
        assert_eq!(check(&h), Err(VerifyError::DuplicateHeader(SIGNATURE_HEADER)));
    }

    #[test]
    fn answers_are_classified() {
        assert_eq!(
            parse_response(StatusCode::ACCEPTED, br#"{"id":"gw-42"}"#),
            SendOutcome::Accepted { provider_message_id: "gw-42".into() }
        );
        assert_eq!(parse_response(StatusCode::OK, b""), SendOutcome::Accepted { provider_message_id: String::new() });
        assert_eq!(
            parse_response(
                StatusCode::UNPROCESSABLE_ENTITY,
                r#"{"code":"invalid_number","message":"空号"}"#.as_bytes()
            ),
            SendOutcome::Permanent { code: "invalid_number".into(), message: "空号".into() }
        );
        assert_eq!(
            parse_response(StatusCode::TOO_MANY_REQUESTS, br#"{"code":"rate_limited"}"#),
            SendOutcome::Temporary { code: "rate_limited".into(), message: String::new() }
        );
        assert_eq!(
            parse_response(StatusCode::CONFLICT, b"in progress"),
            SendOutcome::Temporary { code: "HTTP_409".into(), message: "in progress".into() }
        );
        assert_eq!(
            parse_response(StatusCode::SERVICE_UNAVAILABLE, b""),
            SendOutcome::Temporary { code: "HTTP_503".into(), message: String::new() }
        );
        assert_eq!(
            parse_response(StatusCode::BAD_REQUEST, b"nope"),
            SendOutcome::Permanent { code: "HTTP_400".into(), message: "nope".into() }
        );
    }

    #[test]
    fn parses_receipts() {
        let body = br#"{"message_id":"m-1","status":"delivered","provider_message_id":"gw-42","code":"DELIVRD","reported_at":"2024-03-01T02:03:09Z"}"#;
        let receipt = parse_receipt(body).unwrap().to_receipt();
        assert!(receipt.delivered);
        assert_eq!(receipt.message_id.as_deref(), Some("m-1"));
        assert_eq!(receipt.provider_message_id, "gw-42");
        assert_eq!(receipt.reported_at, Some(at(T0 + 5)));

        let failed = parse_receipt(br#"{"message_id":"m-2","status":"failed"}"#).unwrap();
        assert_eq!(failed.status, ReceiptStatus::Failed);
        assert!(!failed.to_receipt().delivered);
        assert!(parse_receipt(br#"{"message_id":"m-3","status":"lost"}"#).is_err());
    }

    #[test]
    fn the_secret_is_not_printed() {
        let config =
            WebhookConfig { url: "https://x".into(), secret: SecretString::from("very-secret-value".to_string()) };
        assert!(!format!("{config:?}").contains("very-secret-value"));
    }
}
