//! The event-type registry (事件类型): every fact the platform publishes, its `ce-type` and subject.
//!
//! A payload only ever gains optional fields; a breaking change is a new version (`.v2`).

use crate::subjects::{EventSubject, SubjectError};

/// Prefix of every `ce-type`.
pub const TYPE_PREFIX: &str = "cn.binzhou.bangban";

/// One registered kind of event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventType {
    /// The aggregate the fact is about (`case`, `task`, …).
    pub aggregate: &'static str,
    /// What happened (`accepted`, `dispatched`, …).
    pub event: &'static str,
    /// Payload version.
    pub version: u8,
    /// Whether the subject ends with the responsible unit's code (task events).
    pub unit_scoped: bool,
}

macro_rules! registry {
    ($($name:ident = $agg:literal . $ev:literal v $ver:literal $($unit:ident)? ;)*) => {
        impl EventType {
            $(
                #[doc = concat!("`", $agg, ".", $ev, "` (v", $ver, ")")]
                pub const $name: EventType = EventType {
                    aggregate: $agg,
                    event: $ev,
                    version: $ver,
                    unit_scoped: registry!(@unit $($unit)?),
                };
            )*
            /// Every registered event type.
            pub const ALL: &'static [EventType] = &[$(EventType::$name),*];
        }
    };
    (@unit) => { false };
    (@unit $t:ident) => { true };
}

registry! {
    // intake (受理)
    CONSULTATION_RECORDED = "consultation"."recorded" v 1;
    JOINT_MEETING_SCHEDULED = "joint_meeting"."scheduled" v 1;
    JOINT_MEETING_RECORDED = "joint_meeting"."recorded" v 1;
    CASE_ACCEPTED = "case"."accepted" v 1;
    CASE_SPECIALIST_CHANGED = "case"."specialist_changed" v 1;
    MATERIALS_REVIEWED = "materials"."reviewed" v 1;
    CASE_RESULTS_DELIVERED = "case"."results_delivered" v 1;
    CASE_ARCHIVED = "case"."archived" v 1;
    CASE_TERMINATED = "case"."terminated" v 1;
    // planning (代办方案)
    PLAN_PUBLISHED = "plan"."published" v 1;
    PLAN_REVISED = "plan"."revised" v 1;
    // Every item of a case's plan has concluded (published by routing; data carries `case_id`).
    PLAN_COMPLETED = "plan"."completed" v 1;
    CALENDAR_CHANGED = "calendar"."changed" v 1;
    // routing (推送), one subject token per responsible unit
    TASK_DISPATCHED = "task"."dispatched" v 1 unit;
    TASK_RECEIVED = "task"."received" v 1 unit;
    TASK_IN_REVIEW = "task"."in_review" v 1 unit;
    TASK_SUPPLEMENT_REQUESTED = "task"."supplement_requested" v 1 unit;
    TASK_SUPPLEMENTED = "task"."supplemented" v 1 unit;
    TASK_APPROVED = "task"."approved" v 1 unit;
    TASK_REJECTED = "task"."rejected" v 1 unit;
    TASK_RESULT_COLLECTED = "task"."result_collected" v 1 unit;
    TASK_WITHDRAWN = "task"."withdrawn" v 1 unit;
    // Linked cross-level handling (联动帮办代办, §7.4.2): the unit's office acknowledged, or reported back.
    TASK_LINK_ACKNOWLEDGED = "task"."link_acknowledged" v 1 unit;
    TASK_LINK_REPORTED = "task"."link_reported" v 1 unit;
    // deadline (时限)
    TASK_WARNING = "task"."warning" v 1 unit;
    TASK_OVERDUE = "task"."overdue" v 1 unit;
    SUPERVISION_ISSUED = "supervision"."issued" v 1;
    SUPERVISION_ANSWERED = "supervision"."answered" v 1;
    SUPERVISION_ESCALATED = "supervision"."escalated" v 1;
    // The task concluded, or the late feedback came: the notice is resolved.
    SUPERVISION_RESOLVED = "supervision"."resolved" v 1;
    // The supervisor recorded the outcome of an escalation (警告、通报批评、问责).
    SUPERVISION_DECIDED = "supervision"."decided" v 1;
    // A clock paused, resumed, was extended or recomputed after a calendar change.
    TASK_CLOCK_CHANGED = "task"."clock_changed" v 1 unit;
    // Problems (§7.5.2) and consultations (会商/联席会议, §7.5.3).
    PROBLEM_RECORDED = "problem"."recorded" v 1;
    PROBLEM_REFERRED = "problem"."referred" v 1;
    PROBLEM_SOLVED = "problem"."solved" v 1;
    // A consultation (会商) or joint meeting (联席会议) the office held on problems (data: kind).
    MEETING_RECORDED = "meeting"."recorded" v 1;
    // notification (短信)
    SMS_SENT = "sms"."sent" v 1;
    SMS_DELIVERED = "sms"."delivered" v 1;
    SMS_FAILED = "sms"."failed" v 1;
    // evaluation (评价)
    EVALUATION_INVITED = "evaluation"."invited" v 1;
    EVALUATION_SUBMITTED = "evaluation"."submitted" v 1;
    RECTIFICATION_OPENED = "rectification"."opened" v 1;
    RECTIFICATION_CLOSED = "rectification"."closed" v 1;
    APPEAL_DECIDED = "appeal"."decided" v 1;
}

