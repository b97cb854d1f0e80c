//! Routed tasks (推送事项) and what hangs on them — their clocks, supervision notices and problems: the unit's
//! officer and the staff of the unit's office work a task; the case's specialist (or an admin of the accepting
//! office) follows it up; in linked handling the unit's office acknowledges and reports back. Task lists (待办箱)
//! are forced by the gateway to what the caller may see.

use bangban_contracts::{office::CITY_OFFICE, routing::ListTasks};

use super::{
    Action, Principal, Problem, Refusal, Resource, Role, actions::SPECIALISTS_AND_ADMINS, authorize, authorize_role,
    in_jurisdiction,
};

/// Whether `principal` (whose role may take `action`) may take it on the task.
pub(super) fn allowed(principal: &Principal, action: Action, resource: Resource<'_>) -> bool {
    let Resource::Task { unit, unit_office, case_office, specialist, applicant } = resource else {
        return false;
    };
    let own_unit = principal.unit.as_deref() == Some(unit);
    let staff = SPECIALISTS_AND_ADMINS.contains(&principal.role);
    match action {
        // A notice is read like its task, by everyone but the applicant (kept out by the role).
        Action::ReadTask | Action::ReadSupervision => match principal.role {
            Role::Supervisor => true,
            Role::Applicant => principal.applicant.as_deref() == Some(applicant),
            Role::Officer => own_unit,
            _ => {
                staff
                    && (principal.sub == specialist
                        || in_jurisdiction(principal, unit_office)
                        || in_jurisdiction(principal, case_office))
            }
        },
        // The unit's officer, or the staff of the unit's office acting for it (the city office for city units only).
        Action::WorkTask => {
            if principal.role == Role::Officer {
                own_unit
            } else {
                staff && principal.office == unit_office
            }
        }
        // The case's specialist, or an admin of the accepting office (the city's admin for every case).
        Action::FollowTask => {
            principal.sub == specialist
                || (principal.role == Role::OfficeAdmin && in_jurisdiction(principal, case_office))
        }
        // The linked office: the staff of the unit's office.
        Action::LinkTask => staff && principal.office == unit_office,
        // The approver (批准人): an admin of the unit's office, or of the city office for every unit.
        Action::ExtendClock => principal.role == Role::OfficeAdmin && in_jurisdiction(principal, unit_office),
        // The unit answers for itself: its officers, or the admins of its office.
        Action::AnswerSupervision => {
            if principal.role == Role::Officer {
                own_unit
            } else {
                principal.role == Role::OfficeAdmin && principal.office == unit_office
            }
        }
        Action::DecideSupervision => principal.role == Role::Supervisor,
        // The case side records what blocks a task: its specialist, or the staff of the accepting office.
        Action::RecordProblem => principal.sub == specialist || (staff && in_jurisdiction(principal, case_office)),
        // … and solves it or takes it to the office: the specialist, or an admin of the accepting office.
        Action::HandleProblem => {
            principal.sub == specialist
                || (principal.role == Role::OfficeAdmin && in_jurisdiction(principal, case_office))
        }
        _ => false,
    }
}

/// The refusal of an action the task does not allow `principal`: 404 for whoever may not even read it,
/// otherwise the action's refusal (403).
pub(super) fn refusal(principal: &Principal, action: Action, resource: Resource<'_>) -> Problem {
    let Resource::Task { unit, .. } = resource else {
        return Problem::not_found("事项不存在", "task not found");
    };
    if !allowed(principal, Action::ReadTask, resource) {
        return Problem::not_found("事项不存在", "task not found");
    }
    match action.rule().refusal {
        Refusal::Task(text) => Problem::forbidden(
            text.zh.replace("{city}", CITY_OFFICE).replace("{unit}", unit),
            text.en.replace("{city}", CITY_OFFICE).replace("{unit}", unit),
        ),
        _ => Problem::forbidden("无权处理此事项", "you may not act on this task"),
    }
}

/// The filter of a task list (待办箱) `principal` may run: the gateway forces it, never trusting the
/// client. An officer sees their own unit's tasks (asking for another unit is 403); the staff and
/// supervisors of a county office see the tasks of their office's units (asking for another office is
/// 403); the city office's staff see everything, filtered as asked. Applicants, experts and
/// integrators get 403.
pub fn scope_task_list(principal: &Principal, mut filter: ListTasks) -> Result<ListTasks, Problem> {
    authorize_role(principal, Action::ListTasks)?;
    if principal.role == Role::Officer {
        let Some(own) = principal.unit.clone() else {
            return Err(Problem::forbidden("令牌未指明所属单位", "the token names no unit"));
        };
        if let Some(asked) = filter.unit.as_deref()
            && asked != own
        {
            return Err(Problem::forbidden(
                format!("只能查看本单位（{own}）的待办事项，无权查看 {asked}"),
                format!("you may list the tasks of your own unit ({own}) only, not of {asked}"),
            ));
        }
        filter.unit = Some(own);
        return Ok(filter);
    }
    if principal.office == CITY_OFFICE {
        return Ok(filter);
    }
    if let Some(asked) = filter.office.as_deref()
        && asked != principal.office
    {
        return Err(Problem::forbidden(
            format!("只能查看本机构（{}）所属单位的待办事项，无权查看 {asked}", principal.office),
            format!("you may list the tasks of your own office's units ({}) only, not of {asked}", principal.office),
        ));
    }
    filter.office = Some(principal.office.clone());
    Ok(filter)
}

/// Which of a case's tasks `principal` may see: every one when they may read the case; otherwise
/// those they may read one by one (an officer its unit's, a linked office its own units'). Someone who
/// sees none learns nothing: 404, as for the case (403 for a role that never reads tasks).
pub fn visible_case_tasks(
    principal: &Principal,
    case: Resource<'_>,
    tasks: &[Resource<'_>],
) -> Result<Vec<bool>, Problem> {
    if authorize(principal, Action::ReadCase, case).is_ok() {
        return Ok(vec![true; tasks.len()]);
    }
    authorize_role(principal, Action::ReadTask)?;
    let visible: Vec<bool> = tasks.iter().map(|t| allowed(principal, Action::ReadTask, *t)).collect();
    if visible.contains(&true) { Ok(visible) } else { Err(Problem::not_found("案件不存在", "case not found")) }
}
