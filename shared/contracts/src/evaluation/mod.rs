//! Evaluation's contract (评价 §8.2, 政务服务"好差评"): invitations, ratings (一事一评 and the whole service),
//! rectification of bad reviews (差评整改), appeals (申诉), staff assessment (§8.2.1) and statistics — service
//! operations, requests, replies and the data of `evaluation.*`, `rectification.*` and `appeal.*`.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::intake::Actor;

/// The service's name on the bus (`bb.svc.evaluation.*`, `ce-source: /bangban/evaluation`).
pub const SERVICE: &str = "evaluation";

/// Operations of `bb.svc.evaluation.<operation>`.
pub mod ops {
    crate::operations! { service = super::SERVICE, module = "evaluation";
        /// Rate a matter as its applicant
        Submit = "evaluation.submit": super::SubmitRating => super::EvaluationView;
        /// What a one-time code rates
        InvitationByCode = "invitation.by_code": super::CodeLookup => super::InvitationView;
        /// Rate with a one-time code: the SMS link, or a window terminal
        SubmitByCode = "evaluation.submit_by_code": super::SubmitByCode => super::EvaluationView;
        /// Ratings, filtered
        List = "evaluation.list": super::ListEvaluations => super::EvaluationPage;
        /// One rating
        Get = "evaluation.get": super::GetEvaluation => super::EvaluationView;
        /// Invitations of a case
        InvitationList = "invitation.list": super::CaseInvitations => Vec<super::InvitationView>;
        /// Rectifications, filtered
        RectificationList = "rectification.list": super::ListRectifications => super::RectificationPage;
        /// One rectification
        RectificationGet = "rectification.get": super::GetRectification => super::RectificationView;
        /// A step of a rectification
        RectificationStep = "rectification.step": super::RectificationStep => super::RectificationView;
        /// Appeal a rating
        AppealFile = "appeal.file": super::FileAppeal => super::AppealView;
        /// Decide an appeal
        AppealDecide = "appeal.decide": super::DecideAppeal => super::AppealView;
        /// Appeals, filtered
        AppealList = "appeal.list": super::ListAppeals => Vec<super::AppealView>;
        /// Staff assessment over a period
        Assessment = "assessment.get": super::AssessmentQuery => super::Assessment;
        /// Rating statistics
        Statistics = "statistics.get": super::StatisticsQuery => super::Statistics;
    }
}

/// The five levels (评价等级) of the national 好差评 practice; `1` the lowest. JSON: the number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    /// 1 非常不满意
    VeryDissatisfied = 1,
    /// 2 不满意
    Dissatisfied = 2,
    /// 3 基本满意
    BasicallySatisfied = 3,
    /// 4 满意
    Satisfied = 4,
    /// 5 非常满意
    VerySatisfied = 5,
}

impl Level {
    pub const ALL: [Level; 5] =
        [Self::VeryDissatisfied, Self::Dissatisfied, Self::BasicallySatisfied, Self::Satisfied, Self::VerySatisfied];

    pub fn from_number(n: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|l| *l as u8 == n)
    }

    pub fn number(self) -> u8 {
        self as u8
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Self::VerySatisfied => "非常满意",
            Self::Satisfied => "满意",
            Self::BasicallySatisfied => "基本满意",
            Self::Dissatisfied => "不满意",
            Self::VeryDissatisfied => "非常不满意",
        }
    }

    /// A bad review (差评): the two lowest levels.
    pub fn is_bad(self) -> bool {
        self <= Self::Dissatisfied
    }
}

impl Serialize for Level {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(self.number())
    }
}

impl<'de> Deserialize<'de> for Level {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = u8::deserialize(d)?;
        Self::from_number(n).ok_or_else(|| serde::de::Error::custom(format!("level must be 1 to 5, not {n}")))
    }
}

