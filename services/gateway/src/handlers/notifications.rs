//! Notifications (短信与站内通知 §6.2, §4.2.3) over HTTP, served by `notification`: everyone's in-app inbox
//! (站内通知), the SMS log of the offices, and the delivery receipts the SMS providers post.
//!
//! - `GET  /api/v1/inbox?unread_only=&limit=&offset=` — the caller's own notices; the owners come from the
//!   token ([`crate::authz::inbox_owners`]), never from the client. Everyone but integrators.
//! - `GET  /api/v1/inbox/unread-count` — how many of them are unread.
//! - `POST /api/v1/inbox/read` — marks the caller's notices read (all, or the ids given).
//! - `GET  /api/v1/messages?office=&case_id=&state=&limit=&offset=` — SMS sent (numbers masked): the offices'
//!   staff and supervisors, scoped like the deadline lists ([`crate::authz::scope_messages`]).
//! - `POST /api/v1/hooks/sms/{provider}` — delivery receipts (短信回执) of `aliyun`, `tencent` or our
//!   `webhook`. No bearer token: notification, which holds the providers' secrets, authenticates the
//!   request (the `token` query parameter, or the `X-Bangban-Signature`) before it reads the body.

use axum::{
    Json,
    body::Bytes,
    extract::{Path, State, rejection::BytesRejection},
    http::{HeaderMap, StatusCode, Uri},
    response::{IntoResponse, Response},
};
use bangban_contracts::{
    notification::{
        InboxPage, InboxQuery, ListInbox, ListMessages, MarkRead, MarkReadBody, MessagePage, ReceiptProvider,
        ReceiptsRecorded, RecordReceipts, ops,
    },
    office::is_known_office,
};
use bangban_platform::{problem::Problem, webhook};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{
    AppState,
    auth::Principal,
    authz::{inbox_owners, scope_messages},
    extract::{ApiJson, ApiQuery},
};
use utoipa_axum::{router::OpenApiRouter, routes};

/// Notices or messages on a page when the client does not say.
pub const DEFAULT_LIMIT: u64 = 20;
/// The most notices or messages on one page.
pub const MAX_LIMIT: u64 = 100;
/// The routes of notifications.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_inbox))
        .routes(routes!(unread_count))
        .routes(routes!(mark_read))
        .routes(routes!(list_messages))
        .routes(routes!(sms_receipts))
}

/// Reply of `GET /api/v1/inbox/unread-count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UnreadCount {
    /// The caller's unread notices (未读通知数).
    #[schema(example = 3)]
    pub unread: u64,
}

/// What Alibaba Cloud expects back from a receipt callback (`code` 0: received, no retry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AliyunReceiptAck {
    #[schema(example = 0)]
    pub code: i32,
    #[schema(example = "接收成功")]
    pub msg: String,
}

/// What Tencent Cloud expects back from a status callback (`result` 0: received, no retry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TencentReceiptAck {
    #[schema(example = 0)]
    pub result: i32,
    #[schema(example = "OK")]
    pub errmsg: String,
}

/// The reply of a receipt hook, in the format its provider expects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum SmsReceiptAck {
    Aliyun(AliyunReceiptAck),
    Tencent(TencentReceiptAck),
    Webhook(ReceiptsRecorded),
}

impl SmsReceiptAck {
    /// The acknowledgement `provider` expects once its receipts are recorded.
    pub fn for_provider(provider: ReceiptProvider, recorded: ReceiptsRecorded) -> Self {
        match provider {
            ReceiptProvider::Aliyun => Self::Aliyun(AliyunReceiptAck { code: 0, msg: "接收成功".into() }),
            ReceiptProvider::Tencent => Self::Tencent(TencentReceiptAck { result: 0, errmsg: "OK".into() }),
            ReceiptProvider::Webhook => Self::Webhook(recorded),
        }
    }
}

/// `limit` within 1..=[`MAX_LIMIT`], [`DEFAULT_LIMIT`] when absent; 422 naming `limit` otherwise.
pub(crate) fn page_limit(limit: Option<u64>) -> Result<u64, Problem> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(Problem::invalid_field(
            "limit",
            format!("须在 1 至 {MAX_LIMIT} 之间"),
            format!("must be between 1 and {MAX_LIMIT}"),
        ));
    }
    Ok(limit)
}

fn inbox_example() -> serde_json::Value {
    serde_json::json!({
        "items": [{
            "id": "0195f6e2-3b4c-7d5e-8f60-718293a4b5c6",
            "template_id": "task.supplement_requested",
            "title": "补正通知",
            "text": "您的项目“年产5万吨新材料项目”的“建设工程规划许可证核发”需补正材料：建设工程设计方案总平面图，请于2026年3月20日前补齐。",
            "case_id": "0195f39f-1a2b-7c3d-8e4f-5a6b7c8d9e0f",
            "task_id": "0195f3a0-7c1e-7b35-9a51-2f9c3c1d4e01",
            "created_at": "2026-03-13T02:00:00Z",
            "read_at": null
        }],
        "total": 1, "unread": 1, "limit": 20, "offset": 0
    })
}

