//! What a task event does to its clock (计时决定), pure: from the clock as the event finds it and routing's
//! task event, the changes to make — create, start, pause or resume for a supplement (补正), stop, cancel,
//! acknowledge a linked task — in the order [`crate::clocks`] applies them. The due dates follow from
//! [`crate::domain::compute`] once the changes are stored.

use bangban_contracts::{
    EventType,
    deadline::ClockStatus,
    routing::{TaskEvent, TaskStatus},
};
use chrono::{DateTime, Utc};

/// The clock of a task as an event finds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockState {
    pub status: ClockStatus,
    /// The time of the latest task event applied.
    pub last_event_at: Option<DateTime<Utc>>,
    /// A linked task (联动帮办代办), whose office must acknowledge it.
    pub linked: bool,
    /// The linked office has acknowledged it.
    pub acknowledged: bool,
    /// A supplement pause (补正) is open.
    pub supplement_open: bool,
}

/// What to do with a task event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Nothing changes: a link report, a fact older than one already applied, a task not yet dispatched.
    Nothing,
    /// The clock has ended: only the time of the latest fact is kept.
    Touch,
    /// These changes, then the time of the latest fact is kept.
    Apply(Changes),
}

/// The changes one task event makes, applied in the order of the fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// First sight of the task: a clock awaiting receipt, dispatched at this instant.
    pub create: Option<DateTime<Utc>>,
    /// The unit received the task: the clock starts at this instant (接收即起算).
    pub start: Option<DateTime<Utc>>,
    /// The unit has received the task (and the linked office acknowledged it, if linked): late-feedback
    /// notices are resolved.
    pub resolve_feedback: bool,
    /// A supplement pause opens or closes.
    pub supplement: Option<Supplement>,
    /// The task concluded or was withdrawn.
    pub finish: Option<Finish>,
    /// The linked office acknowledged the task.
    pub acknowledge: Option<Acknowledge>,
}

/// A supplement pause (补正) opening or closing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Supplement {
    /// The unit asked the applicant for a supplement: paused since then, with the reason people read.
    Pause { since: DateTime<Utc>, reason: String },
    /// The applicant supplemented: the pause ends.
    Resume { at: DateTime<Utc> },
}

/// The clock stops (办结, approved, rejected or collected) or is cancelled (撤回, withdrawn).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finish {
    pub at: DateTime<Utc>,
    pub withdrawn: bool,
}

/// The linked office acknowledged (联动机构响应).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Acknowledge {
    pub at: DateTime<Utc>,
    /// The unit has received the task too: late-feedback notices are resolved.
    pub resolve_feedback: bool,
}

/// Decides what routing's task event `event` (of type `event_type`) does to the task's clock (`None`: the task
/// has none yet).
pub fn decide(clock: Option<&ClockState>, event_type: EventType, event: &TaskEvent) -> Decision {
    if event_type == EventType::TASK_LINK_REPORTED {
        return Decision::Nothing;
    }
    let mut changes = Changes::default();
    let state = match clock {
        Some(c) if c.last_event_at.is_some_and(|last| event.at < last) => return Decision::Nothing,
        Some(c) if !c.status.is_open() => return Decision::Touch,
        Some(c) => *c,
        None if event.status == TaskStatus::Pending => return Decision::Nothing,
        None => {
            changes.create = Some(if event.status == TaskStatus::Dispatched {
                event.at
            } else {
                event.received_at.unwrap_or(event.at)
            });
            ClockState {
                status: ClockStatus::AwaitingReceipt,
                last_event_at: None,
                linked: event.linked,
                acknowledged: false,
                supplement_open: false,
            }
        }
    };
    let awaiting = state.status == ClockStatus::AwaitingReceipt;
    let received_at = event.received_at.unwrap_or(event.at);
    match event.status {
        TaskStatus::Pending | TaskStatus::Dispatched => {}
        TaskStatus::Approved | TaskStatus::Rejected | TaskStatus::ResultCollected => {
            changes.start = awaiting.then_some(received_at);
            changes.finish = Some(Finish { at: event.at, withdrawn: false });
        }
        TaskStatus::Withdrawn => changes.finish = Some(Finish { at: event.at, withdrawn: true }),
        TaskStatus::Received | TaskStatus::InReview | TaskStatus::SupplementRequested | TaskStatus::Supplemented => {
            changes.start = awaiting.then_some(received_at);
            changes.resolve_feedback =
                (event_type == EventType::TASK_RECEIVED || awaiting) && (!state.linked || state.acknowledged);
            changes.supplement = match (event.paused_since, state.supplement_open) {
                (Some(since), false) => Some(Supplement::Pause { since, reason: supplement_reason(event) }),
                (None, true) => Some(Supplement::Resume { at: event.at }),
                _ => None,
            };
        }
    }
    if event_type == EventType::TASK_LINK_ACKNOWLEDGED && !state.acknowledged {
        changes.acknowledge =
            Some(Acknowledge { at: event.at, resolve_feedback: event.status != TaskStatus::Dispatched });
    }
    Decision::Apply(changes)
}

