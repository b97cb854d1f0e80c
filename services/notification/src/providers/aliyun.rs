//! Alibaba Cloud SMS (阿里云短信服务, Dysmsapi): `SendSms` of API version 2017-05-25 on
//! `dysmsapi.aliyuncs.com`, signed with signature V3 `ACS3-HMAC-SHA256`, and the `SmsReport`
//! delivery receipts Alibaba Cloud POSTs to us.
//!
//! # Signature V3
//!
//! As documented in "Request syntax and signature method V3" (V3版本请求体&签名机制),
//! <https://www.alibabacloud.com/help/en/sdk/product-overview/v3-request-structure-and-signature>
//! (Chinese: <https://help.aliyun.com/zh/sdk/product-overview/v3-request-structure-and-signature>):
//!
//! ```text
//! CanonicalRequest = Method \n CanonicalURI \n CanonicalQueryString \n CanonicalHeaders \n SignedHeaders \n HexEncode(SHA256(body))
//! StringToSign     = "ACS3-HMAC-SHA256" \n HexEncode(SHA256(CanonicalRequest))
//! Signature        = HexEncode(HMAC-SHA256(AccessKeySecret, StringToSign))
//! Authorization    = ACS3-HMAC-SHA256 Credential=<AccessKeyId>,SignedHeaders=<…>,Signature=<…>
//! ```
//!
//! The query string is sorted by name and RFC 3986-encoded (space `%20`, `*` `%2A`, `~` kept);
//! the canonical headers are `host`, `content-type` and every `x-acs-*`, lowercased, trimmed and
//! sorted. The unit tests reproduce the page's fixed-value example byte for byte.
//!
//! # SendSms
//!
//! `SendSms` is an RPC-style operation: its parameters (`PhoneNumbers`, `SignName`,
//! `TemplateCode`, `TemplateParam`, `OutId`) go in the query string, the body is empty
//! (<https://help.aliyun.com/document_detail/55284.html>). `OutId` carries our message id and comes
//! back as `out_id` in the receipts. Alibaba Cloud states that `SendSms` is *not* idempotent, so
//! the exactly-once bookkeeping stays on our side.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use http::{Method, Request, StatusCode};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{
    BuildError, DeliveryReceipt, FailureKind, PhoneNumber, SendOutcome, SmsRequest, check_message_id, lenient,
    mask_raw_phone, outcome_without_code, parse_china_time, parse_endpoint,
};

/// Where `SendSms` is called unless configured otherwise.
pub const DEFAULT_ENDPOINT: &str = "https://dysmsapi.aliyuncs.com";
/// The Dysmsapi version `SendSms` is called with (`x-acs-version`).
pub const API_VERSION: &str = "2017-05-25";
/// The operation (`x-acs-action`).
pub const ACTION: &str = "SendSms";
/// The signature algorithm, first word of the `Authorization` header.
pub const ALGORITHM: &str = "ACS3-HMAC-SHA256";
/// What our receipts endpoint answers to an `SmsReport` push it accepted: Alibaba Cloud only checks
/// that `code` is a number (and retries on a non-200 status or a timeout).
pub const RECEIPT_ACK: &str = r#"{"code":0,"msg":"接收成功"}"#;

/// SHA-256 of the empty body, hex: `SendSms` carries its parameters in the query.
const EMPTY_BODY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// RFC 3986: everything but `A–Z a–z 0–9 - _ . ~` is percent-encoded (upper-case hex).
const RFC3986: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// Credentials and endpoint for Alibaba Cloud SMS. `Debug` does not show the secret.
#[derive(Debug, Clone)]
pub struct AliyunConfig {
    /// The AccessKey ID (not secret: it names the key).
    pub access_key_id: String,
    /// The AccessKey secret.
    pub access_key_secret: SecretString,
    /// `https://host[:port]` of the Dysmsapi endpoint ([`DEFAULT_ENDPOINT`]; a local mock in tests).
    pub endpoint: String,
}

