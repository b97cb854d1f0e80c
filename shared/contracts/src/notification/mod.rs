//! Notification's contract (短信与站内通知 §6.2, §4.2.3): messages and their delivery, the per-user in-app inbox
//! (站内通知) — service operations, requests, replies and the data of `sms.*`.
//!
//! Phone numbers never cross the bus: recipients are referred to (an applicant id, a staff id, a unit), the
//! service resolves and encrypts numbers itself, and everything it answers or publishes carries them masked.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// The service's name on the bus (`bb.svc.notification.*`, `ce-source: /bangban/notification`).
pub const SERVICE: &str = "notification";

/// Operations of `bb.svc.notification.<operation>`.
pub mod ops {
    crate::operations! { service = super::SERVICE, module = "notification";
        /// A person's inbox
        InboxList = "inbox.list": super::ListInbox => super::InboxPage;
        /// Marks notices read
        InboxMarkRead = "inbox.mark_read": super::MarkRead => super::InboxPage;
        /// Messages, filtered, for office staff
        MessageList = "message.list": super::ListMessages => super::MessagePage;
        /// Delivery receipts a provider posted
        ReceiptRecord = "receipt.record": super::RecordReceipts => super::ReceiptsRecorded;
    }
}

crate::labelled_enum! {
    /// The providers whose receipts are accepted (`POST /api/v1/hooks/sms/{provider}`, 回执来源).
    #[derive(ToSchema)]
    pub enum ReceiptProvider {
        /// Alibaba Cloud `SmsReport` (a JSON array), authenticated by the callback token.
        Aliyun = "aliyun", "阿里云";
        /// Tencent Cloud status callback (a JSON array), authenticated by the callback token.
        Tencent = "tencent", "腾讯云";
        /// Our webhook's receipt, signed like every Bangban webhook (`X-Bangban-Signature: sha256=…`).
        Webhook = "webhook", "短信网关（webhook）";
    }
}

/// Request of [`ops::ReceiptRecord`]: what the gateway received, unparsed. Notification holds the
/// providers' secrets, so it authenticates the request before it reads the body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordReceipts {
    pub provider: ReceiptProvider,
    /// The `token` query parameter of the callback URL (Aliyun, Tencent).
    pub token: Option<String>,
    /// `X-Bangban-Timestamp` (webhook).
    pub timestamp: Option<String>,
    /// `X-Bangban-Signature` (webhook).
    pub signature: Option<String>,
    /// `X-Bangban-Delivery` (webhook, optional).
    pub delivery: Option<String>,
    /// The raw body, as received (UTF-8 JSON).
    pub body: String,
}

/// Reply of [`ops::ReceiptRecord`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
pub struct ReceiptsRecorded {
    /// Receipts that moved a message to delivered or failed.
    pub applied: u32,
    /// Receipts for messages already final (a repeat changes nothing).
    pub unchanged: u32,
    /// Receipts naming no message of ours.
    pub unknown: u32,
}

/// Who a message is for, by reference (联系人引用).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Recipient {
    /// The applicant of a case (服务对象).
    Applicant { applicant_id: Uuid },
    /// A member of staff (帮办代办员, an office admin) by their subject.
    Staff { sub: String },
    /// The officer on duty at a unit (责任单位联络人).
    UnitOfficer { unit_code: String },
    /// The head of a unit (单位负责人), for supervision notices.
    UnitHead { unit_code: String },
}

crate::labelled_enum! {
    /// A message's delivery state (投递状态); the service's delivery state machine moves it.
    #[derive(ToSchema)]
    pub enum MessageState {
        /// Stored, waiting for its send instant (limits and quiet hours may defer it).
        Created = "created", "待发送";
        /// Handed to the provider; the answer is not in yet.
        Sending = "sending", "发送中";
        /// The provider accepted it; waiting for the receipt.
        Sent = "sent", "已发送";
        /// The handset received it (receipt).
        Delivered = "delivered", "已送达";
        /// A transient error; another attempt is scheduled.
        TemporaryFailure = "temporary_failure", "暂时失败，等待重试";
        /// The provider refused it for good (e.g. an invalid number), or the receipt says it failed.
        PermanentFailure = "permanent_failure", "发送失败";
        /// Retries exhausted, or no answer within the stuck limit.
        TechnicalFailure = "technical_failure", "技术故障";
    }
}

impl MessageState {
    /// No further change can come, except a late receipt for `sent`.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Delivered | Self::PermanentFailure | Self::TechnicalFailure)
    }
}

