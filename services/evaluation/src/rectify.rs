//! Bad reviews and what follows (差评整改与申诉): the rectification's steps and time limits, escalation to the
//! supervisors when late, the optional default rating, and appeals.

use std::{sync::Arc, time::Duration};

use bangban_contracts::{
    Event,
    evaluation::{
        AppealDecided, AppealStatus, AppealView, Assignee, DecideAppeal, FileAppeal, GetRectification, Level,
        ListAppeals, ListRectifications, RectificationAction, RectificationEvent, RectificationPage,
        RectificationStatus, RectificationStep, RectificationView,
    },
    events,
    intake::Actor,
};
use bangban_platform::{clock, db};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{
    EvaluationService, day_start, emit,
    entity::{appeal, case_info, evaluation, invitation, rectification, task_info},
    error::{EvaluationError, Result},
    json, local_date, us, uuid,
};

const CITY_OFFICE: &str = bangban_contracts::office::CITY_OFFICE;

fn date_str(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn parse_date(s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| EvaluationError::corrupt(format!("date {s:?}")))
}

fn text(field: &str, value: &str, min: usize, max: usize) -> Result<String> {
    let v = value.trim();
    let n = v.chars().count();
    if n < min || n > max {
        return Err(EvaluationError::field(
            field,
            format!("须为 {min}–{max} 个字"),
            format!("must be {min} to {max} characters"),
        ));
    }
    Ok(v.to_string())
}

/// Runs the scan for late rectifications and, when configured, default ratings.
pub async fn run(service: Arc<EvaluationService>, shutdown: CancellationToken) {
    let poll = Duration::from_millis(service.settings.poll_interval_ms.clamp(10, 60_000));
    loop {
        if let Err(e) = service.scan().await {
            tracing::warn!(error = %e, "evaluation: scan failed");
        }
        let until = clock::now() + chrono::Duration::days(1);
        tokio::select! {
            _ = clock::sleep_until(until, poll) => {}
            _ = service.wake.notified() => {}
            _ = shutdown.cancelled() => break,
        }
    }
}

impl EvaluationService {
    /// The end of a working-day limit starting today (24:00 Beijing time of its last day).
    fn limit(&self, from: DateTime<Utc>, days: u32) -> NaiveDate {
        self.calendar.add_working_days(local_date(from), days).value
    }

    fn end_of(&self, d: NaiveDate) -> DateTime<Utc> {
        self.calendar.deadline_instant(d).value
    }

    /// Opens the rectification of a bad review (in the rating's transaction).
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn open_rectification(
        &self,
        txn: &DatabaseTransaction,
        evaluation_id: &str,
        inv: &invitation::Model,
        c: &case_info::Model,
        task: Option<&task_info::Model>,
        level: Level,
        comment: &Option<String>,
        now: DateTime<Utc>,
    ) -> Result<rectification::Model> {
        let assignee = match task {
            Some(t) => Assignee::Unit { unit_code: t.unit_code.clone(), unit_office: t.unit_office.clone() },
            None => Assignee::Specialist { specialist_id: c.specialist_id.clone(), office: c.office.clone() },
        };
        let (key, office) = match &assignee {
            Assignee::Unit { unit_code, unit_office } => (unit_code.clone(), unit_office.clone()),
            Assignee::Specialist { specialist_id, office } => (specialist_id.clone(), office.clone()),
        };
        let contact_due = self.limit(now, self.settings.contact_working_days);
        let due = self.limit(now, self.settings.rectification_working_days);
        let row = rectification::ActiveModel {
            id: Set(Uuid::now_v7().to_string()),
            evaluation_id: Set(evaluation_id.to_string()),
            case_id: Set(inv.case_id.clone()),
            task_id: Set(inv.task_id.clone()),
            item_name: Set(inv.item_name.clone()),
            level: Set(i32::from(level.number())),
            comment: Set(comment.clone()),
            assignee: Set(json(&assignee)?),
            assignee_key: Set(key),
            assignee_office: Set(office),
            specialist_id: Set(c.specialist_id.clone()),
            office: Set(c.office.clone()),
            status: Set(RectificationStatus::Opened),
            opened_at: Set(now),
            contact_due: Set(date_str(contact_due)),
            due: Set(date_str(due)),
            check_us: Set(Some(us(self.end_of(contact_due)))),
            contacted_at: Set(None),
            contact_note: Set(None),
            fix: Set(None),
            answer: Set(None),
            answered_at: Set(None),
            fix_rating: Set(None),
            closed_at: Set(None),
            escalated_at: Set(None),
            escalation_reason: Set(None),
            on_time: Set(None),
        };
        Ok(row.insert(txn).await?)
    }

