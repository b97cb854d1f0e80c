//! The rules, case by case.

use bangban_contracts::{
    evaluation::{Assignee, EvaluationView, ListEvaluations, ListRectifications, RectificationView},
    routing::ListTasks,
};
use uuid::Uuid;

use super::*;

fn p(role: Role, office: &str, applicant: Option<&str>) -> Principal {
    Principal { sub: "u".into(), role, office: office.into(), unit: None, applicant: applicant.map(Into::into) }
}

const CASE: Resource<'static> = Resource::Case { office: "371625", applicant: "a-1", specialist: "s-1", units: &[] };

#[test]
fn applicant_sees_only_own_case() {
    assert!(authorize(&p(Role::Applicant, "371625", Some("a-1")), Action::ReadCase, CASE).is_ok());
    let other = authorize(&p(Role::Applicant, "371625", Some("a-2")), Action::ReadCase, CASE).unwrap_err();
    assert_eq!(other.status, 404);
    let create = authorize(&p(Role::Applicant, "371625", Some("a-1")), Action::CreateCase, Resource::Office("371625"));
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
    assert_eq!(authorize(&p(Role::Supervisor, "371600", None), Action::TerminateCase, CASE).unwrap_err().status, 403);
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

fn officer(unit: &str, office: &str) -> Principal {
    Principal { sub: "o".into(), role: Role::Officer, office: office.into(), unit: Some(unit.into()), applicant: None }
}

fn named(sub: &str, role: Role, office: &str) -> Principal {
    Principal { sub: sub.into(), role, office: office.into(), unit: None, applicant: None }
}

/// A task at a unit of 博兴县 (371625) of a case accepted there, specialist s-1, applicant a-1.
const TASK: Resource<'static> = Resource::Task {
    unit: "371625-XZSP",
    unit_office: "371625",
    case_office: "371625",
    specialist: "s-1",
    applicant: "a-1",
};

/// A linked task: the case accepted by the city office (371600), the unit in 博兴县 (371625).
const LINKED: Resource<'static> = Resource::Task {
    unit: "371625-ZRZY",
    unit_office: "371625",
    case_office: "371600",
    specialist: "s-city",
    applicant: "a-1",
};

const UNIT_STEPS: [&str; 5] = ["receive", "start_review", "request_supplement", "approve", "reject"];
const CASE_STEPS: [&str; 3] = ["supplement", "collect_result", "withdraw"];
const LINK_STEPS: [&str; 2] = ["acknowledge_link", "report_link"];

fn step(name: &str) -> Action {
    Action::for_task_step(name).unwrap_or_else(|| panic!("{name} is a step"))
}

fn status(principal: &Principal, action: Action, resource: Resource<'_>) -> u16 {
    authorize(principal, action, resource).err().map(|p| p.status).unwrap_or(200)
}

#[test]
fn every_step_name_is_one_action() {
    for name in UNIT_STEPS {
        assert_eq!(step(name), Action::WorkTask);
    }
    for name in CASE_STEPS {
        assert_eq!(step(name), Action::FollowTask);
    }
    for name in LINK_STEPS {
        assert_eq!(step(name), Action::LinkTask);
    }
    assert_eq!(Action::for_task_step("approve_all"), None);
}

#[test]
fn everyone_reads_the_unit_directory() {
    for role in Role::ALL {
        assert!(authorize(&p(role, "371625", Some("a-1")), Action::ReadUnits, Resource::Directory).is_ok(), "{role:?}");
    }
}

#[test]
fn the_units_officer_or_its_offices_staff_work_the_task() {
    for name in UNIT_STEPS {
        let action = step(name);
        assert_eq!(status(&officer("371625-XZSP", "371625"), action, TASK), 200, "{name}");
        for role in [Role::Assistant, Role::Agent, Role::OfficeAdmin] {
            assert_eq!(status(&p(role, "371625", None), action, TASK), 200, "{name} {role:?} of the unit's office");
            // Another county's staff do not even see the task; the city's see it but act for city units only.
            assert_eq!(status(&p(role, "371621", None), action, TASK), 404, "{name} {role:?} of 371621");
            assert_eq!(status(&p(role, "371600", None), action, TASK), 403, "{name} {role:?} of the city");
        }
        // An officer of another unit learns nothing, even of the same office.
        assert_eq!(status(&officer("371625-ZRZY", "371625"), action, TASK), 404, "{name}");
        assert_eq!(status(&officer("371621-XZSP", "371621"), action, TASK), 404, "{name}");
        // The applicant sees the task but does not work it; supervisors, experts, integrators never do.
        assert_eq!(status(&p(Role::Applicant, "371625", Some("a-1")), action, TASK), 403, "{name}");
        for role in [Role::Supervisor, Role::Expert, Role::Integrator] {
            assert_eq!(status(&p(role, "371625", None), action, TASK), 403, "{name} {role:?}");
        }
    }
    // City staff act for city units (and the provincial ones routed via the city).
    let city_unit = Resource::Task {
        unit: "371600-ZRZY",
        unit_office: "371600",
        case_office: "371625",
        specialist: "s-1",
        applicant: "a-1",
    };
    assert_eq!(status(&p(Role::Assistant, "371600", None), Action::WorkTask, city_unit), 200);
    // The accepting county's staff see the city unit's task but do not act for the city's unit.
    assert_eq!(status(&p(Role::Assistant, "371625", None), Action::WorkTask, city_unit), 403);
}

