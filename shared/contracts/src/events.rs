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
    /// The payload type as written in the contract (`crate::intake::CaseAccepted`), for the catalogue.
    pub data: &'static str,
    /// The marker type implementing [`Event`] (`CaseAccepted`).
    pub marker: &'static str,
}

/// One kind of event as a type (事件): its registered [`EventType`] and the type of its `data`, so the
/// publisher and every consumer agree on the payload. One marker type per registered event
/// ([`CaseAccepted`], [`TaskDispatched`], …), generated from the registry below.
pub trait Event: Send + Sync + 'static {
    /// The registered type (`ce-type`, aggregate, event, version, unit scoping).
    const TYPE: EventType;
    /// What `data` holds.
    type Data: serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static;

    /// The subject in `office`'s jurisdiction (and `unit`'s, for task events).
    fn subject(office: &str, unit: Option<&str>) -> Result<EventSubject, SubjectError> {
        Self::TYPE.subject(office, unit)
    }
}

macro_rules! registry {
    ($($(#[$doc:meta])* $name:ident = $agg:literal . $ev:literal v $ver:literal $($unit:ident)? => $marker:ident : $data:ty ;)*) => {
        impl EventType {
            $(
                #[doc = concat!("`", $agg, ".", $ev, "` (v", $ver, ")")]
                pub const $name: EventType = EventType {
                    aggregate: $agg,
                    event: $ev,
                    version: $ver,
                    unit_scoped: registry!(@unit $($unit)?),
                    data: stringify!($data),
                    marker: stringify!($marker),
                };
            )*
            /// Every registered event type.
            pub const ALL: &'static [EventType] = &[$(EventType::$name),*];
        }
        $(
            $(#[$doc])*
            #[doc = concat!("The event `", $agg, ".", $ev, "` (v", $ver, "); its data is [`", stringify!($data), "`].")]
            #[derive(Debug, Clone, Copy, Default)]
            pub struct $marker;
            impl Event for $marker {
                const TYPE: EventType = EventType::$name;
                type Data = $data;
            }
        )*
    };
    (@unit) => { false };
    (@unit $t:ident) => { true };
}

registry! {
    // intake (受理)
    CONSULTATION_RECORDED = "consultation"."recorded" v 1 => ConsultationRecorded: crate::intake::consultation::ConsultationRecorded;
    JOINT_MEETING_SCHEDULED = "joint_meeting"."scheduled" v 1 => JointMeetingScheduled: crate::intake::consultation::JointMeetingScheduled;
    JOINT_MEETING_RECORDED = "joint_meeting"."recorded" v 1 => JointMeetingRecorded: crate::intake::consultation::JointMeetingRecorded;
    CASE_ACCEPTED = "case"."accepted" v 1 => CaseAccepted: crate::intake::CaseAccepted;
    CASE_SPECIALIST_CHANGED = "case"."specialist_changed" v 1 => CaseSpecialistChanged: crate::intake::SpecialistChanged;
    MATERIALS_REVIEWED = "materials"."reviewed" v 1 => MaterialsReviewed: crate::intake::MaterialsReviewed;
    CASE_RESULTS_DELIVERED = "case"."results_delivered" v 1 => CaseResultsDelivered: crate::intake::results::CaseResultsDelivered;
    CASE_ARCHIVED = "case"."archived" v 1 => CaseArchived: crate::intake::results::CaseArchived;
    CASE_TERMINATED = "case"."terminated" v 1 => CaseTerminated: crate::intake::CaseTerminated;
    // planning (代办方案)
    PLAN_PUBLISHED = "plan"."published" v 1 => PlanPublished: crate::planning::PlanPublished;
    PLAN_REVISED = "plan"."revised" v 1 => PlanRevised: crate::planning::PlanRevised;
    /// Every item of a case's plan has concluded (published by routing; data carries `case_id`).
    PLAN_COMPLETED = "plan"."completed" v 1 => PlanCompleted: crate::routing::PlanCompleted;
    CALENDAR_CHANGED = "calendar"."changed" v 1 => CalendarChanged: crate::planning::CalendarChange;
    // routing (推送), one subject token per responsible unit
    TASK_DISPATCHED = "task"."dispatched" v 1 unit => TaskDispatched: crate::routing::TaskEvent;
    TASK_RECEIVED = "task"."received" v 1 unit => TaskReceived: crate::routing::TaskEvent;
    TASK_IN_REVIEW = "task"."in_review" v 1 unit => TaskInReview: crate::routing::TaskEvent;
    TASK_SUPPLEMENT_REQUESTED = "task"."supplement_requested" v 1 unit => TaskSupplementRequested: crate::routing::TaskEvent;
    TASK_SUPPLEMENTED = "task"."supplemented" v 1 unit => TaskSupplemented: crate::routing::TaskEvent;
    TASK_APPROVED = "task"."approved" v 1 unit => TaskApproved: crate::routing::TaskEvent;
    TASK_REJECTED = "task"."rejected" v 1 unit => TaskRejected: crate::routing::TaskEvent;
    TASK_RESULT_COLLECTED = "task"."result_collected" v 1 unit => TaskResultCollected: crate::routing::TaskEvent;
    TASK_WITHDRAWN = "task"."withdrawn" v 1 unit => TaskWithdrawn: crate::routing::TaskEvent;
    /// Linked cross-level handling (联动帮办代办, §7.4.2): the unit's office acknowledged, or reported back.
    TASK_LINK_ACKNOWLEDGED = "task"."link_acknowledged" v 1 unit => TaskLinkAcknowledged: crate::routing::TaskEvent;
    TASK_LINK_REPORTED = "task"."link_reported" v 1 unit => TaskLinkReported: crate::routing::TaskEvent;
    // deadline (时限)
    TASK_WARNING = "task"."warning" v 1 unit => TaskWarning: crate::deadline::ClockAlarm;
    TASK_OVERDUE = "task"."overdue" v 1 unit => TaskOverdue: crate::deadline::ClockAlarm;
    SUPERVISION_ISSUED = "supervision"."issued" v 1 => SupervisionIssued: crate::deadline::SupervisionEvent;
    SUPERVISION_ANSWERED = "supervision"."answered" v 1 => SupervisionAnswered: crate::deadline::SupervisionEvent;
    SUPERVISION_ESCALATED = "supervision"."escalated" v 1 => SupervisionEscalated: crate::deadline::SupervisionEvent;
    /// The task concluded, or the late feedback came: the notice is resolved.
    SUPERVISION_RESOLVED = "supervision"."resolved" v 1 => SupervisionResolved: crate::deadline::SupervisionEvent;
    /// The supervisor recorded the outcome of an escalation (警告、通报批评、问责).
    SUPERVISION_DECIDED = "supervision"."decided" v 1 => SupervisionDecided: crate::deadline::SupervisionEvent;
    /// A clock paused, resumed, was extended or recomputed after a calendar change.
    TASK_CLOCK_CHANGED = "task"."clock_changed" v 1 unit => TaskClockChanged: crate::deadline::ClockAlarm;
    /// Problems (§7.5.2) and consultations (会商/联席会议, §7.5.3).
    PROBLEM_RECORDED = "problem"."recorded" v 1 => ProblemRecorded: crate::deadline::ProblemEvent;
    PROBLEM_REFERRED = "problem"."referred" v 1 => ProblemReferred: crate::deadline::ProblemEvent;
    PROBLEM_SOLVED = "problem"."solved" v 1 => ProblemSolved: crate::deadline::ProblemEvent;
    /// A consultation (会商) or joint meeting (联席会议) the office held on problems (data: kind).
    MEETING_RECORDED = "meeting"."recorded" v 1 => MeetingRecorded: crate::deadline::ConsultationEvent;
    // notification (短信)
    SMS_SENT = "sms"."sent" v 1 => SmsSent: crate::notification::SmsEvent;
    SMS_DELIVERED = "sms"."delivered" v 1 => SmsDelivered: crate::notification::SmsEvent;
    SMS_FAILED = "sms"."failed" v 1 => SmsFailed: crate::notification::SmsEvent;
    // evaluation (评价)
    EVALUATION_INVITED = "evaluation"."invited" v 1 => EvaluationInvited: crate::evaluation::EvaluationInvited;
    EVALUATION_SUBMITTED = "evaluation"."submitted" v 1 => EvaluationSubmitted: crate::evaluation::EvaluationSubmitted;
    RECTIFICATION_OPENED = "rectification"."opened" v 1 => RectificationOpened: crate::evaluation::RectificationEvent;
    RECTIFICATION_CLOSED = "rectification"."closed" v 1 => RectificationClosed: crate::evaluation::RectificationEvent;
    APPEAL_DECIDED = "appeal"."decided" v 1 => AppealDecided: crate::evaluation::AppealDecided;
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

    /// The filter matching every event of this type's aggregate in every office: `bb.evt.*.<aggregate>.>` (one
    /// consumer then receives an aggregate's events in the order they were published: accepted before terminated).
    pub fn aggregate_filter_all_offices(&self) -> String {
        crate::subjects::event_filter(&["*", self.aggregate, ">"])
    }

    /// The filter matching this type in every office: `bb.evt.*.<aggregate>.<event>[.*]`.
    pub fn filter_all_offices(&self) -> String {
        if self.unit_scoped {
            crate::subjects::event_filter(&["*", self.aggregate, self.event, "*"])
        } else {
            crate::subjects::event_filter(&["*", self.aggregate, self.event])
        }
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
        assert_eq!(EventType::CASE_TERMINATED.aggregate_filter_all_offices(), "bb.evt.*.case.>");
        assert_eq!(EventType::TASK_APPROVED.aggregate_filter_all_offices(), "bb.evt.*.task.>");
    }
}
