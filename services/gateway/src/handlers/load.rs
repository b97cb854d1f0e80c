//! Loading what a request acts on and authorizing the principal for an action on it, in one step: a case
//! ([`case`]), a routed task ([`task`]) and what hangs on a task — its clock ([`clock`]), a supervision notice
//! ([`notice`]), a problem (through [`on_task`]) — and the tasks or clocks of a case one may see
//! ([`visible_on_case`]). Every handler that acts on one of them goes through here, so the order of the checks
//! and the problems they give (400 for a malformed id, 403 for a role that may never act, 404 instead of 403
//! for whoever may not even see it) are written once.
//!
//! These are functions, not extractors: most routes read their JSON body first (a malformed body is 400/415/422
//! before the case is looked up), and the console calls the handlers directly.

use std::future::Future;

use bangban_contracts::{
    deadline::{self, ClockView, GetClock, GetSupervision, SupervisionSummary, SupervisionView},
    intake::{self, CaseView, GetCase},
    routing::{self, GetTask, TaskView},
};
use bangban_platform::problem::Problem;
use uuid::Uuid;

use crate::{
    AppState,
    auth::Principal,
    authz::{Action, Resource, authorize, authorize_role, visible_case_tasks},
};

/// An id from the path: 400 naming `id` when it is no UUID (`{what_zh}编号须为 UUID`).
pub(crate) fn parse_id(what_zh: &str, what_en: &str, id: &str) -> Result<Uuid, Problem> {
    Uuid::parse_str(id).map_err(|_| {
        Problem::malformed(
            Some("id".into()),
            format!("{what_zh}编号须为 UUID"),
            format!("the {what_en} id must be a UUID"),
        )
    })
}

/// When a role that may never take the action is refused (403 naming the roles that may). The routes of a
/// case differ on purpose, and each keeps its order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RoleCheck {
    /// Before even the id is read: such a role gets 403 for a malformed id too.
    First,
    /// Once the id is read, before anything is looked up: a malformed id is 400, a missing case 403.
    BeforeLookup,
    /// Only with what was found: a case that does not exist is 404 for every role.
    WithResource,
}

/// The case `id` as read (`intake`), checking the role where `role` says; not yet authorized for the case.
async fn read_case(
    state: &AppState,
    principal: &Principal,
    id: &str,
    action: Action,
    role: RoleCheck,
) -> Result<CaseView, Problem> {
    if role == RoleCheck::First {
        authorize_role(principal, action)?;
    }
    let id = parse_id("案件", "case", id)?;
    if role == RoleCheck::BeforeLookup {
        authorize_role(principal, action)?;
    }
    state.call::<intake::ops::CaseGet>(&GetCase { id }).await
}

/// The resource a case is to [`authorize`]; `applicant` is the case's applicant's id as text.
pub(crate) fn case_resource<'a>(case: &'a CaseView, applicant: &'a str) -> Resource<'a> {
    Resource::Case { office: &case.office, applicant, specialist: &case.specialist_id, units: &case.units }
}

/// The case `id`, once `principal` may take `action` on it: 400 for a malformed id, the service's 404 for a case
/// that does not exist, 404 for one they may not see, 403 for one they see but may not act on (and, where `role`
/// says, 403 earlier for a role that never takes the action).
pub(crate) async fn case(
    state: &AppState,
    principal: &Principal,
    id: &str,
    action: Action,
    role: RoleCheck,
) -> Result<CaseView, Problem> {
    let case = read_case(state, principal, id, action, role).await?;
    let applicant = case.applicant.id.to_string();
    authorize(principal, action, case_resource(&case, &applicant))?;
    Ok(case)
}

/// The case `id` whose tasks (or their clocks) are listed, not authorized as a whole: [`visible_on_case`] decides
/// which of them `principal` sees. With [`RoleCheck::BeforeLookup`], a role that reads no tasks gets 403 first.
pub(crate) async fn case_of_tasks(
    state: &AppState,
    principal: &Principal,
    id: &str,
    role: RoleCheck,
) -> Result<CaseView, Problem> {
    read_case(state, principal, id, Action::ReadTask, role).await
}

/// Who a routed task concerns, as [`Resource::Task`] needs them: a task, its clock, a supervision notice…
pub(crate) trait OnTask {
    fn parties(&self) -> Parties<'_>;
}

/// The parties of a routed task: its unit, the unit's office, the accepting office of its case, the case's
/// specialist and applicant (both empty where the thing does not say).
pub(crate) struct Parties<'a> {
    pub unit: &'a str,
    pub unit_office: &'a str,
    pub case_office: &'a str,
    pub specialist: &'a str,
    pub applicant: String,
}

impl Parties<'_> {
    pub(crate) fn resource(&self) -> Resource<'_> {
        Resource::Task {
            unit: self.unit,
            unit_office: self.unit_office,
            case_office: self.case_office,
            specialist: self.specialist,
            applicant: &self.applicant,
        }
    }
}

