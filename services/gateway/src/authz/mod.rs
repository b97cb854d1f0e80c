//! Authorization (授权): the one helper every handler calls before it reads or writes anything.
//!
//! Least privilege: an applicant sees only their own cases; specialists and office admins act
//! within their office's jurisdiction (the city office over every county); supervisors read
//! everything; a responsible unit's officer reaches cases only through the tasks routed to the
//! unit; an integrator reads the bus, not the API.
//!
//! Routed tasks (推送事项): the unit's officer and the staff of the unit's office work them; the case's
//! specialist (or an admin of the accepting office) follows them up; in linked handling (联动帮办代办)
//! the unit's office acknowledges and reports back, and both offices see the task.
//!
//! Deadlines (限时办结): a task's clock is read like the task; the people who work the task pause it for
//! a statutory exclusion; only an office admin of the unit's office (or of the city) approves an
//! extension. Supervision notices (督办单) are read within the same reach, answered by the unit's
//! officers or the admins of its office, decided by supervisors. Problems are recorded by the case's
//! specialist or the accepting office's staff; consultations (会商/联席会议) by office admins.
//! Lists and monitoring are scoped by the gateway: an officer sees their unit, a county office its own,
//! the city office and supervisors everything.
//!
//! Notifications (短信与站内通知): everyone but an integrator reads their own in-app inbox, whose owners
//! the gateway derives from the token ([`inbox_owners`]); the SMS log is the offices' staff's and the
//! supervisors', scoped like the deadline lists ([`scope_messages`]).
//!
//! Evaluation (好差评 §8.2): only an applicant rates in their own name (the `applicant` claim); the window
//! staff enter a rating with the applicant's one-time code. Ratings are read by whom they concern
//! ([`sees_evaluation`], [`scope_evaluations`]): the applicant, the case's specialist, the unit's officers,
//! the office (a county its own, the city everything) and supervisors. A bad review's rectification
//! (差评整改) is worked by its assignee ([`works_rectification`]) and rated by the applicant; appeals (申诉)
//! are filed by the staff concerned ([`may_appeal`]) and decided by office admins — never by the one who filed
//! the appeal nor the specialist it rates (回避; evaluation enforces it, knowing who filed); the assessment (考核)
//! and statistics are the office admins' and the supervisors'.
//!
//! The register (服务对象名录) is scoped like the ledger: a county's staff list their own office's applicants
//!
//! The folder: `actions` is the table — for every action the roles that may take it, whether it reads or
//! writes, and its refusal text; one file per resource holds the checks that depend on what is acted on
//! (`cases`, `tasks`, `reference` for the calendar, catalog and directories, `lists` for the scoped
//! lists, `notifications`, `evaluations`); [`events`] applies the same rules to the live stream's events.

mod actions;
mod cases;
mod evaluations;
pub mod events;
mod lists;
mod notifications;
mod reference;
mod tasks;

#[cfg(test)]
mod tests;

use bangban_contracts::office::CITY_OFFICE;
use bangban_platform::problem::Problem;

use crate::auth::{Principal, Role};

pub use actions::{Access, Action, Refusal, Rule, Text};
pub use evaluations::{
    authorize_appeal, authorize_evaluation, authorize_rectification, may_appeal, rating_applicant, scope_evaluations,
    scope_rectifications, sees_evaluation, sees_rectification, works_rectification,
};
pub use lists::{scope_applicants, scope_deadline};
pub use notifications::{inbox_owners, scope_messages};
pub use tasks::{scope_task_list, visible_case_tasks};

/// What it is done to.
#[derive(Debug, Clone, Copy)]
pub enum Resource<'a> {
    /// An office's ledger or register, for creating or listing.
    Office(&'a str),
    /// One case: its accepting office, its applicant's id, its specialist and the responsible units
    /// its tasks went to.
    Case { office: &'a str, applicant: &'a str, specialist: &'a str, units: &'a [String] },
    /// The directory of offices and staff, the same for everyone allowed to read it.
    Directory,
    /// Reference data kept once for the whole city (全市统一): the working-day calendar and the
    /// approval-item catalog. Everyone allowed reads it; only the city office changes it.
    CityWide,
    /// One routed task: its unit, the unit's office, the accepting office of its case, the case's
    /// specialist and applicant.
    Task { unit: &'a str, unit_office: &'a str, case_office: &'a str, specialist: &'a str, applicant: &'a str },
}

/// Does `principal`'s office reach `office`? Its own, or every office for the city office.
fn in_jurisdiction(principal: &Principal, office: &str) -> bool {
    principal.office == office || principal.office == CITY_OFFICE
}

/// May `principal`'s role take `action` at all? 403 naming the roles that may, otherwise. Handlers call
/// it before looking anything up when the answer cannot depend on what they would find.
pub fn authorize_role(principal: &Principal, action: Action) -> Result<(), Problem> {
    let allowed_roles = action.rule().roles;
    if allowed_roles.contains(&principal.role) {
        return Ok(());
    }
    let names: Vec<&str> = allowed_roles.iter().map(|r| r.label_zh()).collect();
    let names_en: Vec<&str> = allowed_roles.iter().map(|r| r.as_str()).collect();
    Err(Problem::forbidden(
        format!("角色“{}”无权执行此操作；需要：{}", principal.role.label_zh(), names.join("、")),
        format!("role {} may not do this; it needs one of: {}", principal.role.as_str(), names_en.join(", ")),
    ))
}

/// Allows or refuses. A role that may never take the action gets 403; a principal whose role may
/// act but not on this case gets 404, so that the existence of others' cases does not leak.
///
/// On a task, someone who may read it but not take this step gets 403; someone who may not even read
/// it (an officer of another unit, another county's staff) gets 404.
pub fn authorize(principal: &Principal, action: Action, resource: Resource<'_>) -> Result<(), Problem> {
    authorize_role(principal, action)?;
    let ok = match resource {
        Resource::Task { .. } => tasks::allowed(principal, action, resource),
        Resource::Directory => true,
        Resource::CityWide => reference::city_wide_allowed(principal, action),
        Resource::Case { office, applicant, specialist, units } => {
            cases::case_allowed(principal, action, office, applicant, specialist, units)
        }
        Resource::Office(office) => cases::office_allowed(principal, action, office),
    };
    if ok {
        return Ok(());
    }
    match resource {
        Resource::Task { .. } => Err(tasks::refusal(principal, action, resource)),
        Resource::Case { office, .. } => Err(cases::case_refusal(principal, action, office)),
        Resource::CityWide => Err(reference::city_wide_refusal(action)),
        Resource::Directory => Err(Problem::forbidden("无权查看", "you may not read this")),
        Resource::Office(office) => Err(cases::office_refusal(office)),
    }
}
