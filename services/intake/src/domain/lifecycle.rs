//! The case lifecycle (案件生命周期, §7): which command or event moves a case from which state to which.
//!
//! ```text
//! consulting ─Accept─► accepted ─PlanPublished─► planned ─TaskDispatched─► in_progress ─DeliverResults─►
//!   results_delivered ─Archive─► archived
//! any state before archived ─Terminate{reason}─► terminated
//! ```
//!
//! Two kinds of input, two policies:
//!
//! - **Commands from people** (`Accept`, `DeliverResults`, `Archive`, `Terminate`) are errors in any state but
//!   their source state: a 409 naming the current state. Repeating one is an error too (the second
//!   "archive" of an archived case is refused), so a person always learns that nothing happened.
//! - **Events from other services** (`PlanPublished` from planning, `TaskDispatched` and `AllTasksConcluded`
//!   from tracking) arrive at least once and possibly late. One that finds the case already at or past the
//!   state it leads to, or terminated, is [`Outcome::Unchanged`]: re-delivery is harmless and a plan
//!   published just before a termination does not revive the case. One that finds the case *before* the
//!   state it needs (a task dispatched for a case intake still sees as `accepted`) is a [`TransitionError`]:
//!   the event came ahead of its predecessor, and the consumer should let it be redelivered later.
//! - "Every task concluded" is **not a state**: the case stays `in_progress` and gets a ready-for-results mark
//!   ([`Outcome::MarkedReadyForResults`], 办结待告知), which the UI shows so the specialist delivers results.
//!   Results are delivered per document and stage (§7.6), so `DeliverResults` does not wait for the mark:
//!   tracking may not exist yet, and the specialist decides when the last result has gone out.

use bangban_contracts::intake::CaseStatus;
use bangban_platform::problem::Problem;

pub use bangban_contracts::intake::TerminationReason;

/// What is asked of a case: a command from a person or an event from another service (状态变更).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transition {
    /// Command 受理委托 (§7.2): `consulting` → `accepted`.
    Accept,
    /// Event `plan.published` 代办方案发布 (§7.3): `accepted` → `planned`; unchanged once planned or later.
    PlanPublished,
    /// Event: the first task was dispatched 事项推送办理 (§7.4): `planned` → `in_progress`; unchanged once in
    /// progress or later.
    TaskDispatched,
    /// Event: every task concluded 全部事项办结 (§7.5): the case stays `in_progress` and is marked ready for
    /// results; unchanged once results are delivered or later.
    AllTasksConcluded,
    /// Command 告知结果 (§7.6): `in_progress` → `results_delivered`.
    DeliverResults,
    /// Command 资料归档 (§7.7): `results_delivered` → `archived`.
    Archive,
    /// Command 终止服务 (§7.8): any state before `archived` → `terminated`.
    Terminate {
        /// The reason (a)–(f).
        reason: TerminationReason,
    },
}

impl Transition {
    /// Every transition, with `Terminate` once (its reason changes nothing in the state machine).
    pub const ALL: [Transition; 7] = [
        Self::Accept,
        Self::PlanPublished,
        Self::TaskDispatched,
        Self::AllTasksConcluded,
        Self::DeliverResults,
        Self::Archive,
        Self::Terminate { reason: TerminationReason::Other },
    ];

