//! Clocks (计时): created from routing's task events, started, paused, extended, recomputed and stopped; the
//! alarms of each clock state scheduled; views with the timeline.

use std::collections::HashMap;

use bangban_contracts::{
    EventType,
    deadline::{
        AlertLevel, CaseClocks, ClockAlarm, ClockPage, ClockStatus, ClockView, ExtendClock, Extension, ListClocks,
        Pause, PauseClock, PauseKind, ResumeClock, StartBasis, SupervisionKind, TimelineEntry,
    },
    events::TaskClockChanged,
    planning::CalendarChange,
    routing::TaskEvent,
};
use bangban_platform::{clock as time, db};
use bangban_workdays::Calendar;
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait,
    Order, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, sea_query::NullOrdering,
};
use uuid::Uuid;

use crate::{
    DeadlineService, date_str,
    decision::{self, Acknowledge, ClockState, Decision, Finish, Supplement},
    domain::{self, ClockInput},
    emit,
    engine::{self, AlarmKind},
    entity::{alarm, case_info, clock, clock_extension, clock_pause, clock_timeline, task_message},
    error::{DeadlineError, Result},
    from_us, parse_date, timeline, us, uuid,
};

/// The open supplement pause (补正) of a task, if any.
async fn open_supplement<C: ConnectionTrait>(conn: &C, task_id: &str) -> Result<Option<clock_pause::Model>> {
    Ok(clock_pause::Entity::find()
        .filter(clock_pause::Column::TaskId.eq(task_id.to_string()))
        .filter(clock_pause::Column::Kind.eq(PauseKind::Supplement))
        .filter(clock_pause::Column::EndedAt.is_null())
        .one(conn)
        .await?)
}

fn pause_view(p: clock_pause::Model) -> Result<Pause> {
    Ok(Pause {
        id: uuid(&p.id)?,
        kind: p.kind,
        reason: p.reason,
        started_at: p.started_at,
        ended_at: p.ended_at,
        started_by: p.started_by,
        ended_by: p.ended_by,
    })
}

