//! Request extractors that turn every client mistake into a problem naming the field.

use axum::{
    body::Bytes,
    extract::{FromRequest, Request, rejection::BytesRejection},
    http::{StatusCode, header},
};
use bangban_platform::problem::Problem;
use serde::de::DeserializeOwned;

/// A JSON body: `application/json`, within the body limit, decoded with the path of any wrong field.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let path = req.uri().path().to_string();
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|ct| {
                let media = ct.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
                media == "application/json" || media.ends_with("+json")
            })
            .unwrap_or(false);
        if !is_json {
            return Err(Problem::unsupported_media_type().with_instance(path));
        }
        let limit = req.extensions().get::<BodyLimit>().map(|l| l.0).unwrap_or(usize::MAX);
        let bytes = Bytes::from_request(req, state).await.map_err(|e| match e {
            BytesRejection::FailedToBufferBody(ref inner) if inner.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Problem::payload_too_large(limit).with_instance(path.clone())
            }
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Problem::payload_too_large(limit).with_instance(path.clone())
            }
            _ => Problem::malformed(None, "无法读取请求体", "the request body could not be read")
                .with_instance(path.clone()),
        })?;
        decode(&bytes).map(ApiJson).map_err(|p| p.with_instance(path))
    }
}

/// The configured body limit, put into request extensions so problems can state it.
#[derive(Clone, Copy)]
pub struct BodyLimit(pub usize);

/// Decodes JSON, mapping serde's errors to problems with the field path and a reason in both languages.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize::<_, T>(de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let msg = inner.to_string();
        // serde_json appends " at line X column Y"; the position helps for syntax errors only.
        let core = msg.split(" at line ").next().unwrap_or(&msg).to_string();
        use serde_json::error::Category;
        match inner.classify() {
            Category::Syntax | Category::Eof | Category::Io => Problem::malformed(
                None,
                format!("JSON 格式错误（第 {} 行第 {} 列）", inner.line(), inner.column()),
                format!("malformed JSON: {msg}"),
            ),
            Category::Data => {
                let (field, zh, en) = explain(&path, &core);
                Problem::invalid_field(&field, zh, en)
            }
        }
    })
}

fn join(parent: &str, child: &str) -> String {
    if parent.is_empty() || parent == "." { child.to_string() } else { format!("{parent}.{child}") }
}

fn between_backticks(s: &str) -> Option<&str> {
    let start = s.find('`')? + 1;
    let end = s[start..].find('`')? + start;
    Some(&s[start..end])
}

/// Field, Chinese reason and English reason of a serde data error.
fn explain(path: &str, msg: &str) -> (String, String, String) {
    if let Some(rest) = msg.strip_prefix("missing field ") {
        let name = between_backticks(rest).unwrap_or(rest);
        return (join(path, name), "缺少必填字段".into(), "is required".into());
    }
    if let Some(rest) = msg.strip_prefix("unknown field ") {
        let name = between_backticks(rest).unwrap_or(rest);
        let expected = rest.split("expected ").nth(1).unwrap_or("");
        // serde_path_to_error already ends the path with the unknown field.
        let field =
            if path == name || path.ends_with(&format!(".{name}")) { path.to_string() } else { join(path, name) };
        return (
            field,
            format!("不允许的字段；允许的字段：{}", expected.replace('`', "")),
            format!("unknown field; expected {}", expected.replace('`', "")),
        );
    }
    if let Some(rest) = msg.strip_prefix("unknown variant ") {
        let value = between_backticks(rest).unwrap_or(rest);
        let expected = rest.split("expected ").nth(1).unwrap_or("").replace('`', "");
        return (
            path.to_string(),
            format!("取值 {value:?} 无效；可选值：{expected}"),
            format!("invalid value {value:?}; expected {expected}"),
        );
    }
    if let Some((zh, en)) = bangban_contracts::page::reasons(msg) {
        return (path.to_string(), zh.to_string(), en.to_string());
    }
    if msg.starts_with("invalid type") {
        return (path.to_string(), format!("类型错误（{msg}）"), msg.to_string());
    }
    (path.to_string(), format!("取值无效（{msg}）"), msg.to_string())
}

/// Query parameters, with a problem naming the parameter when they are wrong.
pub struct ApiQuery<T>(pub T);

impl<S, T> axum::extract::FromRequestParts<S> for ApiQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize::<_, T>(de).map(ApiQuery).map_err(|err| {
            let path = err.path().to_string();
            let msg = err.into_inner().to_string();
            let (field, zh, en) = explain(if path == "." { "" } else { &path }, &msg);
            let mut p =
                Problem::new(StatusCode::BAD_REQUEST, "malformed-query", "查询参数有误", "Invalid query parameters")
                    .with_detail(format!("{field}：{zh}"), format!("{field}: {en}"))
                    .with_instance(parts.uri.path());
            p.errors.push(bangban_platform::problem::FieldError::new(field, zh, en));
            p
        })
    }
}

#[cfg(test)]
mod tests {
    use bangban_contracts::intake::NewCase;

    use super::*;

    fn problem(json: &str) -> Problem {
        decode::<NewCase>(json.as_bytes()).unwrap_err()
    }

    #[test]
    fn names_missing_nested_fields() {
        let p = problem(
            r#"{"service_type":"assist","office":"371600","applicant":{"kind":"legal_person"},"project":{"name":"x","category":"other","office":"371600"}}"#,
        );
        assert_eq!(p.status, 422);
        assert_eq!(p.errors[0].field, "applicant.name");
        assert_eq!(p.errors[0].reason, "缺少必填字段");
        let p = problem(
            r#"{"service_type":"assist","applicant":{"kind":"legal_person","name":"a"},"project":{"name":"x","category":"other","office":"371600"}}"#,
        );
        assert_eq!(p.errors[0].field, "office");
    }

    #[test]
    fn names_unknown_category() {
        let p = problem(
            r#"{"service_type":"assist","office":"371600","applicant":{"kind":"legal_person","name":"a"},"project":{"name":"x","category":"castle","office":"371600"}}"#,
        );
        assert_eq!(p.errors[0].field, "project.category");
        assert!(p.errors[0].reason.contains("castle"));
        assert!(p.errors[0].reason_en.contains("gov_housing"));
    }

    #[test]
    fn malformed_json_is_400() {
        let p = problem(r#"{"service_type": "#);
        assert_eq!(p.status, 400);
        let p = problem("[1,2");
        assert_eq!(p.status, 400);
    }

    #[test]
    fn unknown_fields_are_named() {
        let p = problem(
            r#"{"service_type":"assist","office":"371600","color":"red","applicant":{"kind":"legal_person","name":"a"},"project":{"name":"x","category":"other","office":"371600"}}"#,
        );
        assert_eq!(p.errors[0].field, "color");
    }
}
