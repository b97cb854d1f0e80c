//! Intake's contract (受理): its service operations, their requests and replies, and its events.

pub mod consultation;
pub mod results;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// The service's name on the bus (`bb.svc.intake.*`, `ce-source: /bangban/intake`).
pub const SERVICE: &str = "intake";

/// Operations of `bb.svc.intake.<operation>`.
pub mod ops {
    crate::operations! { service = super::SERVICE, module = "intake";
        /// Accept a new case
        CaseCreate = "case.create": super::CreateCase => super::CaseView;
        /// Read one case
        CaseGet = "case.get": super::GetCase => super::CaseView;
        /// Every office
        OfficeList = "office.list": super::ListOffices => Vec<super::OfficeView>;
        /// Staff, filtered
        StaffList = "staff.list": super::ListStaff => Vec<super::StaffView>;
        /// The ledger, filtered
        CaseList = "case.list": super::ListCases => super::CasePage;
        /// End a case (§7.8)
        CaseTerminate = "case.terminate": super::TerminateCase => super::CaseView;
        /// Hand a case to another specialist (§4.2.3)
        CaseChangeSpecialist = "case.change_specialist": super::ChangeSpecialist => super::CaseView;
        /// An applicant's personal data in full, audited
        ApplicantReveal = "applicant.reveal": super::RevealApplicant => super::RevealedApplicant;
        /// Register an applicant, or find the registered one
        ApplicantRegister = "applicant.register": super::RegisterApplicant => super::Registered<super::ApplicantView>;
        /// Applicants, masked, within the actor's reach
        ApplicantList = "applicant.list": super::ApplicantQuery => super::ApplicantPage;
        /// Register a project
        ProjectRegister = "project.register": super::RegisterProject => super::ProjectView;
        /// Projects
        ProjectList = "project.list": super::ListProjects => super::ProjectPage;
        /// How to reach applicants and staff, for notification only — numbers travel encrypted under the
        /// platform's PII key.
        ContactResolve = "contact.resolve": super::ResolveContacts => super::ResolvedContacts;
    }
}

crate::labelled_enum! {
    /// Level of an office (机构层级, §4.1.3).
    #[derive(ToSchema)]
    pub enum OfficeLevel {
        /// 市级
        City = "city", "市级";
        /// 县（市、区）级
        County = "county", "县（市、区）级";
    }
}

/// An office (帮办代办工作机构).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OfficeView {
    #[schema(example = "371625")]
    pub code: String,
    #[schema(example = "博兴县")]
    pub name: String,
    pub level: OfficeLevel,
    pub address: Option<String>,
    pub phone: Option<String>,
}

/// Request of [`ops::OfficeList`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListOffices {}

/// A member of staff (工作人员) as others see them: what the contact card publishes (§4.2.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StaffView {
    #[schema(example = "staff-371625-assistant-1")]
    pub id: String,
    pub name: String,
    /// Role of DOMAIN.md (`assistant`, `agent`, `office_admin`, …).
    pub role: String,
    pub office: String,
    pub unit: Option<String>,
    /// Public number (编号).
    pub number: String,
    /// Position (职务).
    pub position: String,
    /// Published work phone (联系电话).
    pub phone: String,
    pub photo_url: Option<String>,
    /// Service items (服务项目).
    pub service_items: Vec<String>,
    pub active: bool,
}

/// Request of [`ops::StaffList`]: every filter optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListStaff {
    /// Only this office's staff.
    pub office: Option<String>,
    /// Only this role.
    pub role: Option<String>,
}

crate::labelled_enum! {
    /// Kind of service (服务类型, §3.3–§3.4).
    #[derive(ToSchema)]
    pub enum ServiceType {
        /// 帮办: the applicant stays the applicant; the specialist guides and coordinates.
        Assist = "assist", "帮办";
        /// 代办: after a signed agreement and a passed formal review, the agent acts for the applicant.
        Commission = "commission", "代办";
    }
}

crate::labelled_enum! {
    /// Kind of applicant (服务对象类型).
    #[derive(ToSchema)]
    pub enum ApplicantKind {
        /// 自然人
        NaturalPerson = "natural_person", "自然人";
        /// 法人
        LegalPerson = "legal_person", "法人";
        /// 其他组织
        OtherOrganisation = "other_organisation", "其他组织";
    }
}

