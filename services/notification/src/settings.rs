//! Settings of the notification service (`BANGBAN__NOTIFICATION__…`): the SMS provider and its keys, the
//! per-number limits and quiet hours, retries, and the receipt endpoints' credentials. The notification
//! crate validates them at start (a bad value stops it with the setting's name).

use secrecy::SecretString;
use serde::Deserialize;

/// SMS and in-app notices (`BANGBAN__NOTIFICATION__…`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct NotificationSettings {
    /// `log` (development default: the masked number and the text in the log), `webhook`, `aliyun`, `tencent`.
    pub provider: String,
    /// The signature (短信签名) shown as 【…】.
    pub sign_name: String,
    pub webhook: WebhookProviderSettings,
    pub aliyun: AliyunSettings,
    pub tencent: TencentSettings,
    /// Messages per number in any 60 seconds, 60 minutes and 24 hours (`PER_MINUTE`, `PER_HOUR`, `PER_DAY`).
    pub per_minute: u32,
    pub per_hour: u32,
    pub per_day: u32,
    /// `21:00-08:00` (Asia/Shanghai) by default; `none` turns quiet hours off.
    pub quiet_hours: String,
    /// Token the Aliyun and Tencent receipt callbacks carry as `?token=…` (they sign nothing). Unset: those
    /// endpoints answer 503.
    pub receipt_token: Option<SecretString>,
    /// First retry delay (seconds), doubling up to `retry_max_delay_secs`, until `retry_budget_secs` after the
    /// first attempt.
    pub retry_first_delay_secs: u64,
    pub retry_max_delay_secs: u64,
    pub retry_budget_secs: u64,
    /// A message in `sending` (the provider call's outcome unknown, e.g. after a crash) this long becomes
    /// `technical_failure`.
    pub stuck_after_hours: u64,
    /// For idempotent providers (`log`, `webhook`) a message left in `sending` this long is sent again with
    /// the same idempotency key (the receiver answers it without sending twice).
    pub resend_idempotent_after_secs: u64,
    /// Provider calls time out after this many seconds (a timeout is a temporary failure).
    pub request_timeout_secs: u64,
    /// The sender looks for due messages at least this often (milliseconds, wall clock).
    pub poll_interval_ms: u64,
    /// Messages claimed per round.
    pub batch_size: u64,
    /// Messages sent at the same time.
    pub concurrency: usize,
}

impl Default for NotificationSettings {
    fn default() -> Self {
        Self {
            provider: "log".into(),
            sign_name: "滨州帮办代办".into(),
            webhook: WebhookProviderSettings::default(),
            aliyun: AliyunSettings::default(),
            tencent: TencentSettings::default(),
            per_minute: 1,
            per_hour: 5,
            per_day: 10,
            quiet_hours: "21:00-08:00".into(),
            receipt_token: None,
            retry_first_delay_secs: 30,
            retry_max_delay_secs: 3600,
            retry_budget_secs: 4 * 3600,
            stuck_after_hours: 72,
            resend_idempotent_after_secs: 60,
            request_timeout_secs: 10,
            poll_interval_ms: 250,
            batch_size: 100,
            concurrency: 16,
        }
    }
}

/// `BANGBAN__NOTIFICATION__WEBHOOK__URL` and `…__SECRET`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct WebhookProviderSettings {
    pub url: Option<String>,
    pub secret: Option<SecretString>,
}

/// `BANGBAN__NOTIFICATION__ALIYUN__…`: Dysmsapi.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct AliyunSettings {
    pub access_key_id: Option<String>,
    pub access_key_secret: Option<SecretString>,
    /// Default `https://dysmsapi.aliyuncs.com`.
    pub endpoint: Option<String>,
}

/// `BANGBAN__NOTIFICATION__TENCENT__…`: Tencent Cloud SMS.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TencentSettings {
    pub secret_id: Option<String>,
    pub secret_key: Option<SecretString>,
    pub sms_sdk_app_id: Option<String>,
    /// Default `ap-guangzhou`.
    pub region: Option<String>,
    /// Default `https://sms.tencentcloudapi.com`.
    pub endpoint: Option<String>,
}

impl bangban_platform::service::ServiceSettings for NotificationSettings {}
