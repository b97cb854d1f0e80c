//! Problems (§7.5.2) and consultations (会商) or joint meetings (联席会议, §7.5.3): a specialist records a
//! problem on a task and coordinates; unsolved in the configured time, or by choice, it goes to the office,
//! which holds a consultation or a joint meeting with attendees, decisions and follow-ups.

use std::collections::BTreeSet;

use bangban_contracts::{
    Event,
    deadline::{
        ConsultationEvent, ConsultationView, ListConsultations, ListProblems, MeetingPage, ProblemEvent, ProblemPage,
        ProblemStatus, ProblemView, RecordConsultation, RecordProblem, ReferProblem, SolveProblem,
    },
    events::{MeetingRecorded, ProblemRecorded, ProblemReferred, ProblemSolved},
    office::is_known_office,
    page::{DEFAULT_LIMIT, MAX_LIMIT, db_offset},
};
use bangban_platform::{clock, db, problem::FieldError};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use crate::{
    DeadlineService, date_str, domain, emit,
    engine::{self, AlarmKind},
    entity::{clock as clock_e, consultation, problem},
    error::{DeadlineError, Result},
    from_json, json, parse_date, timeline, uuid,
};

fn view(p: &problem::Model) -> Result<ProblemView> {
    Ok(ProblemView {
        id: uuid(&p.id)?,
        task_id: uuid(&p.task_id)?,
        case_id: uuid(&p.case_id)?,
        office: p.office.clone(),
        unit_office: p.unit_office.clone(),
        unit_code: p.unit_code.clone(),
        description: p.description.clone(),
        status: p.status,
        recorded_by: p.recorded_by.clone(),
        recorded_at: p.recorded_at,
        solve_by: parse_date(&p.solve_by)?,
        referred_at: p.referred_at,
        referral_reason: p.referral_reason.clone(),
        solved_at: p.solved_at,
        solution: p.solution.clone(),
        consultation_id: p.consultation_id.as_deref().map(uuid).transpose()?,
    })
}

fn consultation_view(c: &consultation::Model) -> Result<ConsultationView> {
    Ok(ConsultationView {
        id: uuid(&c.id)?,
        kind: c.kind,
        office: c.office.clone(),
        topic: c.topic.clone(),
        held_at: c.held_at,
        problem_ids: from_json("consultation.problem_ids", &c.problem_ids)?,
        case_ids: from_json("consultation.case_ids", &c.case_ids)?,
        attendees: from_json("consultation.attendees", &c.attendees)?,
        decisions: from_json("consultation.decisions", &c.decisions)?,
        follow_ups: from_json("consultation.follow_ups", &c.follow_ups)?,
        recorded_by: c.recorded_by.clone(),
        recorded_at: c.recorded_at,
    })
}

/// Publishes one of the problem's events (on the accepting office).
async fn announce<E: Event<Data = ProblemEvent>, C: ConnectionTrait>(
    conn: &C,
    p: &problem::Model,
    now: DateTime<Utc>,
) -> Result<()> {
    emit::<E, _>(conn, &p.office, None, &p.id, &ProblemEvent { problem: view(p)?, at: now }).await
}

fn text(field: &str, value: &str, max: usize, zh: &str, en: &str, errors: &mut Vec<FieldError>) -> String {
    let v = value.trim().to_string();
    if v.is_empty() || v.chars().count() > max {
        errors.push(FieldError::new(field, format!("{zh}（1–{max} 字）"), format!("{en} (1–{max} characters)")));
    }
    v
}

impl DeadlineService {
    pub(crate) async fn problems_of<C: ConnectionTrait>(&self, conn: &C, task_id: &str) -> Result<Vec<ProblemView>> {
        problem::Entity::find()
            .filter(problem::Column::TaskId.eq(task_id.to_string()))
            .order_by_asc(problem::Column::RecordedAt)
            .all(conn)
            .await?
            .iter()
            .map(view)
            .collect()
    }