impl EventType {
    /// `cn.binzhou.bangban.<aggregate>.<event>.v<N>`.
    pub fn ce_type(&self) -> String {
        format!("{TYPE_PREFIX}.{}.{}.v{}", self.aggregate, self.event, self.version)
    }

    /// The registered type with this `ce-type`.
    pub fn from_ce_type(ce_type: &str) -> Option<EventType> {
        Self::ALL.iter().copied().find(|t| t.ce_type() == ce_type)
    }

    /// The subject of one such event in `office`'s jurisdiction (and `unit`'s, for task events).
    pub fn subject(&self, office: &str, unit: Option<&str>) -> Result<EventSubject, SubjectError> {
        let s = EventSubject::new(office, self.aggregate, self.event)?;
        match (self.unit_scoped, unit) {
            (true, Some(u)) => s.with_unit(u),
            (true, None) => Err(SubjectError::Unit(String::new())),
            (false, _) => Ok(s),
        }
    }

    /// The filter matching this type in every office: `bb.evt.*.<aggregate>.<event>[.*]`.
    pub fn filter_all_offices(&self) -> String {
        let base = format!("bb.evt.*.{}.{}", self.aggregate, self.event);
        if self.unit_scoped { base + ".*" } else { base }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_is_unique_and_well_formed() {
        let mut seen = std::collections::HashSet::new();
        for t in EventType::ALL {
            assert!(seen.insert(t.ce_type()), "duplicate {}", t.ce_type());
            assert!(crate::subjects::is_lower_snake(t.aggregate));
            assert!(crate::subjects::is_lower_snake(t.event));
            assert_eq!(EventType::from_ce_type(&t.ce_type()), Some(*t));
        }
        assert_eq!(EventType::CASE_ACCEPTED.ce_type(), "cn.binzhou.bangban.case.accepted.v1");
    }

    #[test]
    fn task_events_need_a_unit() {
        assert!(EventType::TASK_DISPATCHED.subject("371625", None).is_err());
        assert_eq!(
            EventType::TASK_DISPATCHED.subject("371625", Some("BX01")).unwrap().to_string(),
            "bb.evt.371625.task.dispatched.BX01"
        );
        assert_eq!(EventType::TASK_OVERDUE.filter_all_offices(), "bb.evt.*.task.overdue.*");
        assert_eq!(EventType::CASE_ACCEPTED.filter_all_offices(), "bb.evt.*.case.accepted");
    }
}
