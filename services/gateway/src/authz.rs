//! Authorization (授权): the one helper every handler calls before it reads or writes anything.
//!
//! Least privilege: an applicant sees only their own cases; staff act within their office's
//! jurisdiction (the city office over every county); an integrator only reads; a responsible
//! unit's officer reaches cases only through the tasks routed to the unit.

use bangban_contracts::office::CITY_OFFICE;
use bangban_platform::{
    auth::{Principal, Role},
    problem::Problem,
};

/// What is being done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Accept a new case (受理).
    CreateCase,
    /// Read one case.
    ReadCase,
    /// List the offices.
    ReadOffices,
    /// List the staff directory.
    ReadStaff,
}

/// What it is done to.
#[derive(Debug, Clone, Copy)]
pub enum Resource<'a> {
    /// An office's ledger, for creating.
    Office(&'a str),
    /// One case: its accepting office and its applicant's id.
    Case { office: &'a str, applicant: &'a str },
    /// The directory of offices and staff, the same for everyone allowed to read it.
    Directory,
}

/// Does `principal`'s office reach `office`? Its own, or every office for the city office.
fn in_jurisdiction(principal: &Principal, office: &str) -> bool {
    principal.office == office || principal.office == CITY_OFFICE
}

/// Which roles may take an action at all.
fn roles_for(action: Action) -> &'static [Role] {
    match action {
        Action::CreateCase => &[Role::Assistant, Role::Agent, Role::OfficeAdmin],
        Action::ReadCase => &[
            Role::Applicant,
            Role::Assistant,
            Role::Agent,
            Role::Expert,
            Role::OfficeAdmin,
            Role::Supervisor,
            Role::Integrator,
        ],
        Action::ReadOffices => &Role::ALL,
        // People who work cases find each other; applicants see their own specialist on the contact card.
        Action::ReadStaff => {
            &[Role::Assistant, Role::Agent, Role::Expert, Role::Officer, Role::OfficeAdmin, Role::Supervisor]
        }
    }
}

/// Allows or refuses. A role that may never take the action gets 403; a principal whose role may
/// read but not this resource gets 404, so that the existence of others' cases does not leak.
pub fn authorize(principal: &Principal, action: Action, resource: Resource<'_>) -> Result<(), Problem> {
    let allowed_roles = roles_for(action);
    if !allowed_roles.contains(&principal.role) {
        let names: Vec<&str> = allowed_roles.iter().map(|r| r.label_zh()).collect();
        let names_en: Vec<&str> = allowed_roles.iter().map(|r| r.as_str()).collect();
        return Err(Problem::forbidden(
            format!("角色“{}”无权执行此操作；需要：{}", principal.role.label_zh(), names.join("、")),
            format!("role {} may not do this; it needs one of: {}", principal.role.as_str(), names_en.join(", ")),
        ));
    }
    let ok = match (principal.role, resource) {
        (_, Resource::Directory) => true,
        (Role::Integrator, _) => true,
        (Role::Applicant, Resource::Case { applicant, .. }) => principal.applicant.as_deref() == Some(applicant),
        (Role::Applicant, Resource::Office(_)) => false,
        (_, Resource::Case { office, .. }) => in_jurisdiction(principal, office),
        (_, Resource::Office(office)) => in_jurisdiction(principal, office),
    };
    if ok {
        return Ok(());
    }
    match resource {
        Resource::Case { .. } => Err(Problem::not_found("案件不存在", "case not found")),
        Resource::Directory => Err(Problem::forbidden("无权查看", "you may not read this")),
        Resource::Office(office) => {
            Err(Problem::forbidden(format!("无权在机构 {office} 办理"), format!("you may not act for office {office}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(role: Role, office: &str, applicant: Option<&str>) -> Principal {
        Principal { sub: "u".into(), role, office: office.into(), unit: None, applicant: applicant.map(Into::into) }
    }

    const CASE: Resource<'static> = Resource::Case { office: "371625", applicant: "a-1" };

    #[test]
    fn applicant_sees_only_own_case() {
        assert!(authorize(&p(Role::Applicant, "371625", Some("a-1")), Action::ReadCase, CASE).is_ok());
        let other = authorize(&p(Role::Applicant, "371625", Some("a-2")), Action::ReadCase, CASE).unwrap_err();
        assert_eq!(other.status, 404);
        let create =
            authorize(&p(Role::Applicant, "371625", Some("a-1")), Action::CreateCase, Resource::Office("371625"));
        assert_eq!(create.unwrap_err().status, 403);
    }

    #[test]
    fn staff_act_within_jurisdiction() {
        assert!(authorize(&p(Role::Assistant, "371625", None), Action::CreateCase, Resource::Office("371625")).is_ok());
        assert!(authorize(&p(Role::Assistant, "371600", None), Action::CreateCase, Resource::Office("371625")).is_ok());
        assert_eq!(
            authorize(&p(Role::Assistant, "371681", None), Action::CreateCase, Resource::Office("371625"))
                .unwrap_err()
                .status,
            403
        );
        assert!(authorize(&p(Role::Supervisor, "371625", None), Action::ReadCase, CASE).is_ok());
        assert_eq!(authorize(&p(Role::Agent, "371681", None), Action::ReadCase, CASE).unwrap_err().status, 404);
    }

    #[test]
    fn integrator_only_reads_and_officer_has_no_case_access() {
        assert!(authorize(&p(Role::Integrator, "371600", None), Action::ReadCase, CASE).is_ok());
        assert_eq!(
            authorize(&p(Role::Integrator, "371600", None), Action::CreateCase, Resource::Office("371600"))
                .unwrap_err()
                .status,
            403
        );
        assert_eq!(authorize(&p(Role::Officer, "371625", None), Action::ReadCase, CASE).unwrap_err().status, 403);
        assert_eq!(
            authorize(&p(Role::Supervisor, "371600", None), Action::CreateCase, Resource::Office("371600"))
                .unwrap_err()
                .status,
            403
        );
    }
}
