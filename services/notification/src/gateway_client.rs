//! The configured SMS provider behind one interface (短信通道): builds the provider's signed request, calls it
//! with reqwest, and classifies the answer. Signatures use the wall clock (providers refuse skew), never the
//! platform's rehearsal clock.

use std::time::Duration;

use crate::settings::NotificationSettings;
use secrecy::SecretString;

use crate::{
    providers::{
        BuildError, SendOutcome, SmsRequest,
        aliyun::{self, AliyunConfig},
        tencent::{self, TencentConfig},
        webhook::{self, WebhookConfig},
    },
    templates::SignName,
};

bangban_contracts::labelled_enum! {
    /// Which provider a message went through (短信通道), as `BANGBAN__NOTIFICATION__PROVIDER` names it and
    /// `message.provider` stores it.
    pub enum ProviderKind {
        /// Writes the masked number and the text to the log (development).
        Log = "log", "日志（开发）";
        /// Our own JSON webhook.
        Webhook = "webhook", "自有网关";
        /// Alibaba Cloud SMS.
        Aliyun = "aliyun", "阿里云短信";
        /// Tencent Cloud SMS.
        Tencent = "tencent", "腾讯云短信";
    }
}

/// Which provider, with its credentials. `Debug` shows no secret.
#[derive(Debug, Clone)]
pub enum Provider {
    /// Writes the masked number and the text to the log (development).
    Log,
    Webhook(WebhookConfig),
    Aliyun(AliyunConfig),
    Tencent(TencentConfig),
}

impl Provider {
    /// Which one it is.
    pub fn kind(&self) -> ProviderKind {
        match self {
            Self::Log => ProviderKind::Log,
            Self::Webhook(_) => ProviderKind::Webhook,
            Self::Aliyun(_) => ProviderKind::Aliyun,
            Self::Tencent(_) => ProviderKind::Tencent,
        }
    }

    /// `log`, `webhook`, `aliyun`, `tencent`.
    pub fn name(&self) -> &'static str {
        self.kind().as_str()
    }

    /// Whether the provider treats a repeated message id as the same message (so a send whose outcome was
    /// lost may be repeated): ours (`idempotency-key`) and the log. Aliyun and Tencent do not de-duplicate
    /// sends, so a message left in `sending` there waits for its receipt instead.
    pub fn idempotent(&self) -> bool {
        matches!(self, Self::Log | Self::Webhook(_))
    }

    /// The provider of the settings; a missing key or URL names the setting.
    pub fn from_settings(s: &NotificationSettings) -> anyhow::Result<Self> {
        let need = |v: &Option<String>, name: &str| {
            v.clone()
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| anyhow::anyhow!("BANGBAN__NOTIFICATION__{name} is required for this provider"))
        };
        let secret = |v: &Option<SecretString>, name: &str| {
            v.clone().ok_or_else(|| anyhow::anyhow!("BANGBAN__NOTIFICATION__{name} is required for this provider"))
        };
        Ok(match s.provider.trim() {
            "log" => Self::Log,
            "webhook" => Self::Webhook(WebhookConfig {
                url: need(&s.webhook.url, "WEBHOOK__URL")?,
                secret: secret(&s.webhook.secret, "WEBHOOK__SECRET")?,
            }),
            "aliyun" => {
                let mut c = AliyunConfig::new(
                    need(&s.aliyun.access_key_id, "ALIYUN__ACCESS_KEY_ID")?,
                    secret(&s.aliyun.access_key_secret, "ALIYUN__ACCESS_KEY_SECRET")?,
                );
                if let Some(e) = s.aliyun.endpoint.clone().filter(|e| !e.is_empty()) {
                    c.endpoint = e;
                }
                Self::Aliyun(c)
            }
            "tencent" => {
                let mut c = TencentConfig::new(
                    need(&s.tencent.secret_id, "TENCENT__SECRET_ID")?,
                    secret(&s.tencent.secret_key, "TENCENT__SECRET_KEY")?,
                    need(&s.tencent.sms_sdk_app_id, "TENCENT__SMS_SDK_APP_ID")?,
                );
                if let Some(r) = s.tencent.region.clone().filter(|r| !r.is_empty()) {
                    c.region = r;
                }
                if let Some(e) = s.tencent.endpoint.clone().filter(|e| !e.is_empty()) {
                    c.endpoint = e;
                }
                Self::Tencent(c)
            }
            other => {
                anyhow::bail!("BANGBAN__NOTIFICATION__PROVIDER must be log, webhook, aliyun or tencent, not {other:?}")
            }
        })
    }
}

/// The provider with an HTTP client.
pub struct SmsGateway {
    provider: Provider,
    sign: SignName,
    http: reqwest::Client,
}

impl SmsGateway {
    pub fn new(provider: Provider, sign: SignName, timeout: Duration) -> anyhow::Result<Self> {
        bangban_platform::runtime::install_crypto_provider();
        let http = reqwest::Client::builder()
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self { provider, sign, http })
    }

    pub fn provider(&self) -> &Provider {
        &self.provider
    }

    pub fn sign(&self) -> &SignName {
        &self.sign
    }

    /// Sends one message; every failure is an outcome (a network error or timeout is temporary).
    pub async fn send(&self, sms: &SmsRequest) -> SendOutcome {
        let now = chrono::Utc::now();
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        type Parse = fn(http::StatusCode, &[u8]) -> SendOutcome;
        let (built, parse): (Result<http::Request<Vec<u8>>, BuildError>, Parse) = match &self.provider {
            Provider::Log => {
                tracing::info!(
                    message.id = %sms.message_id,
                    phone = %sms.phone.masked(),
                    template = %sms.template_id,
                    text = %crate::notices::mask_codes(&sms.text),
                    "SMS (log provider)"
                );
                return SendOutcome::Accepted { provider_message_id: format!("log-{}", sms.message_id) };
            }
            Provider::Webhook(c) => (webhook::build_request(c, sms, now, &nonce), webhook::parse_response),
            Provider::Aliyun(c) => (aliyun::build_request(c, sms, now, &nonce), aliyun::parse_response),
            Provider::Tencent(c) => (tencent::build_request(c, sms, now, &nonce), tencent::parse_response),
        };
        let request = match built {
            Ok(r) => r,
            Err(e) => return SendOutcome::Permanent { code: "BUILD".into(), message: e.to_string() },
        };
        let request = match reqwest::Request::try_from(request) {
            Ok(r) => r,
            Err(e) => return SendOutcome::Permanent { code: "BUILD".into(), message: e.to_string() },
        };
        let response = match self.http.execute(request).await {
            Ok(r) => r,
            Err(e) => {
                let code = if e.is_timeout() { "TIMEOUT" } else { "NETWORK" };
                return SendOutcome::Temporary { code: code.into(), message: without_url(&e) };
            }
        };
        let status = response.status();
        let body = match response.bytes().await {
            Ok(b) => b,
            Err(e) => return SendOutcome::Temporary { code: "NETWORK".into(), message: without_url(&e) },
        };
        let status = http::StatusCode::from_u16(status.as_u16()).unwrap_or(http::StatusCode::BAD_GATEWAY);
        parse(status, &body)
    }
}

/// A reqwest error without its URL (Aliyun's query string carries the phone number).
fn without_url(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    if let Some(url) = e.url() {
        text = text.replace(url.as_str(), "<provider>");
    }
    text
}
