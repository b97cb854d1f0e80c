//! Evaluation (评价 §8.2, the national 政务服务"好差评" practice): one matter, one evaluation.
//!
//! - **Invitations** ([`ratings`]): when a task concludes (rejected, or approved and its result collected) the
//!   applicant is invited to rate that item; when the case's results are delivered, the whole service. Each
//!   invitation has a one-time code (only its hash is stored); the link travels encrypted in
//!   `evaluation.invited` and notification texts it.
//! - **Ratings**: five levels, comment, tags, channel; one per matter, append-only; only the case's applicant
//!   (signed in, or with the code at a window terminal or through the SMS link).
//! - **Bad reviews** ([`rectify`]): the two lowest levels open a rectification for the unit or the specialist;
//!   contact within a working day, fix and answer within 15, then the applicant rates the fix; late ones are
//!   escalated to the supervisors. Staff may appeal a rating; an office admin decides; upheld appeals leave the
//!   assessment.
//! - **Assessment and statistics** ([`assessment`], §8.2.1): per specialist, unit and office over a period.

pub mod assessment;
pub mod entity;
pub mod error;
pub mod handlers;
pub mod ratings;
pub mod rectify;
pub mod settings;

use std::sync::Arc;

use bangban_contracts::{
    CloudEvent, Event, EventType,
    evaluation::SERVICE,
    intake::{CaseAccepted, CaseTerminated, SpecialistChanged},
    planning::PlanPublished,
    routing::TaskEvent,
};
use bangban_evaluation_migration::Migrator;
use bangban_platform::{
    consumer::{EventHandler, HandlerError},
    outbox::{self, OutboxNotifier},
    pii::PiiCipher,
    rpc::Endpoints,
    service::{Context, Service},
};
use bangban_workdays::{Calendar, shanghai};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    EntityTrait, QueryFilter, sea_query::OnConflict,
};
use tokio::sync::Notify;

pub use crate::settings::EvaluationSettings;
use crate::{
    entity::{
        case_info,
        task_info::{self, TaskOutcome},
    },
    error::{EvaluationError, Result},
};

/// Microseconds since the epoch.
pub fn us(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

/// The calendar day of an instant in Beijing.
pub fn local_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&shanghai()).date_naive()
}

/// 00:00 Beijing time of a day, as an instant.
pub fn day_start(d: NaiveDate) -> DateTime<Utc> {
    d.and_hms_opt(0, 0, 0)
        .and_then(|t| t.and_local_timezone(shanghai()).single())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

pub(crate) fn json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| EvaluationError::corrupt(e.to_string()))
}

pub(crate) fn uuid(s: &str) -> Result<uuid::Uuid> {
    uuid::Uuid::parse_str(s).map_err(|_| EvaluationError::corrupt(format!("id {s:?}")))
}

/// Emits `E` on `bb.evt.<office>.<aggregate>.<event>` in the current transaction.
pub(crate) async fn emit<E: Event, C: ConnectionTrait>(
    conn: &C,
    office: &str,
    aggregate_id: &str,
    data: &E::Data,
) -> Result<()> {
    outbox::emit::<E, _>(conn, SERVICE, office, None, aggregate_id, data).await
}

/// Evaluation's state.
pub struct EvaluationService {
    db: DatabaseConnection,
    notifier: OutboxNotifier,
    pii: PiiCipher,
    settings: EvaluationSettings,
    link_base: String,
    calendar: Calendar,
    wake: Notify,
}

