//! Planning's contract (代办方案): the working-day calendar, the approval-item catalog (事项库), service plans
//! (办理事项清单) and their schedules (预排工期) — service operations, requests, replies and events.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    intake::{Actor, ProjectCategory, ProjectView},
    project::{ConstructionKind, InvestmentKind, LandSupply},
};

/// The service's name on the bus (`bb.svc.planning.*`, `ce-source: /bangban/planning`).
pub const SERVICE: &str = "planning";

/// Operations of `bb.svc.planning.<operation>`.
pub mod ops {
    crate::operations! { service = super::SERVICE, module = "planning";
        /// One date of the calendar
        CalendarDay = "calendar.day": super::GetDay => super::CalendarDay;
        /// The loaded years and overrides
        CalendarInfo = "calendar.info": super::GetCalendar => super::CalendarInfo;
        /// Working-day arithmetic
        CalendarCompute = "calendar.compute": super::CalendarQuery => super::CalendarAnswer;
        /// Load or replace a year's schedule
        CalendarLoadYear = "calendar.load_year": super::LoadYear => super::CalendarChange;
        /// Set a local closure or correction
        CalendarSetOverride = "calendar.set_override": super::SetOverride => super::CalendarChange;
        /// Remove an override
        CalendarRemoveOverride = "calendar.remove_override": super::RemoveOverride => super::CalendarChange;
        /// The catalog, filtered
        CatalogGet = "catalog.get": super::GetCatalog => super::CatalogView;
        /// Catalog versions, a page
        CatalogVersions = "catalog.versions": super::ListCatalogVersions => super::CatalogVersionPage;
        /// Add or replace one item: a new catalog version
        CatalogPutItem = "catalog.put_item": super::PutCatalogItem => super::CatalogVersionView;
        /// Remove one item: a new catalog version
        CatalogRemoveItem = "catalog.remove_item": super::RemoveCatalogItem => super::CatalogVersionView;
        /// A case's plan
        PlanGet = "plan.get": super::GetPlan => super::PlanView;
        /// A published version of a case's plan
        PlanVersion = "plan.version": super::GetPlanVersion => super::PlanVersionView;
        /// Generate the draft again from the catalog
        PlanRegenerate = "plan.regenerate": super::RegeneratePlan => super::PlanView;
        /// Add an item to the draft
        PlanAddItem = "plan.add_item": super::AddPlanItem => super::PlanView;
        /// Change an item of the draft
        PlanEditItem = "plan.edit_item": super::EditPlanItem => super::PlanView;
        /// Remove an item from the draft
        PlanRemoveItem = "plan.remove_item": super::RemovePlanItem => super::PlanView;
        /// Publish the draft as a new version
        PlanPublish = "plan.publish": super::PublishPlan => super::PlanView;
    }
}

// ---------------------------------------------------------------------------------------------------------
// Calendar (工作日历)
// ---------------------------------------------------------------------------------------------------------

/// Request of [`ops::CalendarDay`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetDay {
    pub date: NaiveDate,
}

/// One date (`GET /api/v1/calendar/{date}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CalendarDay {
    #[schema(value_type = String, format = Date, example = "2026-02-14")]
    pub date: NaiveDate,
    /// Whether it is a working day (工作日); make-up working days (调休上班) are.
    pub working_day: bool,
    /// Decided by the weekday rule only because its year's schedule is not loaded (暂定).
    pub provisional: bool,
    /// The holiday or override name (`春节`), `null` on an ordinary day.
    #[schema(example = "春节")]
    pub name: Option<String>,
}

/// Request of [`ops::CalendarInfo`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetCalendar {}

/// The state of the calendar: which years are loaded and which overrides are set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CalendarInfo {
    /// Increases with every change.
    pub revision: i64,
    /// Years with a loaded schedule; dates in other years are provisional.
    pub years: Vec<LoadedYear>,
    pub overrides: Vec<CalendarOverride>,
}

/// One loaded year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LoadedYear {
    pub year: i32,
    /// `embedded` (compiled in) or `loaded` (by an administrator).
    pub source: String,
    /// Where it was transcribed from (the State Council notice).
    pub papers: Vec<String>,
    /// Days off (放假) and make-up working days (调休上班) it lists.
    pub days_off: u32,
    pub make_up_days: u32,
    pub loaded_by: Option<String>,
    pub loaded_at: Option<DateTime<Utc>>,
}

