//! Needs intake (对接需求, §7.1): consultations from the window, the 12345 hotline or the platform,
//! and joint meetings (联席会议) of newly settled projects (新落户项目).
//!
//! - A consultation records who consulted (the phone encrypted at rest, masked in every reply), the
//!   project, the needs, the project's state, the materials on hand and the intent agreed, and
//!   publishes `consultation.recorded` through the outbox in the same transaction — without the
//!   person's name, the phone or any free text.
//! - A hotline delivery arrives with the replay keys of its verified signature; they are stored in
//!   `webhook_delivery` (primary key) in the transaction of the consultation, so a replay inside the
//!   signature's time window is refused with 409 and creates nothing, on every replica.
//! - The ticket number (工单号) of a channel is unique: the same ticket re-signed later is refused too.

use std::collections::HashMap;

use bangban_contracts::{
    events,
    intake::{
        Actor, SERVICE,
        consultation::{
            Attendee, ConsultationApplicant, ConsultationApplicantView, ConsultationChannel, ConsultationIntent,
            ConsultationPage, ConsultationProject, ConsultationRecorded, ConsultationView, FollowUp, FollowUpDue,
            HOTLINE_RECORDER, HotlineDelivery, HotlineReceipt, HotlineTicket, JointMeetingMinutes,
            JointMeetingRecorded, JointMeetingScheduled, JointMeetingStatus, JointMeetingView, ListConsultations,
            MAX_LIMIT, NewConsultation, NewJointMeeting, RecordConsultation, RecordJointMeetingMinutes,
            ScheduleJointMeeting,
        },
    },
    office::is_known_office,
    page::MAX_OFFSET,
};
use bangban_platform::{clock, outbox, problem::FieldError};
use chrono::{DateTime, Duration, FixedOffset, NaiveDate, SubsecRound, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use uuid::Uuid;

use crate::{
    IntakeService,
    domain::{identity, pii, validation},
    entity::{consultation, joint_meeting, webhook_delivery},
    error::{self, IntakeError},
    parse_uuid,
};

/// How far in the future a time may lie to allow for clocks that disagree (时钟偏差).
const CLOCK_SKEW: Duration = Duration::minutes(5);

/// How long replay keys of webhook deliveries are kept: far beyond twice the signature's tolerance.
const REPLAY_KEY_RETENTION: Duration = Duration::days(1);

/// The project state recorded when the hotline did not say (项目现状未说明).
pub const STATE_NOT_STATED: &str = "未说明";

type Result<T, E = IntakeError> = std::result::Result<T, E>;

// -------------------------------------------------------------------------------------------------
// Validation (pure)
// -------------------------------------------------------------------------------------------------

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
    } else if trimmed.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
        errors.push(FieldError::new(field, "不能包含控制字符", "must not contain control characters"));
    }
}

/// An optional text: blank counts as absent; otherwise checked like [`text`] and trimmed.
fn optional_text(field: &str, value: Option<&str>, max: usize, errors: &mut Vec<FieldError>) -> Option<String> {
    let v = value.map(str::trim).filter(|v| !v.is_empty())?;
    text(field, v, max, errors);
    Some(v.to_string())
}

fn office(field: &str, code: &str, errors: &mut Vec<FieldError>) -> bool {
    if is_known_office(code) {
        return true;
    }
    errors.push(FieldError::new(
        field,
        format!("未知的机构代码 {code:?}，应为本市或所辖县（市、区）的六位行政区划代码"),
        format!(
            "unknown office code {code:?}: expected the six-digit division code of the city or one of its counties"
        ),
    ));
    false
}

fn list_len(field: &str, len: usize, min: usize, max: usize, errors: &mut Vec<FieldError>) {
    if len < min {
        errors.push(FieldError::new(field, format!("至少填写 {min} 项"), format!("needs at least {min} item(s)")));
    } else if len > max {
        errors.push(FieldError::new(field, format!("不能超过 {max} 项"), format!("must not exceed {max} items")));
    }
}

/// A consultation after validation (校验后的咨询记录): trimmed, the phone as 11 bare digits, the time settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NormalisedConsultation {
    pub office: String,
    pub channel: ConsultationChannel,
    pub name: String,
    pub organisation: Option<String>,
    pub phone: Option<String>,
    pub project: ConsultationProject,
    pub needs: String,
    pub project_state: String,
    pub materials: Vec<String>,
    pub intent: ConsultationIntent,
    pub external_id: Option<String>,
    pub consulted_at: DateTime<Utc>,
}