/// One SMS as staff see it (the number masked).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MessageView {
    pub id: Uuid,
    /// The event it was made for (one message per event, recipient and template).
    pub event_id: String,
    pub recipient: Recipient,
    /// e.g. `138****8000`.
    #[schema(example = "138****8000")]
    pub phone_masked: String,
    pub template_id: String,
    pub template_version: u32,
    pub text: String,
    pub chars: u32,
    pub segments: u32,
    pub urgent: bool,
    pub state: MessageState,
    pub provider: String,
    pub attempts: u32,
    /// Deferred by the limits or quiet hours until then.
    pub send_after: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub case_id: Option<Uuid>,
    pub office: String,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// Request of [`ops::MessageList`] (`GET /api/v1/messages`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListMessages {
    pub office: Option<String>,
    pub case_id: Option<Uuid>,
    pub state: Option<MessageState>,
    /// Page size, 1–100 (default 20).
    #[serde(default, deserialize_with = "crate::page::limit::<100, _>")]
    #[param(minimum = 1, maximum = 100)]
    #[schema(minimum = 1, maximum = 100)]
    pub limit: Option<u64>,
    /// Rows to skip, 0–1 000 000 000 (default 0).
    #[serde(default, deserialize_with = "crate::page::offset")]
    #[param(minimum = 0, maximum = 1000000000)]
    #[schema(minimum = 0, maximum = 1000000000)]
    pub offset: Option<u64>,
}

/// Reply of [`ops::MessageList`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MessagePage {
    pub items: Vec<MessageView>,
    pub total: u64,
    pub limit: u64,
    pub offset: u64,
}

/// A notice in a person's inbox (站内通知): the same notice an SMS carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InboxNotice {
    pub id: Uuid,
    pub template_id: String,
    pub title: String,
    pub text: String,
    pub case_id: Option<Uuid>,
    pub task_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

/// Request of [`ops::InboxList`] (`GET /api/v1/inbox`): the caller's own inbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListInbox {
    /// The owners whose notices the caller reads, set by the gateway from the token: `applicant:<id>`,
    /// `staff:<sub>`, and for a unit's officer also `unit:<code>` (see [`inbox_owner`]).
    pub owners: Vec<String>,
    pub unread_only: bool,
    pub limit: Option<u64>,
    pub offset: Option<u64>,
}

/// Reply of [`ops::InboxList`] and [`ops::InboxMarkRead`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InboxPage {
    pub items: Vec<InboxNotice>,
    pub total: u64,
    pub unread: u64,
    pub limit: u64,
    pub offset: u64,
}

/// Request of [`ops::InboxMarkRead`] (`POST /api/v1/inbox/read`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkRead {
    /// As [`ListInbox::owners`]: only the caller's own notices are marked.
    pub owners: Vec<String>,
    /// Empty: every notice.
    pub ids: Vec<Uuid>,
}

/// Data of `sms.sent`, `sms.delivered` and `sms.failed` (on `bb.evt.<office>.sms.<event>`): the number is
/// masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SmsEvent {
    pub message_id: Uuid,
    pub event_id: String,
    pub recipient: Recipient,
    pub phone_masked: String,
    pub template_id: String,
    pub template_version: u32,
    pub segments: u32,
    pub state: MessageState,
    pub provider: String,
    pub error: Option<String>,
    pub case_id: Option<Uuid>,
    pub at: DateTime<Utc>,
}

/// The inbox owner of a recipient (收件箱归属): `applicant:<id>`, `staff:<sub>`, `unit:<code>` (the officer
/// on duty and the head of a unit share their unit's inbox).
pub fn inbox_owner(recipient: &Recipient) -> String {
    match recipient {
        Recipient::Applicant { applicant_id } => format!("applicant:{applicant_id}"),
        Recipient::Staff { sub } => format!("staff:{sub}"),
        Recipient::UnitOfficer { unit_code } | Recipient::UnitHead { unit_code } => format!("unit:{unit_code}"),
    }
}

/// Query of `GET /api/v1/inbox`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InboxQuery {
    /// Only unread notices.
    #[serde(default)]
    pub unread_only: bool,
    /// Page size, 1–100 (default 20).
    #[serde(default, deserialize_with = "crate::page::limit::<100, _>")]
    #[param(minimum = 1, maximum = 100)]
    #[schema(minimum = 1, maximum = 100)]
    pub limit: Option<u64>,
    /// Rows to skip, 0–1 000 000 000 (default 0).
    #[serde(default, deserialize_with = "crate::page::offset")]
    #[param(minimum = 0, maximum = 1000000000)]
    #[schema(minimum = 0, maximum = 1000000000)]
    pub offset: Option<u64>,
}

/// Body of `POST /api/v1/inbox/read`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkReadBody {
    /// The notices to mark read; empty or absent: every notice.
    #[serde(default)]
    pub ids: Vec<Uuid>,
}