crate::labelled_enum! {
    /// Project category (项目类别, §7.3.2).
    #[derive(ToSchema)]
    pub enum ProjectCategory {
        /// 政府投资房屋建筑类
        GovHousing = "gov_housing", "政府投资房屋建筑类";
        /// 市政公用线性工程类
        MunicipalLinear = "municipal_linear", "市政公用线性工程类";
        /// 一般工业
        Industrial = "industrial", "一般工业";
        /// 社会投资房地产开发
        RealEstate = "real_estate", "社会投资房地产开发";
        /// 老旧小区改造
        OldCommunity = "old_community", "老旧小区改造";
        /// 带方案出让社会投资
        LandWithScheme = "land_with_scheme", "带方案出让社会投资";
        /// 其他
        Other = "other", "其他";
    }
}

crate::labelled_enum! {
    /// Where a case is in its lifecycle (案件状态, §7).
    #[derive(ToSchema)]
    pub enum CaseStatus {
        /// 对接需求
        Consulting = "consulting", "对接需求";
        /// 已受理
        Accepted = "accepted", "已受理";
        /// 已制定方案
        Planned = "planned", "已制定方案";
        /// 办理中
        InProgress = "in_progress", "办理中";
        /// 已告知结果
        ResultsDelivered = "results_delivered", "已告知结果";
        /// 已归档
        Archived = "archived", "已归档";
        /// 已终止
        Terminated = "terminated", "已终止";
    }
}

crate::labelled_enum! {
    /// Why a service ends before its results (终止服务原因, §7.8 a–f). The Chinese label is the item's text in
    /// DB3716/T 2—2022 §7.8, verbatim without the final full stop (条款原文).
    #[derive(ToSchema)]
    pub enum TerminationReason {
        /// (a) 服务对象主动要求终止的 — the applicant asks to end the service.
        ApplicantRequest = "applicant_request", "服务对象主动要求终止的";
        /// (b) 申请材料不符合法定条件、标准，且不能按时补正的 — the materials fail the legal conditions or
        /// standards and cannot be corrected in time.
        MaterialsNotCorrected = "materials_not_corrected", "申请材料不符合法定条件、标准，且不能按时补正的";
        /// (c) 因市场需求、建设条件等发生重大变化，不能继续有效实施的项目 — market demand or construction
        /// conditions changed so much that the project cannot go on.
        ConditionsChanged = "conditions_changed", "因市场需求、建设条件等发生重大变化，不能继续有效实施的项目";
        /// (d) 因法律、法规等修改、废止或者国家政策调整的原因不能继续审批的 — laws or regulations were amended
        /// or repealed, or national policy changed, so approval cannot go on.
        LawOrPolicyChanged = "law_or_policy_changed", "因法律、法规等修改、废止或者国家政策调整的原因不能继续审批的";
        /// (e) 违反国家和省有关法律法规规定，…出现重大责任事故或重大问题，造成严重影响的项目 — a serious
        /// violation, major accident or major problem (work safety, business conduct, environment, credit).
        MajorViolation = "major_violation", "违反国家和省有关法律法规规定，在安全生产、企业经营、环境保护、社会信用等方面出现重大责任事故或重大问题，造成严重影响的项目";
        /// (f) 其他需要终止的情形 — any other reason to end the service.
        Other = "other", "其他需要终止的情形";
    }
}

impl TerminationReason {
    /// The item letter in §7.8 (条款项号): `'a'` … `'f'`.
    pub fn letter(&self) -> char {
        match self {
            Self::ApplicantRequest => 'a',
            Self::MaterialsNotCorrected => 'b',
            Self::ConditionsChanged => 'c',
            Self::LawOrPolicyChanged => 'd',
            Self::MajorViolation => 'e',
            Self::Other => 'f',
        }
    }

    /// The reason of an item letter of §7.8 (`'a'` … `'f'`, either case).
    pub fn from_letter(letter: char) -> Option<Self> {
        Self::ALL.iter().copied().find(|r| r.letter() == letter.to_ascii_lowercase())
    }