impl OnTask for TaskView {
    fn parties(&self) -> Parties<'_> {
        Parties {
            unit: &self.unit_code,
            unit_office: &self.unit_office,
            case_office: &self.office,
            specialist: &self.specialist_id,
            applicant: self.applicant_id.to_string(),
        }
    }
}

impl OnTask for ClockView {
    fn parties(&self) -> Parties<'_> {
        Parties {
            unit: &self.unit_code,
            unit_office: &self.unit_office,
            case_office: &self.office,
            specialist: &self.specialist_id,
            applicant: self.applicant_id.to_string(),
        }
    }
}

/// A notice names neither the specialist nor the applicant.
impl OnTask for SupervisionSummary {
    fn parties(&self) -> Parties<'_> {
        Parties {
            unit: &self.unit_code,
            unit_office: &self.unit_office,
            case_office: &self.office,
            specialist: "",
            applicant: String::new(),
        }
    }
}

impl OnTask for SupervisionView {
    fn parties(&self) -> Parties<'_> {
        self.notice.parties()
    }
}

/// What hangs on a routed task, once `principal` may take `action` on it: the id read (400 naming it as `what`,
/// e.g. `("事项", "task")`), a role that never takes the action refused before anything is looked up (403:
/// nothing leaks), then `fetch`ed and authorized — 404 for whoever may not even read the task, 403 for whoever
/// reads it but may not act. `not_found`, when given, is the 404 the module gives instead of the generic one.
pub(crate) async fn on_task<T, F>(
    principal: &Principal,
    action: Action,
    id: &str,
    what: (&str, &str),
    fetch: impl FnOnce(Uuid) -> F,
    not_found: Option<fn(Uuid) -> Problem>,
) -> Result<T, Problem>
where
    T: OnTask,
    F: Future<Output = Result<T, Problem>>,
{
    let id = parse_id(what.0, what.1, id)?;
    authorize_role(principal, action)?;
    let found = fetch(id).await?;
    authorize(principal, action, found.parties().resource()).map_err(|p| match not_found {
        Some(not_found) if p.status == 404 => not_found(id),
        _ => p,
    })?;
    Ok(found)
}

/// The task `id` `principal` may take `action` on (404 for one they may not see, 403 for one they see but
/// may not act on).
pub(crate) async fn task(
    state: &AppState,
    principal: &Principal,
    id: &str,
    action: Action,
) -> Result<TaskView, Problem> {
    let fetch = |id| async move { state.call::<routing::ops::TaskGet>(&GetTask { id }).await };
    on_task(principal, action, id, ("事项", "task"), fetch, None).await
}

/// The clock of the task `id`, checked like the task.
pub(crate) async fn clock(
    state: &AppState,
    principal: &Principal,
    id: &str,
    action: Action,
) -> Result<ClockView, Problem> {
    let fetch = |task_id| async move { state.call::<deadline::ops::ClockGet>(&GetClock { task_id }).await };
    on_task(principal, action, id, ("事项", "task"), fetch, None).await
}

/// The supervision notice `id`, checked like its task; one out of reach is `督办单 {id} 不存在`.
pub(crate) async fn notice(
    state: &AppState,
    principal: &Principal,
    id: &str,
    action: Action,
) -> Result<SupervisionView, Problem> {
    let fetch = |id| async move { state.call::<deadline::ops::SupervisionGet>(&GetSupervision { id }).await };
    on_task(principal, action, id, ("督办单", "supervision notice"), fetch, Some(no_notice)).await
}

fn no_notice(id: Uuid) -> Problem {
    Problem::not_found(format!("督办单 {id} 不存在"), format!("supervision notice {id} does not exist"))
}

/// Which of `case`'s tasks (or their clocks) `principal` may see: every one when they may read the case,
/// otherwise those they may read one by one; 404 when none (see [`visible_case_tasks`]).
pub(crate) fn visible_on_case<T: OnTask>(
    principal: &Principal,
    case: &CaseView,
    items: Vec<T>,
) -> Result<Vec<T>, Problem> {
    let visible = {
        let applicant = case.applicant.id.to_string();
        let parties: Vec<Parties<'_>> = items.iter().map(OnTask::parties).collect();
        let resources: Vec<Resource<'_>> = parties.iter().map(Parties::resource).collect();
        visible_case_tasks(principal, case_resource(case, &applicant), &resources)?
    };
    Ok(items.into_iter().zip(visible).filter_map(|(t, seen)| seen.then_some(t)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_malformed_id_is_400_naming_it() {
        let p = parse_id("案件", "case", "nope").unwrap_err();
        assert_eq!(p.status, 400);
        assert_eq!(p.detail.as_deref(), Some("案件编号须为 UUID"));
        assert!(parse_id("事项", "task", &Uuid::nil().to_string()).is_ok());
    }
}