#[test]
fn the_case_side_follows_the_task_up() {
    for name in CASE_STEPS {
        let action = step(name);
        assert_eq!(status(&named("s-1", Role::Assistant, "371625"), action, TASK), 200, "{name} the specialist");
        assert_eq!(status(&named("s-1", Role::Agent, "371625"), action, TASK), 200, "{name} an agent specialist");
        assert_eq!(status(&p(Role::OfficeAdmin, "371625", None), action, TASK), 200, "{name} the office's admin");
        assert_eq!(status(&p(Role::OfficeAdmin, "371600", None), action, TASK), 200, "{name} the city's admin");
        // A colleague who is not the specialist sees the task but does not follow it up.
        assert_eq!(status(&p(Role::Assistant, "371625", None), action, TASK), 403, "{name} a colleague");
        assert_eq!(status(&p(Role::OfficeAdmin, "371681", None), action, TASK), 404, "{name} another county");
        // The unit's officer works the task but does not follow up the case; nor does the applicant.
        assert_eq!(status(&officer("371625-XZSP", "371625"), action, TASK), 403, "{name} the officer");
        assert_eq!(status(&p(Role::Applicant, "371625", Some("a-1")), action, TASK), 403, "{name}");
        // Linked handling: the city's specialist follows up; the linked county's admin does not.
        assert_eq!(status(&named("s-city", Role::Assistant, "371600"), action, LINKED), 200, "{name}");
        assert_eq!(status(&p(Role::OfficeAdmin, "371625", None), action, LINKED), 403, "{name}");
    }
}

#[test]
fn the_linked_office_acknowledges_and_reports() {
    for name in LINK_STEPS {
        let action = step(name);
        for role in [Role::Assistant, Role::Agent, Role::OfficeAdmin] {
            assert_eq!(status(&p(role, "371625", None), action, LINKED), 200, "{name} {role:?} of the linked office");
            assert_eq!(status(&p(role, "371621", None), action, LINKED), 404, "{name} {role:?} of 371621");
        }
        // The initiating side sees the task and does not answer for the linked office.
        assert_eq!(status(&named("s-city", Role::Assistant, "371600"), action, LINKED), 403, "{name}");
        assert_eq!(status(&officer("371625-ZRZY", "371625"), action, LINKED), 403, "{name} an officer");
        assert_eq!(status(&officer("371625-XZSP", "371625"), action, LINKED), 403, "{name} another unit's officer");
    }
}

#[test]
fn who_reads_a_task() {
    let read = |who: &Principal, resource| status(who, Action::ReadTask, resource);
    assert_eq!(read(&officer("371625-XZSP", "371625"), TASK), 200);
    assert_eq!(read(&officer("371625-ZRZY", "371625"), TASK), 404);
    assert_eq!(read(&p(Role::Applicant, "371625", Some("a-1")), TASK), 200);
    assert_eq!(read(&p(Role::Applicant, "371625", Some("a-2")), TASK), 404);
    assert_eq!(read(&p(Role::Supervisor, "371681", None), TASK), 200);
    assert_eq!(read(&p(Role::Assistant, "371625", None), TASK), 200);
    assert_eq!(read(&p(Role::Assistant, "371600", None), TASK), 200, "the city sees all");
    assert_eq!(read(&p(Role::Assistant, "371621", None), TASK), 404);
    // Both sides of a linked task.
    assert_eq!(read(&named("s-city", Role::Assistant, "371600"), LINKED), 200);
    assert_eq!(read(&p(Role::Agent, "371625", None), LINKED), 200);
    assert_eq!(read(&p(Role::Agent, "371621", None), LINKED), 404);
    for role in [Role::Expert, Role::Integrator] {
        assert_eq!(read(&p(role, "371600", None), TASK), 403, "{role:?}");
    }
}

#[test]
fn a_case_s_tasks_are_seen_with_the_case_or_one_by_one() {
    let case = Resource::Case { office: "371600", applicant: "a-1", specialist: "s-city", units: &[] };
    let at_city = Resource::Task {
        unit: "371600-FGW",
        unit_office: "371600",
        case_office: "371600",
        specialist: "s-city",
        applicant: "a-1",
    };
    let tasks = [at_city, LINKED];
    let seen = |who: &Principal| visible_case_tasks(who, case, &tasks).map_err(|p| p.status);
    assert_eq!(seen(&named("s-city", Role::Assistant, "371600")), Ok(vec![true, true]));
    assert_eq!(seen(&p(Role::Applicant, "371625", Some("a-1"))), Ok(vec![true, true]));
    assert_eq!(seen(&p(Role::Supervisor, "371681", None)), Ok(vec![true, true]));
    // The linked county sees its own units' tasks of the city's case; an officer their unit's.
    assert_eq!(seen(&p(Role::Assistant, "371625", None)), Ok(vec![false, true]));
    assert_eq!(seen(&officer("371625-ZRZY", "371625")), Ok(vec![false, true]));
    assert_eq!(seen(&officer("371600-FGW", "371600")), Ok(vec![true, false]));
    // Nobody else learns that the case exists.
    assert_eq!(seen(&officer("371621-ZRZY", "371621")), Err(404));
    assert_eq!(seen(&p(Role::Assistant, "371621", None)), Err(404));
    assert_eq!(seen(&p(Role::Applicant, "371621", Some("a-2"))), Err(404));
    assert_eq!(seen(&p(Role::Integrator, "371600", None)), Err(403));
    // Before any task is routed, reading the case's tasks is reading the case.
    assert_eq!(visible_case_tasks(&officer("371600-FGW", "371600"), case, &[]).map_err(|p| p.status), Err(404));
    assert_eq!(visible_case_tasks(&p(Role::Agent, "371600", None), case, &[]).map_err(|p| p.status), Ok(vec![]));
}

