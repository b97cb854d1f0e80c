//! The task state machine (状态标注) and the rules of each step's content, free of I/O.
//!
//! ```text
//! pending ─(predecessors approved)─► dispatched ─receive─► received ─start_review─► in_review
//! in_review ─request_supplement─► supplement_requested ─supplement─► supplemented
//! supplemented ─request_supplement─► supplement_requested   (⇄, a new complete notice)
//! supplemented ─start_review─► in_review
//! in_review | supplemented ─approve─► approved ─collect_result─► result_collected
//! in_review | supplemented ─reject─► rejected
//! any open status ─withdraw─► withdrawn
//! ```
//! `acknowledge_link` and `report_link` record linked handling (§7.4.2) without changing the status.
//!
//! [`decide`] is a step's whole decision — the new status, the event announcing it and what happens to the
//! task's clock, or why the step is refused; the service only carries it out in the database.

use bangban_contracts::{
    EventType,
    routing::{TaskAction, TaskStatus},
};
use bangban_platform::problem::FieldError;
use chrono::NaiveDate;

/// A step not allowed from the current status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{action} is not allowed while the task is {}", from.as_str())]
pub struct TransitionError {
    pub action: &'static str,
    pub from: TaskStatus,
}

/// The status after `action`, or why it is not allowed now.
pub fn next(from: TaskStatus, action: &TaskAction) -> Result<TaskStatus, TransitionError> {
    use TaskStatus::*;
    let to = match (action, from) {
        (TaskAction::Receive { .. }, Dispatched) => Received,
        (TaskAction::StartReview { .. }, Received | Supplemented) => InReview,
        (TaskAction::RequestSupplement { .. }, InReview | Supplemented) => SupplementRequested,
        (TaskAction::Supplement { .. }, SupplementRequested) => Supplemented,
        (TaskAction::Approve { .. }, InReview | Supplemented) => Approved,
        (TaskAction::Reject { .. }, InReview | Supplemented) => Rejected,
        (TaskAction::CollectResult { .. }, Approved) => ResultCollected,
        (
            TaskAction::Withdraw { .. },
            Pending | Dispatched | Received | InReview | SupplementRequested | Supplemented,
        ) => Withdrawn,
        (TaskAction::AcknowledgeLink { .. } | TaskAction::ReportLink { .. }, s) if s != Withdrawn => s,
        _ => return Err(TransitionError { action: action.name(), from }),
    };
    Ok(to)
}

/// Where a task's linked handling (联动帮办代办, §7.4.2) stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// The unit belongs to the accepting office: no linked handling.
    None,
    /// Linked, not yet acknowledged by the linked office (待响应).
    Awaiting,
    /// Linked and acknowledged (已响应).
    Acknowledged,
}

/// What the task's clock (办理时限) does with a step; deadline reads it from the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    Unchanged,
    /// Received: the promised time starts (`received_at`).
    Starts,
    /// A supplement was requested: the clock pauses (`paused_since`, 补正期间不计时).
    Pauses,
    /// Supplemented or withdrawn: no longer paused.
    Resumes,
}

/// A step allowed now: the status after it, the event that announces it, and the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub from: TaskStatus,
    pub to: TaskStatus,
    /// One of the `task.*` events, all carrying [`TaskEvent`](bangban_contracts::routing::TaskEvent).
    pub event: EventType,
    pub clock: Clock,
}

impl Decision {
    /// An approval: the items waiting for this one may go out.
    pub fn releases_successors(&self) -> bool {
        self.to.is_success() && !self.from.is_success()
    }
}

/// Why a step is refused (all 409: the task is not in a state that allows it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error(transparent)]
    NotNow(#[from] TransitionError),
    /// A link step on a task without linked handling.
    #[error("this task has no linked handling")]
    NotLinked,
    /// The linked office acknowledges once.
    #[error("the linked task was already acknowledged")]
    AlreadyAcknowledged,
}

impl Refusal {
    /// The refusal as people read it (zh-CN).
    pub fn zh(&self) -> String {
        match self {
            Refusal::NotNow(e) => format!("事项当前为“{}”，不能执行“{}”", e.from.label_zh(), e.action),
            Refusal::NotLinked => "该事项不涉及跨层级、跨区域联动".into(),
            Refusal::AlreadyAcknowledged => "联动事项已响应".into(),
        }
    }

