//! Routing's contract (代办分类推送, 跟踪办理): the responsible-unit directory (责任单位), routed tasks and their
//! status marks (状态标注), cross-level linked handling (联动帮办代办, §7.4.2) — service operations, requests,
//! replies and the data of `task.*` and `plan.completed`.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    intake::Actor,
    planning::{Level, Material, Stage, UnitType},
};

/// The service's name on the bus (`bb.svc.routing.*`, `ce-source: /bangban/routing`).
pub const SERVICE: &str = "routing";

/// Operations of `bb.svc.routing.<operation>`.
pub mod ops {
    crate::operations! { service = super::SERVICE, module = "routing";
        /// The unit directory
        UnitList = "unit.list": super::ListUnits => Vec<super::UnitView>;
        /// Tasks, filtered
        TaskList = "task.list": super::ListTasks => super::TaskPage;
        /// One task
        TaskGet = "task.get": super::GetTask => super::TaskView;
        /// Every task of a case
        CaseTasks = "case.tasks": super::CaseTasks => Vec<super::TaskView>;
        /// A status step
        TaskTransition = "task.transition": super::TransitionTask => super::TaskView;
    }
}

/// An officer of a unit (联络人).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UnitContact {
    pub name: String,
    pub position: String,
    /// The published office phone (办公电话), not a personal mobile.
    pub phone: String,
}

/// A responsible unit (责任单位).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UnitView {
    /// Stable code, the last token of its task subjects (`[A-Za-z0-9_-]`), e.g. `371625-XZSP`.
    #[schema(example = "371625-XZSP")]
    pub code: String,
    #[schema(example = "博兴县行政审批服务局")]
    pub name: String,
    pub unit_type: UnitType,
    /// `province`, `city` or `county`.
    pub level: Level,
    /// The office whose jurisdiction it belongs to (its tasks' subjects carry this code).
    #[schema(example = "371625")]
    pub office: String,
    pub contacts: Vec<UnitContact>,
}

/// Request of [`ops::UnitList`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListUnits {
    pub office: Option<String>,
    pub unit_type: Option<UnitType>,
}

crate::labelled_enum! {
    /// Task status (状态标注).
    #[derive(ToSchema)]
    pub enum TaskStatus {
        /// Waiting for predecessors (待推送): not yet at the unit.
        Pending = "pending", "待推送";
        /// 已推送
        Dispatched = "dispatched", "已推送";
        /// 已接收 (the promised time starts)
        Received = "received", "已接收";
        /// 审查中
        InReview = "in_review", "审查中";
        /// 待补正 (the clock pauses)
        SupplementRequested = "supplement_requested", "待补正";
        /// 已补正
        Supplemented = "supplemented", "已补正";
        /// 已办结（准予）
        Approved = "approved", "已办结";
        /// 不予许可
        Rejected = "rejected", "不予许可";
        /// 已领取结果
        ResultCollected = "result_collected", "已领取结果";
        /// 已撤回
        Withdrawn = "withdrawn", "已撤回";
    }
}

impl TaskStatus {
    /// Approved, with or without its result collected: the items waiting for it may start.
    pub fn is_success(&self) -> bool {
        matches!(self, Self::Approved | Self::ResultCollected)
    }

    /// The unit's work on it is over (办结), whatever the outcome.
    pub fn is_concluded(&self) -> bool {
        matches!(self, Self::Approved | Self::ResultCollected | Self::Rejected | Self::Withdrawn)
    }
}

/// One missing or wrong material of a supplement notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SupplementItem {
    #[schema(example = "建设工程设计方案总平面图")]
    pub material: String,
    #[schema(example = "未标注建筑退线距离")]
    pub reason: String,
}

/// The result document of an approval (审批结果).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResultDocument {
    /// e.g. `建设工程规划许可证`
    #[schema(example = "建设工程规划许可证")]
    pub kind: String,
    #[schema(example = "建字第371625202600123号")]
    pub number: String,
    #[schema(value_type = String, format = Date)]
    pub issued_on: NaiveDate,
}