/// Why a supplement pause is open: the materials asked for (等待申请人补正).
pub fn supplement_reason(event: &TaskEvent) -> String {
    event
        .supplement
        .as_ref()
        .map(|s| s.items.iter().map(|i| i.material.as_str()).collect::<Vec<_>>().join("、"))
        .filter(|s| !s.is_empty())
        .map_or_else(|| "等待申请人补正材料".to_string(), |m| format!("等待申请人补正：{m}"))
}

#[cfg(test)]
mod tests {
    use bangban_contracts::{
        planning::Stage,
        routing::{SupplementItem, SupplementNotice},
    };
    use chrono::{Duration, NaiveDate};
    use uuid::Uuid;

    use super::*;

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-02T01:00:00Z").unwrap().with_timezone(&Utc)
    }

    fn event(status: TaskStatus) -> TaskEvent {
        TaskEvent {
            task_id: Uuid::nil(),
            case_id: Uuid::nil(),
            ledger_no: "BB-371625-2026-000001".into(),
            office: "371625".into(),
            plan_version: 1,
            code: "GCJS-01".into(),
            name: "建设工程规划许可证核发".into(),
            stage: Stage::EngineeringPermit,
            unit_code: "371625-XZSP".into(),
            unit_office: "371625".into(),
            status,
            promised_working_days: 10,
            received_at: None,
            paused_since: None,
            applicant_id: Uuid::nil(),
            specialist_id: "staff-371625-agent-1".into(),
            planned_end: NaiveDate::from_ymd_opt(2026, 3, 20).unwrap(),
            linked: false,
            action: "x".into(),
            actor: "officer".into(),
            at: t0() + Duration::hours(1),
            note: None,
            supplement: None,
            result: None,
            rejection: None,
            unit_name: None,
            acknowledge_by: None,
        }
    }

    fn state(status: ClockStatus) -> ClockState {
        ClockState { status, last_event_at: Some(t0()), linked: false, acknowledged: false, supplement_open: false }
    }

    fn changes(d: Decision) -> Changes {
        match d {
            Decision::Apply(c) => c,
            other => panic!("expected changes, got {other:?}"),
        }
    }

    #[test]
    fn first_sight_creates_a_clock_awaiting_receipt() {
        let e = event(TaskStatus::Dispatched);
        let c = changes(decide(None, EventType::TASK_DISPATCHED, &e));
        assert_eq!(c, Changes { create: Some(e.at), ..Default::default() });
        // A task not yet dispatched has no clock.
        assert_eq!(decide(None, EventType::TASK_DISPATCHED, &event(TaskStatus::Pending)), Decision::Nothing);
    }

    #[test]
    fn first_sight_at_receipt_creates_and_starts_at_the_receipt() {
        let mut e = event(TaskStatus::Received);
        let received = t0() + Duration::minutes(30);
        e.received_at = Some(received);
        let c = changes(decide(None, EventType::TASK_RECEIVED, &e));
        assert_eq!(c.create, Some(received), "dispatched at the receipt when dispatch was never seen");
        assert_eq!(c.start, Some(received));
        assert!(c.resolve_feedback);
        assert_eq!(c.finish, None);
    }

    #[test]
    fn receipt_starts_an_awaiting_clock_and_resolves_feedback() {
        let e = event(TaskStatus::Received);
        let c = changes(decide(Some(&state(ClockStatus::AwaitingReceipt)), EventType::TASK_RECEIVED, &e));
        assert_eq!(c, Changes { start: Some(e.at), resolve_feedback: true, ..Default::default() });
        // Already running (started from dispatch): no restart, but the receipt still resolves late feedback.
        let c = changes(decide(Some(&state(ClockStatus::Running)), EventType::TASK_RECEIVED, &e));
        assert_eq!(c, Changes { resolve_feedback: true, ..Default::default() });
        // A later step of a running clock changes nothing.
        let c = changes(decide(
            Some(&state(ClockStatus::Running)),
            EventType::TASK_IN_REVIEW,
            &event(TaskStatus::InReview),
        ));
        assert_eq!(c, Changes::default());
    }

    #[test]
    fn a_linked_task_resolves_feedback_only_once_acknowledged() {
        let mut s = state(ClockStatus::AwaitingReceipt);
        s.linked = true;
        let e = event(TaskStatus::Received);
        assert!(!changes(decide(Some(&s), EventType::TASK_RECEIVED, &e)).resolve_feedback);
        s.acknowledged = true;
        assert!(changes(decide(Some(&s), EventType::TASK_RECEIVED, &e)).resolve_feedback);
    }

    #[test]
    fn a_supplement_request_pauses_and_the_supplement_resumes() {
        let mut e = event(TaskStatus::SupplementRequested);
        e.paused_since = Some(e.at);
        e.supplement = Some(SupplementNotice {
            items: vec![
                SupplementItem { material: "授权委托书".into(), reason: "缺少签字".into() },
                SupplementItem { material: "身份证明".into(), reason: "过期".into() },
            ],
            due_on: NaiveDate::from_ymd_opt(2026, 3, 10).unwrap(),
            requested_at: e.at,
            requested_by: "officer".into(),
            supplemented_at: None,
        });
        let c = changes(decide(Some(&state(ClockStatus::Running)), EventType::TASK_SUPPLEMENT_REQUESTED, &e));
        assert_eq!(
            c.supplement,
            Some(Supplement::Pause {
                since: e.at, reason: "等待申请人补正：授权委托书、身份证明".into()
            })
        );
        // Redelivered while the pause is open: nothing new.
        let mut paused = state(ClockStatus::Paused);
        paused.supplement_open = true;
        assert_eq!(changes(decide(Some(&paused), EventType::TASK_SUPPLEMENT_REQUESTED, &e)).supplement, None);
        // Supplemented: the pause ends at the event.
        let s = event(TaskStatus::Supplemented);
        let c = changes(decide(Some(&paused), EventType::TASK_SUPPLEMENTED, &s));
        assert_eq!(c.supplement, Some(Supplement::Resume { at: s.at }));
        assert_eq!(c.start, None);
        // No materials named: a generic reason.
        let mut bare = event(TaskStatus::SupplementRequested);
        bare.paused_since = Some(bare.at);
        assert_eq!(supplement_reason(&bare), "等待申请人补正材料");
    }

    #[test]
    fn a_conclusion_stops_and_a_withdrawal_cancels() {
        for (t, status) in [
            (EventType::TASK_APPROVED, TaskStatus::Approved),
            (EventType::TASK_REJECTED, TaskStatus::Rejected),
            (EventType::TASK_RESULT_COLLECTED, TaskStatus::ResultCollected),
        ] {
            let e = event(status);
            let c = changes(decide(Some(&state(ClockStatus::Running)), t, &e));
            assert_eq!(c, Changes { finish: Some(Finish { at: e.at, withdrawn: false }), ..Default::default() });
            // Concluded before the receipt was seen: started at the receipt, then stopped.
            let mut e = e.clone();
            e.received_at = Some(t0());
            let c = changes(decide(Some(&state(ClockStatus::AwaitingReceipt)), t, &e));
            assert_eq!(c.start, Some(t0()));
            assert_eq!(c.finish, Some(Finish { at: e.at, withdrawn: false }));
        }
        let e = event(TaskStatus::Withdrawn);
        for s in [ClockStatus::AwaitingReceipt, ClockStatus::Running, ClockStatus::Paused] {
            let c = changes(decide(Some(&state(s)), EventType::TASK_WITHDRAWN, &e));
            assert_eq!(c, Changes { finish: Some(Finish { at: e.at, withdrawn: true }), ..Default::default() });
        }
    }

    #[test]
    fn an_ended_clock_only_keeps_the_time_and_an_older_fact_changes_nothing() {
        for s in [ClockStatus::Stopped, ClockStatus::Cancelled] {
            assert_eq!(
                decide(Some(&state(s)), EventType::TASK_RECEIVED, &event(TaskStatus::Received)),
                Decision::Touch
            );
        }
        let mut old = event(TaskStatus::Approved);
        old.at = t0() - Duration::minutes(1);
        assert_eq!(decide(Some(&state(ClockStatus::Running)), EventType::TASK_APPROVED, &old), Decision::Nothing);
        assert_eq!(decide(Some(&state(ClockStatus::Stopped)), EventType::TASK_APPROVED, &old), Decision::Nothing);
    }

    #[test]
    fn a_link_acknowledgement_is_taken_once_and_a_link_report_changes_nothing() {
        let mut s = state(ClockStatus::AwaitingReceipt);
        s.linked = true;
        let e = event(TaskStatus::Dispatched);
        let c = changes(decide(Some(&s), EventType::TASK_LINK_ACKNOWLEDGED, &e));
        assert_eq!(c.acknowledge, Some(Acknowledge { at: e.at, resolve_feedback: false }), "not received yet");
        let e = event(TaskStatus::Received);
        let c = changes(decide(Some(&s), EventType::TASK_LINK_ACKNOWLEDGED, &e));
        assert_eq!(c.acknowledge, Some(Acknowledge { at: e.at, resolve_feedback: true }));
        assert!(!c.resolve_feedback, "the receipt alone does not resolve a linked task's feedback");
        s.acknowledged = true;
        assert_eq!(changes(decide(Some(&s), EventType::TASK_LINK_ACKNOWLEDGED, &e)).acknowledge, None);
        assert_eq!(decide(Some(&s), EventType::TASK_LINK_REPORTED, &e), Decision::Nothing);
        assert_eq!(decide(None, EventType::TASK_LINK_REPORTED, &e), Decision::Nothing);
    }
}
