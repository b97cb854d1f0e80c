//! Supervision (督办 §7.5.4): a notice (督办单) when a task is overdue or feedback is late; the unit's answer;
//! escalation to discipline inspection or audit (纪检监察/审计) with an evidence pack when the notice brings
//! no result; the supervisor's outcome (警告、通报批评、问责).

use bangban_contracts::{
    Event,
    deadline::{
        AnswerSupervision, DecideSupervision, Escalation, EscalationTarget, EvidencePack, GetSupervision,
        ListSupervision, SupervisionAnswer, SupervisionDecision, SupervisionEvent, SupervisionKind, SupervisionPage,
        SupervisionStatus, SupervisionSummary, SupervisionView, TaskMessage,
    },
    events::{SupervisionAnswered, SupervisionDecided, SupervisionEscalated, SupervisionIssued, SupervisionResolved},
};
use bangban_platform::{clock as time, db, problem::FieldError};
use bangban_workdays::Calendar;
use chrono::{DateTime, Datelike, Utc};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
    sea_query::{Expr, OnConflict},
};
use uuid::Uuid;

use crate::{
    DeadlineService, date_str, domain, emit,
    engine::{self, AlarmKind},
    entity::{clock, supervision, supervision_seq, task_message},
    error::{DeadlineError, Result},
    from_us, json, opt_json, parse_date, timeline, uuid,
};

pub(crate) fn summary(n: &supervision::Model) -> Result<SupervisionSummary> {
    Ok(SupervisionSummary {
        id: uuid(&n.id)?,
        number: n.number.clone(),
        kind: n.kind,
        status: n.status,
        task_id: uuid(&n.task_id)?,
        case_id: uuid(&n.case_id)?,
        ledger_no: n.ledger_no.clone(),
        office: n.office.clone(),
        task_code: n.task_code.clone(),
        task_name: n.task_name.clone(),
        unit_code: n.unit_code.clone(),
        unit_name: n.unit_name.clone(),
        unit_office: n.unit_office.clone(),
        reason: n.reason.clone(),
        due_at: n.due_at,
        days_overdue: n.days_overdue as u32,
        issued_at: n.issued_at,
        response_due: parse_date(&n.response_due)?,
        escalate_on: parse_date(&n.escalate_on)?,
        answer: opt_json("supervision.answer", &n.answer)?,
        resolved_at: n.resolved_at,
        escalation: opt_json("supervision.escalation", &n.escalation)?,
        decision: opt_json("supervision.decision", &n.decision)?,
    })
}

fn event(n: &supervision::Model, now: DateTime<Utc>) -> Result<SupervisionEvent> {
    Ok(SupervisionEvent {
        notice: summary(n)?,
        applicant_id: uuid(&n.applicant_id)?,
        specialist_id: n.specialist_id.clone(),
        at: now,
    })
}

/// Publishes one of the notice's events (on its unit's office).
async fn announce<E: Event<Data = SupervisionEvent>, C: ConnectionTrait>(
    conn: &C,
    n: &supervision::Model,
    now: DateTime<Utc>,
) -> Result<()> {
    emit::<E, _>(conn, &n.unit_office, None, &n.id, &event(n, now)?).await
}

/// The next notice number of an office in a year: `滨督〔2026〕371625-00012号`.
async fn next_number<C: ConnectionTrait>(conn: &C, office: &str, year: i32) -> Result<String> {
    let key = format!("{office}-{year}");
    supervision_seq::Entity::insert(supervision_seq::ActiveModel { key: Set(key.clone()), next: Set(0) })
        .on_conflict(OnConflict::column(supervision_seq::Column::Key).do_nothing().to_owned())
        .exec_without_returning(conn)
        .await?;
    // The update takes the row's lock: concurrent issuers queue, and each gets its own number.
    supervision_seq::Entity::update_many()
        .col_expr(
            supervision_seq::Column::Next,
            sea_orm::sea_query::ExprTrait::add(Expr::col(supervision_seq::Column::Next), 1),
        )
        .filter(supervision_seq::Column::Key.eq(key.clone()))
        .exec(conn)
        .await?;
    let seq = supervision_seq::Entity::find_by_id(key).one(conn).await?.map_or(1, |s| s.next);
    Ok(format!("滨督〔{year}〕{office}-{seq:05}号"))
}

