//! Intake (受理): consultations, applicants, projects and cases of the ledger (台账), from the first
//! contact to the archive (§4.1, §4.2, §7.1, §7.2, §7.6–§7.8 of DB3716/T 2—2022).
//!
//! A service is a library: [`IntakeService`] holds the operations, [`start`] wires them to the bus
//! and starts the outbox relay; `main.rs` only parses configuration.

pub mod domain;
pub mod entity;
pub mod error;
pub mod handlers;
pub mod seed;

use std::sync::Arc;

use bangban_contracts::{
    CloudEvent, EventType,
    intake::{
        ApplicantKind, ApplicantView, CaseAccepted, CaseStatus, CaseView, CreateCase, ListStaff, OfficeLevel,
        OfficeView, ProjectCategory, ProjectView, SERVICE, ServiceType, StaffView,
    },
};
pub use bangban_intake_migration::Migrator;
use bangban_platform::{
    Settings,
    db::{self, DbTarget},
    outbox::{self, OutboxNotifier, Relay},
    rpc,
    shutdown::Shutdown,
};
use chrono::{SubsecRound, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, Statement, TransactionTrait, Value,
};
use uuid::Uuid;

use crate::{
    domain::{ledger, validation},
    entity::{applicant, cases, office, project, staff},
    error::{IntakeError, Result},
};

/// Intake's operations over its own schema.
pub struct IntakeService {
    db: DatabaseConnection,
    notifier: OutboxNotifier,
}