    /// The identifier in logs and audit records (`accept`, `plan_published`, …).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Accept => "accept",
            Self::PlanPublished => "plan_published",
            Self::TaskDispatched => "task_dispatched",
            Self::AllTasksConcluded => "all_tasks_concluded",
            Self::DeliverResults => "deliver_results",
            Self::Archive => "archive",
            Self::Terminate { .. } => "terminate",
        }
    }

    /// The step's name in Chinese (环节名称).
    pub fn label_zh(&self) -> &'static str {
        match self {
            Self::Accept => "受理委托",
            Self::PlanPublished => "代办方案发布",
            Self::TaskDispatched => "事项推送办理",
            Self::AllTasksConcluded => "全部事项办结",
            Self::DeliverResults => "告知结果",
            Self::Archive => "资料归档",
            Self::Terminate { .. } => "终止服务",
        }
    }

    /// The step's name in English.
    pub fn label_en(&self) -> &'static str {
        match self {
            Self::Accept => "acceptance",
            Self::PlanPublished => "publication of the service plan",
            Self::TaskDispatched => "dispatch of a task",
            Self::AllTasksConcluded => "conclusion of every task",
            Self::DeliverResults => "delivery of the results",
            Self::Archive => "archiving",
            Self::Terminate { .. } => "termination",
        }
    }

    /// Does this come from another service's event (来自其他服务的事件), rather than from a person?
    /// Events are idempotent; commands on the wrong state are errors.
    pub fn is_event(&self) -> bool {
        matches!(self, Self::PlanPublished | Self::TaskDispatched | Self::AllTasksConcluded)
    }

    /// The states in which this transition acts (moves the case, or marks it ready for results).
    pub fn sources(&self) -> &'static [CaseStatus] {
        use CaseStatus::*;
        match self {
            Self::Accept => &[Consulting],
            Self::PlanPublished => &[Accepted],
            Self::TaskDispatched => &[Planned],
            Self::AllTasksConcluded | Self::DeliverResults => &[InProgress],
            Self::Archive => &[ResultsDelivered],
            Self::Terminate { .. } => &[Consulting, Accepted, Planned, InProgress, ResultsDelivered],
        }
    }

    /// The states in which this event is already reflected, or no longer matters: it changes nothing there.
    /// Empty for commands.
    pub fn no_op_states(&self) -> &'static [CaseStatus] {
        use CaseStatus::*;
        match self {
            Self::PlanPublished => &[Planned, InProgress, ResultsDelivered, Archived, Terminated],
            Self::TaskDispatched => &[InProgress, ResultsDelivered, Archived, Terminated],
            Self::AllTasksConcluded => &[ResultsDelivered, Archived, Terminated],
            _ => &[],
        }
    }
}

/// What a transition does to a case (变更结果).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The case moves to this state.
    Moved(CaseStatus),
    /// The case stays `in_progress` and is marked ready for results (办结待告知). Setting the mark is
    /// idempotent: a re-delivered event sets it again.
    MarkedReadyForResults,
    /// Nothing changes: a re-delivered or late event.
    Unchanged,
}

impl Outcome {
    /// The case's state after this outcome, from `current`.
    pub fn status_after(&self, current: CaseStatus) -> CaseStatus {
        match self {
            Self::Moved(next) => *next,
            Self::MarkedReadyForResults | Self::Unchanged => current,
        }
    }
}

/// A transition that is not allowed in the case's current state (状态冲突). Becomes a 409 problem naming
/// the current state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{} is not allowed for a case in state {}", .attempted.as_str(), .current.as_str())]
pub struct TransitionError {
    /// The case's state when the transition was attempted.
    pub current: CaseStatus,
    /// What was attempted.
    pub attempted: Transition,
}

impl From<TransitionError> for Problem {
    fn from(e: TransitionError) -> Self {
        let sources = e.attempted.sources();
        let zh_sources: Vec<String> = sources.iter().map(|s| format!("“{}”（{}）", s.label_zh(), s.as_str())).collect();
        let en_sources: Vec<&str> = sources.iter().map(|s| s.as_str()).collect();
        Problem::conflict(
            format!(
                "案件当前状态为“{}”（{}），不能进行“{}”；该操作仅适用于{}状态",
                e.current.label_zh(),
                e.current.as_str(),
                e.attempted.label_zh(),
                zh_sources.join("、"),
            ),
            format!(
                "the case is in state {} ({}); {} is only possible in state {}",
                e.current.as_str(),
                e.current.label_zh(),
                e.attempted.label_en(),
                en_sources.join(", "),
            ),
        )
    }
}

