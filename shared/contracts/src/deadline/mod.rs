//! Deadline's contract (限时办结 §4.3, 跟踪办理 §7.5): working-day clocks (计时), pauses (暂停计时) and
//! extensions (延期), warnings (预警) and overdue (逾期), supervision notices (督办单) and escalation to
//! discipline inspection or audit (纪检监察/审计), problems (问题) and consultations (会商/联席会议), and
//! business monitoring (业务监控 §6.2) — service operations, requests, replies and event data.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{intake::Actor, intake::ProjectCategory, planning::Stage};

/// The service's name on the bus (`bb.svc.deadline.*`, `ce-source: /bangban/deadline`).
pub const SERVICE: &str = "deadline";

/// Operations of `bb.svc.deadline.<operation>`.
pub mod ops {
    crate::operations! { service = super::SERVICE, module = "deadline";
        /// One task's clock with its timeline
        ClockGet = "clock.get": super::GetClock => super::ClockView;
        /// Every clock of a case
        ClockCase = "clock.case": super::CaseClocks => Vec<super::ClockView>;
        /// Clocks, filtered
        ClockList = "clock.list": super::ListClocks => super::ClockPage;
        /// A statutory pause (Art. 45)
        ClockPause = "clock.pause": super::PauseClock => super::ClockView;
        /// Ends a statutory pause
        ClockResume = "clock.resume": super::ResumeClock => super::ClockView;
        /// An approved extension
        ClockExtend = "clock.extend": super::ExtendClock => super::ClockView;
        /// Supervision notices, filtered
        SupervisionList = "supervision.list": super::ListSupervision => super::SupervisionPage;
        /// One notice
        SupervisionGet = "supervision.get": super::GetSupervision => super::SupervisionView;
        /// The unit's answer
        SupervisionAnswer = "supervision.answer": super::AnswerSupervision => super::SupervisionView;
        /// The supervisor's outcome of an escalation
        SupervisionDecide = "supervision.decide": super::DecideSupervision => super::SupervisionView;
        /// A problem on a task
        ProblemRecord = "problem.record": super::RecordProblem => super::ProblemView;
        /// The specialist solved it
        ProblemSolve = "problem.solve": super::SolveProblem => super::ProblemView;
        /// To the office for a consultation
        ProblemRefer = "problem.refer": super::ReferProblem => super::ProblemView;
        /// One problem
        ProblemGet = "problem.get": super::GetProblem => super::ProblemView;
        /// Problems, filtered, a page
        ProblemList = "problem.list": super::ListProblems => super::ProblemPage;
        /// A consultation or joint meeting held
        ConsultationRecord = "consultation.record": super::RecordConsultation => super::ConsultationView;
        /// Consultations, filtered, a page
        ConsultationList = "consultation.list": super::ListConsultations => super::MeetingPage;
        /// Business monitoring
        Monitoring = "monitoring.summary": super::MonitoringQuery => super::Monitoring;
    }
}

// ---------------------------------------------------------------------------------------------------------
// Clocks (计时)
// ---------------------------------------------------------------------------------------------------------

crate::labelled_enum! {
    /// A clock's state (计时状态).
    #[derive(ToSchema)]
    pub enum ClockStatus {
        /// Dispatched, not yet received by the unit (待接收): starts at receipt, or at dispatch when the unit has
        /// not acknowledged in time.
        AwaitingReceipt = "awaiting_receipt", "待接收";
        /// 计时中
        Running = "running", "计时中";
        /// 暂停计时 (a supplement or a statutory exclusion is open)
        Paused = "paused", "暂停计时";
        /// 已办结 (approved or rejected): the clock stopped
        Stopped = "stopped", "已办结";
        /// 已撤回 (withdrawn)
        Cancelled = "cancelled", "已撤回";
    }
}

impl ClockStatus {
    /// The states of a clock still counting (or about to).
    pub const OPEN: [ClockStatus; 3] = [Self::AwaitingReceipt, Self::Running, Self::Paused];