    /// The refusal in English.
    pub fn en(&self) -> String {
        match self {
            Refusal::NotNow(e) => format!("the task is {}; {} is not allowed now", e.from.as_str(), e.action),
            other => other.to_string(),
        }
    }
}

/// The event announcing `action`.
pub fn event_of(action: &TaskAction) -> EventType {
    match action {
        TaskAction::Receive { .. } => EventType::TASK_RECEIVED,
        TaskAction::StartReview { .. } => EventType::TASK_IN_REVIEW,
        TaskAction::RequestSupplement { .. } => EventType::TASK_SUPPLEMENT_REQUESTED,
        TaskAction::Supplement { .. } => EventType::TASK_SUPPLEMENTED,
        TaskAction::Approve { .. } => EventType::TASK_APPROVED,
        TaskAction::Reject { .. } => EventType::TASK_REJECTED,
        TaskAction::CollectResult { .. } => EventType::TASK_RESULT_COLLECTED,
        TaskAction::Withdraw { .. } => EventType::TASK_WITHDRAWN,
        TaskAction::AcknowledgeLink { .. } => EventType::TASK_LINK_ACKNOWLEDGED,
        TaskAction::ReportLink { .. } => EventType::TASK_LINK_REPORTED,
    }
}

/// One status step (状态标注), decided on the task's status and linked handling: the status check first, then
/// the link rules.
pub fn decide(from: TaskStatus, link: Link, action: &TaskAction) -> Result<Decision, Refusal> {
    let to = next(from, action)?;
    match action {
        TaskAction::AcknowledgeLink { .. } | TaskAction::ReportLink { .. } if link == Link::None => {
            return Err(Refusal::NotLinked);
        }
        TaskAction::AcknowledgeLink { .. } if link == Link::Acknowledged => return Err(Refusal::AlreadyAcknowledged),
        _ => {}
    }
    let clock = match action {
        TaskAction::Receive { .. } => Clock::Starts,
        TaskAction::RequestSupplement { .. } => Clock::Pauses,
        TaskAction::Supplement { .. } | TaskAction::Withdraw { .. } => Clock::Resumes,
        _ => Clock::Unchanged,
    };
    Ok(Decision { from, to, event: event_of(action), clock })
}

/// A task the plan or the case's termination takes back (not a unit's step): whether the unit must be told
/// (`task.withdrawn`), or `None` when the task has concluded and stays as it is. A task that never reached its
/// unit needs no notice.
pub fn withdrawal(from: TaskStatus) -> Option<bool> {
    (!from.is_concluded()).then_some(from != TaskStatus::Pending)
}

fn text(errors: &mut Vec<FieldError>, field: &str, value: &str, min: usize, max: usize) {
    let t = value.trim();
    let n = t.chars().count();
    if n < min || n > max || t.chars().any(|c| c.is_control() && c != '\n') {
        errors.push(FieldError::new(
            field,
            format!("须为 {min}–{max} 个字符且不含控制字符"),
            format!("must be {min}–{max} characters without control characters"),
        ));
    }
}

fn note(errors: &mut Vec<FieldError>, value: &Option<String>) {
    if let Some(n) = value {
        text(errors, "note", n, 0, 500);
    }
}