impl AliyunConfig {
    /// A configuration for the public endpoint.
    pub fn new(access_key_id: impl Into<String>, access_key_secret: SecretString) -> Self {
        Self { access_key_id: access_key_id.into(), access_key_secret, endpoint: DEFAULT_ENDPOINT.to_string() }
    }
}

/// The parts of an HTTP request that signature V3 covers.
#[derive(Debug, Clone, Copy)]
pub struct V3Request<'a> {
    /// Upper-case method, e.g. `POST`.
    pub method: &'a str,
    /// The encoded path; `/` for RPC-style operations.
    pub canonical_uri: &'a str,
    /// Query parameters, unencoded (sorted by name, as a `BTreeMap` keeps them).
    pub query: &'a BTreeMap<String, String>,
    /// Every header to send except `Authorization`; `host`, `content-type` and `x-acs-*` are signed.
    pub headers: &'a [(&'a str, &'a str)],
    /// The body exactly as sent.
    pub body: &'a [u8],
}

/// Every intermediate value of a V3 signature, for the request and for tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V3Signature {
    /// The canonical request.
    pub canonical_request: String,
    /// `ACS3-HMAC-SHA256\n<hex sha256 of the canonical request>`.
    pub string_to_sign: String,
    /// The signed header names, `;`-separated.
    pub signed_headers: String,
    /// Lower-case hex HMAC-SHA256 of the string to sign under the AccessKey secret.
    pub signature: String,
}

impl V3Signature {
    /// The `Authorization` header value.
    pub fn authorization(&self, access_key_id: &str) -> String {
        format!(
            "{ALGORITHM} Credential={access_key_id},SignedHeaders={},Signature={}",
            self.signed_headers, self.signature
        )
    }
}

/// RFC 3986 percent-encoding as signature V3 wants it.
pub fn percent_encode(text: &str) -> String {
    utf8_percent_encode(text, RFC3986).to_string()
}

/// `name=value` pairs, encoded, in name order, joined by `&`.
pub fn canonical_query_string(query: &BTreeMap<String, String>) -> String {
    query.iter().map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v))).collect::<Vec<_>>().join("&")
}

/// Computes the V3 signature of `request` under `secret`.
pub fn sign_v3(secret: &SecretString, request: &V3Request<'_>) -> V3Signature {
    let mut signed: Vec<(String, String)> = request
        .headers
        .iter()
        .map(|(name, value)| (name.to_ascii_lowercase(), value.trim().to_string()))
        .filter(|(name, _)| name.starts_with("x-acs-") || name == "host" || name == "content-type")
        .collect();
    signed.sort();
    let canonical_headers: String = signed.iter().map(|(name, value)| format!("{name}:{value}\n")).collect();
    let signed_headers = signed.iter().map(|(name, _)| name.as_str()).collect::<Vec<_>>().join(";");

    let canonical_request = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        request.method,
        request.canonical_uri,
        canonical_query_string(request.query),
        canonical_headers,
        signed_headers,
        hex::encode(Sha256::digest(request.body)),
    );
    let string_to_sign = format!("{ALGORITHM}\n{}", hex::encode(Sha256::digest(canonical_request.as_bytes())));
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes()).expect("HMAC takes any key");
    mac.update(string_to_sign.as_bytes());
    let signature = hex::encode(mac.finalize().into_bytes());
    V3Signature { canonical_request, string_to_sign, signed_headers, signature }
}

/// The `SendSms` query parameters for `sms`.
pub fn send_sms_parameters(sms: &SmsRequest) -> BTreeMap<String, String> {
    let mut query = BTreeMap::new();
    query.insert("PhoneNumbers".to_string(), phone_numbers_value(&sms.phone));
    query.insert("SignName".to_string(), sms.sign_name.clone());
    query.insert("TemplateCode".to_string(), sms.provider_template.clone());
    if !sms.params.is_empty() {
        let json = serde_json::to_string(&sms.params).expect("string pairs always serialize");
        query.insert("TemplateParam".to_string(), json);
    }
    query.insert("OutId".to_string(), sms.message_id.clone());
    query
}