/// A status step (`POST /api/v1/tasks/{id}/transitions`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum TaskAction {
    /// The unit received the task (签收): the promised time starts.
    Receive {
        #[serde(default)]
        note: Option<String>,
    },
    /// Review begins (开始审查).
    StartReview {
        #[serde(default)]
        note: Option<String>,
    },
    /// One complete supplement notice (一次性告知): every missing or wrong material with its reason.
    RequestSupplement {
        items: Vec<SupplementItem>,
        /// The date by which the applicant should supply them.
        #[schema(value_type = String, format = Date)]
        due_on: NaiveDate,
        #[serde(default)]
        note: Option<String>,
    },
    /// The applicant supplied the materials (已补正).
    Supplement {
        #[serde(default)]
        note: Option<String>,
    },
    /// Approved (准予), with the result document.
    Approve {
        document: ResultDocument,
        #[serde(default)]
        note: Option<String>,
    },
    /// Refused (不予许可), with the reason and the legal basis.
    Reject { reason: String, legal_basis: String },
    /// The result was collected (领取结果): by mail, by the assistant or by the applicant.
    CollectResult {
        /// `mail`, `assistant` or `applicant`.
        by: String,
        #[serde(default)]
        note: Option<String>,
    },
    /// Withdrawn by the specialist (撤回), with the reason.
    Withdraw { reason: String },
    /// The linked office's specialist acknowledges a linked task (联动响应).
    AcknowledgeLink {
        #[serde(default)]
        note: Option<String>,
    },
    /// The linked office's specialist reports back (联动反馈).
    ReportLink { report: String },
}

impl TaskAction {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Receive { .. } => "receive",
            Self::StartReview { .. } => "start_review",
            Self::RequestSupplement { .. } => "request_supplement",
            Self::Supplement { .. } => "supplement",
            Self::Approve { .. } => "approve",
            Self::Reject { .. } => "reject",
            Self::CollectResult { .. } => "collect_result",
            Self::Withdraw { .. } => "withdraw",
            Self::AcknowledgeLink { .. } => "acknowledge_link",
            Self::ReportLink { .. } => "report_link",
        }
    }
}

/// Request of [`ops::TaskTransition`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransitionTask {
    pub actor: Actor,
    pub task_id: Uuid,
    pub action: TaskAction,
}

/// One recorded step (状态标注记录): actor, time and note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TaskStep {
    pub action: String,
    pub from: TaskStatus,
    pub to: TaskStatus,
    pub actor: String,
    pub at: DateTime<Utc>,
    pub note: Option<String>,
}

/// The supplement notice in force (一次性告知书).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SupplementNotice {
    pub items: Vec<SupplementItem>,
    #[schema(value_type = String, format = Date)]
    pub due_on: NaiveDate,
    pub requested_at: DateTime<Utc>,
    pub requested_by: String,
    pub supplemented_at: Option<DateTime<Utc>>,
}

/// Linked cross-level handling (联动帮办代办, §7.4.2): the unit belongs to another office than the one that
/// accepted the case; that office's specialist responds and reports back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LinkedHandling {
    /// The accepting office, which started the linked handling and collects the certificates at the end.
    pub initiating_office: String,
    /// The office of the unit.
    pub linked_office: String,
    /// Acknowledge before this instant (configurable working hours after dispatch).
    pub acknowledge_by: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub acknowledged_by: Option<String>,
    pub reports: Vec<LinkReport>,
}

/// A report of the linked office.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LinkReport {
    pub report: String,
    pub by: String,
    pub at: DateTime<Utc>,
}