#[test]
fn the_inbox_is_scoped_by_the_gateway() {
    let ask = |unit: Option<&str>, office: Option<&str>| ListTasks {
        unit: unit.map(Into::into),
        office: office.map(Into::into),
        ..Default::default()
    };
    // An officer: their unit, whatever they ask; another unit is refused.
    let own = scope_task_list(&officer("371625-XZSP", "371625"), ask(None, None)).unwrap();
    assert_eq!(own.unit.as_deref(), Some("371625-XZSP"));
    let own = scope_task_list(&officer("371625-XZSP", "371625"), ask(Some("371625-XZSP"), None)).unwrap();
    assert_eq!(own.unit.as_deref(), Some("371625-XZSP"));
    let other = scope_task_list(&officer("371625-XZSP", "371625"), ask(Some("371625-ZRZY"), None)).unwrap_err();
    assert_eq!(other.status, 403);
    // County staff and supervisors: their office, forced; another office is refused.
    for role in [Role::Assistant, Role::Agent, Role::OfficeAdmin, Role::Supervisor] {
        let own = scope_task_list(&p(role, "371625", None), ask(Some("371625-ZRZY"), None)).unwrap();
        assert_eq!((own.office.as_deref(), own.unit.as_deref()), (Some("371625"), Some("371625-ZRZY")), "{role:?}");
        let own = scope_task_list(&p(role, "371625", None), ask(None, Some("371625"))).unwrap();
        assert_eq!(own.office.as_deref(), Some("371625"), "{role:?}");
        let other = scope_task_list(&p(role, "371625", None), ask(None, Some("371621"))).unwrap_err();
        assert_eq!(other.status, 403, "{role:?}");
        // The city office: everything, or what it asks for.
        let all = scope_task_list(&p(role, "371600", None), ask(None, None)).unwrap();
        assert_eq!((all.office, all.unit), (None, None), "{role:?}");
        let some = scope_task_list(&p(role, "371600", None), ask(None, Some("371621"))).unwrap();
        assert_eq!(some.office.as_deref(), Some("371621"), "{role:?}");
    }
    for role in [Role::Applicant, Role::Integrator, Role::Expert] {
        let refused = scope_task_list(&p(role, "371600", Some("a-1")), ask(None, None)).unwrap_err();
        assert_eq!(refused.status, 403, "{role:?}");
    }
}

// -----------------------------------------------------------------------------------------------------
// Deadlines: clocks, supervision, problems, consultations, monitoring
// -----------------------------------------------------------------------------------------------------

#[test]
fn a_clock_is_read_like_its_task() {
    let read = |who: &Principal| status(who, Action::ReadTask, TASK);
    assert_eq!(read(&p(Role::Applicant, "371625", Some("a-1"))), 200, "the case's applicant");
    assert_eq!(read(&p(Role::Applicant, "371625", Some("a-2"))), 404, "another applicant");
    assert_eq!(read(&named("s-1", Role::Assistant, "371681")), 200, "the case's specialist, wherever they sit");
    assert_eq!(read(&officer("371625-XZSP", "371625")), 200, "the unit's officer");
    assert_eq!(read(&officer("371625-ZRZY", "371625")), 404, "another unit's officer");
    assert_eq!(read(&p(Role::OfficeAdmin, "371625", None)), 200, "the office");
    assert_eq!(read(&p(Role::Agent, "371621", None)), 404, "another county");
    assert_eq!(read(&p(Role::Agent, "371600", None)), 200, "the city");
    assert_eq!(read(&p(Role::Supervisor, "371621", None)), 200, "supervisors");
    // Both sides of a linked task: the accepting city office and the unit's county.
    assert_eq!(status(&p(Role::Assistant, "371625", None), Action::ReadTask, LINKED), 200);
    assert_eq!(status(&p(Role::Assistant, "371600", None), Action::ReadTask, LINKED), 200);
}

#[test]
fn those_who_work_the_task_pause_its_clock_and_admins_approve_extensions() {
    // Pauses are the unit's work (WorkTask), tested above; extensions are the approver's.
    let extend = |who: &Principal, task| status(who, Action::ExtendClock, task);
    assert_eq!(extend(&p(Role::OfficeAdmin, "371625", None), TASK), 200, "an admin of the unit's office");
    assert_eq!(extend(&p(Role::OfficeAdmin, "371600", None), TASK), 200, "the city's admin");
    assert_eq!(extend(&p(Role::OfficeAdmin, "371621", None), TASK), 404, "another county's admin sees nothing");
    // The accepting county's admin sees a linked task at another office's unit but does not approve.
    let at_other = Resource::Task {
        unit: "371621-ZRZY",
        unit_office: "371621",
        case_office: "371625",
        specialist: "s-1",
        applicant: "a-1",
    };
    let refused = authorize(&p(Role::OfficeAdmin, "371625", None), Action::ExtendClock, at_other).unwrap_err();
    assert_eq!(refused.status, 403);
    assert!(refused.detail.as_deref().unwrap().contains("批准延期"), "{refused}");
    // Nobody else, however close to the task: the officer asks, the admin approves.
    for who in [
        officer("371625-XZSP", "371625"),
        named("s-1", Role::Assistant, "371625"),
        p(Role::Agent, "371600", None),
        p(Role::Supervisor, "371600", None),
        p(Role::Applicant, "371625", Some("a-1")),
        p(Role::Integrator, "371600", None),
    ] {
        assert_eq!(extend(&who, TASK), 403, "{who:?}");
    }
}

/// A notice is a task's: no applicant, no specialist on it.
const NOTICE: Resource<'static> =
    Resource::Task { unit: "371625-XZSP", unit_office: "371625", case_office: "371625", specialist: "", applicant: "" };