    /// Still counting (or about to).
    pub fn is_open(self) -> bool {
        matches!(self, Self::AwaitingReceipt | Self::Running | Self::Paused)
    }
}

crate::labelled_enum! {
    /// How late a clock is (时限状态), ordered: normal < warning < overdue.
    #[derive(PartialOrd, Ord, ToSchema)]
    pub enum AlertLevel {
        /// 正常
        Normal = "normal", "正常";
        /// 预警: the warning threshold has passed
        Warning = "warning", "预警";
        /// 逾期: past the due instant
        Overdue = "overdue", "逾期";
    }
}

crate::labelled_enum! {
    /// What the clock started from (起算依据).
    #[derive(ToSchema)]
    pub enum StartBasis {
        /// The unit received the task (接收即起算).
        Received = "received", "接收起算";
        /// The unit did not acknowledge within the configured time: the clock counts from dispatch (推送起算).
        DispatchedUnacknowledged = "dispatched_unacknowledged", "推送起算";
    }
}

crate::labelled_enum! {
    /// Why a clock is paused: the applicant's supplement (补正), or a statutory exclusion of 行政许可法 Art. 45
    /// (依法需要听证、招标、拍卖、检验、检测、检疫、鉴定和专家评审的，所需时间不计算在期限内).
    #[derive(ToSchema)]
    pub enum PauseKind {
        /// 补正材料 (opened and closed by the task's supplement request and supplement)
        Supplement = "supplement", "补正材料";
        /// 听证
        Hearing = "hearing", "听证";
        /// 招标
        Tendering = "tendering", "招标";
        /// 拍卖
        Auction = "auction", "拍卖";
        /// 检验
        Inspection = "inspection", "检验";
        /// 检测
        Testing = "testing", "检测";
        /// 检疫
        Quarantine = "quarantine", "检疫";
        /// 鉴定
        Appraisal = "appraisal", "鉴定";
        /// 专家评审
        ExpertReview = "expert_review", "专家评审";
    }
}

impl PauseKind {
    /// The statutory exclusions (every kind but the supplement).
    pub const STATUTORY: [PauseKind; 8] = [
        Self::Hearing,
        Self::Tendering,
        Self::Auction,
        Self::Inspection,
        Self::Testing,
        Self::Quarantine,
        Self::Appraisal,
        Self::ExpertReview,
    ];
}

/// One pause of a clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Pause {
    pub id: Uuid,
    pub kind: PauseKind,
    pub reason: String,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub started_by: String,
    pub ended_by: Option<String>,
}

/// One approved extension (延期).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Extension {
    pub id: Uuid,
    pub working_days: u32,
    pub reason: String,
    /// Who approved it (批准人): an office admin.
    pub approved_by: String,
    /// Who asked for it, when not the approver (e.g. the unit's officer).
    pub requested_by: Option<String>,
    pub at: DateTime<Utc>,
}

/// One entry of a clock's append-only timeline (计时记录).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TimelineEntry {
    pub at: DateTime<Utc>,
    /// `created`, `started`, `paused`, `resumed`, `extended`, `recomputed`, `warning`, `overdue`,
    /// `receipt_late`, `link_late`, `supervision_issued`, `supervision_answered`, `supervision_escalated`,
    /// `supervision_decided`, `problem_recorded`, `problem_referred`, `problem_solved`, `stopped`,
    /// `cancelled`, `alert_cleared`, `task_event`.
    pub kind: String,
    pub actor: String,
    /// Human-readable, zh-CN.
    pub note: String,
    /// The due instant after this entry, if the entry changed it.
    pub due_at: Option<DateTime<Utc>>,
}