impl DeadlineService {
    /// Issues a notice for a clock, unless one of this kind is still open.
    pub(crate) async fn issue(
        &self,
        txn: &DatabaseTransaction,
        calendar: &Calendar,
        c: &clock::Model,
        kind: SupervisionKind,
        reason: String,
        now: DateTime<Utc>,
    ) -> Result<Option<supervision::Model>> {
        let open = supervision::Entity::find()
            .filter(supervision::Column::TaskId.eq(c.task_id.clone()))
            .filter(supervision::Column::Kind.eq(kind))
            .filter(supervision::Column::Status.is_in(SupervisionStatus::OPEN))
            .count(txn)
            .await?;
        if open > 0 {
            return Ok(None);
        }
        let today = domain::local_date(now);
        let days_overdue = match (c.due_date.as_deref(), c.due_us) {
            (Some(d), Some(due)) if crate::us(now) >= due => {
                (-domain::remaining_working_days(calendar, parse_date(d)?, parse_date(d)?, from_us(due), now)).max(1)
                    as i32
            }
            _ => 0,
        };
        let response_due =
            calendar.add_working_days(today, self.settings.supervision_response_working_days.max(1)).value;
        let escalate_on = calendar.add_working_days(today, self.settings.escalate_after_working_days.max(1)).value;
        let id = Uuid::now_v7().to_string();
        let n = supervision::ActiveModel {
            id: Set(id.clone()),
            number: Set(next_number(txn, &c.unit_office, today.year()).await?),
            kind: Set(kind),
            status: Set(SupervisionStatus::Issued),
            task_id: Set(c.task_id.clone()),
            case_id: Set(c.case_id.clone()),
            ledger_no: Set(c.ledger_no.clone()),
            office: Set(c.office.clone()),
            task_code: Set(c.code.clone()),
            task_name: Set(c.name.clone()),
            unit_code: Set(c.unit_code.clone()),
            unit_name: Set(c.unit_name.clone()),
            unit_office: Set(c.unit_office.clone()),
            reason: Set(reason.clone()),
            due_at: Set(c.due_us.map(from_us)),
            days_overdue: Set(days_overdue),
            issued_at: Set(now),
            response_due: Set(date_str(response_due)),
            escalate_on: Set(date_str(escalate_on)),
            answer: Set(None),
            resolved_at: Set(None),
            escalation: Set(None),
            evidence: Set(None),
            decision: Set(None),
            applicant_id: Set(c.applicant_id.clone()),
            specialist_id: Set(c.specialist_id.clone()),
            updated_at: Set(now),
        }
        .insert(txn)
        .await?;
        engine::schedule(txn, &id, AlarmKind::SupervisionResponse, 0, domain::end_of_day(response_due)).await?;
        engine::schedule(txn, &id, AlarmKind::SupervisionEscalation, 0, domain::end_of_day(escalate_on)).await?;
        timeline(
            txn,
            &c.task_id,
            now,
            "supervision_issued",
            "deadline",
            format!("下发督办单 {}：{reason}", n.number),
            None,
        )
        .await?;
        announce::<SupervisionIssued, _>(txn, &n, now).await?;
        tracing::info!(notice = %n.number, task.id = %c.task_id, kind = kind.as_str(), "supervision notice issued");
        Ok(Some(n))
    }

    /// Resolves the open notices of a clock (of one kind, or all).
    pub(crate) async fn resolve_notices(
        &self,
        txn: &DatabaseTransaction,
        c: &clock::Model,
        kind: Option<SupervisionKind>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut q = supervision::Entity::find()
            .filter(supervision::Column::TaskId.eq(c.task_id.clone()))
            .filter(supervision::Column::Status.is_in(SupervisionStatus::OPEN));
        if let Some(k) = kind {
            q = q.filter(supervision::Column::Kind.eq(k));
        }
        for n in q.all(txn).await? {
            engine::cancel(txn, &n.id, &[AlarmKind::SupervisionResponse, AlarmKind::SupervisionEscalation]).await?;
            let mut active: supervision::ActiveModel = n.into();
            active.status = Set(SupervisionStatus::Resolved);
            active.resolved_at = Set(Some(now));
            active.updated_at = Set(now);
            let n = active.update(txn).await?;
            timeline(
                txn,
                &c.task_id,
                now,
                "supervision_resolved",
                "deadline",
                format!("督办单 {} 已办结", n.number),
                None,
            )
            .await?;
            announce::<SupervisionResolved, _>(txn, &n, now).await?;
        }
        Ok(())
    }