    /// Emits `rectification.opened` or `rectification.closed` (`E`) for `r`.
    pub(crate) async fn announce_rectification<E: Event<Data = RectificationEvent>, C: ConnectionTrait>(
        &self,
        conn: &C,
        r: &rectification::Model,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let data = RectificationEvent { rectification: rectification_view(r)?, at };
        emit::<E, _>(conn, &r.office, &r.id, &data).await
    }

    /// One rectification.
    pub async fn get_rectification(&self, req: GetRectification) -> Result<RectificationView> {
        let r = self.find_rectification(&self.db, req.id).await?;
        rectification_view(&r)
    }

    async fn find_rectification<C: ConnectionTrait>(&self, conn: &C, id: Uuid) -> Result<rectification::Model> {
        rectification::Entity::find_by_id(id.to_string())
            .one(conn)
            .await?
            .ok_or_else(|| EvaluationError::NotFound(format!("整改单 {id} 不存在"), format!("no rectification {id}")))
    }

    /// Rectifications, newest first.
    pub async fn list_rectifications(&self, req: ListRectifications) -> Result<RectificationPage> {
        let limit = req.limit.unwrap_or(20);
        if limit > 100 {
            return Err(EvaluationError::field("limit", "每页最多 100 条", "at most 100 per page"));
        }
        let offset = bangban_contracts::page::db_offset(req.offset);
        let mut q = rectification::Entity::find();
        if let Some(o) = &req.office {
            q = q.filter(
                Condition::any()
                    .add(rectification::Column::Office.eq(o.clone()))
                    .add(rectification::Column::AssigneeOffice.eq(o.clone())),
            );
        }
        if let Some(u) = &req.unit {
            q = q.filter(rectification::Column::AssigneeKey.eq(u.clone()));
        }
        if let Some(s) = &req.specialist {
            q = q.filter(rectification::Column::SpecialistId.eq(s.clone()));
        }
        if let Some(s) = req.status {
            q = q.filter(rectification::Column::Status.eq(s));
        }
        if let Some(e) = req.escalated {
            q = q.filter(if e {
                rectification::Column::EscalatedAt.is_not_null()
            } else {
                rectification::Column::EscalatedAt.is_null()
            });
        }
        let total = q.clone().count(&self.db).await?;
        let rows = q
            .order_by_desc(rectification::Column::OpenedAt)
            .order_by_desc(rectification::Column::Id)
            .limit(limit)
            .offset(offset)
            .all(&self.db)
            .await?;
        let items = rows.iter().map(rectification_view).collect::<Result<Vec<_>>>()?;
        Ok(RectificationPage { items, total, limit, offset })
    }

    /// A step: contact, answer (the assignee; the gateway checks who), or the applicant's rating of the fix.
    #[tracing::instrument(skip_all, fields(rectification = %req.id))]
    pub async fn rectification_step(&self, req: RectificationStep) -> Result<RectificationView> {
        let now = clock::now();
        let txn = db::begin_write(&self.db).await?;
        let r = self.find_rectification(&txn, req.id).await?;
        let status = r.status;
        let wrong = |what: &str, en: &str| {
            EvaluationError::Conflict(
                format!("整改单当前为“{}”状态，不能{what}", status.label_zh()),
                format!("the rectification is {}; it cannot {en}", status.as_str()),
            )
        };
        let mut row: rectification::ActiveModel = r.clone().into();
        let mut closed = false;
        match req.action {
            RectificationAction::Contact { note } => {
                if status != RectificationStatus::Opened {
                    return Err(wrong("登记联系", "record a contact"));
                }
                row.contact_note = Set(Some(text("note", &note, 2, 1000)?));
                row.contacted_at = Set(Some(now));
                row.status = Set(RectificationStatus::Contacted);
                let due = parse_date(&r.due)?;
                row.check_us = Set(Some(us(self.end_of(due))));
            }
            RectificationAction::Answer { fix, answer } => {
                if !matches!(status, RectificationStatus::Opened | RectificationStatus::Contacted) {
                    return Err(wrong("答复", "be answered"));
                }
                row.fix = Set(Some(text("fix", &fix, 2, 2000)?));
                row.answer = Set(Some(text("answer", &answer, 2, 2000)?));
                row.answered_at = Set(Some(now));
                if r.contacted_at.is_none() {
                    row.contacted_at = Set(Some(now));
                }
                row.on_time = Set(Some(now < self.end_of(parse_date(&r.due)?)));
                row.status = Set(RectificationStatus::Answered);
                row.check_us = Set(None);
            }
            RectificationAction::Rate { rating } => {
                let c = case_info::Entity::find_by_id(r.case_id.clone())
                    .one(&txn)
                    .await?
                    .ok_or_else(|| EvaluationError::corrupt("rectification without its case"))?;
                if req.applicant_id.map(|a| a.to_string()) != Some(c.applicant_id) {
                    return Err(EvaluationError::Forbidden(
                        "只有评价人可以评价整改结果".into(),
                        "only the applicant who rated may rate the fix".into(),
                    ));
                }
                if status != RectificationStatus::Answered {
                    return Err(wrong("评价整改结果", "have its fix rated"));
                }
                row.fix_rating = Set(Some(rating));
                row.closed_at = Set(Some(now));
                row.status = Set(RectificationStatus::Closed);
                closed = true;
            }
        }
        let r = row.update(&txn).await?;
        if closed {
            self.announce_rectification::<events::RectificationClosed, _>(&txn, &r, now).await?;
        }
        txn.commit().await?;
        self.committed();
        tracing::info!(actor = %req.actor.sub, status = %r.status, "rectification step");
        rectification_view(&r)
    }