#[test]
fn notices_are_read_within_reach_answered_by_the_unit_and_decided_by_supervisors() {
    let read = |who: &Principal| status(who, Action::ReadSupervision, NOTICE);
    assert_eq!(read(&officer("371625-XZSP", "371625")), 200);
    assert_eq!(read(&officer("371625-ZRZY", "371625")), 404);
    assert_eq!(read(&p(Role::Assistant, "371625", None)), 200);
    assert_eq!(read(&p(Role::Assistant, "371621", None)), 404);
    assert_eq!(read(&p(Role::OfficeAdmin, "371600", None)), 200);
    assert_eq!(read(&p(Role::Supervisor, "371681", None)), 200);
    for role in [Role::Applicant, Role::Expert, Role::Integrator] {
        assert_eq!(read(&p(role, "371625", Some("a-1"))), 403, "{role:?}");
    }

    let answer = |who: &Principal| status(who, Action::AnswerSupervision, NOTICE);
    assert_eq!(answer(&officer("371625-XZSP", "371625")), 200, "the unit's officer");
    assert_eq!(answer(&p(Role::OfficeAdmin, "371625", None)), 200, "an admin of the unit's office");
    assert_eq!(answer(&p(Role::OfficeAdmin, "371600", None)), 403, "the city answers for city units only");
    assert_eq!(answer(&p(Role::OfficeAdmin, "371621", None)), 404);
    assert_eq!(answer(&officer("371625-ZRZY", "371625")), 404);
    for role in [Role::Assistant, Role::Agent, Role::Supervisor, Role::Applicant] {
        assert_eq!(answer(&p(role, "371625", Some("a-1"))), 403, "{role:?}");
    }

    let decide = |who: &Principal| status(who, Action::DecideSupervision, NOTICE);
    assert_eq!(decide(&p(Role::Supervisor, "371600", None)), 200);
    assert_eq!(decide(&p(Role::Supervisor, "371621", None)), 200);
    for role in [Role::OfficeAdmin, Role::Assistant, Role::Officer, Role::Applicant] {
        assert_eq!(decide(&p(role, "371600", Some("a-1"))), 403, "{role:?}");
    }
}

#[test]
fn the_case_side_records_and_handles_problems() {
    let record = |who: &Principal| status(who, Action::RecordProblem, TASK);
    assert_eq!(record(&named("s-1", Role::Assistant, "371625")), 200, "the specialist");
    assert_eq!(record(&p(Role::Agent, "371625", None)), 200, "the accepting office's staff");
    assert_eq!(record(&p(Role::OfficeAdmin, "371600", None)), 200, "the city's staff");
    assert_eq!(record(&p(Role::Assistant, "371621", None)), 404);
    // The unit's office sees a linked task but does not record the case side's problems.
    assert_eq!(status(&p(Role::Assistant, "371625", None), Action::RecordProblem, LINKED), 403);
    assert_eq!(record(&officer("371625-XZSP", "371625")), 403);
    assert_eq!(record(&p(Role::Supervisor, "371625", None)), 403);

    let handle = |who: &Principal| status(who, Action::HandleProblem, TASK);
    assert_eq!(handle(&named("s-1", Role::Assistant, "371625")), 200, "the specialist");
    assert_eq!(handle(&p(Role::OfficeAdmin, "371625", None)), 200, "an admin of the accepting office");
    assert_eq!(handle(&p(Role::OfficeAdmin, "371600", None)), 200, "the city's admin");
    let colleague = authorize(&p(Role::Assistant, "371625", None), Action::HandleProblem, TASK).unwrap_err();
    assert_eq!(colleague.status, 403, "a colleague who is not the specialist");
    assert!(colleague.detail.as_deref().unwrap().contains("处理问题"), "{colleague}");
    assert_eq!(handle(&p(Role::OfficeAdmin, "371621", None)), 404);
    assert_eq!(handle(&officer("371625-XZSP", "371625")), 403);
}

#[test]
fn office_admins_record_meetings_for_their_own_office_the_city_for_any() {
    let record = |who: &Principal, office| status(who, Action::RecordMeeting, Resource::Office(office));
    assert_eq!(record(&p(Role::OfficeAdmin, "371625", None), "371625"), 200);
    assert_eq!(record(&p(Role::OfficeAdmin, "371625", None), "371621"), 403);
    assert_eq!(record(&p(Role::OfficeAdmin, "371600", None), "371621"), 200);
    for role in [Role::Assistant, Role::Agent, Role::Supervisor, Role::Officer, Role::Applicant] {
        assert_eq!(record(&p(role, "371625", Some("a-1")), "371625"), 403, "{role:?}");
    }
}