    /// Escalates a notice with its evidence pack.
    pub(crate) async fn escalate(
        &self,
        txn: &DatabaseTransaction,
        calendar: &Calendar,
        n: supervision::Model,
        reason: String,
        now: DateTime<Utc>,
    ) -> Result<()> {
        engine::cancel(txn, &n.id, &[AlarmKind::SupervisionResponse, AlarmKind::SupervisionEscalation]).await?;
        let target =
            EscalationTarget::parse(&self.settings.escalation_target).unwrap_or(EscalationTarget::DisciplineInspection);
        let evidence = self.evidence(txn, calendar, &n.task_id, now).await?;
        let escalation = Escalation { target, reason: reason.clone(), at: now };
        let task_id = n.task_id.clone();
        let mut active: supervision::ActiveModel = n.into();
        active.status = Set(SupervisionStatus::Escalated);
        active.escalation = Set(Some(json(&escalation)?));
        active.evidence = Set(Some(json(&evidence)?));
        active.updated_at = Set(now);
        let n = active.update(txn).await?;
        timeline(
            txn,
            &task_id,
            now,
            "supervision_escalated",
            "deadline",
            format!("督办单 {} 移送{}：{reason}", n.number, target.label_zh()),
            None,
        )
        .await?;
        announce::<SupervisionEscalated, _>(txn, &n, now).await?;
        tracing::info!(notice = %n.number, target = target.as_str(), "supervision escalated");
        Ok(())
    }

    /// The task's clock with its timeline, every notice, the problems and the task's messages.
    async fn evidence(
        &self,
        txn: &DatabaseTransaction,
        calendar: &Calendar,
        task_id: &str,
        now: DateTime<Utc>,
    ) -> Result<EvidencePack> {
        let c = clock::Entity::find_by_id(task_id.to_string())
            .one(txn)
            .await?
            .ok_or_else(|| crate::error::no_clock(task_id))?;
        let clock = self.view(txn, calendar, c, true, now).await?;
        let notices = supervision::Entity::find()
            .filter(supervision::Column::TaskId.eq(task_id.to_string()))
            .order_by_asc(supervision::Column::IssuedAt)
            .all(txn)
            .await?
            .iter()
            .map(summary)
            .collect::<Result<Vec<_>>>()?;
        let problems = self.problems_of(txn, task_id).await?;
        let messages = task_message::Entity::find()
            .filter(task_message::Column::TaskId.eq(task_id.to_string()))
            .order_by_asc(task_message::Column::At)
            .all(txn)
            .await?
            .into_iter()
            .map(|m| TaskMessage {
                event_id: m.event_id,
                event_type: m.event_type,
                action: m.action,
                actor: m.actor,
                at: m.at,
                note: m.note,
            })
            .collect();
        Ok(EvidencePack { clock, notices, problems, messages, assembled_at: now })
    }

    /// The unit's answer.
    pub async fn answer(&self, req: AnswerSupervision) -> Result<SupervisionView> {
        let now = time::now();
        let reason = req.answer.reason.trim().to_string();
        let mut errors = Vec::new();
        if reason.is_empty() || reason.chars().count() > 2000 {
            errors.push(FieldError::new(
                "reason",
                "请填写未按时办结的原因（1–2000 字）",
                "a reason of 1–2000 characters is required",
            ));
        }
        if req.answer.committed_on < domain::local_date(now) {
            errors.push(FieldError::new(
                "committed_on",
                "承诺办结日期不能早于今天",
                "the committed date must not be in the past",
            ));
        }
        if !errors.is_empty() {
            return Err(DeadlineError::Validation(errors));
        }
        let txn = db::begin_write(&self.db).await?;
        let n = self.notice(&txn, req.id).await?;
        if n.status != SupervisionStatus::Issued {
            return Err(DeadlineError::Conflict(
                "该督办单已反馈或已结束".into(),
                format!("the notice is {}; only an issued notice can be answered", n.status),
            ));
        }
        let answer = SupervisionAnswer {
            reason: reason.clone(),
            committed_on: req.answer.committed_on,
            by: req.actor.sub.clone(),
            at: now,
        };
        engine::cancel(&txn, &n.id, &[AlarmKind::SupervisionResponse]).await?;
        let mut active: supervision::ActiveModel = n.into();
        active.status = Set(SupervisionStatus::Answered);
        active.answer = Set(Some(json(&answer)?));
        active.updated_at = Set(now);
        let n = active.update(&txn).await?;
        timeline(
            &txn,
            &n.task_id,
            now,
            "supervision_answered",
            &req.actor.sub,
            format!("督办单 {} 已反馈，承诺 {} 前办结：{reason}", n.number, req.answer.committed_on),
            None,
        )
        .await?;
        announce::<SupervisionAnswered, _>(&txn, &n, now).await?;
        let view = SupervisionView { notice: summary(&n)?, evidence: None };
        txn.commit().await?;
        self.committed();
        Ok(view)
    }