/// `PhoneNumbers` takes a mainland number without prefix, and others as country code and number
/// without `+` (e.g. `85261234567`).
fn phone_numbers_value(phone: &PhoneNumber) -> String {
    match phone.mainland() {
        Some(national) => national.to_string(),
        None => phone.e164().trim_start_matches('+').to_string(),
    }
}

/// The signed `SendSms` request for `sms`, dated `now` (`x-acs-date`, must be within 15 minutes of
/// Alibaba Cloud's clock) with `nonce` (`x-acs-signature-nonce`, unique per request: a fresh random
/// hex string or UUID for every attempt, since Alibaba Cloud refuses a reused nonce).
pub fn build_request(
    config: &AliyunConfig,
    sms: &SmsRequest,
    now: DateTime<Utc>,
    nonce: &str,
) -> Result<Request<Vec<u8>>, BuildError> {
    check_message_id(&sms.message_id)?;
    let endpoint = parse_endpoint(&config.endpoint)?;
    let query = send_sms_parameters(sms);
    let date = now.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let headers = [
        ("host", endpoint.host.as_str()),
        ("x-acs-action", ACTION),
        ("x-acs-content-sha256", EMPTY_BODY_SHA256),
        ("x-acs-date", date.as_str()),
        ("x-acs-signature-nonce", nonce),
        ("x-acs-version", API_VERSION),
    ];
    let signature = sign_v3(
        &config.access_key_secret,
        &V3Request { method: "POST", canonical_uri: "/", query: &query, headers: &headers, body: b"" },
    );
    let mut builder =
        Request::builder().method(Method::POST).uri(format!("{}/?{}", endpoint.origin, canonical_query_string(&query)));
    for (name, value) in headers {
        builder = builder.header(name, value);
    }
    Ok(builder.header(http::header::AUTHORIZATION, signature.authorization(&config.access_key_id)).body(Vec::new())?)
}

/// The body of a `SendSms` answer (and of the gateway's error answers).
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SendSmsResponse {
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    biz_id: Option<String>,
}

/// What a `SendSms` answer means. `Code: "OK"` is acceptance (with `BizId`); any other code is
/// classified by [`classify_error`] (a 5xx status is temporary whatever the code); an answer
/// without a code by its status.
pub fn parse_response(status: StatusCode, body: &[u8]) -> SendOutcome {
    let Ok(SendSmsResponse { code: Some(code), message, biz_id }) = serde_json::from_slice::<SendSmsResponse>(body)
    else {
        return outcome_without_code(status, body);
    };
    let message = message.unwrap_or_default();
    if code == "OK" {
        if status.is_success() {
            return SendOutcome::Accepted { provider_message_id: biz_id.unwrap_or_default() };
        }
        return outcome_without_code(status, body);
    }
    let kind = if status.is_server_error() { FailureKind::Temporary } else { classify_error(&code) };
    SendOutcome::failure(kind, code, message)
}

