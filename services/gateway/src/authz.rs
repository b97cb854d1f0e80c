//! Authorization (授权): the one helper every handler calls before it reads or writes anything.
//!
//! Least privilege: an applicant sees only their own cases; specialists and office admins act
//! within their office's jurisdiction (the city office over every county); supervisors read
//! everything; a responsible unit's officer reaches cases only through the tasks routed to the
//! unit; an integrator reads the bus, not the API.

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
    /// Read one case, or list cases.
    ReadCase,
    /// Change a case's specialist (§4.2.3).
    ChangeSpecialist,
    /// Terminate a case (§7.8).
    TerminateCase,
    /// Record results delivery (§7.6) and custody of materials.
    DeliverResults,
    /// File documents and archive a case (§7.7).
    ArchiveCase,
    /// Read a case's archive.
    ReadArchive,
    /// Record a consultation (对接需求, §7.1) or a joint meeting.
    RecordConsultation,
    /// Read consultations.
    ReadConsultation,
    /// Read applicants and projects (masked).
    ReadRegistry,
    /// See an applicant's personal data in full (audited).
    RevealPersonalData,
    /// List the offices.
    ReadOffices,
    /// List the staff directory.
    ReadStaff,
    /// Read the working-day calendar (工作日历) and compute with it.
    ReadCalendar,
    /// Load a year's holiday schedule or set and remove overrides (city-wide).
    ManageCalendar,
    /// Read the approval-item catalog (事项库) and its versions.
    ReadCatalog,
    /// Add, change or remove catalog items (city-wide): each edit is a new catalog version.
    EditCatalog,
    /// Change a case's service plan (代办方案): regenerate, add, change or remove items, publish.
    EditPlan,
}

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
}

/// Does `principal`'s office reach `office`? Its own, or every office for the city office.
fn in_jurisdiction(principal: &Principal, office: &str) -> bool {
    principal.office == office || principal.office == CITY_OFFICE
}

const SPECIALISTS_AND_ADMINS: &[Role] = &[Role::Assistant, Role::Agent, Role::OfficeAdmin];

/// Which roles may take an action at all.
fn roles_for(action: Action) -> &'static [Role] {
    match action {
        Action::CreateCase
        | Action::TerminateCase
        | Action::DeliverResults
        | Action::ArchiveCase
        | Action::RecordConsultation => SPECIALISTS_AND_ADMINS,
        Action::ChangeSpecialist => &[Role::OfficeAdmin],
        Action::RevealPersonalData => SPECIALISTS_AND_ADMINS,
        Action::ReadCase => &[Role::Applicant, Role::Assistant, Role::Agent, Role::OfficeAdmin, Role::Supervisor],
        // The departments involved read the archive too (§7.7).
        Action::ReadArchive => {
            &[Role::Applicant, Role::Assistant, Role::Agent, Role::OfficeAdmin, Role::Supervisor, Role::Officer]
        }
        Action::ReadConsultation | Action::ReadRegistry => {
            &[Role::Assistant, Role::Agent, Role::OfficeAdmin, Role::Supervisor]
        }
        Action::ReadOffices => &Role::ALL,
        // Applicants read the catalog too: it says what they will need.
        Action::ReadCalendar | Action::ReadCatalog => &Role::ALL,
        Action::ManageCalendar | Action::EditCatalog => &[Role::OfficeAdmin],
        Action::EditPlan => SPECIALISTS_AND_ADMINS,
        // People who work cases find each other; applicants see their own specialist on the contact card.
        Action::ReadStaff => {
            &[Role::Assistant, Role::Agent, Role::Expert, Role::Officer, Role::OfficeAdmin, Role::Supervisor]
        }
    }
}

fn is_read(action: Action) -> bool {
    matches!(
        action,
        Action::ReadCase
            | Action::ReadArchive
            | Action::ReadConsultation
            | Action::ReadRegistry
            | Action::ReadOffices
            | Action::ReadStaff
            | Action::ReadCalendar
            | Action::ReadCatalog
    )
}

