//! SMS providers as pure functions: what a provider needs to send one message ([`SmsRequest`]),
//! how each provider's HTTP request is built and signed (`build_request` in each module, no
//! network), and what its answer means ([`SendOutcome`], from `parse_response`).
//!
//! - [`aliyun`]: Alibaba Cloud Dysmsapi `SendSms` (2017-05-25), signature V3 `ACS3-HMAC-SHA256`,
//!   and the `SmsReport` delivery receipts.
//! - [`tencent`]: Tencent Cloud SMS `SendSms` (2021-01-11), signature v3 `TC3-HMAC-SHA256`, and the
//!   delivery status callback.
//! - [`webhook`]: our own JSON webhook, HMAC-SHA256 over timestamp and body, with the verifier the
//!   receipts endpoint uses too.
//!
//! Every outcome is one of three: accepted by the provider, a temporary failure (retry later with
//! backoff) or a permanent one (never retry). Each module classifies its provider's documented
//! error codes; [`classify_http_status`] covers answers that carry no code.
//!
//! Secrets live in [`secrecy::SecretString`] and are exposed only to compute a MAC; phone numbers
//! print masked in `Debug`.

pub mod aliyun;
pub mod tencent;
pub mod webhook;

use std::fmt;

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone, Utc};
use http::StatusCode;
use serde::Serialize;
use serde::ser::SerializeMap;

/// Longest message id accepted: it travels in an HTTP header (`idempotency-key`) and in provider
/// fields (Aliyun `OutId`, Tencent `SessionContext`).
pub const MAX_MESSAGE_ID_LEN: usize = 128;

/// One SMS to one recipient, as every provider needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsRequest {
    /// Our message id: the idempotency key towards the provider (webhook `idempotency-key`,
    /// Aliyun `OutId`, Tencent `SessionContext`). 1–128 visible ASCII characters.
    pub message_id: String,
    /// The recipient.
    pub phone: PhoneNumber,
    /// Our template id, e.g. `case.accepted` (sent to the webhook; stored with the message).
    pub template_id: String,
    /// Our template's version (sent to the webhook; stored with the message).
    pub template_version: u32,
    /// The template as registered at the provider: Aliyun `TemplateCode` (`SMS_…`), Tencent
    /// `TemplateId` (digits). Unused by the webhook.
    pub provider_template: String,
    /// The approved signature (短信签名) shown as 【…】; unused by the webhook.
    pub sign_name: String,
    /// The template's parameters, in the template's order (Tencent's are positional).
    pub params: TemplateParams,
    /// The rendered text, as the recipient will read it (without the signature).
    pub text: String,
}

/// A phone number in E.164 form (`+8613800138000`). `Debug` shows it masked; the raw number is
/// only available through [`PhoneNumber::e164`] and the provider-specific forms.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber {
    e164: String,
}

/// Why a phone number was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a phone number in E.164 (+<country code><number>) or mainland 11-digit form")]
pub struct InvalidPhoneNumber;

impl PhoneNumber {
    /// Parses `+<country code><number>` (E.164: 8–15 digits after `+`, not starting with 0) or a
    /// mainland China mobile number of 11 digits starting with `1` (taken as `+86`). Spaces and
    /// hyphens are not accepted: numbers are normalized where they are entered.
    pub fn parse(text: &str) -> Result<Self, InvalidPhoneNumber> {
        let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if let Some(digits) = text.strip_prefix('+') {
            if all_digits(digits) && (8..=15).contains(&digits.len()) && !digits.starts_with('0') {
                return Ok(Self { e164: text.to_string() });
            }
        } else if all_digits(text) && text.len() == 11 && text.starts_with('1') {
            return Ok(Self { e164: format!("+86{text}") });
        }
        Err(InvalidPhoneNumber)
    }

    /// `+<country code><number>`, e.g. `+8613800138000`.
    pub fn e164(&self) -> &str {
        &self.e164
    }

    /// The 11-digit national number when this is a mainland China mobile number (`+861…`).
    pub fn mainland(&self) -> Option<&str> {
        self.e164.strip_prefix("+86").filter(|n| n.len() == 11 && n.starts_with('1'))
    }