crate::labelled_enum! {
    /// What a comment is about (评价标签).
    #[derive(PartialOrd, Ord, ToSchema)]
    pub enum Tag {
        /// 服务态度
        Attitude = "attitude", "服务态度";
        /// 办事效率
        Efficiency = "efficiency", "办事效率";
        /// 依法依规 (conformity with the rules)
        Conformity = "conformity", "依法依规";
        /// 业务能力
        Competence = "competence", "业务能力";
        /// 便捷程度
        Convenience = "convenience", "便捷程度";
        /// 公开透明
        Transparency = "transparency", "公开透明";
        /// 廉洁自律
        Integrity = "integrity", "廉洁自律";
    }
}

crate::labelled_enum! {
    /// Where a rating was given (评价渠道).
    #[derive(ToSchema)]
    pub enum Channel {
        /// 平台 (signed in)
        Platform = "platform", "平台";
        /// 窗口评价器 (a window terminal, with the applicant's one-time code)
        Window = "window", "窗口评价器";
        /// 短信链接
        SmsLink = "sms_link", "短信链接";
        /// 默认评价 (none given in time; off unless configured)
        Default = "default", "默认评价";
    }
}

/// What is rated: one approval item (一事一评) or the whole service of a case (整体评价).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Matter {
    Task { task_id: Uuid },
    Case { case_id: Uuid },
}

/// A rating as given (`POST /api/v1/tasks/{id}/evaluation`, `POST /api/v1/cases/{id}/evaluation`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRating {
    /// 5 非常满意 · 4 满意 · 3 基本满意 · 2 不满意 · 1 非常不满意
    #[schema(value_type = u8, minimum = 1, maximum = 5, example = 5)]
    pub level: Level,
    /// At most 500 characters.
    #[serde(default)]
    #[schema(example = "窗口人员一次性告知了需要补正的材料，办理很快")]
    pub comment: Option<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

/// Request of [`ops::Submit`]: the applicant signed in (the gateway sets `applicant_id` from the token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmitRating {
    pub actor: Actor,
    pub applicant_id: Uuid,
    pub matter: Matter,
    pub rating: NewRating,
}

/// Request of [`ops::InvitationByCode`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeLookup {
    pub code: String,
}

/// Request of [`ops::SubmitByCode`]: the SMS link (no token) or a window terminal (the staff member at the
/// window, with the code the applicant shows).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmitByCode {
    pub code: String,
    /// `sms_link` or `window`.
    pub channel: Channel,
    /// The window's staff member (for `window`).
    pub actor: Option<Actor>,
    pub rating: NewRating,
}

/// Body of `POST /api/v1/evaluations/by-code` (the SMS link's page, or a window terminal).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ByCodeBody {
    /// The one-time code of the invitation (评价码), from the link.
    #[schema(example = "Kq7bX2mZr9Tf4Wc8")]
    pub code: String,
    /// 5 非常满意 · 4 满意 · 3 基本满意 · 2 不满意 · 1 非常不满意
    #[schema(value_type = u8, minimum = 1, maximum = 5, example = 5)]
    pub level: Level,
    #[serde(default)]
    pub comment: Option<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

/// An invitation (评价邀请) as the link's page and the case's staff see it (never the code).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InvitationView {
    pub id: Uuid,
    pub matter: Matter,
    pub case_id: Uuid,
    pub ledger_no: String,
    pub office: String,
    /// The item (事项名称) or `帮办代办服务（整体）`.
    pub item_name: String,
    pub unit_name: Option<String>,
    pub invited_at: DateTime<Utc>,
    /// Set once rated: the code no longer rates (409), and its page says so.
    pub rated_at: Option<DateTime<Utc>>,
    pub evaluation_id: Option<Uuid>,
}

/// An appeal of a rating (申诉).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AppealView {
    pub id: Uuid,
    pub evaluation_id: Uuid,
    pub filed_by: String,
    pub reason: String,
    /// What shows the rating is unfounded (证据): descriptions or document references.
    pub evidence: Vec<String>,
    pub status: AppealStatus,
    pub decided_by: Option<String>,
    pub decision_note: Option<String>,
    pub filed_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
}