    /// The supervisor's outcome of an escalated notice.
    pub async fn decide(&self, req: DecideSupervision) -> Result<SupervisionView> {
        let now = time::now();
        let note = req.decision.note.trim().to_string();
        if note.is_empty() || note.chars().count() > 2000 {
            return Err(DeadlineError::field(
                "note",
                "请填写处理意见（1–2000 字）",
                "a note of 1–2000 characters is required",
            ));
        }
        let txn = db::begin_write(&self.db).await?;
        let n = self.notice(&txn, req.id).await?;
        if n.status != SupervisionStatus::Escalated {
            return Err(DeadlineError::Conflict(
                "只有已移送的督办单才能记录处理结果".into(),
                format!("the notice is {}; only an escalated notice can be decided", n.status),
            ));
        }
        let decision = SupervisionDecision {
            outcome: req.decision.outcome,
            note: note.clone(),
            by: req.actor.sub.clone(),
            at: now,
        };
        let mut active: supervision::ActiveModel = n.into();
        active.status = Set(SupervisionStatus::Decided);
        active.decision = Set(Some(json(&decision)?));
        active.updated_at = Set(now);
        let n = active.update(&txn).await?;
        timeline(
            &txn,
            &n.task_id,
            now,
            "supervision_decided",
            &req.actor.sub,
            format!("督办单 {} 处理结果：{note}", n.number),
            None,
        )
        .await?;
        announce::<SupervisionDecided, _>(&txn, &n, now).await?;
        let view = self.notice_view(&n)?;
        txn.commit().await?;
        self.committed();
        Ok(view)
    }

    async fn notice<C: ConnectionTrait>(&self, conn: &C, id: Uuid) -> Result<supervision::Model> {
        supervision::Entity::find_by_id(id.to_string())
            .one(conn)
            .await?
            .ok_or_else(|| crate::error::no_notice(&id.to_string()))
    }

    fn notice_view(&self, n: &supervision::Model) -> Result<SupervisionView> {
        Ok(SupervisionView { notice: summary(n)?, evidence: opt_json("supervision.evidence", &n.evidence)? })
    }

    pub async fn get_notice(&self, req: GetSupervision) -> Result<SupervisionView> {
        let n = self.notice(&self.db, req.id).await?;
        self.notice_view(&n)
    }

    pub async fn list_notices(&self, req: ListSupervision) -> Result<SupervisionPage> {
        let limit = req.limit.unwrap_or(50).clamp(1, 200);
        let offset = bangban_contracts::page::db_offset(req.offset);
        let mut q = supervision::Entity::find();
        if let Some(o) = &req.office {
            q = q.filter(crate::in_office(supervision::Column::UnitOffice, supervision::Column::Office, o));
        }
        if let Some(u) = &req.unit {
            q = q.filter(supervision::Column::UnitCode.eq(u.clone()));
        }
        if let Some(s) = req.status {
            q = q.filter(supervision::Column::Status.eq(s));
        }
        if let Some(c) = req.case_id {
            q = q.filter(supervision::Column::CaseId.eq(c.to_string()));
        }
        if let Some(t) = req.task_id {
            q = q.filter(supervision::Column::TaskId.eq(t.to_string()));
        }
        let total = q.clone().count(&self.db).await?;
        let rows = q
            .order_by_desc(supervision::Column::IssuedAt)
            .order_by_asc(supervision::Column::Id)
            .limit(limit)
            .offset(offset)
            .all(&self.db)
            .await?;
        Ok(SupervisionPage { items: rows.iter().map(summary).collect::<Result<_>>()?, total, limit, offset })
    }

    /// Counts for monitoring.
    pub(crate) async fn notice_counts<C: ConnectionTrait>(&self, conn: &C, office: Option<&str>) -> Result<(u64, u64)> {
        let scoped = |statuses: Vec<SupervisionStatus>| {
            let mut q = supervision::Entity::find().filter(supervision::Column::Status.is_in(statuses));
            if let Some(o) = office {
                q = q.filter(crate::in_office(supervision::Column::UnitOffice, supervision::Column::Office, o));
            }
            q
        };
        let open = scoped(SupervisionStatus::OPEN.to_vec()).count(conn).await?;
        let escalated = scoped(vec![SupervisionStatus::Escalated]).count(conn).await?;
        Ok((open, escalated))
    }
}