/// A local closure or correction of one date (临时休息或更正).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CalendarOverride {
    #[schema(value_type = String, format = Date, example = "2026-07-20")]
    pub date: NaiveDate,
    /// `true`: a working day; `false`: a day off.
    pub working_day: bool,
    #[schema(example = "台风停工")]
    pub name: String,
    #[schema(example = "市政府临时通知")]
    pub reason: String,
    pub set_by: String,
    pub set_at: DateTime<Utc>,
}

/// What working-day arithmetic to do ([`ops::CalendarCompute`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum CalendarQuery {
    /// The `days`-th working day after `date`.
    AddWorkingDays {
        #[schema(value_type = String, format = Date)]
        date: NaiveDate,
        days: u32,
    },
    /// Working days in `(from, to]`.
    WorkingDaysBetween {
        #[schema(value_type = String, format = Date)]
        from: NaiveDate,
        #[schema(value_type = String, format = Date)]
        to: NaiveDate,
    },
    /// The first working day after `date`.
    NextWorkingDay {
        #[schema(value_type = String, format = Date)]
        date: NaiveDate,
    },
    /// The instant a deadline on `date` expires: the end of that working day in Asia/Shanghai.
    DeadlineInstant {
        #[schema(value_type = String, format = Date)]
        date: NaiveDate,
    },
}

/// The answer of a [`CalendarQuery`]: one of `date`, `days`, `instant`, with the provisional mark.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CalendarAnswer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Date)]
    pub date: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instant: Option<DateTime<Utc>>,
    pub provisional: bool,
}

/// Request of [`ops::CalendarLoadYear`]: a year's schedule in the holiday-cn day-list format
/// (`{year, papers?, days: [{name, date, isOffDay}]}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadYear {
    pub actor: Actor,
    pub year: i32,
    /// The document as given (validated by planning).
    pub schedule: serde_json::Value,
}

/// Body of `PUT /api/v1/calendar/overrides/{date}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OverrideBody {
    /// `true`: the date becomes a working day; `false`: a day off.
    pub working_day: bool,
    /// What the day is called (1–50 characters), e.g. `台风停工`.
    #[schema(example = "台风停工")]
    pub name: String,
    /// The notice or decision (2–500 characters).
    #[schema(example = "市政府2026年7月19日临时通知")]
    pub reason: String,
}

/// Request of [`ops::CalendarSetOverride`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetOverride {
    pub actor: Actor,
    pub date: NaiveDate,
    pub day: OverrideBody,
}

/// Request of [`ops::CalendarRemoveOverride`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoveOverride {
    pub actor: Actor,
    pub date: NaiveDate,
    pub reason: String,
}

/// What one calendar change did: the reply of every calendar write, and the data of `calendar.changed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CalendarChange {
    /// The calendar's revision after the change.
    pub revision: i64,
    pub change: CalendarChangeKind,
    /// Dates whose working-day status changed.
    #[schema(value_type = Vec<String>)]
    pub dates_changed: Vec<NaiveDate>,
    /// Open plans whose planned dates moved, with the items that moved (重新计算的预排工期).
    pub plans_rescheduled: Vec<RescheduledPlan>,
    pub changed_by: String,
    pub changed_at: DateTime<Utc>,
}

/// The kind of calendar change; carries everything another service needs to apply it to its own copy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CalendarChangeKind {
    /// A year's schedule was loaded or replaced; `schedule` is its day-list document.
    YearLoaded { year: i32, schedule: serde_json::Value },
    /// An override was set.
    OverrideSet { day: CalendarOverride },
    /// An override was removed.
    OverrideRemoved {
        #[schema(value_type = String, format = Date)]
        date: NaiveDate,
        reason: String,
    },
}

/// A plan whose schedule a calendar change moved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RescheduledPlan {
    pub case_id: Uuid,
    pub office: String,
    /// The published version whose dates moved (0 for a draft never published).
    pub version: u32,
    /// Items whose planned start or end moved.
    pub items: Vec<String>,
}

// ---------------------------------------------------------------------------------------------------------
// Catalog (事项库)
// ---------------------------------------------------------------------------------------------------------