    /// Late rectifications escalate to the supervisors; unrated invitations get the default rating when one is
    /// configured. Returns how many changed.
    pub async fn scan(&self) -> Result<usize> {
        let now = clock::now();
        let mut n = 0;
        let due = rectification::Entity::find()
            .filter(rectification::Column::CheckUs.lte(us(now)))
            .order_by_asc(rectification::Column::CheckUs)
            .limit(200)
            .all(&self.db)
            .await?;
        for r in due {
            let txn = db::begin_write(&self.db).await?;
            let Some(r) = rectification::Entity::find_by_id(r.id).one(&txn).await? else { continue };
            if r.check_us.is_none_or(|c| c > us(now)) {
                txn.rollback().await?;
                continue;
            }
            let due = parse_date(&r.due)?;
            let mut row: rectification::ActiveModel = r.clone().into();
            let reason = if r.contacted_at.is_none() && now < self.end_of(due) {
                row.check_us = Set(Some(us(self.end_of(due))));
                format!("未在 {} 前联系服务对象", r.contact_due)
            } else {
                row.check_us = Set(None);
                format!("未在 {} 前完成整改答复", r.due)
            };
            let reasons = match &r.escalation_reason {
                Some(before) => format!("{before}；{reason}"),
                None => reason.clone(),
            };
            row.escalation_reason = Set(Some(reasons));
            if r.escalated_at.is_none() {
                row.escalated_at = Set(Some(now));
            }
            row.update(&txn).await?;
            txn.commit().await?;
            n += 1;
            tracing::warn!(rectification = %r.id, office = %r.office, %reason, "rectification late: escalated to the supervisors");
        }
        if let Some(days) = self.settings.default_rating_after_working_days {
            n += self.default_ratings(now, days).await?;
        }
        if n > 0 {
            self.committed();
        }
        Ok(n)
    }

    /// Invitations unrated `days` working days after they were sent get the default rating.
    async fn default_ratings(&self, now: DateTime<Utc>, days: u32) -> Result<usize> {
        // Invited before this day: the `days` working days after the invitation's day have ended (24:00).
        let first_day = self.calendar.sub_working_days(local_date(now), days).value;
        let before = day_start(first_day);
        let level = Level::from_number(self.settings.default_level).unwrap_or(Level::Satisfied);
        let open = invitation::Entity::find()
            .filter(invitation::Column::RatedAt.is_null())
            .filter(invitation::Column::InvitedUs.lt(us(before)))
            .limit(200)
            .all(&self.db)
            .await?;
        let mut n = 0;
        for inv in open {
            let txn = db::begin_write(&self.db).await?;
            let Some(inv) = invitation::Entity::find_by_id(inv.id).one(&txn).await? else { continue };
            if inv.rated_at.is_some() {
                txn.rollback().await?;
                continue;
            }
            self.rate(&txn, inv, level, None, Vec::new(), bangban_contracts::evaluation::Channel::Default, None, now)
                .await?;
            txn.commit().await?;
            n += 1;
        }
        Ok(n)
    }