/// A clock as people see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ClockView {
    pub task_id: Uuid,
    pub case_id: Uuid,
    pub ledger_no: String,
    /// The accepting office.
    pub office: String,
    pub code: String,
    pub name: String,
    pub stage: Stage,
    pub category: Option<ProjectCategory>,
    pub unit_code: String,
    pub unit_name: Option<String>,
    /// The office of the unit that must act.
    pub unit_office: String,
    pub specialist_id: String,
    pub applicant_id: Uuid,
    pub status: ClockStatus,
    pub alert: AlertLevel,
    /// The promised time (承诺时限) in working days.
    pub promised_working_days: u32,
    /// Approved extensions, in working days.
    pub extension_working_days: u32,
    /// Working days excluded by closed pauses.
    pub paused_working_days: u32,
    pub dispatched_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub start_basis: Option<StartBasis>,
    /// The last day of the time limit (办结期限), while the clock runs.
    #[schema(value_type = Option<String>, format = Date)]
    pub due_date: Option<NaiveDate>,
    /// The instant it expires: the end of `due_date` in Asia/Shanghai.
    pub due_at: Option<DateTime<Utc>>,
    /// When the warning threshold passes.
    pub warn_at: Option<DateTime<Utc>>,
    /// The due date lies beyond the loaded calendar (暂定).
    pub provisional: bool,
    /// Working days left (negative: working days overdue), at the time of reading.
    pub remaining_working_days: Option<i32>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Whether it concluded within its time.
    pub on_time: Option<bool>,
    /// Working days used, pauses excluded (for stopped clocks).
    pub used_working_days: Option<u32>,
    pub pauses: Vec<Pause>,
    pub extensions: Vec<Extension>,
    pub timeline: Vec<TimelineEntry>,
    pub updated_at: DateTime<Utc>,
}

/// Request of [`ops::ClockGet`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetClock {
    pub task_id: Uuid,
}

/// Request of [`ops::ClockCase`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseClocks {
    pub case_id: Uuid,
}

/// Request of [`ops::ClockList`] (`GET /api/v1/clocks`): open clocks by due instant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListClocks {
    /// Clocks whose unit is in this office, or whose case this office accepted.
    pub office: Option<String>,
    pub unit: Option<String>,
    pub alert: Option<AlertLevel>,
    pub status: Option<ClockStatus>,
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

/// Reply of [`ops::ClockList`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ClockPage {
    /// Without timelines.
    pub items: Vec<ClockView>,
    pub total: u64,
    pub limit: u64,
    pub offset: u64,
}

/// Body of `POST /api/v1/tasks/{id}/clock/pauses`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPause {
    /// A statutory exclusion (`supplement` pauses come from the task's supplement request).
    pub kind: PauseKind,
    #[schema(example = "组织专家评审（住建领域施工图专家论证）")]
    pub reason: String,
}

/// Request of [`ops::ClockPause`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PauseClock {
    pub actor: Actor,
    pub task_id: Uuid,
    pub pause: NewPause,
}

/// Body of `POST /api/v1/tasks/{id}/clock/pauses/{pause}/end`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndPause {
    pub note: Option<String>,
}

/// Request of [`ops::ClockResume`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResumeClock {
    pub actor: Actor,
    pub task_id: Uuid,
    pub pause_id: Uuid,
    pub end: EndPause,
}

/// Body of `POST /api/v1/tasks/{id}/clock/extensions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewExtension {
    /// 1–60 working days.
    #[schema(example = 10)]
    pub working_days: u32,
    #[schema(example = "情况复杂，经本单位负责人批准延长十个工作日（行政许可法第四十二条）")]
    pub reason: String,
    /// Who asked for it (e.g. the unit's officer), when not the approver.
    pub requested_by: Option<String>,
}

/// Request of [`ops::ClockExtend`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtendClock {
    pub actor: Actor,
    pub task_id: Uuid,
    pub extension: NewExtension,
}