    /// The number for logs: country code, first three and last four digits, e.g. `+86 138****8000`.
    pub fn masked(&self) -> String {
        let (cc, national) = match self.mainland() {
            Some(n) => ("+86", n),
            None => ("+", &self.e164[1..]),
        };
        let keep_head = national.len().min(3);
        let keep_tail = national.len().saturating_sub(keep_head).min(4);
        let hidden = national.len() - keep_head - keep_tail;
        let sep = if cc == "+" { "" } else { " " };
        format!("{cc}{sep}{}{}{}", &national[..keep_head], "*".repeat(hidden), &national[national.len() - keep_tail..])
    }
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneNumber({})", self.masked())
    }
}

/// Template parameters that keep the order they were given in (Tencent's `TemplateParamSet` is
/// positional; Aliyun's `TemplateParam` and the webhook's `params` are JSON objects written in
/// this order). Serializes as a JSON object in that order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TemplateParams(Vec<(String, String)>);

impl TemplateParams {
    /// No parameters.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `name` to `value`: replaces the value in place when `name` is already there, appends
    /// otherwise.
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let (name, value) = (name.into(), value.into());
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some(entry) => entry.1 = value,
            None => self.0.push((name, value)),
        }
    }

    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// Name and value pairs, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// The values, in order.
    pub fn values(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(_, v)| v.as_str())
    }

    /// How many parameters.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for TemplateParams {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut params = Self::new();
        for (k, v) in iter {
            params.insert(k, v);
        }
        params
    }
}

impl Serialize for TemplateParams {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in &self.0 {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

/// What a provider made of one send request, independent of the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// The provider took the message; delivery is reported later by a receipt.
    Accepted {
        /// The provider's id for it (Aliyun `BizId`, Tencent `SerialNo`, the webhook's `id`), which
        /// receipts refer to. Empty when the provider gave none.
        provider_message_id: String,
    },
    /// Not sent this time, for a reason that passes (rate limits, provider trouble, network,
    /// account standing an operator can fix): retry later, with backoff, within the retry budget.
    Temporary {
        /// The provider's error code, or `HTTP_<status>` when it gave none.
        code: String,
        /// The provider's message.
        message: String,
    },
    /// Never deliverable as it stands (invalid number, template or parameters, blacklisted,
    /// content refused): do not retry.
    Permanent {
        /// The provider's error code, or `HTTP_<status>` when it gave none.
        code: String,
        /// The provider's message.
        message: String,
    },
}

/// Whether a failure is worth retrying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// Retry later.
    Temporary,
    /// Do not retry.
    Permanent,
}

impl SendOutcome {
    /// A failure of `kind` with the provider's `code` and `message`.
    pub fn failure(kind: FailureKind, code: impl Into<String>, message: impl Into<String>) -> Self {
        let (code, message) = (code.into(), message.into());
        match kind {
            FailureKind::Temporary => Self::Temporary { code, message },
            FailureKind::Permanent => Self::Permanent { code, message },
        }
    }

    /// Whether the provider took the message.
    pub fn is_accepted(&self) -> bool {
        matches!(self, Self::Accepted { .. })
    }

    /// Whether sending again later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Temporary { .. })
    }
}

/// What an HTTP status says on its own, for answers without a provider error code: `None` for
/// success (2xx); temporary for 408, 425, 429 and every 5xx; permanent for the other 4xx (and for
/// anything else a provider should never answer).
pub fn classify_http_status(status: StatusCode) -> Option<FailureKind> {
    if status.is_success() {
        return None;
    }
    let temporary = status.is_server_error()
        || status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_EARLY
        || status == StatusCode::TOO_MANY_REQUESTS;
    Some(if temporary { FailureKind::Temporary } else { FailureKind::Permanent })
}

/// The outcome of an answer that carries no usable error code: by HTTP status, and temporary for
/// an unreadable 2xx (the provider may or may not have taken the message; the caller decides
/// whether to look at receipts before retrying).
pub(crate) fn outcome_without_code(status: StatusCode, body: &[u8]) -> SendOutcome {
    let message = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
    match classify_http_status(status) {
        None => SendOutcome::Temporary { code: "UNREADABLE_RESPONSE".into(), message },
        Some(kind) => SendOutcome::failure(kind, format!("HTTP_{}", status.as_u16()), message),
    }
}