/// A routed task (推送事项): one item of a published plan at its responsible unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TaskView {
    pub id: Uuid,
    pub case_id: Uuid,
    pub ledger_no: String,
    /// The accepting office.
    pub office: String,
    pub plan_version: u32,
    pub code: String,
    pub name: String,
    pub stage: Stage,
    pub unit_code: String,
    pub unit_name: String,
    /// The office of the unit (its subjects carry this code).
    pub unit_office: String,
    pub status: TaskStatus,
    pub promised_working_days: u32,
    pub materials: Vec<Material>,
    /// Codes of the items that must conclude first.
    pub predecessors: Vec<String>,
    #[schema(value_type = String, format = Date)]
    pub planned_start: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub planned_end: NaiveDate,
    pub applicant_id: Uuid,
    pub specialist_id: String,
    pub dispatched_at: Option<DateTime<Utc>>,
    /// When the unit received it: the promised time counts from here.
    pub received_at: Option<DateTime<Utc>>,
    pub supplement: Option<SupplementNotice>,
    pub result: Option<ResultDocument>,
    pub rejection: Option<Rejection>,
    pub linked: Option<LinkedHandling>,
    pub history: Vec<TaskStep>,
    pub updated_at: DateTime<Utc>,
}

/// Why an item was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Rejection {
    pub reason: String,
    pub legal_basis: String,
}

/// Request of [`ops::TaskGet`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetTask {
    pub id: Uuid,
}

/// Request of [`ops::CaseTasks`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseTasks {
    pub case_id: Uuid,
}

/// Request of [`ops::TaskList`] and the query of `GET /api/v1/tasks`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListTasks {
    pub unit: Option<String>,
    /// The office of the unit.
    pub office: Option<String>,
    pub status: Option<TaskStatus>,
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

/// A page of tasks (a unit's inbox).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TaskPage {
    pub items: Vec<TaskView>,
    pub total: u64,
    pub limit: u64,
    pub offset: u64,
}

/// Data of every `task.*` event (on `bb.evt.<office of the unit>.task.<event>.<unit>`): the task as it is after
/// the step, what deadline and notification need, and the step itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TaskEvent {
    pub task_id: Uuid,
    pub case_id: Uuid,
    pub ledger_no: String,
    /// The accepting office.
    pub office: String,
    pub plan_version: u32,
    pub code: String,
    pub name: String,
    pub stage: Stage,
    pub unit_code: String,
    pub unit_office: String,
    pub status: TaskStatus,
    /// The promised time in working days (承诺时限); the clock starts at `received_at`.
    pub promised_working_days: u32,
    pub received_at: Option<DateTime<Utc>>,
    /// Set while the clock is paused for a supplement (补正期间不计时).
    pub paused_since: Option<DateTime<Utc>>,
    /// The applicant by reference (联系人引用): notification looks up how to reach them; never a phone number.
    pub applicant_id: Uuid,
    pub specialist_id: String,
    #[schema(value_type = String, format = Date)]
    pub planned_end: NaiveDate,
    pub linked: bool,
    pub action: String,
    pub actor: String,
    pub at: DateTime<Utc>,
    pub note: Option<String>,
    /// The supplement notice, the result or the rejection, when the step made one.
    #[serde(default)]
    pub supplement: Option<SupplementNotice>,
    #[serde(default)]
    pub result: Option<ResultDocument>,
    #[serde(default)]
    pub rejection: Option<Rejection>,
    /// The unit's name (for notices people read).
    #[serde(default)]
    pub unit_name: Option<String>,
    /// A linked task: the linked office must acknowledge by then (§7.4.2).
    #[serde(default)]
    pub acknowledge_by: Option<DateTime<Utc>>,
}

/// Data of `plan.completed`: every task of the case concluded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PlanCompleted {
    pub case_id: Uuid,
    pub ledger_no: String,
    pub office: String,
    pub plan_version: u32,
    pub approved: u32,
    pub rejected: u32,
    pub withdrawn: u32,
    pub completed_at: DateTime<Utc>,
}