/// Checks a consultation (校验咨询记录) at `now`; returns it normalised, or every wrong field with the reason in
/// Chinese and English. Reasons never echo the phone number.
pub fn validate_consultation(
    c: &NewConsultation,
    now: DateTime<Utc>,
) -> std::result::Result<NormalisedConsultation, Vec<FieldError>> {
    let mut errors = Vec::new();
    let office_ok = office("office", &c.office, &mut errors);
    text("applicant.name", &c.applicant.name, 100, &mut errors);
    let organisation = optional_text("applicant.organisation", c.applicant.organisation.as_deref(), 200, &mut errors);
    let phone = match c.applicant.phone.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        None => None,
        Some(p) => match identity::validate_mobile("applicant.phone", p) {
            Ok(n) => Some(n),
            Err(e) => {
                errors.push(e);
                None
            }
        },
    };
    text("project.name", &c.project.name, 200, &mut errors);
    if office("project.office", &c.project.office, &mut errors) && office_ok {
        validation::check_area(&c.office, &c.project.office, &mut errors);
    }
    text("needs", &c.needs, 4000, &mut errors);
    text("project_state", &c.project_state, 4000, &mut errors);
    list_len("materials", c.materials.len(), 0, 100, &mut errors);
    for (i, m) in c.materials.iter().enumerate() {
        text(&format!("materials[{i}]"), m, 200, &mut errors);
    }
    let external_id = match c.external_id.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        None => {
            if c.channel == ConsultationChannel::Hotline {
                errors.push(FieldError::new(
                    "external_id",
                    "热线咨询须填写 12345 工单号",
                    "a hotline consultation needs the hotline's ticket number",
                ));
            }
            None
        }
        Some(v) => {
            if v.chars().count() > 64 || !v.chars().all(|ch| ch.is_ascii_graphic()) {
                errors.push(FieldError::new(
                    "external_id",
                    "工单号须为 1 至 64 个可见 ASCII 字符（字母、数字、符号，不含空格）",
                    "the reference must be 1 to 64 visible ASCII characters (no spaces)",
                ));
            }
            Some(v.to_string())
        }
    };
    let consulted_at = c.consulted_at.unwrap_or(now).trunc_subsecs(6);
    if consulted_at > now + CLOCK_SKEW {
        errors.push(FieldError::new("consulted_at", "咨询时间不能晚于当前时间", "must not be in the future"));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(NormalisedConsultation {
        office: c.office.clone(),
        channel: c.channel,
        name: c.applicant.name.trim().to_string(),
        organisation,
        phone,
        project: ConsultationProject {
            name: c.project.name.trim().to_string(),
            category: c.project.category,
            office: c.project.office.clone(),
            newly_settled: c.project.newly_settled,
        },
        needs: c.needs.trim().to_string(),
        project_state: c.project_state.trim().to_string(),
        materials: c.materials.iter().map(|m| m.trim().to_string()).collect(),
        intent: c.intent,
        external_id,
        consulted_at,
    })
}

/// The consultation a hotline ticket (热线工单) stands for: channel `hotline`, intent `none` (the hotline
/// agrees nothing), the ticket number as the external id, no materials.
pub fn consultation_of_ticket(t: &HotlineTicket) -> NewConsultation {
    NewConsultation {
        office: t.area_code.clone(),
        channel: ConsultationChannel::Hotline,
        applicant: ConsultationApplicant {
            name: t.caller_name.clone(),
            organisation: t.caller_organisation.clone(),
            phone: t.caller_phone.clone(),
        },
        project: ConsultationProject {
            name: t.project_name.clone(),
            category: t.category,
            office: t.area_code.clone(),
            newly_settled: t.newly_settled,
        },
        needs: t.needs.clone(),
        project_state: t
            .project_state
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .unwrap_or(STATE_NOT_STATED)
            .to_string(),
        materials: Vec::new(),
        intent: ConsultationIntent::None,
        external_id: Some(t.ticket_no.clone()),
        consulted_at: Some(t.received_at),
    }
}

/// The hotline body's name of a consultation field, so errors name what the hotline sent.
fn ticket_field(field: &str) -> &str {
    match field {
        "office" | "project.office" => "area_code",
        "applicant.name" => "caller_name",
        "applicant.organisation" => "caller_organisation",
        "applicant.phone" => "caller_phone",
        "project.name" => "project_name",
        "external_id" => "ticket_no",
        "consulted_at" => "received_at",
        other => other,
    }
}

/// Checks a hotline ticket (校验热线工单) at `now`; errors name the fields of the hotline's body (`caller_phone`).
pub fn validate_ticket(
    t: &HotlineTicket,
    now: DateTime<Utc>,
) -> std::result::Result<NormalisedConsultation, Vec<FieldError>> {
    validate_consultation(&consultation_of_ticket(t), now).map_err(|errors| {
        let mut out: Vec<FieldError> = Vec::new();
        for mut e in errors {
            e.field = ticket_field(&e.field).to_string();
            if !out.iter().any(|o| o.field == e.field) {
                out.push(e);
            }
        }
        out
    })
}

