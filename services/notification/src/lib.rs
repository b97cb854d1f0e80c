//! Notification (短信与站内通知 §6.2, §4.2.3, §7.5.1, §7.6): every notice that concerns a person reaches them
//! once — as an SMS through a real provider, and in their in-app inbox.
//!
//! - **What, to whom** ([`notices`]): from the bus events; recipients by reference, resolved here
//!   ([`contacts`]): numbers arrive encrypted and stay encrypted at rest, with a blind index for the limits.
//! - **Exactly once**: one message per (event, recipient, template) — a unique key, written in the same
//!   transaction as the consumer's inbox row; the provider gets the message id as its idempotency key.
//! - **Sending** ([`sender`]): a loop claims due messages, applies the per-number limits and quiet hours
//!   ([`limits`]), calls the provider ([`gateway_client`]) and records the outcome with its `sms.*` event;
//!   transient failures are retried with backoff ([`delivery`]).
//! - **Receipts** ([`receipts`]): Aliyun `SmsReport`, Tencent status callbacks and our webhook's receipts.
//! - **Inbox** ([`inbox`]): per person, list, unread count, mark read.

pub mod contacts;
pub mod delivery;
pub mod entity;
pub mod error;
pub mod gateway_client;
pub mod handlers;
pub mod inbox;
pub mod limits;
pub mod notices;
pub mod providers;
pub mod receipts;
pub mod sender;
pub mod settings;
pub mod templates;

use std::{
    num::NonZeroU32,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use bangban_contracts::{
    CloudEvent, EventType, events,
    intake::{CaseAccepted, ServiceType},
    notification::{MessageState, MessageView, Recipient, SERVICE, SmsEvent, inbox_owner},
};
use bangban_notification_migration::Migrator;
use bangban_platform::{
    clock,
    consumer::{EventHandler, HandlerError},
    outbox::{self, OutboxNotifier},
    pii::PiiCipher,
    rpc::Endpoints,
    service::{Context, Service},
};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, sea_query::OnConflict,
};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::{
    contacts::Directory,
    delivery::RetryPolicy,
    entity::{case_info, inbox_notice, message},
    error::{NotificationError, Result},
    gateway_client::{Provider, SmsGateway},
    limits::{LimitSettings, QuietHours},
    notices::Notice,
    providers::PhoneNumber,
    templates::{Catalog, SignName},
};

pub use crate::settings::NotificationSettings;

/// Microseconds since the epoch (how ordered instants are stored).
pub fn us(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

pub(crate) fn json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| NotificationError::corrupt(e.to_string()))
}

/// Test hooks that make the service stop where a crash would (only tests set them).
#[derive(Debug, Default)]
pub struct Faults {
    /// The sender stops right after the provider call, before it records the outcome (as a crash would).
    pub crash_after_provider_call: AtomicBool,
}

impl Faults {
    pub fn crash_after_provider_call(&self) -> bool {
        self.crash_after_provider_call.load(Ordering::SeqCst)
    }
}

/// The settings as the service uses them, validated.
#[derive(Debug, Clone)]
pub struct Config {
    pub limits: LimitSettings,
    pub retry: RetryPolicy,
    pub resend_idempotent_after: chrono::Duration,
    pub poll_interval: Duration,
    pub batch_size: u64,
    pub concurrency: usize,
}

