//! Needs intake (对接需求, §7.1): consultations from the window, the 12345 hotline or the platform,
//! the hotline's webhook body, joint meetings (联席会议) for newly settled projects, their operations
//! on the bus (`bb.svc.intake.consultation.*`) and their events.
//!
//! Events carry no personal data: the person who consulted is never named in them and their phone
//! never appears; free text (needs, project state, decisions) stays in intake's replies.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Actor, ProjectCategory, ServiceType};

/// Operations of `bb.svc.intake.<operation>` for consultations.
pub mod ops {
    crate::operations! { service = super::super::SERVICE, module = "intake", path = "intake::consultation";
        /// Record a consultation
        ConsultationRecord = "consultation.record": super::RecordConsultation => super::ConsultationView;
        /// Record a consultation posted by the hotline's webhook
        ConsultationHotline = "consultation.hotline": super::HotlineDelivery => super::HotlineReceipt;
        /// List consultations
        ConsultationList = "consultation.list": super::ListConsultations => super::ConsultationPage;
        /// Read one consultation
        ConsultationGet = "consultation.get": super::GetConsultation => super::ConsultationView;
        /// Schedule the joint meeting of a consultation
        JointMeetingSchedule = "consultation.joint_meeting.schedule": super::ScheduleJointMeeting => super::ConsultationView;
        /// Record the minutes of a joint meeting
        JointMeetingMinutes = "consultation.joint_meeting.minutes": super::RecordJointMeetingMinutes => super::ConsultationView;
    }
}

/// Who records a hotline consultation: the 12345 system itself (`recorded_by`).
pub const HOTLINE_RECORDER: &str = "hotline-12345";

crate::labelled_enum! {
    /// Where a consultation came from (咨询渠道, §7.1).
    #[derive(ToSchema)]
    pub enum ConsultationChannel {
        /// 服务窗口 — in person at the service window.
        Window = "window", "服务窗口";
        /// 12345 热线 — the government service hotline.
        Hotline = "hotline", "12345热线";
        /// 平台 — online, on the platform.
        Platform = "platform", "平台";
    }
}

crate::labelled_enum! {
    /// The initial intent agreed with the applicant (初步意向, §7.1).
    #[derive(ToSchema)]
    pub enum ConsultationIntent {
        /// 帮办 — assistance.
        Assist = "assist", "帮办";
        /// 代办 — commission.
        Commission = "commission", "代办";
        /// 暂无 — no service wanted (yet): information only.
        None = "none", "暂无";
    }
}

impl ConsultationIntent {
    /// The service type a case accepted from this consultation would have, if any.
    pub fn service_type(&self) -> Option<ServiceType> {
        match self {
            Self::Assist => Some(ServiceType::Assist),
            Self::Commission => Some(ServiceType::Commission),
            Self::None => None,
        }
    }
}

/// Who consulted (咨询人): a person, possibly speaking for an organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsultationApplicant {
    /// Name of the person who consulted (姓名, 1–100 characters). Personal data: never in events.
    #[schema(example = "王经理")]
    pub name: String,
    /// The organisation they speak for (单位名称, up to 200 characters), if any.
    #[serde(default)]
    #[schema(example = "博兴县某某新材料有限公司")]
    pub organisation: Option<String>,
    /// Mainland mobile number (手机号码): encrypted at rest, masked in every reply, never in events.
    #[serde(default)]
    #[schema(example = "13812341234")]
    pub phone: Option<String>,
}

/// The project as described in a consultation (咨询项目), before it is registered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsultationProject {
    /// Project name (项目名称, 1–200 characters).
    #[schema(example = "年产5万吨新材料项目")]
    pub name: String,
    /// Category (项目类别, §7.3.2).
    pub category: ProjectCategory,
    /// Division code of the office whose area the project lies in (项目所在地).
    #[schema(example = "371625")]
    pub office: String,
    /// A newly settled project (新落户项目), which may need a joint meeting (联席会议).
    #[serde(default)]
    pub newly_settled: bool,
}

