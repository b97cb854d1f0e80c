//! Validation of a new case: every wrong field is named, with the reason in Chinese and English.

use bangban_contracts::{
    intake::{Actor, Agreement, ApplicantKind, MaterialCheck, NewApplicant, NewCase, NewProject, ServiceType},
    office::{CITY_OFFICE, is_known_office},
};
use bangban_platform::problem::FieldError;
use chrono::NaiveDate;

use crate::domain::identity;

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

/// Is `code` a known office? Otherwise the field is named, with the reason.
pub fn office(field: &str, code: &str, errors: &mut Vec<FieldError>) -> bool {
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

/// A new applicant's identity after validation, normalised (upper-case codes, bare mobile digits).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NormalisedIdentity {
    pub id_number: Option<String>,
    pub credit_code: Option<String>,
    pub phone: Option<String>,
}

/// `YYYY-XXXXXX-XX-XX-XXXXXX`: the national investment project code (项目代码).
pub fn is_project_code(code: &str) -> bool {
    let parts: Vec<&str> = code.split('-').collect();
    parts.len() == 5
        && [4, 6, 2, 2, 6].iter().zip(&parts).all(|(n, p)| p.len() == *n && p.bytes().all(|b| b.is_ascii_digit()))
}

fn amount(field: &str, value: Option<f64>, errors: &mut Vec<FieldError>) {
    if let Some(v) = value
        && (!v.is_finite() || v < 0.0)
    {
        errors.push(FieldError::new(field, "须为非负数", "must be a non-negative number"));
    }
}

pub fn applicant(a: &NewApplicant, errors: &mut Vec<FieldError>) -> NormalisedIdentity {
    let mut out = NormalisedIdentity::default();
    text("applicant.name", &a.name, 100, errors);
    match a.kind {
        ApplicantKind::NaturalPerson => {
            match a.id_number.as_deref() {
                None | Some("") => errors.push(FieldError::new(
                    "applicant.id_number",
                    "自然人须提供居民身份证号码",
                    "a natural person needs a resident ID number",
                )),
                Some(v) => match identity::validate_id_number("applicant.id_number", v) {
                    Ok(n) => out.id_number = Some(n),
                    Err(e) => errors.push(e),
                },
            }
            if a.credit_code.is_some() {
                errors.push(FieldError::new(
                    "applicant.credit_code",
                    "自然人无统一社会信用代码",
                    "a natural person has no unified social credit code",
                ));
            }
        }
        ApplicantKind::LegalPerson | ApplicantKind::OtherOrganisation => {
            match a.credit_code.as_deref() {
                None | Some("") => errors.push(FieldError::new(
                    "applicant.credit_code",
                    "法人或其他组织须提供统一社会信用代码",
                    "an organisation needs its unified social credit code",
                )),
                Some(v) => match identity::validate_credit_code("applicant.credit_code", v) {
                    Ok(n) => out.credit_code = Some(n),
                    Err(e) => errors.push(e),
                },
            }
            if a.id_number.is_some() {
                errors.push(FieldError::new(
                    "applicant.id_number",
                    "组织不填写居民身份证号码；请填写联系人",
                    "an organisation has no resident ID number; give the contact person instead",
                ));
            }
        }
    }
    if let Some(phone) = a.phone.as_deref() {
        match identity::validate_mobile("applicant.phone", phone) {
            Ok(n) => out.phone = Some(n),
            Err(e) => errors.push(e),
        }
    }
    if let Some(c) = a.contact_person.as_deref() {
        text("applicant.contact_person", c, 50, errors);
    }
    out
}

pub fn project(p: &NewProject, errors: &mut Vec<FieldError>) -> bool {
    text("project.name", &p.name, 200, errors);
    let ok = office("project.office", &p.office, errors);
    if let Some(code) = p.code.as_deref()
        && !is_project_code(code)
    {
        errors.push(FieldError::new(
            "project.code",
            "项目代码格式应为 YYYY-XXXXXX-XX-XX-XXXXXX",
            "the project code must look like YYYY-XXXXXX-XX-XX-XXXXXX",
        ));
    }
    amount("project.investment_wan", p.investment_wan, errors);
    amount("project.land_area_m2", p.land_area_m2, errors);
    amount("project.floor_area_m2", p.floor_area_m2, errors);
    ok
}

