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

/// The providers `PROVIDER` may name.
pub const PROVIDERS: [&str; 4] = ["log", "webhook", "aliyun", "tencent"];

impl bangban_platform::service::ServiceSettings for NotificationSettings {
    /// Each wrong value named: an unknown provider or its missing keys, a limit of zero, quiet hours that do not
    /// read, retry delays out of order, a signature the carriers refuse.
    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if !PROVIDERS.contains(&self.provider.trim()) {
            problems.push(format!("PROVIDER must be one of {}, not {:?}", PROVIDERS.join(", "), self.provider));
        } else if let Err(e) = crate::gateway_client::Provider::from_settings(self) {
            problems.push(e.to_string());
        }
        for (value, name) in [(self.per_minute, "PER_MINUTE"), (self.per_hour, "PER_HOUR"), (self.per_day, "PER_DAY")] {
            if value == 0 {
                problems.push(format!("{name} must be at least 1"));
            }
        }
        if let Err(e) = crate::limits::QuietHours::parse_setting(&self.quiet_hours) {
            problems.push(format!("QUIET_HOURS: {e}"));
        }
        if self.retry_first_delay_secs == 0 || self.retry_max_delay_secs < self.retry_first_delay_secs {
            problems.push("RETRY_FIRST_DELAY_SECS must be at least 1 and at most RETRY_MAX_DELAY_SECS".to_string());
        }
        if let Err(e) = crate::templates::SignName::new(&self.sign_name) {
            problems.push(format!("SIGN_NAME: {e}"));
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use bangban_platform::service::ServiceSettings;

    use super::*;

    #[test]
    fn the_defaults_are_usable_and_each_wrong_value_is_named() {
        assert!(NotificationSettings::default().problems().is_empty());
        let s = NotificationSettings {
            provider: "carrier-pigeon".into(),
            per_minute: 0,
            per_day: 0,
            quiet_hours: "22:00".into(),
            retry_first_delay_secs: 60,
            retry_max_delay_secs: 30,
            sign_name: String::new(),
            ..Default::default()
        };
        let problems = s.problems();
        let all = problems.join("; ");
        for name in ["PROVIDER", "PER_MINUTE", "PER_DAY", "QUIET_HOURS", "RETRY_FIRST_DELAY_SECS", "SIGN_NAME"] {
            assert!(all.contains(name), "{name} in {all}");
        }
        assert!(!all.contains("PER_HOUR"), "{all}");
        assert_eq!(problems.len(), 6, "{problems:?}");
        // A known provider without its keys names the missing one.
        let s = NotificationSettings { provider: "tencent".into(), ..Default::default() };
        assert!(s.problems().join("; ").contains("TENCENT__SECRET_ID"), "{:?}", s.problems());
        let s = NotificationSettings { provider: " log ".into(), quiet_hours: "none".into(), ..Default::default() };
        assert!(s.problems().is_empty(), "{:?}", s.problems());
    }
}
