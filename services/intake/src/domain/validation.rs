//! Validation of a new case: every wrong field is named, with the reason in Chinese and English.

use bangban_contracts::{
    intake::{Actor, NewCase},
    office::{CITY_OFFICE, is_known_office},
};
use bangban_platform::problem::FieldError;

fn text(field: &str, value: &str, max: usize, errors: &mut Vec<FieldError>) {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        errors.push(FieldError::new(field, "不能为空", "must not be empty"));
    } else if trimmed.chars().count() > max {
        errors.push(FieldError::new(
            field,
            format!("不能超过 {max} 个字符"),
            format!("must not exceed {max} characters"),
        ));
    } else if trimmed.chars().any(char::is_control) {
        errors.push(FieldError::new(field, "不能包含控制字符", "must not contain control characters"));
    }
}

fn office(field: &str, code: &str, errors: &mut Vec<FieldError>) -> bool {
    if is_known_office(code) {
        true
    } else {
        errors.push(FieldError::new(
            field,
            format!("未知的机构代码 {code:?}，应为本市或所辖县（市、区）的六位行政区划代码"),
            format!(
                "unknown office code {code:?}: expected the six-digit division code of the city or one of its counties"
            ),
        ));
        false
    }
}

/// Checks a new case; returns every problem found, or nothing.
pub fn validate_new_case(case: &NewCase) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let office_ok = office("office", &case.office, &mut errors);
    text("applicant.name", &case.applicant.name, 100, &mut errors);
    text("project.name", &case.project.name, 200, &mut errors);
    let project_ok = office("project.office", &case.project.office, &mut errors);
    // A county office handles projects in its own area; the city office accepts any project.
    if office_ok && project_ok && case.office != CITY_OFFICE && case.project.office != case.office {
        errors.push(FieldError::new(
            "project.office",
            format!("项目所在地 {} 不属于受理机构 {} 的辖区", case.project.office, case.office),
            format!("the project's area {} is outside the jurisdiction of office {}", case.project.office, case.office),
        ));
    }
    errors
}

/// May this person accept a case for `office`? Staff of that office, or of the city office.
pub fn may_accept_for(actor: &Actor, office: &str) -> bool {
    actor.office == office || actor.office == CITY_OFFICE
}

#[cfg(test)]
mod tests {
    use super::*;
    use bangban_contracts::intake::*;

    fn case() -> NewCase {
        NewCase {
            service_type: ServiceType::Assist,
            office: "371625".into(),
            applicant: NewApplicant { kind: ApplicantKind::LegalPerson, name: "博兴某公司".into() },
            project: NewProject {
                name: "新材料项目".into(),
                category: ProjectCategory::Industrial,
                office: "371625".into(),
            },
        }
    }

    #[test]
    fn a_good_case_passes() {
        assert!(validate_new_case(&case()).is_empty());
        let mut city = case();
        city.office = "371600".into();
        assert!(validate_new_case(&city).is_empty());
    }

    #[test]
    fn names_every_wrong_field() {
        let mut c = case();
        c.office = "999999".into();
        c.applicant.name = "  ".into();
        c.project.name = "x".repeat(201);
        let fields: Vec<String> = validate_new_case(&c).into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["office", "applicant.name", "project.name"]);
    }

    #[test]
    fn county_office_only_accepts_its_own_area() {
        let mut c = case();
        c.project.office = "371681".into();
        let errors = validate_new_case(&c);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "project.office");
        assert!(errors[0].reason.contains("辖区"));
    }
}
