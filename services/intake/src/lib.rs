//! Intake (受理): consultations, applicants, projects and cases of the ledger (台账), from the first
//! contact to the archive (§4.1, §4.2, §7.1, §7.2, §7.6–§7.8 of DB3716/T 2—2022).
//!
//! A service is a library: [`IntakeService`] holds the operations and implements the platform's
//! [`Service`](bangban_platform::service::Service) (its endpoints and consumers are wired in [`handlers`]);
//! `bangban_platform::service::start::<IntakeService>` runs it, and `main.rs` only parses configuration.

pub mod case_ops;
pub mod consultations;
pub mod domain;
pub mod entity;
pub mod error;
pub mod handlers;
pub mod registry;
pub mod results;
pub mod seed;

use bangban_contracts::{
    events,
    intake::{
        Actor, ApplicantView, CaseAccepted, CaseStatus, CaseView, ContactCard, CreateCase, ListStaff,
        MaterialsReviewed, OfficeView, ProjectView, SERVICE, StaffView,
    },
    office::CITY_OFFICE,
};
pub use bangban_intake_migration::Migrator;
use bangban_platform::{
    Settings, clock,
    objects::DocumentStore,
    outbox::{self, OutboxNotifier},
    problem::FieldError,
};
use chrono::{SubsecRound, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Statement, Value,
};
use uuid::Uuid;

use crate::{
    domain::{
        identity, ledger,
        pii::{self, PiiCipher},
        validation,
    },
    entity::{
        agreement, applicant, applicant_change, applicant_office, case_unit, cases, contact_card, material_review,
        office, project, staff,
    },
    error::{IntakeError, Result},
};

/// Intake's operations over its own schema (受理服务).
pub struct IntakeService {
    db: DatabaseConnection,
    notifier: OutboxNotifier,
    pii: PiiCipher,
    /// Where archived documents are kept (案卷存储); without one, filing and reading documents is unavailable.
    store: Option<DocumentStore>,
}

impl IntakeService {
    pub fn new(db: DatabaseConnection, notifier: OutboxNotifier, pii: PiiCipher) -> Self {
        Self { db, notifier, pii, store: None }
    }