/// A commission needs a signed, valid written agreement (§7.2).
fn agreement(a: Option<&Agreement>, today: NaiveDate, errors: &mut Vec<FieldError>) {
    let Some(a) = a else {
        errors.push(FieldError::new(
            "agreement",
            "代办须先签订书面委托代办协议",
            "a commission needs a signed written agreement",
        ));
        return;
    };
    if a.parties.len() < 2 || a.parties.iter().any(|p| p.trim().is_empty()) {
        errors.push(FieldError::new(
            "agreement.parties",
            "协议须载明委托方与受托方",
            "the agreement must name both parties",
        ));
    }
    text("agreement.scope", &a.scope, 2000, errors);
    if a.signed_on > today {
        errors.push(FieldError::new(
            "agreement.signed_on",
            "签订日期不能晚于今天",
            "the signing date is in the future",
        ));
    }
    if a.valid_until < today || a.valid_until < a.signed_on {
        errors.push(FieldError::new("agreement.valid_until", "协议已过有效期", "the agreement is no longer valid"));
    }
}

/// A commission needs every material to pass the formal review: complete, authentic, valid (§7.2).
fn materials(list: &[MaterialCheck], required: bool, errors: &mut Vec<FieldError>) {
    if required && list.is_empty() {
        errors.push(FieldError::new(
            "materials",
            "代办须先完成申请材料形式审核",
            "a commission needs the formal review of the materials",
        ));
    }
    for (i, m) in list.iter().enumerate() {
        text(&format!("materials[{i}].name"), &m.name, 200, errors);
        if !required {
            continue;
        }
        let mut failed_zh = Vec::new();
        let mut failed_en = Vec::new();
        for (ok, zh, en) in [
            (m.complete, "完整性", "completeness"),
            (m.authentic, "真实性", "authenticity"),
            (m.valid, "有效性", "validity"),
        ] {
            if !ok {
                failed_zh.push(zh);
                failed_en.push(en);
            }
        }
        if !failed_zh.is_empty() {
            errors.push(FieldError::new(
                format!("materials[{i}]"),
                format!("“{}”形式审核未通过：{}", m.name.trim(), failed_zh.join("、")),
                format!("{:?} failed the formal review: {}", m.name.trim(), failed_en.join(", ")),
            ));
        }
    }
}

/// Checks a new case on `today` (Asia/Shanghai); returns the normalised identity of a new
/// applicant, or every problem found.
pub fn validate_new_case(case: &NewCase, today: NaiveDate) -> Result<NormalisedIdentity, Vec<FieldError>> {
    let mut errors = Vec::new();
    let office_ok = office("office", &case.office, &mut errors);
    let identity = match (&case.applicant, &case.applicant_id) {
        (Some(a), None) => applicant(a, &mut errors),
        (None, Some(_)) => NormalisedIdentity::default(),
        _ => {
            errors.push(FieldError::new(
                "applicant",
                "须提供新的服务对象（applicant）或已登记的服务对象编号（applicant_id），二者取一",
                "give either a new applicant or an applicant_id, not both",
            ));
            NormalisedIdentity::default()
        }
    };
    match (&case.project, &case.project_id) {
        (Some(p), None) => {
            let project_ok = project(p, &mut errors);
            if office_ok && project_ok {
                check_area(&case.office, &p.office, &mut errors);
            }
        }
        (None, Some(_)) => {}
        _ => errors.push(FieldError::new(
            "project",
            "须提供新项目（project）或已登记的项目编号（project_id），二者取一",
            "give either a new project or a project_id, not both",
        )),
    }
    if let Some(id) = &case.specialist_id {
        text("specialist_id", id, 64, &mut errors);
    }
    let commission = case.service_type == ServiceType::Commission;
    if commission {
        agreement(case.agreement.as_ref(), today, &mut errors);
    }
    materials(&case.materials, commission, &mut errors);
    if errors.is_empty() { Ok(identity) } else { Err(errors) }
}

