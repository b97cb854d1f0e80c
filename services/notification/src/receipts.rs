//! Delivery receipts (回执): Aliyun `SmsReport` and Tencent status callbacks (authenticated by the callback
//! token, as neither provider signs them), and our webhook's receipts (signed like every Bangban webhook, with
//! replay keys kept). A receipt only moves a message forward: one already final is left as it is.

use std::time::SystemTime;

use bangban_contracts::{
    EventType,
    notification::{MessageState, ReceiptProvider, ReceiptsRecorded, RecordReceipts},
};
use bangban_platform::{
    clock, db,
    problem::Problem,
    webhook::{WebhookVerifier, replay_keys},
};
use http::{HeaderMap, HeaderValue};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, sea_query::OnConflict};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};

use crate::{
    NotificationService, announce,
    entity::{message, receipt_replay},
    error::{NotificationError, Result},
    providers::{DeliveryReceipt, aliyun, tencent, webhook},
};

fn refused(p: Problem) -> NotificationError {
    NotificationError::Refused(Box::new(p))
}

/// The answer of a receipt hook that is not enabled (回调未启用): 404 `hook-not-enabled`, before the request
/// is read. A missing token or secret is the operator's choice, not an outage: no 503 that makes the
/// provider retry, and no hint about the configuration for whoever calls.
fn not_enabled(provider: ReceiptProvider) -> NotificationError {
    refused(
        Problem::new(http::StatusCode::NOT_FOUND, "hook-not-enabled", "回调未启用", "Hook not enabled").with_detail(
            format!("{} 短信回执回调未启用", provider.as_str()),
            format!("the {} SMS receipt hook is not enabled", provider.as_str()),
        ),
    )
}

impl NotificationService {
    /// The receipt hooks that are enabled, for the log at start: `aliyun` and `tencent` with
    /// `BANGBAN__NOTIFICATION__RECEIPT_TOKEN`, `webhook` with `BANGBAN__NOTIFICATION__WEBHOOK__SECRET`.
    pub fn enabled_receipt_hooks(&self) -> Vec<&'static str> {
        let mut hooks = Vec::new();
        if self.settings.receipt_token.is_some() {
            hooks.extend([ReceiptProvider::Aliyun.as_str(), ReceiptProvider::Tencent.as_str()]);
        }
        if self.settings.webhook.secret.is_some() {
            hooks.push(ReceiptProvider::Webhook.as_str());
        }
        hooks
    }
}

/// Equal in constant time (over the digests, so the length leaks nothing either).
fn same_token(a: &str, b: &str) -> bool {
    let (x, y) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    x.iter().zip(y.iter()).fold(0u8, |acc, (p, q)| acc | (p ^ q)) == 0
}

fn malformed(e: impl std::fmt::Display) -> NotificationError {
    NotificationError::Refused(Box::new(Problem::malformed(
        None,
        format!("回执格式无法识别：{e}"),
        format!("the receipt could not be read: {e}"),
    )))
}