/// Whether an Alibaba Cloud error code is worth retrying.
///
/// Sources: the SMS API error codes, <https://help.aliyun.com/zh/sms/developer-reference/api-error-codes>
/// (<https://help.aliyun.com/document_detail/101346.html>), and the OpenAPI gateway's common
/// client and server errors (`Throttling*`, `SignatureDoesNotMatch`, `InvalidAccessKeyId.*`,
/// `InvalidTimeStamp.*`, `SignatureNonceUsed`, `Missing*`, `InternalError`, `ServiceUnavailable`),
/// e.g. <https://help.aliyun.com/document_detail/48054.html>.
///
/// - Temporary: flow control (`isv.BUSINESS_LIMIT_CONTROL` — the per-number limits, 1/min, 5/h,
///   10/day by default — `isv.DAY_LIMIT_CONTROL`, `isv.MONTH_LIMIT_CONTROL`, `Throttling*`);
///   Alibaba Cloud's own faults (`isp.*`, `InternalError`, `ServiceUnavailable`); the clock or nonce
///   of this one request (`InvalidTimeStamp.Expired`, `SignatureNonceUsed`); and the account's
///   standing and credentials (`isv.AMOUNT_NOT_ENOUGH`, `isv.OUT_OF_SERVICE`,
///   `isv.PRODUCT_UN_SUBSCRIPT`, `isp.RAM_PERMISSION_DENY`, `SignatureDoesNotMatch`,
///   `InvalidAccessKeyId.*`, `Forbidden*`…), which an operator fixes for every message at once: the
///   bounded retries give them that time instead of failing every message for good.
/// - Permanent: what is wrong with this message itself: the number (`isv.MOBILE_NUMBER_ILLEGAL`,
///   `isv.DOMESTIC_NUMBER_NOT_SUPPORTED`), the template, signature or their pairing
///   (`isv.SMS_TEMPLATE_ILLEGAL`, `isv.SMS_SIGNATURE_ILLEGAL`, `isv.SMS_SIGNATURE_SCENE_ILLEGAL`…),
///   the parameters (`isv.TEMPLATE_MISSING_PARAMETERS`, `isv.INVALID_PARAMETERS`,
///   `isv.INVALID_JSON_PARAM`, `isv.PARAM_LENGTH_LIMIT`, `isv.PARAM_NOT_SUPPORT_URL`), the content
///   (`isv.SMS_CONTENT_ILLEGAL`, `isv.BLACK_KEY_CONTROL_LIMIT`), and malformed requests
///   (`Missing*`, `Invalid*`); any other `isv.*` (a user-side error) too.
/// - Any other code: temporary (bounded by the retry budget).
pub fn classify_error(code: &str) -> FailureKind {
    use FailureKind::{Permanent, Temporary};
    match code {
        "isv.BUSINESS_LIMIT_CONTROL" | "isv.DAY_LIMIT_CONTROL" | "isv.MONTH_LIMIT_CONTROL" => Temporary,
        "isv.AMOUNT_NOT_ENOUGH"
        | "isv.OUT_OF_SERVICE"
        | "isv.PRODUCT_UN_SUBSCRIPT"
        | "isv.PRODUCT_UNSUBSCRIBE"
        | "isv.ACCOUNT_NOT_EXISTS"
        | "isv.ACCOUNT_ABNORMAL"
        | "isv.DENY_IP_RANGE"
        | "isv.SYSTEM_ERROR" => Temporary,
        "InternalError"
        | "ServiceUnavailable"
        | "SignatureDoesNotMatch"
        | "SignatureNonceUsed"
        | "IncompleteSignature" => Temporary,
        c if c.starts_with("isp.") || c.starts_with("Throttling") => Temporary,
        c if c.starts_with("InvalidAccessKeyId") || c.starts_with("InvalidTimeStamp") || c.starts_with("Forbidden") => {
            Temporary
        }
        c if c.starts_with("isv.") || c.starts_with("Missing") || c.starts_with("Invalid") => Permanent,
        _ => Temporary,
    }
}