    /// The same service keeping archived documents in `store`.
    pub fn with_store(self, store: DocumentStore) -> Self {
        Self { store: Some(store), ..self }
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// The same service waking another relay (tests drive relays by hand).
    pub fn with_notifier(&self, notifier: OutboxNotifier) -> Self {
        Self { db: self.db.clone(), notifier, pii: self.pii.clone(), store: self.store.clone() }
    }

    /// Accepts a case (受理, §7.2): the applicant and project (new or registered), the one
    /// specialist (§4.2.1) and the contact card (§4.2.2), for a commission the agreement and the
    /// formal review, the ledger entry and `case.accepted` — all in one transaction.
    #[tracing::instrument(skip_all, fields(office = %req.case.office, case.id = tracing::field::Empty, ledger_no = tracing::field::Empty))]
    pub async fn create_case(&self, req: CreateCase) -> Result<CaseView> {
        let CreateCase { actor, case } = req;
        let identity =
            validation::validate_new_case(&case, identity::today_in_china()).map_err(IntakeError::Validation)?;
        if !validation::may_accept_for(&actor, &case.office) {
            return Err(crate::error::office_forbidden(&case.office));
        }
        // Two first acceptances of the same new applicant can race on PostgreSQL: the loser's
        // insert hits the unique ID-number index or credit code. Its transaction is rolled back
        // whole, so trying again finds the winner's record.
        let mut attempt = 0;
        loop {
            match self.accept(&actor, &case, &identity).await {
                Err(IntakeError::Db(e)) if attempt < 2 && is_unique_violation(&e) => {
                    attempt += 1;
                    tracing::debug!(attempt, "acceptance raced with another; retrying");
                }
                other => return other,
            }
        }
    }

    async fn accept(
        &self,
        actor: &Actor,
        case: &bangban_contracts::intake::NewCase,
        identity: &validation::NormalisedIdentity,
    ) -> Result<CaseView> {
        // Microseconds: what both databases keep, so the reply equals what a later read returns.
        let now = clock::now().trunc_subsecs(6);
        let case_id = Uuid::now_v7();

        let txn = bangban_platform::db::begin_write(&self.db).await?;
        let applicant = self.applicant_for(&txn, actor, case, identity, now).await?;
        let project = self.project_for(&txn, case, now).await?;
        let role = validation::specialist_role(case.service_type);
        let specialist = choose_specialist(&txn, &case.office, role, case.specialist_id.as_deref(), None).await?;

        let year = ledger::ledger_year(now);
        let sequence = next_ledger_sequence(&txn, &case.office, year).await?;
        let ledger_no = ledger::ledger_number(&case.office, year, sequence);
        cases::Entity::insert(cases::ActiveModel {
            id: Set(case_id.to_string()),
            ledger_no: Set(ledger_no.clone()),
            service_type: Set(case.service_type),
            status: Set(CaseStatus::Accepted),
            office: Set(case.office.clone()),
            applicant_id: Set(applicant.id.clone()),
            project_id: Set(project.id.clone()),
            specialist_id: Set(specialist.id.clone()),
            ready_for_results: Set(false),
            termination_reason: Set(None),
            termination_note: Set(None),
            terminated_at: Set(None),
            created_by: Set(actor.sub.clone()),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .exec_without_returning(&txn)
        .await?;
        if let Some(a) = &case.agreement {
            agreement::Entity::insert(agreement::ActiveModel {
                case_id: Set(case_id.to_string()),
                parties: Set(serde_json::to_string(&a.parties).unwrap_or_default()),
                scope: Set(a.scope.trim().to_string()),
                signed_on: Set(a.signed_on),
                valid_until: Set(a.valid_until),
                created_at: Set(now),
            })
            .exec_without_returning(&txn)
            .await?;
        }
        for m in &case.materials {
            material_review::Entity::insert(material_review::ActiveModel {
                id: Set(Uuid::now_v7().to_string()),
                case_id: Set(case_id.to_string()),
                name: Set(m.name.trim().to_string()),
                complete: Set(m.complete),
                authentic: Set(m.authentic),
                valid: Set(m.valid),
                note: Set(m.note.clone()),
                reviewed_by: Set(actor.sub.clone()),
                reviewed_at: Set(now),
            })
            .exec_without_returning(&txn)
            .await?;
        }
        issue_contact_card(&txn, &applicant.id, &case_id.to_string(), &specialist, now).await?;

        let row = cases::Entity::find_by_id(case_id.to_string())
            .one(&txn)
            .await?
            .ok_or_else(|| IntakeError::Corrupt("case vanished".into()))?;
        let view = self.view(&txn, row).await?;
        publish_case_accepted(&txn, &view).await?;
        if !case.materials.is_empty() {
            publish_materials_reviewed(&txn, &view, &case.materials).await?;
        }
        txn.commit().await?;
        self.notifier.notify();

        let span = tracing::Span::current();
        span.record("case.id", tracing::field::display(case_id));
        span.record("ledger_no", ledger_no.as_str());
        tracing::info!(specialist = %view.specialist_id, "case accepted");
        Ok(view)
    }

    /// The applicant of a new case: a registered one by id, the one already registered with the
    /// same ID number or credit code, or a new one (PII encrypted at rest).
    async fn applicant_for(
        &self,
        txn: &DatabaseTransaction,
        actor: &Actor,
        case: &bangban_contracts::intake::NewCase,
        identity: &validation::NormalisedIdentity,
        now: chrono::DateTime<Utc>,
    ) -> Result<applicant::Model> {
        if let Some(id) = case.applicant_id {
            return applicant::Entity::find_by_id(id.to_string()).one(txn).await?.ok_or_else(|| {
                IntakeError::Validation(vec![FieldError::new("applicant_id", "服务对象不存在", "no such applicant")])
            });
        }
        let new = case.applicant.as_ref().ok_or_else(|| IntakeError::Corrupt("validated applicant missing".into()))?;
        Ok(self.upsert_applicant(txn, new, identity, actor, &case.office, now).await?.0)
    }

    /// A validated new applicant: the one already registered with the same ID number or credit code, or a
    /// new record with its personal data encrypted, belonging to `office` (登记机构). Says whether it was new.
    ///
    /// A registered applicant is never changed silently: when the name, phone or contact person given differ
    /// from the record, only someone entitled to the applicant ([`Self::may_change_applicant`]) changes them,
    /// and the change is audited (`applicant_change`, the fields only); anyone else gets 403 and nothing changes.
    pub(crate) async fn upsert_applicant(
        &self,
        txn: &DatabaseTransaction,
        new: &bangban_contracts::intake::NewApplicant,
        identity: &validation::NormalisedIdentity,
        actor: &Actor,
        office: &str,
        now: chrono::DateTime<Utc>,
    ) -> Result<(applicant::Model, bool)> {
        let index = identity.id_number.as_deref().map(|n| self.pii.blind_index("id_number", n));
        let existing = if let Some(index) = &index {
            applicant::Entity::find().filter(applicant::Column::IdNumberIndex.eq(index.clone())).one(txn).await?
        } else if let Some(code) = &identity.credit_code {
            applicant::Entity::find().filter(applicant::Column::CreditCode.eq(code.clone())).one(txn).await?
        } else {
            None
        };
        if let Some(found) = existing {
            // The same person or organisation again: one record. Unchanged, it is simply found again.
            let changed = self.changed_fields(&found, new, identity)?;
            if changed.is_empty() {
                return Ok((found, false));
            }
            if !self.may_change_applicant(txn, actor, &found.id).await? {
                return Err(applicant_change_forbidden(actor, identity, &changed));
            }
            let mut active: applicant::ActiveModel = found.clone().into();
            active.name = Set(new.name.trim().to_string());
            if let Some(phone) = &identity.phone {
                active.phone_enc = Set(Some(self.pii.encrypt(phone)));
            }
            if let Some(person) = new.contact_person.as_deref() {
                active.contact_person = Set(Some(person.trim().to_string()));
            }
            let updated = active.update(txn).await?;
            applicant_change::ActiveModel {
                id: Set(Uuid::now_v7().to_string()),
                applicant_id: Set(found.id.clone()),
                actor_sub: Set(actor.sub.clone()),
                actor_role: Set(actor.role.clone()),
                actor_office: Set(actor.office.clone()),
                fields: Set(changed.join(",")),
                at: Set(now),
            }
            .insert(txn)
            .await?;
            tracing::info!(applicant = %found.id, fields = %changed.join(","), actor = %actor.sub, "applicant changed");
            return Ok((updated, false));
        }
        let model = applicant::ActiveModel {
            id: Set(Uuid::now_v7().to_string()),
            kind: Set(new.kind),
            name: Set(new.name.trim().to_string()),
            id_number_enc: Set(identity.id_number.as_deref().map(|n| self.pii.encrypt(n))),
            id_number_index: Set(index),
            credit_code: Set(identity.credit_code.clone()),
            phone_enc: Set(identity.phone.as_deref().map(|p| self.pii.encrypt(p))),
            contact_person: Set(new.contact_person.as_deref().map(|p| p.trim().to_string())),
            created_at: Set(now),
        };
        let model = model.insert(txn).await?;
        applicant_office::ActiveModel {
            applicant_id: Set(model.id.clone()),
            office: Set(office.to_string()),
            registered_by: Set(actor.sub.clone()),
            registered_at: Set(now),
        }
        .insert(txn)
        .await?;
        Ok((model, true))
    }

    /// The fields of a registered applicant that `new` would change (`name`, `phone`, `contact_person`); a
    /// phone or contact person left out changes nothing.
    fn changed_fields(
        &self,
        found: &applicant::Model,
        new: &bangban_contracts::intake::NewApplicant,
        identity: &validation::NormalisedIdentity,
    ) -> Result<Vec<&'static str>> {
        let mut changed = Vec::new();
        if found.name.trim() != new.name.trim() {
            changed.push("name");
        }
        if let Some(phone) = &identity.phone {
            let stored = found
                .phone_enc
                .as_deref()
                .map(|e| self.pii.decrypt(e))
                .transpose()
                .map_err(|e| IntakeError::Corrupt(format!("personal data of applicant {}: {e}", found.id)))?;
            if stored.as_deref() != Some(phone.as_str()) {
                changed.push("phone");
            }
        }
        if let Some(person) = new.contact_person.as_deref()
            && found.contact_person.as_deref().map(str::trim) != Some(person.trim())
        {
            changed.push("contact_person");
        }
        Ok(changed)
    }

    /// May `actor` change the name and contact data of the applicant (修改服务对象信息)? The staff
    /// (assistants, agents, office admins) of the city office or of the office that registered it (for an
    /// applicant registered before that was recorded: of an office that accepted a case of it).
    pub(crate) async fn may_change_applicant<C: ConnectionTrait>(
        &self,
        conn: &C,
        actor: &Actor,
        applicant_id: &str,
    ) -> Result<bool> {
        if !validation::is_office_staff(actor) {
            return Ok(false);
        }
        if actor.office == CITY_OFFICE {
            return Ok(true);
        }
        // The office that registered it — and no other: accepting a case of someone else's applicant (whose
        // name and credit code are public) must not become a way to redirect its SMS.
        let registered = applicant_office::Entity::find()
            .filter(applicant_office::Column::ApplicantId.eq(applicant_id))
            .all(conn)
            .await?;
        if !registered.is_empty() {
            return Ok(registered.iter().any(|r| r.office == actor.office));
        }
        // Registered before the registering office was recorded: the offices that accepted a case of it.
        let cases = cases::Entity::find()
            .filter(cases::Column::ApplicantId.eq(applicant_id))
            .filter(cases::Column::Office.eq(actor.office.clone()))
            .count(conn)
            .await?;
        Ok(cases > 0)
    }

    /// The project of a new case: a registered one by id (checked against the office's area) or a new one.
    async fn project_for(
        &self,
        txn: &DatabaseTransaction,
        case: &bangban_contracts::intake::NewCase,
        now: chrono::DateTime<Utc>,
    ) -> Result<project::Model> {
        if let Some(id) = case.project_id {
            let p = project::Entity::find_by_id(id.to_string()).one(txn).await?.ok_or_else(|| {
                IntakeError::Validation(vec![FieldError::new("project_id", "项目不存在", "no such project")])
            })?;
            let mut errors = Vec::new();
            validation::check_area(&case.office, &p.office, &mut errors);
            if !errors.is_empty() {
                return Err(IntakeError::Validation(errors));
            }
            return Ok(p);
        }
        let p = case.project.as_ref().ok_or_else(|| IntakeError::Corrupt("validated project missing".into()))?;
        self.insert_project(txn, p, now).await
    }

    /// Registers a validated new project.
    pub(crate) async fn insert_project(
        &self,
        txn: &DatabaseTransaction,
        p: &bangban_contracts::intake::NewProject,
        now: chrono::DateTime<Utc>,
    ) -> Result<project::Model> {
        let model = project::ActiveModel {
            id: Set(Uuid::now_v7().to_string()),
            name: Set(p.name.trim().to_string()),
            category: Set(p.category),
            office: Set(p.office.clone()),
            code: Set(p.code.clone()),
            investment_wan: Set(p.investment_wan),
            land_area_m2: Set(p.land_area_m2),
            floor_area_m2: Set(p.floor_area_m2),
            newly_settled: Set(p.newly_settled),
            investment_kind: Set(p.investment_kind),
            land_supply: Set(p.land_supply),
            construction: Set(p.construction),
            created_at: Set(now),
        };
        Ok(model.insert(txn).await?)
    }

    /// A case as people see it: personal data masked.
    pub(crate) async fn view<C: ConnectionTrait>(&self, conn: &C, c: cases::Model) -> Result<CaseView> {
        let a = applicant::Entity::find_by_id(c.applicant_id.clone())
            .one(conn)
            .await?
            .ok_or_else(|| IntakeError::Corrupt(format!("case {} without applicant", c.id)))?;
        let p = project::Entity::find_by_id(c.project_id.clone())
            .one(conn)
            .await?
            .ok_or_else(|| IntakeError::Corrupt(format!("case {} without project", c.id)))?;
        let card = contact_card::Entity::find()
            .filter(contact_card::Column::CaseId.eq(c.id.clone()))
            .order_by_desc(contact_card::Column::IssuedAt)
            .one(conn)
            .await?
            .ok_or_else(|| IntakeError::Corrupt(format!("case {} without contact card", c.id)))?;
        Ok(CaseView {
            id: parse_uuid(&c.id)?,
            ledger_no: c.ledger_no,
            service_type: c.service_type,
            status: c.status,
            office: c.office,
            applicant: self.applicant_view(a)?,
            project: project_view(p)?,
            specialist_id: c.specialist_id,
            ready_for_results: c.ready_for_results,
            units: case_unit::Entity::find()
                .filter(case_unit::Column::CaseId.eq(c.id.clone()))
                .order_by_asc(case_unit::Column::FirstDispatchedAt)
                .all(conn)
                .await?
                .into_iter()
                .map(|u| u.unit)
                .collect(),
            contact_card: ContactCard {
                specialist_id: card.specialist_id,
                name: card.name,
                number: card.number,
                position: card.position,
                photo_url: card.photo_url,
                phone: card.phone,
                service_items: serde_json::from_str(&card.service_items).unwrap_or_default(),
                issued_at: card.issued_at,
            },
            created_by: c.created_by,
            created_at: c.created_at,
            updated_at: c.updated_at,
        })
    }

    /// An applicant as people see it: ID number and phone masked.
    pub(crate) fn applicant_view(&self, a: applicant::Model) -> Result<ApplicantView> {
        let reveal = |enc: &Option<String>, mask: fn(&str) -> String| -> Result<Option<String>> {
            enc.as_deref()
                .map(|e| self.pii.decrypt(e).map(|plain| mask(&plain)))
                .transpose()
                .map_err(|e| IntakeError::Corrupt(format!("personal data of applicant {}: {e}", a.id)))
        };
        Ok(ApplicantView {
            id: parse_uuid(&a.id)?,
            kind: a.kind,
            id_number: reveal(&a.id_number_enc, pii::mask_id_number)?,
            credit_code: a.credit_code.clone(),
            phone: reveal(&a.phone_enc, pii::mask_phone)?,
            contact_person: a.contact_person.clone(),
            name: a.name.clone(),
        })
    }

    /// Every office, city first.
    pub async fn list_offices(&self) -> Result<Vec<OfficeView>> {
        let rows = office::Entity::find().order_by_asc(office::Column::Code).all(&self.db).await?;
        Ok(rows
            .into_iter()
            .map(|o| OfficeView { level: o.level, code: o.code, name: o.name, address: o.address, phone: o.phone })
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

    /// Reads one case with its applicant (masked), project and contact card.
    #[tracing::instrument(skip(self))]
    pub async fn get_case(&self, id: Uuid) -> Result<CaseView> {
        let row = cases::Entity::find_by_id(id.to_string())
            .one(&self.db)
            .await?
            .ok_or_else(|| crate::error::case_not_found(id.to_string()))?;
        self.view(&self.db, row).await
    }
}

/// The 403 of a registration or acceptance that would change an applicant the actor is not entitled to
/// (`changed`: the fields it would change). The ID number is never repeated; a credit code is public.
fn applicant_change_forbidden(
    actor: &Actor,
    identity: &validation::NormalisedIdentity,
    changed: &[&str],
) -> IntakeError {
    let (which_zh, which_en) = match &identity.credit_code {
        Some(code) => (format!("统一社会信用代码 {code}"), format!("credit code {code}")),
        None => ("该居民身份证号码".to_string(), "this ID number".to_string()),
    };
    let fields_zh: Vec<&str> = changed
        .iter()
        .map(|f| match *f {
            "name" => "名称",
            "phone" => "手机号码",
            _ => "联系人",
        })
        .collect();
    IntakeError::Forbidden(
        format!(
            "服务对象（{which_zh}）已登记，其{}与本次填写不一致；机构 {} 不是其登记机构，也未受理其案件，无权修改。\
             如需为其受理案件，请按原登记信息填写或使用服务对象编号（applicant_id）；信息变更请联系其登记机构或市级机构",
            fields_zh.join("、"),
            actor.office
        ),
        format!(
            "the applicant with {which_en} is registered with a different {}; office {} neither registered it nor \
             accepted a case of it and may not change it. To accept a case for it, give its registered data or its \
             applicant_id; ask its registering office or the city office to change its data",
            changed.join(", "),
            actor.office
        ),
    )
}

/// The specialist of a new case: the one named (an active assistant or agent of the accepting
/// office, as the service type needs), or the least loaded one (§4.2.1).
pub(crate) async fn choose_specialist(
    txn: &DatabaseTransaction,
    office: &str,
    role: &str,
    requested: Option<&str>,
    exclude: Option<&str>,
) -> Result<staff::Model> {
    let role_zh = if role == "agent" { "代办员" } else { "帮办员" };
    if let Some(id) = requested {
        let person = staff::Entity::find_by_id(id.to_string()).one(txn).await?;
        return match person {
            Some(p) if p.active && p.office == office && p.role == role => Ok(p),
            _ => Err(IntakeError::Validation(vec![FieldError::new(
                "specialist_id",
                format!("须为受理机构 {office} 在岗的{role_zh}"),
                format!("must be an active {role} of office {office}"),
            )])),
        };
    }
    let candidates = staff::Entity::find()
        .filter(staff::Column::Office.eq(office))
        .filter(staff::Column::Role.eq(role))
        .filter(staff::Column::Active.eq(true))
        .all(txn)
        .await?
        .into_iter()
        .filter(|s| Some(s.id.as_str()) != exclude)
        .collect::<Vec<_>>();
    let backend = txn.get_database_backend();
    let p1 = if backend == sea_orm::DbBackend::Postgres { "$1" } else { "?" };
    let loads: std::collections::HashMap<String, i64> = txn
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            format!(
                "SELECT specialist_id, COUNT(*) AS n FROM cases WHERE office = {p1} \
                 AND status NOT IN ('archived', 'terminated') GROUP BY specialist_id"
            ),
            [Value::from(office.to_string())],
        ))
        .await?
        .into_iter()
        .filter_map(|r| Some((r.try_get::<String>("", "specialist_id").ok()?, r.try_get::<i64>("", "n").ok()?)))
        .collect();
    let pairs: Vec<(String, String)> = candidates.iter().map(|c| (c.id.clone(), c.number.clone())).collect();
    let chosen = validation::least_loaded(&pairs, &loads).map(str::to_string);
    chosen.and_then(|id| candidates.into_iter().find(|c| c.id == id)).ok_or_else(|| {
        IntakeError::Validation(vec![FieldError::new(
            "office",
            format!("机构 {office} 暂无在岗的{role_zh}可分配"),
            format!("office {office} has no active {role} to assign"),
        )])
    })
}

/// Issues the applicant's contact card for this case; the applicant's earlier card is superseded
/// (one card per applicant, §4.2.2).
pub(crate) async fn issue_contact_card(
    txn: &DatabaseTransaction,
    applicant_id: &str,
    case_id: &str,
    specialist: &staff::Model,
    now: chrono::DateTime<Utc>,
) -> Result<()> {
    contact_card::Entity::update_many()
        .col_expr(contact_card::Column::SupersededAt, sea_orm::sea_query::Expr::value(now))
        .filter(contact_card::Column::ApplicantId.eq(applicant_id))
        .filter(contact_card::Column::SupersededAt.is_null())
        .exec(txn)
        .await?;
    contact_card::Entity::insert(contact_card::ActiveModel {
        id: Set(Uuid::now_v7().to_string()),
        applicant_id: Set(applicant_id.to_string()),
        case_id: Set(case_id.to_string()),
        specialist_id: Set(specialist.id.clone()),
        name: Set(specialist.name.clone()),
        number: Set(specialist.number.clone()),
        position: Set(specialist.position.clone()),
        photo_url: Set(specialist.photo_url.clone()),
        phone: Set(specialist.phone.clone()),
        service_items: Set(specialist.service_items.clone()),
        issued_at: Set(now),
        superseded_at: Set(None),
    })
    .exec_without_returning(txn)
    .await?;
    Ok(())
}

pub(crate) use bangban_platform::db::is_unique_violation;

/// A project as shown in cases and the register.
pub(crate) fn project_view(p: project::Model) -> Result<ProjectView> {
    Ok(ProjectView {
        id: parse_uuid(&p.id)?,
        name: p.name,
        category: p.category,
        office: p.office,
        code: p.code,
        investment_wan: p.investment_wan,
        land_area_m2: p.land_area_m2,
        floor_area_m2: p.floor_area_m2,
        newly_settled: p.newly_settled,
        investment_kind: p.investment_kind,
        land_supply: p.land_supply,
        construction: p.construction,
    })
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

pub(crate) fn parse_uuid(value: &str) -> Result<Uuid> {
    Uuid::parse_str(value).map_err(|_| IntakeError::Corrupt(format!("id {value:?}")))
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
        specialist_id: view.specialist_id.clone(),
        accepted_by: view.created_by.clone(),
        accepted_at: view.created_at,
    };
    outbox::emit::<events::CaseAccepted, _>(txn, SERVICE, &view.office, None, &view.id.to_string(), &data).await
}

async fn publish_materials_reviewed(
    txn: &DatabaseTransaction,
    view: &CaseView,
    materials: &[bangban_contracts::intake::MaterialCheck],
) -> Result<()> {
    let data = MaterialsReviewed {
        case_id: view.id,
        office: view.office.clone(),
        service_type: view.service_type,
        passed: materials.iter().all(|m| m.complete && m.authentic && m.valid),
        materials: materials.to_vec(),
        reviewed_by: view.created_by.clone(),
        reviewed_at: view.created_at,
    };
    outbox::emit::<events::MaterialsReviewed, _>(txn, SERVICE, &view.office, None, &view.id.to_string(), &data).await
}

/// The key for personal data at rest (see [`bangban_platform::pii::cipher_from_settings`]).
pub fn pii_cipher(settings: &Settings) -> anyhow::Result<PiiCipher> {
    bangban_platform::pii::cipher_from_settings(settings)
}
