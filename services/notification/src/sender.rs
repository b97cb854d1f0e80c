//! The sender (发送器): claims due messages, applies the per-number limits and quiet hours, calls the provider
//! and records the outcome — each step committed before the next, so a crash anywhere repeats no SMS.
//!
//! 1. **Claim** (one transaction): due rows (`next_us ≤ now`, `FOR UPDATE SKIP LOCKED` on PostgreSQL). A first
//!    attempt passes the limiter ([`crate::limits::decide`] over the number's released messages of the last
//!    24 hours, by blind index): deferred to a concrete instant, or released — `sending`, counted against the
//!    number from then on. Urgent statutory notices bypass the limits; the bypass is logged and stored.
//! 2. **Call** the provider, with the message id as its idempotency key.
//! 3. **Record** (one transaction): `sent` + `sms.sent`; a transient error → `temporary_failure` and the next
//!    attempt by the backoff; a permanent one → `permanent_failure` + `sms.failed`; retries exhausted →
//!    `technical_failure` + `sms.failed`.
//!
//! A crash between 2 and 3 leaves the message `sending`. For providers that de-duplicate by id (our webhook,
//! the log) it is sent again with the same id after `RESEND_IDEMPOTENT_AFTER_SECS`, and the provider answers
//! without sending twice; Aliyun and Tencent do not de-duplicate sends, so there the message waits for its
//! receipt (which names our id), and after `STUCK_AFTER_HOURS` becomes `technical_failure`. Never a second SMS.

use std::{sync::Arc, time::Duration};

use bangban_contracts::{EventType, notification::MessageState};
use bangban_platform::{clock, db, due};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Statement,
    sea_query::{LockBehavior, LockType},
};
use tokio_util::sync::CancellationToken;

use crate::{
    NotificationService, announce,
    delivery::{AfterAttempt, after_attempt},
    entity::message,
    error::{NotificationError, Result},
    gateway_client::Provider,
    limits::{self, Decision},
    providers::{PhoneNumber, SendOutcome, SmsRequest, TemplateParams},
    templates::Catalog,
    us,
};

/// The sender (发送) on the platform's due-work loop: sends what is due, then sleeps until the next message waits,
/// a local wake-up, a change of the platform clock, or the poll interval; it sweeps stuck messages every second and
/// prunes receipt replay keys every minute.
impl due::DueWork for NotificationService {
    const NAME: &'static str = "notification sender";
    type Error = NotificationError;

    async fn next_due(&self) -> Result<Option<DateTime<Utc>>> {
        NotificationService::next_due(self).await
    }

    async fn run_due(&self) -> Result<usize> {
        self.send_due().await
    }

    fn wake(&self) -> &tokio::sync::Notify {
        &self.wake
    }

    fn chores() -> Vec<due::Chore<Self>> {
        vec![
            due::Chore { every: Duration::from_secs(1), run: |s| Box::pin(sweep(s)) },
            due::Chore { every: Duration::from_secs(60), run: |s| Box::pin(prune(s)) },
        ]
    }
}

async fn sweep(service: &NotificationService) {
    if let Err(e) = service.sweep_stuck().await {
        tracing::warn!(error = %e, "notification: sweeping stuck messages failed");
    }
}

async fn prune(service: &NotificationService) {
    if let Err(e) = service.prune_replay_keys().await {
        tracing::warn!(error = %e, "notification: pruning receipt replay keys failed");
    }
}

/// Runs the sender until shutdown.
pub async fn run(service: Arc<NotificationService>, shutdown: CancellationToken) {
    let poll = service.config.poll_interval;
    due::run(service, poll, shutdown).await;
}

impl NotificationService {
    /// The earliest instant a message waits for.
    pub async fn next_due(&self) -> Result<Option<DateTime<Utc>>> {
        let min: Option<Option<i64>> = message::Entity::find()
            .select_only()
            .column_as(message::Column::NextUs.min(), "m")
            .into_tuple()
            .one(&self.db)
            .await?;
        Ok(min.flatten().and_then(DateTime::from_timestamp_micros))
    }