impl Config {
    /// From `BANGBAN__NOTIFICATION__…`; a bad value names its setting.
    pub fn from_settings(s: &NotificationSettings) -> anyhow::Result<Self> {
        let count = |v: u32, name: &str| {
            NonZeroU32::new(v).ok_or_else(|| anyhow::anyhow!("BANGBAN__NOTIFICATION__{name} must be at least 1"))
        };
        let quiet_hours = QuietHours::parse_setting(&s.quiet_hours)
            .map_err(|e| anyhow::anyhow!("BANGBAN__NOTIFICATION__QUIET_HOURS: {e}"))?;
        let secs = |v: u64| chrono::Duration::seconds(v.min(i64::MAX as u64 / 2_000_000) as i64);
        if s.retry_first_delay_secs == 0 || s.retry_max_delay_secs < s.retry_first_delay_secs {
            anyhow::bail!(
                "BANGBAN__NOTIFICATION__RETRY_FIRST_DELAY_SECS must be at least 1 and at most RETRY_MAX_DELAY_SECS"
            );
        }
        Ok(Self {
            limits: LimitSettings {
                per_minute: count(s.per_minute, "PER_MINUTE")?,
                per_hour: count(s.per_hour, "PER_HOUR")?,
                per_day: count(s.per_day, "PER_DAY")?,
                quiet_hours,
            },
            retry: RetryPolicy {
                first_delay: secs(s.retry_first_delay_secs),
                max_delay: secs(s.retry_max_delay_secs),
                give_up_after: secs(s.retry_budget_secs),
                stuck_after: chrono::Duration::hours(s.stuck_after_hours.clamp(1, 24 * 365) as i64),
            },
            resend_idempotent_after: secs(s.resend_idempotent_after_secs.max(1)),
            poll_interval: Duration::from_millis(s.poll_interval_ms.clamp(10, 60_000)),
            batch_size: s.batch_size.clamp(1, 10_000),
            concurrency: s.concurrency.clamp(1, 1024),
        })
    }
}

/// Notification's state.
pub struct NotificationService {
    db: DatabaseConnection,
    notifier: OutboxNotifier,
    pii: PiiCipher,
    directory: Directory,
    gateway: SmsGateway,
    config: Config,
    settings: NotificationSettings,
    /// Wakes the sender when messages were created in this process.
    wake: Arc<Notify>,
    pub faults: Faults,
}