/// A county office handles projects in its own area; the city office accepts any project.
pub fn check_area(case_office: &str, project_office: &str, errors: &mut Vec<FieldError>) {
    if case_office != CITY_OFFICE && project_office != case_office {
        errors.push(FieldError::new(
            "project.office",
            format!("项目所在地 {project_office} 不属于受理机构 {case_office} 的辖区"),
            format!("the project's area {project_office} is outside the jurisdiction of office {case_office}"),
        ));
    }
}

/// The specialist role a service type needs: an assistant (帮办员) or an agent (代办员).
pub fn specialist_role(service_type: ServiceType) -> &'static str {
    match service_type {
        ServiceType::Assist => "assistant",
        ServiceType::Commission => "agent",
    }
}

/// Least-load assignment: of the candidates `(id, number)`, the one with the fewest open cases;
/// ties go to the lowest public number, so the choice is stable.
pub fn least_loaded<'a>(
    candidates: &'a [(String, String)],
    open_cases: &std::collections::HashMap<String, i64>,
) -> Option<&'a str> {
    candidates
        .iter()
        .min_by(|a, b| {
            let la = open_cases.get(&a.0).copied().unwrap_or(0);
            let lb = open_cases.get(&b.0).copied().unwrap_or(0);
            la.cmp(&lb).then_with(|| a.1.cmp(&b.1))
        })
        .map(|(id, _)| id.as_str())
}

/// May this person accept a case for `office`? Staff of that office, or of the city office.
pub fn may_accept_for(actor: &Actor, office: &str) -> bool {
    actor.office == office || actor.office == CITY_OFFICE
}

/// Is this person the staff of an office (工作人员: assistant, agent or office admin), who register
/// applicants and accept cases?
pub fn is_office_staff(actor: &Actor) -> bool {
    matches!(actor.role.as_str(), "assistant" | "agent" | "office_admin")
}

/// May this person see the applicant's personal data in full (查看完整个人信息)? The case's own specialist,
/// or an office admin of the accepting office or of the city office.
pub fn may_reveal(actor: &Actor, case_office: &str, specialist_id: &str) -> bool {
    is_office_staff(actor)
        && (actor.sub == specialist_id || (actor.role == "office_admin" && may_accept_for(actor, case_office)))
}

