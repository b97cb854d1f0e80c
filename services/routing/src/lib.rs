//! Routing (代办分类推送 §7.4, 跟踪办理 §7.5.1): turns a published plan into tasks at responsible units, tracks
//! each task's status marks, and runs the cross-level linked handling of §7.4.2.
//!
//! - **Directory**: the units of the city and each county-level office ([`seed`]); an item's unit type and
//!   level plus the project's location name one concrete unit ([`resolve`]).
//! - **Dispatch**: on `plan.published` (idempotent, versions in order) a task per item; items whose
//!   predecessors are approved go out at once on `bb.evt.<office of the unit>.task.dispatched.<unit>`, the
//!   rest when their predecessors are approved. A re-plan adds, changes and withdraws tasks.
//! - **Status marks**: every step with actor, time and note, one event per step; `case.terminated`
//!   withdraws every open task; when every task has concluded, `plan.completed`.

pub mod domain;
pub mod entity;
pub mod error;
pub mod handlers;
pub mod seed;
pub mod settings;

use std::collections::HashMap;

use bangban_contracts::{
    CloudEvent, EventType, events,
    intake::{CaseTerminated, SpecialistChanged},
    office::CITY_OFFICE,
    planning::{Level, Material, PlanPublished, PublishedItem, UnitType},
    routing::{
        CaseTasks, LinkReport, LinkedHandling, ListTasks, ListUnits, PlanCompleted, Rejection, ResultDocument, SERVICE,
        SupplementNotice, TaskAction, TaskEvent, TaskPage, TaskStatus, TaskStep, TaskView, TransitionTask, UnitContact,
        UnitView,
    },
};
use bangban_platform::{
    clock,
    consumer::{EventHandler, HandlerError},
    db,
    outbox::{self, OutboxNotifier},
};
use bangban_workdays::{Calendar, shanghai};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

pub use crate::settings::RoutingSettings;
use crate::{
    domain::{Clock, Link},
    entity::{
        case_plan::{self, CaseStatus},
        task, task_step, unit,
    },
    error::{Result, RoutingError},
};

fn json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| RoutingError::corrupt(e.to_string()))
}

fn from_json<T: serde::de::DeserializeOwned>(what: &str, s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| RoutingError::corrupt(format!("{what}: {e}")))
}

fn opt_json<T: serde::de::DeserializeOwned>(what: &str, s: &Option<String>) -> Result<Option<T>> {
    s.as_deref().map(|s| from_json(what, s)).transpose()
}

fn parse_date(s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| RoutingError::corrupt(format!("date {s:?}")))
}

fn uuid(s: &str) -> Result<Uuid> {
    Uuid::parse_str(s).map_err(|_| RoutingError::corrupt(format!("id {s:?}")))
}

/// The unit of one item: the specialist's choice, else by type and level at the project's location; a
/// county without such a unit uses the city's.
pub fn resolve<'a>(
    units: &'a [unit::Model],
    unit_type: UnitType,
    level: Level,
    unit_code: Option<&str>,
    project_office: &str,
) -> Option<&'a unit::Model> {
    if let Some(code) = unit_code
        && let Some(u) = units.iter().find(|u| u.code == code)
    {
        return Some(u);
    }
    let of = |office: &str, level: Level| {
        units.iter().find(|u| u.unit_type == unit_type && u.office == office && u.level == level)
    };
    let city = || of(CITY_OFFICE, Level::City);
    match level {
        Level::Province => of(CITY_OFFICE, Level::Province).or_else(city),
        Level::City => city(),
        Level::County | Level::ByLocation => {
            if project_office == CITY_OFFICE {
                city()
            } else {
                of(project_office, Level::County).or_else(city)
            }
        }
    }
}

/// Routing's state.
pub struct RoutingService {
    db: DatabaseConnection,
    notifier: OutboxNotifier,
    calendar: Calendar,
    link_ack_hours: u32,
}