    /// The reason in English (an explanation, not a translation of record).
    pub fn label_en(&self) -> &'static str {
        match self {
            Self::ApplicantRequest => "the applicant asked to end the service",
            Self::MaterialsNotCorrected => {
                "the application materials do not meet the legal conditions or standards and cannot be corrected \
                 in time"
            }
            Self::ConditionsChanged => {
                "market demand, construction conditions or the like changed materially and the project cannot \
                 effectively go on"
            }
            Self::LawOrPolicyChanged => {
                "laws or regulations were amended or repealed, or national policy changed, so approval cannot go on"
            }
            Self::MajorViolation => {
                "the project breached national or provincial law, with a major accident or major problem in work \
                 safety, business operation, environmental protection, social credit or the like, causing serious \
                 harm"
            }
            Self::Other => "another reason to end the service",
        }
    }
}

/// The applicant of a new case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApplicant {
    pub kind: ApplicantKind,
    /// Name of the person or organisation (1–100 characters).
    #[schema(example = "滨州市某某置业有限公司")]
    pub name: String,
    /// Resident ID number (居民身份证号码, GB 11643) — required for a natural person.
    #[serde(default)]
    pub id_number: Option<String>,
    /// Unified social credit code (统一社会信用代码, GB 32100) — required for an organisation.
    #[serde(default)]
    #[schema(example = "91371625MA3C000000")]
    pub credit_code: Option<String>,
    /// Mobile number for SMS notices (手机号码).
    #[serde(default)]
    #[schema(example = "13812341234")]
    pub phone: Option<String>,
    /// The organisation's contact person (联系人).
    #[serde(default)]
    pub contact_person: Option<String>,
}

/// The project of a new case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProject {
    /// Project name (1–200 characters).
    #[schema(example = "博兴县经济开发区年产5万吨新材料项目")]
    pub name: String,
    pub category: ProjectCategory,
    /// Division code of the office whose area the project lies in.
    #[schema(example = "371625")]
    pub office: String,
    /// Investment project code (项目代码), `YYYY-XXXXXX-XX-XX-XXXXXX`, once the project is registered.
    #[serde(default)]
    #[schema(example = "2026-371625-26-03-012345")]
    pub code: Option<String>,
    /// Total investment in 万元 (10 000 yuan).
    #[serde(default)]
    pub investment_wan: Option<f64>,
    /// Land area in square metres.
    #[serde(default)]
    pub land_area_m2: Option<f64>,
    /// Floor area in square metres.
    #[serde(default)]
    pub floor_area_m2: Option<f64>,
    /// A newly settled project (新落户项目), which may need a joint meeting (§7.1).
    #[serde(default)]
    pub newly_settled: bool,
    /// Who invests (投资主体); planning assumes the category's usual investor when absent.
    #[serde(default)]
    pub investment_kind: Option<crate::project::InvestmentKind>,
    /// How the land is supplied (土地供应方式); the category's usual way when absent.
    #[serde(default)]
    pub land_supply: Option<crate::project::LandSupply>,
    /// New construction or work on an existing building (建设性质); the category's usual kind when absent.
    #[serde(default)]
    pub construction: Option<crate::project::ConstructionKind>,
}

/// The written commission agreement (委托代办协议, §7.2): required for a commission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Agreement {
    /// The parties (委托方、受托方).
    pub parties: Vec<String>,
    /// What is commissioned (代办事项范围).
    pub scope: String,
    /// Signing date.
    pub signed_on: chrono::NaiveDate,
    /// Last day of validity.
    pub valid_until: chrono::NaiveDate,
}

/// One material's formal review (形式审核): complete, authentic, valid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MaterialCheck {
    /// The material (材料名称).
    pub name: String,
    /// 完整性
    pub complete: bool,
    /// 真实性
    pub authentic: bool,
    /// 有效性
    pub valid: bool,
    #[serde(default)]
    pub note: Option<String>,
}

/// Body of `POST /api/v1/cases`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCase {
    pub service_type: ServiceType,
    /// Division code of the accepting office (受理机构).
    #[schema(example = "371600")]
    pub office: String,
    /// A new applicant — or `applicant_id` of a registered one.
    #[serde(default)]
    pub applicant: Option<NewApplicant>,
    #[serde(default)]
    pub applicant_id: Option<Uuid>,
    /// A new project — or `project_id` of a registered one.
    #[serde(default)]
    pub project: Option<NewProject>,
    #[serde(default)]
    pub project_id: Option<Uuid>,
    /// The specialist to assign; unset: the least loaded assistant (assist) or agent (commission)
    /// of the accepting office.
    #[serde(default)]
    pub specialist_id: Option<String>,
    /// Required for a commission.
    #[serde(default)]
    pub agreement: Option<Agreement>,
    /// The formal review of the materials; required (and all passed) for a commission.
    #[serde(default)]
    pub materials: Vec<MaterialCheck>,
}