/// Body of `POST /api/v1/consultations`: one consultation (对接需求记录).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewConsultation {
    /// Division code of the office that holds the consultation (受理机构).
    #[schema(example = "371625")]
    pub office: String,
    /// Where it came from.
    pub channel: ConsultationChannel,
    /// Who consulted.
    pub applicant: ConsultationApplicant,
    /// The project.
    pub project: ConsultationProject,
    /// The applicant's needs (服务需求, 1–4000 characters).
    #[schema(example = "希望帮办立项用地规划许可至施工许可阶段审批事项")]
    pub needs: String,
    /// The project's current state (项目现状, 1–4000 characters).
    #[schema(example = "已完成项目备案，土地正在挂牌出让")]
    pub project_state: String,
    /// Materials the applicant already has (现有材料), by name.
    #[serde(default)]
    #[schema(example = json!(["营业执照", "项目备案证明"]))]
    pub materials: Vec<String>,
    /// The initial intent agreed (初步意向).
    pub intent: ConsultationIntent,
    /// The channel's own reference, e.g. the hotline's ticket number (工单号); unique per channel.
    #[serde(default)]
    #[schema(example = "12345-20261128-000042")]
    pub external_id: Option<String>,
    /// When the consultation took place (咨询时间); now when unset. Not in the future.
    #[serde(default)]
    pub consulted_at: Option<DateTime<Utc>>,
}

/// Request of [`ops::ConsultationRecord`]: record a consultation (登记咨询) for `actor`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordConsultation {
    pub actor: Actor,
    pub consultation: NewConsultation,
}

/// The body the 12345 hotline posts to `POST /api/v1/hooks/hotline` (热线工单), signed with
/// `X-Bangban-Timestamp` / `X-Bangban-Signature` (HMAC-SHA256 of `"<timestamp>.<raw body>"`).
/// Fields Bangban does not know are ignored, so the hotline may add some.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HotlineTicket {
    /// The hotline's ticket number (工单号, 1–64 characters): one consultation per ticket.
    pub ticket_no: String,
    /// The caller's name (来电人姓名).
    pub caller_name: String,
    /// The caller's mobile number (来电号码), when it is a mainland mobile.
    #[serde(default)]
    pub caller_phone: Option<String>,
    /// The organisation the caller speaks for (来电单位), if any.
    #[serde(default)]
    pub caller_organisation: Option<String>,
    /// Division code of the area (所属区域): the office that takes the consultation.
    pub area_code: String,
    /// Project name (项目名称).
    pub project_name: String,
    /// Project category (项目类别, §7.3.2).
    pub category: ProjectCategory,
    /// Whether the caller said the project is newly settled (新落户项目).
    #[serde(default)]
    pub newly_settled: bool,
    /// What the caller needs (诉求内容).
    pub needs: String,
    /// What the caller said of the project's state (项目现状); "not stated" when absent.
    #[serde(default)]
    pub project_state: Option<String>,
    /// When the hotline received the call (受理时间, RFC 3339).
    pub received_at: DateTime<Utc>,
}

/// Request of [`ops::ConsultationHotline`] (热线投递): a ticket whose signature the gateway verified, with the
/// replay keys of the signed request (`sig:<hex>`, `delivery:<id>`) to store under a unique constraint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HotlineDelivery {
    pub ticket: HotlineTicket,
    pub replay_keys: Vec<String>,
}

/// Reply to the hotline (回执): the consultation created for its ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HotlineReceipt {
    /// The consultation's id.
    pub consultation_id: Uuid,
    /// The hotline's ticket number, echoed.
    #[schema(example = "12345-20261128-000042")]
    pub ticket_no: String,
}

/// Query of `GET /api/v1/consultations` (咨询查询条件): every filter optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ConsultationQuery {
    /// Only this office's consultations; default: the caller's office (every office for city staff).
    pub office: Option<String>,
    /// Only this channel.
    pub channel: Option<ConsultationChannel>,
    /// Only this intent.
    pub intent: Option<ConsultationIntent>,
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

