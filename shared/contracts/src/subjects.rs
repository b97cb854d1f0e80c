//! Subject grammar of the bus (主题): `bb.evt.<office>.<aggregate>.<event>[.<unit>]` for events,
//! `bb.svc.<service>.<operation>` for commands and queries, and the stream names.

use std::fmt;

/// The JetStream stream that keeps every event (`bb.evt.>`).
pub const EVENTS_STREAM: &str = "BANGBAN_EVENTS";
/// Subjects captured by [`EVENTS_STREAM`].
pub const EVENTS_SUBJECTS: &str = "bb.evt.>";
/// The dead-letter stream: events a consumer gave up on, with the reason.
pub const DLQ_STREAM: &str = "BANGBAN_DLQ";
/// Subjects captured by [`DLQ_STREAM`].
pub const DLQ_SUBJECTS: &str = "bb.dlq.>";
/// Prefix of service operations (`bb.svc.<service>.<operation>`).
pub const SERVICE_PREFIX: &str = "bb.svc";

/// Why a subject could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubjectError {
    #[error("office must be a six-digit division code, got {0:?}")]
    Office(String),
    #[error("{what} must be lower_snake words (a-z, 0-9, _), got {value:?}")]
    Token { what: &'static str, value: String },
    #[error("unit code must be 1-32 of A-Z a-z 0-9 _ -, got {0:?}")]
    Unit(String),
    #[error("not an event subject: {0:?}")]
    NotEvent(String),
}

/// Is this a six-digit administrative division code?
pub fn is_office_code(s: &str) -> bool {
    s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit())
}

pub(crate) fn is_lower_snake(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && s.as_bytes()[0].is_ascii_lowercase()
}

fn is_unit_code(s: &str) -> bool {
    !s.is_empty() && s.len() <= 32 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The subject of one event: `bb.evt.<office>.<aggregate>.<event>[.<unit>]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EventSubject {
    office: String,
    aggregate: String,
    event: String,
    unit: Option<String>,
}

impl EventSubject {
    /// An event of `aggregate` (`case`) named `event` (`accepted`) in the jurisdiction of `office`.
    pub fn new(office: &str, aggregate: &str, event: &str) -> Result<Self, SubjectError> {
        if !is_office_code(office) {
            return Err(SubjectError::Office(office.into()));
        }
        if !is_lower_snake(aggregate) {
            return Err(SubjectError::Token { what: "aggregate", value: aggregate.into() });
        }
        if !is_lower_snake(event) {
            return Err(SubjectError::Token { what: "event", value: event.into() });
        }
        Ok(Self { office: office.into(), aggregate: aggregate.into(), event: event.into(), unit: None })
    }

    /// Task events also name the responsible unit, so one department can subscribe to its own.
    pub fn with_unit(mut self, unit: &str) -> Result<Self, SubjectError> {
        if !is_unit_code(unit) {
            return Err(SubjectError::Unit(unit.into()));
        }
        self.unit = Some(unit.into());
        Ok(self)
    }

    /// Parses `bb.evt.<office>.<aggregate>.<event>[.<unit>]`.
    pub fn parse(subject: &str) -> Result<Self, SubjectError> {
        let parts: Vec<&str> = subject.split('.').collect();
        match parts.as_slice() {
            ["bb", "evt", office, aggregate, event] => Self::new(office, aggregate, event),
            ["bb", "evt", office, aggregate, event, unit] => Self::new(office, aggregate, event)?.with_unit(unit),
            _ => Err(SubjectError::NotEvent(subject.into())),
        }
    }

    pub fn office(&self) -> &str {
        &self.office
    }
    pub fn aggregate(&self) -> &str {
        &self.aggregate
    }
    pub fn event(&self) -> &str {
        &self.event
    }
    pub fn unit(&self) -> Option<&str> {
        self.unit.as_deref()
    }
}

impl fmt::Display for EventSubject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bb.evt.{}.{}.{}", self.office, self.aggregate, self.event)?;
        if let Some(unit) = &self.unit {
            write!(f, ".{unit}")?;
        }
        Ok(())
    }
}

/// A filter of event subjects in the grammar of [`EventSubject`]: `bb.evt.` followed by the tokens
/// `<office>.<aggregate>.<event>[.<unit>]`, each a value or the wildcard `*` (any one token) or, last, `>` (the rest).
pub fn event_filter(tokens: &[&str]) -> String {
    format!("bb.evt.{}", tokens.join("."))
}

/// Everything one office may see: `bb.evt.<office>.>` (a county office's consumer filter).
pub fn office_filter(office: &str) -> Result<String, SubjectError> {
    if !is_office_code(office) {
        return Err(SubjectError::Office(office.into()));
    }
    Ok(event_filter(&[office, ">"]))
}

/// Every task event of one responsible unit: `bb.evt.<office>.task.*.<unit>`.
pub fn unit_task_filter(office: &str, unit: &str) -> Result<String, SubjectError> {
    if !is_office_code(office) {
        return Err(SubjectError::Office(office.into()));
    }
    if !is_unit_code(unit) {
        return Err(SubjectError::Unit(unit.into()));
    }
    Ok(event_filter(&[office, "task", "*", unit]))
}

/// The subject of a service operation: `bb.svc.<service>.<operation>` (`bb.svc.intake.case.create`).
pub fn service_subject(service: &str, operation: &str) -> String {
    format!("{SERVICE_PREFIX}.{service}.{operation}")
}

/// Where a consumer's dead letters go: `bb.dlq.<consumer>`.
pub fn dlq_subject(consumer: &str) -> String {
    format!("bb.dlq.{consumer}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_and_parses_event_subjects() {
        let s = EventSubject::new("371600", "case", "accepted").unwrap();
        assert_eq!(s.to_string(), "bb.evt.371600.case.accepted");
        let t = EventSubject::new("371625", "task", "dispatched").unwrap().with_unit("BX-ZRZY").unwrap();
        assert_eq!(t.to_string(), "bb.evt.371625.task.dispatched.BX-ZRZY");
        assert_eq!(EventSubject::parse(&t.to_string()).unwrap(), t);
        assert_eq!(EventSubject::parse("bb.evt.371600.case.accepted").unwrap(), s);
    }

    #[test]
    fn rejects_bad_tokens() {
        assert!(matches!(EventSubject::new("37160", "case", "accepted"), Err(SubjectError::Office(_))));
        assert!(EventSubject::new("371600", "Case", "accepted").is_err());
        assert!(EventSubject::new("371600", "case", "acc.epted").is_err());
        assert!(EventSubject::new("371600", "case", "").is_err());
        assert!(EventSubject::new("371600", "case", "x").unwrap().with_unit("a b").is_err());
        assert!(EventSubject::new("371600", "case", "x").unwrap().with_unit("a.b").is_err());
        assert!(EventSubject::parse("bb.svc.intake.case.create").is_err());
        assert!(EventSubject::parse("bb.evt.371600.case").is_err());
    }

    #[test]
    fn filters() {
        assert_eq!(office_filter("371625").unwrap(), "bb.evt.371625.>");
        assert_eq!(unit_task_filter("371625", "U1").unwrap(), "bb.evt.371625.task.*.U1");
        assert_eq!(service_subject("intake", "case.create"), "bb.svc.intake.case.create");
        assert_eq!(event_filter(&["*", "case", ">"]), "bb.evt.*.case.>");
        assert_eq!(dlq_subject("routing-plans"), "bb.dlq.routing-plans");
    }
}