fn message_example() -> serde_json::Value {
    serde_json::json!({
        "id": "0195f6e2-3b4c-7d5e-8f60-718293a4b5c7",
        "event_id": "0195f6e1-0000-7000-8000-000000000001",
        "recipient": {"kind": "applicant", "applicant_id": "0195f39e-0a1b-7c2d-8e3f-4a5b6c7d8e9f"},
        "phone_masked": "138****8000",
        "template_id": "task.supplement_requested",
        "template_version": 1,
        "text": "【滨州帮办代办】您的项目“年产5万吨新材料项目”的“建设工程规划许可证核发”需补正材料，请于2026年3月20日前补齐。",
        "chars": 62,
        "segments": 1,
        "urgent": false,
        "state": "delivered",
        "provider": "aliyun",
        "attempts": 1,
        "send_after": null,
        "last_error": null,
        "case_id": "0195f39f-1a2b-7c3d-8e4f-5a6b7c8d9e0f",
        "office": "371625",
        "created_at": "2026-03-13T02:00:00Z",
        "sent_at": "2026-03-13T02:00:01Z",
        "delivered_at": "2026-03-13T02:00:05Z"
    })
}

/// The caller's own in-app notices (站内通知), newest first, with the count of unread ones. The notices are
/// those of the owners the token names: an applicant's (`applicant:<id>`), a member of staff's
/// (`staff:<sub>`), and for a unit's officer also the unit's (`unit:<code>`, shared with the unit's head).
/// `limit` is 1–100 (default 20). Integrators get 403: they read the bus, not notices.
#[utoipa::path(
    get, path = "/api/v1/inbox", tag = "notifications",
    params(InboxQuery),
    responses(
        (status = 200, description = "本人的站内通知 / the caller's notices", body = InboxPage, example = json!(inbox_example())),
        (status = 400, description = "查询参数有误 / bad query", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "系统对接方无站内通知，或令牌未指明服务对象、所属单位 / integrators have no inbox, or the token names no applicant or unit", body = Problem),
        (status = 422, description = "参数取值有误（指明字段）/ invalid value, naming the field", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn list_inbox(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<InboxQuery>,
) -> Result<Json<InboxPage>, Problem> {
    let owners = inbox_owners(&principal)?;
    let req = ListInbox {
        owners,
        unread_only: query.unread_only,
        limit: Some(page_limit(query.limit)?),
        offset: Some(query.offset.unwrap_or(0)),
    };
    Ok(Json(state.call::<ops::InboxList>(&req).await?))
}

/// How many of the caller's notices are unread (未读通知数), for the console's badge. Same owners and
/// refusals as `GET /api/v1/inbox`.
#[utoipa::path(
    get, path = "/api/v1/inbox/unread-count", tag = "notifications",
    responses(
        (status = 200, description = "未读通知数 / unread notices", body = UnreadCount, example = json!({"unread": 3})),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "系统对接方无站内通知 / integrators have no inbox", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn unread_count(State(state): State<AppState>, principal: Principal) -> Result<Json<UnreadCount>, Problem> {
    let owners = inbox_owners(&principal)?;
    let req = ListInbox { owners, unread_only: false, limit: Some(0), offset: Some(0) };
    let page: InboxPage = state.call::<ops::InboxList>(&req).await?;
    Ok(Json(UnreadCount { unread: page.unread }))
}

/// Marks the caller's notices read (标记已读): those of `ids`, or every one when `ids` is empty or absent.
/// Only the caller's own notices change: an id that is not theirs (or does not exist) changes nothing.
/// Answers the first page of the inbox, with the new unread count.
#[utoipa::path(
    post, path = "/api/v1/inbox/read", tag = "notifications",
    request_body(content = MarkReadBody, description = "要标记已读的通知；为空则全部 / the notices to mark; empty: all", example = json!({
        "ids": ["0195f6e2-3b4c-7d5e-8f60-718293a4b5c6"]
    })),
    responses(
        (status = 200, description = "标记后的站内通知 / the inbox, marked", body = InboxPage, example = json!(inbox_example())),
        (status = 400, description = "请求体格式错误 / malformed body", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "系统对接方无站内通知 / integrators have no inbox", body = Problem),
        (status = 413, description = "请求体过大 / body too large", body = Problem),
        (status = 415, description = "须为 JSON / JSON required", body = Problem),
        (status = 422, description = "内容有误（指明字段）/ invalid content, naming the field", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(ids = body.0.ids.len()))]
pub async fn mark_read(
    State(state): State<AppState>,
    principal: Principal,
    body: ApiJson<MarkReadBody>,
) -> Result<Json<InboxPage>, Problem> {
    let owners = inbox_owners(&principal)?;
    let ApiJson(MarkReadBody { ids }) = body;
    Ok(Json(state.call::<ops::InboxMarkRead>(&MarkRead { owners, ids }).await?))
}

/// SMS messages (短信记录), newest first, with the number masked (`138****8000`), their delivery state and
/// attempts. For the offices' staff (帮办员、代办员、机构管理员) and supervisors: a county office's staff see
/// their own office's messages, whatever they ask (another `office` is 403); the city office's staff and
/// supervisors every office's, or the office they ask for. `limit` is 1–100 (default 20). Applicants,
/// officers, experts and integrators get 403.
#[utoipa::path(
    get, path = "/api/v1/messages", tag = "notifications",
    params(ListMessages),
    responses(
        (status = 200, description = "短信记录 / the messages", body = MessagePage, example = json!({
            "items": [message_example()], "total": 1, "limit": 20, "offset": 0
        })),
        (status = 400, description = "查询参数有误 / bad query", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "无权查看该机构的短信记录或该角色无权查看 / not your office, or the role sees no messages", body = Problem),
        (status = 422, description = "参数取值有误（指明字段）/ invalid value, naming the field", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn list_messages(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(mut filter): ApiQuery<ListMessages>,
) -> Result<Json<MessagePage>, Problem> {
    filter.office = scope_messages(&principal, filter.office.take())?;
    if let Some(office) = filter.office.as_deref()
        && !is_known_office(office)
    {
        return Err(Problem::invalid_field(
            "office",
            format!("未知的机构代码 {office:?}"),
            format!("unknown office code {office:?}"),
        ));
    }
    filter.limit = Some(page_limit(filter.limit)?);
    filter.offset = Some(filter.offset.unwrap_or(0));
    Ok(Json(state.call::<ops::MessageList>(&filter).await?))
}

/// The header's only value (`None` when absent); a repeated header or one that is not visible ASCII is
/// refused like a bad signature.
fn single_header(headers: &HeaderMap, name: &'static str) -> Result<Option<String>, Problem> {
    let mut values = headers.get_all(name).iter();
    let Some(first) = values.next() else { return Ok(None) };
    if values.next().is_some() {
        return Err(webhook::WebhookError::DuplicateHeader { header: name }.into());
    }
    let value = first.to_str().map_err(|_| {
        Problem::bad_signature(
            format!("请求头 {name} 须为可见 ASCII 字符"),
            format!("header {name} must be visible ASCII"),
        )
    })?;
    Ok(Some(value.to_string()))
}

/// The callback token of the query string (`?token=…`), given once at most. Never logged.
fn callback_token(uri: &Uri) -> Result<Option<String>, Problem> {
    let mut tokens = form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
        .filter(|(name, _)| name == "token")
        .map(|(_, value)| value.into_owned());
    let token = tokens.next();
    if tokens.next().is_some() {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "malformed-query",
            "查询参数有误",
            "Invalid query parameters",
        )
        .with_detail("token：只能出现一次", "token: may appear once only"));
    }
    Ok(token)
}

/// Notification refuses a bad token or signature with 401: a hook's refusal names the signature and
/// carries no bearer challenge (there is no bearer token here).
fn hook_problem(problem: Problem, provider: ReceiptProvider) -> Problem {
    if problem.status != StatusCode::UNAUTHORIZED.as_u16() {
        return problem;
    }
    tracing::warn!(
        provider = provider.as_str(),
        reason = problem.detail_en.as_deref().unwrap_or(""),
        "sms receipts refused"
    );
    if problem.type_ == "/problems/bad-signature" {
        return problem;
    }
    let (zh, en) = match (problem.detail, problem.detail_en) {
        (Some(zh), Some(en)) => (zh, en),
        _ => ("回调令牌或签名无效".to_string(), "bad callback token or signature".to_string()),
    };
    let mut refused = Problem::bad_signature(zh, en);
    refused.instance = problem.instance;
    refused
}

/// Delivery receipts of SMS (短信回执回调) posted by a provider: `aliyun` (阿里云 `SmsReport`), `tencent`
/// (腾讯云状态回调) or `webhook` (our own webhook's receipts). No bearer token.
///
/// Alibaba Cloud and Tencent Cloud are given the callback URL with a secret `token` query parameter
/// (`/api/v1/hooks/sms/aliyun?token=…`); the webhook signs like every Bangban webhook
/// (`X-Bangban-Timestamp`, `X-Bangban-Signature: sha256=<HMAC-SHA256(secret, "<timestamp>.<raw body>")>`,
/// optionally `X-Bangban-Delivery`). The gateway forwards the raw body (UTF-8, up to the body limit) with
/// the token and the headers to notification, which authenticates it before it reads the body (401 for a
/// bad token or signature) and records each receipt once: a repeated receipt changes nothing.
///
/// The answer is in the provider's format: Alibaba Cloud `{"code":0,"msg":"接收成功"}`, Tencent Cloud
/// `{"result":0,"errmsg":"OK"}`, the webhook the counts of applied, unchanged and unknown receipts. Any
/// other status makes the provider retry.
#[utoipa::path(
    post, path = "/api/v1/hooks/sms/{provider}", tag = "hooks",
    params(
        ("provider" = ReceiptProvider, Path, description = "短信服务商：aliyun、tencent、webhook / the provider"),
        ("token" = Option<String>, Query, description = "回调令牌（阿里云、腾讯云，配置在回调地址中）/ the callback token (Alibaba Cloud, Tencent Cloud), part of the configured URL"),
        ("X-Bangban-Timestamp" = Option<String>, Header, description = "签名时间（Unix 秒，webhook）/ Unix time of signing, seconds (webhook)", example = "1795836600"),
        ("X-Bangban-Signature" = Option<String>, Header, description = "sha256=<HMAC-SHA256(secret, \"<timestamp>.<raw body>\") 小写十六进制（webhook）/ lowercase hex (webhook)",
            example = "sha256=3b72671a9ddcb2f2283f72b29e8573b349ef90eea8dca76b1f4c2faf98346f76"),
        ("X-Bangban-Delivery" = Option<String>, Header, description = "可选的投递编号（webhook）/ optional delivery id (webhook)", example = "sms-2026-000042"),
    ),
    request_body(content = serde_json::Value, description = "服务商的回执原文（JSON，webhook 的格式由通知服务定义）/ the provider's receipts, as sent (JSON; the webhook's format is notification's)", content_type = "application/json", examples(
        ("aliyun" = (summary = "阿里云 SmsReport / Alibaba Cloud", value = json!([{
            "phone_number": "13800138000", "send_time": "2026-03-13 10:00:01", "report_time": "2026-03-13 10:00:05",
            "success": true, "err_code": "DELIVERED", "err_msg": "用户接收成功", "sms_size": "1",
            "biz_id": "932702304080415357^0", "out_id": "0195f6e2-3b4c-7d5e-8f60-718293a4b5c7"
        }]))),
        ("tencent" = (summary = "腾讯云状态回调 / Tencent Cloud", value = json!([{
            "user_receive_time": "2026-03-13 10:00:05", "nationcode": "86", "mobile": "13800138000",
            "report_status": "SUCCESS", "errmsg": "DELIVRD", "description": "用户短信送达成功",
            "sid": "2019:538884*********", "ext": {"msg_id": "0195f6e2-3b4c-7d5e-8f60-718293a4b5c7"}
        }]))),
    )),
    responses(
        (status = 200, description = "已接收，按服务商要求的格式应答 / received, answered in the provider's format", body = SmsReceiptAck, examples(
            ("aliyun" = (summary = "阿里云 / Alibaba Cloud", value = json!({"code": 0, "msg": "接收成功"}))),
            ("tencent" = (summary = "腾讯云 / Tencent Cloud", value = json!({"result": 0, "errmsg": "OK"}))),
            ("webhook" = (summary = "Bangban webhook", value = json!({"applied": 1, "unchanged": 0, "unknown": 0}))),
        )),
        (status = 400, description = "请求体不是 UTF-8 或查询参数有误 / body not UTF-8, or bad query", body = Problem),
        (status = 401, description = "回调令牌、签名或时间戳无效 / bad token, signature or timestamp", body = Problem),
        (status = 404, description = "未知的服务商，或该服务商的回执回调未启用（未配置令牌或密钥）/ unknown provider, or its hook is not enabled (no token or secret configured)", body = Problem),
        (status = 413, description = "请求体过大 / body too large", body = Problem),
        (status = 422, description = "回执内容有误 / invalid receipts", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    )
)]
#[tracing::instrument(skip_all, fields(provider = tracing::field::Empty))]
pub async fn sms_receipts(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let path = uri.path().to_string();
    let Some(provider) = ReceiptProvider::parse(&provider) else {
        return Err(Problem::not_found(
            "未知的短信服务商；可选：aliyun、tencent、webhook",
            "unknown SMS provider; expected aliyun, tencent or webhook",
        )
        .with_instance(path));
    };
    tracing::Span::current().record("provider", provider.as_str());
    let limit = state.settings.http.body_limit;
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Problem::payload_too_large(limit)
        } else {
            Problem::malformed(None, "无法读取请求体", "the request body could not be read")
        }
        .with_instance(path.clone())
    })?;
    let body = String::from_utf8(body.to_vec()).map_err(|_| {
        Problem::malformed(None, "请求体须为 UTF-8 编码的 JSON", "the body must be UTF-8 JSON")
            .with_instance(path.clone())
    })?;
    let req = RecordReceipts {
        provider,
        token: callback_token(&uri).map_err(|p| p.with_instance(path.clone()))?,
        timestamp: single_header(&headers, webhook::TIMESTAMP_HEADER).map_err(|p| p.with_instance(path.clone()))?,
        signature: single_header(&headers, webhook::SIGNATURE_HEADER).map_err(|p| p.with_instance(path.clone()))?,
        delivery: single_header(&headers, webhook::DELIVERY_HEADER).map_err(|p| p.with_instance(path.clone()))?,
        body,
    };
    let recorded: ReceiptsRecorded = state
        .call::<ops::ReceiptRecord>(&req)
        .await
        .map_err(|e| hook_problem(e, provider).with_instance(path.clone()))?;
    tracing::info!(
        applied = recorded.applied,
        unchanged = recorded.unchanged,
        unknown = recorded.unknown,
        "sms receipts recorded"
    );
    Ok(Json(SmsReceiptAck::for_provider(provider, recorded)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_default_to_20_and_stay_within_1_to_100() {
        assert_eq!(page_limit(None).unwrap(), 20);
        assert_eq!(page_limit(Some(1)).unwrap(), 1);
        assert_eq!(page_limit(Some(100)).unwrap(), 100);
        for wrong in [0, 101, u64::MAX] {
            let p = page_limit(Some(wrong)).unwrap_err();
            assert_eq!((p.status, p.errors[0].field.as_str()), (422, "limit"), "{wrong}");
        }
    }

    #[test]
    fn each_provider_gets_the_acknowledgement_it_expects() {
        let recorded = ReceiptsRecorded { applied: 2, unchanged: 1, unknown: 0 };
        let ack = |p| serde_json::to_value(SmsReceiptAck::for_provider(p, recorded)).unwrap();
        assert_eq!(ack(ReceiptProvider::Aliyun), serde_json::json!({"code": 0, "msg": "接收成功"}));
        assert_eq!(ack(ReceiptProvider::Tencent), serde_json::json!({"result": 0, "errmsg": "OK"}));
        assert_eq!(ack(ReceiptProvider::Webhook), serde_json::json!({"applied": 2, "unchanged": 1, "unknown": 0}));
    }

    #[test]
    fn the_callback_token_comes_from_the_query_once() {
        let uri = |s: &str| s.parse::<Uri>().unwrap();
        assert_eq!(callback_token(&uri("/api/v1/hooks/sms/aliyun")).unwrap(), None);
        assert_eq!(
            callback_token(&uri("/api/v1/hooks/sms/aliyun?token=s%2Fe+cret&x=1")).unwrap().as_deref(),
            Some("s/e cret")
        );
        assert_eq!(callback_token(&uri("/api/v1/hooks/sms/aliyun?token=a&token=b")).unwrap_err().status, 400);
    }

    #[test]
    fn webhook_headers_are_single_and_visible_ascii() {
        let mut headers = HeaderMap::new();
        assert_eq!(single_header(&headers, webhook::DELIVERY_HEADER).unwrap(), None);
        headers.insert(webhook::TIMESTAMP_HEADER, "1795836600".parse().unwrap());
        assert_eq!(single_header(&headers, webhook::TIMESTAMP_HEADER).unwrap().as_deref(), Some("1795836600"));
        headers.append(webhook::TIMESTAMP_HEADER, "1795836601".parse().unwrap());
        let twice = single_header(&headers, webhook::TIMESTAMP_HEADER).unwrap_err();
        assert_eq!((twice.status, twice.type_.as_str()), (401, "/problems/bad-signature"));
        headers.insert(webhook::SIGNATURE_HEADER, axum::http::HeaderValue::from_bytes(b"sha256=\xff").unwrap());
        assert_eq!(single_header(&headers, webhook::SIGNATURE_HEADER).unwrap_err().status, 401);
    }

    #[test]
    fn a_refused_receipt_carries_no_bearer_challenge() {
        let refused =
            hook_problem(Problem::unauthorized("回调令牌无效", "bad callback token"), ReceiptProvider::Aliyun);
        assert_eq!((refused.status, refused.type_.as_str()), (401, "/problems/bad-signature"));
        assert_eq!(refused.detail_en.as_deref(), Some("bad callback token"));
        let response = refused.into_response();
        assert!(response.headers().get(axum::http::header::WWW_AUTHENTICATE).is_none());
        let other = hook_problem(Problem::invalid_field("body", "格式", "format"), ReceiptProvider::Tencent);
        assert_eq!(other.status, 422);
    }

    #[test]
    fn the_document_describes_notifications_and_the_sms_hook() {
        let doc = serde_json::to_value(crate::openapi::document()).unwrap();
        let paths = &doc["paths"];
        let query = |op: &serde_json::Value| -> Vec<String> {
            op["parameters"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .filter(|p| p["in"] == "query")
                        .filter_map(|p| p["name"].as_str())
                        .map(Into::into)
                        .collect()
                })
                .unwrap_or_default()
        };
        for (path, method, params) in [
            ("/api/v1/inbox", "get", &["unread_only", "limit", "offset"][..]),
            ("/api/v1/inbox/unread-count", "get", &[]),
            ("/api/v1/inbox/read", "post", &[]),
            ("/api/v1/messages", "get", &["office", "case_id", "state", "limit", "offset"]),
        ] {
            let op = &paths[path][method];
            assert!(op.is_object(), "{method} {path} is not documented");
            assert_eq!(op["tags"][0], "notifications", "{path}");
            assert_eq!(op["security"][0]["bearer"], serde_json::json!([]), "{path} names its security");
            for code in ["200", "401", "403", "503"] {
                assert!(op["responses"][code].is_object(), "{method} {path} documents {code}");
            }
            assert!(!op["responses"]["200"]["content"]["application/json"]["example"].is_null(), "{path}: an example");
            assert_eq!(query(op), params, "{method} {path}");
        }
        let read = &paths["/api/v1/inbox/read"]["post"]["requestBody"]["content"]["application/json"]["example"];
        assert!(read["ids"].is_array(), "{read}");

        let hook = &paths["/api/v1/hooks/sms/{provider}"]["post"];
        assert_eq!(hook["tags"][0], "hooks");
        assert!(hook["security"].is_null(), "authenticated by notification, not by a bearer token: {hook}");
        assert_eq!(query(hook), ["token"]);
        let headers: Vec<&str> = hook["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["in"] == "header")
            .filter_map(|p| p["name"].as_str())
            .collect();
        assert_eq!(headers, ["X-Bangban-Timestamp", "X-Bangban-Signature", "X-Bangban-Delivery"]);
        let provider = hook["parameters"].as_array().unwrap().iter().find(|p| p["in"] == "path").unwrap();
        assert_eq!(provider["name"], "provider");
        let replies = &hook["responses"]["200"]["content"]["application/json"]["examples"];
        assert_eq!(replies["aliyun"]["value"]["msg"], "接收成功");
        assert_eq!(replies["tencent"]["value"]["errmsg"], "OK");
        assert_eq!(replies["webhook"]["value"]["applied"], 1);
        for code in ["400", "401", "404", "413", "503"] {
            assert!(hook["responses"][code].is_object(), "the hook documents {code}");
        }
        // One `hooks` tag, shared with the hotline's hook.
        let hooks = doc["tags"].as_array().unwrap().iter().filter(|t| t["name"] == "hooks").count();
        assert_eq!(hooks, 1);
        let schemas = &doc["components"]["schemas"];
        for name in [
            "InboxPage",
            "InboxNotice",
            "MarkReadBody",
            "UnreadCount",
            "MessagePage",
            "MessageView",
            "ReceiptsRecorded",
            "SmsReceiptAck",
        ] {
            assert!(schemas[name].is_object(), "{name} missing");
        }
    }

    /// The routes against a stand-in notification service on a real nats-server: what the gateway forwards
    /// (owners from the token, scoped offices, the hook's raw request) and what it answers.
    #[tokio::test]
    async fn the_routes_forward_what_the_token_and_the_provider_say() {
        use std::sync::{Arc, Mutex};

        use crate::auth::Role;
        use axum::{body::Body, http::Request};
        use bangban_platform::{health::Readiness, rpc};
        use futures::StreamExt;
        use serde_json::{Value, json};
        use tower::ServiceExt;

        let nats = bangban_testkit::NatsServer::start().await.expect("nats-server");
        let client = nats.client().await.expect("client");
        let settings = bangban_platform::Settings {
            data_dir: std::env::temp_dir().join(format!("bangban-gateway-notifications-{}", uuid::Uuid::now_v7())),
            ..Default::default()
        };
        std::fs::create_dir_all(&settings.data_dir).expect("data dir");
        let state = crate::state(&settings, client.clone()).expect("state");
        let auth = state.auth.clone();
        let app = crate::router(state, Readiness { nats: client.clone(), databases: vec![] });

        // The stand-in: records each request, answers pages, and refuses receipts without the right token.
        let seen: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
        let mut requests = client
            .subscribe(bangban_contracts::subjects::service_subject(bangban_contracts::notification::SERVICE, ">"))
            .await
            .expect("subscribe");
        client.flush().await.expect("flush");
        let (replier, log) = (client.clone(), seen.clone());
        tokio::spawn(async move {
            while let Some(msg) = requests.next().await {
                let op = msg
                    .subject
                    .as_str()
                    .trim_start_matches(&bangban_contracts::subjects::service_subject(
                        bangban_contracts::notification::SERVICE,
                        "",
                    ))
                    .to_string();
                let req: Value = serde_json::from_slice(&msg.payload).expect("json");
                log.lock().unwrap().push((op.clone(), req.clone()));
                let reply = msg.reply.expect("a request");
                let page =
                    |req: &Value| json!({"items": [], "total": 0, "unread": 3, "limit": req["limit"], "offset": 0});
                let (headers, body) = match op.as_str() {
                    "inbox.list" => (None, page(&req)),
                    "inbox.mark_read" => (None, page(&json!({"limit": 20}))),
                    "message.list" => (None, json!({"items": [], "total": 0, "limit": req["limit"], "offset": 0})),
                    "receipt.record" if req["token"] == "good" || req["signature"].is_string() => {
                        (None, json!({"applied": 1, "unchanged": 0, "unknown": 0}))
                    }
                    _ => {
                        let mut h = async_nats::HeaderMap::new();
                        h.insert(rpc::SERVICE_ERROR, "Unauthorized");
                        h.insert(rpc::SERVICE_ERROR_CODE, "401");
                        (
                            Some(h),
                            serde_json::to_value(Problem::unauthorized("回调令牌无效", "bad callback token")).unwrap(),
                        )
                    }
                };
                let body = serde_json::to_vec(&body).unwrap().into();
                match headers {
                    Some(h) => replier.publish_with_headers(reply, h, body).await.unwrap(),
                    None => replier.publish(reply, body).await.unwrap(),
                }
            }
        });

        let token = |sub: &str, role, office: &str, unit: Option<&str>, applicant: Option<&str>| {
            auth.issue(
                sub,
                role,
                office,
                unit.map(Into::into),
                applicant.map(Into::into),
                std::time::Duration::from_secs(600),
            )
            .expect("token")
        };
        let send = |req: Request<Body>| {
            let app = app.clone();
            async move {
                let res = app.oneshot(req).await.expect("response");
                let status = res.status().as_u16();
                let challenge = res.headers().contains_key(axum::http::header::WWW_AUTHENTICATE);
                let bytes = axum::body::to_bytes(res.into_body(), usize::MAX).await.expect("body");
                (status, serde_json::from_slice::<Value>(&bytes).unwrap_or(Value::Null), challenge)
            }
        };
        let get = |uri: &str, token: &str| {
            Request::get(uri).header("authorization", format!("Bearer {token}")).body(Body::empty()).unwrap()
        };
        let last = || seen.lock().unwrap().last().cloned();
        let count = || seen.lock().unwrap().len();

        // The inbox: the owners come from the token.
        let applicant_id = "0195f39e-0a1b-7c2d-8e3f-4a5b6c7d8e9f";
        let applicant = token("app-1", Role::Applicant, "371625", None, Some(applicant_id));
        let (status, page, _) = send(get("/api/v1/inbox?unread_only=true", &applicant)).await;
        assert_eq!((status, &page["limit"]), (200, &json!(20)), "{page}");
        let (op, req) = last().unwrap();
        assert_eq!(op, "inbox.list");
        assert_eq!(
            req,
            json!({"owners": [format!("applicant:{applicant_id}")], "unread_only": true, "limit": 20, "offset": 0})
        );
        let officer = token("officer-1", Role::Officer, "371625", Some("371625-XZSP"), None);
        let (status, body, _) = send(get("/api/v1/inbox/unread-count", &officer)).await;
        assert_eq!((status, body), (200, json!({"unread": 3})));
        assert_eq!(last().unwrap().1["owners"], json!(["staff:officer-1", "unit:371625-XZSP"]));
        assert_eq!(last().unwrap().1["limit"], 0);
        let mark = Request::post("/api/v1/inbox/read")
            .header("authorization", format!("Bearer {officer}"))
            .header("content-type", "application/json")
            .body(Body::from(r#"{"ids":["0195f6e2-3b4c-7d5e-8f60-718293a4b5c6"]}"#))
            .unwrap();
        assert_eq!(send(mark).await.0, 200);
        assert_eq!(
            last().unwrap(),
            (
                "inbox.mark_read".into(),
                json!({"owners": ["staff:officer-1", "unit:371625-XZSP"], "ids": ["0195f6e2-3b4c-7d5e-8f60-718293a4b5c6"]})
            )
        );
        // Refused before anything is asked: integrators, a wrong limit, a client naming owners.
        let before = count();
        let integrator = token("int-1", Role::Integrator, "371600", None, None);
        assert_eq!(send(get("/api/v1/inbox", &integrator)).await.0, 403);
        let (status, problem, _) = send(get("/api/v1/inbox?limit=101", &applicant)).await;
        assert_eq!((status, &problem["errors"][0]["field"]), (400, &json!("limit")), "{problem}");
        assert_eq!(send(get("/api/v1/inbox?owners=staff:boss", &applicant)).await.0, 400);
        assert_eq!(count(), before, "nothing forwarded");

        // Messages: a county's staff see their own office; the city every office.
        let county = token("agent-1", Role::Agent, "371625", None, None);
        assert_eq!(send(get("/api/v1/messages?office=371621", &county)).await.0, 403);
        assert_eq!(send(get("/api/v1/messages", &applicant)).await.0, 403);
        assert_eq!(send(get("/api/v1/messages", &officer)).await.0, 403);
        assert_eq!(count(), before);
        assert_eq!(send(get("/api/v1/messages?state=delivered", &county)).await.0, 200);
        assert_eq!(
            last().unwrap(),
            (
                "message.list".into(),
                json!({"office": "371625", "case_id": null, "state": "delivered", "limit": 20, "offset": 0})
            )
        );
        let city = token("admin-1", Role::OfficeAdmin, "371600", None, None);
        assert_eq!(send(get("/api/v1/messages?limit=5", &city)).await.0, 200);
        assert_eq!(last().unwrap().1["office"], Value::Null);
        assert_eq!(last().unwrap().1["limit"], 5);

        // The receipt hooks: no bearer token, the raw request forwarded, the provider's reply.
        let hook = |uri: &str, body: &'static [u8]| {
            Request::post(uri).header("content-type", "application/json").body(Body::from(body))
        };
        let aliyun = br#"[{"phone_number":"13800138000","success":true,"biz_id":"1^0","out_id":"m-1"}]"#;
        let (status, body, _) = send(hook("/api/v1/hooks/sms/aliyun?token=good", aliyun).unwrap()).await;
        assert_eq!((status, body), (200, json!({"code": 0, "msg": "接收成功"})));
        let (op, req) = last().unwrap();
        assert_eq!(op, "receipt.record");
        assert_eq!(
            req,
            json!({"provider": "aliyun", "token": "good", "timestamp": null, "signature": null, "delivery": null,
                   "body": String::from_utf8(aliyun.to_vec()).unwrap()})
        );
        let (status, body, _) = send(hook("/api/v1/hooks/sms/tencent?token=good", b"[]").unwrap()).await;
        assert_eq!((status, body), (200, json!({"result": 0, "errmsg": "OK"})));
        let signed = Request::post("/api/v1/hooks/sms/webhook")
            .header("x-bangban-timestamp", "1795836600")
            .header("x-bangban-signature", "sha256=00")
            .header("x-bangban-delivery", "d-1")
            .body(Body::from(r#"{"receipts":[]}"#))
            .unwrap();
        let (status, body, _) = send(signed).await;
        assert_eq!((status, body), (200, json!({"applied": 1, "unchanged": 0, "unknown": 0})));
        let req = last().unwrap().1;
        assert_eq!(
            (&req["timestamp"], &req["signature"], &req["delivery"]),
            (&json!("1795836600"), &json!("sha256=00"), &json!("d-1"))
        );
        // Refused by notification: a problem without a bearer challenge, and never the token.
        let (status, problem, challenge) = send(hook("/api/v1/hooks/sms/tencent?token=wrong", b"[]").unwrap()).await;
        assert_eq!((status, challenge), (401, false), "{problem}");
        assert_eq!(problem["instance"], "/api/v1/hooks/sms/tencent");
        assert!(!problem.to_string().contains("wrong"), "{problem}");
        // Refused by the gateway: an unknown provider, a body that is not UTF-8.
        let before = count();
        let (status, problem, _) = send(hook("/api/v1/hooks/sms/twilio?token=good", b"[]").unwrap()).await;
        assert_eq!((status, &problem["type"]), (404, &json!("/problems/not-found")), "{problem}");
        let (status, problem, _) = send(hook("/api/v1/hooks/sms/aliyun?token=good", b"[\xff]").unwrap()).await;
        assert_eq!(status, 400, "{problem}");
        assert_eq!(count(), before, "nothing forwarded");
        let _ = std::fs::remove_dir_all(&settings.data_dir);
    }
}