    /// Claims one batch of due messages and sends them; returns how many were claimed.
    pub async fn send_due(&self) -> Result<usize> {
        let claimed = self.claim().await?;
        let n = claimed.len();
        futures::stream::iter(claimed)
            .for_each_concurrent(self.config.concurrency, |m| async move {
                let id = m.id.clone();
                if let Err(e) = self.send_one(m).await {
                    tracing::warn!(message.id = %id, error = %e, "notification: recording an attempt failed");
                }
            })
            .await;
        Ok(n)
    }

    /// Step 1: the due messages, through the limiter, marked `sending` (committed before any provider call).
    async fn claim(&self) -> Result<Vec<message::Model>> {
        let now = clock::now();
        let provider = self.gateway.provider();
        let txn = db::begin_write(&self.db).await?;
        let mut q = message::Entity::find()
            .filter(message::Column::NextUs.lte(us(now)))
            .order_by_asc(message::Column::NextUs)
            .limit(self.config.batch_size);
        if db::supports_skip_locked(&txn) {
            q = q.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
        }
        let mut due = q.all(&txn).await?;
        // Replicas count a number's messages one at a time (a transaction-scoped advisory lock per number on
        // PostgreSQL; SQLite serialises writers anyway), taken in one order everywhere so they never deadlock.
        due.sort_by(|a, b| (&a.phone_index, a.next_us).cmp(&(&b.phone_index, b.next_us)));
        let postgres = txn.get_database_backend() == DbBackend::Postgres;
        let mut locked: Option<String> = None;
        let mut out = Vec::with_capacity(due.len());
        for m in due {
            if postgres
                && m.released_us.is_none()
                && let Some(index) = &m.phone_index
                && locked.as_ref() != Some(index)
            {
                txn.execute_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "SELECT pg_advisory_xact_lock(hashtextextended($1, 7))",
                    [index.clone().into()],
                ))
                .await?;
                locked = Some(index.clone());
            }
            let state = m.state;
            let mut row: message::ActiveModel = m.clone().into();
            row.updated_at = Set(now);
            if state == MessageState::Sending {
                // Its outcome was lost (a crash). Only an idempotent provider may be asked again, with the same id.
                if provider.idempotent() && m.provider == provider.kind() {
                    row.next_us = Set(Some(us(now + self.config.resend_idempotent_after)));
                    row.attempts = Set(m.attempts + 1);
                    tracing::info!(message.id = %m.id, "sending again with the same idempotency key (outcome unknown)");
                    out.push(row.update(&txn).await?);
                } else {
                    row.next_us = Set(None);
                    row.update(&txn).await?;
                }
                continue;
            }
            if !matches!(state, MessageState::Created | MessageState::TemporaryFailure) {
                row.next_us = Set(None);
                row.update(&txn).await?;
                continue;
            }
            // A first attempt passes the limiter; a retry was released already.
            if m.released_us.is_none() {
                let sent = self.released_to(&txn, &m, now).await?;
                match limits::decide(&self.config.limits, &sent, now, false) {
                    Decision::Defer { until, reason } if !m.urgent => {
                        row.next_us = Set(Some(us(until)));
                        row.send_after = Set(Some(until));
                        row.defer_reason = Set(Some(reason.as_str().into()));
                        row.update(&txn).await?;
                        tracing::info!(message.id = %m.id, phone = %m.phone_masked, %until, reason = reason.as_str(), "message deferred");
                        continue;
                    }
                    Decision::Defer { reason, .. } => {
                        tracing::warn!(
                            message.id = %m.id, phone = %m.phone_masked, template = %m.template_id, limit = reason.as_str(),
                            "urgent statutory notice bypasses the limit (its time limit runs from the notice)"
                        );
                        row.defer_reason = Set(Some(format!("bypass:{}", reason.as_str())));
                    }
                    Decision::SendNow => {}
                }
                row.released_us = Set(Some(us(now)));
            }
            row.state = Set(MessageState::Sending);
            row.attempts = Set(m.attempts + 1);
            row.sending_since = Set(Some(now));
            row.first_attempt_at = Set(Some(m.first_attempt_at.unwrap_or(now)));
            row.provider = Set(provider.kind());
            row.next_us = Set(provider.idempotent().then(|| us(now + self.config.resend_idempotent_after)));
            out.push(row.update(&txn).await?);
        }
        txn.commit().await?;
        Ok(out)
    }

    /// When the limiter released earlier messages to the same number, in the last 24 hours.
    async fn released_to<C: sea_orm::ConnectionTrait>(
        &self,
        conn: &C,
        m: &message::Model,
        now: DateTime<Utc>,
    ) -> Result<Vec<DateTime<Utc>>> {
        let Some(index) = &m.phone_index else { return Ok(Vec::new()) };
        let since = us(now - chrono::Duration::days(1));
        let rows: Vec<Option<i64>> = message::Entity::find()
            .select_only()
            .column(message::Column::ReleasedUs)
            .filter(message::Column::PhoneIndex.eq(index.clone()))
            .filter(message::Column::ReleasedUs.gte(since))
            .filter(message::Column::Id.ne(m.id.clone()))
            .into_tuple()
            .all(conn)
            .await?;
        Ok(rows.into_iter().flatten().filter_map(DateTime::from_timestamp_micros).collect())
    }

    /// Steps 2 and 3 for one claimed message.
    async fn send_one(&self, m: message::Model) -> Result<()> {
        let sms = match self.request(&m) {
            Ok(sms) => sms,
            Err(e) => {
                let outcome = SendOutcome::Permanent { code: "INVALID_MESSAGE".into(), message: e.to_string() };
                return self.record(&m.id, &outcome).await;
            }
        };
        let outcome = self.gateway.send(&sms).await;
        if self.faults.crash_after_provider_call() {
            tracing::warn!(message.id = %m.id, "fault injected: stopping before the outcome is recorded");
            return Ok(());
        }
        let started = m.sending_since.unwrap_or_else(clock::now);
        metrics::histogram!("bangban_notification_send_seconds", "provider" => self.gateway.provider().name())
            .record((clock::now() - started).num_milliseconds().max(0) as f64 / 1000.0);
        self.record(&m.id, &outcome).await
    }

    /// What the provider needs for a stored message.
    fn request(&self, m: &message::Model) -> Result<SmsRequest> {
        let enc = m.phone_enc.as_deref().ok_or_else(|| NotificationError::corrupt("no number"))?;
        let plain = self.pii.decrypt(enc).map_err(|e| NotificationError::corrupt(format!("number: {e}")))?;
        let phone = PhoneNumber::parse(&plain).map_err(|e| NotificationError::corrupt(e.to_string()))?;
        let template = Catalog::builtin()
            .get(m.template_id, m.template_version as u32)
            .ok_or_else(|| NotificationError::corrupt(format!("template {} v{}", m.template_id, m.template_version)))?;
        let stored: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&m.params).map_err(|e| NotificationError::corrupt(format!("params: {e}")))?;
        // In the template's order (Tencent's parameters are positional), whatever order the JSON kept.
        let mut params = TemplateParams::new();
        for &name in template.params {
            let value = stored.get(name).and_then(|v| v.as_str()).unwrap_or_default();
            params.insert(name, value);
        }
        let provider_template = match self.gateway.provider() {
            Provider::Aliyun(_) => template.codes.aliyun,
            Provider::Tencent(_) => template.codes.tencent,
            Provider::Log | Provider::Webhook(_) => "",
        };
        Ok(SmsRequest {
            message_id: m.id.clone(),
            phone,
            template_id: m.template_id.as_str().into(),
            template_version: m.template_version as u32,
            provider_template: provider_template.into(),
            sign_name: self.gateway.sign().as_str().into(),
            params,
            text: m.text.clone(),
        })
    }

    /// Step 3: the outcome of an attempt, with its event.
    pub(crate) async fn record(&self, id: &str, outcome: &SendOutcome) -> Result<()> {
        let now = clock::now();
        let txn = db::begin_write(&self.db).await?;
        let Some(m) = message::Entity::find_by_id(id.to_string()).one(&txn).await? else {
            txn.rollback().await?;
            return Ok(());
        };
        let mut row: message::ActiveModel = m.clone().into();
        row.updated_at = Set(now);
        if m.state != MessageState::Sending {
            // A receipt overtook the answer (or a sweep ended it): keep its state, learn the provider's id.
            if let SendOutcome::Accepted { provider_message_id } = outcome
                && m.provider_message_id.is_none()
                && !provider_message_id.is_empty()
            {
                row.provider_message_id = Set(Some(provider_message_id.clone()));
                row.update(&txn).await?;
            }
            txn.commit().await?;
            return Ok(());
        }
        let first = m.first_attempt_at.unwrap_or(now);
        let (event, level) = match after_attempt(&self.config.retry, outcome, first, m.attempts.max(1) as u32, now) {
            AfterAttempt::Sent { provider_message_id } => {
                row.state = Set(MessageState::Sent);
                row.provider_message_id = Set(Some(provider_message_id).filter(|p| !p.is_empty()));
                row.sent_at = Set(Some(now));
                row.next_us = Set(None);
                row.last_error = Set(None);
                (Some(EventType::SMS_SENT), "sent")
            }
            AfterAttempt::Retry { retry_at, reason } => {
                row.state = Set(MessageState::TemporaryFailure);
                row.next_us = Set(Some(us(retry_at)));
                row.send_after = Set(Some(retry_at));
                row.last_error = Set(Some(reason));
                (None, "retry")
            }
            AfterAttempt::Failed { reason } => {
                row.state = Set(MessageState::PermanentFailure);
                row.next_us = Set(None);
                row.failed_at = Set(Some(now));
                row.last_error = Set(Some(reason));
                (Some(EventType::SMS_FAILED), "failed")
            }
            AfterAttempt::GaveUp { reason } => {
                row.state = Set(MessageState::TechnicalFailure);
                row.next_us = Set(None);
                row.failed_at = Set(Some(now));
                row.last_error = Set(Some(reason));
                (Some(EventType::SMS_FAILED), "gave_up")
            }
        };
        let m = row.update(&txn).await?;
        if let Some(t) = event {
            announce(&txn, t, &m, now).await?;
        }
        txn.commit().await?;
        self.notifier.notify();
        metrics::counter!("bangban_notification_attempts_total", "provider" => m.provider.as_str(), "outcome" => level)
            .increment(1);
        tracing::info!(message.id = %m.id, phone = %m.phone_masked, attempt = m.attempts, outcome = level, error = ?m.last_error, "SMS attempt recorded");
        Ok(())
    }

    /// Messages in `sending` past the stuck limit become `technical_failure` (no second SMS is risked).
    pub async fn sweep_stuck(&self) -> Result<usize> {
        let now = clock::now();
        let cutoff = now - self.config.retry.stuck_after;
        let stuck = message::Entity::find()
            .filter(message::Column::State.eq(MessageState::Sending))
            .filter(message::Column::SendingSince.lte(cutoff))
            .limit(500)
            .all(&self.db)
            .await?;
        let mut n = 0;
        for m in stuck {
            let txn = db::begin_write(&self.db).await?;
            let Some(m) = message::Entity::find_by_id(m.id).one(&txn).await? else { continue };
            if m.state != MessageState::Sending {
                txn.rollback().await?;
                continue;
            }
            let mut row: message::ActiveModel = m.into();
            row.state = Set(MessageState::TechnicalFailure);
            row.next_us = Set(None);
            row.failed_at = Set(Some(now));
            row.updated_at = Set(now);
            row.last_error = Set(Some(format!(
                "STUCK: 发送结果 {} 小时未知 / no outcome for {} hours",
                self.config.retry.stuck_after.num_hours(),
                self.config.retry.stuck_after.num_hours()
            )));
            let m = row.update(&txn).await?;
            announce(&txn, EventType::SMS_FAILED, &m, now).await?;
            txn.commit().await?;
            n += 1;
            tracing::warn!(message.id = %m.id, "message stuck in sending: technical failure");
        }
        if n > 0 {
            self.notifier.notify();
        }
        Ok(n)
    }

    /// Replay keys of signed receipts outlive the signature window (5 minutes) twice over, then go: the timestamp
    /// check refuses such requests anyway.
    pub async fn prune_replay_keys(&self) -> Result<()> {
        crate::entity::receipt_replay::Entity::delete_many()
            .filter(crate::entity::receipt_replay::Column::At.lt(chrono::Utc::now() - chrono::Duration::minutes(15)))
            .exec(&self.db)
            .await?;
        Ok(())
    }
}