/// Data of `task.warning` and `task.overdue` (on `bb.evt.<unit office>.task.<event>.<unit>`), and of
/// `task.clock_changed` (paused, resumed, extended or recomputed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ClockAlarm {
    pub task_id: Uuid,
    pub case_id: Uuid,
    pub ledger_no: String,
    pub office: String,
    pub code: String,
    pub name: String,
    pub stage: Stage,
    pub unit_code: String,
    pub unit_office: String,
    /// The applicant by reference only.
    pub applicant_id: Uuid,
    pub specialist_id: String,
    pub alert: AlertLevel,
    pub status: ClockStatus,
    pub promised_working_days: u32,
    pub extension_working_days: u32,
    pub due_at: Option<DateTime<Utc>>,
    #[schema(value_type = Option<String>, format = Date)]
    pub due_date: Option<NaiveDate>,
    pub remaining_working_days: Option<i32>,
    pub provisional: bool,
    /// What happened: `warning`, `overdue`, `paused`, `resumed`, `extended`, `recomputed`.
    pub reason: String,
    /// The instant the alarm was due (for `warning` and `overdue`).
    pub scheduled_for: Option<DateTime<Utc>>,
    pub at: DateTime<Utc>,
}

// ---------------------------------------------------------------------------------------------------------
// Supervision (督办 §7.5.4)
// ---------------------------------------------------------------------------------------------------------

crate::labelled_enum! {
    /// Why a notice was issued (督办类型).
    #[derive(ToSchema)]
    pub enum SupervisionKind {
        /// 超过承诺时限未办结
        Overdue = "overdue", "超期未办结";
        /// 逾期未反馈 (not received in time, or a linked office did not acknowledge in time)
        Feedback = "feedback", "逾期未反馈";
    }
}

crate::labelled_enum! {
    /// A notice's state (督办状态).
    #[derive(ToSchema)]
    pub enum SupervisionStatus {
        /// 已下发
        Issued = "issued", "已下发";
        /// 已反馈 (the unit answered)
        Answered = "answered", "已反馈";
        /// 已办结 (the task concluded, or the feedback came)
        Resolved = "resolved", "已办结";
        /// 已移送纪检监察/审计
        Escalated = "escalated", "已移送";
        /// 已处理 (the supervisor recorded the outcome)
        Decided = "decided", "已处理";
    }
}

impl SupervisionStatus {
    /// The states of a notice still waiting for a result.
    pub const OPEN: [SupervisionStatus; 2] = [Self::Issued, Self::Answered];

    pub fn is_open(self) -> bool {
        matches!(self, Self::Issued | Self::Answered)
    }
}

crate::labelled_enum! {
    /// Where an unresolved notice goes (移送对象).
    #[derive(ToSchema)]
    pub enum EscalationTarget {
        /// 纪检监察
        DisciplineInspection = "discipline_inspection", "纪检监察";
        /// 审计
        Audit = "audit", "审计";
    }
}

crate::labelled_enum! {
    /// The supervisor's outcome (§7.5.4: 警告、通报批评、直至问责).
    #[derive(ToSchema)]
    pub enum SupervisionOutcome {
        /// 警告
        Warning = "warning", "警告";
        /// 通报批评
        CirculatedCriticism = "circulated_criticism", "通报批评";
        /// 问责
        Accountability = "accountability", "问责";
        /// 不予处理 (with a reason: e.g. the delay was justified)
        NoAction = "no_action", "不予处理";
    }
}

/// The unit's answer to a notice (督办反馈).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SupervisionAnswer {
    pub reason: String,
    /// The date the unit commits to conclude by (承诺办结日期).
    #[schema(value_type = String, format = Date)]
    pub committed_on: NaiveDate,
    pub by: String,
    pub at: DateTime<Utc>,
}

/// What goes to discipline inspection or audit (证据材料).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EvidencePack {
    /// The clock as it stood, with its whole timeline.
    pub clock: ClockView,
    /// Every notice of the task, this one included.
    pub notices: Vec<SupervisionSummary>,
    /// The problems recorded on the task.
    pub problems: Vec<ProblemView>,
    /// The task's status messages as published on the bus (状态标注记录).
    pub messages: Vec<TaskMessage>,
    pub assembled_at: DateTime<Utc>,
}

/// One task event deadline saw, as evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TaskMessage {
    pub event_id: String,
    pub event_type: String,
    pub action: String,
    pub actor: String,
    pub at: DateTime<Utc>,
    pub note: Option<String>,
}

/// The escalation (移送).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Escalation {
    pub target: EscalationTarget,
    pub reason: String,
    pub at: DateTime<Utc>,
}