/// Default page size of a consultation list (默认每页条数).
pub const DEFAULT_LIMIT: u64 = 50;
/// Largest page size of a consultation list (每页最多条数).
pub const MAX_LIMIT: u64 = 200;

/// Request of [`ops::ConsultationList`] (咨询列表), filters already scoped by the gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListConsultations {
    /// `None`: every office (the caller reaches them all).
    pub office: Option<String>,
    pub channel: Option<ConsultationChannel>,
    pub intent: Option<ConsultationIntent>,
    pub limit: u64,
    pub offset: u64,
}

/// Request of [`ops::ConsultationGet`] (查看咨询记录).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetConsultation {
    pub id: Uuid,
}

/// The consulting person (咨询人) as shown: the phone masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConsultationApplicantView {
    pub name: String,
    pub organisation: Option<String>,
    /// Masked (`138****1234`).
    #[schema(example = "138****1234")]
    pub phone: Option<String>,
}

/// A consultation (对接需求记录) as people see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConsultationView {
    pub id: Uuid,
    pub office: String,
    pub channel: ConsultationChannel,
    /// The channel's reference (hotline ticket number, 工单号).
    pub external_id: Option<String>,
    pub applicant: ConsultationApplicantView,
    pub project: ConsultationProject,
    pub needs: String,
    pub project_state: String,
    pub materials: Vec<String>,
    pub intent: ConsultationIntent,
    pub consulted_at: DateTime<Utc>,
    /// Who recorded it: a member of staff, or `hotline-12345`.
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
    /// The joint meeting (联席会议), once scheduled.
    pub joint_meeting: Option<JointMeetingView>,
}

/// One page of consultations (咨询记录分页), newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConsultationPage {
    pub items: Vec<ConsultationView>,
    /// How many match the filters in all.
    pub total: u64,
    pub limit: u64,
    pub offset: u64,
}

/// One attendee of a joint meeting (参会单位/人员): a unit, and the person it sends if known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Attendee {
    /// The unit (参会单位, 1–100 characters).
    #[schema(example = "博兴县自然资源和规划局")]
    pub unit: String,
    /// The person (参会人员), if named.
    #[serde(default)]
    pub name: Option<String>,
    /// Their position (职务), if given.
    #[serde(default)]
    pub position: Option<String>,
}

/// Body of `POST /api/v1/consultations/{id}/joint-meeting`: schedules the joint meeting (联席会议)
/// of a newly settled project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewJointMeeting {
    /// When it takes place (会议时间); not in the past.
    pub scheduled_at: DateTime<Utc>,
    /// Where (会议地点, 1–200 characters).
    #[schema(example = "博兴县政务服务中心三楼会议室")]
    pub place: String,
    /// Who attends (参会单位及人员), at least one unit.
    pub attendees: Vec<Attendee>,
}

/// Request of [`ops::JointMeetingSchedule`] (安排联席会议).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleJointMeeting {
    pub actor: Actor,
    pub consultation_id: Uuid,
    pub meeting: NewJointMeeting,
}

/// A follow-up decided at a joint meeting (会议议定事项的落实): who does what by when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FollowUp {
    /// What is to be done (事项, 1–1000 characters).
    #[schema(example = "出具项目用地规划条件")]
    pub task: String,
    /// The responsible unit (责任单位, 1–100 characters).
    #[schema(example = "博兴县自然资源和规划局")]
    pub owner_unit: String,
    /// The responsible person (责任人), if named.
    #[serde(default)]
    pub owner: Option<String>,
    /// Due date (完成时限); not before the meeting's day.
    pub due_on: NaiveDate,
}

/// Body of `POST /api/v1/consultations/{id}/joint-meeting/minutes`: the minutes (会议纪要).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JointMeetingMinutes {
    /// What was decided (议定事项), at least one.
    pub decisions: Vec<String>,
    /// Who follows up on what by when (落实事项).
    #[serde(default)]
    pub follow_ups: Vec<FollowUp>,
}