    /// Staff appeal a rating (one appeal per rating).
    #[tracing::instrument(skip_all, fields(evaluation = %req.evaluation_id, actor = %req.actor.sub))]
    pub async fn file_appeal(&self, req: FileAppeal) -> Result<AppealView> {
        let reason = text("reason", &req.appeal.reason, 5, 1000)?;
        if req.appeal.evidence.is_empty() || req.appeal.evidence.len() > 20 {
            return Err(EvaluationError::field(
                "evidence",
                "须提供 1–20 项证据",
                "1 to 20 items of evidence are required",
            ));
        }
        let evidence = req
            .appeal
            .evidence
            .iter()
            .enumerate()
            .map(|(i, e)| text(&format!("evidence[{i}]"), e, 2, 500))
            .collect::<Result<Vec<_>>>()?;
        let txn = db::begin_write(&self.db).await?;
        let e = evaluation::Entity::find_by_id(req.evaluation_id.to_string()).one(&txn).await?.ok_or_else(|| {
            EvaluationError::NotFound(
                format!("评价 {} 不存在", req.evaluation_id),
                format!("no rating {}", req.evaluation_id),
            )
        })?;
        if !may_appeal(&req.actor, &e) {
            return Err(EvaluationError::Forbidden(
                "只有本案的帮办（代办）员、被评事项责任单位的审批人员或受理机构、责任单位所在机构的机构管理员可以申诉"
                    .into(),
                "only the case's specialist, the rated unit's officers or an office admin of the accepting office or \
                 of the unit's office may appeal"
                    .into(),
            ));
        }
        let row = appeal::ActiveModel {
            id: Set(Uuid::now_v7().to_string()),
            evaluation_id: Set(e.id.clone()),
            office: Set(e.office.clone()),
            filed_by: Set(req.actor.sub.clone()),
            reason: Set(reason),
            evidence: Set(json(&evidence)?),
            status: Set(AppealStatus::Pending),
            decided_by: Set(None),
            decision_note: Set(None),
            filed_at: Set(clock::now()),
            decided_at: Set(None),
        };
        let a = match row.insert(&txn).await {
            Ok(a) => a,
            Err(err) if db::is_unique_violation(&err) => {
                return Err(EvaluationError::Conflict(
                    "该评价已有申诉".into(),
                    "this rating has already been appealed".into(),
                ));
            }
            Err(err) => return Err(err.into()),
        };
        txn.commit().await?;
        appeal_view(&a)
    }

    /// An office admin decides an appeal: of the case's office, the unit's office, or the city — never the one
    /// who filed it nor the specialist it rates (separation of duties 回避: nobody decides their own appeal).
    #[tracing::instrument(skip_all, fields(appeal = %req.id, actor = %req.actor.sub))]
    pub async fn decide_appeal(&self, req: DecideAppeal) -> Result<AppealView> {
        let note = text("note", &req.decision.note, 2, 1000)?;
        let now = clock::now();
        let txn = db::begin_write(&self.db).await?;
        let a = appeal::Entity::find_by_id(req.id.to_string()).one(&txn).await?.ok_or_else(|| {
            EvaluationError::NotFound(format!("申诉 {} 不存在", req.id), format!("no appeal {}", req.id))
        })?;
        let e = evaluation::Entity::find_by_id(a.evaluation_id.clone())
            .one(&txn)
            .await?
            .ok_or_else(|| EvaluationError::corrupt("appeal without its rating"))?;
        let may = req.actor.role == "office_admin"
            && (req.actor.office == CITY_OFFICE
                || req.actor.office == e.office
                || e.unit_office.as_deref() == Some(req.actor.office.as_str()));
        if !may {
            return Err(EvaluationError::Forbidden(
                "只有本机构（或市级）帮办代办机构负责人可以裁定申诉".into(),
                "only an office admin of the case's or unit's office, or of the city, may decide".into(),
            ));
        }
        if let Some((zh, en)) = conflict_of_interest(&req.actor, &a, &e) {
            tracing::warn!(filed_by = %a.filed_by, "an appeal's own party tried to decide it");
            return Err(EvaluationError::Forbidden(zh, en));
        }
        if a.status != AppealStatus::Pending {
            return Err(EvaluationError::Conflict("该申诉已裁定".into(), "the appeal is already decided".into()));
        }
        let status = if req.decision.upheld { AppealStatus::Upheld } else { AppealStatus::Rejected };
        let mut row: appeal::ActiveModel = a.into();
        row.status = Set(status);
        row.decided_by = Set(Some(req.actor.sub.clone()));
        row.decision_note = Set(Some(note));
        row.decided_at = Set(Some(now));
        let a = row.update(&txn).await?;
        let view = appeal_view(&a)?;
        let data = AppealDecided { appeal: view.clone(), office: e.office.clone(), case_id: uuid(&e.case_id)? };
        emit::<events::AppealDecided, _>(&txn, &e.office, &a.id, &data).await?;
        txn.commit().await?;
        self.committed();
        Ok(view)
    }