impl NotificationService {
    pub fn new(
        db: DatabaseConnection,
        notifier: OutboxNotifier,
        pii: PiiCipher,
        directory: Directory,
        gateway: SmsGateway,
        config: Config,
        settings: NotificationSettings,
    ) -> Self {
        Self {
            db,
            notifier,
            pii,
            directory,
            gateway,
            config,
            settings,
            wake: Arc::new(Notify::new()),
            faults: Faults::default(),
        }
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn provider(&self) -> &Provider {
        self.gateway.provider()
    }

    /// Wakes the sender and the relay after a commit.
    pub(crate) fn committed(&self) {
        self.notifier.notify();
        self.wake.notify_one();
    }

    /// Makes the messages and inbox notices of one event, inside the consumer's transaction (its inbox row
    /// commits with them). A message already made for the same (event, recipient, template) is left alone.
    pub(crate) async fn on_event(&self, txn: &DatabaseTransaction, event: &CloudEvent) -> Result<usize, HandlerError> {
        let mut service_type = None;
        bangban_platform::dispatch!(event, {
            events::CaseAccepted => |d| Ok(self.remember_case(txn, &d).await?),
            events::TaskApproved => |d| {
                service_type = self.service_type_of(txn, d.case_id).await?;
                Ok(())
            },
        })?;
        let (list, known) = notices::notices(&self.directory, event, service_type).await?;
        if list.is_empty() {
            return Ok(0);
        }
        let recipients: Vec<Recipient> = list.iter().map(|n| n.recipient.clone()).collect();
        let reach = self.directory.reach(&recipients, known).await?;
        let mut made = 0;
        for notice in list {
            let phone_enc = reach.get(&notice.recipient).and_then(|r| r.phone_enc.clone());
            if self.create(txn, event, &notice, phone_enc).await? {
                made += 1;
            }
        }
        Ok(made)
    }

    /// Keeps a case's service type (帮办 or 代办), for how its results reach the applicant.
    async fn remember_case(&self, txn: &DatabaseTransaction, d: &CaseAccepted) -> Result<()> {
        case_info::Entity::insert(case_info::ActiveModel {
            case_id: Set(d.case_id.to_string()),
            service_type: Set(d.service_type),
        })
        .on_conflict(OnConflict::column(case_info::Column::CaseId).do_nothing().to_owned())
        .exec_without_returning(txn)
        .await?;
        Ok(())
    }

    /// The case's service type, when notification has seen it accepted.
    async fn service_type_of(&self, txn: &DatabaseTransaction, case_id: Uuid) -> Result<Option<ServiceType>> {
        Ok(case_info::Entity::find_by_id(case_id.to_string()).one(txn).await?.map(|c| c.service_type))
    }

    async fn create(
        &self,
        txn: &DatabaseTransaction,
        event: &CloudEvent,
        notice: &Notice,
        phone_enc: Option<String>,
    ) -> Result<bool> {
        let now = clock::now();
        let owner = inbox_owner(&notice.recipient);
        let key = format!("{}|{}|{}", event.id, owner, notice.template.as_str());
        let catalog = Catalog::builtin();
        let template = catalog
            .latest(notice.template)
            .ok_or_else(|| NotificationError::corrupt(format!("no template {}", notice.template)))?;
        let rendered = catalog.render(self.gateway.sign(), notice.template, template.version, &notice.params);
        let (text, chars, segments, render_error) = match &rendered {
            Ok(r) => (r.text.clone(), r.chars as i32, r.segments as i32, None),
            Err(e) => (String::new(), 0, 0, Some(format!("TEMPLATE: {e}"))),
        };
        if render_error.is_none() {
            inbox_notice::Entity::insert(inbox_notice::ActiveModel {
                id: Set(Uuid::now_v7().to_string()),
                dedupe_key: Set(key.clone()),
                owner: Set(owner.clone()),
                template_id: Set(notice.template),
                title: Set(notice.title.into()),
                text: Set(text.clone()),
                case_id: Set(notice.case_id.map(|c| c.to_string())),
                task_id: Set(notice.task_id.map(|c| c.to_string())),
                created_at: Set(now),
                read_at: Set(None),
            })
            .on_conflict(OnConflict::column(inbox_notice::Column::DedupeKey).do_nothing().to_owned())
            .exec_without_returning(txn)
            .await?;
        }
        // The number: decrypted here only to check it and to compute its blind index and mask.
        let phone = match &phone_enc {
            Some(enc) => match self.pii.decrypt(enc) {
                Ok(plain) => PhoneNumber::parse(&plain).ok(),
                Err(e) => {
                    tracing::warn!(error = %e, "a recipient's number could not be decrypted (another PII key?)");
                    None
                }
            },
            None => None,
        };
        let no_phone = phone.is_none();
        let error = render_error.or_else(|| {
            no_phone.then(|| "NO_MOBILE: 收件人没有可接收短信的手机号码 / no mobile number on record".to_string())
        });
        let state = if error.is_some() { MessageState::PermanentFailure } else { MessageState::Created };
        let id = Uuid::now_v7();
        let params = rendered.as_ref().ok().map(|r| json(&r.params)).transpose()?.unwrap_or_else(|| "{}".into());
        let row = message::ActiveModel {
            id: Set(id.to_string()),
            dedupe_key: Set(key),
            event_id: Set(event.id.clone()),
            event_type: Set(event.type_.clone()),
            recipient: Set(json(&notice.recipient)?),
            owner: Set(owner),
            phone_enc: Set(phone.as_ref().map(|p| self.pii.encrypt(p.e164()))),
            phone_index: Set(phone.as_ref().map(|p| self.pii.blind_index("phone", p.e164()))),
            phone_masked: Set(phone.as_ref().map_or_else(|| "—".into(), masked)),
            template_id: Set(notice.template),
            template_version: Set(template.version as i32),
            params: Set(params),
            text: Set(text),
            chars: Set(chars),
            segments: Set(segments),
            urgent: Set(notice.template.is_urgent()),
            state: Set(state),
            provider: Set(self.gateway.provider().kind()),
            provider_message_id: Set(None),
            attempts: Set(0),
            next_us: Set(error.is_none().then(|| us(now))),
            released_us: Set(None),
            send_after: Set(None),
            defer_reason: Set(None),
            last_error: Set(error.clone()),
            case_id: Set(notice.case_id.map(|c| c.to_string())),
            task_id: Set(notice.task_id.map(|c| c.to_string())),
            office: Set(notice.office.clone()),
            created_at: Set(now),
            first_attempt_at: Set(None),
            sending_since: Set(None),
            sent_at: Set(None),
            delivered_at: Set(None),
            failed_at: Set(error.is_some().then_some(now)),
            updated_at: Set(now),
        };
        let inserted = message::Entity::insert(row)
            .on_conflict(OnConflict::column(message::Column::DedupeKey).do_nothing().to_owned())
            .exec_without_returning(txn)
            .await?;
        if inserted == 0 {
            return Ok(false);
        }
        if error.is_some() {
            let m = message::Entity::find_by_id(id.to_string())
                .one(txn)
                .await?
                .ok_or_else(|| NotificationError::corrupt("message vanished"))?;
            announce(txn, EventType::SMS_FAILED, &m, now).await?;
            tracing::warn!(message.id = %id, template = %notice.template, reason = ?error, "notice not texted");
        } else {
            tracing::info!(message.id = %id, template = %notice.template, urgent = notice.template.is_urgent(), "message created");
        }
        Ok(true)
    }
}

/// `138****8000` (the form messages show).
pub fn masked(phone: &PhoneNumber) -> String {
    match phone.mainland() {
        Some(n) => bangban_contracts::pii::mask_phone(n),
        None => bangban_contracts::pii::mask_phone(phone.e164()),
    }
}

pub(crate) fn recipient_of(m: &message::Model) -> Result<Recipient> {
    serde_json::from_str(&m.recipient).map_err(|e| NotificationError::corrupt(format!("message.recipient: {e}")))
}

fn uuid_opt(s: &Option<String>) -> Option<Uuid> {
    s.as_deref().and_then(|s| Uuid::parse_str(s).ok())
}

/// A message as staff see it.
pub fn view(m: &message::Model) -> Result<MessageView> {
    Ok(MessageView {
        id: Uuid::parse_str(&m.id).map_err(|_| NotificationError::corrupt("message.id"))?,
        event_id: m.event_id.clone(),
        recipient: recipient_of(m)?,
        phone_masked: m.phone_masked.clone(),
        template_id: m.template_id.as_str().into(),
        template_version: m.template_version as u32,
        // Staff never see an evaluation link's one-time code.
        text: notices::mask_codes(&m.text),
        chars: m.chars as u32,
        segments: m.segments as u32,
        urgent: m.urgent,
        state: m.state,
        provider: m.provider.to_string(),
        attempts: m.attempts as u32,
        send_after: m.send_after,
        last_error: m.last_error.clone(),
        case_id: uuid_opt(&m.case_id),
        office: m.office.clone(),
        created_at: m.created_at,
        sent_at: m.sent_at,
        delivered_at: m.delivered_at,
    })
}

/// Emits `sms.sent`, `sms.delivered` or `sms.failed` (chosen at run time; one payload) for a message (the number
/// masked).
pub(crate) async fn announce<C: ConnectionTrait>(
    conn: &C,
    t: EventType,
    m: &message::Model,
    at: DateTime<Utc>,
) -> Result<()> {
    let data = SmsEvent {
        message_id: Uuid::parse_str(&m.id).map_err(|_| NotificationError::corrupt("message.id"))?,
        event_id: m.event_id.clone(),
        recipient: recipient_of(m)?,
        phone_masked: m.phone_masked.clone(),
        template_id: m.template_id.as_str().into(),
        template_version: m.template_version as u32,
        segments: m.segments as u32,
        state: m.state,
        provider: m.provider.to_string(),
        error: m.last_error.clone(),
        case_id: uuid_opt(&m.case_id),
        at,
    };
    outbox::emit_as(conn, SERVICE, t, &m.office, None, &m.id, &data).await
}

/// Follows the events that concern someone's phone.
pub struct Follower {
    pub service: Arc<NotificationService>,
}

impl EventHandler for Follower {
    async fn handle(&self, txn: &DatabaseTransaction, _subject: &str, event: &CloudEvent) -> Result<(), HandlerError> {
        self.service.on_event(txn, event).await.map(drop)
    }