/// Allows or refuses. A role that may never take the action gets 403; a principal whose role may
/// act but not on this case gets 404, so that the existence of others' cases does not leak.
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
        (_, Resource::CityWide) => is_read(action) || principal.office == CITY_OFFICE,
        (Role::Supervisor, _) => is_read(action),
        (Role::Applicant, Resource::Case { applicant, .. }) => principal.applicant.as_deref() == Some(applicant),
        (Role::Applicant, Resource::Office(_)) => false,
        (Role::Officer, Resource::Case { units, .. }) => principal.unit.as_ref().is_some_and(|u| units.contains(u)),
        (Role::Officer, Resource::Office(_)) => false,
        // Full personal data: the case's own specialist, or an admin of its office.
        (role, Resource::Case { office, specialist, .. })
            if matches!(action, Action::RevealPersonalData | Action::EditPlan) =>
        {
            (role == Role::OfficeAdmin && in_jurisdiction(principal, office)) || principal.sub == specialist
        }
        (_, Resource::Case { office, .. }) => in_jurisdiction(principal, office),
        (_, Resource::Office(office)) => in_jurisdiction(principal, office),
    };
    if ok {
        return Ok(());
    }
    match resource {
        Resource::Case { .. } if is_read(action) || matches!(principal.role, Role::Applicant | Role::Officer) => {
            Err(Problem::not_found("案件不存在", "case not found"))
        }
        // Someone who may not even read the case does not learn that it exists.
        Resource::Case { office, .. } if action == Action::EditPlan && !in_jurisdiction(principal, office) => {
            Err(Problem::not_found("案件不存在", "case not found"))
        }
        Resource::Case { .. } if action == Action::EditPlan => Err(Problem::forbidden(
            "只有本案的帮办（代办）员或本机构管理员可以修改代办方案",
            "only the case's specialist or an admin of its office may change its plan",
        )),
        Resource::Case { .. } => Err(Problem::forbidden("无权处理此案件", "you may not act on this case")),
        Resource::CityWide => {
            let (zh, en) = match action {
                Action::ManageCalendar => ("工作日历", "the working-day calendar"),
                _ => ("事项库", "the approval-item catalog"),
            };
            Err(Problem::forbidden(
                format!("{zh}全市统一，只有市级机构（{CITY_OFFICE}）的机构管理员可以修改"),
                format!("{en} is city-wide; only an office admin of the city office ({CITY_OFFICE}) may change it"),
            ))
        }
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

    const CASE: Resource<'static> =
        Resource::Case { office: "371625", applicant: "a-1", specialist: "s-1", units: &[] };

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
    fn supervisors_read_everything_and_change_nothing() {
        assert!(authorize(&p(Role::Supervisor, "371681", None), Action::ReadCase, CASE).is_ok());
        assert_eq!(
            authorize(&p(Role::Supervisor, "371600", None), Action::TerminateCase, CASE).unwrap_err().status,
            403
        );
    }

    #[test]
    fn personal_data_only_for_the_specialist_or_an_admin() {
        let mut own = p(Role::Assistant, "371625", None);
        own.sub = "s-1".into();
        assert!(authorize(&own, Action::RevealPersonalData, CASE).is_ok());
        assert_eq!(
            authorize(&p(Role::Assistant, "371625", None), Action::RevealPersonalData, CASE).unwrap_err().status,
            403
        );
        assert!(authorize(&p(Role::OfficeAdmin, "371625", None), Action::RevealPersonalData, CASE).is_ok());
        assert_eq!(
            authorize(&p(Role::Applicant, "371625", Some("a-1")), Action::RevealPersonalData, CASE).unwrap_err().status,
            403
        );
    }

    #[test]
    fn integrator_only_reads_and_officer_has_no_case_access() {
        assert_eq!(authorize(&p(Role::Integrator, "371600", None), Action::ReadCase, CASE).unwrap_err().status, 403);
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

    #[test]
    fn everyone_reads_the_calendar_and_the_catalog() {
        for role in Role::ALL {
            for action in [Action::ReadCalendar, Action::ReadCatalog] {
                let who = p(role, "371625", Some("a-1"));
                assert!(authorize(&who, action, Resource::CityWide).is_ok(), "{role:?} {action:?}");
            }
        }
    }

    #[test]
    fn only_a_city_office_admin_changes_the_calendar_and_the_catalog() {
        for action in [Action::ManageCalendar, Action::EditCatalog] {
            assert!(authorize(&p(Role::OfficeAdmin, "371600", None), action, Resource::CityWide).is_ok());
            let county = authorize(&p(Role::OfficeAdmin, "371625", None), action, Resource::CityWide).unwrap_err();
            assert_eq!(county.status, 403);
            assert!(county.detail.as_deref().unwrap().contains("全市统一"), "{county}");
            assert!(county.detail_en.as_deref().unwrap().contains("city-wide"), "{county}");
            for role in [Role::Assistant, Role::Agent, Role::Supervisor, Role::Applicant, Role::Integrator] {
                let refused = authorize(&p(role, "371600", Some("a-1")), action, Resource::CityWide).unwrap_err();
                assert_eq!(refused.status, 403, "{role:?} {action:?}");
            }
        }
        let catalog = authorize(&p(Role::OfficeAdmin, "371681", None), Action::EditCatalog, Resource::CityWide);
        assert!(catalog.unwrap_err().detail.unwrap().contains("事项库"));
        let calendar = authorize(&p(Role::OfficeAdmin, "371681", None), Action::ManageCalendar, Resource::CityWide);
        assert!(calendar.unwrap_err().detail.unwrap().contains("工作日历"));
    }

    #[test]
    fn the_plan_is_edited_by_the_specialist_or_an_admin_in_jurisdiction() {
        let mut own = p(Role::Assistant, "371625", None);
        own.sub = "s-1".into();
        assert!(authorize(&own, Action::EditPlan, CASE).is_ok());
        let mut own_agent = p(Role::Agent, "371625", None);
        own_agent.sub = "s-1".into();
        assert!(authorize(&own_agent, Action::EditPlan, CASE).is_ok());
        assert!(authorize(&p(Role::OfficeAdmin, "371625", None), Action::EditPlan, CASE).is_ok());
        assert!(authorize(&p(Role::OfficeAdmin, "371600", None), Action::EditPlan, CASE).is_ok(), "the city's admin");

        // A colleague of the same office reads the case but may not change its plan.
        let colleague = authorize(&p(Role::Assistant, "371625", None), Action::EditPlan, CASE).unwrap_err();
        assert_eq!(colleague.status, 403);
        assert!(colleague.detail.unwrap().contains("代办方案"));
        assert_eq!(authorize(&p(Role::Assistant, "371600", None), Action::EditPlan, CASE).unwrap_err().status, 403);
        // Outside the jurisdiction the case does not exist.
        assert_eq!(authorize(&p(Role::Assistant, "371681", None), Action::EditPlan, CASE).unwrap_err().status, 404);
        assert_eq!(authorize(&p(Role::OfficeAdmin, "371681", None), Action::EditPlan, CASE).unwrap_err().status, 404);
        // Roles that never edit a plan, the case's own applicant included.
        for role in [Role::Applicant, Role::Supervisor, Role::Expert, Role::Officer, Role::Integrator] {
            let mut who = p(role, "371625", Some("a-1"));
            who.sub = "s-1".into();
            assert_eq!(authorize(&who, Action::EditPlan, CASE).unwrap_err().status, 403, "{role:?}");
        }
        assert!(authorize(&p(Role::Applicant, "371625", Some("a-1")), Action::ReadCase, CASE).is_ok());
    }
}