/// Checks a joint meeting (联席会议) to schedule at `now`: not in the past, a place, 1–100 attendees.
pub fn validate_joint_meeting(m: &NewJointMeeting, now: DateTime<Utc>) -> std::result::Result<(), Vec<FieldError>> {
    let mut errors = Vec::new();
    if m.scheduled_at < now - CLOCK_SKEW {
        errors.push(FieldError::new("scheduled_at", "会议时间不能早于当前时间", "must not be in the past"));
    }
    text("place", &m.place, 200, &mut errors);
    list_len("attendees", m.attendees.len(), 1, 100, &mut errors);
    for (i, a) in m.attendees.iter().enumerate() {
        text(&format!("attendees[{i}].unit"), &a.unit, 100, &mut errors);
        optional_text(&format!("attendees[{i}].name"), a.name.as_deref(), 50, &mut errors);
        optional_text(&format!("attendees[{i}].position"), a.position.as_deref(), 100, &mut errors);
    }
    if errors.is_empty() { Ok(()) } else { Err(errors) }
}

/// The day a meeting at `at` takes place, in Beijing time (北京时间).
pub fn meeting_day(at: DateTime<Utc>) -> NaiveDate {
    let cst = FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset");
    at.with_timezone(&cst).date_naive()
}

/// Checks the minutes (会议纪要) of a meeting held on `meeting_day`: at least one decision, and every
/// follow-up with a task, a responsible unit and a due date not before the meeting.
pub fn validate_minutes(m: &JointMeetingMinutes, meeting_day: NaiveDate) -> std::result::Result<(), Vec<FieldError>> {
    let mut errors = Vec::new();
    list_len("decisions", m.decisions.len(), 1, 100, &mut errors);
    for (i, d) in m.decisions.iter().enumerate() {
        text(&format!("decisions[{i}]"), d, 2000, &mut errors);
    }
    list_len("follow_ups", m.follow_ups.len(), 0, 100, &mut errors);
    for (i, f) in m.follow_ups.iter().enumerate() {
        text(&format!("follow_ups[{i}].task"), &f.task, 1000, &mut errors);
        text(&format!("follow_ups[{i}].owner_unit"), &f.owner_unit, 100, &mut errors);
        optional_text(&format!("follow_ups[{i}].owner"), f.owner.as_deref(), 50, &mut errors);
        if f.due_on < meeting_day {
            errors.push(FieldError::new(
                format!("follow_ups[{i}].due_on"),
                format!("完成时限不能早于会议日期 {meeting_day}"),
                format!("the due date must not be before the meeting's day {meeting_day}"),
            ));
        }
    }
    if errors.is_empty() { Ok(()) } else { Err(errors) }
}

fn trimmed_attendees(list: &[Attendee]) -> Vec<Attendee> {
    let opt = |v: &Option<String>| v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    list.iter()
        .map(|a| Attendee { unit: a.unit.trim().to_string(), name: opt(&a.name), position: opt(&a.position) })
        .collect()
}

fn trimmed_minutes(m: &JointMeetingMinutes) -> JointMeetingMinutes {
    JointMeetingMinutes {
        decisions: m.decisions.iter().map(|d| d.trim().to_string()).collect(),
        follow_ups: m
            .follow_ups
            .iter()
            .map(|f| FollowUp {
                task: f.task.trim().to_string(),
                owner_unit: f.owner_unit.trim().to_string(),
                owner: f.owner.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string),
                due_on: f.due_on,
            })
            .collect(),
    }
}

/// The attending units, each once, in the order given.
fn distinct_units(attendees: &[Attendee]) -> Vec<String> {
    let mut units: Vec<String> = Vec::new();
    for a in attendees {
        if !units.contains(&a.unit) {
            units.push(a.unit.clone());
        }
    }
    units
}

// -------------------------------------------------------------------------------------------------
// Operations
// -------------------------------------------------------------------------------------------------

use bangban_platform::db::is_unique_violation;

/// Emits `E` about a consultation or a joint meeting (`aggregate_id`) in the transaction.
async fn emit<E: events::Event>(
    txn: &DatabaseTransaction,
    office: &str,
    aggregate_id: &str,
    data: &E::Data,
) -> Result<()> {
    outbox::emit::<E, _>(txn, SERVICE, office, None, aggregate_id, data).await
}

impl IntakeService {
    /// Records a consultation (对接需求, §7.1) from the window, the hotline or the platform, and
    /// publishes `consultation.recorded` in the same transaction.
    #[tracing::instrument(skip_all, fields(office = %req.consultation.office, channel = req.consultation.channel.as_str(), consultation.id = tracing::field::Empty))]
    pub async fn record_consultation(&self, req: RecordConsultation) -> Result<ConsultationView> {
        let RecordConsultation { actor, consultation } = req;
        let now = clock::now().trunc_subsecs(6);
        let c = validate_consultation(&consultation, now).map_err(IntakeError::Validation)?;
        if !validation::may_accept_for(&actor, &c.office) {
            return Err(error::consultation_office_forbidden(&c.office));
        }
        let txn = bangban_platform::db::begin_write(&self.db).await?;
        let view = self.insert_consultation(&txn, Uuid::now_v7(), c, &actor.sub, now).await?;
        txn.commit().await?;
        self.notifier.notify();
        tracing::Span::current().record("consultation.id", tracing::field::display(view.id));
        tracing::info!("consultation recorded");
        Ok(view)
    }