crate::labelled_enum! {
    /// Approval stage (审批阶段). The four national stages, with the preparatory company registration before
    /// them and the utility connections beside them.
    #[derive(PartialOrd, Ord, ToSchema)]
    pub enum Stage {
        /// 企业开办（准备阶段）
        CompanyRegistration = "company_registration", "企业开办";
        /// 立项用地规划许可
        LandUsePlanning = "land_use_planning", "立项用地规划许可";
        /// 工程建设许可
        EngineeringPermit = "engineering_permit", "工程建设许可";
        /// 施工许可
        ConstructionPermit = "construction_permit", "施工许可";
        /// 竣工验收
        CompletionAcceptance = "completion_acceptance", "竣工验收";
        /// 市政公用服务接入（水电气暖）
        Utilities = "utilities", "市政公用服务接入";
    }
}

impl Stage {
    /// One of the four national stages (主流程).
    pub fn is_main_flow(&self) -> bool {
        !matches!(self, Self::CompanyRegistration | Self::Utilities)
    }

    /// Counted in the whole approval process (全流程: the four stages and the utility connections;
    /// company registration precedes it).
    pub fn is_whole_process(&self) -> bool {
        !matches!(self, Self::CompanyRegistration)
    }
}

crate::labelled_enum! {
    /// Responsible unit type (责任单位类型). Routing turns a type, a level and the project's location into one
    /// concrete unit.
    #[derive(PartialOrd, Ord, ToSchema)]
    pub enum UnitType {
        /// 发展和改革部门
        DevelopmentReform = "development_reform", "发展和改革部门";
        /// 自然资源和规划部门
        NaturalResources = "natural_resources", "自然资源和规划部门";
        /// 住房和城乡建设部门
        HousingConstruction = "housing_construction", "住房和城乡建设部门";
        /// 生态环境部门
        EcologyEnvironment = "ecology_environment", "生态环境部门";
        /// 水利部门
        WaterResources = "water_resources", "水利部门";
        /// 人民防空部门
        CivilAirDefense = "civil_air_defense", "人民防空部门";
        /// 行政审批服务局（相对集中行政许可权）
        AdministrativeApproval = "administrative_approval", "行政审批服务局";
        /// 市场监督管理部门
        MarketRegulation = "market_regulation", "市场监督管理部门";
        /// 公安机关
        PublicSecurity = "public_security", "公安机关";
        /// 税务部门
        Taxation = "taxation", "税务部门";
        /// 人力资源和社会保障部门
        HumanResources = "human_resources", "人力资源和社会保障部门";
        /// 文化和旅游（文物）部门
        CulturalHeritage = "cultural_heritage", "文化和旅游（文物）部门";
        /// 气象部门
        Meteorology = "meteorology", "气象部门";
        /// 交通运输部门
        Transport = "transport", "交通运输部门";
        /// 城市管理（综合执法）部门
        UrbanManagement = "urban_management", "城市管理部门";
        /// 应急管理部门
        EmergencyManagement = "emergency_management", "应急管理部门";
        /// 消防救援机构
        FireRescue = "fire_rescue", "消防救援机构";
        /// 不动产登记机构
        RealEstateRegistration = "real_estate_registration", "不动产登记机构";
        /// 城建档案馆
        UrbanArchives = "urban_archives", "城建档案馆";
        /// 施工图审查机构
        DrawingReview = "drawing_review", "施工图审查机构";
        /// 供水企业
        WaterSupply = "water_supply", "供水企业";
        /// 排水（污水）企业
        Drainage = "drainage", "排水企业";
        /// 供电企业
        PowerSupply = "power_supply", "供电企业";
        /// 燃气企业
        GasSupply = "gas_supply", "燃气企业";
        /// 供热企业
        HeatSupply = "heat_supply", "供热企业";
        /// 通信企业
        Telecom = "telecom", "通信企业";
    }
}

crate::labelled_enum! {
    /// At which level the item is handled (办理层级).
    #[derive(ToSchema)]
    pub enum Level {
        /// 省级
        Province = "province", "省级";
        /// 市级
        City = "city", "市级";
        /// 县级
        County = "county", "县级";
        /// 按项目属地（项目所在县区的单位；市辖区项目由市级单位办理）
        ByLocation = "by_location", "属地办理";
    }
}