    fn committed(&self) {
        self.service.committed();
    }
}

/// The durable consumer of one followed event type, named after it (`notification-case-accepted`).
fn consumer_name(t: EventType) -> String {
    format!("notification-{}-{}", t.aggregate, t.event).replace('_', "-")
}

impl Service for NotificationService {
    const NAME: &'static str = SERVICE;
    const DESCRIPTION: &'static str = "短信与站内通知 / notification";
    const KEEPS_PERSONAL_DATA: bool = true;
    type Migrator = Migrator;
    type Settings = NotificationSettings;

    async fn build(ctx: &Context<'_>, s: NotificationSettings) -> anyhow::Result<Arc<Self>> {
        let config = Config::from_settings(&s)?;
        let provider = Provider::from_settings(&s)?;
        let sign = SignName::new(&s.sign_name).map_err(|e| anyhow::anyhow!("BANGBAN__NOTIFICATION__SIGN_NAME: {e}"))?;
        let gateway = SmsGateway::new(provider, sign, Duration::from_secs(s.request_timeout_secs.clamp(1, 120)))?;
        let pii = bangban_platform::pii::cipher_from_settings(ctx.settings)?;
        let directory = Directory::new(ctx.client.clone(), ctx.settings.nats.request_timeout, pii.clone());
        let service = Self::new(ctx.db.clone(), ctx.notifier.clone(), pii, directory, gateway, config, s);
        tracing::info!(provider = service.provider().name(), receipt_hooks = ?service.enabled_receipt_hooks(), "notification configured");
        Ok(Arc::new(service))
    }