/// Who asks: the authenticated person, passed with every command so the service can record it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub sub: String,
    pub role: String,
    pub office: String,
}

/// Request of [`ops::CaseCreate`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateCase {
    pub actor: Actor,
    pub case: NewCase,
}

/// Request of [`ops::CaseGet`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetCase {
    pub id: Uuid,
}

/// An applicant as shown in a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ApplicantView {
    pub id: Uuid,
    pub kind: ApplicantKind,
    pub name: String,
    /// Masked (`3701**********1234`); the full number only through the audited reveal call.
    pub id_number: Option<String>,
    pub credit_code: Option<String>,
    /// Masked (`138****1234`).
    pub phone: Option<String>,
    pub contact_person: Option<String>,
}

/// The contact card (联系卡, §4.2.2): one per applicant, re-issued when the specialist changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ContactCard {
    pub specialist_id: String,
    /// 姓名
    pub name: String,
    /// 编号
    pub number: String,
    /// 职务
    pub position: String,
    /// 照片
    pub photo_url: Option<String>,
    /// 联系电话 (the specialist's published work phone)
    pub phone: String,
    /// 服务项目
    pub service_items: Vec<String>,
    pub issued_at: DateTime<Utc>,
}

/// A project as shown in a case and in events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ProjectView {
    pub id: Uuid,
    pub name: String,
    pub category: ProjectCategory,
    pub office: String,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub investment_wan: Option<f64>,
    #[serde(default)]
    pub land_area_m2: Option<f64>,
    #[serde(default)]
    pub floor_area_m2: Option<f64>,
    #[serde(default)]
    pub newly_settled: bool,
    #[serde(default)]
    pub investment_kind: Option<crate::project::InvestmentKind>,
    #[serde(default)]
    pub land_supply: Option<crate::project::LandSupply>,
    #[serde(default)]
    pub construction: Option<crate::project::ConstructionKind>,
}

/// A case of the ledger (台账).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CaseView {
    pub id: Uuid,
    /// `BB-<office>-<year>-<6-digit sequence>`.
    #[schema(example = "BB-371600-2026-000123")]
    pub ledger_no: String,
    pub service_type: ServiceType,
    pub status: CaseStatus,
    pub office: String,
    pub applicant: ApplicantView,
    pub project: ProjectView,
    /// The one responsible specialist (§4.2.1).
    pub specialist_id: String,
    pub contact_card: ContactCard,
    /// Every item of the plan has concluded (办结待告知): the results can be delivered.
    #[serde(default)]
    pub ready_for_results: bool,
    /// Responsible units (责任单位) the case's tasks went to; their officers may read its archive.
    #[serde(default)]
    pub units: Vec<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Data of `case.accepted` (no personal data: the applicant by reference only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CaseAccepted {
    pub case_id: Uuid,
    pub ledger_no: String,
    pub service_type: ServiceType,
    pub office: String,
    pub applicant_id: Uuid,
    pub applicant_kind: ApplicantKind,
    pub project: ProjectView,
    pub specialist_id: String,
    pub accepted_by: String,
    pub accepted_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_case_rejects_unknown_category_and_fields() {
        let ok = serde_json::json!({
            "service_type": "assist", "office": "371600",
            "applicant": {"kind": "legal_person", "name": "某公司"},
            "project": {"name": "某项目", "category": "industrial", "office": "371625"}
        });
        let c: NewCase = serde_json::from_value(ok.clone()).unwrap();
        assert_eq!(c.project.unwrap().category, ProjectCategory::Industrial);
        let mut bad = ok.clone();
        bad["project"]["category"] = "castle".into();
        assert!(serde_json::from_value::<NewCase>(bad).is_err());
        let mut extra = ok;
        extra["surprise"] = 1.into();
        assert!(serde_json::from_value::<NewCase>(extra).is_err());
    }

    #[test]
    fn category_strings_round_trip() {
        for &c in ProjectCategory::ALL {
            assert_eq!(ProjectCategory::parse(c.as_str()), Some(c));
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
        }
    }
}

/// Data of `materials.reviewed`: the formal review recorded at acceptance (no personal data).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MaterialsReviewed {
    pub case_id: Uuid,
    pub office: String,
    pub service_type: ServiceType,
    /// Every material complete, authentic and valid.
    pub passed: bool,
    pub materials: Vec<MaterialCheck>,
    pub reviewed_by: String,
    pub reviewed_at: DateTime<Utc>,
}

