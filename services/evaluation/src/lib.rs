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

use std::sync::Arc;

use bangban_contracts::{
    CloudEvent, EventType,
    deadline::ClockAlarm,
    evaluation::SERVICE,
    intake::{CaseAccepted, CaseTerminated, SpecialistChanged, results::CaseResultsDelivered},
    planning::PlanPublished,
    routing::TaskEvent,
};
use bangban_evaluation_migration::Migrator;
use bangban_platform::{
    Settings,
    consumer::{ConsumerSpec, EventHandler, HandlerError},
    db::{self, DbTarget},
    evaluation_settings::EvaluationSettings,
    outbox::{self, OutboxNotifier, Relay},
    pii::PiiCipher,
    rpc,
    shutdown::Shutdown,
};
use bangban_workdays::{Calendar, shanghai};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    EntityTrait, QueryFilter, sea_query::OnConflict,
};
use tokio::sync::Notify;

use crate::{
    entity::{case_info, task_info},
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

/// Enqueues one event on `bb.evt.<office>.<aggregate>.<event>` in the current transaction.
pub(crate) async fn enqueue<C: ConnectionTrait, T: serde::Serialize>(
    conn: &C,
    t: EventType,
    office: &str,
    aggregate_id: &str,
    data: &T,
) -> Result<()> {
    outbox::emit(conn, SERVICE, t, office, None, aggregate_id, data).await
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

    async fn on_event(&self, txn: &DatabaseTransaction, t: EventType, event: &CloudEvent) -> Result<()> {
        let data = |e: bangban_contracts::EnvelopeError| EvaluationError::Event(e.to_string());
        if t == EventType::CASE_ACCEPTED {
            let d: CaseAccepted = event.data_as().map_err(data)?;
            case_info::Entity::insert(case_info::ActiveModel {
                case_id: Set(d.case_id.to_string()),
                ledger_no: Set(d.ledger_no),
                office: Set(d.office),
                applicant_id: Set(d.applicant_id.to_string()),
                specialist_id: Set(d.specialist_id),
                service_type: Set(d.service_type.as_str().into()),
                category: Set(Some(d.project.category.as_str().into())),
                terminated: Set(false),
            })
            .on_conflict(OnConflict::column(case_info::Column::CaseId).do_nothing().to_owned())
            .exec_without_returning(txn)
            .await?;
        } else if t == EventType::CASE_SPECIALIST_CHANGED {
            let d: SpecialistChanged = event.data_as().map_err(data)?;
            if let Some(c) = case_info::Entity::find_by_id(d.case_id.to_string()).one(txn).await? {
                let mut c: case_info::ActiveModel = c.into();
                c.specialist_id = Set(d.to_specialist);
                c.update(txn).await?;
            }
        } else if t == EventType::CASE_TERMINATED {
            let d: CaseTerminated = event.data_as().map_err(data)?;
            if let Some(c) = case_info::Entity::find_by_id(d.case_id.to_string()).one(txn).await? {
                let mut c: case_info::ActiveModel = c.into();
                c.terminated = Set(true);
                c.update(txn).await?;
            }
        } else if t == EventType::CASE_RESULTS_DELIVERED {
            let d: CaseResultsDelivered = event.data_as().map_err(data)?;
            self.invite_case(txn, d.case_id).await?;
        } else if t == EventType::PLAN_PUBLISHED {
            let d: PlanPublished = event.data_as().map_err(data)?;
            if let Some(c) = case_info::Entity::find_by_id(d.case_id.to_string()).one(txn).await? {
                let mut c: case_info::ActiveModel = c.into();
                c.category = Set(Some(d.category.as_str().into()));
                c.update(txn).await?;
            }
        } else if t == EventType::TASK_OVERDUE {
            let d: ClockAlarm = event.data_as().map_err(data)?;
            task_info::Entity::update_many()
                .col_expr(task_info::Column::Overdue, sea_orm::sea_query::Expr::value(true))
                .filter(task_info::Column::TaskId.eq(d.task_id.to_string()))
                .exec(txn)
                .await?;
        } else if is_routing_task_event(t) {
            let d: TaskEvent = event.data_as().map_err(data)?;
            self.on_task(txn, t, &d).await?;
        }
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
        row.stage = Set(d.stage.as_str().into());
        row.unit_code = Set(d.unit_code.clone());
        row.unit_name = Set(d.unit_name.clone().or_else(|| existing.as_ref().and_then(|e| e.unit_name.clone())));
        row.unit_office = Set(d.unit_office.clone());
        row.promised_working_days = Set(d.promised_working_days as i32);
        row.received_at = Set(d.received_at);
        let concluded = t == EventType::TASK_APPROVED || t == EventType::TASK_REJECTED;
        if concluded && existing.as_ref().is_none_or(|e| e.concluded_at.is_none()) {
            row.concluded_at = Set(Some(d.at));
            row.outcome = Set(Some(if t == EventType::TASK_APPROVED { "approved" } else { "rejected" }.into()));
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

fn is_routing_task_event(t: EventType) -> bool {
    [
        EventType::TASK_DISPATCHED,
        EventType::TASK_RECEIVED,
        EventType::TASK_IN_REVIEW,
        EventType::TASK_SUPPLEMENT_REQUESTED,
        EventType::TASK_SUPPLEMENTED,
        EventType::TASK_APPROVED,
        EventType::TASK_REJECTED,
        EventType::TASK_RESULT_COLLECTED,
        EventType::TASK_WITHDRAWN,
    ]
    .contains(&t)
}

/// Follows cases, plans and tasks.
pub struct Follower {
    pub service: Arc<EvaluationService>,
}

impl EventHandler for Follower {
    async fn handle(&self, txn: &DatabaseTransaction, _subject: &str, event: &CloudEvent) -> Result<(), HandlerError> {
        let Some(t) = event.event_type() else { return Ok(()) };
        self.service.on_event(txn, t, event).await?;
        Ok(())
    }

    fn committed(&self) {
        self.service.committed();
    }
}

/// Evaluation running in this process.
pub struct Running {
    pub service: Arc<EvaluationService>,
    pub db: DatabaseConnection,
}

/// Connects evaluation's database (migrating it), then as [`start_with_db`].
pub async fn start(settings: &Settings, client: async_nats::Client, shutdown: &Shutdown) -> anyhow::Result<Running> {
    let target = DbTarget::for_service(settings, SERVICE)?;
    tracing::info!(db = %target.describe(), "evaluation: connecting database");
    let db = db::connect_for_service::<Migrator>(&target, &settings.database).await?;
    start_with_db(settings, client, db, shutdown).await
}

/// Starts the outbox relay, the scan, the bus endpoints and the consumers.
pub async fn start_with_db(
    settings: &Settings,
    client: async_nats::Client,
    db: DatabaseConnection,
    shutdown: &Shutdown,
) -> anyhow::Result<Running> {
    let s = settings.evaluation.clone();
    if !(1..=5).contains(&s.default_level) {
        anyhow::bail!("BANGBAN__EVALUATION__DEFAULT_LEVEL must be 1 to 5");
    }
    if s.rectification_working_days == 0 || s.contact_working_days == 0 {
        anyhow::bail!("BANGBAN__EVALUATION__CONTACT_WORKING_DAYS and RECTIFICATION_WORKING_DAYS must be at least 1");
    }
    let link_base = s.link_base.clone().unwrap_or_else(|| settings.public_url());
    let pii = bangban_platform::pii::cipher_from_settings(settings)?;
    let notifier = OutboxNotifier::new();
    let service = Arc::new(EvaluationService::new(db.clone(), notifier.clone(), pii, s, link_base));
    let relay = Relay::new(SERVICE, db.clone(), client.clone(), notifier, settings.outbox.clone());
    shutdown.spawn(relay.run(shutdown.token()));
    shutdown.spawn(rectify::run(service.clone(), shutdown.token()));
    let nats_service = rpc::start_service(&client, SERVICE, "评价 / evaluation")
        .await
        .map_err(|e| anyhow::anyhow!("starting NATS service: {e}"))?;
    let handles = handlers::serve_all(&nats_service, service.clone(), shutdown.token())
        .await
        .map_err(|e| anyhow::anyhow!("adding endpoints: {e}"))?;
    for (name, filter) in [
        ("evaluation-cases", "bb.evt.*.case.>".to_string()),
        ("evaluation-plans", EventType::PLAN_PUBLISHED.filter_all_offices()),
        ("evaluation-tasks", "bb.evt.*.task.>".to_string()),
    ] {
        let spec = ConsumerSpec { name: name.to_string(), filter_subject: filter, settings: settings.consumer.clone() };
        let follower = Arc::new(Follower { service: service.clone() });
        bangban_platform::consumer::spawn(shutdown, client.clone(), db.clone(), spec, follower);
    }
    shutdown.spawn(async move {
        for h in handles {
            let _ = h.await;
        }
        let _ = nats_service.stop().await;
    });
    tracing::info!("evaluation started");
    Ok(Running { service, db })
}