    /// A problem on a task; referred at once when asked, else when its time runs out.
    pub async fn record_problem(&self, req: RecordProblem) -> Result<ProblemView> {
        let mut errors = Vec::new();
        let description =
            text("description", &req.problem.description, 2000, "请描述问题", "describe the problem", &mut errors);
        if !errors.is_empty() {
            return Err(DeadlineError::Validation(errors));
        }
        let now = clock::now();
        let txn = db::begin_write(&self.db).await?;
        let c = clock_e::Entity::find_by_id(req.task_id.to_string())
            .one(&txn)
            .await?
            .ok_or_else(|| crate::error::no_clock(&req.task_id.to_string()))?;
        let calendar = self.calendar(&txn).await?;
        let solve_by =
            calendar.add_working_days(domain::local_date(now), self.settings.problem_working_days.max(1)).value;
        let p = problem::ActiveModel {
            id: Set(Uuid::now_v7().to_string()),
            task_id: Set(c.task_id.clone()),
            case_id: Set(c.case_id.clone()),
            office: Set(c.office.clone()),
            unit_office: Set(c.unit_office.clone()),
            unit_code: Set(c.unit_code.clone()),
            description: Set(description.clone()),
            status: Set(ProblemStatus::Open),
            recorded_by: Set(req.actor.sub.clone()),
            recorded_at: Set(now),
            solve_by: Set(date_str(solve_by)),
            referred_at: Set(None),
            referral_reason: Set(None),
            solved_at: Set(None),
            solution: Set(None),
            consultation_id: Set(None),
        }
        .insert(&txn)
        .await?;
        timeline(&txn, &c.task_id, now, "problem_recorded", &req.actor.sub, format!("记录问题：{description}"), None)
            .await?;
        announce::<ProblemRecorded, _>(&txn, &p, now).await?;
        let p = if req.problem.refer_now {
            self.refer_problem(&txn, p, "帮办代办专员提报机构会商", &req.actor.sub, now).await?
        } else {
            engine::schedule(&txn, &p.id, AlarmKind::Problem, 0, domain::end_of_day(solve_by)).await?;
            p
        };
        let v = view(&p)?;
        txn.commit().await?;
        self.committed();
        Ok(v)
    }