/// A required material (申报材料).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Material {
    #[schema(example = "建设工程规划许可证申请表")]
    pub name: String,
    /// Always required (`true`) or only in some cases (`false`, see `note`).
    #[serde(default = "yes")]
    pub required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

fn yes() -> bool {
    true
}

/// Which projects an item applies to (适用条件). Every field narrows: an empty list or an absent bound
/// does not.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Applicability {
    /// Categories (§7.3.2); empty: every category.
    #[serde(default)]
    pub categories: Vec<ProjectCategory>,
    /// Investors; empty: both.
    #[serde(default)]
    pub investment: Vec<InvestmentKind>,
    /// Land supply methods; empty: any.
    #[serde(default)]
    pub land_supply: Vec<LandSupply>,
    /// Construction kinds; empty: any.
    #[serde(default)]
    pub construction: Vec<ConstructionKind>,
    /// Only from this total investment (万元) on; a project without a figure is included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_investment_wan: Option<f64>,
    /// Only below this total investment (万元); a project without a figure is included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_investment_wan: Option<f64>,
    /// Only from this floor area (m²) on; a project without a figure is included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_floor_area_m2: Option<f64>,
    /// Only for newly settled projects (新落户项目).
    #[serde(default)]
    pub newly_settled_only: bool,
    /// Not put into a generated plan; the specialist adds it when the project needs it (按需办理), e.g.
    /// items that depend on the site.
    #[serde(default)]
    pub on_demand: bool,
}

/// One approval item of the catalog (审批事项).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CatalogItem {
    /// Stable code, upper-case letters, digits and `-` (2–32), e.g. `LP-03`.
    #[schema(example = "EP-01")]
    pub code: String,
    #[schema(example = "建设工程规划许可证核发")]
    pub name: String,
    pub stage: Stage,
    pub unit_type: UnitType,
    pub level: Level,
    pub materials: Vec<Material>,
    /// Promised time limit in working days (承诺办结时限); 0 for items done on the spot (即办件).
    #[schema(example = 5)]
    pub promised_working_days: u32,
    /// Statutory time limit in working days (法定时限), when the law sets one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statutory_working_days: Option<u32>,
    /// Legal basis (设定依据).
    #[schema(example = "《中华人民共和国城乡规划法》第四十条")]
    pub legal_basis: String,
    /// Codes of the items that must conclude first (前置事项); absent ones are ignored in a plan.
    #[serde(default)]
    pub predecessors: Vec<String>,
    #[serde(default)]
    pub applies: Applicability,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The catalog as a data file and in each version (`services/planning/data/catalog.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CatalogDocument {
    /// Where the items were taken from.
    #[serde(default)]
    pub sources: Vec<String>,
    pub items: Vec<CatalogItem>,
}

/// Request of [`ops::CatalogGet`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GetCatalog {
    /// A past version; the current one when absent.
    #[serde(default)]
    pub version: Option<u32>,
    #[serde(default)]
    pub stage: Option<Stage>,
    /// Only items that apply to this category.
    #[serde(default)]
    pub category: Option<ProjectCategory>,
}

/// The catalog (`GET /api/v1/catalog`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CatalogView {
    pub version: u32,
    pub created_at: DateTime<Utc>,
    pub items: Vec<CatalogItem>,
}

/// Request of [`ops::CatalogVersions`] and the query of `GET /api/v1/catalog/versions`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListCatalogVersions {
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

/// Reply of [`ops::CatalogVersions`]: a page of catalog versions, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CatalogVersionPage {
    pub items: Vec<CatalogVersionView>,
    /// Every version there is.
    pub total: u64,
    pub limit: u64,
    pub offset: u64,
}

/// One catalog version (事项库版本).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CatalogVersionView {
    pub version: u32,
    /// `seed` for the data file, else `put_item` / `remove_item`.
    pub change: String,
    /// The item changed.
    pub code: Option<String>,
    pub reason: String,
    pub items: u32,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// Body of `PUT /api/v1/catalog/items/{code}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutCatalogItemBody {
    pub item: CatalogItem,
    /// Why (2–500 characters).
    #[schema(example = "依据市政府最新承诺时限调整")]
    pub reason: String,
    /// The version this edit was made against; 409 when the catalog has moved on.
    #[serde(default)]
    pub expected_version: Option<u32>,
}

/// Request of [`ops::CatalogPutItem`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PutCatalogItem {
    pub actor: Actor,
    pub code: String,
    pub body: PutCatalogItemBody,
}