    /// Appeals, newest first.
    pub async fn list_appeals(&self, req: ListAppeals) -> Result<Vec<AppealView>> {
        let mut q = appeal::Entity::find();
        if let Some(o) = &req.office {
            // The case's office, or the office of the rated item's unit (whose admins decide too).
            let of_units: Vec<String> = evaluation::Entity::find()
                .select_only()
                .column(evaluation::Column::Id)
                .filter(evaluation::Column::UnitOffice.eq(o.clone()))
                .into_tuple()
                .all(&self.db)
                .await?;
            q = q.filter(
                Condition::any()
                    .add(appeal::Column::Office.eq(o.clone()))
                    .add(appeal::Column::EvaluationId.is_in(of_units)),
            );
        }
        if let Some(s) = req.status {
            q = q.filter(appeal::Column::Status.eq(s));
        }
        let rows = q.order_by_desc(appeal::Column::FiledAt).limit(500).all(&self.db).await?;
        rows.iter().map(appeal_view).collect()
    }
}

/// Whether `actor` is concerned by the rating and may appeal it (申诉): the case's specialist, an officer of
/// the rated task's unit's office (the gateway checks the unit itself), an office admin of the accepting office
/// or of the unit's office, or an office admin who is the case's specialist.
fn may_appeal(actor: &Actor, e: &evaluation::Model) -> bool {
    match actor.role.as_str() {
        "assistant" | "agent" => actor.sub == e.specialist_id,
        "officer" => e.task_id.is_some() && e.unit_office.as_deref() == Some(actor.office.as_str()),
        "office_admin" => {
            actor.sub == e.specialist_id
                || actor.office == e.office
                || e.unit_office.as_deref() == Some(actor.office.as_str())
        }
        _ => false,
    }
}

/// Why `actor` may not decide the appeal although their office could (回避): they filed it, or the rating is
/// of their own service as the case's specialist. `None` when they are a third party.
fn conflict_of_interest(actor: &Actor, a: &appeal::Model, e: &evaluation::Model) -> Option<(String, String)> {
    if actor.sub == a.filed_by {
        Some((
            "申诉人不得裁定本人提出的申诉，请由本机构其他机构管理员或市级机构裁定".into(),
            "you filed this appeal and may not decide it; another office admin of the office, or the city office, decides"
                .into(),
        ))
    } else if actor.sub == e.specialist_id {
        Some((
            "被评价的帮办（代办）员不得裁定针对本人服务评价的申诉，请由其他机构管理员或市级机构裁定".into(),
            "the rating is of your own service and you may not decide its appeal; another office admin, or the city \
             office, decides"
                .into(),
        ))
    } else {
        None
    }
}

pub(crate) fn appeal_view(a: &appeal::Model) -> Result<AppealView> {
    Ok(AppealView {
        id: uuid(&a.id)?,
        evaluation_id: uuid(&a.evaluation_id)?,
        filed_by: a.filed_by.clone(),
        reason: a.reason.clone(),
        evidence: serde_json::from_str(&a.evidence).map_err(|e| EvaluationError::corrupt(format!("evidence: {e}")))?,
        status: a.status,
        decided_by: a.decided_by.clone(),
        decision_note: a.decision_note.clone(),
        filed_at: a.filed_at,
        decided_at: a.decided_at,
    })
}

pub(crate) fn rectification_view(r: &rectification::Model) -> Result<RectificationView> {
    Ok(RectificationView {
        id: uuid(&r.id)?,
        evaluation_id: uuid(&r.evaluation_id)?,
        case_id: uuid(&r.case_id)?,
        task_id: r.task_id.as_deref().map(uuid).transpose()?,
        item_name: r.item_name.clone(),
        level: Level::from_number(r.level as u8).ok_or_else(|| EvaluationError::corrupt("level"))?,
        comment: r.comment.clone(),
        assignee: serde_json::from_str(&r.assignee).map_err(|e| EvaluationError::corrupt(format!("assignee: {e}")))?,
        office: r.office.clone(),
        status: r.status,
        opened_at: r.opened_at,
        contact_due: parse_date(&r.contact_due)?,
        due: parse_date(&r.due)?,
        contacted_at: r.contacted_at,
        contact_note: r.contact_note.clone(),
        fix: r.fix.clone(),
        answer: r.answer.clone(),
        answered_at: r.answered_at,
        fix_rating: r.fix_rating,
        closed_at: r.closed_at,
        escalated_at: r.escalated_at,
        escalation_reason: r.escalation_reason.clone(),
        on_time: r.on_time,
    })
}