#[test]
fn deadline_lists_and_monitoring_are_scoped_by_the_gateway() {
    let scope = |who: &Principal, action, office: Option<&str>, unit: Option<&str>| {
        scope_deadline(who, action, ("x", "x"), office.map(Into::into), unit.map(Into::into))
            .map(|(o, u)| (o.map(|o| o.to_string()), u.map(|u| u.to_string())))
            .map_err(|p| p.status)
    };
    let s = |v: &str| Some(v.to_string());
    // An officer: their unit, forced; another unit is refused; no monitoring, no meetings.
    let own = officer("371625-XZSP", "371625");
    assert_eq!(scope(&own, Action::ListClocks, None, None), Ok((None, s("371625-XZSP"))));
    assert_eq!(scope(&own, Action::ListClocks, None, Some("371625-ZRZY")), Err(403));
    assert_eq!(scope(&own, Action::ReadProblems, None, None), Ok((None, s("371625-XZSP"))));
    assert_eq!(scope(&own, Action::ReadMonitoring, None, None), Err(403));
    assert_eq!(scope(&own, Action::ReadMeetings, None, None), Err(403));
    // County staff: their office, forced; another office is refused.
    for action in [Action::ListClocks, Action::ReadProblems, Action::ReadMeetings, Action::ReadMonitoring] {
        for role in [Role::Assistant, Role::Agent, Role::OfficeAdmin] {
            let county = p(role, "371625", None);
            assert_eq!(scope(&county, action, None, None), Ok((s("371625"), None)), "{role:?} {action:?}");
            assert_eq!(scope(&county, action, s("371625").as_deref(), None), Ok((s("371625"), None)));
            assert_eq!(scope(&county, action, Some("371621"), None), Err(403), "{role:?} {action:?}");
            // The city's staff: everything, or what they ask for.
            let city = p(role, "371600", None);
            assert_eq!(scope(&city, action, None, None), Ok((None, None)), "{role:?} {action:?}");
            assert_eq!(scope(&city, action, Some("371621"), None), Ok((s("371621"), None)));
        }
        // Supervisors, wherever they sit: everything.
        let supervisor = p(Role::Supervisor, "371625", None);
        assert_eq!(scope(&supervisor, action, None, None), Ok((None, None)), "{action:?}");
        assert_eq!(scope(&supervisor, action, Some("371621"), None), Ok((s("371621"), None)));
        for role in [Role::Applicant, Role::Expert, Role::Integrator] {
            assert_eq!(scope(&p(role, "371600", Some("a-1")), action, None, None), Err(403), "{role:?}");
        }
    }
    let refused = scope_deadline(
        &p(Role::OfficeAdmin, "371625", None),
        Action::ReadMonitoring,
        ("业务监控数据", "monitoring figures"),
        Some("371621".into()),
        None,
    )
    .unwrap_err();
    assert!(refused.detail.as_deref().unwrap().contains("371621"), "{refused}");
    assert!(refused.detail_en.as_deref().unwrap().contains("monitoring figures"), "{refused}");
}

// -----------------------------------------------------------------------------------------------------
// Notifications: the inbox and the SMS log
// -----------------------------------------------------------------------------------------------------

#[test]
fn inbox_owners_come_from_the_token() {
    let applicant_id = "0195f39f-1a2b-7c3d-8e4f-5a6b7c8d9e0f";
    let applicant = p(Role::Applicant, "371625", Some(applicant_id));
    assert_eq!(inbox_owners(&applicant).unwrap(), [format!("applicant:{applicant_id}")]);
    // An applicant's token without (or with a malformed) applicant id reads nobody's inbox.
    for claim in [None, Some("a-1"), Some("")] {
        let refused = inbox_owners(&p(Role::Applicant, "371625", claim)).unwrap_err();
        assert_eq!(refused.status, 403, "{claim:?}");
    }
    // Staff of every other role: their own.
    for role in [Role::Assistant, Role::Agent, Role::Expert, Role::OfficeAdmin, Role::Supervisor] {
        let who = named("staff-371625-1", role, "371625");
        assert_eq!(inbox_owners(&who).unwrap(), ["staff:staff-371625-1"], "{role:?}");
        // A stray claim on a staff token changes nothing.
        let stray = Principal { unit: Some("371625-XZSP".into()), applicant: Some(applicant_id.into()), ..who };
        assert_eq!(inbox_owners(&stray).unwrap(), ["staff:staff-371625-1"], "{role:?}");
    }
    // A unit's officer: their own and their unit's.
    assert_eq!(inbox_owners(&officer("371625-XZSP", "371625")).unwrap(), ["staff:o", "unit:371625-XZSP"]);
    let no_unit = Principal { unit: None, ..officer("x", "371625") };
    assert_eq!(inbox_owners(&no_unit).unwrap_err().status, 403);
    // Integrators read the bus.
    let integrator = inbox_owners(&p(Role::Integrator, "371600", None)).unwrap_err();
    assert_eq!(integrator.status, 403);
    assert!(integrator.detail.as_deref().unwrap().contains("系统对接方"), "{integrator}");
}

#[test]
fn the_applicant_register_is_scoped_to_the_office() {
    let county = p(Role::Assistant, "371625", None);
    assert_eq!(scope_applicants(&county, None).unwrap(), Some("371625".into()));
    assert_eq!(scope_applicants(&county, Some("371625".into())).unwrap(), Some("371625".into()));
    assert_eq!(scope_applicants(&county, Some("371681".into())).unwrap_err().status, 403);
    assert_eq!(scope_applicants(&p(Role::OfficeAdmin, "371600", None), None).unwrap(), None);
    assert_eq!(
        scope_applicants(&p(Role::Supervisor, "371625", None), Some("371681".into())).unwrap(),
        Some("371681".into())
    );
    for role in [Role::Applicant, Role::Officer, Role::Expert, Role::Integrator] {
        assert_eq!(scope_applicants(&p(role, "371600", Some("a-1")), None).unwrap_err().status, 403, "{role:?}");
    }
}

