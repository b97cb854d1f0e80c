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

use bangban_contracts::routing::{TaskAction, TaskStatus};
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
            for from in TaskStatus::ALL {
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
}