/// The outcome recorded by the supervisor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SupervisionDecision {
    pub outcome: SupervisionOutcome,
    pub note: String,
    pub by: String,
    pub at: DateTime<Utc>,
}

/// A notice without its evidence (lists, events, evidence).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SupervisionSummary {
    pub id: Uuid,
    /// 督办单编号, e.g. `滨督〔2026〕371625-00012号`.
    pub number: String,
    pub kind: SupervisionKind,
    pub status: SupervisionStatus,
    pub task_id: Uuid,
    pub case_id: Uuid,
    pub ledger_no: String,
    pub office: String,
    pub task_code: String,
    pub task_name: String,
    pub unit_code: String,
    pub unit_name: Option<String>,
    pub unit_office: String,
    /// Why, in zh-CN.
    pub reason: String,
    pub due_at: Option<DateTime<Utc>>,
    /// Working days overdue at issue.
    pub days_overdue: u32,
    pub issued_at: DateTime<Utc>,
    /// The unit answers by the end of this day (反馈期限).
    #[schema(value_type = String, format = Date)]
    pub response_due: NaiveDate,
    /// Still unresolved at the end of this day: escalated.
    #[schema(value_type = String, format = Date)]
    pub escalate_on: NaiveDate,
    pub answer: Option<SupervisionAnswer>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub escalation: Option<Escalation>,
    pub decision: Option<SupervisionDecision>,
}

/// A notice with its evidence pack once escalated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SupervisionView {
    #[serde(flatten)]
    pub notice: SupervisionSummary,
    pub evidence: Option<EvidencePack>,
}

/// Request of [`ops::SupervisionList`] (`GET /api/v1/supervision`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListSupervision {
    /// Notices to units of this office, or on cases this office accepted.
    pub office: Option<String>,
    pub unit: Option<String>,
    pub status: Option<SupervisionStatus>,
    pub case_id: Option<Uuid>,
    pub task_id: Option<Uuid>,
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

/// Reply of [`ops::SupervisionList`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SupervisionPage {
    pub items: Vec<SupervisionSummary>,
    pub total: u64,
    pub limit: u64,
    pub offset: u64,
}

/// Request of [`ops::SupervisionGet`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetSupervision {
    pub id: Uuid,
}

/// Body of `POST /api/v1/supervision/{id}/answer`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAnswer {
    #[schema(example = "申请材料涉及规划条件调整，需征求自然资源部门意见")]
    pub reason: String,
    #[schema(value_type = String, format = Date, example = "2026-12-10")]
    pub committed_on: NaiveDate,
}

/// Request of [`ops::SupervisionAnswer`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerSupervision {
    pub actor: Actor,
    pub id: Uuid,
    pub answer: NewAnswer,
}

/// Body of `POST /api/v1/supervision/{id}/decision`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDecision {
    pub outcome: SupervisionOutcome,
    #[schema(example = "对责任单位予以通报批评")]
    pub note: String,
}

/// Request of [`ops::SupervisionDecide`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecideSupervision {
    pub actor: Actor,
    pub id: Uuid,
    pub decision: NewDecision,
}

/// Data of `supervision.issued`, `supervision.answered`, `supervision.resolved`, `supervision.escalated`
/// and `supervision.decided` (on `bb.evt.<unit office>.supervision.<event>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SupervisionEvent {
    #[serde(flatten)]
    pub notice: SupervisionSummary,
    /// The applicant by reference only.
    pub applicant_id: Uuid,
    pub specialist_id: String,
    pub at: DateTime<Utc>,
}

// ---------------------------------------------------------------------------------------------------------
// Problems and consultations (问题协调 §7.5.2, 会商 / 联席会议 §7.5.3)
// ---------------------------------------------------------------------------------------------------------

crate::labelled_enum! {
    /// A problem's state (问题状态).
    #[derive(ToSchema)]
    pub enum ProblemStatus {
        /// 协调中 (the specialist coordinates)
        Open = "open", "协调中";
        /// 已提报机构 (to the office for a consultation)
        Referred = "referred", "已提报机构";
        /// 已解决
        Solved = "solved", "已解决";
    }
}

