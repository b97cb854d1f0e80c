//! The CloudEvents 1.0 envelope in binary content mode over NATS headers (事件信封).
//!
//! Attributes travel as `ce-*` headers, the data as the JSON body, as the CloudEvents NATS
//! protocol binding says. Header values are percent-encoded the way the binding (after the HTTP
//! binding) requires: space, `"`, `%` and everything outside printable ASCII become `%XX` of UTF-8.
//! `Nats-Msg-Id` carries `ce-id` so the broker drops a duplicate publish.

use std::collections::BTreeMap;

use async_nats::HeaderMap;
use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};
use serde::{Serialize, de::DeserializeOwned};
use uuid::Uuid;

use crate::events::EventType;

/// CloudEvents spec version we speak.
pub const SPEC_VERSION: &str = "1.0";
/// The JSON media type of every event's data.
pub const JSON: &str = "application/json";
/// JetStream de-duplication header; carries `ce-id`.
pub const NATS_MSG_ID: &str = "Nats-Msg-Id";

pub const CE_SPECVERSION: &str = "ce-specversion";
pub const CE_ID: &str = "ce-id";
pub const CE_SOURCE: &str = "ce-source";
pub const CE_TYPE: &str = "ce-type";
pub const CE_SUBJECT: &str = "ce-subject";
pub const CE_TIME: &str = "ce-time";
pub const CE_DATASCHEMA: &str = "ce-dataschema";
pub const CONTENT_TYPE: &str = "content-type";

/// Characters a header value may not carry as they are (CloudEvents HTTP/NATS binding).
const HEADER_ENCODE: &AsciiSet = &CONTROLS.add(b' ').add(b'"').add(b'%').add(0x7f);

/// Encodes one attribute value for a header.
pub fn encode_header_value(value: &str) -> String {
    // CONTROLS covers 0x00-0x1F; non-ASCII bytes are always encoded by utf8_percent_encode.
    utf8_percent_encode(value, HEADER_ENCODE).to_string()
}

/// Decodes one header value back into the attribute.
pub fn decode_header_value(name: &str, value: &str) -> Result<String, EnvelopeError> {
    percent_decode_str(value)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| EnvelopeError::Encoding(name.to_string()))
}