/// One delivery report of an `SmsReport` push: a JSON array of these
/// (<https://help.aliyun.com/zh/sms/developer-reference/smsreport-2>,
/// <https://help.aliyun.com/document_detail/101867.html>). Times are China Standard Time.
/// `Debug` masks the phone number.
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub struct SmsReport {
    /// The recipient, as sent (`13800138000`).
    #[serde(deserialize_with = "lenient::string")]
    pub phone_number: String,
    /// When it was sent, `yyyy-MM-dd HH:mm:ss`.
    #[serde(default, deserialize_with = "lenient::string")]
    pub send_time: String,
    /// When the status was reported, `yyyy-MM-dd HH:mm:ss`.
    #[serde(default, deserialize_with = "lenient::string")]
    pub report_time: String,
    /// Whether the handset received it.
    #[serde(deserialize_with = "lenient::boolean")]
    pub success: bool,
    /// The status code, `DELIVERED` on success, else the carrier's or Alibaba Cloud's code.
    #[serde(default, deserialize_with = "lenient::string")]
    pub err_code: String,
    /// Its explanation.
    #[serde(default, deserialize_with = "lenient::string")]
    pub err_msg: String,
    /// How many billed segments (documented as a string).
    #[serde(default, deserialize_with = "lenient::string")]
    pub sms_size: String,
    /// The `BizId` `SendSms` answered with.
    #[serde(deserialize_with = "lenient::string")]
    pub biz_id: String,
    /// The `OutId` we sent: our message id.
    #[serde(default, deserialize_with = "lenient::string")]
    pub out_id: String,
}

impl std::fmt::Debug for SmsReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsReport")
            .field("phone_number", &mask_raw_phone(&self.phone_number))
            .field("send_time", &self.send_time)
            .field("report_time", &self.report_time)
            .field("success", &self.success)
            .field("err_code", &self.err_code)
            .field("err_msg", &self.err_msg)
            .field("sms_size", &self.sms_size)
            .field("biz_id", &self.biz_id)
            .field("out_id", &self.out_id)
            .finish()
    }
}

impl SmsReport {
    /// The provider-independent receipt.
    pub fn to_receipt(&self) -> DeliveryReceipt {
        DeliveryReceipt {
            provider_message_id: self.biz_id.clone(),
            message_id: Some(self.out_id.clone()).filter(|id| !id.is_empty()),
            phone: PhoneNumber::parse(&self.phone_number).ok(),
            delivered: self.success,
            code: self.err_code.clone(),
            message: self.err_msg.clone(),
            reported_at: parse_china_time(&self.report_time),
        }
    }
}