crate::labelled_enum! {
    /// Where an appeal stands (申诉状态).
    #[derive(ToSchema)]
    pub enum AppealStatus {
        /// 待裁定
        Pending = "pending", "待裁定";
        /// 申诉成立: the rating leaves the assessment
        Upheld = "upheld", "申诉成立";
        /// 申诉驳回
        Rejected = "rejected", "申诉驳回";
    }
}

/// One rating (评价).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EvaluationView {
    pub id: Uuid,
    pub matter: Matter,
    pub case_id: Uuid,
    pub task_id: Option<Uuid>,
    pub ledger_no: String,
    /// The accepting office.
    pub office: String,
    pub item_name: String,
    pub unit_code: Option<String>,
    pub unit_office: Option<String>,
    pub specialist_id: String,
    pub applicant_id: Uuid,
    /// 5 非常满意 · 4 满意 · 3 基本满意 · 2 不满意 · 1 非常不满意
    #[schema(value_type = u8, minimum = 1, maximum = 5, example = 5)]
    pub level: Level,
    /// 非常满意 … 非常不满意.
    pub level_label: String,
    pub comment: Option<String>,
    pub tags: Vec<Tag>,
    pub channel: Channel,
    /// Who entered it at a window terminal.
    pub entered_by: Option<String>,
    pub submitted_at: DateTime<Utc>,
    /// 差评 (the two lowest levels).
    pub bad: bool,
    pub rectification_id: Option<Uuid>,
    pub appeal: Option<AppealView>,
    /// False once an appeal against it is upheld.
    pub counts: bool,
}

/// Request of [`ops::Get`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetEvaluation {
    pub id: Uuid,
}

/// Request of [`ops::List`] (`GET /api/v1/evaluations`); the gateway narrows it to the caller's reach.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListEvaluations {
    /// Ratings of cases this office accepted, or of its units' tasks.
    pub office: Option<String>,
    pub unit: Option<String>,
    pub specialist: Option<String>,
    pub applicant_id: Option<Uuid>,
    pub case_id: Option<Uuid>,
    /// Only bad reviews.
    pub bad: Option<bool>,
    /// Page size, 1–100 (default 20).
    #[serde(default, deserialize_with = "crate::page::limit::<100, _>")]
    #[param(minimum = 1, maximum = 100)]
    #[schema(minimum = 1, maximum = 100)]
    pub limit: Option<u64>,
    /// Rows to skip, 0–1 000 000 000 (default 0).
    #[serde(default, deserialize_with = "crate::page::offset")]
    #[param(minimum = 0, maximum = 1000000000)]
    #[schema(minimum = 0, maximum = 1000000000)]
    pub offset: Option<u64>,
}

/// Reply of [`ops::List`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EvaluationPage {
    pub items: Vec<EvaluationView>,
    pub total: u64,
    pub limit: u64,
    pub offset: u64,
}

/// Request of [`ops::InvitationList`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseInvitations {
    pub case_id: Uuid,
}

// ---------------------------------------------------------------------------------------------------------
// Rectification (差评整改)
// ---------------------------------------------------------------------------------------------------------

/// Who must fix a bad review: the unit of the rated item, or the case's specialist for the whole service.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Assignee {
    Unit { unit_code: String, unit_office: String },
    Specialist { specialist_id: String, office: String },
}

crate::labelled_enum! {
    /// Where a rectification stands (整改状态).
    #[derive(ToSchema)]
    pub enum RectificationStatus {
        /// 待联系: the applicant is contacted within a working day
        Opened = "opened", "待联系";
        /// 整改中
        Contacted = "contacted", "整改中";
        /// 已答复: the fix and the answer are in; the applicant rates them
        Answered = "answered", "已答复";
        /// 已办结
        Closed = "closed", "已办结";
    }
}

