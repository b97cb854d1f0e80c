//! `message` (短信): one per event, recipient and template; the number encrypted, its blind index for the limits.

use bangban_contracts::notification::MessageState;
use sea_orm::entity::prelude::*;

use crate::{gateway_client::ProviderKind, templates::TemplateId};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "message")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub dedupe_key: String,
    pub event_id: String,
    pub event_type: String,
    pub recipient: String,
    pub owner: String,
    pub phone_enc: Option<String>,
    pub phone_index: Option<String>,
    pub phone_masked: String,
    pub template_id: TemplateId,
    pub template_version: i32,
    pub params: String,
    pub text: String,
    pub chars: i32,
    pub segments: i32,
    pub urgent: bool,
    pub state: MessageState,
    pub provider: ProviderKind,
    pub provider_message_id: Option<String>,
    pub attempts: i32,
    pub next_us: Option<i64>,
    pub released_us: Option<i64>,
    pub send_after: Option<DateTimeUtc>,
    pub defer_reason: Option<String>,
    pub last_error: Option<String>,
    pub case_id: Option<String>,
    pub task_id: Option<String>,
    pub office: String,
    pub created_at: DateTimeUtc,
    pub first_attempt_at: Option<DateTimeUtc>,
    pub sending_since: Option<DateTimeUtc>,
    pub sent_at: Option<DateTimeUtc>,
    pub delivered_at: Option<DateTimeUtc>,
    pub failed_at: Option<DateTimeUtc>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