/// The alarm data of a clock.
pub(crate) fn alarm_data(
    calendar: &Calendar,
    c: &clock::Model,
    reason: &str,
    scheduled_for: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<ClockAlarm> {
    let due_date = c.due_date.as_deref().map(parse_date).transpose()?;
    let due_at = c.due_us.map(from_us);
    Ok(ClockAlarm {
        task_id: uuid(&c.task_id)?,
        case_id: uuid(&c.case_id)?,
        ledger_no: c.ledger_no.clone(),
        office: c.office.clone(),
        code: c.code.clone(),
        name: c.name.clone(),
        stage: c.stage,
        unit_code: c.unit_code.clone(),
        unit_office: c.unit_office.clone(),
        applicant_id: uuid(&c.applicant_id)?,
        specialist_id: c.specialist_id.clone(),
        alert: c.alert,
        status: c.status,
        promised_working_days: c.promised_working_days as u32,
        extension_working_days: c.extension_working_days as u32,
        due_at,
        due_date,
        remaining_working_days: match (due_date, due_at, c.started_at) {
            (Some(d), Some(a), Some(s)) => {
                Some(domain::remaining_working_days(calendar, domain::local_date(s), d, a, now))
            }
            _ => None,
        },
        provisional: c.provisional,
        reason: reason.to_string(),
        scheduled_for,
        at: now,
    })
}

impl DeadlineService {
    /// Applies one of routing's task events to the task's clock (creating it on first sight): keeps the event as
    /// evidence, lets [`decision::decide`] say what changes, and stores the changes.
    pub(crate) async fn on_task_event(
        &self,
        txn: &DatabaseTransaction,
        event_type: EventType,
        event_id: &str,
        data: &TaskEvent,
    ) -> Result<()> {
        let task_id = data.task_id.to_string();
        task_message::Entity::insert(task_message::ActiveModel {
            event_id: Set(event_id.to_string()),
            task_id: Set(task_id.clone()),
            event_type: Set(format!("{}.{}", event_type.aggregate, event_type.event)),
            action: Set(data.action.clone()),
            actor: Set(data.actor.clone()),
            at: Set(data.at),
            note: Set(data.note.clone()),
        })
        .on_conflict(sea_orm::sea_query::OnConflict::column(task_message::Column::EventId).do_nothing().to_owned())
        .exec_without_returning(txn)
        .await?;
        if event_type == EventType::TASK_LINK_REPORTED {
            return Ok(());
        }
        let existing = clock::Entity::find_by_id(task_id.clone()).one(txn).await?;
        let open_supplement = match &existing {
            Some(c) if c.status.is_open() => open_supplement(txn, &task_id).await?,
            _ => None,
        };
        let state = existing.as_ref().map(|c| ClockState {
            status: c.status,
            last_event_at: c.last_event_at,
            linked: c.linked,
            acknowledged: c.acknowledged_at.is_some(),
            supplement_open: open_supplement.is_some(),
        });
        let changes = match decision::decide(state.as_ref(), event_type, data) {
            Decision::Nothing => return Ok(()),
            Decision::Touch => {
                if let Some(c) = existing {
                    let mut active: clock::ActiveModel = c.into();
                    active.last_event_at = Set(Some(data.at));
                    active.update(txn).await?;
                }
                return Ok(());
            }
            Decision::Apply(changes) => changes,
        };
        let now = time::now();
        let calendar = self.calendar(txn).await?;
        let mut c = match (existing, changes.create) {
            (Some(c), _) => c,
            (None, Some(dispatched_at)) => self.create(txn, &calendar, data, dispatched_at, now).await?,
            (None, None) => return Ok(()),
        };
        if let Some(at) = changes.start {
            c = self.start(txn, &calendar, c, at, StartBasis::Received, &data.actor, now).await?;
        }
        if changes.resolve_feedback {
            self.resolve_notices(txn, &c, Some(SupervisionKind::Feedback), now).await?;
        }
        match changes.supplement {
            Some(Supplement::Pause { since, reason }) => {
                clock_pause::ActiveModel {
                    id: Set(Uuid::now_v7().to_string()),
                    task_id: Set(task_id.clone()),
                    kind: Set(PauseKind::Supplement),
                    reason: Set(reason.clone()),
                    started_at: Set(since),
                    ended_at: Set(None),
                    started_by: Set(data.actor.clone()),
                    ended_by: Set(None),
                }
                .insert(txn)
                .await?;
                let note = format!("暂停计时（补正）：{reason}");
                c = self.reschedule(txn, &calendar, c, now, "paused", &data.actor, note).await?;
                self.announce(txn, &calendar, &c, "paused", now).await?;
            }
            Some(Supplement::Resume { at }) => {
                if let Some(p) = open_supplement {
                    let mut active: clock_pause::ActiveModel = p.into();
                    active.ended_at = Set(Some(at));
                    active.ended_by = Set(Some(data.actor.clone()));
                    active.update(txn).await?;
                }
                let note = "申请人已补正，恢复计时".to_string();
                c = self.reschedule(txn, &calendar, c, now, "resumed", &data.actor, note).await?;
                self.announce(txn, &calendar, &c, "resumed", now).await?;
            }
            None => {}
        }
        if let Some(Finish { at, withdrawn }) = changes.finish {
            c = self.stop(txn, &calendar, c, at, &data.actor, withdrawn, now).await?;
        }
        if let Some(Acknowledge { at, resolve_feedback }) = changes.acknowledge {
            let mut active: clock::ActiveModel = c.into();
            active.acknowledged_at = Set(Some(at));
            c = active.update(txn).await?;
            engine::cancel(txn, &c.task_id, &[AlarmKind::LinkAck]).await?;
            timeline(txn, &c.task_id, now, "link_acknowledged", &data.actor, "联动机构已响应", None).await?;
            if resolve_feedback {
                self.resolve_notices(txn, &c, Some(SupervisionKind::Feedback), now).await?;
            }
        }
        let mut active: clock::ActiveModel = c.into();
        active.last_event_at = Set(Some(data.at));
        active.updated_at = Set(now);
        active.update(txn).await?;
        Ok(())
    }

    /// A new clock, awaiting receipt; the receipt and linked-acknowledgement alarms scheduled.
    async fn create(
        &self,
        txn: &DatabaseTransaction,
        calendar: &Calendar,
        data: &TaskEvent,
        dispatched_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<clock::Model> {
        let category = case_info::Entity::find_by_id(data.case_id.to_string()).one(txn).await?.map(|c| c.category);
        let c = clock::ActiveModel {
            task_id: Set(data.task_id.to_string()),
            case_id: Set(data.case_id.to_string()),
            ledger_no: Set(data.ledger_no.clone()),
            office: Set(data.office.clone()),
            code: Set(data.code.clone()),
            name: Set(data.name.clone()),
            stage: Set(data.stage),
            category: Set(category),
            unit_code: Set(data.unit_code.clone()),
            unit_name: Set(data.unit_name.clone()),
            unit_office: Set(data.unit_office.clone()),
            specialist_id: Set(data.specialist_id.clone()),
            applicant_id: Set(data.applicant_id.to_string()),
            status: Set(ClockStatus::AwaitingReceipt),
            alert: Set(AlertLevel::Normal),
            promised_working_days: Set(data.promised_working_days as i32),
            extension_working_days: Set(0),
            paused_working_days: Set(0),
            dispatched_at: Set(Some(dispatched_at)),
            started_at: Set(None),
            start_basis: Set(None),
            due_date: Set(None),
            due_us: Set(None),
            warn_us: Set(None),
            provisional: Set(false),
            generation: Set(0),
            linked: Set(data.linked),
            acknowledge_by: Set(data.acknowledge_by),
            acknowledged_at: Set(None),
            finished_at: Set(None),
            finished_date: Set(None),
            on_time: Set(None),
            used_working_days: Set(None),
            last_event_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(txn)
        .await?;
        let receipt_by = calendar.add_working_hours(dispatched_at, self.settings.receipt_working_hours);
        engine::schedule(txn, &c.task_id, AlarmKind::Receipt, 0, receipt_by).await?;
        if let Some(by) = data.acknowledge_by.filter(|_| data.linked) {
            engine::schedule(txn, &c.task_id, AlarmKind::LinkAck, 0, by).await?;
        }
        timeline(
            txn,
            &c.task_id,
            now,
            "created",
            &data.actor,
            format!(
                "已推送至{}，承诺时限 {} 个工作日",
                data.unit_name.as_deref().unwrap_or(&data.unit_code),
                data.promised_working_days
            ),
            None,
        )
        .await?;
        Ok(c)
    }

    /// Starts a clock at `at`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn start(
        &self,
        txn: &DatabaseTransaction,
        calendar: &Calendar,
        c: clock::Model,
        at: DateTime<Utc>,
        basis: StartBasis,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<clock::Model> {
        engine::cancel(txn, &c.task_id, &[AlarmKind::Receipt]).await?;
        let mut active: clock::ActiveModel = c.into();
        active.started_at = Set(Some(at));
        active.start_basis = Set(Some(basis));
        active.status = Set(ClockStatus::Running);
        let c = active.update(txn).await?;
        let note = match basis {
            StartBasis::Received => "责任单位已接收，开始计时".to_string(),
            StartBasis::DispatchedUnacknowledged => {
                format!("责任单位超过 {} 个工作小时未接收，自推送时起计时", self.settings.receipt_working_hours)
            }
        };
        self.reschedule(txn, calendar, c, now, "started", actor, note).await
    }

    /// Recomputes a started clock's schedule (a new generation: the alarms of the old one are gone), sets the
    /// alert level the new schedule implies when it is lower, and schedules the alarms still to come.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn reschedule(
        &self,
        txn: &DatabaseTransaction,
        calendar: &Calendar,
        c: clock::Model,
        now: DateTime<Utc>,
        kind: &str,
        actor: &str,
        note: String,
    ) -> Result<clock::Model> {
        let Some(started_at) = c.started_at else { return Ok(c) };
        let pauses =
            clock_pause::Entity::find().filter(clock_pause::Column::TaskId.eq(c.task_id.clone())).all(txn).await?;
        let input = ClockInput {
            started_at,
            promised_working_days: c.promised_working_days as u32,
            extension_working_days: c.extension_working_days as u32,
            pauses: pauses.iter().map(|p| (p.started_at, p.ended_at)).collect(),
        };
        let computed = domain::compute(calendar, &input, self.thresholds());
        let generation = c.generation + 1;
        engine::cancel(txn, &c.task_id, &[AlarmKind::Warning, AlarmKind::Overdue]).await?;
        let mut alert = c.alert;
        if !computed.paused {
            let implied = match (computed.due_at, computed.warn_at) {
                (Some(d), _) if now >= d => AlertLevel::Overdue,
                (_, Some(w)) if now >= w => AlertLevel::Warning,
                _ => AlertLevel::Normal,
            };
            if implied < alert {
                timeline(
                    txn,
                    &c.task_id,
                    now,
                    "alert_cleared",
                    actor,
                    format!("时限状态恢复为“{}”", implied.label_zh()),
                    computed.due_at,
                )
                .await?;
                alert = implied;
            }
            if let Some(w) = computed.warn_at
                && alert < AlertLevel::Warning
            {
                engine::schedule(txn, &c.task_id, AlarmKind::Warning, generation, w.max(now)).await?;
            }
            if let Some(d) = computed.due_at
                && alert < AlertLevel::Overdue
            {
                engine::schedule(txn, &c.task_id, AlarmKind::Overdue, generation, d.max(now)).await?;
            }
        }
        timeline(txn, &c.task_id, now, kind, actor, note, computed.due_at).await?;
        let mut active: clock::ActiveModel = c.into();
        active.generation = Set(generation);
        active.status = Set(if computed.paused { ClockStatus::Paused } else { ClockStatus::Running });
        active.alert = Set(alert);
        active.paused_working_days = Set(computed.excluded_working_days as i32);
        active.due_date = Set(computed.due_date.map(date_str));
        active.due_us = Set(computed.due_at.map(us));
        active.warn_us = Set(computed.warn_at.map(us));
        active.provisional = Set(computed.provisional);
        active.updated_at = Set(now);
        Ok(active.update(txn).await?)
    }

    /// Stops (concluded) or cancels (withdrawn) a clock; its alarms go, its open notices are resolved.
    #[allow(clippy::too_many_arguments)]
    async fn stop(
        &self,
        txn: &DatabaseTransaction,
        calendar: &Calendar,
        c: clock::Model,
        at: DateTime<Utc>,
        actor: &str,
        withdrawn: bool,
        now: DateTime<Utc>,
    ) -> Result<clock::Model> {
        // Open pauses end with the task.
        let open = clock_pause::Entity::find()
            .filter(clock_pause::Column::TaskId.eq(c.task_id.clone()))
            .filter(clock_pause::Column::EndedAt.is_null())
            .all(txn)
            .await?;
        let had_open = !open.is_empty();
        for p in open {
            let mut active: clock_pause::ActiveModel = p.into();
            active.ended_at = Set(Some(at));
            active.ended_by = Set(Some(actor.to_string()));
            active.update(txn).await?;
        }
        let c = if had_open && c.started_at.is_some() {
            self.reschedule(txn, calendar, c, now, "resumed", actor, "事项办结，暂停结束".into()).await?
        } else {
            c
        };
        engine::cancel(txn, &c.task_id, &AlarmKind::CLOCK).await?;
        let on_time = c.due_us.map(|d| us(at) < d);
        let used = c.started_at.map(|s| domain::used_working_days(calendar, s, at, c.paused_working_days as u32));
        let mut active: clock::ActiveModel = c.clone().into();
        active.status = Set(if withdrawn { ClockStatus::Cancelled } else { ClockStatus::Stopped });
        active.finished_at = Set(Some(at));
        active.finished_date = Set(Some(date_str(domain::local_date(at))));
        active.on_time = Set(if withdrawn { None } else { on_time });
        active.used_working_days = Set(used.map(|u| u as i32));
        active.generation = Set(c.generation + 1);
        active.updated_at = Set(now);
        let c = active.update(txn).await?;
        let note = if withdrawn {
            "事项已撤回，停止计时".to_string()
        } else {
            match on_time {
                Some(true) => format!("事项已办结，用时 {} 个工作日，按时办结", used.unwrap_or(0)),
                Some(false) => format!("事项已办结，用时 {} 个工作日，超期办结", used.unwrap_or(0)),
                None => "事项已办结".to_string(),
            }
        };
        timeline(txn, &c.task_id, now, if withdrawn { "cancelled" } else { "stopped" }, actor, note, None).await?;
        self.resolve_notices(txn, &c, None, now).await?;
        Ok(c)
    }

    /// Publishes `task.clock_changed`.
    pub(crate) async fn announce(
        &self,
        txn: &DatabaseTransaction,
        calendar: &Calendar,
        c: &clock::Model,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let data = alarm_data(calendar, c, reason, None, now)?;
        emit::<TaskClockChanged, _>(txn, &c.unit_office, Some(&c.unit_code), &c.task_id, &data).await
    }

    async fn open_clock(&self, txn: &DatabaseTransaction, task_id: Uuid) -> Result<clock::Model> {
        let c = clock::Entity::find_by_id(task_id.to_string())
            .one(txn)
            .await?
            .ok_or_else(|| crate::error::no_clock(&task_id.to_string()))?;
        let status = c.status;
        if !status.is_open() {
            return Err(DeadlineError::Conflict(
                format!("事项计时已结束（{}）", status.label_zh()),
                format!("the clock is {}", status.as_str()),
            ));
        }
        if c.started_at.is_none() {
            return Err(DeadlineError::Conflict(
                "责任单位尚未接收，计时未开始".into(),
                "the unit has not received the task; the clock has not started".into(),
            ));
        }
        Ok(c)
    }

    /// A statutory pause (Art. 45).
    pub async fn pause(&self, req: PauseClock) -> Result<ClockView> {
        let reason = req.pause.reason.trim().to_string();
        let mut errors = Vec::new();
        if req.pause.kind == PauseKind::Supplement {
            errors.push(bangban_platform::problem::FieldError::new(
                "kind",
                "补正期间的暂停由补正通知自动产生，请选择法定不计时情形",
                "supplement pauses come from the task's supplement request; choose a statutory exclusion",
            ));
        }
        if reason.is_empty() || reason.chars().count() > 1000 {
            errors.push(bangban_platform::problem::FieldError::new(
                "reason",
                "请填写暂停原因（1–1000 字）",
                "a reason of 1–1000 characters is required",
            ));
        }
        if !errors.is_empty() {
            return Err(DeadlineError::Validation(errors));
        }
        let now = time::now();
        let txn = db::begin_write(&self.db).await?;
        let c = self.open_clock(&txn, req.task_id).await?;
        let calendar = self.calendar(&txn).await?;
        let same = clock_pause::Entity::find()
            .filter(clock_pause::Column::TaskId.eq(c.task_id.clone()))
            .filter(clock_pause::Column::Kind.eq(req.pause.kind))
            .filter(clock_pause::Column::EndedAt.is_null())
            .count(&txn)
            .await?;
        if same > 0 {
            return Err(DeadlineError::Conflict(
                format!("已有未结束的“{}”暂停", req.pause.kind.label_zh()),
                format!("a {} pause is already open", req.pause.kind.as_str()),
            ));
        }
        clock_pause::ActiveModel {
            id: Set(Uuid::now_v7().to_string()),
            task_id: Set(c.task_id.clone()),
            kind: Set(req.pause.kind),
            reason: Set(reason.clone()),
            started_at: Set(now),
            ended_at: Set(None),
            started_by: Set(req.actor.sub.clone()),
            ended_by: Set(None),
        }
        .insert(&txn)
        .await?;
        let note = format!("暂停计时（{}）：{reason}", req.pause.kind.label_zh());
        let c = self.reschedule(&txn, &calendar, c, now, "paused", &req.actor.sub, note).await?;
        self.announce(&txn, &calendar, &c, "paused", now).await?;
        let view = self.view(&txn, &calendar, c, true, now).await?;
        txn.commit().await?;
        self.committed();
        Ok(view)
    }

    /// Ends a statutory pause.
    pub async fn resume(&self, req: ResumeClock) -> Result<ClockView> {
        let now = time::now();
        let txn = db::begin_write(&self.db).await?;
        let c = self.open_clock(&txn, req.task_id).await?;
        let calendar = self.calendar(&txn).await?;
        let p = clock_pause::Entity::find_by_id(req.pause_id.to_string())
            .one(&txn)
            .await?
            .filter(|p| p.task_id == c.task_id)
            .ok_or_else(|| {
                DeadlineError::NotFound(
                    format!("暂停记录 {} 不存在", req.pause_id),
                    format!("pause {} does not exist", req.pause_id),
                )
            })?;
        if p.ended_at.is_some() {
            return Err(DeadlineError::Conflict("该暂停已结束".into(), "the pause has already ended".into()));
        }
        if p.kind == PauseKind::Supplement {
            return Err(DeadlineError::Conflict(
                "补正暂停在申请人补正后自动结束".into(),
                "a supplement pause ends when the applicant supplements".into(),
            ));
        }
        let kind = p.kind.label_zh();
        let mut active: clock_pause::ActiveModel = p.into();
        active.ended_at = Set(Some(now));
        active.ended_by = Set(Some(req.actor.sub.clone()));
        active.update(&txn).await?;
        let note = match req.end.note.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
            Some(n) => format!("{kind}结束，恢复计时：{n}"),
            None => format!("{kind}结束，恢复计时"),
        };
        let c = self.reschedule(&txn, &calendar, c, now, "resumed", &req.actor.sub, note).await?;
        self.announce(&txn, &calendar, &c, "resumed", now).await?;
        let view = self.view(&txn, &calendar, c, true, now).await?;
        txn.commit().await?;
        self.committed();
        Ok(view)
    }

    /// An approved extension.
    pub async fn extend(&self, req: ExtendClock) -> Result<ClockView> {
        let e = &req.extension;
        let reason = e.reason.trim().to_string();
        let mut errors = Vec::new();
        let max = self.settings.max_extension_working_days;
        if e.working_days == 0 || e.working_days > max {
            errors.push(bangban_platform::problem::FieldError::new(
                "working_days",
                format!("延长的工作日须在 1–{max} 之间"),
                format!("must be between 1 and {max} working days"),
            ));
        }
        if reason.is_empty() || reason.chars().count() > 1000 {
            errors.push(bangban_platform::problem::FieldError::new(
                "reason",
                "请填写延期理由（1–1000 字）",
                "a reason of 1–1000 characters is required",
            ));
        }
        if !errors.is_empty() {
            return Err(DeadlineError::Validation(errors));
        }
        let now = time::now();
        let txn = db::begin_write(&self.db).await?;
        let c = self.open_clock(&txn, req.task_id).await?;
        let calendar = self.calendar(&txn).await?;
        clock_extension::ActiveModel {
            id: Set(Uuid::now_v7().to_string()),
            task_id: Set(c.task_id.clone()),
            working_days: Set(e.working_days as i32),
            reason: Set(reason.clone()),
            approved_by: Set(req.actor.sub.clone()),
            requested_by: Set(e.requested_by.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)),
            at: Set(now),
        }
        .insert(&txn)
        .await?;
        let mut active: clock::ActiveModel = c.clone().into();
        active.extension_working_days = Set(c.extension_working_days + e.working_days as i32);
        let c = active.update(&txn).await?;
        let note = format!("经 {} 批准延长 {} 个工作日：{reason}", req.actor.sub, e.working_days);
        let c = self.reschedule(&txn, &calendar, c, now, "extended", &req.actor.sub, note).await?;
        self.announce(&txn, &calendar, &c, "extended", now).await?;
        let view = self.view(&txn, &calendar, c, true, now).await?;
        txn.commit().await?;
        self.committed();
        Ok(view)
    }

    /// Recomputes the started open clocks a calendar change may move: those still running on or after the
    /// first changed date. Pages through them; returns how many moved.
    pub(crate) async fn recompute_from(
        &self,
        txn: &DatabaseTransaction,
        calendar: &Calendar,
        first: NaiveDate,
        change: &CalendarChange,
    ) -> Result<usize> {
        let now = time::now();
        let from = us(domain::end_of_day(first.pred_opt().unwrap_or(first)));
        let mut moved = 0;
        let mut after = String::new();
        loop {
            let page = clock::Entity::find()
                .filter(clock::Column::Status.is_in([ClockStatus::Running, ClockStatus::Paused]))
                .filter(Condition::any().add(clock::Column::DueUs.gte(from)).add(clock::Column::DueUs.is_null()))
                .filter(clock::Column::TaskId.gt(after.clone()))
                .order_by_asc(clock::Column::TaskId)
                .limit(500)
                .all(txn)
                .await?;
            let Some(last) = page.last() else { break };
            after = last.task_id.clone();
            for c in page {
                let before = (c.due_us, c.warn_us);
                let note = format!("工作日历调整（第 {} 版），重新计算办结期限", change.revision);
                let c = self.reschedule(txn, calendar, c, now, "recomputed", &change.changed_by, note).await?;
                if (c.due_us, c.warn_us) != before {
                    self.announce(txn, calendar, &c, "recomputed", now).await?;
                    moved += 1;
                }
            }
        }
        Ok(moved)
    }

    /// A clock as people see it.
    pub(crate) async fn view<C: ConnectionTrait>(
        &self,
        conn: &C,
        calendar: &Calendar,
        c: clock::Model,
        with_timeline: bool,
        now: DateTime<Utc>,
    ) -> Result<ClockView> {
        let pauses = clock_pause::Entity::find()
            .filter(clock_pause::Column::TaskId.eq(c.task_id.clone()))
            .order_by_asc(clock_pause::Column::StartedAt)
            .all(conn)
            .await?;
        let extensions = clock_extension::Entity::find()
            .filter(clock_extension::Column::TaskId.eq(c.task_id.clone()))
            .order_by_asc(clock_extension::Column::At)
            .all(conn)
            .await?;
        let entries = if with_timeline {
            clock_timeline::Entity::find()
                .filter(clock_timeline::Column::TaskId.eq(c.task_id.clone()))
                .order_by_asc(clock_timeline::Column::Id)
                .all(conn)
                .await?
        } else {
            Vec::new()
        };
        view_of(calendar, c, pauses, extensions, entries, now)
    }

    pub async fn get_clock(&self, task_id: Uuid) -> Result<ClockView> {
        let c = clock::Entity::find_by_id(task_id.to_string())
            .one(&self.db)
            .await?
            .ok_or_else(|| crate::error::no_clock(&task_id.to_string()))?;
        let calendar = self.calendar(&self.db).await?;
        self.view(&self.db, &calendar, c, true, time::now()).await
    }

    pub async fn case_clocks(&self, req: CaseClocks) -> Result<Vec<ClockView>> {
        let rows = clock::Entity::find()
            .filter(clock::Column::CaseId.eq(req.case_id.to_string()))
            .order_by_asc(clock::Column::CreatedAt)
            .order_by_asc(clock::Column::TaskId)
            .all(&self.db)
            .await?;
        let calendar = self.calendar(&self.db).await?;
        self.views(&calendar, rows).await
    }

    async fn views(&self, calendar: &Calendar, rows: Vec<clock::Model>) -> Result<Vec<ClockView>> {
        let now = time::now();
        let ids: Vec<String> = rows.iter().map(|c| c.task_id.clone()).collect();
        let mut pauses: HashMap<String, Vec<clock_pause::Model>> = HashMap::new();
        let mut extensions: HashMap<String, Vec<clock_extension::Model>> = HashMap::new();
        for chunk in ids.chunks(500) {
            for p in clock_pause::Entity::find()
                .filter(clock_pause::Column::TaskId.is_in(chunk.to_vec()))
                .order_by_asc(clock_pause::Column::StartedAt)
                .all(&self.db)
                .await?
            {
                pauses.entry(p.task_id.clone()).or_default().push(p);
            }
            for e in clock_extension::Entity::find()
                .filter(clock_extension::Column::TaskId.is_in(chunk.to_vec()))
                .order_by_asc(clock_extension::Column::At)
                .all(&self.db)
                .await?
            {
                extensions.entry(e.task_id.clone()).or_default().push(e);
            }
        }
        rows.into_iter()
            .map(|c| {
                let p = pauses.remove(&c.task_id).unwrap_or_default();
                let e = extensions.remove(&c.task_id).unwrap_or_default();
                view_of(calendar, c, p, e, Vec::new(), now)
            })
            .collect()
    }

    /// Open clocks (or as filtered), soonest due first.
    pub async fn list_clocks(&self, req: ListClocks) -> Result<ClockPage> {
        let limit = req.limit.unwrap_or(50).clamp(1, 200);
        let offset = bangban_contracts::page::db_offset(req.offset);
        let mut q = clock::Entity::find();
        if let Some(o) = &req.office {
            q = q.filter(crate::in_office(clock::Column::UnitOffice, clock::Column::Office, o));
        }
        if let Some(u) = &req.unit {
            q = q.filter(clock::Column::UnitCode.eq(u.clone()));
        }
        if let Some(a) = req.alert {
            q = q.filter(clock::Column::Alert.eq(a));
        }
        q = match req.status {
            Some(s) => q.filter(clock::Column::Status.eq(s)),
            None => q.filter(clock::Column::Status.is_in(ClockStatus::OPEN)),
        };
        let total = q.clone().count(&self.db).await?;
        // Soonest due first; clocks without a due instant (awaiting receipt, paused) last on every database.
        let rows = q
            .order_by_with_nulls(clock::Column::DueUs, Order::Asc, NullOrdering::Last)
            .order_by_asc(clock::Column::TaskId)
            .limit(limit)
            .offset(offset)
            .all(&self.db)
            .await?;
        let calendar = self.calendar(&self.db).await?;
        Ok(ClockPage { items: self.views(&calendar, rows).await?, total, limit, offset })
    }

    /// The clock of a task that has one; alarms still pending (for tests and the evidence pack).
    pub async fn pending_alarms(&self, subject_id: &str) -> Result<Vec<alarm::Model>> {
        Ok(alarm::Entity::find().filter(alarm::Column::SubjectId.eq(subject_id.to_string())).all(&self.db).await?)
    }
}