impl RoutingService {
    pub fn new(db: DatabaseConnection, notifier: OutboxNotifier, link_ack_hours: u32) -> Self {
        Self { db, notifier, calendar: Calendar::embedded(), link_ack_hours }
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// The directory, filtered.
    pub async fn list_units(&self, req: ListUnits) -> Result<Vec<UnitView>> {
        let mut q = unit::Entity::find().order_by_asc(unit::Column::Office).order_by_asc(unit::Column::Code);
        if let Some(o) = &req.office {
            q = q.filter(unit::Column::Office.eq(o.clone()));
        }
        if let Some(t) = req.unit_type {
            q = q.filter(unit::Column::UnitType.eq(t));
        }
        q.all(&self.db).await?.into_iter().map(unit_view).collect()
    }

    async fn view<C: ConnectionTrait>(&self, conn: &C, t: task::Model) -> Result<TaskView> {
        let steps = task_step::Entity::find()
            .filter(task_step::Column::TaskId.eq(t.id.clone()))
            .order_by_asc(task_step::Column::At)
            .order_by_asc(task_step::Column::Id)
            .all(conn)
            .await?;
        view_with(t, steps)
    }

    async fn views<C: ConnectionTrait>(&self, conn: &C, tasks: Vec<task::Model>) -> Result<Vec<TaskView>> {
        let ids: Vec<String> = tasks.iter().map(|t| t.id.clone()).collect();
        let mut steps: HashMap<String, Vec<task_step::Model>> = HashMap::new();
        for chunk in ids.chunks(500) {
            for s in task_step::Entity::find()
                .filter(task_step::Column::TaskId.is_in(chunk.to_vec()))
                .order_by_asc(task_step::Column::At)
                .order_by_asc(task_step::Column::Id)
                .all(conn)
                .await?
            {
                steps.entry(s.task_id.clone()).or_default().push(s);
            }
        }
        tasks
            .into_iter()
            .map(|t| {
                let s = steps.remove(&t.id).unwrap_or_default();
                view_with(t, s)
            })
            .collect()
    }

    pub async fn get_task(&self, id: Uuid) -> Result<TaskView> {
        let t = task::Entity::find_by_id(id.to_string())
            .one(&self.db)
            .await?
            .ok_or_else(|| crate::error::no_task(&id.to_string()))?;
        self.view(&self.db, t).await
    }

    pub async fn case_tasks(&self, req: CaseTasks) -> Result<Vec<TaskView>> {
        let tasks = task::Entity::find()
            .filter(task::Column::CaseId.eq(req.case_id.to_string()))
            .order_by_asc(task::Column::CreatedAt)
            .order_by_asc(task::Column::Code)
            .all(&self.db)
            .await?;
        self.views(&self.db, tasks).await
    }

    /// A unit's inbox, or an office's.
    pub async fn list_tasks(&self, req: ListTasks) -> Result<TaskPage> {
        let limit = req.limit.unwrap_or(50).clamp(1, 200);
        let offset = bangban_contracts::page::db_offset(req.offset);
        let mut q = task::Entity::find();
        if let Some(u) = &req.unit {
            q = q.filter(task::Column::UnitCode.eq(u.clone()));
        }
        if let Some(o) = &req.office {
            q = q.filter(task::Column::UnitOffice.eq(o.clone()));
        }
        if let Some(s) = req.status {
            q = q.filter(task::Column::Status.eq(s));
        } else {
            // Pending tasks are not at the unit yet.
            q = q.filter(task::Column::Status.ne(TaskStatus::Pending));
        }
        if let Some(c) = req.case_id {
            q = q.filter(task::Column::CaseId.eq(c.to_string()));
        }
        let total = q.clone().count(&self.db).await?;
        let rows = q
            .order_by_asc(task::Column::PlannedEnd)
            .order_by_asc(task::Column::Id)
            .limit(limit)
            .offset(offset)
            .all(&self.db)
            .await?;
        Ok(TaskPage { items: self.views(&self.db, rows).await?, total, limit, offset })
    }

    /// One status step: checked, recorded with actor, time and note, announced; approvals dispatch the
    /// items that waited for them; the last conclusion completes the plan.
    pub async fn transition(&self, req: TransitionTask) -> Result<TaskView> {
        let today = clock::now().with_timezone(&shanghai()).date_naive();
        let errors = domain::validate(&req.action, today);
        if !errors.is_empty() {
            return Err(RoutingError::Validation(errors));
        }
        let txn = db::begin_write(&self.db).await?;
        let t = task::Entity::find_by_id(req.task_id.to_string())
            .one(&txn)
            .await?
            .ok_or_else(|| crate::error::no_task(&req.task_id.to_string()))?;
        let mut linked: Option<LinkedHandling> = opt_json("task.linked", &t.linked)?;
        let link = match &linked {
            None => Link::None,
            Some(l) if l.acknowledged_at.is_some() => Link::Acknowledged,
            Some(_) => Link::Awaiting,
        };
        let decision =
            domain::decide(t.status, link, &req.action).map_err(|r| RoutingError::Conflict(r.zh(), r.en()))?;
        let now = clock::now();
        let actor = req.actor.sub.clone();
        let mut active: task::ActiveModel = t.clone().into();
        match decision.clock {
            Clock::Starts => active.received_at = Set(Some(now)),
            Clock::Pauses => active.paused_since = Set(Some(now)),
            Clock::Resumes => active.paused_since = Set(None),
            Clock::Unchanged => {}
        }
        let note: Option<String>;
        let (mut supplement, mut result, mut rejection) = (None, None, None);
        match &req.action {
            TaskAction::Receive { note: n } | TaskAction::StartReview { note: n } => note = n.clone(),
            TaskAction::Supplement { note: n } => {
                let mut notice: Option<SupplementNotice> = opt_json("task.supplement", &t.supplement)?;
                if let Some(n) = notice.as_mut() {
                    n.supplemented_at = Some(now);
                }
                active.supplement = Set(notice.as_ref().map(json).transpose()?);
                supplement = notice;
                note = n.clone();
            }
            TaskAction::RequestSupplement { items, due_on, note: n } => {
                let notice = SupplementNotice {
                    items: items
                        .iter()
                        .map(|i| bangban_contracts::routing::SupplementItem {
                            material: i.material.trim().into(),
                            reason: i.reason.trim().into(),
                        })
                        .collect(),
                    due_on: *due_on,
                    requested_at: now,
                    requested_by: actor.clone(),
                    supplemented_at: None,
                };
                active.supplement = Set(Some(json(&notice)?));
                supplement = Some(notice);
                note = n.clone();
            }
            TaskAction::Approve { document, note: n } => {
                let doc = ResultDocument {
                    kind: document.kind.trim().into(),
                    number: document.number.trim().into(),
                    issued_on: document.issued_on,
                };
                active.result = Set(Some(json(&doc)?));
                result = Some(doc);
                note = n.clone();
            }
            TaskAction::Reject { reason, legal_basis } => {
                let r = Rejection { reason: reason.trim().into(), legal_basis: legal_basis.trim().into() };
                active.rejection = Set(Some(json(&r)?));
                note = Some(r.reason.clone());
                rejection = Some(r);
            }
            TaskAction::CollectResult { by, note: n } => {
                note = Some(match n {
                    Some(n) => format!("{by}: {n}"),
                    None => by.clone(),
                });
            }
            TaskAction::Withdraw { reason } => note = Some(reason.trim().into()),
            TaskAction::AcknowledgeLink { note: n } => {
                if let Some(l) = linked.as_mut() {
                    l.acknowledged_at = Some(now);
                    l.acknowledged_by = Some(actor.clone());
                }
                active.linked = Set(linked.as_ref().map(json).transpose()?);
                note = n.clone();
            }
            TaskAction::ReportLink { report } => {
                if let Some(l) = linked.as_mut() {
                    l.reports.push(LinkReport { report: report.trim().into(), by: actor.clone(), at: now });
                }
                active.linked = Set(linked.as_ref().map(json).transpose()?);
                note = Some(report.trim().into());
            }
        }
        let to = decision.to;
        active.status = Set(to);
        active.updated_at = Set(now);
        let saved = active.update(&txn).await?;
        let note = note.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
        record_step(&txn, &saved.id, req.action.name(), decision.from, to, &actor, now, note.clone()).await?;
        let event = task_event(&saved, to, req.action.name(), &actor, now, note, supplement, result, rejection)?;
        enqueue_task(&txn, decision.event, &saved, &event).await?;
        if decision.releases_successors() {
            self.dispatch_ready(&txn, &saved.case_id, "routing").await?;
        }
        if to.is_concluded() {
            self.complete_if_done(&txn, &saved.case_id).await?;
        }
        let view = self.view(&txn, saved).await?;
        txn.commit().await?;
        self.notifier.notify();
        tracing::info!(task.id = %req.task_id, action = req.action.name(), to = to.as_str(), "task step");
        Ok(view)
    }

    /// Creates, changes and withdraws tasks for a published version, then dispatches what is ready.
    pub(crate) async fn on_plan_published(&self, txn: &DatabaseTransaction, plan: &PlanPublished) -> Result<()> {
        let case_id = plan.case_id.to_string();
        let existing = case_plan::Entity::find_by_id(case_id.clone()).one(txn).await?;
        let now = clock::now();
        match &existing {
            Some(c) if c.status == CaseStatus::Terminated => return Ok(()),
            Some(c) if c.version >= plan.version as i32 => return Ok(()),
            _ => {}
        }
        let units = unit::Entity::find().all(txn).await?;
        if units.is_empty() {
            return Err(RoutingError::Unavailable("the unit directory is empty (run `bangban seed`)".into()));
        }
        let tasks = task::Entity::find().filter(task::Column::CaseId.eq(case_id.clone())).all(txn).await?;
        for item in &plan.items {
            let unit = resolve(&units, item.unit_type, item.level, item.unit_code.as_deref(), &plan.project_office)
                .ok_or_else(|| RoutingError::corrupt(format!("no unit of type {}", item.unit_type.as_str())))?;
            let current = tasks.iter().find(|t| t.code == item.code && t.status != TaskStatus::Withdrawn);
            match current {
                None => {
                    self.create_task(txn, plan, item, unit, now).await?;
                }
                Some(t) => {
                    let status = t.status;
                    if t.unit_code != unit.code && !status.is_concluded() && status != TaskStatus::Pending {
                        // Another unit now: the one that has it gives it back, the new one gets it.
                        self.withdraw_task(txn, t, "方案调整，事项改由其他单位办理", "planning", now).await?;
                        self.create_task(txn, plan, item, unit, now).await?;
                    } else if !status.is_concluded() {
                        let mut active: task::ActiveModel = t.clone().into();
                        active.plan_version = Set(plan.version as i32);
                        active.name = Set(item.name.clone());
                        active.unit_code = Set(unit.code.clone());
                        active.unit_name = Set(unit.name.clone());
                        active.unit_office = Set(unit.office.clone());
                        active.promised_working_days = Set(item.promised_working_days as i32);
                        active.materials = Set(json(&item.materials)?);
                        active.predecessors = Set(json(&item.predecessors)?);
                        active.planned_start = Set(item.planned_start.format("%Y-%m-%d").to_string());
                        active.planned_end = Set(item.planned_end.format("%Y-%m-%d").to_string());
                        active.updated_at = Set(now);
                        active.update(txn).await?;
                    }
                }
            }
        }
        for t in &tasks {
            if !t.status.is_concluded() && !plan.items.iter().any(|i| i.code == t.code) {
                self.withdraw_task(txn, t, "事项已移出代办方案", &plan.published_by, now).await?;
            }
        }
        let row = case_plan::ActiveModel {
            case_id: Set(case_id.clone()),
            office: Set(plan.office.clone()),
            ledger_no: Set(plan.ledger_no.clone()),
            version: Set(plan.version as i32),
            status: Set(CaseStatus::Open),
            applicant_id: Set(plan.applicant_id.to_string()),
            specialist_id: Set(plan.specialist_id.clone()),
            updated_at: Set(now),
        };
        if existing.is_some() {
            row.update(txn).await?
        } else {
            row.insert(txn).await?
        };
        self.dispatch_ready(txn, &case_id, &plan.published_by).await?;
        self.complete_if_done(txn, &case_id).await?;
        Ok(())
    }

    async fn create_task(
        &self,
        txn: &DatabaseTransaction,
        plan: &PlanPublished,
        item: &PublishedItem,
        unit: &unit::Model,
        now: DateTime<Utc>,
    ) -> Result<()> {
        task::ActiveModel {
            id: Set(Uuid::now_v7().to_string()),
            case_id: Set(plan.case_id.to_string()),
            ledger_no: Set(plan.ledger_no.clone()),
            office: Set(plan.office.clone()),
            plan_version: Set(plan.version as i32),
            code: Set(item.code.clone()),
            name: Set(item.name.clone()),
            stage: Set(item.stage),
            unit_code: Set(unit.code.clone()),
            unit_name: Set(unit.name.clone()),
            unit_office: Set(unit.office.clone()),
            status: Set(TaskStatus::Pending),
            promised_working_days: Set(item.promised_working_days as i32),
            materials: Set(json(&item.materials)?),
            predecessors: Set(json(&item.predecessors)?),
            planned_start: Set(item.planned_start.format("%Y-%m-%d").to_string()),
            planned_end: Set(item.planned_end.format("%Y-%m-%d").to_string()),
            applicant_id: Set(plan.applicant_id.to_string()),
            specialist_id: Set(plan.specialist_id.clone()),
            dispatched_at: Set(None),
            received_at: Set(None),
            paused_since: Set(None),
            supplement: Set(None),
            result: Set(None),
            rejection: Set(None),
            linked: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(txn)
        .await?;
        Ok(())
    }

    async fn withdraw_task(
        &self,
        txn: &DatabaseTransaction,
        t: &task::Model,
        reason: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let from = t.status;
        let Some(notify) = domain::withdrawal(from) else { return Ok(()) };
        let mut active: task::ActiveModel = t.clone().into();
        active.status = Set(TaskStatus::Withdrawn);
        active.paused_since = Set(None);
        active.updated_at = Set(now);
        let saved = active.update(txn).await?;
        record_step(txn, &saved.id, "withdraw", from, TaskStatus::Withdrawn, actor, now, Some(reason.into())).await?;
        if notify {
            let event = task_event(
                &saved,
                TaskStatus::Withdrawn,
                "withdraw",
                actor,
                now,
                Some(reason.into()),
                None,
                None,
                None,
            )?;
            enqueue_task(txn, EventType::TASK_WITHDRAWN, &saved, &event).await?;
        }
        Ok(())
    }

    /// Dispatches every pending task of the case whose predecessors are all approved.
    async fn dispatch_ready(&self, txn: &DatabaseTransaction, case_id: &str, actor: &str) -> Result<usize> {
        let tasks = task::Entity::find().filter(task::Column::CaseId.eq(case_id.to_string())).all(txn).await?;
        let live: HashMap<&str, TaskStatus> =
            tasks.iter().filter(|t| t.status != TaskStatus::Withdrawn).map(|t| (t.code.as_str(), t.status)).collect();
        let now = clock::now();
        let mut dispatched = 0;
        for t in tasks.iter().filter(|t| t.status == TaskStatus::Pending) {
            let predecessors: Vec<String> = from_json("task.predecessors", &t.predecessors)?;
            // A predecessor no longer in the plan does not hold anything up.
            if !predecessors.iter().all(|p| live.get(p.as_str()).is_none_or(TaskStatus::is_success)) {
                continue;
            }
            let mut active: task::ActiveModel = t.clone().into();
            active.status = Set(TaskStatus::Dispatched);
            active.dispatched_at = Set(Some(now));
            active.updated_at = Set(now);
            if t.unit_office != t.office {
                let linked = LinkedHandling {
                    initiating_office: t.office.clone(),
                    linked_office: t.unit_office.clone(),
                    acknowledge_by: self.calendar.add_working_hours(now, self.link_ack_hours),
                    acknowledged_at: None,
                    acknowledged_by: None,
                    reports: Vec::new(),
                };
                active.linked = Set(Some(json(&linked)?));
            }
            let saved = active.update(txn).await?;
            record_step(txn, &saved.id, "dispatch", TaskStatus::Pending, TaskStatus::Dispatched, actor, now, None)
                .await?;
            let event = task_event(&saved, TaskStatus::Dispatched, "dispatch", actor, now, None, None, None, None)?;
            enqueue_task(txn, EventType::TASK_DISPATCHED, &saved, &event).await?;
            dispatched += 1;
        }
        Ok(dispatched)
    }

    /// Publishes `plan.completed` once every task of the case has concluded.
    async fn complete_if_done(&self, txn: &DatabaseTransaction, case_id: &str) -> Result<()> {
        let Some(plan) = case_plan::Entity::find_by_id(case_id.to_string()).one(txn).await? else { return Ok(()) };
        if plan.status != CaseStatus::Open {
            return Ok(());
        }
        let tasks = task::Entity::find().filter(task::Column::CaseId.eq(case_id.to_string())).all(txn).await?;
        let statuses: Vec<TaskStatus> = tasks.iter().map(|t| t.status).collect();
        if statuses.is_empty() || !statuses.iter().all(TaskStatus::is_concluded) {
            return Ok(());
        }
        let count = |f: fn(&TaskStatus) -> bool| statuses.iter().filter(|s| f(s)).count() as u32;
        let now = clock::now();
        let data = PlanCompleted {
            case_id: uuid(case_id)?,
            ledger_no: plan.ledger_no.clone(),
            office: plan.office.clone(),
            plan_version: plan.version as u32,
            approved: count(TaskStatus::is_success),
            rejected: count(|s| *s == TaskStatus::Rejected),
            withdrawn: count(|s| *s == TaskStatus::Withdrawn),
            completed_at: now,
        };
        let office = plan.office.clone();
        let mut active: case_plan::ActiveModel = plan.into();
        active.status = Set(CaseStatus::Completed);
        active.updated_at = Set(now);
        active.update(txn).await?;
        outbox::emit::<events::PlanCompleted, _>(txn, SERVICE, &office, None, case_id, &data).await
    }

    /// Withdraws every open task of a terminated case; later plan versions are ignored.
    pub(crate) async fn on_case_terminated(&self, txn: &DatabaseTransaction, data: &CaseTerminated) -> Result<()> {
        let case_id = data.case_id.to_string();
        let now = clock::now();
        match case_plan::Entity::find_by_id(case_id.clone()).one(txn).await? {
            Some(plan) => {
                let mut active: case_plan::ActiveModel = plan.into();
                active.status = Set(CaseStatus::Terminated);
                active.updated_at = Set(now);
                active.update(txn).await?;
            }
            None => {
                case_plan::ActiveModel {
                    case_id: Set(case_id.clone()),
                    office: Set(data.office.clone()),
                    ledger_no: Set(data.ledger_no.clone()),
                    version: Set(0),
                    status: Set(CaseStatus::Terminated),
                    applicant_id: Set(data.applicant_id.to_string()),
                    specialist_id: Set(data.specialist_id.clone()),
                    updated_at: Set(now),
                }
                .insert(txn)
                .await?;
            }
        }
        let reason = format!("案件终止服务（{}）：{}", data.reason_letter, data.note);
        for t in task::Entity::find().filter(task::Column::CaseId.eq(case_id)).all(txn).await? {
            if !t.status.is_concluded() {
                self.withdraw_task(txn, &t, &reason, &data.terminated_by, now).await?;
            }
        }
        Ok(())
    }

    pub(crate) async fn on_specialist_changed(
        &self,
        txn: &DatabaseTransaction,
        data: &SpecialistChanged,
    ) -> Result<()> {
        let case_id = data.case_id.to_string();
        task::Entity::update_many()
            .col_expr(task::Column::SpecialistId, sea_orm::sea_query::Expr::value(data.to_specialist.clone()))
            .filter(task::Column::CaseId.eq(case_id.clone()))
            .exec(txn)
            .await?;
        if let Some(plan) = case_plan::Entity::find_by_id(case_id).one(txn).await? {
            let mut active: case_plan::ActiveModel = plan.into();
            active.specialist_id = Set(data.to_specialist.clone());
            active.update(txn).await?;
        }
        Ok(())
    }
}

#[allow(clippy::too_many_arguments)]
async fn record_step<C: ConnectionTrait>(
    conn: &C,
    task_id: &str,
    action: &str,
    from: TaskStatus,
    to: TaskStatus,
    actor: &str,
    at: DateTime<Utc>,
    note: Option<String>,
) -> Result<()> {
    task_step::ActiveModel {
        id: Set(Uuid::now_v7().to_string()),
        task_id: Set(task_id.to_string()),
        action: Set(action.to_string()),
        from_status: Set(from),
        to_status: Set(to),
        actor: Set(actor.to_string()),
        at: Set(at),
        note: Set(note),
    }
    .insert(conn)
    .await?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn task_event(
    t: &task::Model,
    status: TaskStatus,
    action: &str,
    actor: &str,
    at: DateTime<Utc>,
    note: Option<String>,
    supplement: Option<SupplementNotice>,
    result: Option<ResultDocument>,
    rejection: Option<Rejection>,
) -> Result<TaskEvent> {
    Ok(TaskEvent {
        task_id: uuid(&t.id)?,
        case_id: uuid(&t.case_id)?,
        ledger_no: t.ledger_no.clone(),
        office: t.office.clone(),
        plan_version: t.plan_version as u32,
        code: t.code.clone(),
        name: t.name.clone(),
        stage: t.stage,
        unit_code: t.unit_code.clone(),
        unit_office: t.unit_office.clone(),
        status,
        promised_working_days: t.promised_working_days as u32,
        received_at: t.received_at,
        paused_since: t.paused_since,
        applicant_id: uuid(&t.applicant_id)?,
        specialist_id: t.specialist_id.clone(),
        planned_end: parse_date(&t.planned_end)?,
        linked: t.linked.is_some(),
        action: action.to_string(),
        actor: actor.to_string(),
        at,
        note,
        supplement,
        result,
        rejection,
        unit_name: Some(t.unit_name.clone()),
        acknowledge_by: opt_json::<LinkedHandling>("task.linked", &t.linked)?.map(|l| l.acknowledge_by),
    })
}

async fn enqueue_task<C: ConnectionTrait>(
    conn: &C,
    event_type: EventType,
    t: &task::Model,
    data: &TaskEvent,
) -> Result<()> {
    // The step picks one of the `task.*` events at run time; they all carry a `TaskEvent`.
    outbox::emit_as(conn, SERVICE, event_type, &t.unit_office, Some(&t.unit_code), &t.id, data).await
}

fn unit_view(u: unit::Model) -> Result<UnitView> {
    Ok(UnitView {
        contacts: from_json::<Vec<UnitContact>>("unit.contacts", &u.contacts)?,
        unit_type: u.unit_type,
        level: u.level,
        code: u.code,
        name: u.name,
        office: u.office,
    })
}

fn view_with(t: task::Model, steps: Vec<task_step::Model>) -> Result<TaskView> {
    let history = steps
        .into_iter()
        .map(|s| TaskStep {
            action: s.action,
            from: s.from_status,
            to: s.to_status,
            actor: s.actor,
            at: s.at,
            note: s.note,
        })
        .collect();
    Ok(TaskView {
        id: uuid(&t.id)?,
        case_id: uuid(&t.case_id)?,
        status: t.status,
        stage: t.stage,
        materials: from_json::<Vec<Material>>("task.materials", &t.materials)?,
        predecessors: from_json("task.predecessors", &t.predecessors)?,
        planned_start: parse_date(&t.planned_start)?,
        planned_end: parse_date(&t.planned_end)?,
        applicant_id: uuid(&t.applicant_id)?,
        supplement: opt_json("task.supplement", &t.supplement)?,
        result: opt_json("task.result", &t.result)?,
        rejection: opt_json("task.rejection", &t.rejection)?,
        linked: opt_json("task.linked", &t.linked)?,
        ledger_no: t.ledger_no,
        office: t.office,
        plan_version: t.plan_version as u32,
        code: t.code,
        name: t.name,
        unit_code: t.unit_code,
        unit_name: t.unit_name,
        unit_office: t.unit_office,
        promised_working_days: t.promised_working_days as u32,
        specialist_id: t.specialist_id,
        dispatched_at: t.dispatched_at,
        received_at: t.received_at,
        history,
        updated_at: t.updated_at,
    })
}

/// Follows planning and intake: `plan.published` → tasks, `case.terminated` → withdrawn,
/// `case.specialist_changed` → the new specialist.
impl EventHandler for RoutingService {
    async fn handle(&self, txn: &DatabaseTransaction, _subject: &str, event: &CloudEvent) -> Result<(), HandlerError> {
        bangban_platform::dispatch!(event, {
            events::PlanPublished => |plan| Ok(self.on_plan_published(txn, &plan).await?),
            events::CaseTerminated => |data| Ok(self.on_case_terminated(txn, &data).await?),
            events::CaseSpecialistChanged => |data| Ok(self.on_specialist_changed(txn, &data).await?),
        })
    }

    fn committed(&self) {
        self.notifier.notify();
    }
}
