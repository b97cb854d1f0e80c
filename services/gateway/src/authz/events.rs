//! The live stream's events (实时推送): who may be shown a bus event is decided by the rules for reading
//! what it is about — the action of [`read_action`], judged on the event's payload by [`admits`] with the same
//! checks the REST handlers apply.

use bangban_contracts::{
    EventType,
    evaluation::{Assignee, EvaluationSubmitted, ListRectifications, RectificationEvent},
    subjects::EventSubject,
};
use serde_json::Value;

use super::{
    Action, Principal, Resource, Role, authorize, scope_deadline, scope_messages, scope_rectifications,
    sees_evaluation, works_rectification,
};

/// The action whose rules decide who reads an event of type `t`; `None` for a kind of event the gateway does
/// not know how to judge (nobody but an integrator is shown it).
pub fn read_action(t: EventType, role: Role) -> Option<Action> {
    Some(match (t.aggregate, t.event) {
        ("consultation" | "joint_meeting", _) => Action::ReadConsultation,
        ("case" | "materials" | "plan", _) => Action::ReadCase,
        ("calendar", _) => Action::ReadCalendar,
        ("task", _) => Action::ReadTask,
        ("supervision", _) => Action::ReadSupervision,
        ("problem", _) => Action::ReadProblems,
        ("meeting", _) => Action::ReadMeetings,
        ("sms", _) => Action::ReadMessages,
        ("evaluation", "invited") => Action::ReadInvitations,
        ("evaluation", _) => Action::ReadEvaluations,
        // The rating's applicant reads the rectification of their bad review, to rate the fix.
        ("rectification", _) if role == Role::Applicant => Action::RateRectification,
        ("rectification", _) => Action::ReadRectifications,
        ("appeal", _) => Action::ReadAppeals,
        _ => return None,
    })
}

fn text<'a>(data: &'a Value, field: &str) -> Option<&'a str> {
    data.get(field).and_then(Value::as_str)
}

/// Whether a member of staff, an officer, a supervisor or an integrator may see the event — `t` on `subject`
/// with `data` — by the rules of [`super`] for reading what the event is about. Applicants are judged
/// by their cases instead (the stream's `applicant_claim`).
pub fn admits(principal: &Principal, t: EventType, subject: &EventSubject, data: &Value) -> bool {
    if principal.role == Role::Integrator {
        // Integrators read the bus by design (their NATS account reads `bb.evt.>`).
        return true;
    }
    if principal.role == Role::Applicant {
        return false;
    }
    let Some(action) = read_action(t, principal.role) else { return false };
    let allowed = |resource: Resource<'_>| authorize(principal, action, resource).is_ok();
    let office = text(data, "office");
    let task = |specialist: &str, applicant: &str| -> bool {
        match (text(data, "unit_code"), text(data, "unit_office"), office) {
            (Some(unit), Some(unit_office), Some(case_office)) => {
                allowed(Resource::Task { unit, unit_office, case_office, specialist, applicant })
            }
            _ => false,
        }
    };
    // The office and unit a list of this kind is forced to for the caller (`None`: every one); no refusal is shown.
    let forced = || scope_deadline(principal, action, ("", ""), None, None).ok();
    match action {
        Action::ReadConsultation => office.is_some_and(|o| allowed(Resource::Office(o))),
        Action::ReadCase | Action::ReadInvitations => office.is_some_and(|office| {
            allowed(Resource::Case {
                office,
                applicant: text(data, "applicant_id").unwrap_or_default(),
                specialist: text(data, "specialist_id").unwrap_or_default(),
                units: &[],
            })
        }),
        Action::ReadCalendar => allowed(Resource::CityWide),
        Action::ReadTask => {
            task(text(data, "specialist_id").unwrap_or_default(), text(data, "applicant_id").unwrap_or_default())
        }
        // A notice is read like its task, reached through the offices and the unit (as the supervision routes do).
        Action::ReadSupervision => task("", ""),
        Action::ReadProblems => forced().is_some_and(|(o, u)| {
            o.is_none_or(|o| office == Some(o.as_str()) || text(data, "unit_office") == Some(o.as_str()))
                && u.is_none_or(|u| text(data, "unit_code") == Some(u.as_str()))
        }),
        Action::ReadMeetings | Action::ReadAppeals => {
            forced().is_some_and(|(o, _)| o.is_none_or(|o| office == Some(o.as_str())))
        }
        Action::ReadMessages => scope_messages(principal, None).is_ok_and(|o| o.is_none_or(|o| subject.office() == o)),
        Action::ReadEvaluations => serde_json::from_value::<EvaluationSubmitted>(data.clone())
            .is_ok_and(|e| sees_evaluation(principal, &e.evaluation)),
        Action::ReadRectifications => {
            let (Ok(scope), Ok(event)) = (
                scope_rectifications(principal, ListRectifications::default()),
                serde_json::from_value::<RectificationEvent>(data.clone()),
            ) else {
                return false;
            };
            let r = &event.rectification;
            let (unit, unit_office, specialist) = match &r.assignee {
                Assignee::Unit { unit_code, unit_office } => (Some(unit_code), Some(unit_office), None),
                Assignee::Specialist { specialist_id, .. } => (None, None, Some(specialist_id)),
            };
            works_rectification(principal, r)
                || (scope.office.as_ref().is_none_or(|o| &r.office == o || unit_office == Some(o))
                    && scope.unit.as_ref().is_none_or(|u| unit == Some(u))
                    && scope.specialist.as_ref().is_none_or(|s| specialist == Some(s)))
        }
        _ => false,
    }
}