    /// Records the consultation of a hotline ticket whose signature the gateway verified. The
    /// replay keys go into `webhook_delivery` in the same transaction: any key already there means
    /// a replay, refused with nothing recorded.
    #[tracing::instrument(skip_all, fields(office = %req.ticket.area_code, ticket = %req.ticket.ticket_no, consultation.id = tracing::field::Empty))]
    pub async fn record_hotline(&self, req: HotlineDelivery) -> Result<HotlineReceipt> {
        let HotlineDelivery { ticket, replay_keys } = req;
        if replay_keys.is_empty() || replay_keys.iter().any(|k| k.is_empty() || k.len() > 160) {
            return Err(IntakeError::Validation(vec![FieldError::new(
                "replay_keys",
                "须附带 1 个以上、每个不超过 160 字符的防重放键",
                "one or more replay keys of at most 160 characters are required",
            )]));
        }
        let now = clock::now().trunc_subsecs(6);
        let c = validate_ticket(&ticket, now).map_err(IntakeError::Validation)?;
        let id = Uuid::now_v7();

        let txn = bangban_platform::db::begin_write(&self.db).await?;
        for key in &replay_keys {
            let inserted = webhook_delivery::Entity::insert(webhook_delivery::ActiveModel {
                key: Set(key.clone()),
                source: Set(ConsultationChannel::Hotline.as_str().to_string()),
                consultation_id: Set(id.to_string()),
                received_at: Set(now),
            })
            .on_conflict_do_nothing()
            .exec_without_returning(&txn)
            .await?;
            if !matches!(inserted, sea_orm::TryInsertResult::Inserted(n) if n > 0) {
                let earlier = webhook_delivery::Entity::find_by_id(key.clone()).one(&txn).await?;
                let consultation_id = earlier.map(|d| d.consultation_id).unwrap_or_default();
                tracing::warn!(%consultation_id, "replayed hotline delivery refused");
                return Err(error::replayed_delivery(&consultation_id));
            }
        }
        let view = self.insert_consultation(&txn, id, c, HOTLINE_RECORDER, now).await?;
        // Keys older than the retention are refused by the timestamp check anyway.
        webhook_delivery::Entity::delete_many()
            .filter(webhook_delivery::Column::ReceivedAt.lt(now - REPLAY_KEY_RETENTION))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        self.notifier.notify();
        tracing::Span::current().record("consultation.id", tracing::field::display(view.id));
        tracing::info!("hotline consultation recorded");
        Ok(HotlineReceipt { consultation_id: view.id, ticket_no: view.external_id.unwrap_or_default() })
    }

    async fn insert_consultation(
        &self,
        txn: &DatabaseTransaction,
        id: Uuid,
        c: NormalisedConsultation,
        recorded_by: &str,
        now: DateTime<Utc>,
    ) -> Result<ConsultationView> {
        if let Some(ext) = &c.external_id {
            let existing = consultation::Entity::find()
                .filter(consultation::Column::Channel.eq(c.channel.as_str()))
                .filter(consultation::Column::ExternalId.eq(ext.clone()))
                .one(txn)
                .await?;
            if existing.is_some() {
                return Err(error::duplicate_external_id(c.channel.as_str(), ext));
            }
        }
        let model = consultation::Model {
            id: id.to_string(),
            office: c.office.clone(),
            channel: c.channel,
            external_id: c.external_id.clone(),
            applicant_name: c.name.clone(),
            organisation: c.organisation.clone(),
            phone_enc: c.phone.as_deref().map(|p| self.pii.encrypt(p)),
            project_name: c.project.name.clone(),
            project_category: c.project.category,
            project_office: c.project.office.clone(),
            newly_settled: c.project.newly_settled,
            needs: c.needs.clone(),
            project_state: c.project_state.clone(),
            materials: serde_json::to_string(&c.materials).unwrap_or_else(|_| "[]".into()),
            intent: c.intent,
            consulted_at: c.consulted_at,
            recorded_by: recorded_by.to_string(),
            recorded_at: now,
        };
        let active: consultation::ActiveModel = model.clone().into();
        if let Err(e) = consultation::Entity::insert(active).exec_without_returning(txn).await {
            return Err(match (&c.external_id, is_unique_violation(&e)) {
                (Some(ext), true) => error::duplicate_external_id(c.channel.as_str(), ext),
                _ => e.into(),
            });
        }
        let data = ConsultationRecorded {
            consultation_id: id,
            office: c.office.clone(),
            channel: c.channel,
            external_id: c.external_id.clone(),
            organisation: c.organisation.clone(),
            project: c.project.clone(),
            intent: c.intent,
            materials: c.materials.clone(),
            consulted_at: c.consulted_at,
            recorded_by: recorded_by.to_string(),
            recorded_at: now,
        };
        emit::<events::ConsultationRecorded>(txn, &c.office, &id.to_string(), &data).await?;
        self.consultation_view(model, None)
    }