/// Request of [`ops::CaseList`] and the query of `GET /api/v1/cases`: every filter optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListCases {
    /// Accepting office.
    pub office: Option<String>,
    pub status: Option<CaseStatus>,
    /// Specialist's staff id.
    pub specialist: Option<String>,
    pub category: Option<ProjectCategory>,
    /// Only this applicant's cases (always set for an applicant).
    pub applicant: Option<Uuid>,
    /// Text in the ledger number, the project's name or code, or the applicant's name.
    pub q: Option<String>,
    /// Page size, 1–200 (default 50).
    #[serde(default, deserialize_with = "crate::page::limit::<200, _>")]
    #[param(minimum = 1, maximum = 200)]
    #[schema(minimum = 1, maximum = 200)]
    pub limit: Option<u64>,
    /// Rows to skip, 0–1 000 000 000 (default 0).
    #[serde(default, deserialize_with = "crate::page::offset")]
    #[param(minimum = 0, maximum = 1000000000)]
    #[schema(minimum = 0, maximum = 1000000000)]
    pub offset: Option<u64>,
}

/// One line of the ledger (台账).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CaseSummary {
    pub id: Uuid,
    pub ledger_no: String,
    pub service_type: ServiceType,
    pub status: CaseStatus,
    pub office: String,
    pub applicant_id: Uuid,
    pub applicant_name: String,
    pub project_name: String,
    pub category: ProjectCategory,
    pub specialist_id: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A page of the ledger, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CasePage {
    pub items: Vec<CaseSummary>,
    /// Cases matching the filters.
    pub total: u64,
    pub limit: u64,
    pub offset: u64,
}

/// Body of `POST /api/v1/cases/{id}/terminate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Termination {
    pub reason: TerminationReason,
    /// What happened (说明), 1–2000 characters.
    pub note: String,
}

/// Request of [`ops::CaseTerminate`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TerminateCase {
    pub actor: Actor,
    pub id: Uuid,
    pub termination: Termination,
}

/// Body of `POST /api/v1/cases/{id}/specialist`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SpecialistChange {
    /// The new specialist; unset: the least loaded one of the office other than the current.
    pub specialist_id: Option<String>,
    /// Why (调整原因), told to the applicant.
    pub reason: String,
}

/// Request of [`ops::CaseChangeSpecialist`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeSpecialist {
    pub actor: Actor,
    pub id: Uuid,
    pub change: SpecialistChange,
}

/// Data of `case.specialist_changed`: who takes over, so the applicant gets the new card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SpecialistChanged {
    pub case_id: Uuid,
    pub ledger_no: String,
    pub office: String,
    pub applicant_id: Uuid,
    pub from_specialist: String,
    pub to_specialist: String,
    pub reason: String,
    pub changed_by: String,
    pub changed_at: DateTime<Utc>,
}

/// Data of `case.terminated`: what downstream services need to stop work on the case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CaseTerminated {
    pub case_id: Uuid,
    pub ledger_no: String,
    pub office: String,
    pub applicant_id: Uuid,
    pub specialist_id: String,
    /// The state it was in.
    pub previous_status: CaseStatus,
    pub reason: TerminationReason,
    /// The reason's letter in §7.8 (a–f).
    pub reason_letter: char,
    pub note: String,
    pub terminated_by: String,
    pub terminated_at: DateTime<Utc>,
}

/// Request of [`ops::ApplicantReveal`]: the full personal data of a case's applicant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevealApplicant {
    pub actor: Actor,
    pub case_id: Uuid,
    /// Why it is needed (查看事由), kept in the audit log.
    pub purpose: String,
}

/// Body of `POST /api/v1/cases/{id}/applicant/reveal`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevealRequest {
    /// Why it is needed (查看事由), 2–500 characters.
    pub purpose: String,
}