pub(crate) fn view_of(
    calendar: &Calendar,
    c: clock::Model,
    pauses: Vec<clock_pause::Model>,
    extensions: Vec<clock_extension::Model>,
    entries: Vec<clock_timeline::Model>,
    now: DateTime<Utc>,
) -> Result<ClockView> {
    let due_date = c.due_date.as_deref().map(parse_date).transpose()?;
    let due_at = c.due_us.map(from_us);
    let status = c.status;
    Ok(ClockView {
        task_id: uuid(&c.task_id)?,
        case_id: uuid(&c.case_id)?,
        stage: c.stage,
        category: c.category,
        applicant_id: uuid(&c.applicant_id)?,
        status,
        alert: c.alert,
        start_basis: c.start_basis,
        remaining_working_days: match (due_date, due_at, c.started_at) {
            (Some(d), Some(a), Some(s)) if status.is_open() => {
                Some(domain::remaining_working_days(calendar, domain::local_date(s), d, a, now))
            }
            _ => None,
        },
        due_date,
        due_at,
        warn_at: c.warn_us.map(from_us),
        pauses: pauses.into_iter().map(pause_view).collect::<Result<_>>()?,
        extensions: extensions
            .into_iter()
            .map(|e| {
                Ok(Extension {
                    id: uuid(&e.id)?,
                    working_days: e.working_days as u32,
                    reason: e.reason,
                    approved_by: e.approved_by,
                    requested_by: e.requested_by,
                    at: e.at,
                })
            })
            .collect::<Result<_>>()?,
        timeline: entries
            .into_iter()
            .map(|t| TimelineEntry { at: t.at, kind: t.kind, actor: t.actor, note: t.note, due_at: t.due_at })
            .collect(),
        ledger_no: c.ledger_no,
        office: c.office,
        code: c.code,
        name: c.name,
        unit_code: c.unit_code,
        unit_name: c.unit_name,
        unit_office: c.unit_office,
        specialist_id: c.specialist_id,
        promised_working_days: c.promised_working_days as u32,
        extension_working_days: c.extension_working_days as u32,
        paused_working_days: c.paused_working_days as u32,
        dispatched_at: c.dispatched_at,
        started_at: c.started_at,
        provisional: c.provisional,
        finished_at: c.finished_at,
        on_time: c.on_time,
        used_working_days: c.used_working_days.map(|u| u as u32),
        updated_at: c.updated_at,
    })
}