/// Body of `POST /api/v1/catalog/items/{code}/remove`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    /// Why (2–500 characters).
    #[schema(example = "该事项已取消")]
    pub reason: String,
    #[serde(default)]
    pub expected_version: Option<u32>,
}

/// Request of [`ops::CatalogRemoveItem`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoveCatalogItem {
    pub actor: Actor,
    pub code: String,
    pub body: ReasonBody,
}

// ---------------------------------------------------------------------------------------------------------
// Plans (代办方案) and schedules (预排工期)
// ---------------------------------------------------------------------------------------------------------

crate::labelled_enum! {
    /// Plan status.
    #[derive(ToSchema)]
    pub enum PlanStatus {
        /// Never published (草拟).
        Draft = "draft", "草拟";
        /// A version is published; the draft may hold further edits (`draft_changes`).
        Published = "published", "已发布";
        /// Every item concluded (办结).
        Completed = "completed", "已办结";
        /// The case was terminated (终止).
        Withdrawn = "withdrawn", "已撤回";
    }
}

/// The project attributes a plan was generated from, with the values planning assumed where the project
/// gave none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PlanProfile {
    pub category: ProjectCategory,
    pub investment: InvestmentKind,
    pub land_supply: LandSupply,
    pub construction: ConstructionKind,
    #[serde(default)]
    pub investment_wan: Option<f64>,
    #[serde(default)]
    pub floor_area_m2: Option<f64>,
    #[serde(default)]
    pub newly_settled: bool,
    /// Which of the above were assumed from the category (`investment`, `land_supply`, `construction`).
    #[serde(default)]
    pub assumed: Vec<String>,
}

crate::labelled_enum! {
    /// Where an item of a plan came from.
    #[derive(ToSchema)]
    pub enum ItemOrigin {
        /// Generated from the catalog for the project's category and attributes.
        Generated = "generated", "按事项库生成";
        /// Added by the specialist.
        Added = "added", "专员添加";
    }
}

/// One item of a plan (办理事项清单中的一项).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PlanItem {
    pub code: String,
    pub name: String,
    pub stage: Stage,
    pub unit_type: UnitType,
    pub level: Level,
    /// A concrete responsible unit the specialist chose (routing's directory code); routing resolves
    /// `unit_type` + `level` + the project's location when absent.
    #[serde(default)]
    pub unit_code: Option<String>,
    pub materials: Vec<Material>,
    pub promised_working_days: u32,
    pub legal_basis: String,
    /// Codes of items of this plan that must conclude first.
    pub predecessors: Vec<String>,
    pub origin: ItemOrigin,
    /// The specialist's note (e.g. why the time was changed).
    #[serde(default)]
    pub note: Option<String>,
}

/// One item's place in the schedule (预排工期).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ScheduledItem {
    pub code: String,
    pub name: String,
    pub stage: Stage,
    /// First and last working day planned for it (a 0-day item starts and ends on the same day).
    #[schema(value_type = String, format = Date)]
    pub start: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub end: NaiveDate,
    pub working_days: u32,
    /// Working days it may slip without moving the end of the plan (总时差).
    pub slack: u32,
    /// On the critical path (关键路径).
    pub critical: bool,
    /// Its dates rest on a year whose holidays are not loaded yet (暂定).
    pub provisional: bool,
}

/// A stage's span in the schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StageSpan {
    pub stage: Stage,
    #[schema(value_type = String, format = Date)]
    pub start: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub end: NaiveDate,
    /// Working days from its first item's start to its last item's end.
    pub working_days: u32,
    pub items: u32,
}

/// A time target (时限目标) and how the plan meets it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TargetCheck {
    /// `whole_process` (全流程) or `main_flow` (主流程).
    pub target: String,
    pub label_zh: String,
    pub limit_working_days: u32,
    pub planned_working_days: u32,
    /// Working days over the limit, 0 when met.
    pub excess_working_days: u32,
    pub met: bool,
}

