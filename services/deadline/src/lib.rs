//! Deadline (限时办结 §4.3, 跟踪办理 §7.5): nothing may pass its promised time unnoticed.
//!
//! - **Clocks** ([`clocks`]): one per routed task, started at receipt (or at dispatch when the unit has not
//!   received it in time), with the promised working days; the due instant from the working-day calendar,
//!   typed pauses (the supplement, and the statutory exclusions of 行政许可法 Art. 45), approved extensions,
//!   recomputation when the calendar changes; every change in an append-only timeline.
//! - **Alarms** ([`engine`]): warnings and overdue, late receipt and late linked acknowledgement, supervision
//!   response and escalation dates, problem time limits — one row each in an indexed schedule that the engine
//!   reads from its head; each fires once per clock state (a generation), in the same transaction as its
//!   effect and its event, with `SKIP LOCKED` on PostgreSQL so replicas share the work.
//! - **Supervision** ([`supervision`], 督办 §7.5.4): notices, the unit's answer, escalation to discipline
//!   inspection or audit with an evidence pack, the supervisor's outcome.
//! - **Problems and consultations** ([`problems`], §7.5.2, §7.5.3).
//! - **Monitoring** ([`monitoring`], §6.2): warnings and overdue by office, unit, stage and category; on-time
//!   rate and average working days.

pub mod clocks;
pub mod decision;
pub mod domain;
pub mod engine;
pub mod entity;
pub mod error;
pub mod handlers;
pub mod monitoring;
pub mod problems;
pub mod settings;
pub mod supervision;

use std::sync::{Arc, RwLock};

use bangban_contracts::{
    CloudEvent, Event, EventType,
    deadline::{ClockStatus, SERVICE},
    events,
    intake::SpecialistChanged,
    planning::{CalendarChange, CalendarChangeKind, PlanPublished},
};
use bangban_deadline_migration::Migrator;
use bangban_platform::{
    clock,
    consumer::{EventHandler, HandlerError},
    outbox::{self, OutboxNotifier},
    rpc::Endpoints,
    service::{Context, Service},
};
use bangban_workdays::{Calendar, Override, load_year_json};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    EntityTrait, QueryFilter, sea_query::OnConflict,
};
use tokio::sync::Notify;
use uuid::Uuid;

pub use crate::settings::DeadlineSettings;
use crate::{
    entity::{calendar_override, calendar_state, calendar_year, case_info, clock as clock_e, clock_timeline},
    error::{DeadlineError, Result},
};

pub(crate) fn json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| DeadlineError::corrupt(e.to_string()))
}

pub(crate) fn from_json<T: serde::de::DeserializeOwned>(what: &str, s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| DeadlineError::corrupt(format!("{what}: {e}")))
}

pub(crate) fn opt_json<T: serde::de::DeserializeOwned>(what: &str, s: &Option<String>) -> Result<Option<T>> {
    s.as_deref().map(|s| from_json(what, s)).transpose()
}

pub(crate) fn uuid(s: &str) -> Result<Uuid> {
    Uuid::parse_str(s).map_err(|_| DeadlineError::corrupt(format!("id {s:?}")))
}

pub(crate) fn parse_date(s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| DeadlineError::corrupt(format!("date {s:?}")))
}