crate::labelled_enum! {
    /// How the applicant rates the fix (整改评价).
    #[derive(ToSchema)]
    pub enum FixRating {
        /// 满意
        Satisfied = "satisfied", "满意";
        /// 基本满意
        BasicallySatisfied = "basically_satisfied", "基本满意";
        /// 不满意
        Dissatisfied = "dissatisfied", "不满意";
    }
}

/// A rectification (差评整改单).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RectificationView {
    pub id: Uuid,
    pub evaluation_id: Uuid,
    pub case_id: Uuid,
    pub task_id: Option<Uuid>,
    pub item_name: String,
    /// 5 非常满意 · 4 满意 · 3 基本满意 · 2 不满意 · 1 非常不满意
    #[schema(value_type = u8, minimum = 1, maximum = 5, example = 5)]
    pub level: Level,
    pub comment: Option<String>,
    pub assignee: Assignee,
    /// The accepting office.
    pub office: String,
    pub status: RectificationStatus,
    pub opened_at: DateTime<Utc>,
    /// The applicant is to be contacted by the end of this day (1 working day).
    #[schema(value_type = String, format = Date)]
    pub contact_due: NaiveDate,
    /// The fix and the answer are due by the end of this day (15 working days by default).
    #[schema(value_type = String, format = Date)]
    pub due: NaiveDate,
    pub contacted_at: Option<DateTime<Utc>>,
    pub contact_note: Option<String>,
    pub fix: Option<String>,
    pub answer: Option<String>,
    pub answered_at: Option<DateTime<Utc>>,
    pub fix_rating: Option<FixRating>,
    pub closed_at: Option<DateTime<Utc>>,
    /// Escalated to the supervisors (逾期未整改).
    pub escalated_at: Option<DateTime<Utc>>,
    /// Why, in zh-CN (e.g. `未在 2026-03-03 前联系服务对象`).
    pub escalation_reason: Option<String>,
    /// Answered by `due` (set once answered).
    pub on_time: Option<bool>,
}

/// A step of a rectification (`POST /api/v1/rectifications/{id}/steps`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum RectificationAction {
    /// The assignee has contacted the applicant (联系服务对象).
    Contact { note: String },
    /// The fix and the answer to the applicant (整改情况与答复).
    Answer { fix: String, answer: String },
    /// The applicant rates the fix; closes it.
    Rate { rating: FixRating },
}

/// Request of [`ops::RectificationStep`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RectificationStep {
    pub actor: Actor,
    /// Set when the applicant acts (the gateway takes it from the token).
    pub applicant_id: Option<Uuid>,
    pub id: Uuid,
    pub action: RectificationAction,
}

/// Request of [`ops::RectificationGet`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetRectification {
    pub id: Uuid,
}

/// Request of [`ops::RectificationList`] (`GET /api/v1/rectifications`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListRectifications {
    /// Of cases this office accepted, or assigned to its units.
    pub office: Option<String>,
    pub unit: Option<String>,
    pub specialist: Option<String>,
    pub status: Option<RectificationStatus>,
    pub escalated: Option<bool>,
    /// Page size, 1–100 (default 20).
    #[serde(default, deserialize_with = "crate::page::limit::<100, _>")]
    #[param(minimum = 1, maximum = 100)]
    #[schema(minimum = 1, maximum = 100)]
    pub limit: Option<u64>,
    /// Rows to skip, 0–1 000 000 000 (default 0).
    #[serde(default, deserialize_with = "crate::page::offset")]
    #[param(minimum = 0, maximum = 1000000000)]
    #[schema(minimum = 0, maximum = 1000000000)]
    pub offset: Option<u64>,
}

/// Reply of [`ops::RectificationList`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RectificationPage {
    pub items: Vec<RectificationView>,
    pub total: u64,
    pub limit: u64,
    pub offset: u64,
}

// ---------------------------------------------------------------------------------------------------------
// Appeals (申诉)
// ---------------------------------------------------------------------------------------------------------