impl NotificationService {
    /// Authenticates and applies one callback.
    #[tracing::instrument(skip_all, fields(provider = req.provider.as_str()))]
    pub async fn record_receipts(&self, req: RecordReceipts) -> Result<ReceiptsRecorded> {
        let body = req.body.as_bytes();
        let mut replay = Vec::new();
        let receipts: Vec<DeliveryReceipt> = match req.provider {
            ReceiptProvider::Aliyun | ReceiptProvider::Tencent => {
                let Some(expected) = &self.settings.receipt_token else {
                    return Err(not_enabled(req.provider));
                };
                let given = req.token.as_deref().unwrap_or_default();
                if given.is_empty() || !same_token(given, expected.expose_secret()) {
                    tracing::warn!("receipt refused: bad or missing token");
                    return Err(refused(Problem::unauthorized(
                        "回执令牌无效",
                        "the receipt token is missing or wrong",
                    )));
                }
                if req.provider == ReceiptProvider::Aliyun {
                    aliyun::parse_sms_report(body).map_err(malformed)?.iter().map(|r| r.to_receipt()).collect()
                } else {
                    tencent::parse_status_callback(body).map_err(malformed)?.iter().map(|r| r.to_receipt()).collect()
                }
            }
            ReceiptProvider::Webhook => {
                let secret = self.settings.webhook.secret.clone().ok_or_else(|| not_enabled(req.provider))?;
                let mut headers = HeaderMap::new();
                for (name, value) in [
                    ("x-bangban-timestamp", &req.timestamp),
                    ("x-bangban-signature", &req.signature),
                    ("x-bangban-delivery", &req.delivery),
                ] {
                    if let Some(v) = value
                        && let Ok(v) = HeaderValue::from_str(v)
                    {
                        headers.insert(name, v);
                    }
                }
                // The wall clock: the gateway signs with real time.
                let verified = WebhookVerifier::new(secret).verify(&headers, body, SystemTime::now()).map_err(|e| {
                    tracing::warn!(reason = %e, "webhook receipt refused");
                    refused(Problem::from(e))
                })?;
                replay = replay_keys(&verified);
                vec![webhook::parse_receipt(body).map_err(malformed)?.to_receipt()]
            }
        };
        let now = clock::now();
        let txn = db::begin_write(&self.db).await?;
        for key in &replay {
            let inserted = receipt_replay::Entity::insert(receipt_replay::ActiveModel {
                key: Set(key.clone()),
                at: Set(chrono::Utc::now()),
            })
            .on_conflict(OnConflict::column(receipt_replay::Column::Key).do_nothing().to_owned())
            .exec_without_returning(&txn)
            .await?;
            if inserted == 0 {
                txn.rollback().await?;
                tracing::info!("webhook receipt replayed: nothing applied again");
                return Ok(ReceiptsRecorded { unchanged: receipts.len() as u32, ..Default::default() });
            }
        }
        let mut result = ReceiptsRecorded::default();
        for r in &receipts {
            let found = match r.message_id.as_deref().filter(|id| uuid::Uuid::parse_str(id).is_ok()) {
                Some(id) => message::Entity::find_by_id(id.to_string()).one(&txn).await?,
                None => None,
            };
            let found = match found {
                Some(m) => Some(m),
                None if !r.provider_message_id.is_empty() => {
                    message::Entity::find()
                        .filter(message::Column::ProviderMessageId.eq(r.provider_message_id.clone()))
                        .one(&txn)
                        .await?
                }
                None => None,
            };
            // A receipt speaks only for messages its provider sent (the Aliyun and Tencent token is one shared
            // secret: it must not settle a webhook message, nor the other way round).
            let Some(m) = found.filter(|m| m.provider.as_str() == req.provider.as_str()) else {
                result.unknown += 1;
                continue;
            };
            if matches!(m.state, MessageState::Delivered | MessageState::PermanentFailure) {
                result.unchanged += 1;
                continue;
            }
            let mut row: message::ActiveModel = m.clone().into();
            row.updated_at = Set(now);
            row.next_us = Set(None);
            if m.provider_message_id.is_none() && !r.provider_message_id.is_empty() {
                row.provider_message_id = Set(Some(r.provider_message_id.clone()));
            }
            let event = if r.delivered {
                row.state = Set(MessageState::Delivered);
                row.delivered_at = Set(Some(r.reported_at.unwrap_or(now)));
                row.last_error = Set(None);
                if m.sent_at.is_none() {
                    row.sent_at = Set(Some(now));
                }
                EventType::SMS_DELIVERED
            } else {
                row.state = Set(MessageState::PermanentFailure);
                row.failed_at = Set(Some(now));
                row.last_error = Set(Some(format!("RECEIPT {}: {}", r.code, r.message)));
                EventType::SMS_FAILED
            };
            let m = row.update(&txn).await?;
            announce(&txn, event, &m, now).await?;
            result.applied += 1;
            tracing::info!(message.id = %m.id, phone = %m.phone_masked, delivered = r.delivered, code = %r.code, "receipt applied");
        }
        txn.commit().await?;
        self.notifier.notify();
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_compare_whole() {
        assert!(super::same_token("abc", "abc"));
        assert!(!super::same_token("abc", "abd"));
        assert!(!super::same_token("ab", "abc"));
    }
}