/// The schedule of a plan: every item, every stage, the critical path and the targets (Gantt data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Schedule {
    #[schema(value_type = String, format = Date)]
    pub start: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub end: NaiveDate,
    /// Working days from the first start to the last end (总工期).
    pub total_working_days: u32,
    /// Some date rests on a year whose holidays are not loaded yet (暂定).
    pub provisional: bool,
    /// In plan order.
    pub items: Vec<ScheduledItem>,
    /// In stage order, stages without items left out.
    pub stages: Vec<StageSpan>,
    /// Codes of the longest chain, first to last (关键路径).
    pub critical_path: Vec<String>,
    pub targets: Vec<TargetCheck>,
}

/// One recorded edit of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PlanEdit {
    /// `generated`, `regenerated`, `added`, `changed`, `removed`, `published`, `rescheduled`, `withdrawn`, `completed`.
    pub action: String,
    pub code: Option<String>,
    pub reason: Option<String>,
    pub actor: String,
    pub at: DateTime<Utc>,
}

/// What a publication adds, changes and withdraws compared with the previous version.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PlanChanges {
    pub added: Vec<String>,
    /// Items whose unit, materials, time limit or predecessors changed.
    pub changed: Vec<String>,
    pub withdrawn: Vec<String>,
}

impl PlanChanges {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.changed.is_empty() && self.withdrawn.is_empty()
    }
}

/// A case's plan (`GET /api/v1/cases/{id}/plan`): the working copy, with its schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PlanView {
    pub case_id: Uuid,
    pub ledger_no: String,
    pub office: String,
    pub project: ProjectView,
    pub specialist_id: String,
    /// The last published version, 0 before the first publication.
    pub version: u32,
    pub status: PlanStatus,
    /// The working copy differs from the published version.
    pub draft_changes: bool,
    /// What publishing now would add, change and withdraw.
    pub pending_changes: PlanChanges,
    /// Increases with every edit; send it back as `expected_revision` to refuse stale edits.
    pub revision: u32,
    /// The catalog version the plan was generated from.
    pub catalog_version: u32,
    pub profile: PlanProfile,
    #[schema(value_type = String, format = Date)]
    pub start_on: NaiveDate,
    pub items: Vec<PlanItem>,
    pub schedule: Schedule,
    pub history: Vec<PlanEdit>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub published_at: Option<DateTime<Utc>>,
}

/// Request of [`ops::PlanGet`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetPlan {
    pub case_id: Uuid,
}

/// Request of [`ops::PlanVersion`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetPlanVersion {
    pub case_id: Uuid,
    pub version: u32,
}

/// A published version, as it was published.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PlanVersionView {
    pub case_id: Uuid,
    pub version: u32,
    pub catalog_version: u32,
    pub items: Vec<PlanItem>,
    pub schedule: Schedule,
    pub changes: PlanChanges,
    pub note: Option<String>,
    pub published_by: String,
    pub published_at: DateTime<Utc>,
}

/// Body of `POST /api/v1/cases/{id}/plan/regenerate`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegenerateBody {
    /// Why (2–500 characters).
    pub reason: String,
    /// Correct the project's attributes the plan is generated from.
    #[serde(default)]
    pub investment: Option<InvestmentKind>,
    #[serde(default)]
    pub land_supply: Option<LandSupply>,
    #[serde(default)]
    pub construction: Option<ConstructionKind>,
    /// First working day of the schedule; the plan keeps its start when absent.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date)]
    pub start_on: Option<NaiveDate>,
    #[serde(default)]
    pub expected_revision: Option<u32>,
}

/// Request of [`ops::PlanRegenerate`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegeneratePlan {
    pub actor: Actor,
    pub case_id: Uuid,
    pub body: RegenerateBody,
}

/// Body of `POST /api/v1/cases/{id}/plan/items`: add a catalog item, or an item of the specialist's own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddItemBody {
    /// A catalog code; the item is copied from the plan's catalog version unless `item` is given.
    #[schema(example = "EP-06")]
    pub code: String,
    /// An item not in the catalog (its `code` must equal `code`).
    #[serde(default)]
    pub item: Option<CatalogItem>,
    /// Why (2–500 characters).
    pub reason: String,
    #[serde(default)]
    pub expected_revision: Option<u32>,
}