/// A problem on a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProblemView {
    pub id: Uuid,
    pub task_id: Uuid,
    pub case_id: Uuid,
    pub office: String,
    pub unit_office: String,
    pub unit_code: String,
    pub description: String,
    pub status: ProblemStatus,
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
    /// Not solved by the end of this day: referred to the office automatically.
    #[schema(value_type = String, format = Date)]
    pub solve_by: NaiveDate,
    pub referred_at: Option<DateTime<Utc>>,
    pub referral_reason: Option<String>,
    pub solved_at: Option<DateTime<Utc>>,
    pub solution: Option<String>,
    /// The consultation that took it up.
    pub consultation_id: Option<Uuid>,
}

/// Body of `POST /api/v1/tasks/{id}/problems`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProblem {
    #[schema(example = "消防设计审查意见与规划许可要求不一致，需协调")]
    pub description: String,
    /// Straight to the office for a consultation, without waiting.
    #[serde(default)]
    pub refer_now: bool,
}

/// Request of [`ops::ProblemRecord`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordProblem {
    pub actor: Actor,
    pub task_id: Uuid,
    pub problem: NewProblem,
}

/// Body of `POST /api/v1/problems/{id}/solve`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSolution {
    pub solution: String,
}

/// Request of [`ops::ProblemSolve`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SolveProblem {
    pub actor: Actor,
    pub id: Uuid,
    pub solution: NewSolution,
}

/// Body of `POST /api/v1/problems/{id}/refer`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReferral {
    pub reason: String,
}

/// Request of [`ops::ProblemRefer`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferProblem {
    pub actor: Actor,
    pub id: Uuid,
    pub referral: NewReferral,
}

/// Request of [`ops::ProblemGet`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetProblem {
    pub id: Uuid,
}

/// Request of [`ops::ProblemList`] (`GET /api/v1/problems`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListProblems {
    /// Problems on tasks of this office's units, or on cases this office accepted.
    pub office: Option<String>,
    /// Problems on tasks of this unit.
    pub unit: Option<String>,
    pub case_id: Option<Uuid>,
    pub task_id: Option<Uuid>,
    pub status: Option<ProblemStatus>,
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

/// Reply of [`ops::ProblemList`]: a page of problems, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProblemPage {
    pub items: Vec<ProblemView>,
    /// Problems matching the filters.
    pub total: u64,
    pub limit: u64,
    pub offset: u64,
}

/// Data of `problem.recorded`, `problem.referred`, `problem.solved` (on `bb.evt.<accepting office>.problem.*`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProblemEvent {
    #[serde(flatten)]
    pub problem: ProblemView,
    pub at: DateTime<Utc>,
}

crate::labelled_enum! {
    /// A consultation (会商) or a joint meeting (联席会议).
    #[derive(ToSchema)]
    pub enum ConsultationKind {
        /// 会商
        Consultation = "consultation", "会商";
        /// 联席会议
        JointMeeting = "joint_meeting", "联席会议";
    }
}

/// An attendee (参会单位及人员).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = MeetingAttendee)]
#[serde(deny_unknown_fields)]
pub struct Attendee {
    #[schema(example = "博兴县自然资源和规划局")]
    pub organization: String,
    #[schema(example = "王主任")]
    pub name: String,
}

/// A follow-up (跟进事项) with its owner and date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = MeetingFollowUp)]
#[serde(deny_unknown_fields)]
pub struct FollowUp {
    pub action: String,
    pub owner: String,
    #[schema(value_type = String, format = Date)]
    pub due_on: NaiveDate,
}

/// Body of `POST /api/v1/meetings` (intake's `/api/v1/consultations` are the applicants' consultations, 咨询).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = NewMeeting)]
#[serde(deny_unknown_fields)]
pub struct NewConsultation {
    pub kind: ConsultationKind,
    /// The office that held it (defaults to the caller's).
    pub office: Option<String>,
    #[schema(example = "关于某项目消防审查与规划许可衔接问题的会商")]
    pub topic: String,
    pub held_at: DateTime<Utc>,
    /// Problems it took up; each is solved by it.
    #[serde(default)]
    pub problem_ids: Vec<Uuid>,
    pub attendees: Vec<Attendee>,
    pub decisions: Vec<String>,
    #[serde(default)]
    pub follow_ups: Vec<FollowUp>,
}