#[test]
fn the_sms_log_is_scoped_to_the_office() {
    let s = |v: &str| Some(v.to_string());
    let scope =
        |who: &Principal, office: Option<&str>| scope_messages(who, office.map(Into::into)).map_err(|p| p.status);
    for role in [Role::Assistant, Role::Agent, Role::OfficeAdmin] {
        // County staff: their own office, forced; another is refused.
        let county = p(role, "371625", None);
        assert_eq!(scope(&county, None), Ok(s("371625")), "{role:?}");
        assert_eq!(scope(&county, Some("371625")), Ok(s("371625")), "{role:?}");
        assert_eq!(scope(&county, Some("371621")), Err(403), "{role:?}");
        assert_eq!(scope(&county, Some("371600")), Err(403), "{role:?}");
        // The city office's staff: every office, or the one asked for.
        let city = p(role, "371600", None);
        assert_eq!(scope(&city, None), Ok(None), "{role:?}");
        assert_eq!(scope(&city, Some("371621")), Ok(s("371621")), "{role:?}");
    }
    // Supervisors, wherever they sit: every office.
    let supervisor = p(Role::Supervisor, "371625", None);
    assert_eq!(scope(&supervisor, None), Ok(None));
    assert_eq!(scope(&supervisor, Some("371621")), Ok(s("371621")));
    // Nobody else.
    assert_eq!(scope(&officer("371625-XZSP", "371625"), None), Err(403));
    for role in [Role::Applicant, Role::Expert, Role::Integrator] {
        assert_eq!(scope(&p(role, "371600", Some("a-1")), None), Err(403), "{role:?}");
    }
    let refused = scope_messages(&p(Role::Agent, "371625", None), s("371621")).unwrap_err();
    assert!(refused.detail.as_deref().unwrap().contains("短信记录"), "{refused}");
    assert!(refused.detail_en.as_deref().unwrap().contains("371621"), "{refused}");
}
// -----------------------------------------------------------------------------------------------------
// Evaluation: ratings, rectifications, appeals
// -----------------------------------------------------------------------------------------------------

const APPLICANT: &str = "0195f39e-0a1b-7c2d-8e3f-4a5b6c7d8e9f";

/// A rating of the item of 371625-XZSP (博兴县) of a case accepted at `office`, specialist s-1.
fn rating(office: &str, task: bool) -> EvaluationView {
    use bangban_contracts::evaluation::{Channel, Level, Matter};
    let task_id = Uuid::now_v7();
    EvaluationView {
        id: Uuid::now_v7(),
        matter: if task { Matter::Task { task_id } } else { Matter::Case { case_id: Uuid::nil() } },
        case_id: Uuid::nil(),
        task_id: task.then_some(task_id),
        ledger_no: "BB-1".into(),
        office: office.into(),
        item_name: "建设工程规划许可证核发".into(),
        unit_code: task.then(|| "371625-XZSP".into()),
        unit_office: task.then(|| "371625".into()),
        specialist_id: "s-1".into(),
        applicant_id: Uuid::parse_str(APPLICANT).unwrap(),
        level: Level::Dissatisfied,
        level_label: "不满意".into(),
        comment: None,
        tags: vec![],
        channel: Channel::Platform,
        entered_by: None,
        submitted_at: chrono::Utc::now(),
        bad: true,
        rectification_id: None,
        appeal: None,
        counts: true,
    }
}

fn rectification(assignee: Assignee, office: &str) -> RectificationView {
    use bangban_contracts::evaluation::{Level, RectificationStatus};
    let day = chrono::NaiveDate::from_ymd_opt(2026, 3, 20).unwrap();
    RectificationView {
        id: Uuid::now_v7(),
        evaluation_id: Uuid::now_v7(),
        case_id: Uuid::nil(),
        task_id: None,
        item_name: "x".into(),
        level: Level::VeryDissatisfied,
        comment: None,
        assignee,
        office: office.into(),
        status: RectificationStatus::Opened,
        opened_at: chrono::Utc::now(),
        contact_due: day,
        due: day,
        contacted_at: None,
        contact_note: None,
        fix: None,
        answer: None,
        answered_at: None,
        fix_rating: None,
        closed_at: None,
        escalated_at: None,
        escalation_reason: None,
        on_time: None,
    }
}

fn unit_assignee() -> Assignee {
    Assignee::Unit { unit_code: "371625-XZSP".into(), unit_office: "371625".into() }
}

fn specialist_assignee() -> Assignee {
    Assignee::Specialist { specialist_id: "s-1".into(), office: "371625".into() }
}

#[test]
fn only_an_applicant_with_an_id_rates_in_their_own_name() {
    let own = rating_applicant(&p(Role::Applicant, "371625", Some(APPLICANT)), Action::RateMatter).unwrap();
    assert_eq!(own.to_string(), APPLICANT);
    for claim in [None, Some("a-1"), Some("")] {
        let refused = rating_applicant(&p(Role::Applicant, "371625", claim), Action::RateMatter).unwrap_err();
        assert_eq!(refused.status, 403, "{claim:?}");
    }
    for role in Role::ALL.into_iter().filter(|r| *r != Role::Applicant) {
        let refused = rating_applicant(&p(role, "371625", Some(APPLICANT)), Action::RateMatter).unwrap_err();
        assert_eq!(refused.status, 403, "{role:?}");
    }
    // The window's staff enter the applicant's code; nobody else does.
    for role in [Role::Assistant, Role::Agent, Role::OfficeAdmin] {
        assert!(authorize_role(&p(role, "371625", None), Action::RateAtWindow).is_ok(), "{role:?}");
    }
    for role in [Role::Applicant, Role::Officer, Role::Integrator, Role::Supervisor, Role::Expert] {
        assert_eq!(authorize_role(&p(role, "371625", None), Action::RateAtWindow).unwrap_err().status, 403);
    }
}