/// Body of `POST /api/v1/evaluations/{id}/appeal`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAppeal {
    /// 5–1000 characters.
    #[schema(example = "服务对象所述超期系其自身补正材料延迟所致，补正期间依法不计时")]
    pub reason: String,
    /// 1–20 items: what shows it (e.g. `补正通知书 2026-03-04 签收记录`).
    pub evidence: Vec<String>,
}

/// Request of [`ops::AppealFile`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileAppeal {
    pub actor: Actor,
    pub evaluation_id: Uuid,
    pub appeal: NewAppeal,
}

/// Body of `POST /api/v1/appeals/{id}/decision`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppealDecision {
    pub upheld: bool,
    /// 2–1000 characters.
    pub note: String,
}

/// Request of [`ops::AppealDecide`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecideAppeal {
    pub actor: Actor,
    pub id: Uuid,
    pub decision: AppealDecision,
}

/// Request of [`ops::AppealList`] (`GET /api/v1/appeals`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListAppeals {
    pub office: Option<String>,
    pub status: Option<AppealStatus>,
}

// ---------------------------------------------------------------------------------------------------------
// Assessment (考核 §8.2.1) and statistics
// ---------------------------------------------------------------------------------------------------------

crate::labelled_enum! {
    /// Whom an assessment groups by (考核对象).
    #[derive(Default, ToSchema)]
    pub enum AssessmentScope {
        /// 帮办代办员
        #[default]
        Specialist = "specialist", "帮办代办员";
        /// 责任单位
        Unit = "unit", "责任单位";
        /// 帮办代办机构
        Office = "office", "帮办代办机构";
    }
}

/// Request of [`ops::Assessment`] (`GET /api/v1/assessments`, `…/assessments.csv`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AssessmentQuery {
    #[serde(default)]
    pub by: AssessmentScope,
    /// Only this office's specialists, units or itself.
    pub office: Option<String>,
    /// From this day (China Standard Time), included.
    #[param(value_type = String, format = Date)]
    #[schema(value_type = String, format = Date)]
    pub from: NaiveDate,
    /// Up to this day, included.
    #[param(value_type = String, format = Date)]
    #[schema(value_type = String, format = Date)]
    pub to: NaiveDate,
}

/// The figures of one specialist, unit or office over the period.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AssessmentRow {
    /// Staff id, unit code or office code.
    pub key: String,
    /// Ratings that count (appeals upheld are left out).
    pub ratings: u64,
    /// Levels 3–5.
    pub satisfied: u64,
    /// `satisfied / ratings`, when there are ratings.
    pub satisfaction_rate: Option<f64>,
    /// Average level (1–5).
    pub average_level: Option<f64>,
    /// 差评 that count.
    pub bad_reviews: u64,
    /// Appeals upheld (left out of the figures above).
    pub appeals_upheld: u64,
    /// Rectifications answered in the period, and how many by their due day.
    pub rectifications_answered: u64,
    pub rectifications_on_time: u64,
    pub rectification_on_time_rate: Option<f64>,
    /// Rectifications escalated for lateness.
    pub rectifications_escalated: u64,
    /// Items concluded in the period (approved or rejected), how many within their promised time.
    pub items_concluded: u64,
    pub items_on_time: u64,
    pub on_time_rate: Option<f64>,
    /// Average working days from receipt to conclusion.
    pub average_working_days: Option<f64>,
}

/// Reply of [`ops::Assessment`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Assessment {
    pub by: AssessmentScope,
    #[schema(value_type = String, format = Date)]
    pub from: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub to: NaiveDate,
    pub rows: Vec<AssessmentRow>,
}

/// Request of [`ops::Statistics`] (`GET /api/v1/evaluations/statistics`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StatisticsQuery {
    pub office: Option<String>,
    #[param(value_type = Option<String>, format = Date)]
    #[schema(value_type = Option<String>, format = Date)]
    pub from: Option<NaiveDate>,
    #[param(value_type = Option<String>, format = Date)]
    #[schema(value_type = Option<String>, format = Date)]
    pub to: Option<NaiveDate>,
}