    pub(crate) async fn refer_problem(
        &self,
        txn: &DatabaseTransaction,
        p: problem::Model,
        reason: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<problem::Model> {
        engine::cancel(txn, &p.id, &[AlarmKind::Problem]).await?;
        let mut active: problem::ActiveModel = p.into();
        active.status = Set(ProblemStatus::Referred);
        active.referred_at = Set(Some(now));
        active.referral_reason = Set(Some(reason.to_string()));
        let p = active.update(txn).await?;
        timeline(txn, &p.task_id, now, "problem_referred", actor, format!("问题提报机构会商：{reason}"), None).await?;
        announce::<ProblemReferred, _>(txn, &p, now).await?;
        Ok(p)
    }

    async fn problem<C: ConnectionTrait>(&self, conn: &C, id: Uuid) -> Result<problem::Model> {
        problem::Entity::find_by_id(id.to_string())
            .one(conn)
            .await?
            .ok_or_else(|| crate::error::no_problem(&id.to_string()))
    }

    /// The specialist (or the office) solved it.
    pub async fn solve_problem(&self, req: SolveProblem) -> Result<ProblemView> {
        let mut errors = Vec::new();
        let solution =
            text("solution", &req.solution.solution, 2000, "请填写解决情况", "describe the solution", &mut errors);
        if !errors.is_empty() {
            return Err(DeadlineError::Validation(errors));
        }
        let now = clock::now();
        let txn = db::begin_write(&self.db).await?;
        let p = self.problem(&txn, req.id).await?;
        if p.status == ProblemStatus::Solved {
            return Err(DeadlineError::Conflict("该问题已解决".into(), "the problem is already solved".into()));
        }
        let p = self.mark_solved(&txn, p, &solution, None, &req.actor.sub, now).await?;
        let v = view(&p)?;
        txn.commit().await?;
        self.committed();
        Ok(v)
    }

    async fn mark_solved(
        &self,
        txn: &DatabaseTransaction,
        p: problem::Model,
        solution: &str,
        consultation_id: Option<&str>,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<problem::Model> {
        engine::cancel(txn, &p.id, &[AlarmKind::Problem]).await?;
        let mut active: problem::ActiveModel = p.into();
        active.status = Set(ProblemStatus::Solved);
        active.solved_at = Set(Some(now));
        active.solution = Set(Some(solution.to_string()));
        if let Some(c) = consultation_id {
            active.consultation_id = Set(Some(c.to_string()));
        }
        let p = active.update(txn).await?;
        timeline(txn, &p.task_id, now, "problem_solved", actor, format!("问题已解决：{solution}"), None).await?;
        announce::<ProblemSolved, _>(txn, &p, now).await?;
        Ok(p)
    }

    /// To the office, by choice.
    pub async fn refer(&self, req: ReferProblem) -> Result<ProblemView> {
        let mut errors = Vec::new();
        let reason = text("reason", &req.referral.reason, 1000, "请填写提报理由", "give a reason", &mut errors);
        if !errors.is_empty() {
            return Err(DeadlineError::Validation(errors));
        }
        let now = clock::now();
        let txn = db::begin_write(&self.db).await?;
        let p = self.problem(&txn, req.id).await?;
        if p.status != ProblemStatus::Open {
            return Err(DeadlineError::Conflict(
                "只有协调中的问题可以提报".into(),
                format!("the problem is {}", p.status),
            ));
        }
        let p = self.refer_problem(&txn, p, &reason, &req.actor.sub, now).await?;
        let v = view(&p)?;
        txn.commit().await?;
        self.committed();
        Ok(v)
    }

    pub async fn get_problem(&self, id: Uuid) -> Result<ProblemView> {
        view(&self.problem(&self.db, id).await?)
    }

    /// A page of problems, newest first.
    pub async fn list_problems(&self, req: ListProblems) -> Result<ProblemPage> {
        let limit = req.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
        let offset = db_offset(req.offset);
        let mut q = problem::Entity::find();
        if let Some(o) = &req.office {
            q = q.filter(crate::in_office(problem::Column::UnitOffice, problem::Column::Office, o));
        }
        if let Some(u) = &req.unit {
            q = q.filter(problem::Column::UnitCode.eq(u.clone()));
        }
        if let Some(c) = req.case_id {
            q = q.filter(problem::Column::CaseId.eq(c.to_string()));
        }
        if let Some(t) = req.task_id {
            q = q.filter(problem::Column::TaskId.eq(t.to_string()));
        }
        if let Some(s) = req.status {
            q = q.filter(problem::Column::Status.eq(s));
        }
        let total = q.clone().count(&self.db).await?;
        let rows = q
            .order_by_desc(problem::Column::RecordedAt)
            .order_by_desc(problem::Column::Id)
            .limit(limit)
            .offset(offset)
            .all(&self.db)
            .await?;
        Ok(ProblemPage { items: rows.iter().map(view).collect::<Result<_>>()?, total, limit, offset })
    }

    /// A consultation or joint meeting held; the problems it took up are solved by its decisions.
    pub async fn record_consultation(&self, req: RecordConsultation) -> Result<ConsultationView> {
        let c = &req.consultation;
        let mut errors = Vec::new();
        let topic = text("topic", &c.topic, 500, "请填写会商议题", "a topic is required", &mut errors);
        let office = c.office.clone().unwrap_or_else(|| req.actor.office.clone());
        if !is_known_office(&office) {
            errors.push(FieldError::new("office", "未知的机构代码", "unknown office code"));
        }
        if c.attendees.is_empty() {
            errors.push(FieldError::new("attendees", "请列出参会单位及人员", "list the attendees"));
        }
        for (i, a) in c.attendees.iter().enumerate() {
            if a.organization.trim().is_empty() || a.name.trim().is_empty() {
                errors.push(FieldError::new(
                    format!("attendees[{i}]"),
                    "参会单位和姓名不能为空",
                    "organization and name are required",
                ));
            }
        }
        if c.decisions.is_empty() || c.decisions.iter().any(|d| d.trim().is_empty()) {
            errors.push(FieldError::new("decisions", "请填写会商决定", "record the decisions"));
        }
        for (i, f) in c.follow_ups.iter().enumerate() {
            if f.action.trim().is_empty() || f.owner.trim().is_empty() {
                errors.push(FieldError::new(
                    format!("follow_ups[{i}]"),
                    "跟进事项和责任人不能为空",
                    "action and owner are required",
                ));
            }
        }
        let now = clock::now();
        if c.held_at > now + chrono::Duration::days(1) {
            errors.push(FieldError::new("held_at", "会议时间不能晚于现在", "record a meeting that was held"));
        }
        let unique: BTreeSet<Uuid> = c.problem_ids.iter().copied().collect();
        if unique.len() != c.problem_ids.len() {
            errors.push(FieldError::new("problem_ids", "问题重复", "duplicate problems"));
        }
        if !errors.is_empty() {
            return Err(DeadlineError::Validation(errors));
        }
        let txn = db::begin_write(&self.db).await?;
        let mut problems = Vec::new();
        for (i, id) in c.problem_ids.iter().enumerate() {
            let p = problem::Entity::find_by_id(id.to_string())
                .one(&txn)
                .await?
                .ok_or_else(|| DeadlineError::field(&format!("problem_ids[{i}]"), "问题不存在", "no such problem"))?;
            if p.status == ProblemStatus::Solved {
                return Err(DeadlineError::field(
                    &format!("problem_ids[{i}]"),
                    "该问题已解决",
                    "the problem is already solved",
                ));
            }
            problems.push(p);
        }
        let case_ids: BTreeSet<String> = problems.iter().map(|p| p.case_id.clone()).collect();
        let id = Uuid::now_v7().to_string();
        let row = consultation::ActiveModel {
            id: Set(id.clone()),
            kind: Set(c.kind),
            office: Set(office),
            topic: Set(topic),
            held_at: Set(c.held_at),
            problem_ids: Set(json(&c.problem_ids)?),
            case_ids: Set(json(&case_ids.iter().collect::<Vec<_>>())?),
            attendees: Set(json(&c.attendees)?),
            decisions: Set(json(&c.decisions.iter().map(|d| d.trim().to_string()).collect::<Vec<_>>())?),
            follow_ups: Set(json(&c.follow_ups)?),
            recorded_by: Set(req.actor.sub.clone()),
            recorded_at: Set(now),
        }
        .insert(&txn)
        .await?;
        let solution = format!(
            "{}决定：{}",
            c.kind.label_zh(),
            c.decisions.iter().map(|d| d.trim()).collect::<Vec<_>>().join("；")
        );
        for p in problems {
            self.mark_solved(&txn, p, &solution, Some(&id), &req.actor.sub, now).await?;
        }
        let v = consultation_view(&row)?;
        emit::<MeetingRecorded, _>(&txn, &row.office, None, &id, &ConsultationEvent { consultation: v.clone() })
            .await?;
        txn.commit().await?;
        self.committed();
        Ok(v)
    }

    /// A page of consultations and joint meetings, latest first.
    pub async fn list_consultations(&self, req: ListConsultations) -> Result<MeetingPage> {
        let limit = req.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
        let offset = db_offset(req.offset);
        let mut q = consultation::Entity::find();
        if let Some(o) = &req.office {
            q = q.filter(consultation::Column::Office.eq(o.clone()));
        }
        if let Some(c) = req.case_id {
            // `case_ids` is a JSON array of UUIDs: the quoted id matches that case only.
            q = q.filter(consultation::Column::CaseIds.contains(format!("\"{c}\"")));
        }
        let total = q.clone().count(&self.db).await?;
        let rows = q
            .order_by_desc(consultation::Column::HeldAt)
            .order_by_desc(consultation::Column::Id)
            .limit(limit)
            .offset(offset)
            .all(&self.db)
            .await?;
        let items = rows.iter().map(consultation_view).collect::<Result<Vec<ConsultationView>>>()?;
        Ok(MeetingPage { items, total, limit, offset })
    }
}