    async fn endpoints(ep: &mut Endpoints<'_, Self>) -> Result<(), async_nats::Error> {
        handlers::endpoints(ep).await
    }

    /// The sender, and one durable consumer per followed event type (JetStream 2.9 filters one subject per
    /// consumer).
    fn run(self: &Arc<Self>, ctx: &Context<'_>) -> anyhow::Result<()> {
        let service = self.clone();
        ctx.spawn(move |token| sender::run(service, token));
        for t in notices::FOLLOWED {
            ctx.consume(&consumer_name(t), t.filter_all_offices(), Arc::new(Follower { service: self.clone() }));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consumers_keep_their_names() {
        assert_eq!(consumer_name(EventType::CASE_ACCEPTED), "notification-case-accepted");
        assert_eq!(consumer_name(EventType::TASK_SUPPLEMENT_REQUESTED), "notification-task-supplement-requested");
        assert_eq!(consumer_name(EventType::EVALUATION_INVITED), "notification-evaluation-invited");
    }

    #[test]
    fn settings_are_checked_and_named() {
        let mut s = NotificationSettings::default();
        let c = Config::from_settings(&s).unwrap();
        assert_eq!((c.limits.per_minute.get(), c.limits.per_hour.get(), c.limits.per_day.get()), (1, 5, 10));
        assert!(c.limits.quiet_hours.is_some());
        s.quiet_hours = "none".into();
        assert!(Config::from_settings(&s).unwrap().limits.quiet_hours.is_none());
        s.quiet_hours = "22:00".into();
        assert!(Config::from_settings(&s).unwrap_err().to_string().contains("QUIET_HOURS"));
        s.quiet_hours = "none".into();
        s.per_hour = 0;
        assert!(Config::from_settings(&s).unwrap_err().to_string().contains("PER_HOUR"));

        let mut s = NotificationSettings::default();
        assert_eq!(Provider::from_settings(&s).unwrap().name(), "log");
        s.provider = "aliyun".into();
        assert!(Provider::from_settings(&s).unwrap_err().to_string().contains("ALIYUN__ACCESS_KEY_ID"));
        s.provider = "webhook".into();
        s.webhook.url = Some("https://sms.example.invalid/send".into());
        assert!(Provider::from_settings(&s).unwrap_err().to_string().contains("WEBHOOK__SECRET"));
        s.provider = "carrier-pigeon".into();
        assert!(Provider::from_settings(&s).unwrap_err().to_string().contains("PROVIDER"));
    }
}