/// Request of [`ops::PlanAddItem`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AddPlanItem {
    pub actor: Actor,
    pub case_id: Uuid,
    pub body: AddItemBody,
}

/// Body of `PATCH /api/v1/cases/{id}/plan/items/{code}`: every field given is changed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditItemBody {
    #[serde(default)]
    pub unit_type: Option<UnitType>,
    #[serde(default)]
    pub level: Option<Level>,
    /// A concrete unit code; `""` clears it.
    #[serde(default)]
    pub unit_code: Option<String>,
    #[serde(default)]
    pub promised_working_days: Option<u32>,
    #[serde(default)]
    pub materials: Option<Vec<Material>>,
    #[serde(default)]
    pub predecessors: Option<Vec<String>>,
    #[serde(default)]
    pub note: Option<String>,
    /// Why (2–500 characters).
    pub reason: String,
    #[serde(default)]
    pub expected_revision: Option<u32>,
}

/// Request of [`ops::PlanEditItem`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EditPlanItem {
    pub actor: Actor,
    pub case_id: Uuid,
    pub code: String,
    pub body: EditItemBody,
}

/// Request of [`ops::PlanRemoveItem`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemovePlanItem {
    pub actor: Actor,
    pub case_id: Uuid,
    pub code: String,
    pub body: RemoveItemBody,
}

/// Body of `POST /api/v1/cases/{id}/plan/items/{code}/remove`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoveItemBody {
    /// Why (2–500 characters).
    pub reason: String,
    #[serde(default)]
    pub expected_revision: Option<u32>,
}

/// Body of `POST /api/v1/cases/{id}/plan/publish`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishBody {
    /// A note to the units and the applicant (0–500 characters).
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub expected_revision: Option<u32>,
}

/// Request of [`ops::PlanPublish`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishPlan {
    pub actor: Actor,
    pub case_id: Uuid,
    pub body: PublishBody,
}

/// One item as `plan.published` carries it: everything routing and deadline need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PublishedItem {
    pub code: String,
    pub name: String,
    pub stage: Stage,
    pub unit_type: UnitType,
    pub level: Level,
    #[serde(default)]
    pub unit_code: Option<String>,
    pub materials: Vec<Material>,
    pub promised_working_days: u32,
    pub legal_basis: String,
    pub predecessors: Vec<String>,
    #[schema(value_type = String, format = Date)]
    pub planned_start: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub planned_end: NaiveDate,
    pub critical: bool,
    pub provisional: bool,
}

/// Data of `plan.published` (on `bb.evt.<accepting office>.plan.published`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PlanPublished {
    pub case_id: Uuid,
    pub ledger_no: String,
    /// The accepting office (受理机构), which starts any linked handling (§7.4.2).
    pub office: String,
    pub version: u32,
    pub category: ProjectCategory,
    pub project_id: Uuid,
    /// Where the project lies (the office of its county), for routing `by_location` items.
    pub project_office: String,
    pub project_name: String,
    /// The applicant by reference only (联系人引用); notification looks up how to reach them.
    pub applicant_id: Uuid,
    pub specialist_id: String,
    pub catalog_version: u32,
    pub items: Vec<PublishedItem>,
    #[schema(value_type = String, format = Date)]
    pub planned_start: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub planned_end: NaiveDate,
    pub total_working_days: u32,
    pub critical_path: Vec<String>,
    pub provisional: bool,
    /// Against the previous version (everything `added` in version 1).
    pub changes: PlanChanges,
    pub note: Option<String>,
    pub published_by: String,
    pub published_at: DateTime<Utc>,
}

/// Data of `plan.revised`: a calendar change moved a published plan's planned dates (no new version).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PlanRevised {
    pub case_id: Uuid,
    pub office: String,
    pub version: u32,
    /// The calendar revision that caused it.
    pub calendar_revision: i64,
    pub items: Vec<RevisedItem>,
    #[schema(value_type = String, format = Date)]
    pub planned_end: NaiveDate,
    pub total_working_days: u32,
    pub provisional: bool,
}

/// An item's new planned dates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RevisedItem {
    pub code: String,
    #[schema(value_type = String, format = Date)]
    pub planned_start: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub planned_end: NaiveDate,
    pub provisional: bool,
}