#[test]
fn rating_lists_are_narrowed_to_the_caller() {
    let s = |v: &str| Some(v.to_string());
    let scope = |who: &Principal, filter: ListEvaluations| scope_evaluations(who, filter).map_err(|p| p.status);
    let none = ListEvaluations::default;
    // An applicant: their own, whatever else they ask.
    let applicant = p(Role::Applicant, "371625", Some(APPLICANT));
    let own = scope(&applicant, none()).unwrap();
    assert_eq!(own.applicant_id.map(|a| a.to_string()).as_deref(), Some(APPLICANT));
    let other = ListEvaluations { applicant_id: Some(Uuid::now_v7()), ..none() };
    assert_eq!(scope(&applicant, other), Err(403));
    assert_eq!(scope(&p(Role::Applicant, "371625", None), none()), Err(403), "no applicant claim");
    // Specialists: the ratings of their cases, wherever they sit.
    for role in [Role::Assistant, Role::Agent] {
        for office in ["371625", "371600"] {
            let who = named("s-1", role, office);
            assert_eq!(scope(&who, none()).unwrap().specialist, s("s-1"), "{role:?} {office}");
            let asked = ListEvaluations { specialist: s("s-2"), ..none() };
            assert_eq!(scope(&who, asked), Err(403), "{role:?} {office}");
            let office_filter = ListEvaluations { office: s("371621"), ..none() };
            assert_eq!(scope(&who, office_filter).unwrap().specialist, s("s-1"));
        }
    }
    // An officer: their unit.
    let own = officer("371625-XZSP", "371625");
    assert_eq!(scope(&own, none()).unwrap().unit, s("371625-XZSP"));
    assert_eq!(scope(&own, ListEvaluations { unit: s("371625-ZRZY"), ..none() }), Err(403));
    assert_eq!(scope(&Principal { unit: None, ..own.clone() }, none()), Err(403));
    // A county office's admins and experts: their office; another is 403.
    for role in [Role::OfficeAdmin, Role::Expert] {
        let county = p(role, "371625", None);
        assert_eq!(scope(&county, none()).unwrap().office, s("371625"), "{role:?}");
        assert_eq!(scope(&county, ListEvaluations { office: s("371621"), ..none() }), Err(403), "{role:?}");
        // The city's: as asked.
        let city = p(role, "371600", None);
        assert_eq!(scope(&city, none()).unwrap(), none(), "{role:?}");
        let asked = ListEvaluations { office: s("371621"), bad: Some(true), ..none() };
        assert_eq!(scope(&city, asked.clone()).unwrap(), asked);
    }
    let supervisor = p(Role::Supervisor, "371625", None);
    let asked = ListEvaluations { unit: s("371621-ZRZY"), ..none() };
    assert_eq!(scope(&supervisor, asked.clone()).unwrap(), asked);
    assert_eq!(scope(&p(Role::Integrator, "371600", None), none()), Err(403));
}

#[test]
fn one_rating_is_seen_by_whom_it_concerns() {
    let task = rating("371625", true);
    let read = |who: &Principal, r: &EvaluationView| authorize_evaluation(who, r).err().map_or(200, |p| p.status);
    assert_eq!(read(&p(Role::Applicant, "371625", Some(APPLICANT)), &task), 200);
    assert_eq!(read(&p(Role::Applicant, "371625", Some(&Uuid::now_v7().to_string())), &task), 404);
    assert_eq!(read(&named("s-1", Role::Assistant, "371681"), &task), 200, "the specialist");
    assert_eq!(read(&named("s-2", Role::Assistant, "371625"), &task), 404, "a colleague");
    assert_eq!(read(&officer("371625-XZSP", "371625"), &task), 200);
    assert_eq!(read(&officer("371625-ZRZY", "371625"), &task), 404);
    assert_eq!(read(&p(Role::OfficeAdmin, "371625", None), &task), 200);
    assert_eq!(read(&p(Role::Expert, "371625", None), &task), 200);
    assert_eq!(read(&p(Role::OfficeAdmin, "371621", None), &task), 404);
    assert_eq!(read(&p(Role::OfficeAdmin, "371600", None), &task), 200);
    assert_eq!(read(&p(Role::Supervisor, "371681", None), &task), 200);
    assert_eq!(read(&p(Role::Integrator, "371600", None), &task), 403);
    // A city case's item at a county unit: the unit's county sees it too.
    let linked = rating("371600", true);
    assert_eq!(read(&p(Role::OfficeAdmin, "371625", None), &linked), 200);
    // The whole service of a case: no unit, so no officer.
    let whole = rating("371625", false);
    assert_eq!(read(&officer("371625-XZSP", "371625"), &whole), 404);
}