/// Request of [`ops::ConsultationRecord`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordConsultation {
    pub actor: Actor,
    pub consultation: NewConsultation,
}

/// A consultation as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = MeetingView)]
pub struct ConsultationView {
    pub id: Uuid,
    pub kind: ConsultationKind,
    pub office: String,
    pub topic: String,
    pub held_at: DateTime<Utc>,
    pub problem_ids: Vec<Uuid>,
    pub case_ids: Vec<Uuid>,
    pub attendees: Vec<Attendee>,
    pub decisions: Vec<String>,
    pub follow_ups: Vec<FollowUp>,
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
}

/// Request of [`ops::ConsultationList`] (`GET /api/v1/meetings`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListConsultations {
    pub office: Option<String>,
    /// Those that took up a problem of this case.
    pub case_id: Option<Uuid>,
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

/// Reply of [`ops::ConsultationList`]: a page of consultations and joint meetings, latest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MeetingPage {
    pub items: Vec<ConsultationView>,
    /// Consultations and joint meetings matching the filters.
    pub total: u64,
    pub limit: u64,
    pub offset: u64,
}

/// Data of `meeting.recorded` (on `bb.evt.<office>.meeting.recorded`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConsultationEvent {
    #[serde(flatten)]
    pub consultation: ConsultationView,
}

// ---------------------------------------------------------------------------------------------------------
// Business monitoring (业务监控 §6.2)
// ---------------------------------------------------------------------------------------------------------

/// Request of [`ops::Monitoring`] (`GET /api/v1/monitoring`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MonitoringQuery {
    /// Only clocks whose unit is in this office or whose case this office accepted (a county's own).
    pub office: Option<String>,
    /// Concluded clocks count from this day (on-time rate, averages); default: all.
    #[param(value_type = Option<String>, format = Date)]
    #[schema(value_type = Option<String>, format = Date)]
    pub from: Option<NaiveDate>,
    /// … up to and including this day.
    #[param(value_type = Option<String>, format = Date)]
    #[schema(value_type = Option<String>, format = Date)]
    pub to: Option<NaiveDate>,
}

/// Figures of one group.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MonitoringFigures {
    /// The group's key: an office code, a unit code, a stage or a category (`""` for the whole).
    pub key: String,
    /// A name for people where there is one (the unit's, the office's).
    pub label: Option<String>,
    /// Open clocks (awaiting receipt, running, paused).
    pub open: u64,
    pub paused: u64,
    /// Open clocks past the warning threshold, not yet overdue (预警).
    pub warning: u64,
    /// Open clocks past their due instant (逾期).
    pub overdue: u64,
    /// Concluded clocks in the period.
    pub concluded: u64,
    pub concluded_on_time: u64,
    /// `concluded_on_time / concluded`; `None` when nothing concluded.
    pub on_time_rate: Option<f64>,
    /// Average working days used per concluded item (pauses excluded).
    pub average_working_days: Option<f64>,
}

/// Reply of [`ops::Monitoring`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Monitoring {
    pub office: Option<String>,
    #[schema(value_type = Option<String>, format = Date)]
    pub from: Option<NaiveDate>,
    #[schema(value_type = Option<String>, format = Date)]
    pub to: Option<NaiveDate>,
    pub total: MonitoringFigures,
    /// By the office of the responsible unit.
    pub by_office: Vec<MonitoringFigures>,
    pub by_unit: Vec<MonitoringFigures>,
    pub by_stage: Vec<MonitoringFigures>,
    pub by_category: Vec<MonitoringFigures>,
    /// Open supervision notices.
    pub supervision_open: u64,
    pub supervision_escalated: u64,
    pub problems_open: u64,
    pub at: DateTime<Utc>,
}