/// Ratings of one group, by level.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RatingCounts {
    pub key: String,
    pub total: u64,
    /// Counts of levels 1 to 5.
    pub by_level: [u64; 5],
    pub satisfaction_rate: Option<f64>,
}

/// Reply of [`ops::Statistics`] (ratings that count; appeals upheld left out).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Statistics {
    pub total: RatingCounts,
    pub by_category: Vec<RatingCounts>,
    pub by_stage: Vec<RatingCounts>,
    pub by_office: Vec<RatingCounts>,
    pub by_unit: Vec<RatingCounts>,
    /// `YYYY-MM` (China Standard Time).
    pub by_month: Vec<RatingCounts>,
}

// ---------------------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------------------

/// Data of `evaluation.invited` (on `bb.evt.<accepting office>.evaluation.invited`): the applicant is
/// invited to evaluate one matter (一事一评); notification texts them the link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EvaluationInvited {
    pub evaluation_id: Uuid,
    pub case_id: Uuid,
    /// The matter evaluated: a task (an approval item), or the whole case when unset.
    pub task_id: Option<Uuid>,
    pub ledger_no: String,
    pub office: String,
    /// The item's name as the applicant knows it (e.g. `建设工程规划许可证核发`).
    pub item_name: String,
    /// The applicant by reference only.
    pub applicant_id: Uuid,
    /// Where to evaluate (评价入口): an absolute URL ending in the one-time code (`…/e/<code>`), **encrypted**
    /// under the platform's PII key (`v1:…`, as phone numbers travel): the code lets whoever holds it rate in the
    /// applicant's name, and county offices and integrators read this event. Notification decrypts it for the
    /// SMS; everything staff see shows it masked.
    pub link_enc: String,
    pub invited_at: DateTime<Utc>,
}

/// Data of `evaluation.submitted` (on `bb.evt.<accepting office>.evaluation.submitted`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EvaluationSubmitted {
    #[serde(flatten)]
    pub evaluation: EvaluationView,
}

/// Data of `rectification.opened` and `rectification.closed` (on `bb.evt.<accepting office>.rectification.*`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RectificationEvent {
    #[serde(flatten)]
    pub rectification: RectificationView,
    pub at: DateTime<Utc>,
}

/// Data of `appeal.decided` (on `bb.evt.<accepting office>.appeal.decided`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AppealDecided {
    #[serde(flatten)]
    pub appeal: AppealView,
    pub office: String,
    pub case_id: Uuid,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_keep_their_spellings() {
        assert_eq!(serde_json::to_string(&Channel::SmsLink).unwrap(), "\"sms_link\"");
        assert_eq!(FixRating::parse("basically_satisfied"), Some(FixRating::BasicallySatisfied));
        assert_eq!(RectificationStatus::Opened.label_zh(), "待联系");
        assert_eq!(AppealStatus::Upheld.as_str(), "upheld");
        assert_eq!(AssessmentScope::default(), AssessmentScope::Specialist);
        assert!(Tag::Attitude < Tag::Integrity, "tags sort in declaration order");
    }

    #[test]
    fn levels_are_numbers_one_to_five() {
        assert_eq!(serde_json::to_string(&Level::Satisfied).unwrap(), "4");
        assert_eq!(serde_json::from_str::<Level>("1").unwrap(), Level::VeryDissatisfied);
        assert!(serde_json::from_str::<Level>("6").is_err());
        assert!(serde_json::from_str::<Level>("0").is_err());
        assert!(
            Level::Dissatisfied.is_bad() && Level::VeryDissatisfied.is_bad() && !Level::BasicallySatisfied.is_bad()
        );
        let r: NewRating = serde_json::from_value(serde_json::json!({"level": 2, "tags": ["efficiency"]})).unwrap();
        assert_eq!((r.level, r.tags), (Level::Dissatisfied, vec![Tag::Efficiency]));
    }
}