impl EvaluationService {
    pub fn new(
        db: DatabaseConnection,
        notifier: OutboxNotifier,
        pii: PiiCipher,
        settings: EvaluationSettings,
        link_base: String,
    ) -> Self {
        Self {
            db,
            notifier,
            pii,
            settings,
            link_base: link_base.trim_end_matches('/').to_string(),
            calendar: Calendar::embedded(),
            wake: Notify::new(),
        }
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    pub(crate) fn committed(&self) {
        self.notifier.notify();
        self.wake.notify_one();
    }

    async fn on_case_accepted(&self, txn: &DatabaseTransaction, d: CaseAccepted) -> Result<()> {
        case_info::Entity::insert(case_info::ActiveModel {
            case_id: Set(d.case_id.to_string()),
            ledger_no: Set(d.ledger_no),
            office: Set(d.office),
            applicant_id: Set(d.applicant_id.to_string()),
            specialist_id: Set(d.specialist_id),
            service_type: Set(d.service_type),
            category: Set(Some(d.project.category)),
            terminated: Set(false),
        })
        .on_conflict(OnConflict::column(case_info::Column::CaseId).do_nothing().to_owned())
        .exec_without_returning(txn)
        .await?;
        Ok(())
    }

    async fn on_specialist_changed(&self, txn: &DatabaseTransaction, d: SpecialistChanged) -> Result<()> {
        if let Some(c) = case_info::Entity::find_by_id(d.case_id.to_string()).one(txn).await? {
            let mut c: case_info::ActiveModel = c.into();
            c.specialist_id = Set(d.to_specialist);
            c.update(txn).await?;
        }
        Ok(())
    }

    async fn on_case_terminated(&self, txn: &DatabaseTransaction, d: CaseTerminated) -> Result<()> {
        if let Some(c) = case_info::Entity::find_by_id(d.case_id.to_string()).one(txn).await? {
            let mut c: case_info::ActiveModel = c.into();
            c.terminated = Set(true);
            c.update(txn).await?;
        }
        Ok(())
    }

    async fn on_plan_published(&self, txn: &DatabaseTransaction, d: PlanPublished) -> Result<()> {
        if let Some(c) = case_info::Entity::find_by_id(d.case_id.to_string()).one(txn).await? {
            let mut c: case_info::ActiveModel = c.into();
            c.category = Set(Some(d.category));
            c.update(txn).await?;
        }
        Ok(())
    }

    async fn on_task_overdue(&self, txn: &DatabaseTransaction, task_id: uuid::Uuid) -> Result<()> {
        task_info::Entity::update_many()
            .col_expr(task_info::Column::Overdue, sea_orm::sea_query::Expr::value(true))
            .filter(task_info::Column::TaskId.eq(task_id.to_string()))
            .exec(txn)
            .await?;
        Ok(())
    }

    /// Keeps what assessment needs of a task; a rejection, or a collected result, invites the applicant.
    async fn on_task(&self, txn: &DatabaseTransaction, t: EventType, d: &TaskEvent) -> Result<()> {
        let existing = task_info::Entity::find_by_id(d.task_id.to_string()).one(txn).await?;
        let mut row: task_info::ActiveModel = match existing.clone() {
            Some(m) => m.into(),
            None => task_info::ActiveModel {
                task_id: Set(d.task_id.to_string()),
                overdue: Set(false),
                concluded_at: Set(None),
                outcome: Set(None),
                working_days: Set(None),
                ..Default::default()
            },
        };
        row.case_id = Set(d.case_id.to_string());
        row.code = Set(d.code.clone());
        row.name = Set(d.name.clone());
        row.stage = Set(d.stage);
        row.unit_code = Set(d.unit_code.clone());
        row.unit_name = Set(d.unit_name.clone().or_else(|| existing.as_ref().and_then(|e| e.unit_name.clone())));
        row.unit_office = Set(d.unit_office.clone());
        row.promised_working_days = Set(d.promised_working_days as i32);
        row.received_at = Set(d.received_at);
        let concluded = t == EventType::TASK_APPROVED || t == EventType::TASK_REJECTED;
        if concluded && existing.as_ref().is_none_or(|e| e.concluded_at.is_none()) {
            row.concluded_at = Set(Some(d.at));
            row.outcome =
                Set(Some(if t == EventType::TASK_APPROVED { TaskOutcome::Approved } else { TaskOutcome::Rejected }));
            row.working_days = Set(d
                .received_at
                .map(|r| self.calendar.working_days_between(local_date(r), local_date(d.at)).value as i32));
        }
        let m = if existing.is_some() { row.update(txn).await? } else { row.insert(txn).await? };
        if t == EventType::TASK_REJECTED || t == EventType::TASK_RESULT_COLLECTED {
            self.invite_task(txn, &m).await?;
        }
        Ok(())
    }
}

/// Follows cases, plans and tasks.
pub struct Follower {
    pub service: Arc<EvaluationService>,
}

impl EventHandler for Follower {
    async fn handle(&self, txn: &DatabaseTransaction, _subject: &str, event: &CloudEvent) -> Result<(), HandlerError> {
        use bangban_contracts::events as e;
        let s = &self.service;
        bangban_platform::dispatch!(event, {
            e::CaseAccepted => |d| Ok(s.on_case_accepted(txn, d).await?),
            e::CaseSpecialistChanged => |d| Ok(s.on_specialist_changed(txn, d).await?),
            e::CaseTerminated => |d| Ok(s.on_case_terminated(txn, d).await?),
            e::CaseResultsDelivered => |d| Ok(s.invite_case(txn, d.case_id).await?),
            e::PlanPublished => |d| Ok(s.on_plan_published(txn, d).await?),
            e::TaskOverdue => |d| Ok(s.on_task_overdue(txn, d.task_id).await?),
            e::TaskDispatched | e::TaskReceived | e::TaskInReview | e::TaskSupplementRequested | e::TaskSupplemented
                | e::TaskApproved | e::TaskRejected | e::TaskResultCollected | e::TaskWithdrawn
                => |d, t| Ok(s.on_task(txn, t, &d).await?),
        })
    }

    fn committed(&self) {
        self.service.committed();
    }
}

impl Service for EvaluationService {
    const NAME: &'static str = SERVICE;
    const DESCRIPTION: &'static str = "评价 / evaluation";
    const KEEPS_PERSONAL_DATA: bool = true;
    type Migrator = Migrator;
    type Settings = EvaluationSettings;

    async fn build(ctx: &Context<'_>, settings: EvaluationSettings) -> anyhow::Result<Arc<Self>> {
        let link_base = settings.link_base.clone().unwrap_or_else(|| ctx.settings.public_url());
        let pii = bangban_platform::pii::cipher_from_settings(ctx.settings)?;
        Ok(Arc::new(Self::new(ctx.db.clone(), ctx.notifier.clone(), pii, settings, link_base)))
    }

    async fn endpoints(ep: &mut Endpoints<'_, Self>) -> Result<(), async_nats::Error> {
        handlers::endpoints(ep).await
    }

    /// The scan for late rectifications and default ratings, and the consumers of cases, plans and tasks.
    fn run(self: &Arc<Self>, ctx: &Context<'_>) -> anyhow::Result<()> {
        let service = self.clone();
        ctx.spawn(move |token| rectify::run(service, token));
        for (name, filter) in [
            ("evaluation-cases", EventType::CASE_ACCEPTED.aggregate_filter_all_offices()),
            ("evaluation-plans", EventType::PLAN_PUBLISHED.filter_all_offices()),
            ("evaluation-tasks", EventType::TASK_DISPATCHED.aggregate_filter_all_offices()),
        ] {
            ctx.consume(name, filter, Arc::new(Follower { service: self.clone() }));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_consumers_follow_every_event_of_their_aggregate() {
        assert_eq!(EventType::CASE_ACCEPTED.aggregate_filter_all_offices(), "bb.evt.*.case.>");
        assert_eq!(EventType::TASK_DISPATCHED.aggregate_filter_all_offices(), "bb.evt.*.task.>");
    }
}