impl IntakeService {
    pub fn new(db: DatabaseConnection, notifier: OutboxNotifier) -> Self {
        Self { db, notifier }
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Accepts a case (受理): applicant, project, ledger entry and `case.accepted`, in one transaction.
    #[tracing::instrument(skip_all, fields(office = %req.case.office, case.id = tracing::field::Empty, ledger_no = tracing::field::Empty))]
    pub async fn create_case(&self, req: CreateCase) -> Result<CaseView> {
        let CreateCase { actor, case } = req;
        let errors = validation::validate_new_case(&case);
        if !errors.is_empty() {
            return Err(IntakeError::Validation(errors));
        }
        if !validation::may_accept_for(&actor, &case.office) {
            return Err(IntakeError::OfficeForbidden { actor: actor.sub, office: case.office });
        }
        // Microseconds: what both databases keep, so the reply equals what a later read returns.
        let now = Utc::now().trunc_subsecs(6);
        let case_id = Uuid::now_v7();
        let applicant_id = Uuid::now_v7();
        let project_id = Uuid::now_v7();

        let txn = self.db.begin().await?;
        let year = ledger::ledger_year(now);
        let sequence = next_ledger_sequence(&txn, &case.office, year).await?;
        let ledger_no = ledger::ledger_number(&case.office, year, sequence);

        applicant::Entity::insert(applicant::ActiveModel {
            id: Set(applicant_id.to_string()),
            kind: Set(case.applicant.kind.as_str().to_string()),
            name: Set(case.applicant.name.trim().to_string()),
            created_at: Set(now),
        })
        .exec_without_returning(&txn)
        .await?;
        project::Entity::insert(project::ActiveModel {
            id: Set(project_id.to_string()),
            name: Set(case.project.name.trim().to_string()),
            category: Set(case.project.category.as_str().to_string()),
            office: Set(case.project.office.clone()),
            created_at: Set(now),
        })
        .exec_without_returning(&txn)
        .await?;
        cases::Entity::insert(cases::ActiveModel {
            id: Set(case_id.to_string()),
            ledger_no: Set(ledger_no.clone()),
            service_type: Set(case.service_type.as_str().to_string()),
            status: Set(CaseStatus::Accepted.as_str().to_string()),
            office: Set(case.office.clone()),
            applicant_id: Set(applicant_id.to_string()),
            project_id: Set(project_id.to_string()),
            created_by: Set(actor.sub.clone()),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .exec_without_returning(&txn)
        .await?;

        let view = CaseView {
            id: case_id,
            ledger_no: ledger_no.clone(),
            service_type: case.service_type,
            status: CaseStatus::Accepted,
            office: case.office.clone(),
            applicant: ApplicantView {
                id: applicant_id,
                kind: case.applicant.kind,
                name: case.applicant.name.trim().into(),
            },
            project: ProjectView {
                id: project_id,
                name: case.project.name.trim().into(),
                category: case.project.category,
                office: case.project.office.clone(),
            },
            created_by: actor.sub.clone(),
            created_at: now,
            updated_at: now,
        };
        publish_case_accepted(&txn, &view).await?;
        txn.commit().await?;
        self.notifier.notify();

        let span = tracing::Span::current();
        span.record("case.id", tracing::field::display(case_id));
        span.record("ledger_no", ledger_no.as_str());
        tracing::info!("case accepted");
        Ok(view)
    }

    /// Every office, city first.
    pub async fn list_offices(&self) -> Result<Vec<OfficeView>> {
        let rows = office::Entity::find().order_by_asc(office::Column::Code).all(&self.db).await?;
        Ok(rows
            .into_iter()
            .map(|o| OfficeView {
                level: if o.level == "city" { OfficeLevel::City } else { OfficeLevel::County },
                code: o.code,
                name: o.name,
                address: o.address,
                phone: o.phone,
            })
            .collect())
    }

    /// Active staff, by office and role when asked.
    pub async fn list_staff(&self, filter: ListStaff) -> Result<Vec<StaffView>> {
        let mut q = staff::Entity::find().filter(staff::Column::Active.eq(true));
        if let Some(office) = filter.office {
            q = q.filter(staff::Column::Office.eq(office));
        }
        if let Some(role) = filter.role {
            q = q.filter(staff::Column::Role.eq(role));
        }
        let rows = q.order_by_asc(staff::Column::Office).order_by_asc(staff::Column::Number).all(&self.db).await?;
        Ok(rows.into_iter().map(staff_view).collect())
    }

    /// Reads one case with its applicant and project.
    #[tracing::instrument(skip(self))]
    pub async fn get_case(&self, id: Uuid) -> Result<CaseView> {
        let row = cases::Entity::find_by_id(id.to_string())
            .one(&self.db)
            .await?
            .ok_or_else(|| IntakeError::CaseNotFound(id.to_string()))?;
        let a = applicant::Entity::find_by_id(row.applicant_id.clone())
            .one(&self.db)
            .await?
            .ok_or_else(|| IntakeError::Corrupt(format!("case {id} without applicant")))?;
        let p = project::Entity::find_by_id(row.project_id.clone())
            .one(&self.db)
            .await?
            .ok_or_else(|| IntakeError::Corrupt(format!("case {id} without project")))?;
        to_view(row, a, p)
    }
}

/// What others see of a member of staff.
pub fn staff_view(s: staff::Model) -> StaffView {
    StaffView {
        service_items: serde_json::from_str(&s.service_items).unwrap_or_default(),
        id: s.id,
        name: s.name,
        role: s.role,
        office: s.office,
        unit: s.unit,
        number: s.number,
        position: s.position,
        phone: s.phone,
        photo_url: s.photo_url,
        active: s.active,
    }
}

fn parse<T>(what: &str, value: &str, f: impl Fn(&str) -> Option<T>) -> Result<T> {
    f(value).ok_or_else(|| IntakeError::Corrupt(format!("{what} {value:?}")))
}

fn parse_uuid(value: &str) -> Result<Uuid> {
    Uuid::parse_str(value).map_err(|_| IntakeError::Corrupt(format!("id {value:?}")))
}

fn to_view(c: cases::Model, a: applicant::Model, p: project::Model) -> Result<CaseView> {
    Ok(CaseView {
        id: parse_uuid(&c.id)?,
        ledger_no: c.ledger_no,
        service_type: parse("service type", &c.service_type, |s| match s {
            "assist" => Some(ServiceType::Assist),
            "commission" => Some(ServiceType::Commission),
            _ => None,
        })?,
        status: parse("status", &c.status, CaseStatus::parse)?,
        office: c.office,
        applicant: ApplicantView {
            id: parse_uuid(&a.id)?,
            kind: parse("applicant kind", &a.kind, |s| {
                serde_json::from_value::<ApplicantKind>(serde_json::Value::from(s)).ok()
            })?,
            name: a.name,
        },
        project: ProjectView {
            id: parse_uuid(&p.id)?,
            name: p.name,
            category: parse("category", &p.category, ProjectCategory::parse)?,
            office: p.office,
        },
        created_by: c.created_by,
        created_at: c.created_at,
        updated_at: c.updated_at,
    })
}

/// Takes the next ledger number of `office` in `year`. The row lock of the UPDATE serialises
/// concurrent acceptances on PostgreSQL; SQLite serialises writers anyway.
async fn next_ledger_sequence(txn: &DatabaseTransaction, office: &str, year: i32) -> Result<i64> {
    let backend = txn.get_database_backend();
    let (p1, p2) = match backend {
        sea_orm::DbBackend::Postgres => ("$1", "$2"),
        _ => ("?", "?"),
    };
    txn.execute_raw(Statement::from_sql_and_values(
        backend,
        format!("INSERT INTO ledger_sequence (office, year, last) VALUES ({p1}, {p2}, 0) ON CONFLICT (office, year) DO NOTHING"),
        [Value::from(office.to_string()), Value::from(year)],
    ))
    .await?;
    let row = txn
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            format!("UPDATE ledger_sequence SET last = last + 1 WHERE office = {p1} AND year = {p2} RETURNING last"),
            [Value::from(office.to_string()), Value::from(year)],
        ))
        .await?
        .ok_or_else(|| IntakeError::Corrupt("ledger sequence row missing".into()))?;
    Ok(row.try_get::<i64>("", "last")?)
}

async fn publish_case_accepted(txn: &DatabaseTransaction, view: &CaseView) -> Result<()> {
    let data = CaseAccepted {
        case_id: view.id,
        ledger_no: view.ledger_no.clone(),
        service_type: view.service_type,
        office: view.office.clone(),
        applicant_id: view.applicant.id,
        applicant_kind: view.applicant.kind,
        project: view.project.clone(),
        accepted_by: view.created_by.clone(),
        accepted_at: view.created_at,
    };
    let event = CloudEvent::new(EventType::CASE_ACCEPTED, SERVICE, view.id.to_string(), &data)
        .map_err(|e| IntakeError::Event(e.to_string()))?;
    let subject =
        EventType::CASE_ACCEPTED.subject(&view.office, None).map_err(|e| IntakeError::Event(e.to_string()))?;
    outbox::enqueue(txn, &subject, &event).await?;
    Ok(())
}

/// Intake running in this process: the service, its database and its background tasks.
pub struct Running {
    pub service: Arc<IntakeService>,
    pub db: DatabaseConnection,
}

/// Connects intake's database (migrating it), starts its outbox relay and its bus endpoints.
pub async fn start(settings: &Settings, client: async_nats::Client, shutdown: &Shutdown) -> anyhow::Result<Running> {
    let target = DbTarget::for_service(settings, SERVICE)?;
    tracing::info!(db = %target.describe(), "intake: connecting database");
    let db = db::connect_and_migrate::<Migrator>(&target, settings.database.max_connections).await?;
    start_with_db(settings, client, db, shutdown).await
}

/// As [`start`] with an already connected and migrated database (tests).
pub async fn start_with_db(
    settings: &Settings,
    client: async_nats::Client,
    db: DatabaseConnection,
    shutdown: &Shutdown,
) -> anyhow::Result<Running> {
    let notifier = OutboxNotifier::new();
    let relay = Relay::new(SERVICE, db.clone(), client.clone(), notifier.clone(), settings.outbox.clone());
    shutdown.spawn(relay.run(shutdown.token()));

    let service = Arc::new(IntakeService::new(db.clone(), notifier));
    let nats_service = rpc::start_service(&client, SERVICE, "受理：案件与台账 / intake: cases and the ledger")
        .await
        .map_err(|e| anyhow::anyhow!("starting NATS service: {e}"))?;
    let handles = handlers::serve_all(&nats_service, service.clone(), shutdown.token())
        .await
        .map_err(|e| anyhow::anyhow!("adding endpoints: {e}"))?;
    shutdown.spawn(async move {
        for h in handles {
            let _ = h.await;
        }
        let _ = nats_service.stop().await;
    });
    tracing::info!("intake started");
    Ok(Running { service, db })
}