/// Parses the body of an `SmsReport` push (one or more reports).
pub fn parse_sms_report(body: &[u8]) -> Result<Vec<SmsReport>, serde_json::Error> {
    serde_json::from_slice(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::TemplateParams;
    use chrono::TimeZone;

    /// The fixed-value example of "Request syntax and signature method V3", section "Signature
    /// examples" → "Fixed parameter values":
    /// <https://www.alibabacloud.com/help/en/sdk/product-overview/v3-request-structure-and-signature>
    /// (same example in Chinese, "签名示例" → "固定参数示例":
    /// <https://help.aliyun.com/zh/sdk/product-overview/v3-request-structure-and-signature>).
    /// AccessKeyID `YourAccessKeyId`, AccessKeySecret `YourAccessKeySecret`, nonce
    /// `3156853299f313e23d1673dc12e1703d`, date `2023-10-26T10:22:32Z`, action `RunInstances`,
    /// version `2014-05-26`, host `ecs.cn-shanghai.aliyuncs.com`, query `ImageId`, `RegionId`.
    #[test]
    fn reproduces_the_documented_v3_example() {
        let query: BTreeMap<String, String> =
            [("ImageId", "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd"), ("RegionId", "cn-shanghai")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        let headers = [
            ("host", "ecs.cn-shanghai.aliyuncs.com"),
            ("x-acs-action", "RunInstances"),
            ("x-acs-version", "2014-05-26"),
            ("x-acs-date", "2023-10-26T10:22:32Z"),
            ("x-acs-signature-nonce", "3156853299f313e23d1673dc12e1703d"),
            ("x-acs-content-sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ];
        let secret = SecretString::from("YourAccessKeySecret".to_string());
        let signature = sign_v3(
            &secret,
            &V3Request { method: "POST", canonical_uri: "/", query: &query, headers: &headers, body: b"" },
        );

        assert_eq!(
            signature.canonical_request,
            "POST\n\
             /\n\
             ImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai\n\
             host:ecs.cn-shanghai.aliyuncs.com\n\
             x-acs-action:RunInstances\n\
             x-acs-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n\
             x-acs-date:2023-10-26T10:22:32Z\n\
             x-acs-signature-nonce:3156853299f313e23d1673dc12e1703d\n\
             x-acs-version:2014-05-26\n\
             \n\
             host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version\n\
             e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            signature.string_to_sign,
            "ACS3-HMAC-SHA256\n7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259"
        );
        assert_eq!(signature.signature, "06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0");
        assert_eq!(
            signature.authorization("YourAccessKeyId"),
            "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,\
             SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,\
             Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
        );
    }

    #[test]
    fn encodes_as_rfc3986() {
        // The page's encoding rules: space → %20, * → %2A, ~ unencoded, UTF-8 bytes as %XY.
        assert_eq!(percent_encode("a b*c~d-e_f.g"), "a%20b%2Ac~d-e_f.g");
        assert_eq!(percent_encode("帮办"), "%E5%B8%AE%E5%8A%9E");
        assert_eq!(percent_encode(r#"{"a":"+/="}"#), "%7B%22a%22%3A%22%2B%2F%3D%22%7D");
    }

    #[test]
    fn signs_content_type_and_ignores_other_headers() {
        let query = BTreeMap::new();
        let headers = [("Content-Type", " application/json "), ("Host", "h"), ("user-agent", "x"), ("accept", "y")];
        let secret = SecretString::from("k".to_string());
        let signature = sign_v3(
            &secret,
            &V3Request { method: "POST", canonical_uri: "/", query: &query, headers: &headers, body: b"{}" },
        );
        assert_eq!(signature.signed_headers, "content-type;host");
        assert!(signature.canonical_request.starts_with("POST\n/\n\ncontent-type:application/json\nhost:h\n\n"));
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
            provider_template: "SMS_123456789".into(),
            sign_name: "帮办平台".into(),
            params,
            text: "您的案件JX-2024-001已受理，帮办员张三。".into(),
        }
    }

    /// `SendSms` as built here, checked against a vector computed independently in Python
    /// (hashlib/hmac/urllib.parse.quote with safe="-_.~", following the documented algorithm
    /// above), not against this code's own output:
    ///
    /// ```python
    /// q = {"OutId": "0190f3a2-7c1e-7b3a-9c4d-1234567890ab", "PhoneNumbers": "13800138000",
    ///      "SignName": "帮办平台", "TemplateCode": "SMS_123456789",
    ///      "TemplateParam": '{"case":"JX-2024-001","name":"张三"}'}
    /// cq = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(q.items()))
    /// h = {"host": "dysmsapi.aliyuncs.com", "x-acs-action": "SendSms",
    ///      "x-acs-content-sha256": sha256(b"").hexdigest(), "x-acs-date": "2024-03-01T02:03:04Z",
    ///      "x-acs-signature-nonce": "6a1f0c3e9b2d4e5f8a7b6c5d4e3f2a1b", "x-acs-version": "2017-05-25"}
    /// cr = "\n".join(["POST", "/", cq, "".join(f"{k}:{v}\n" for k, v in sorted(h.items())),
    ///                 ";".join(sorted(h)), sha256(b"").hexdigest()])
    /// sts = "ACS3-HMAC-SHA256\n" + sha256(cr.encode()).hexdigest()
    /// sig = hmac.new(b"testsecret", sts.encode(), sha256).hexdigest()
    /// ```
    #[test]
    fn builds_a_signed_send_sms_request() {
        let config = AliyunConfig::new("testid", SecretString::from("testsecret".to_string()));
        let now = Utc.with_ymd_and_hms(2024, 3, 1, 2, 3, 4).unwrap();
        let request = build_request(&config, &sample_sms(), now, "6a1f0c3e9b2d4e5f8a7b6c5d4e3f2a1b").unwrap();

        assert_eq!(request.method(), Method::POST);
        assert_eq!(
            request.uri().to_string(),
            "https://dysmsapi.aliyuncs.com/?OutId=0190f3a2-7c1e-7b3a-9c4d-1234567890ab&PhoneNumbers=13800138000\
             &SignName=%E5%B8%AE%E5%8A%9E%E5%B9%B3%E5%8F%B0&TemplateCode=SMS_123456789\
             &TemplateParam=%7B%22case%22%3A%22JX-2024-001%22%2C%22name%22%3A%22%E5%BC%A0%E4%B8%89%22%7D"
        );
        assert!(request.body().is_empty());
        let header = |name: &str| request.headers()[name].to_str().unwrap().to_string();
        assert_eq!(header("host"), "dysmsapi.aliyuncs.com");
        assert_eq!(header("x-acs-action"), "SendSms");
        assert_eq!(header("x-acs-version"), "2017-05-25");
        assert_eq!(header("x-acs-date"), "2024-03-01T02:03:04Z");
        assert_eq!(header("x-acs-signature-nonce"), "6a1f0c3e9b2d4e5f8a7b6c5d4e3f2a1b");
        assert_eq!(header("x-acs-content-sha256"), EMPTY_BODY_SHA256);
        assert_eq!(
            header("authorization"),
            "ACS3-HMAC-SHA256 Credential=testid,\
             SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,\
             Signature=bbf37c641c2d2b47d29e2ce947269c54e633b30ce57702d80e98138ecac82b00"
        );
    }

    #[test]
    fn international_numbers_and_local_endpoints() {
        let mut sms = sample_sms();
        sms.phone = PhoneNumber::parse("+85261234567").unwrap();
        sms.params = TemplateParams::new();
        let mut config = AliyunConfig::new("id", SecretString::from("s".to_string()));
        config.endpoint = "http://127.0.0.1:18080".into();
        let request = build_request(&config, &sms, Utc::now(), "n").unwrap();
        let uri = request.uri().to_string();
        assert!(uri.starts_with("http://127.0.0.1:18080/?OutId="), "{uri}");
        assert!(uri.contains("&PhoneNumbers=85261234567&"), "{uri}");
        assert!(!uri.contains("TemplateParam"), "{uri}");
        assert_eq!(request.headers()["host"], "127.0.0.1:18080");

        sms.message_id = "has space".into();
        assert_eq!(build_request(&config, &sms, Utc::now(), "n").unwrap_err(), BuildError::InvalidMessageId);
    }

    #[test]
    fn keys_are_not_printed() {
        let config = AliyunConfig::new("LTAI-id", SecretString::from("very-secret-value".to_string()));
        assert!(!format!("{config:?}").contains("very-secret-value"));
    }

    #[test]
    fn answers_are_classified() {
        // Success, as in the SendSms reference's example answer.
        let ok = br#"{"Code":"OK","Message":"OK","BizId":"9006197469364984****","RequestId":"F655A8D5-B967-440B-8683-DAD6FF8DE990"}"#;
        assert_eq!(
            parse_response(StatusCode::OK, ok),
            SendOutcome::Accepted { provider_message_id: "9006197469364984****".into() }
        );

        let fail = |code: &str| format!(r#"{{"Code":"{code}","Message":"m","RequestId":"r"}}"#).into_bytes();
        for code in [
            "isv.MOBILE_NUMBER_ILLEGAL",
            "isv.SMS_TEMPLATE_ILLEGAL",
            "isv.SMS_SIGNATURE_ILLEGAL",
            "isv.TEMPLATE_MISSING_PARAMETERS",
            "isv.INVALID_JSON_PARAM",
            "isv.BLACK_KEY_CONTROL_LIMIT",
            "isv.PARAM_LENGTH_LIMIT",
            "isv.SMS_CONTENT_ILLEGAL",
            "isv.SOMETHING_NEW",
            "MissingPhoneNumbers",
        ] {
            assert_eq!(
                parse_response(StatusCode::OK, &fail(code)),
                SendOutcome::Permanent { code: code.into(), message: "m".into() },
                "{code}"
            );
        }
        for code in [
            "isv.BUSINESS_LIMIT_CONTROL",
            "isv.DAY_LIMIT_CONTROL",
            "isv.AMOUNT_NOT_ENOUGH",
            "isv.OUT_OF_SERVICE",
            "isp.SYSTEM_ERROR",
            "isp.RAM_PERMISSION_DENY",
            "Throttling.User",
            "Throttling.Api",
            "Throttling",
            "InvalidTimeStamp.Expired",
            "SignatureNonceUsed",
            "SignatureDoesNotMatch",
            "InvalidAccessKeyId.NotFound",
            "ServiceUnavailable",
        ] {
            assert_eq!(
                parse_response(StatusCode::BAD_REQUEST, &fail(code)),
                SendOutcome::Temporary { code: code.into(), message: "m".into() },
                "{code}"
            );
        }
        // A 5xx is temporary whatever the code says; no code: by status.
        assert!(parse_response(StatusCode::SERVICE_UNAVAILABLE, &fail("isv.INVALID_PARAMETERS")).is_retryable());
        assert!(parse_response(StatusCode::BAD_GATEWAY, b"<html>bad gateway</html>").is_retryable());
        assert_eq!(
            parse_response(StatusCode::NOT_FOUND, b"not found"),
            SendOutcome::Permanent { code: "HTTP_404".into(), message: "not found".into() }
        );
        assert!(parse_response(StatusCode::OK, b"").is_retryable());
    }

    /// The example of the SmsReport page (<https://help.aliyun.com/zh/sms/developer-reference/smsreport-2>).
    #[test]
    fn parses_the_documented_sms_report() {
        let body = r#"[
          {
            "phone_number" : "1381111****",
            "send_time" : "2017-01-01 00:00:00",
            "report_time" : "2017-01-01 00:00:00",
            "success" : true,
            "err_code" : "DELIVERED",
            "err_msg" : "用户接收成功",
            "sms_size" : "1",
            "biz_id" : "12345********",
            "out_id" : "67890**"
          }
        ]"#;
        let reports = parse_sms_report(body.as_bytes()).unwrap();
        assert_eq!(reports.len(), 1);
        let r = &reports[0];
        assert!(r.success);
        assert_eq!((r.err_code.as_str(), r.sms_size.as_str(), r.biz_id.as_str()), ("DELIVERED", "1", "12345********"));
        let receipt = r.to_receipt();
        assert_eq!(receipt.provider_message_id, "12345********");
        assert_eq!(receipt.message_id.as_deref(), Some("67890**"));
        assert!(receipt.delivered);
        assert_eq!(receipt.reported_at, Some(Utc.with_ymd_and_hms(2016, 12, 31, 16, 0, 0).unwrap()));
        assert_eq!(receipt.phone, None, "the documented number is masked, so it does not parse");
    }

    #[test]
    fn parses_failed_reports_leniently_and_masks_numbers() {
        let body =
            br#"[{"phone_number":"13800138000","send_time":"2024-03-01 10:00:00","report_time":"2024-03-01 10:00:05",
            "success":"false","err_code":"MK:0001","err_msg":"","sms_size":2,"biz_id":"987","out_id":"msg-1"}]"#;
        let reports = parse_sms_report(body).unwrap();
        let receipt = reports[0].to_receipt();
        assert!(!receipt.delivered);
        assert_eq!(receipt.code, "MK:0001");
        assert_eq!(reports[0].sms_size, "2");
        assert_eq!(receipt.phone, Some(PhoneNumber::parse("13800138000").unwrap()));
        assert!(!format!("{:?}", reports[0]).contains("13800138000"));
        assert!(format!("{:?}", reports[0]).contains("138****8000"));

        assert!(parse_sms_report(br#"{"not":"an array"}"#).is_err());
    }
}