/// Checks the content of a step (before any state is read): everything wrong, field by field.
pub fn validate(action: &TaskAction, today: NaiveDate) -> Vec<FieldError> {
    let mut errors = Vec::new();
    match action {
        TaskAction::Receive { note: n }
        | TaskAction::StartReview { note: n }
        | TaskAction::Supplement { note: n }
        | TaskAction::AcknowledgeLink { note: n } => note(&mut errors, n),
        TaskAction::RequestSupplement { items, due_on, note: n } => {
            if items.is_empty() {
                errors.push(FieldError::new(
                    "items",
                    "一次性告知须列明全部需补正的材料",
                    "a complete notice lists every material to supply",
                ));
            }
            let mut seen = std::collections::HashSet::new();
            for (i, item) in items.iter().enumerate() {
                text(&mut errors, &format!("items[{i}].material"), &item.material, 2, 200);
                text(&mut errors, &format!("items[{i}].reason"), &item.reason, 2, 500);
                if !seen.insert(item.material.trim()) {
                    errors.push(FieldError::new(format!("items[{i}].material"), "材料重复", "listed twice"));
                }
            }
            if *due_on < today {
                errors.push(FieldError::new("due_on", "补正期限不能早于今天", "the due date cannot be in the past"));
            }
            note(&mut errors, n);
        }
        TaskAction::Approve { document, note: n } => {
            text(&mut errors, "document.kind", &document.kind, 2, 100);
            text(&mut errors, "document.number", &document.number, 1, 100);
            if document.issued_on > today {
                errors.push(FieldError::new("document.issued_on", "发证日期不能晚于今天", "cannot be in the future"));
            }
            note(&mut errors, n);
        }
        TaskAction::Reject { reason, legal_basis } => {
            text(&mut errors, "reason", reason, 2, 500);
            text(&mut errors, "legal_basis", legal_basis, 2, 500);
        }
        TaskAction::CollectResult { by, note: n } => {
            if !matches!(by.as_str(), "mail" | "assistant" | "applicant") {
                errors.push(FieldError::new(
                    "by",
                    "须为 mail（邮寄）、assistant（代取）或 applicant（自取）",
                    "must be mail, assistant or applicant",
                ));
            }
            note(&mut errors, n);
        }
        TaskAction::Withdraw { reason } => text(&mut errors, "reason", reason, 2, 500),
        TaskAction::ReportLink { report } => text(&mut errors, "report", report, 2, 2000),
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use bangban_contracts::routing::{ResultDocument, SupplementItem};

    fn all_actions() -> Vec<TaskAction> {
        let d = NaiveDate::from_ymd_opt(2026, 12, 10).unwrap();
        vec![
            TaskAction::Receive { note: None },
            TaskAction::StartReview { note: None },
            TaskAction::RequestSupplement {
                items: vec![SupplementItem { material: "总平面图".into(), reason: "缺退线".into() }],
                due_on: d,
                note: None,
            },
            TaskAction::Supplement { note: None },
            TaskAction::Approve {
                document: ResultDocument { kind: "许可证".into(), number: "1".into(), issued_on: d },
                note: None,
            },
            TaskAction::Reject { reason: "不符合".into(), legal_basis: "某法".into() },
            TaskAction::CollectResult { by: "mail".into(), note: None },
            TaskAction::Withdraw { reason: "撤回".into() },
            TaskAction::AcknowledgeLink { note: None },
            TaskAction::ReportLink { report: "已办".into() },
        ]
    }

    #[test]
    fn every_legal_step_and_only_those() {
        use TaskStatus::*;
        let legal: &[(&str, TaskStatus, TaskStatus)] = &[
            ("receive", Dispatched, Received),
            ("start_review", Received, InReview),
            ("start_review", Supplemented, InReview),
            ("request_supplement", InReview, SupplementRequested),
            ("request_supplement", Supplemented, SupplementRequested),
            ("supplement", SupplementRequested, Supplemented),
            ("approve", InReview, Approved),
            ("approve", Supplemented, Approved),
            ("reject", InReview, Rejected),
            ("reject", Supplemented, Rejected),
            ("collect_result", Approved, ResultCollected),
        ];
        for action in all_actions() {
            for &from in TaskStatus::ALL {
                let got = next(from, &action);
                let name = action.name();
                let expected = if name == "withdraw" {
                    (!from.is_concluded()).then_some(Withdrawn)
                } else if name.ends_with("_link") {
                    (from != Withdrawn).then_some(from)
                } else {
                    legal.iter().find(|(a, f, _)| *a == name && *f == from).map(|(_, _, t)| *t)
                };
                assert_eq!(got.ok(), expected, "{name} from {from:?}");
            }
        }
    }

    #[test]
    fn a_supplement_notice_is_complete_and_dated() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
        let bad = TaskAction::RequestSupplement {
            items: vec![
                SupplementItem { material: "总平面图".into(), reason: "".into() },
                SupplementItem { material: "总平面图".into(), reason: "比例不对".into() },
            ],
            due_on: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
            note: None,
        };
        let fields: Vec<String> = validate(&bad, today).into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["items[0].reason", "items[1].material", "due_on"]);
        let empty = TaskAction::RequestSupplement { items: vec![], due_on: today, note: None };
        assert_eq!(validate(&empty, today)[0].field, "items");
        for action in all_actions() {
            assert!(validate(&action, today).iter().all(|e| e.field != "note"), "{action:?}");
        }
        let collect = TaskAction::CollectResult { by: "drone".into(), note: None };
        assert_eq!(validate(&collect, today)[0].field, "by");
    }

    #[test]
    fn decide_allows_exactly_the_legal_steps_with_their_event_and_clock() {
        use TaskStatus::*;
        let events = [
            ("receive", EventType::TASK_RECEIVED, Clock::Starts),
            ("start_review", EventType::TASK_IN_REVIEW, Clock::Unchanged),
            ("request_supplement", EventType::TASK_SUPPLEMENT_REQUESTED, Clock::Pauses),
            ("supplement", EventType::TASK_SUPPLEMENTED, Clock::Resumes),
            ("approve", EventType::TASK_APPROVED, Clock::Unchanged),
            ("reject", EventType::TASK_REJECTED, Clock::Unchanged),
            ("collect_result", EventType::TASK_RESULT_COLLECTED, Clock::Unchanged),
            ("withdraw", EventType::TASK_WITHDRAWN, Clock::Resumes),
            ("acknowledge_link", EventType::TASK_LINK_ACKNOWLEDGED, Clock::Unchanged),
            ("report_link", EventType::TASK_LINK_REPORTED, Clock::Unchanged),
        ];
        for action in all_actions() {
            let name = action.name();
            let (_, event, clock) = events.iter().find(|(n, ..)| *n == name).unwrap();
            assert!(
                bangban_platform::outbox::payload_matches::<bangban_contracts::routing::TaskEvent>(*event),
                "{name}"
            );
            for &from in TaskStatus::ALL {
                for link in [Link::None, Link::Awaiting, Link::Acknowledged] {
                    let got = decide(from, link, &action);
                    let expected = match next(from, &action) {
                        Err(e) => Err(Refusal::NotNow(e)),
                        Ok(_) if name.ends_with("_link") && link == Link::None => Err(Refusal::NotLinked),
                        Ok(_) if name == "acknowledge_link" && link == Link::Acknowledged => {
                            Err(Refusal::AlreadyAcknowledged)
                        }
                        Ok(to) => Ok(Decision { from, to, event: *event, clock: *clock }),
                    };
                    assert_eq!(got, expected, "{name} from {from:?} with {link:?}");
                }
            }
        }
        // The status is checked before the link: a withdrawn task refuses a link step as a status conflict.
        let refused = decide(Withdrawn, Link::None, &TaskAction::ReportLink { report: "x".into() }).unwrap_err();
        assert!(matches!(refused, Refusal::NotNow(TransitionError { from: Withdrawn, .. })));
        assert!(refused.zh().contains("已撤回"), "{}", refused.zh());
        assert_eq!(refused.en(), "the task is withdrawn; report_link is not allowed now");
        assert_eq!(Refusal::NotLinked.zh(), "该事项不涉及跨层级、跨区域联动");
        assert_eq!(Refusal::AlreadyAcknowledged.en(), "the linked task was already acknowledged");
    }

    #[test]
    fn only_approvals_release_successors() {
        use TaskStatus::*;
        let approve = TaskAction::Approve {
            document: ResultDocument { kind: "许可证".into(), number: "1".into(), issued_on: NaiveDate::MIN },
            note: None,
        };
        assert!(decide(InReview, Link::None, &approve).unwrap().releases_successors());
        let collect = TaskAction::CollectResult { by: "mail".into(), note: None };
        assert!(!decide(Approved, Link::None, &collect).unwrap().releases_successors(), "already released");
        let ack = TaskAction::AcknowledgeLink { note: None };
        assert!(!decide(Approved, Link::Awaiting, &ack).unwrap().releases_successors(), "status unchanged");
        let reject = TaskAction::Reject { reason: "不符合".into(), legal_basis: "某法".into() };
        assert!(!decide(Supplemented, Link::None, &reject).unwrap().releases_successors());
    }

    #[test]
    fn a_withdrawal_by_the_plan_notifies_only_units_that_have_the_task() {
        use TaskStatus::*;
        for &from in TaskStatus::ALL {
            let expected = match from {
                Approved | ResultCollected | Rejected | Withdrawn => None,
                Pending => Some(false),
                _ => Some(true),
            };
            assert_eq!(withdrawal(from), expected, "{from:?}");
        }
    }
}
