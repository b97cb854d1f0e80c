//! RFC 9457 problem details (问题详情): the one error shape of the HTTP API and of service replies.
//!
//! People read `title`, `detail` and each field error's `reason` in Chinese; `title_en`,
//! `detail_en` and `reason_en` carry the same in English. Internal error text never goes here.

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};

/// Media type of a problem document.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// One field that was wrong, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FieldError {
    /// Path of the field in the request body, dotted (`project.category`, `materials[2].name`).
    pub field: String,
    /// Why, in Chinese.
    pub reason: String,
    /// Why, in English.
    pub reason_en: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>, reason_en: impl Into<String>) -> Self {
        Self { field: field.into(), reason: reason.into(), reason_en: reason_en.into() }
    }
}

/// An RFC 9457 problem document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI reference naming the kind of problem (`/problems/validation`).
    #[serde(rename = "type")]
    pub type_: String,
    /// Short summary in Chinese.
    pub title: String,
    /// Short summary in English.
    pub title_en: String,
    /// HTTP status code.
    pub status: u16,
    /// This occurrence in Chinese.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// This occurrence in English.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail_en: Option<String>,
    /// The request path this is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// Every field that was wrong.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.title_en)?;
        if let Some(d) = &self.detail_en {
            write!(f, ": {d}")?;
        }
        for e in &self.errors {
            write!(f, "; {}: {}", e.field, e.reason_en)?;
        }
        Ok(())
    }
}

impl std::error::Error for Problem {}

impl Problem {
    pub fn new(status: StatusCode, slug: &str, title: &str, title_en: &str) -> Self {
        Self {
            type_: format!("/problems/{slug}"),
            title: title.into(),
            title_en: title_en.into(),
            status: status.as_u16(),
            detail: None,
            detail_en: None,
            instance: None,
            errors: Vec::new(),
        }
    }

    pub fn with_detail(mut self, detail: impl Into<String>, detail_en: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self.detail_en = Some(detail_en.into());
        self
    }

    pub fn with_instance(mut self, instance: impl Into<String>) -> Self {
        self.instance = Some(instance.into());
        self
    }

    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The request is well-formed JSON but its content is wrong (422), field by field.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let mut p =
            Self::new(StatusCode::UNPROCESSABLE_ENTITY, "validation", "请求内容有误", "Invalid request content");
        let zh: Vec<String> = errors.iter().map(|e| format!("{}：{}", e.field, e.reason)).collect();
        let en: Vec<String> = errors.iter().map(|e| format!("{}: {}", e.field, e.reason_en)).collect();
        p.detail = Some(zh.join("；"));
        p.detail_en = Some(en.join("; "));
        p.errors = errors;
        p
    }

    /// One wrong field (422).
    pub fn invalid_field(field: &str, reason: impl Into<String>, reason_en: impl Into<String>) -> Self {
        Self::validation(vec![FieldError::new(field, reason, reason_en)])
    }

    /// The body could not be read as the JSON the operation takes (400).
    pub fn malformed(field: Option<String>, reason: impl Into<String>, reason_en: impl Into<String>) -> Self {
        let reason = reason.into();
        let reason_en = reason_en.into();
        let mut p = Self::new(StatusCode::BAD_REQUEST, "malformed-body", "请求体格式错误", "Malformed request body")
            .with_detail(reason.clone(), reason_en.clone());
        if let Some(field) = field {
            p.errors.push(FieldError::new(field, reason, reason_en));
        }
        p
    }

    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large", "请求体过大", "Request body too large")
            .with_detail(format!("请求体不得超过 {limit} 字节"), format!("the body must not exceed {limit} bytes"))
    }

    pub fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "不支持的内容类型",
            "Unsupported media type",
        )
        .with_detail("请求体须为 application/json", "the body must be application/json")
    }

    pub fn unauthorized(detail: impl Into<String>, detail_en: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", "未认证", "Unauthorized").with_detail(detail, detail_en)
    }

    /// A signed request whose signature or timestamp does not hold (401, no bearer challenge).
    pub fn bad_signature(detail: impl Into<String>, detail_en: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "bad-signature", "签名无效", "Invalid signature")
            .with_detail(detail, detail_en)
    }

    pub fn forbidden(detail: impl Into<String>, detail_en: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", "无权操作", "Forbidden").with_detail(detail, detail_en)
    }

    pub fn not_found(detail: impl Into<String>, detail_en: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "未找到", "Not found").with_detail(detail, detail_en)
    }

    pub fn conflict(detail: impl Into<String>, detail_en: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", "状态冲突", "Conflict").with_detail(detail, detail_en)
    }

    /// A dependency (NATS, a service, the database) cannot be reached now; try again later (503).
    pub fn unavailable(detail: impl Into<String>, detail_en: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "服务暂不可用", "Service unavailable")
            .with_detail(detail, detail_en)
    }

    /// Something broke on our side. The cause goes to the log, never to the client.
    pub fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "内部错误", "Internal error")
            .with_detail("服务器内部错误，已记录，请稍后重试", "an internal error was logged; please try again later")
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status_code();
        let body = serde_json::to_vec(&self).unwrap_or_else(|_| b"{}".to_vec());
        let mut res = (status, body).into_response();
        res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        // Bearer challenges belong to the token-authenticated API, not to signed webhooks.
        if status == StatusCode::UNAUTHORIZED && self.type_ == "/problems/unauthorized" {
            res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_problem_names_every_field_in_both_languages() {
        let p = Problem::validation(vec![
            FieldError::new("office", "未知的机构代码", "unknown office code"),
            FieldError::new("project.name", "不能为空", "must not be empty"),
        ]);
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(v["type"], "/problems/validation");
        assert_eq!(v["status"], 422);
        assert_eq!(v["errors"][1]["field"], "project.name");
        assert!(v["detail"].as_str().unwrap().contains("未知的机构代码"));
        assert!(v["detail_en"].as_str().unwrap().contains("must not be empty"));
        let back: Problem = serde_json::from_value(v).unwrap();
        assert_eq!(back, p);
    }
}