#[test]
fn rectifications_are_worked_by_their_assignee_and_rated_by_the_applicant() {
    let r = rating("371625", true);
    let work = |who: &Principal, rect: &RectificationView| {
        authorize_rectification(who, Action::WorkRectification, rect, &r).err().map_or(200, |p| p.status)
    };
    let unit = rectification(unit_assignee(), "371625");
    assert_eq!(work(&officer("371625-XZSP", "371625"), &unit), 200, "the unit's officer");
    for role in [Role::Assistant, Role::Agent, Role::OfficeAdmin] {
        assert_eq!(work(&named("x", role, "371625"), &unit), 200, "{role:?} of the unit's office");
        assert_eq!(work(&named("x", role, "371621"), &unit), 404, "{role:?} of another county");
    }
    assert_eq!(work(&officer("371625-ZRZY", "371625"), &unit), 404, "another unit's officer");
    // The city sees it but does not work a county unit's rectification; the case's specialist neither.
    assert_eq!(work(&p(Role::OfficeAdmin, "371600", None), &unit), 403);
    assert_eq!(work(&named("s-1", Role::Assistant, "371600"), &unit), 403);
    assert_eq!(work(&p(Role::Supervisor, "371625", None), &unit), 403);
    assert_eq!(work(&p(Role::Applicant, "371625", Some(APPLICANT)), &unit), 403);

    let whole = rating("371625", false);
    let spec = rectification(specialist_assignee(), "371625");
    let work = |who: &Principal| {
        authorize_rectification(who, Action::WorkRectification, &spec, &whole).err().map_or(200, |p| p.status)
    };
    assert_eq!(work(&named("s-1", Role::Assistant, "371625")), 200, "the specialist");
    assert_eq!(work(&p(Role::OfficeAdmin, "371625", None)), 200, "an admin of their office");
    assert_eq!(work(&named("s-2", Role::Agent, "371625")), 404, "a colleague sees nothing");
    assert_eq!(work(&p(Role::OfficeAdmin, "371600", None)), 403, "the city sees but does not work it");
    assert_eq!(work(&p(Role::OfficeAdmin, "371621", None)), 404);

    // The applicant reads and rates it, and their id goes with it.
    let applicant = p(Role::Applicant, "371625", Some(APPLICANT));
    for action in [Action::ReadRectifications, Action::RateRectification] {
        let id = authorize_rectification(&applicant, action, &unit, &r).unwrap();
        assert_eq!(id.map(|i| i.to_string()).as_deref(), Some(APPLICANT), "{action:?}");
        let other = p(Role::Applicant, "371625", Some(&Uuid::now_v7().to_string()));
        assert_eq!(authorize_rectification(&other, action, &unit, &r).unwrap_err().status, 404);
    }
    let officer_rates =
        authorize_rectification(&officer("371625-XZSP", "371625"), Action::RateRectification, &unit, &r);
    assert_eq!(officer_rates.unwrap_err().status, 403);
    // Staff read within reach.
    let read = |who: &Principal| {
        authorize_rectification(who, Action::ReadRectifications, &unit, &r).err().map_or(200, |p| p.status)
    };
    assert_eq!(read(&named("s-1", Role::Agent, "371681")), 200, "the case's specialist");
    assert_eq!(read(&p(Role::Supervisor, "371681", None)), 200);
    assert_eq!(read(&p(Role::Expert, "371621", None)), 404);
    assert_eq!(read(&p(Role::Integrator, "371600", None)), 403);

    let s = |v: &str| Some(v.to_string());
    let scope = |who: &Principal| scope_rectifications(who, ListRectifications::default()).map_err(|p| p.status);
    assert_eq!(scope(&officer("371625-XZSP", "371625")).unwrap().unit, s("371625-XZSP"));
    assert_eq!(scope(&named("s-1", Role::Assistant, "371625")).unwrap().specialist, s("s-1"));
    assert_eq!(scope(&p(Role::OfficeAdmin, "371625", None)).unwrap().office, s("371625"));
    assert_eq!(scope(&p(Role::OfficeAdmin, "371600", None)).unwrap(), ListRectifications::default());
    assert_eq!(scope(&p(Role::Applicant, "371625", Some(APPLICANT))), Err(403));
    assert_eq!(scope(&p(Role::Integrator, "371600", None)), Err(403));
}

#[test]
fn the_staff_concerned_appeal_and_office_admins_decide() {
    let task = rating("371625", true);
    let appeal = |who: &Principal, r: &EvaluationView| authorize_appeal(who, r).err().map_or(200, |p| p.status);
    assert_eq!(appeal(&named("s-1", Role::Assistant, "371625"), &task), 200, "the specialist");
    assert_eq!(appeal(&named("s-2", Role::Assistant, "371625"), &task), 404, "a colleague");
    assert_eq!(appeal(&officer("371625-XZSP", "371625"), &task), 200, "the unit's officer");
    assert_eq!(appeal(&officer("371625-ZRZY", "371625"), &task), 404);
    assert_eq!(appeal(&p(Role::OfficeAdmin, "371625", None), &task), 200);
    assert_eq!(appeal(&p(Role::OfficeAdmin, "371600", None), &task), 403, "the city sees, does not appeal");
    assert_eq!(appeal(&p(Role::OfficeAdmin, "371621", None), &task), 404);
    // The unit's county appeals a city case's item at its unit.
    assert_eq!(appeal(&p(Role::OfficeAdmin, "371625", None), &rating("371600", true)), 200);
    for role in [Role::Applicant, Role::Supervisor, Role::Expert, Role::Integrator] {
        assert_eq!(appeal(&p(role, "371625", Some(APPLICANT)), &task), 403, "{role:?}");
    }
    assert!(authorize_role(&p(Role::OfficeAdmin, "371625", None), Action::DecideAppeal).is_ok());
    for role in [Role::Assistant, Role::Supervisor, Role::Officer, Role::Applicant] {
        assert_eq!(authorize_role(&p(role, "371625", None), Action::DecideAppeal).unwrap_err().status, 403);
    }
}

#[test]
fn appeals_assessment_and_statistics_are_the_admins_and_supervisors() {
    let s = |v: &str| Some(v.to_string());
    for action in [Action::ReadAppeals, Action::ReadAssessment] {
        let scope = |who: &Principal, office: Option<&str>| {
            scope_deadline(who, action, ("x", "x"), office.map(Into::into), None).map(|(o, _)| o).map_err(|p| p.status)
        };
        let county = p(Role::OfficeAdmin, "371625", None);
        assert_eq!(scope(&county, None), Ok(s("371625")));
        assert_eq!(scope(&county, Some("371621")), Err(403));
        assert_eq!(scope(&p(Role::OfficeAdmin, "371600", None), None), Ok(None));
        assert_eq!(scope(&p(Role::Supervisor, "371625", None), Some("371621")), Ok(s("371621")));
        for role in [Role::Applicant, Role::Assistant, Role::Agent, Role::Expert, Role::Officer, Role::Integrator] {
            assert_eq!(scope(&p(role, "371600", Some(APPLICANT)), None), Err(403), "{role:?} {action:?}");
        }
    }
}