/// An applicant's personal data in full (returned only by the audited reveal call).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RevealedApplicant {
    pub applicant_id: Uuid,
    pub name: String,
    pub id_number: Option<String>,
    pub phone: Option<String>,
    /// The audit record of this reveal.
    pub audit_id: Uuid,
}

/// Request of [`ops::ApplicantRegister`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterApplicant {
    pub actor: Actor,
    pub applicant: NewApplicant,
}

/// A registration's result: the record, and whether it was new (201) or already there (200).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Registered<T> {
    pub created: bool,
    pub item: T,
}

/// The query of `GET /api/v1/applicants` (the filter of [`ApplicantQuery`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListApplicants {
    /// Only the applicants of this office (机构): registered by it, or with a case it accepted. A county's
    /// staff always get their own office's (asking for another is 403); the city office and supervisors
    /// every office's, or the one asked for.
    pub office: Option<String>,
    /// Text in the name or the credit code.
    pub q: Option<String>,
    pub kind: Option<ApplicantKind>,
    /// Page size, 1–200 (default 50).
    #[serde(default, deserialize_with = "crate::page::limit::<200, _>")]
    #[param(minimum = 1, maximum = 200)]
    #[schema(minimum = 1, maximum = 200)]
    pub limit: Option<u64>,
    /// Rows to skip, 0–1 000 000 000 (default 0).
    #[serde(default, deserialize_with = "crate::page::offset")]
    #[param(minimum = 0, maximum = 1000000000)]
    #[schema(minimum = 0, maximum = 1000000000)]
    pub offset: Option<u64>,
}

/// Request of [`ops::ApplicantList`]: who asks, and the filter. Intake scopes the list to the actor
/// itself (服务对象名录按机构隔离), whatever the caller passed on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicantQuery {
    pub actor: Actor,
    pub filter: ListApplicants,
}

/// A page of applicants (personal data masked).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ApplicantPage {
    pub items: Vec<ApplicantView>,
    pub total: u64,
    pub limit: u64,
    pub offset: u64,
}

/// Request of [`ops::ProjectRegister`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegisterProject {
    pub actor: Actor,
    pub project: NewProject,
}

/// Request of [`ops::ProjectList`] and the query of `GET /api/v1/projects`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListProjects {
    /// The office whose area the project lies in.
    pub office: Option<String>,
    pub category: Option<ProjectCategory>,
    /// Text in the name or the project code.
    pub q: Option<String>,
    /// Page size, 1–200 (default 50).
    #[serde(default, deserialize_with = "crate::page::limit::<200, _>")]
    #[param(minimum = 1, maximum = 200)]
    #[schema(minimum = 1, maximum = 200)]
    pub limit: Option<u64>,
    /// Rows to skip, 0–1 000 000 000 (default 0).
    #[serde(default, deserialize_with = "crate::page::offset")]
    #[param(minimum = 0, maximum = 1000000000)]
    #[schema(minimum = 0, maximum = 1000000000)]
    pub offset: Option<u64>,
}

/// A page of projects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ProjectPage {
    pub items: Vec<ProjectView>,
    pub total: u64,
    pub limit: u64,
    pub offset: u64,
}

/// Request of [`ops::ContactResolve`] (联系方式解析): the people notification must reach, by reference.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolveContacts {
    pub applicant_ids: Vec<Uuid>,
    pub staff_ids: Vec<String>,
}

/// An applicant's contact (服务对象联系方式). The number is never in clear on the bus: `phone_enc` is the
/// stored form of the platform's PII cipher (`v1:…`, AES-256-GCM under `BANGBAN__PII__KEY`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicantContact {
    pub applicant_id: Uuid,
    pub name: String,
    pub phone_enc: Option<String>,
}

/// A member of staff's contact (工作人员联系方式): the published card, and the number to text, encrypted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffContact {
    pub id: String,
    pub name: String,
    pub position: String,
    pub office: String,
    /// The published work phone (联系电话), as the contact card shows it.
    pub office_phone: String,
    /// The number to text (the work phone when it is a mobile), encrypted as [`ApplicantContact::phone_enc`].
    pub phone_enc: Option<String>,
    pub active: bool,
}

/// Reply of [`ops::ContactResolve`]: who was found (unknown references are left out).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedContacts {
    pub applicants: Vec<ApplicantContact>,
    pub staff: Vec<StaffContact>,
}