/// Why a message is not a valid event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("missing required attribute header {0}")]
    Missing(&'static str),
    #[error("unsupported ce-specversion {0:?}, expected 1.0")]
    SpecVersion(String),
    #[error("header {0} is not valid percent-encoded UTF-8")]
    Encoding(String),
    #[error("ce-time {0:?} is not an RFC 3339 timestamp")]
    Time(String),
    #[error("attribute {0} must not be empty")]
    Empty(&'static str),
    #[error("content-type {0:?} is not application/json")]
    ContentType(String),
    #[error("Nats-Msg-Id {msg_id:?} differs from ce-id {ce_id:?}")]
    MsgIdMismatch { ce_id: String, msg_id: String },
    #[error("data is not the expected JSON: {0}")]
    Data(String),
}

/// One event as it travels on the bus.
#[derive(Debug, Clone, PartialEq)]
pub struct CloudEvent {
    /// `ce-id`: a UUIDv7, unique per event.
    pub id: String,
    /// `ce-source`: `/bangban/<service>`.
    pub source: String,
    /// `ce-type`: `cn.binzhou.bangban.<aggregate>.<event>.v<N>`.
    pub type_: String,
    /// `ce-subject`: the aggregate's id.
    pub subject: Option<String>,
    /// `ce-time`: when the fact happened.
    pub time: Option<DateTime<Utc>>,
    /// `content-type` of `data`.
    pub datacontenttype: String,
    /// `ce-dataschema`, when given.
    pub dataschema: Option<String>,
    /// Other `ce-*` attributes (extensions), decoded.
    pub extensions: BTreeMap<String, String>,
    /// The event's data (JSON).
    pub data: Bytes,
}

impl CloudEvent {
    /// A new event of `event_type` about `subject`, from `service`, with a fresh UUIDv7 id.
    pub fn new<T: Serialize>(
        event_type: EventType,
        service: &str,
        subject: impl Into<String>,
        data: &T,
    ) -> Result<Self, EnvelopeError> {
        let data = serde_json::to_vec(data).map_err(|e| EnvelopeError::Data(e.to_string()))?;
        Ok(Self {
            id: Uuid::now_v7().to_string(),
            source: format!("/bangban/{service}"),
            type_: event_type.ce_type(),
            subject: Some(subject.into()),
            time: Some(crate::clock::now()),
            datacontenttype: JSON.to_string(),
            dataschema: None,
            extensions: BTreeMap::new(),
            data: Bytes::from(data),
        })
    }

    /// The data as `T`.
    pub fn data_as<T: DeserializeOwned>(&self) -> Result<T, EnvelopeError> {
        serde_json::from_slice(&self.data).map_err(|e| EnvelopeError::Data(e.to_string()))
    }

    /// The headers of binary content mode, with `Nats-Msg-Id` = `ce-id`.
    pub fn to_headers(&self) -> HeaderMap {
        let mut h = HeaderMap::new();
        self.write_headers(&mut h);
        h
    }

    /// Writes the envelope into existing headers (which may already carry trace context).
    pub fn write_headers(&self, h: &mut HeaderMap) {
        h.insert(CE_SPECVERSION, SPEC_VERSION);
        h.insert(CE_ID, encode_header_value(&self.id));
        h.insert(CE_SOURCE, encode_header_value(&self.source));
        h.insert(CE_TYPE, encode_header_value(&self.type_));
        if let Some(subject) = &self.subject {
            h.insert(CE_SUBJECT, encode_header_value(subject));
        }
        if let Some(time) = &self.time {
            h.insert(CE_TIME, time.to_rfc3339_opts(SecondsFormat::Micros, true));
        }
        if let Some(schema) = &self.dataschema {
            h.insert(CE_DATASCHEMA, encode_header_value(schema));
        }
        for (k, v) in &self.extensions {
            h.insert(format!("ce-{k}"), encode_header_value(v));
        }
        h.insert(CONTENT_TYPE, encode_header_value(&self.datacontenttype));
        h.insert(NATS_MSG_ID, encode_header_value(&self.id));
    }

    /// Reads and validates an event from a message's headers and body.
    pub fn from_parts(headers: Option<&HeaderMap>, payload: Bytes) -> Result<Self, EnvelopeError> {
        let empty = HeaderMap::new();
        let h = headers.unwrap_or(&empty);
        let get = |name: &'static str| -> Result<Option<String>, EnvelopeError> {
            match h.get(name) {
                None => Ok(None),
                Some(v) => decode_header_value(name, v.as_str()).map(Some),
            }
        };
        let required = |name: &'static str| -> Result<String, EnvelopeError> {
            let v = get(name)?.ok_or(EnvelopeError::Missing(name))?;
            if v.is_empty() { Err(EnvelopeError::Empty(name)) } else { Ok(v) }
        };
        let spec = required(CE_SPECVERSION)?;
        if spec != SPEC_VERSION {
            return Err(EnvelopeError::SpecVersion(spec));
        }
        let id = required(CE_ID)?;
        let source = required(CE_SOURCE)?;
        let type_ = required(CE_TYPE)?;
        let subject = get(CE_SUBJECT)?;
        if subject.as_deref() == Some("") {
            return Err(EnvelopeError::Empty(CE_SUBJECT));
        }
        let time = match get(CE_TIME)? {
            None => None,
            Some(t) => {
                Some(DateTime::parse_from_rfc3339(&t).map_err(|_| EnvelopeError::Time(t.clone()))?.with_timezone(&Utc))
            }
        };
        let datacontenttype = get(CONTENT_TYPE)?.unwrap_or_else(|| JSON.to_string());
        let media = datacontenttype.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        if media != JSON && !media.ends_with("+json") {
            return Err(EnvelopeError::ContentType(datacontenttype));
        }
        if let Some(msg_id) = get(NATS_MSG_ID)?
            && msg_id != id
        {
            return Err(EnvelopeError::MsgIdMismatch { ce_id: id, msg_id });
        }
        let dataschema = get(CE_DATASCHEMA)?;
        let mut extensions = BTreeMap::new();
        for (name, values) in h.iter() {
            let name: &str = name.as_ref();
            let lower = name.to_ascii_lowercase();
            let Some(attr) = lower.strip_prefix("ce-") else { continue };
            if matches!(attr, "specversion" | "id" | "source" | "type" | "subject" | "time" | "dataschema") {
                continue;
            }
            if let Some(v) = values.last() {
                extensions.insert(attr.to_string(), decode_header_value(name, v.as_str())?);
            }
        }
        Ok(Self { id, source, type_, subject, time, datacontenttype, dataschema, extensions, data: payload })
    }

    /// The registered event type, when this is one of ours.
    pub fn event_type(&self) -> Option<EventType> {
        EventType::from_ce_type(&self.type_)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trips_through_headers() {
        let mut ev =
            CloudEvent::new(EventType::CASE_ACCEPTED, "intake", "0190-abc", &serde_json::json!({"x": 1})).unwrap();
        ev.extensions.insert("office".into(), "371600".into());
        let h = ev.to_headers();
        assert_eq!(h.get("ce-specversion").unwrap().as_str(), "1.0");
        assert_eq!(h.get(NATS_MSG_ID).unwrap().as_str(), ev.id);
        assert_eq!(h.get("ce-type").unwrap().as_str(), "cn.binzhou.bangban.case.accepted.v1");
        assert_eq!(h.get("ce-source").unwrap().as_str(), "/bangban/intake");
        let back = CloudEvent::from_parts(Some(&h), ev.data.clone()).unwrap();
        // Time goes through microsecond precision.
        assert_eq!(back.id, ev.id);
        assert_eq!(back.extensions.get("office").map(String::as_str), Some("371600"));
        assert_eq!(back.event_type(), Some(EventType::CASE_ACCEPTED));
        assert_eq!(back.data_as::<serde_json::Value>().unwrap()["x"], 1);
        assert!((back.time.unwrap() - ev.time.unwrap()).num_microseconds().unwrap().abs() < 1);
    }

    #[test]
    fn percent_encodes_what_the_binding_requires() {
        assert_eq!(encode_header_value("a b"), "a%20b");
        assert_eq!(encode_header_value("50%"), "50%25");
        assert_eq!(encode_header_value("say \"hi\""), "say%20%22hi%22");
        assert_eq!(encode_header_value("滨州"), "%E6%BB%A8%E5%B7%9E");
        assert_eq!(encode_header_value("/bangban/intake"), "/bangban/intake");
        assert_eq!(decode_header_value("x", "%E6%BB%A8%E5%B7%9E").unwrap(), "滨州");
        assert!(decode_header_value("x", "%FF%FE").is_err());
    }

    #[test]
    fn rejects_invalid_envelopes() {
        let ev = CloudEvent::new(EventType::CASE_ACCEPTED, "intake", "s", &1).unwrap();
        let mut h = ev.to_headers();
        h.insert("ce-specversion", "0.3");
        assert!(matches!(CloudEvent::from_parts(Some(&h), ev.data.clone()), Err(EnvelopeError::SpecVersion(_))));

        let mut h = HeaderMap::new();
        h.insert("ce-specversion", "1.0");
        h.insert("ce-source", "/x");
        h.insert("ce-type", "t");
        assert_eq!(CloudEvent::from_parts(Some(&h), Bytes::new()), Err(EnvelopeError::Missing("ce-id")));
        assert_eq!(CloudEvent::from_parts(None, Bytes::new()), Err(EnvelopeError::Missing("ce-specversion")));

        let mut h = ev.to_headers();
        h.insert("ce-time", "yesterday");
        assert!(matches!(CloudEvent::from_parts(Some(&h), ev.data.clone()), Err(EnvelopeError::Time(_))));

        let mut h = ev.to_headers();
        h.insert(NATS_MSG_ID, "other");
        assert!(matches!(CloudEvent::from_parts(Some(&h), ev.data.clone()), Err(EnvelopeError::MsgIdMismatch { .. })));

        let mut h = ev.to_headers();
        h.insert("content-type", "text/plain");
        assert!(matches!(CloudEvent::from_parts(Some(&h), ev.data.clone()), Err(EnvelopeError::ContentType(_))));
    }

    proptest! {
        #[test]
        fn any_attribute_value_round_trips(s in "\\PC{0,40}") {
            let enc = encode_header_value(&s);
            prop_assert!(enc.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b'"'));
            prop_assert_eq!(decode_header_value("x", &enc).unwrap(), s);
        }
    }
}