/// Applies a transition to a case in state `current` (状态机): the new state, the ready-for-results mark,
/// nothing (an event already reflected), or a [`TransitionError`] naming the current state.
pub fn transition(current: CaseStatus, cmd: &Transition) -> Result<Outcome, TransitionError> {
    use CaseStatus::*;
    let moved = match (current, cmd) {
        (Consulting, Transition::Accept) => Outcome::Moved(Accepted),
        (Accepted, Transition::PlanPublished) => Outcome::Moved(Planned),
        (Planned, Transition::TaskDispatched) => Outcome::Moved(InProgress),
        (InProgress, Transition::AllTasksConcluded) => Outcome::MarkedReadyForResults,
        (InProgress, Transition::DeliverResults) => Outcome::Moved(ResultsDelivered),
        (ResultsDelivered, Transition::Archive) => Outcome::Moved(Archived),
        (Consulting | Accepted | Planned | InProgress | ResultsDelivered, Transition::Terminate { .. }) => {
            Outcome::Moved(Terminated)
        }
        (state, event) if event.no_op_states().contains(&state) => Outcome::Unchanged,
        _ => return Err(TransitionError { current, attempted: *cmd }),
    };
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use super::*;
    use CaseStatus::*;

    const STATES: [CaseStatus; 7] = [Consulting, Accepted, Planned, InProgress, ResultsDelivered, Archived, Terminated];

    /// The whole table, written out: `Ok(outcome)` or `Err(())` for each (state, transition).
    /// Columns: Accept, PlanPublished, TaskDispatched, AllTasksConcluded, DeliverResults, Archive, Terminate.
    fn expected(state: CaseStatus) -> [Result<Outcome, ()>; 7] {
        use Outcome::{MarkedReadyForResults as Ready, Moved, Unchanged as Same};
        let no = Err(());
        match state {
            Consulting => [Ok(Moved(Accepted)), no, no, no, no, no, Ok(Moved(Terminated))],
            Accepted => [no, Ok(Moved(Planned)), no, no, no, no, Ok(Moved(Terminated))],
            Planned => [no, Ok(Same), Ok(Moved(InProgress)), no, no, no, Ok(Moved(Terminated))],
            InProgress => [no, Ok(Same), Ok(Same), Ok(Ready), Ok(Moved(ResultsDelivered)), no, Ok(Moved(Terminated))],
            ResultsDelivered => [no, Ok(Same), Ok(Same), Ok(Same), no, Ok(Moved(Archived)), Ok(Moved(Terminated))],
            Archived => [no, Ok(Same), Ok(Same), Ok(Same), no, no, no],
            Terminated => [no, Ok(Same), Ok(Same), Ok(Same), no, no, no],
        }
    }

    #[test]
    fn every_state_and_transition_pair() {
        let mut legal = 0;
        for state in STATES {
            for (t, want) in Transition::ALL.iter().zip(expected(state)) {
                let got = transition(state, t);
                match want {
                    Ok(outcome) => {
                        legal += 1;
                        assert_eq!(got, Ok(outcome), "{} on {}", t.as_str(), state.as_str());
                    }
                    Err(()) => {
                        let e = got.expect_err(&format!("{} on {} must fail", t.as_str(), state.as_str()));
                        assert_eq!(e, TransitionError { current: state, attempted: *t });
                        let p = Problem::from(e);
                        assert_eq!(p.status, 409);
                        let (zh, en) = (p.detail.unwrap(), p.detail_en.unwrap());
                        assert!(zh.contains(&format!("当前状态为“{}”（{}）", state.label_zh(), state.as_str())));
                        assert!(en.contains(&format!("the case is in state {}", state.as_str())), "{en}");
                        assert!(zh.contains(t.label_zh()) && en.contains(t.label_en()));
                        assert!(e.to_string().contains(state.as_str()));
                    }
                }
            }
        }
        assert_eq!(legal, 2 + 2 + 3 + 5 + 5 + 3 + 3); // 23 of the 49 pairs act or are no-ops
    }

    #[test]
    fn every_termination_reason_terminates_every_open_state() {
        for &reason in TerminationReason::ALL {
            let t = Transition::Terminate { reason };
            for state in [Consulting, Accepted, Planned, InProgress, ResultsDelivered] {
                assert_eq!(transition(state, &t), Ok(Outcome::Moved(Terminated)));
            }
            for state in [Archived, Terminated] {
                assert_eq!(transition(state, &t), Err(TransitionError { current: state, attempted: t }));
            }
        }
    }

    #[test]
    fn sources_and_no_op_states_agree_with_the_machine() {
        for t in Transition::ALL {
            for state in STATES {
                let got = transition(state, &t);
                assert_eq!(
                    t.sources().contains(&state),
                    matches!(got, Ok(Outcome::Moved(_) | Outcome::MarkedReadyForResults)),
                    "{} on {}",
                    t.as_str(),
                    state.as_str()
                );
                assert_eq!(t.no_op_states().contains(&state), got == Ok(Outcome::Unchanged));
            }
            assert!(t.is_event() || t.no_op_states().is_empty(), "commands are never silently ignored");
        }
    }

    #[test]
    fn the_happy_path_runs_from_consulting_to_archived() {
        let steps = [
            Transition::Accept,
            Transition::PlanPublished,
            Transition::TaskDispatched,
            Transition::AllTasksConcluded,
            Transition::DeliverResults,
            Transition::Archive,
        ];
        let mut state = Consulting;
        let mut visited = vec![state];
        for t in steps {
            state = transition(state, &t).unwrap().status_after(state);
            visited.push(state);
        }
        assert_eq!(visited, [Consulting, Accepted, Planned, InProgress, InProgress, ResultsDelivered, Archived]);
    }

    #[test]
    fn replayed_events_change_nothing() {
        for (event, state) in [
            (Transition::PlanPublished, Accepted),
            (Transition::TaskDispatched, Planned),
            (Transition::AllTasksConcluded, InProgress),
        ] {
            let first = transition(state, &event).unwrap();
            assert_ne!(first, Outcome::Unchanged);
            let after = first.status_after(state);
            // Delivered again, and again: never an error, never a further move.
            for _ in 0..3 {
                let again = transition(after, &event).unwrap();
                assert!(matches!(again, Outcome::Unchanged | Outcome::MarkedReadyForResults), "{again:?}");
                assert_eq!(again.status_after(after), after);
            }
        }
    }

    #[test]
    fn late_events_after_termination_do_not_revive_the_case() {
        for event in [Transition::PlanPublished, Transition::TaskDispatched, Transition::AllTasksConcluded] {
            assert_eq!(transition(Terminated, &event), Ok(Outcome::Unchanged));
            assert_eq!(transition(Archived, &event), Ok(Outcome::Unchanged));
        }
    }

    #[test]
    fn early_events_are_errors_so_they_are_redelivered() {
        assert!(transition(Consulting, &Transition::PlanPublished).is_err());
        assert!(transition(Accepted, &Transition::TaskDispatched).is_err());
        assert!(transition(Planned, &Transition::AllTasksConcluded).is_err());
    }

    #[test]
    fn repeated_commands_are_errors() {
        assert!(transition(Accepted, &Transition::Accept).is_err());
        assert!(transition(ResultsDelivered, &Transition::DeliverResults).is_err());
        assert!(transition(Archived, &Transition::Archive).is_err());
        let t = Transition::Terminate { reason: TerminationReason::ApplicantRequest };
        assert!(transition(Terminated, &t).is_err());
    }

    #[test]
    fn conflict_problem_names_the_state_and_where_the_step_belongs() {
        let p = Problem::from(TransitionError { current: Accepted, attempted: Transition::Archive });
        assert_eq!(p.status, 409);
        assert_eq!(p.type_, "/problems/conflict");
        assert_eq!(
            p.detail.as_deref(),
            Some(
                "案件当前状态为“已受理”（accepted），不能进行“资料归档”；该操作仅适用于“已告知结果”（results_delivered）状态"
            )
        );
        assert_eq!(
            p.detail_en.as_deref(),
            Some("the case is in state accepted (已受理); archiving is only possible in state results_delivered")
        );
        let t = Transition::Terminate { reason: TerminationReason::Other };
        let p = Problem::from(TransitionError { current: Archived, attempted: t });
        assert!(p.detail_en.unwrap().ends_with(
            "termination is only possible in state consulting, accepted, planned, in_progress, results_delivered"
        ));
    }

    #[test]
    fn termination_reasons_follow_clause_7_8() {
        let letters: String = TerminationReason::ALL.iter().map(|r| r.letter()).collect();
        assert_eq!(letters, "abcdef");
        let spec =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/spec/DB3716-T2-2022.txt"))
                .ok();
        for &r in TerminationReason::ALL {
            assert_eq!(TerminationReason::parse(r.as_str()), Some(r));
            assert_eq!(TerminationReason::from_letter(r.letter()), Some(r));
            assert_eq!(TerminationReason::from_letter(r.letter().to_ascii_uppercase()), Some(r));
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
            assert_eq!(serde_json::from_value::<TerminationReason>(r.as_str().into()).unwrap(), r);
            assert!(!r.label_en().is_empty());
            // Where the standard's text is at hand, each label is its item, word for word.
            if let Some(spec) = &spec {
                assert!(spec.contains(&format!("{}) {}。", r.letter(), r.label_zh())), "{}", r.label_zh());
            }
        }
        assert_eq!(TerminationReason::from_letter('g'), None);
        assert_eq!(TerminationReason::parse("bored"), None);
        assert!(serde_json::from_value::<TerminationReason>("ApplicantRequest".into()).is_err());
    }
}