/// A delivery receipt in a provider-independent form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryReceipt {
    /// The provider's id of the message (Aliyun `biz_id`, Tencent `sid`, the webhook's
    /// `provider_message_id`), as [`SendOutcome::Accepted`] reported it. May be empty.
    pub provider_message_id: String,
    /// Our message id, when the provider echoes it (Aliyun `out_id`, the webhook's `message_id`).
    pub message_id: Option<String>,
    /// The recipient, when the receipt names one that parses.
    pub phone: Option<PhoneNumber>,
    /// Whether the handset received the message.
    pub delivered: bool,
    /// The provider's (or carrier's) status code, e.g. `DELIVERED`, `DELIVRD`, `MK:0001`.
    pub code: String,
    /// Its explanation.
    pub message: String,
    /// When the status was reported or the handset received it.
    pub reported_at: Option<DateTime<Utc>>,
}

/// Why a request could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// The message id is empty, too long or not visible ASCII.
    #[error("the message id must be 1 to {MAX_MESSAGE_ID_LEN} visible ASCII characters")]
    InvalidMessageId,
    /// The configured endpoint is not an absolute http(s) URL.
    #[error("invalid endpoint URL: {0}")]
    InvalidEndpoint(String),
    /// A value cannot be put in an HTTP header or request.
    #[error("invalid request: {0}")]
    Http(String),
}

impl From<http::Error> for BuildError {
    fn from(e: http::Error) -> Self {
        Self::Http(e.to_string())
    }
}

pub(crate) fn check_message_id(id: &str) -> Result<(), BuildError> {
    if id.is_empty() || id.len() > MAX_MESSAGE_ID_LEN || !id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(BuildError::InvalidMessageId);
    }
    Ok(())
}

/// An endpoint split into what the request line and the `host` header need.
pub(crate) struct Endpoint {
    /// `scheme://authority`, without a trailing slash.
    pub origin: String,
    /// The authority (`host[:port]`), as the `host` header carries it.
    pub host: String,
}

/// Accepts `https://host[:port]` or `http://host[:port]`, with an optional trailing `/` and no path.
pub(crate) fn parse_endpoint(url: &str) -> Result<Endpoint, BuildError> {
    let bad = || BuildError::InvalidEndpoint(url.to_string());
    let uri: http::Uri = url.parse().map_err(|_| bad())?;
    let scheme = uri.scheme_str().filter(|s| *s == "https" || *s == "http").ok_or_else(bad)?;
    let authority = uri.authority().ok_or_else(bad)?.as_str();
    if authority.contains('@') || !matches!(uri.path(), "" | "/") || uri.query().is_some() {
        return Err(bad());
    }
    Ok(Endpoint { origin: format!("{scheme}://{authority}"), host: authority.to_ascii_lowercase() })
}

/// Parses `yyyy-MM-dd HH:mm:ss` as China Standard Time (UTC+8, no daylight saving), the zone the
/// Chinese providers write their receipt times in.
pub(crate) fn parse_china_time(text: &str) -> Option<DateTime<Utc>> {
    let naive = NaiveDateTime::parse_from_str(text.trim(), "%Y-%m-%d %H:%M:%S").ok()?;
    let cst = FixedOffset::east_opt(8 * 3600)?;
    cst.from_local_datetime(&naive).single().map(|t| t.with_timezone(&Utc))
}

/// Masks a raw phone number from a receipt for `Debug`: the first three and last four characters.
pub(crate) fn mask_raw_phone(raw: &str) -> String {
    let chars: Vec<char> = raw.chars().collect();
    if chars.len() <= 7 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 7))
}

/// Lenient field readers for receipts, whose documented types (strings) are not always what is sent.
pub(crate) mod lenient {
    use serde::{Deserialize, Deserializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Scalar {
        Bool(bool),
        Number(serde_json::Number),
        Text(String),
    }

    /// A string, a number or a boolean, as text; `null` as empty.
    pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        Ok(match Option::<Scalar>::deserialize(d)? {
            None => String::new(),
            Some(Scalar::Bool(b)) => b.to_string(),
            Some(Scalar::Number(n)) => n.to_string(),
            Some(Scalar::Text(s)) => s,
        })
    }

