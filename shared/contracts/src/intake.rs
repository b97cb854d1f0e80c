//! Intake's contract (受理): its service operations, their requests and replies, and its events.

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
}

/// The project of a new case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProject {
    /// Project name (1–200 characters).
    #[schema(example = "博兴县经济开发区年产5万吨新材料项目")]
    pub name: String,
    pub category: ProjectCategory,
    /// Division code of the office whose area the project lies in.
    #[schema(example = "371625")]
    pub office: String,
}

/// Body of `POST /api/v1/cases`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCase {
    pub service_type: ServiceType,
    /// Division code of the accepting office (受理机构).
    #[schema(example = "371600")]
    pub office: String,
    pub applicant: NewApplicant,
    pub project: NewProject,
}

/// Who asks: the authenticated person, passed with every command so the service can record it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub sub: String,
    pub role: String,
    pub office: String,
}

/// Request of [`ops::CASE_CREATE`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
}

/// A project as shown in a case and in events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProjectView {
    pub id: Uuid,
    pub name: String,
    pub category: ProjectCategory,
    pub office: String,
}

/// A case of the ledger (台账).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
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
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Data of `case.accepted` (no personal data: the applicant by reference only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CaseAccepted {
    pub case_id: Uuid,
    pub ledger_no: String,
    pub service_type: ServiceType,
    pub office: String,
    pub applicant_id: Uuid,
    pub applicant_kind: ApplicantKind,
    pub project: ProjectView,
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
        assert_eq!(c.project.category, ProjectCategory::Industrial);
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