pub(crate) fn date_str(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// Microseconds since the epoch (how ordered instants are stored).
pub fn us(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

pub fn from_us(v: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(v).unwrap_or_default()
}

/// Rows of an office's reach: its units' (`unit_office`) or its accepted cases' (`office`).
pub(crate) fn in_office<C: ColumnTrait>(unit_office: C, office: C, code: &str) -> sea_orm::Condition {
    sea_orm::Condition::any().add(unit_office.eq(code)).add(office.eq(code))
}

/// Emits one event of type `E` from deadline in the outbox of the current transaction.
pub(crate) async fn emit<E: Event, C: ConnectionTrait>(
    conn: &C,
    office: &str,
    unit: Option<&str>,
    aggregate_id: &str,
    data: &E::Data,
) -> Result<()> {
    outbox::emit::<E, C>(conn, SERVICE, office, unit, aggregate_id, data).await
}

/// Appends one entry to a clock's timeline.
pub(crate) async fn timeline<C: ConnectionTrait>(
    conn: &C,
    task_id: &str,
    at: DateTime<Utc>,
    kind: &str,
    actor: &str,
    note: impl Into<String>,
    due_at: Option<DateTime<Utc>>,
) -> Result<()> {
    clock_timeline::ActiveModel {
        id: Set(Uuid::now_v7().to_string()),
        task_id: Set(task_id.to_string()),
        at: Set(at),
        kind: Set(kind.to_string()),
        actor: Set(actor.to_string()),
        note: Set(note.into()),
        due_at: Set(due_at),
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// Deadline's state.
pub struct DeadlineService {
    db: DatabaseConnection,
    notifier: OutboxNotifier,
    settings: DeadlineSettings,
    calendar: RwLock<(i64, Arc<Calendar>)>,
    /// Wakes the engine when an alarm was scheduled in this process.
    wake: Arc<Notify>,
}

impl DeadlineService {
    pub fn new(db: DatabaseConnection, notifier: OutboxNotifier, settings: DeadlineSettings) -> Self {
        Self {
            db,
            notifier,
            settings,
            calendar: RwLock::new((-1, Arc::new(Calendar::embedded()))),
            wake: Arc::new(Notify::new()),
        }
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    pub fn settings(&self) -> &DeadlineSettings {
        &self.settings
    }

    pub(crate) fn thresholds(&self) -> domain::Thresholds {
        domain::Thresholds {
            warn_working_days: self.settings.warn_working_days,
            warn_percent: self.settings.warn_percent,
        }
    }

    /// Wakes the engine and the relay after a commit that scheduled alarms or enqueued events.
    pub(crate) fn committed(&self) {
        self.notifier.notify();
        self.wake.notify_one();
    }

    /// The calendar as stored now (the cached one unless planning's revision moved).
    pub async fn calendar<C: ConnectionTrait>(&self, conn: &C) -> Result<Arc<Calendar>> {
        let revision =
            calendar_state::Entity::find_by_id(1).one(conn).await?.map_or(0, |s: calendar_state::Model| s.revision);
        {
            let cached = self.calendar.read().map_err(|_| DeadlineError::corrupt("calendar lock"))?;
            if cached.0 == revision {
                return Ok(cached.1.clone());
            }
        }
        let calendar = Arc::new(load_calendar(conn).await?);
        let mut cached = self.calendar.write().map_err(|_| DeadlineError::corrupt("calendar lock"))?;
        *cached = (revision, calendar.clone());
        Ok(calendar)
    }

    /// Applies planning's `calendar.changed` to this copy, then recomputes the clocks the change may move.
    pub(crate) async fn on_calendar_changed(&self, txn: &DatabaseTransaction, change: &CalendarChange) -> Result<()> {
        let stored = calendar_state::Entity::find_by_id(1).one(txn).await?;
        if stored.as_ref().is_some_and(|s| s.revision >= change.revision) {
            return Ok(());
        }
        match &change.change {
            CalendarChangeKind::YearLoaded { year, schedule } => {
                let text = schedule.to_string();
                load_year_json(&text).map_err(|e| DeadlineError::corrupt(format!("year {year}: {e}")))?;
                calendar_year::Entity::insert(calendar_year::ActiveModel { year: Set(*year), schedule: Set(text) })
                    .on_conflict(
                        OnConflict::column(calendar_year::Column::Year)
                            .update_column(calendar_year::Column::Schedule)
                            .to_owned(),
                    )
                    .exec(txn)
                    .await?;
            }
            CalendarChangeKind::OverrideSet { day } => {
                let o = Override {
                    date: day.date,
                    working: day.working_day,
                    name: day.name.clone(),
                    reason: day.reason.clone(),
                };
                calendar_override::Entity::insert(calendar_override::ActiveModel {
                    date: Set(date_str(day.date)),
                    day: Set(json(&o)?),
                })
                .on_conflict(
                    OnConflict::column(calendar_override::Column::Date)
                        .update_column(calendar_override::Column::Day)
                        .to_owned(),
                )
                .exec(txn)
                .await?;
            }
            CalendarChangeKind::OverrideRemoved { date, .. } => {
                calendar_override::Entity::delete_by_id(date_str(*date)).exec(txn).await?;
            }
        }
        let row = calendar_state::ActiveModel { id: Set(1), revision: Set(change.revision) };
        if stored.is_some() {
            row.update(txn).await?;
        } else {
            row.insert(txn).await?;
        }
        let calendar = self.calendar(txn).await?;
        if let Some(first) = change.dates_changed.iter().min() {
            let moved = self.recompute_from(txn, &calendar, *first, change).await?;
            tracing::info!(revision = change.revision, clocks = moved, "calendar change applied");
        }
        Ok(())
    }

    /// Remembers a case's category (for monitoring) and stamps its clocks with it.
    pub(crate) async fn on_plan_published(&self, txn: &DatabaseTransaction, plan: &PlanPublished) -> Result<()> {
        let now = clock::now();
        case_info::Entity::insert(case_info::ActiveModel {
            case_id: Set(plan.case_id.to_string()),
            category: Set(plan.category),
            office: Set(plan.office.clone()),
            updated_at: Set(now),
        })
        .on_conflict(
            OnConflict::column(case_info::Column::CaseId)
                .update_columns([case_info::Column::Category, case_info::Column::UpdatedAt])
                .to_owned(),
        )
        .exec(txn)
        .await?;
        clock_e::Entity::update_many()
            .col_expr(clock_e::Column::Category, sea_orm::sea_query::Expr::value(plan.category))
            .filter(clock_e::Column::CaseId.eq(plan.case_id.to_string()))
            .exec(txn)
            .await?;
        // A re-plan may change an item's promised time in place (routing keeps the task): its clock follows.
        let open = clock_e::Entity::find()
            .filter(clock_e::Column::CaseId.eq(plan.case_id.to_string()))
            .filter(clock_e::Column::Status.is_in(ClockStatus::OPEN))
            .all(txn)
            .await?;
        if open.is_empty() {
            return Ok(());
        }
        let calendar = self.calendar(txn).await?;
        for c in open {
            let Some(item) = plan.items.iter().find(|i| i.code == c.code) else { continue };
            if item.promised_working_days as i32 == c.promised_working_days {
                continue;
            }
            let note = format!(
                "代办方案第 {} 版调整承诺时限：{} → {} 个工作日",
                plan.version, c.promised_working_days, item.promised_working_days
            );
            let mut active: clock_e::ActiveModel = c.into();
            active.promised_working_days = Set(item.promised_working_days as i32);
            let c = active.update(txn).await?;
            if c.started_at.is_some() {
                let c = self.reschedule(txn, &calendar, c, now, "replanned", &plan.published_by, note).await?;
                self.announce(txn, &calendar, &c, "replanned", now).await?;
            } else {
                timeline(txn, &c.task_id, now, "replanned", &plan.published_by, note, None).await?;
            }
        }
        Ok(())
    }

    /// The case's new specialist follows its clocks (warnings reach the right person).
    pub(crate) async fn on_specialist_changed(
        &self,
        txn: &DatabaseTransaction,
        data: &SpecialistChanged,
    ) -> Result<()> {
        clock_e::Entity::update_many()
            .col_expr(clock_e::Column::SpecialistId, sea_orm::sea_query::Expr::value(data.to_specialist.clone()))
            .filter(clock_e::Column::CaseId.eq(data.case_id.to_string()))
            .exec(txn)
            .await?;
        Ok(())
    }
}

/// The embedded schedules, then the years and overrides deadline has stored.
async fn load_calendar<C: ConnectionTrait>(conn: &C) -> Result<Calendar> {
    let mut calendar = Calendar::embedded();
    for y in calendar_year::Entity::find().all(conn).await? {
        let schedule =
            load_year_json(&y.schedule).map_err(|e| DeadlineError::corrupt(format!("year {}: {e}", y.year)))?;
        calendar.insert_year(schedule);
    }
    for o in calendar_override::Entity::find().all(conn).await? {
        calendar.set_override(from_json::<Override>("calendar_override.day", &o.day)?);
    }
    Ok(calendar)
}

/// Follows routing's task events, planning's plans and calendar, and intake's specialist changes.
pub struct Follower {
    pub service: Arc<DeadlineService>,
}

/// The task events routing publishes (deadline's own `task.warning`, `task.overdue` and `task.clock_changed`
/// travel on the same subjects and are not followed).
pub const ROUTING_TASK_EVENTS: [EventType; 11] = [
    EventType::TASK_DISPATCHED,
    EventType::TASK_RECEIVED,
    EventType::TASK_IN_REVIEW,
    EventType::TASK_SUPPLEMENT_REQUESTED,
    EventType::TASK_SUPPLEMENTED,
    EventType::TASK_APPROVED,
    EventType::TASK_REJECTED,
    EventType::TASK_RESULT_COLLECTED,
    EventType::TASK_WITHDRAWN,
    EventType::TASK_LINK_ACKNOWLEDGED,
    EventType::TASK_LINK_REPORTED,
];

impl EventHandler for Follower {
    async fn handle(&self, txn: &DatabaseTransaction, _subject: &str, event: &CloudEvent) -> Result<(), HandlerError> {
        use events::{
            CalendarChanged, CaseSpecialistChanged, TaskApproved, TaskDispatched, TaskInReview, TaskLinkAcknowledged,
            TaskLinkReported, TaskReceived, TaskRejected, TaskResultCollected, TaskSupplementRequested,
            TaskSupplemented, TaskWithdrawn,
        };
        let s = &self.service;
        bangban_platform::dispatch!(event, {
            TaskDispatched
            | TaskReceived
            | TaskInReview
            | TaskSupplementRequested
            | TaskSupplemented
            | TaskApproved
            | TaskRejected
            | TaskResultCollected
            | TaskWithdrawn
            | TaskLinkAcknowledged
            | TaskLinkReported => |task, t| Ok(s.on_task_event(txn, t, &event.id, &task).await?),
            events::PlanPublished => |plan| Ok(s.on_plan_published(txn, &plan).await?),
            CaseSpecialistChanged => |change| Ok(s.on_specialist_changed(txn, &change).await?),
            CalendarChanged => |change| Ok(s.on_calendar_changed(txn, &change).await?),
        })
    }

    fn committed(&self) {
        self.service.committed();
    }
}

impl Service for DeadlineService {
    const NAME: &'static str = SERVICE;
    const DESCRIPTION: &'static str = "限时办结与督办 / deadline";
    type Migrator = Migrator;
    type Settings = DeadlineSettings;

    async fn build(ctx: &Context<'_>, settings: DeadlineSettings) -> anyhow::Result<Arc<Self>> {
        Ok(Arc::new(DeadlineService::new(ctx.db.clone(), ctx.notifier.clone(), settings)))
    }

    async fn endpoints(ep: &mut Endpoints<'_, Self>) -> Result<(), async_nats::Error> {
        handlers::register(ep).await
    }

    /// The alarm engine, and the consumers of task events, plans, the calendar and specialist changes (their
    /// durable names are those of existing deployments).
    fn run(self: &Arc<Self>, ctx: &Context<'_>) -> anyhow::Result<()> {
        let service = self.clone();
        ctx.spawn(move |token| engine::run(service, token));
        for (name, filter) in [
            ("deadline-tasks", EventType::TASK_DISPATCHED.aggregate_filter_all_offices()),
            ("deadline-plans", EventType::PLAN_PUBLISHED.filter_all_offices()),
            ("deadline-calendar", EventType::CALENDAR_CHANGED.filter_all_offices()),
            ("deadline-specialists", EventType::CASE_SPECIALIST_CHANGED.filter_all_offices()),
        ] {
            ctx.consume(name, filter, Arc::new(Follower { service: self.clone() }));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Does the NATS subject filter `filter` match `subject` (`*`: one token, `>`: the rest)?
    fn matches(filter: &str, subject: &str) -> bool {
        let (mut f, mut s) = (filter.split('.'), subject.split('.'));
        loop {
            match (f.next(), s.next()) {
                (Some(">"), Some(_)) => return true,
                (Some("*"), Some(_)) => {}
                (Some(a), Some(b)) if a == b => {}
                (None, None) => return true,
                _ => return false,
            }
        }
    }

    #[test]
    fn the_task_filter_takes_every_routing_task_event() {
        let filter = EventType::TASK_DISPATCHED.aggregate_filter_all_offices();
        assert_eq!(filter, "bb.evt.*.task.>");
        for t in ROUTING_TASK_EVENTS {
            let subject = t.subject("371625", Some("371625-XZSP")).unwrap().to_string();
            assert!(matches(&filter, &subject), "{subject} not under {filter}");
        }
        let plan = EventType::PLAN_PUBLISHED.subject("371625", None).unwrap().to_string();
        assert!(!matches(&filter, &plan));
    }
}