    /// Consultations matching the filters, newest first, with the total count.
    #[tracing::instrument(skip_all, fields(office = ?req.office))]
    pub async fn list_consultations(&self, req: ListConsultations) -> Result<ConsultationPage> {
        let mut errors = Vec::new();
        if let Some(o) = &req.office {
            office("office", o, &mut errors);
        }
        if req.offset > MAX_OFFSET {
            errors.push(FieldError::new(
                "offset",
                format!("须在 0 至 {MAX_OFFSET} 之间"),
                format!("must be between 0 and {MAX_OFFSET}"),
            ));
        }
        if req.limit == 0 || req.limit > MAX_LIMIT {
            errors.push(FieldError::new(
                "limit",
                format!("须在 1 至 {MAX_LIMIT} 之间"),
                format!("must be between 1 and {MAX_LIMIT}"),
            ));
        }
        if !errors.is_empty() {
            return Err(IntakeError::Validation(errors));
        }
        let mut q = consultation::Entity::find();
        if let Some(o) = &req.office {
            q = q.filter(consultation::Column::Office.eq(o.clone()));
        }
        if let Some(ch) = req.channel {
            q = q.filter(consultation::Column::Channel.eq(ch.as_str()));
        }
        if let Some(i) = req.intent {
            q = q.filter(consultation::Column::Intent.eq(i.as_str()));
        }
        let total = q.clone().count(&self.db).await?;
        let rows = q
            .order_by_desc(consultation::Column::RecordedAt)
            .order_by_desc(consultation::Column::Id)
            .limit(req.limit)
            .offset(req.offset)
            .all(&self.db)
            .await?;
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        let mut meetings: HashMap<String, joint_meeting::Model> = if ids.is_empty() {
            HashMap::new()
        } else {
            joint_meeting::Entity::find()
                .filter(joint_meeting::Column::ConsultationId.is_in(ids))
                .all(&self.db)
                .await?
                .into_iter()
                .map(|m| (m.consultation_id.clone(), m))
                .collect()
        };
        let items = rows
            .into_iter()
            .map(|r| {
                let m = meetings.remove(&r.id);
                self.consultation_view(r, m)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(ConsultationPage { items, total, limit: req.limit, offset: req.offset })
    }

    /// Reads one consultation with its joint meeting.
    #[tracing::instrument(skip(self))]
    pub async fn get_consultation(&self, id: Uuid) -> Result<ConsultationView> {
        let row = consultation::Entity::find_by_id(id.to_string())
            .one(&self.db)
            .await?
            .ok_or_else(|| error::consultation_not_found(id))?;
        let meeting = joint_meeting::Entity::find()
            .filter(joint_meeting::Column::ConsultationId.eq(id.to_string()))
            .one(&self.db)
            .await?;
        self.consultation_view(row, meeting)
    }

    /// The consultation `id` if `actor` reaches its office; otherwise it does not exist for them.
    async fn consultation_for<C: ConnectionTrait>(
        &self,
        conn: &C,
        actor: &Actor,
        id: Uuid,
    ) -> Result<consultation::Model> {
        match consultation::Entity::find_by_id(id.to_string()).one(conn).await? {
            Some(c) if validation::may_accept_for(actor, &c.office) => Ok(c),
            _ => Err(error::consultation_not_found(id)),
        }
    }

    /// Schedules the joint meeting (联席会议) of a newly settled project's consultation and
    /// publishes `joint_meeting.scheduled`. One meeting per consultation.
    #[tracing::instrument(skip_all, fields(consultation.id = %req.consultation_id))]
    pub async fn schedule_joint_meeting(&self, req: ScheduleJointMeeting) -> Result<ConsultationView> {
        let ScheduleJointMeeting { actor, consultation_id, meeting } = req;
        let now = clock::now().trunc_subsecs(6);
        validate_joint_meeting(&meeting, now).map_err(IntakeError::Validation)?;
        let txn = bangban_platform::db::begin_write(&self.db).await?;
        let c = self.consultation_for(&txn, &actor, consultation_id).await?;
        if !c.newly_settled {
            return Err(error::not_newly_settled());
        }
        let existing = joint_meeting::Entity::find()
            .filter(joint_meeting::Column::ConsultationId.eq(c.id.clone()))
            .one(&txn)
            .await?;
        if existing.is_some() {
            return Err(error::meeting_already_scheduled());
        }
        let meeting_id = Uuid::now_v7();
        let attendees = trimmed_attendees(&meeting.attendees);
        let model = joint_meeting::Model {
            id: meeting_id.to_string(),
            consultation_id: c.id.clone(),
            office: c.office.clone(),
            scheduled_at: meeting.scheduled_at.trunc_subsecs(6),
            place: meeting.place.trim().to_string(),
            attendees: serde_json::to_string(&attendees).unwrap_or_else(|_| "[]".into()),
            scheduled_by: actor.sub.clone(),
            created_at: now,
            decisions: None,
            follow_ups: None,
            minutes_recorded_by: None,
            minutes_recorded_at: None,
        };
        let active: joint_meeting::ActiveModel = model.clone().into();
        if let Err(e) = joint_meeting::Entity::insert(active).exec_without_returning(&txn).await {
            return Err(if is_unique_violation(&e) { error::meeting_already_scheduled() } else { e.into() });
        }
        let data = JointMeetingScheduled {
            meeting_id,
            consultation_id,
            office: c.office.clone(),
            project_name: c.project_name.clone(),
            scheduled_at: model.scheduled_at,
            place: model.place.clone(),
            units: distinct_units(&attendees),
            scheduled_by: actor.sub.clone(),
        };
        emit::<events::JointMeetingScheduled>(&txn, &c.office, &meeting_id.to_string(), &data).await?;
        txn.commit().await?;
        self.notifier.notify();
        tracing::info!(meeting.id = %meeting_id, "joint meeting scheduled");
        self.consultation_view(c, Some(model))
    }

    /// Records the minutes (会议纪要) of a consultation's joint meeting, once, and publishes
    /// `joint_meeting.recorded`.
    #[tracing::instrument(skip_all, fields(consultation.id = %req.consultation_id))]
    pub async fn record_joint_meeting_minutes(&self, req: RecordJointMeetingMinutes) -> Result<ConsultationView> {
        let RecordJointMeetingMinutes { actor, consultation_id, minutes } = req;
        let now = clock::now().trunc_subsecs(6);
        let txn = bangban_platform::db::begin_write(&self.db).await?;
        let c = self.consultation_for(&txn, &actor, consultation_id).await?;
        let meeting = joint_meeting::Entity::find()
            .filter(joint_meeting::Column::ConsultationId.eq(c.id.clone()))
            .one(&txn)
            .await?
            .ok_or_else(error::no_meeting)?;
        if meeting.minutes_recorded_at.is_some() {
            return Err(error::minutes_recorded());
        }
        validate_minutes(&minutes, meeting_day(meeting.scheduled_at)).map_err(IntakeError::Validation)?;
        let minutes = trimmed_minutes(&minutes);
        let decisions = serde_json::to_string(&minutes.decisions).unwrap_or_else(|_| "[]".into());
        let follow_ups = serde_json::to_string(&minutes.follow_ups).unwrap_or_else(|_| "[]".into());
        // Only a meeting without minutes is updated, so two concurrent recordings cannot both win.
        let updated = joint_meeting::Entity::update_many()
            .col_expr(joint_meeting::Column::Decisions, sea_orm::sea_query::Expr::value(decisions.clone()))
            .col_expr(joint_meeting::Column::FollowUps, sea_orm::sea_query::Expr::value(follow_ups.clone()))
            .col_expr(joint_meeting::Column::MinutesRecordedBy, sea_orm::sea_query::Expr::value(actor.sub.clone()))
            .col_expr(joint_meeting::Column::MinutesRecordedAt, sea_orm::sea_query::Expr::value(now))
            .filter(joint_meeting::Column::Id.eq(meeting.id.clone()))
            .filter(joint_meeting::Column::MinutesRecordedAt.is_null())
            .exec(&txn)
            .await?;
        if updated.rows_affected == 0 {
            return Err(error::minutes_recorded());
        }
        let meeting_id = parse_uuid(&meeting.id)?;
        let data = JointMeetingRecorded {
            meeting_id,
            consultation_id,
            office: c.office.clone(),
            decision_count: u32::try_from(minutes.decisions.len()).unwrap_or(u32::MAX),
            follow_ups: minutes
                .follow_ups
                .iter()
                .map(|f| FollowUpDue { owner_unit: f.owner_unit.clone(), due_on: f.due_on })
                .collect(),
            recorded_by: actor.sub.clone(),
            recorded_at: now,
        };
        emit::<events::JointMeetingRecorded>(&txn, &c.office, &meeting.id, &data).await?;
        txn.commit().await?;
        self.notifier.notify();
        tracing::info!(meeting.id = %meeting_id, "joint meeting minutes recorded");
        let meeting = joint_meeting::Model {
            decisions: Some(decisions),
            follow_ups: Some(follow_ups),
            minutes_recorded_by: Some(actor.sub),
            minutes_recorded_at: Some(now),
            ..meeting
        };
        self.consultation_view(c, Some(meeting))
    }

    /// A consultation as people see it: the phone decrypted and masked.
    fn consultation_view(
        &self,
        c: consultation::Model,
        meeting: Option<joint_meeting::Model>,
    ) -> Result<ConsultationView> {
        let corrupt = |what: &str| IntakeError::Corrupt(format!("{what} of consultation {}", c.id));
        let phone = c
            .phone_enc
            .as_deref()
            .map(|e| self.pii.decrypt(e).map(|plain| pii::mask_phone(&plain)))
            .transpose()
            .map_err(|_| corrupt("phone"))?;
        let joint_meeting = meeting.map(meeting_view).transpose()?;
        Ok(ConsultationView {
            id: parse_uuid(&c.id)?,
            channel: c.channel,
            external_id: c.external_id.clone(),
            applicant: ConsultationApplicantView {
                name: c.applicant_name.clone(),
                organisation: c.organisation.clone(),
                phone,
            },
            project: ConsultationProject {
                name: c.project_name.clone(),
                category: c.project_category,
                office: c.project_office.clone(),
                newly_settled: c.newly_settled,
            },
            needs: c.needs.clone(),
            project_state: c.project_state.clone(),
            materials: serde_json::from_str(&c.materials).map_err(|_| corrupt("materials"))?,
            intent: c.intent,
            consulted_at: c.consulted_at,
            recorded_by: c.recorded_by.clone(),
            recorded_at: c.recorded_at,
            office: c.office,
            joint_meeting,
        })
    }
}

fn meeting_view(m: joint_meeting::Model) -> Result<JointMeetingView> {
    let corrupt = |what: &str| IntakeError::Corrupt(format!("{what} of joint meeting {}", m.id));
    let minutes = match (&m.decisions, &m.follow_ups) {
        (Some(d), Some(f)) => Some(JointMeetingMinutes {
            decisions: serde_json::from_str(d).map_err(|_| corrupt("decisions"))?,
            follow_ups: serde_json::from_str(f).map_err(|_| corrupt("follow-ups"))?,
        }),
        _ => None,
    };
    Ok(JointMeetingView {
        id: parse_uuid(&m.id)?,
        status: if minutes.is_some() { JointMeetingStatus::Recorded } else { JointMeetingStatus::Scheduled },
        scheduled_at: m.scheduled_at,
        place: m.place.clone(),
        attendees: serde_json::from_str(&m.attendees).map_err(|_| corrupt("attendees"))?,
        scheduled_by: m.scheduled_by.clone(),
        minutes,
        minutes_recorded_by: m.minutes_recorded_by.clone(),
        minutes_recorded_at: m.minutes_recorded_at,
    })
}

#[cfg(test)]
mod tests {
    use bangban_contracts::intake::ProjectCategory;
    use bangban_platform::problem::Problem;

    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-11-28T02:00:00Z".parse().unwrap()
    }

    fn consultation() -> NewConsultation {
        NewConsultation {
            office: "371625".into(),
            channel: ConsultationChannel::Window,
            applicant: ConsultationApplicant {
                name: " 王经理 ".into(),
                organisation: Some("博兴县某某新材料有限公司".into()),
                phone: Some("+86 138-1234-1234".into()),
            },
            project: ConsultationProject {
                name: "年产5万吨新材料项目".into(),
                category: ProjectCategory::Industrial,
                office: "371625".into(),
                newly_settled: true,
            },
            needs: "帮办立项至施工许可".into(),
            project_state: "已备案".into(),
            materials: vec!["营业执照".into(), " 项目备案证明 ".into()],
            intent: ConsultationIntent::Assist,
            external_id: None,
            consulted_at: None,
        }
    }

    fn ticket() -> HotlineTicket {
        HotlineTicket {
            ticket_no: "12345-20261128-000042".into(),
            caller_name: "张三".into(),
            caller_phone: Some("13905431234".into()),
            caller_organisation: None,
            area_code: "371625".into(),
            project_name: "某新落户项目".into(),
            category: ProjectCategory::Industrial,
            newly_settled: true,
            needs: "咨询审批流程".into(),
            project_state: None,
            received_at: now() - Duration::minutes(3),
        }
    }

    fn fields(errors: Vec<FieldError>) -> Vec<String> {
        errors.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn a_good_consultation_is_normalised() {
        let c = validate_consultation(&consultation(), now()).unwrap();
        assert_eq!(c.name, "王经理");
        assert_eq!(c.phone.as_deref(), Some("13812341234"));
        assert_eq!(c.materials, ["营业执照", "项目备案证明"]);
        assert_eq!(c.consulted_at, now());
        // The city office takes any project; blank optional fields count as absent.
        let mut city = consultation();
        city.office = "371600".into();
        city.applicant.phone = Some("  ".into());
        city.applicant.organisation = Some("".into());
        let c = validate_consultation(&city, now()).unwrap();
        assert_eq!((c.phone, c.organisation), (None, None));
    }

    #[test]
    fn every_wrong_field_is_named_in_both_languages() {
        let mut c = consultation();
        c.office = "999999".into();
        c.applicant.name = " ".into();
        c.applicant.phone = Some("1234567".into());
        c.project.name = "x".repeat(201);
        c.needs = String::new();
        c.project_state = "a\u{0007}b".into();
        c.materials = vec!["".into()];
        c.external_id = Some("has space".into());
        c.consulted_at = Some(now() + Duration::hours(1));
        let errors = validate_consultation(&c, now()).unwrap_err();
        assert!(errors.iter().all(|e| !e.reason.is_empty() && !e.reason_en.is_empty()));
        assert!(errors.iter().all(|e| !e.reason.contains("1234567") && !e.reason_en.contains("1234567")));
        assert_eq!(
            fields(errors),
            [
                "office",
                "applicant.name",
                "applicant.phone",
                "project.name",
                "needs",
                "project_state",
                "materials[0]",
                "external_id",
                "consulted_at"
            ]
        );
    }

    #[test]
    fn a_county_office_takes_only_projects_in_its_area() {
        let mut c = consultation();
        c.project.office = "371681".into();
        assert_eq!(fields(validate_consultation(&c, now()).unwrap_err()), ["project.office"]);
        c.project.office = "000000".into();
        assert_eq!(fields(validate_consultation(&c, now()).unwrap_err()), ["project.office"]);
    }

    #[test]
    fn a_hotline_consultation_needs_its_ticket_number() {
        let mut c = consultation();
        c.channel = ConsultationChannel::Hotline;
        assert_eq!(fields(validate_consultation(&c, now()).unwrap_err()), ["external_id"]);
        c.external_id = Some("12345-1".into());
        assert_eq!(validate_consultation(&c, now()).unwrap().external_id.as_deref(), Some("12345-1"));
    }

    #[test]
    fn a_ticket_becomes_a_hotline_consultation_and_its_errors_name_the_hotline_fields() {
        let c = validate_ticket(&ticket(), now()).unwrap();
        assert_eq!(c.channel, ConsultationChannel::Hotline);
        assert_eq!(c.intent, ConsultationIntent::None);
        assert_eq!(c.external_id.as_deref(), Some("12345-20261128-000042"));
        assert_eq!(c.project_state, STATE_NOT_STATED);
        assert!(c.project.newly_settled && c.materials.is_empty());

        let mut t = ticket();
        t.area_code = "12".into();
        t.caller_phone = Some("0543-1234567".into());
        t.caller_name = String::new();
        t.ticket_no = String::new();
        t.received_at = now() + Duration::hours(2);
        // The area code is named once although it is both the office and the project's area.
        assert_eq!(
            fields(validate_ticket(&t, now()).unwrap_err()),
            ["area_code", "caller_name", "caller_phone", "ticket_no", "received_at"]
        );
    }

    #[test]
    fn a_joint_meeting_needs_a_future_time_a_place_and_attendees() {
        let good = NewJointMeeting {
            scheduled_at: now() + Duration::days(2),
            place: "政务服务中心三楼会议室".into(),
            attendees: vec![Attendee { unit: "自然资源和规划局".into(), name: None, position: None }],
        };
        assert!(validate_joint_meeting(&good, now()).is_ok());
        let bad = NewJointMeeting { scheduled_at: now() - Duration::hours(1), place: " ".into(), attendees: vec![] };
        assert_eq!(fields(validate_joint_meeting(&bad, now()).unwrap_err()), ["scheduled_at", "place", "attendees"]);
        let mut unit = good.clone();
        unit.attendees.push(Attendee { unit: "".into(), name: Some("x".repeat(51)), position: None });
        assert_eq!(
            fields(validate_joint_meeting(&unit, now()).unwrap_err()),
            ["attendees[1].unit", "attendees[1].name"]
        );
    }

    #[test]
    fn minutes_need_a_decision_and_follow_ups_due_after_the_meeting() {
        // 2026-11-28T20:00Z is already the 29th in Beijing.
        let day = meeting_day("2026-11-28T20:00:00Z".parse().unwrap());
        assert_eq!(day, NaiveDate::from_ymd_opt(2026, 11, 29).unwrap());
        let follow_up = |due: NaiveDate| FollowUp {
            task: "出具规划条件".into(),
            owner_unit: "自然资源和规划局".into(),
            owner: None,
            due_on: due,
        };
        let ok = JointMeetingMinutes { decisions: vec!["同意纳入帮办".into()], follow_ups: vec![follow_up(day)] };
        assert!(validate_minutes(&ok, day).is_ok());
        let bad = JointMeetingMinutes {
            decisions: vec![],
            follow_ups: vec![follow_up(day.pred_opt().unwrap()), FollowUp { owner_unit: " ".into(), ..follow_up(day) }],
        };
        assert_eq!(
            fields(validate_minutes(&bad, day).unwrap_err()),
            ["decisions", "follow_ups[0].due_on", "follow_ups[1].owner_unit"]
        );
    }

    #[test]
    fn units_are_listed_once_and_problems_have_the_right_status() {
        let a = |u: &str| Attendee { unit: u.into(), name: Some("某人".into()), position: None };
        assert_eq!(distinct_units(&[a("住建局"), a("自规局"), a("住建局")]), ["住建局", "自规局"]);
        assert_eq!(Problem::from(error::not_newly_settled()).status, 409);
        assert_eq!(Problem::from(error::replayed_delivery("x")).status, 409);
        assert_eq!(Problem::from(error::consultation_not_found("x")).status, 404);
        assert_eq!(Problem::from(IntakeError::Validation(vec![])).status, 422);
    }
}