/// Request of [`ops::JointMeetingMinutes`] (记录会议纪要).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordJointMeetingMinutes {
    pub actor: Actor,
    pub consultation_id: Uuid,
    pub minutes: JointMeetingMinutes,
}

crate::labelled_enum! {
    /// Where a joint meeting stands (会议状态).
    #[derive(ToSchema)]
    pub enum JointMeetingStatus {
        /// 已安排
        Scheduled = "scheduled", "已安排";
        /// 已形成纪要
        Recorded = "recorded", "已形成纪要";
    }
}

/// A joint meeting (联席会议) as people see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct JointMeetingView {
    pub id: Uuid,
    pub status: JointMeetingStatus,
    pub scheduled_at: DateTime<Utc>,
    pub place: String,
    pub attendees: Vec<Attendee>,
    pub scheduled_by: String,
    /// The minutes (会议纪要), once recorded.
    pub minutes: Option<JointMeetingMinutes>,
    pub minutes_recorded_by: Option<String>,
    pub minutes_recorded_at: Option<DateTime<Utc>>,
}

/// Data of `consultation.recorded` (no personal data: no person's name, no phone, no free text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConsultationRecorded {
    pub consultation_id: Uuid,
    pub office: String,
    pub channel: ConsultationChannel,
    /// The channel's reference (hotline ticket number).
    pub external_id: Option<String>,
    /// The organisation that consulted, if any (an organisation's name is not personal data).
    pub organisation: Option<String>,
    pub project: ConsultationProject,
    pub intent: ConsultationIntent,
    /// Names of the materials on hand.
    pub materials: Vec<String>,
    pub consulted_at: DateTime<Utc>,
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
}

/// Data of `joint_meeting.scheduled`: the units invited, not the people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct JointMeetingScheduled {
    pub meeting_id: Uuid,
    pub consultation_id: Uuid,
    pub office: String,
    pub project_name: String,
    pub scheduled_at: DateTime<Utc>,
    pub place: String,
    /// The attending units (参会单位), each once.
    pub units: Vec<String>,
    pub scheduled_by: String,
}

/// A follow-up as published (落实事项): the responsible unit and the due date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FollowUpDue {
    pub owner_unit: String,
    pub due_on: NaiveDate,
}

/// Data of `joint_meeting.recorded`: how many decisions, and which unit follows up by when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct JointMeetingRecorded {
    pub meeting_id: Uuid,
    pub consultation_id: Uuid,
    pub office: String,
    pub decision_count: u32,
    pub follow_ups: Vec<FollowUpDue>,
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_round_trip_through_their_wire_names() {
        for &c in ConsultationChannel::ALL {
            assert_eq!(ConsultationChannel::parse(c.as_str()), Some(c));
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
        }
        for &i in ConsultationIntent::ALL {
            assert_eq!(ConsultationIntent::parse(i.as_str()), Some(i));
            assert_eq!(serde_json::to_value(i).unwrap(), i.as_str());
        }
        assert_eq!(ConsultationIntent::None.service_type(), None);
    }

    #[test]
    fn a_hotline_ticket_ignores_unknown_fields_and_a_consultation_refuses_them() {
        let t = serde_json::json!({
            "ticket_no": "T1", "caller_name": "张三", "area_code": "371625", "project_name": "某项目",
            "category": "industrial", "needs": "咨询", "received_at": "2026-11-28T09:30:00+08:00",
            "hotline_agent": "007"
        });
        let t: HotlineTicket = serde_json::from_value(t).unwrap();
        assert!(!t.newly_settled && t.caller_phone.is_none());
        let c = serde_json::json!({
            "office": "371625", "channel": "window",
            "applicant": {"name": "张三"},
            "project": {"name": "某项目", "category": "industrial", "office": "371625"},
            "needs": "咨询", "project_state": "筹备", "intent": "none", "colour": "red"
        });
        assert!(serde_json::from_value::<NewConsultation>(c).is_err());
    }
}
