//! Cases and offices' ledgers (案件与台账): an applicant reaches their own cases; a unit's officer the cases
//! their unit has tasks of; the offices' staff those of their jurisdiction; supervisors read them all. A case's
//! personal data in full and its plan are its specialist's or an admin's of its office.

use super::{Action, Principal, Problem, Refusal, Role, in_jurisdiction};

/// Whether `principal` (whose role may take `action`) may take it on the case.
pub(super) fn case_allowed(
    principal: &Principal,
    action: Action,
    office: &str,
    applicant: &str,
    specialist: &str,
    units: &[String],
) -> bool {
    match principal.role {
        Role::Supervisor => action.is_read(),
        Role::Applicant => principal.applicant.as_deref() == Some(applicant),
        Role::Officer => principal.unit.as_ref().is_some_and(|u| units.contains(u)),
        // Full personal data: the case's own specialist, or an admin of its office.
        role if matches!(action, Action::RevealPersonalData | Action::EditPlan) => {
            (role == Role::OfficeAdmin && in_jurisdiction(principal, office)) || principal.sub == specialist
        }
        _ => in_jurisdiction(principal, office),
    }
}

/// Whether `principal` (whose role may take `action`) may take it for the office's ledger or register.
pub(super) fn office_allowed(principal: &Principal, action: Action, office: &str) -> bool {
    match principal.role {
        Role::Supervisor => action.is_read(),
        Role::Applicant | Role::Officer => false,
        _ => in_jurisdiction(principal, office),
    }
}

fn case_not_found() -> Problem {
    Problem::not_found("案件不存在", "case not found")
}

/// The refusal of an action the case does not allow `principal`: 404 for whoever may not read it (nothing
/// leaks), otherwise the action's refusal.
pub(super) fn case_refusal(principal: &Principal, action: Action, office: &str) -> Problem {
    if action.is_read() || matches!(principal.role, Role::Applicant | Role::Officer) {
        return case_not_found();
    }
    // Someone who may not even read the case does not learn that it exists.
    if action == Action::EditPlan && !in_jurisdiction(principal, office) {
        return case_not_found();
    }
    match action.rule().refusal {
        Refusal::Case(text) => Problem::forbidden(text.zh, text.en),
        _ => Problem::forbidden("无权处理此案件", "you may not act on this case"),
    }
}

pub(super) fn office_refusal(office: &str) -> Problem {
    Problem::forbidden(format!("无权在机构 {office} 办理"), format!("you may not act for office {office}"))
}