    /// `true`/`false`, or the strings `"true"`/`"false"` in any case.
    pub fn boolean<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        match Scalar::deserialize(d)? {
            Scalar::Bool(b) => Ok(b),
            Scalar::Text(s) if s.eq_ignore_ascii_case("true") => Ok(true),
            Scalar::Text(s) if s.eq_ignore_ascii_case("false") => Ok(false),
            _ => Err(serde::de::Error::custom("expected a boolean")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_parse_in_e164_or_mainland_form() {
        let mainland = PhoneNumber::parse("13800138000").unwrap();
        assert_eq!(mainland.e164(), "+8613800138000");
        assert_eq!(mainland.mainland(), Some("13800138000"));
        assert_eq!(PhoneNumber::parse("+8613800138000").unwrap(), mainland);

        let hong_kong = PhoneNumber::parse("+85261234567").unwrap();
        assert_eq!(hong_kong.e164(), "+85261234567");
        assert_eq!(hong_kong.mainland(), None);

        for bad in ["", "+", "138 0013 8000", "1380013800", "23800138000", "+0123456789", "+1234567", "8613800138000"] {
            assert_eq!(PhoneNumber::parse(bad), Err(InvalidPhoneNumber), "{bad:?}");
        }
    }

    #[test]
    fn phone_numbers_print_masked() {
        let phone = PhoneNumber::parse("13800138000").unwrap();
        assert_eq!(phone.masked(), "+86 138****8000");
        assert_eq!(format!("{phone:?}"), "PhoneNumber(+86 138****8000)");
        assert_eq!(PhoneNumber::parse("+85261234567").unwrap().masked(), "+852****4567");

        let request = SmsRequest {
            message_id: "m-1".into(),
            phone,
            template_id: "case.accepted".into(),
            template_version: 1,
            provider_template: "SMS_1".into(),
            sign_name: "帮办".into(),
            params: TemplateParams::new(),
            text: "您好".into(),
        };
        assert!(!format!("{request:?}").contains("13800138000"));
    }

    #[test]
    fn template_params_keep_their_order() {
        let mut params: TemplateParams = [("zeta", "1"), ("alpha", "2")].into_iter().collect();
        params.insert("mid", "3");
        params.insert("zeta", "4");
        assert_eq!(params.values().collect::<Vec<_>>(), ["4", "2", "3"]);
        assert_eq!(params.get("alpha"), Some("2"));
        assert_eq!(serde_json::to_string(&params).unwrap(), r#"{"zeta":"4","alpha":"2","mid":"3"}"#);
    }

    #[test]
    fn http_statuses_classify() {
        assert_eq!(classify_http_status(StatusCode::OK), None);
        for s in [500, 502, 503, 504, 408, 425, 429] {
            assert_eq!(classify_http_status(StatusCode::from_u16(s).unwrap()), Some(FailureKind::Temporary), "{s}");
        }
        for s in [400, 401, 403, 404, 413, 422] {
            assert_eq!(classify_http_status(StatusCode::from_u16(s).unwrap()), Some(FailureKind::Permanent), "{s}");
        }
        assert_eq!(
            outcome_without_code(StatusCode::BAD_GATEWAY, b"<html>"),
            SendOutcome::Temporary { code: "HTTP_502".into(), message: "<html>".into() }
        );
    }

    #[test]
    fn endpoints_parse() {
        let e = parse_endpoint("https://dysmsapi.aliyuncs.com").unwrap();
        assert_eq!((e.origin.as_str(), e.host.as_str()), ("https://dysmsapi.aliyuncs.com", "dysmsapi.aliyuncs.com"));
        let e = parse_endpoint("http://127.0.0.1:8089/").unwrap();
        assert_eq!((e.origin.as_str(), e.host.as_str()), ("http://127.0.0.1:8089", "127.0.0.1:8089"));
        for bad in ["dysmsapi.aliyuncs.com", "ftp://x", "https://x/path", "https://u@x", "https://x/?a=1"] {
            assert!(parse_endpoint(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn china_times_are_utc_plus_8() {
        let t = parse_china_time("2017-01-01 08:00:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2017-01-01T00:00:00+00:00");
        assert_eq!(parse_china_time("yesterday"), None);
    }
}
