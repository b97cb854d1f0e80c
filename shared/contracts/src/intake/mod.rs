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
    /// Accept a new case ([`super::CreateCase`] → [`super::CaseView`]).
    pub const CASE_CREATE: &str = "case.create";
    /// Read one case ([`super::GetCase`] → [`super::CaseView`]).
    pub const CASE_GET: &str = "case.get";
    /// Every office ([`super::ListOffices`] → `Vec<`[`super::OfficeView`]`>`).
    pub const OFFICE_LIST: &str = "office.list";
    /// Staff, filtered ([`super::ListStaff`] → `Vec<`[`super::StaffView`]`>`).
    pub const STAFF_LIST: &str = "staff.list";
}

/// Level of an office (§4.1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OfficeLevel {
    /// 市级
    City,
    /// 县（市、区）级
    County,
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

/// Request of [`ops::OFFICE_LIST`].
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

/// Request of [`ops::STAFF_LIST`]: every filter optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListStaff {
    /// Only this office's staff.
    pub office: Option<String>,
    /// Only this role.
    pub role: Option<String>,
}

/// Kind of service (服务类型, §3.3–§3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ServiceType {
    /// 帮办: the applicant stays the applicant; the specialist guides and coordinates.
    Assist,
    /// 代办: after a signed agreement and a passed formal review, the agent acts for the applicant.
    Commission,
}

impl ServiceType {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Assist => "assist",
            Self::Commission => "commission",
        }
    }
}

/// Kind of applicant (服务对象).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApplicantKind {
    /// 自然人
    NaturalPerson,
    /// 法人
    LegalPerson,
    /// 其他组织
    OtherOrganisation,
}

impl ApplicantKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::NaturalPerson => "natural_person",
            Self::LegalPerson => "legal_person",
            Self::OtherOrganisation => "other_organisation",
        }
    }
}

/// Project category (项目类别, §7.3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProjectCategory {
    /// 政府投资房屋建筑类
    GovHousing,
    /// 市政公用线性工程类
    MunicipalLinear,
    /// 一般工业
    Industrial,
    /// 社会投资房地产开发
    RealEstate,
    /// 老旧小区改造
    OldCommunity,
    /// 带方案出让社会投资
    LandWithScheme,
    /// 其他
    Other,
}

impl ProjectCategory {
    pub const ALL: [ProjectCategory; 7] = [
        Self::GovHousing,
        Self::MunicipalLinear,
        Self::Industrial,
        Self::RealEstate,
        Self::OldCommunity,
        Self::LandWithScheme,
        Self::Other,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::GovHousing => "gov_housing",
            Self::MunicipalLinear => "municipal_linear",
            Self::Industrial => "industrial",
            Self::RealEstate => "real_estate",
            Self::OldCommunity => "old_community",
            Self::LandWithScheme => "land_with_scheme",
            Self::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// The Chinese name people read.
    pub fn label_zh(&self) -> &'static str {
        match self {
            Self::GovHousing => "政府投资房屋建筑类",
            Self::MunicipalLinear => "市政公用线性工程类",
            Self::Industrial => "一般工业",
            Self::RealEstate => "社会投资房地产开发",
            Self::OldCommunity => "老旧小区改造",
            Self::LandWithScheme => "带方案出让社会投资",
            Self::Other => "其他",
        }
    }
}

/// Where a case is in its lifecycle (§7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    /// 对接需求
    Consulting,
    /// 已受理
    Accepted,
    /// 已制定方案
    Planned,
    /// 办理中
    InProgress,
    /// 已告知结果
    ResultsDelivered,
    /// 已归档
    Archived,
    /// 已终止
    Terminated,
}

impl CaseStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Consulting => "consulting",
            Self::Accepted => "accepted",
            Self::Planned => "planned",
            Self::InProgress => "in_progress",
            Self::ResultsDelivered => "results_delivered",
            Self::Archived => "archived",
            Self::Terminated => "terminated",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Consulting,
            Self::Accepted,
            Self::Planned,
            Self::InProgress,
            Self::ResultsDelivered,
            Self::Archived,
            Self::Terminated,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
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

/// Request of [`ops::CASE_CREATE`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateCase {
    pub actor: Actor,
    pub case: NewCase,
}

/// Request of [`ops::CASE_GET`].
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
        for c in ProjectCategory::ALL {
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