/// The office whose applicants this person may list (服务对象名录范围), given the one asked for:
/// `Ok(None)` for everyone's (the city office's staff and supervisors, asking for none), `Ok(Some(office))`
/// otherwise; a county's staff asking for another office, and anyone else, get `Err` with the reason.
pub fn applicant_list_scope(actor: &Actor, asked: Option<&str>) -> Result<Option<String>, (String, String)> {
    let everywhere = actor.role == "supervisor" || (is_office_staff(actor) && actor.office == CITY_OFFICE);
    if everywhere {
        return Ok(asked.map(str::to_string));
    }
    if !is_office_staff(actor) {
        return Err((
            "只有帮办代办机构的工作人员和监督人员可以查看服务对象名录".into(),
            "only the offices' staff and supervisors may list applicants".into(),
        ));
    }
    match asked {
        Some(other) if other != actor.office => Err((
            format!("只能查看本机构（{}）的服务对象，无权查看 {other}", actor.office),
            format!("you may list the applicants of your own office ({}) only, not of {other}", actor.office),
        )),
        _ => Ok(Some(actor.office.clone())),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use bangban_contracts::intake::*;

    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 28).unwrap()
    }

    fn case() -> NewCase {
        NewCase {
            service_type: ServiceType::Assist,
            office: "371625".into(),
            applicant: Some(NewApplicant {
                kind: ApplicantKind::LegalPerson,
                name: "博兴某公司".into(),
                id_number: None,
                credit_code: Some("91440300708461136T".into()),
                phone: Some("138 1234 1234".into()),
                contact_person: Some("王经理".into()),
            }),
            applicant_id: None,
            project: Some(NewProject {
                name: "新材料项目".into(),
                category: ProjectCategory::Industrial,
                office: "371625".into(),
                code: Some("2026-371625-26-03-012345".into()),
                investment_wan: Some(50000.0),
                land_area_m2: Some(66000.0),
                floor_area_m2: None,
                newly_settled: true,
                investment_kind: None,
                land_supply: None,
                construction: None,
            }),
            project_id: None,
            specialist_id: None,
            agreement: None,
            materials: vec![],
        }
    }

    fn commission() -> NewCase {
        let mut c = case();
        c.service_type = ServiceType::Commission;
        c.agreement = Some(Agreement {
            parties: vec!["博兴某公司".into(), "博兴县帮办代办中心".into()],
            scope: "立项至施工许可阶段全部审批事项".into(),
            signed_on: NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(),
            valid_until: NaiveDate::from_ymd_opt(2027, 11, 20).unwrap(),
        });
        c.materials =
            vec![MaterialCheck {
                name: "营业执照".into(), complete: true, authentic: true, valid: true, note: None
            }];
        c
    }

    fn fields(c: &NewCase) -> Vec<String> {
        validate_new_case(c, today()).err().unwrap_or_default().into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn a_good_case_passes_and_is_normalised() {
        let id = validate_new_case(&case(), today()).unwrap();
        assert_eq!(id.credit_code.as_deref(), Some("91440300708461136T"));
        assert_eq!(id.phone.as_deref(), Some("13812341234"));
        let mut city = case();
        city.office = "371600".into();
        assert!(validate_new_case(&city, today()).is_ok());
        assert!(validate_new_case(&commission(), today()).is_ok());
    }

    #[test]
    fn names_every_wrong_field() {
        let mut c = case();
        c.office = "999999".into();
        c.applicant.as_mut().unwrap().name = "  ".into();
        c.applicant.as_mut().unwrap().credit_code = Some("91440300708461136X".into());
        c.applicant.as_mut().unwrap().phone = Some("12345".into());
        c.project.as_mut().unwrap().name = "x".repeat(201);
        c.project.as_mut().unwrap().code = Some("2026-1".into());
        c.project.as_mut().unwrap().investment_wan = Some(-1.0);
        assert_eq!(
            fields(&c),
            [
                "office",
                "applicant.name",
                "applicant.credit_code",
                "applicant.phone",
                "project.name",
                "project.code",
                "project.investment_wan"
            ]
        );
    }

    #[test]
    fn natural_persons_need_a_valid_id_number() {
        let mut c = case();
        let a = c.applicant.as_mut().unwrap();
        a.kind = ApplicantKind::NaturalPerson;
        a.credit_code = None;
        assert_eq!(fields(&c), ["applicant.id_number"]);
        c.applicant.as_mut().unwrap().id_number = Some("11010519491231002X".into());
        assert!(validate_new_case(&c, today()).is_ok());
        c.applicant.as_mut().unwrap().id_number = Some("110105194912310021".into());
        assert_eq!(fields(&c), ["applicant.id_number"]);
    }

    #[test]
    fn exactly_one_of_applicant_and_applicant_id() {
        let mut c = case();
        c.applicant_id = Some(uuid::Uuid::now_v7());
        assert_eq!(fields(&c), ["applicant"]);
        c.applicant = None;
        assert!(validate_new_case(&c, today()).is_ok());
        c.project = None;
        assert_eq!(fields(&c), ["project"]);
    }

    #[test]
    fn commission_needs_agreement_and_a_passed_review() {
        let mut c = commission();
        c.agreement = None;
        assert_eq!(fields(&c), ["agreement"]);
        let mut c = commission();
        c.materials.clear();
        assert_eq!(fields(&c), ["materials"]);
        let mut c = commission();
        c.materials[0].authentic = false;
        c.materials[0].valid = false;
        let errors = validate_new_case(&c, today()).unwrap_err();
        assert_eq!(errors[0].field, "materials[0]");
        assert!(errors[0].reason.contains("真实性、有效性"), "{}", errors[0].reason);
        let mut c = commission();
        c.agreement.as_mut().unwrap().valid_until = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        c.agreement.as_mut().unwrap().parties.pop();
        assert_eq!(fields(&c), ["agreement.parties", "agreement.valid_until"]);
        // An assistance case needs neither, and a failed check there is only recorded.
        let mut c = case();
        c.materials = commission().materials;
        c.materials[0].complete = false;
        assert!(validate_new_case(&c, today()).is_ok());
    }

    #[test]
    fn county_office_only_accepts_its_own_area() {
        let mut c = case();
        c.project.as_mut().unwrap().office = "371681".into();
        let errors = validate_new_case(&c, today()).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "project.office");
        assert!(errors[0].reason.contains("辖区"));
    }

    fn actor(sub: &str, role: &str, office: &str) -> Actor {
        Actor { sub: sub.into(), role: role.into(), office: office.into() }
    }

    #[test]
    fn personal_data_in_full_for_the_specialist_or_an_admin_in_reach() {
        let case = ("371625", "s-1");
        let may = |a: &Actor| may_reveal(a, case.0, case.1);
        assert!(may(&actor("s-1", "assistant", "371625")));
        assert!(may(&actor("a-1", "office_admin", "371625")));
        assert!(may(&actor("a-2", "office_admin", "371600")));
        assert!(!may(&actor("s-2", "assistant", "371625")), "a colleague");
        assert!(!may(&actor("a-3", "office_admin", "371681")), "another county's admin");
        assert!(!may(&actor("s-1", "applicant", "371625")), "a role that never reveals, whatever the sub");
        assert!(!may(&actor("x", "supervisor", "371600")));
    }

    #[test]
    fn the_applicant_list_is_scoped_to_the_office() {
        let county = actor("s", "assistant", "371625");
        assert_eq!(applicant_list_scope(&county, None), Ok(Some("371625".into())));
        assert_eq!(applicant_list_scope(&county, Some("371625")), Ok(Some("371625".into())));
        assert!(applicant_list_scope(&county, Some("371681")).is_err());
        let city = actor("c", "office_admin", "371600");
        assert_eq!(applicant_list_scope(&city, None), Ok(None));
        assert_eq!(applicant_list_scope(&city, Some("371681")), Ok(Some("371681".into())));
        assert_eq!(applicant_list_scope(&actor("v", "supervisor", "371625"), None), Ok(None));
        for role in ["applicant", "officer", "expert", "integrator"] {
            assert!(applicant_list_scope(&actor("x", role, "371600"), None).is_err(), "{role}");
        }
    }

    #[test]
    fn project_codes() {
        assert!(is_project_code("2026-371625-26-03-012345"));
        assert!(!is_project_code("2026-371625-26-03-01234"));
        assert!(!is_project_code("2026-37162A-26-03-012345"));
    }

    #[test]
    fn least_load_then_lowest_number() {
        let c = vec![
            ("a".to_string(), "BB02".to_string()),
            ("b".to_string(), "BB01".to_string()),
            ("c".into(), "BB03".into()),
        ];
        let mut load = HashMap::new();
        assert_eq!(least_loaded(&c, &load), Some("b"));
        load.insert("b".to_string(), 2);
        load.insert("a".to_string(), 1);
        assert_eq!(least_loaded(&c, &load), Some("c"));
        load.insert("c".to_string(), 1);
        assert_eq!(least_loaded(&c, &load), Some("a"));
        assert_eq!(least_loaded(&[], &load), None);
    }
}
