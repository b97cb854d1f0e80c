//! The ledger and a case's later life (台账与案件变更): listing with filters, a change of specialist
//! (§4.2.3), termination (§7.8), the audited reveal of personal data, and the status changes that
//! follow other services' events (`plan.published`, `task.dispatched`).

use bangban_contracts::{
    CloudEvent, Event, events,
    intake::{
        ApplicantContact, CasePage, CaseStatus, CaseSummary, CaseTerminated, CaseView, ChangeSpecialist, ListCases,
        ResolveContacts, ResolvedContacts, RevealApplicant, RevealedApplicant, SERVICE, SpecialistChanged,
        StaffContact, TerminateCase,
    },
};
use bangban_platform::{
    clock,
    consumer::{EventHandler, HandlerError},
    dispatch, outbox,
    problem::FieldError,
};
use chrono::SubsecRound;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use crate::{
    IntakeService, choose_specialist,
    domain::{
        lifecycle::{self, Outcome, Transition},
        validation,
    },
    entity::{applicant, case_unit, cases, pii_audit, project, specialist_change, staff},
    error::{IntakeError, Result},
    issue_contact_card, parse_uuid,
};

/// Largest page of the ledger.
pub const MAX_PAGE: u64 = 200;

fn text(field: &str, value: &str, min: usize, max: usize) -> Result<String> {
    let t = value.trim();
    let n = t.chars().count();
    if n < min || n > max || t.chars().any(char::is_control) {
        return Err(IntakeError::Validation(vec![FieldError::new(
            field,
            format!("须为 {min}–{max} 个字符且不含控制字符"),
            format!("must be {min}–{max} characters without control characters"),
        )]));
    }
    Ok(t.to_string())
}

impl IntakeService {
    /// The ledger: newest first, filtered.
    pub async fn list_cases(&self, f: ListCases) -> Result<CasePage> {
        let limit = f.limit.unwrap_or(50);
        if limit == 0 || limit > MAX_PAGE {
            return Err(IntakeError::Validation(vec![FieldError::new(
                "limit",
                format!("须在 1–{MAX_PAGE} 之间"),
                format!("must be between 1 and {MAX_PAGE}"),
            )]));
        }
        let offset = bangban_contracts::page::db_offset(f.offset);
        let mut cond = Condition::all();
        if let Some(office) = &f.office {
            cond = cond.add(cases::Column::Office.eq(office.clone()));
        }
        if let Some(status) = f.status {
            cond = cond.add(cases::Column::Status.eq(status.as_str()));
        }
        if let Some(s) = &f.specialist {
            cond = cond.add(cases::Column::SpecialistId.eq(s.clone()));
        }
        if let Some(a) = f.applicant {
            cond = cond.add(cases::Column::ApplicantId.eq(a.to_string()));
        }
        if let Some(cat) = f.category {
            let ids = project::Entity::find()
                .select_only()
                .column(project::Column::Id)
                .filter(project::Column::Category.eq(cat.as_str()))
                .into_tuple::<String>()
                .all(&self.db)
                .await?;
            cond = cond.add(cases::Column::ProjectId.is_in(ids));
        }
        if let Some(q) = f.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            let q: String = q.chars().take(100).collect();
            let projects = project::Entity::find()
                .select_only()
                .column(project::Column::Id)
                .filter(
                    Condition::any().add(project::Column::Name.contains(&q)).add(project::Column::Code.contains(&q)),
                )
                .into_tuple::<String>()
                .all(&self.db)
                .await?;
            let applicants = applicant::Entity::find()
                .select_only()
                .column(applicant::Column::Id)
                .filter(applicant::Column::Name.contains(&q))
                .into_tuple::<String>()
                .all(&self.db)
                .await?;
            cond = cond.add(
                Condition::any()
                    .add(cases::Column::LedgerNo.contains(&q))
                    .add(cases::Column::ProjectId.is_in(projects))
                    .add(cases::Column::ApplicantId.is_in(applicants)),
            );
        }
        let query = cases::Entity::find().filter(cond);
        let total = query.clone().count(&self.db).await?;
        let rows = query
            .order_by_desc(cases::Column::CreatedAt)
            .order_by_desc(cases::Column::Id)
            .limit(limit)
            .offset(offset)
            .all(&self.db)
            .await?;
        // Two queries for the page's applicants and projects, not two per line.
        let applicants: std::collections::HashMap<String, applicant::Model> = applicant::Entity::find()
            .filter(applicant::Column::Id.is_in(rows.iter().map(|c| c.applicant_id.clone())))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|a| (a.id.clone(), a))
            .collect();
        let projects: std::collections::HashMap<String, project::Model> = project::Entity::find()
            .filter(project::Column::Id.is_in(rows.iter().map(|c| c.project_id.clone())))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|p| (p.id.clone(), p))
            .collect();
        let mut items = Vec::with_capacity(rows.len());
        for c in rows {
            let a = applicants.get(&c.applicant_id);
            let p = projects.get(&c.project_id);
            let (Some(a), Some(p)) = (a, p) else {
                return Err(IntakeError::Corrupt(format!("case {} without applicant or project", c.id)));
            };
            items.push(CaseSummary {
                id: parse_uuid(&c.id)?,
                ledger_no: c.ledger_no.clone(),
                service_type: c.service_type,
                status: c.status,
                office: c.office.clone(),
                applicant_id: parse_uuid(&a.id)?,
                applicant_name: a.name.clone(),
                project_name: p.name.clone(),
                category: p.category,
                specialist_id: c.specialist_id.clone(),
                created_at: c.created_at,
                updated_at: c.updated_at,
            });
        }
        Ok(CasePage { items, total, limit, offset })
    }

    async fn case_for_update(&self, txn: &DatabaseTransaction, id: Uuid) -> Result<cases::Model> {
        // `SELECT … FOR UPDATE` on PostgreSQL serialises concurrent changes of one case.
        let mut q = cases::Entity::find_by_id(id.to_string());
        if txn.get_database_backend() == sea_orm::DbBackend::Postgres {
            q = q.lock_exclusive();
        }
        q.one(txn).await?.ok_or_else(|| crate::error::case_not_found(id.to_string()))
    }

    /// Hands a case to another specialist (§4.2.3): history kept, a new contact card issued,
    /// `case.specialist_changed` published so the applicant is told.
    #[tracing::instrument(skip_all, fields(case.id = %req.id))]
    pub async fn change_specialist(&self, req: ChangeSpecialist) -> Result<CaseView> {
        let reason = text("reason", &req.change.reason, 2, 500)?;
        let now = clock::now().trunc_subsecs(6);
        let txn = bangban_platform::db::begin_write(&self.db).await?;
        let c = self.case_for_update(&txn, req.id).await?;
        let status = c.status;
        if matches!(status, CaseStatus::Archived | CaseStatus::Terminated) {
            return Err(IntakeError::Conflict(
                format!("案件当前状态为“{}”，不能调整帮办代办专员", status.label_zh()),
                format!("the case is {}; its specialist can no longer change", status.as_str()),
            ));
        }
        if !validation::may_accept_for(&req.actor, &c.office) {
            return Err(crate::error::office_forbidden(&c.office));
        }
        let role = validation::specialist_role(c.service_type);
        if req.change.specialist_id.as_deref() == Some(c.specialist_id.as_str()) {
            return Err(IntakeError::Validation(vec![FieldError::new(
                "specialist_id",
                "新专员与现任专员相同",
                "the new specialist is the current one",
            )]));
        }
        let next =
            choose_specialist(&txn, &c.office, role, req.change.specialist_id.as_deref(), Some(&c.specialist_id))
                .await?;
        let from = c.specialist_id.clone();
        specialist_change::ActiveModel {
            id: Set(Uuid::now_v7().to_string()),
            case_id: Set(c.id.clone()),
            from_specialist: Set(from.clone()),
            to_specialist: Set(next.id.clone()),
            reason: Set(reason.clone()),
            changed_by: Set(req.actor.sub.clone()),
            changed_at: Set(now),
        }
        .insert(&txn)
        .await?;
        let mut active: cases::ActiveModel = c.clone().into();
        active.specialist_id = Set(next.id.clone());
        active.updated_at = Set(now);
        let c = active.update(&txn).await?;
        issue_contact_card(&txn, &c.applicant_id, &c.id, &next, now).await?;
        let data = SpecialistChanged {
            case_id: parse_uuid(&c.id)?,
            ledger_no: c.ledger_no.clone(),
            office: c.office.clone(),
            applicant_id: parse_uuid(&c.applicant_id)?,
            from_specialist: from,
            to_specialist: next.id.clone(),
            reason,
            changed_by: req.actor.sub.clone(),
            changed_at: now,
        };
        emit::<events::CaseSpecialistChanged>(&txn, &c.office, &c.id, &data).await?;
        let view = self.view(&txn, c).await?;
        txn.commit().await?;
        self.notifier.notify();
        tracing::info!(to = %view.specialist_id, "specialist changed");
        Ok(view)
    }

    /// Ends a case (终止服务, §7.8) with a reason (a)–(f) and a note, from any state before
    /// `archived`; `case.terminated` tells the other services to stop work on it.
    #[tracing::instrument(skip_all, fields(case.id = %req.id))]
    pub async fn terminate_case(&self, req: TerminateCase) -> Result<CaseView> {
        let note = text("note", &req.termination.note, 1, 2000)?;
        let now = clock::now().trunc_subsecs(6);
        let txn = bangban_platform::db::begin_write(&self.db).await?;
        let c = self.case_for_update(&txn, req.id).await?;
        if !validation::may_accept_for(&req.actor, &c.office) {
            return Err(crate::error::office_forbidden(&c.office));
        }
        let previous = c.status;
        let reason = req.termination.reason;
        lifecycle::transition(previous, &Transition::Terminate { reason })?;
        let mut active: cases::ActiveModel = c.clone().into();
        active.status = Set(CaseStatus::Terminated);
        active.termination_reason = Set(Some(reason));
        active.termination_note = Set(Some(note.clone()));
        active.terminated_at = Set(Some(now));
        active.updated_at = Set(now);
        let c = active.update(&txn).await?;
        let data = CaseTerminated {
            case_id: parse_uuid(&c.id)?,
            ledger_no: c.ledger_no.clone(),
            office: c.office.clone(),
            applicant_id: parse_uuid(&c.applicant_id)?,
            specialist_id: c.specialist_id.clone(),
            previous_status: previous,
            reason,
            reason_letter: reason.letter(),
            note,
            terminated_by: req.actor.sub.clone(),
            terminated_at: now,
        };
        emit::<events::CaseTerminated>(&txn, &c.office, &c.id, &data).await?;
        let view = self.view(&txn, c).await?;
        txn.commit().await?;
        self.notifier.notify();
        tracing::info!(reason = reason.as_str(), "case terminated");
        Ok(view)
    }

    /// The applicant's ID number and phone in full, for the case's specialist or an office admin of the
    /// accepting office or of the city ([`validation::may_reveal`]: checked here, whatever the gateway
    /// decided); every reveal is written to the audit log first. Anyone else gets 403, and nothing is logged.
    #[tracing::instrument(skip_all, fields(case.id = %req.case_id, actor = %req.actor.sub))]
    pub async fn reveal_applicant(&self, req: RevealApplicant) -> Result<RevealedApplicant> {
        let purpose = text("purpose", &req.purpose, 2, 500)?;
        let txn = bangban_platform::db::begin_write(&self.db).await?;
        let c = cases::Entity::find_by_id(req.case_id.to_string())
            .one(&txn)
            .await?
            .ok_or_else(|| crate::error::case_not_found(req.case_id.to_string()))?;
        if !validation::may_reveal(&req.actor, &c.office, &c.specialist_id) {
            tracing::warn!(role = %req.actor.role, office = %req.actor.office, "reveal of personal data refused");
            return Err(IntakeError::Forbidden(
                "只有本案的帮办（代办）员或受理机构（或市级机构）的机构管理员可以查看完整个人信息".into(),
                "only the case's specialist or an office admin of the accepting office (or of the city) may see \
                 the personal data in full"
                    .into(),
            ));
        }
        let a = applicant::Entity::find_by_id(c.applicant_id.clone())
            .one(&txn)
            .await?
            .ok_or_else(|| IntakeError::Corrupt(format!("case {} without applicant", c.id)))?;
        let decrypt = |v: &Option<String>| -> Result<Option<String>> {
            v.as_deref()
                .map(|e| self.pii.decrypt(e))
                .transpose()
                .map_err(|e| IntakeError::Corrupt(format!("personal data of applicant {}: {e}", a.id)))
        };
        let id_number = decrypt(&a.id_number_enc)?;
        let phone = decrypt(&a.phone_enc)?;
        let fields: Vec<&str> =
            [id_number.as_ref().map(|_| "id_number"), phone.as_ref().map(|_| "phone")].into_iter().flatten().collect();
        let audit_id = Uuid::now_v7();
        pii_audit::ActiveModel {
            id: Set(audit_id.to_string()),
            applicant_id: Set(a.id.clone()),
            case_id: Set(c.id.clone()),
            actor_sub: Set(req.actor.sub.clone()),
            actor_role: Set(req.actor.role.clone()),
            actor_office: Set(req.actor.office.clone()),
            purpose: Set(purpose),
            fields: Set(fields.join(",")),
            at: Set(clock::now().trunc_subsecs(6)),
        }
        .insert(&txn)
        .await?;
        txn.commit().await?;
        tracing::info!(audit = %audit_id, "personal data revealed");
        Ok(RevealedApplicant { applicant_id: parse_uuid(&a.id)?, name: a.name, id_number, phone, audit_id })
    }

    /// How to reach applicants and staff (联系方式解析), for notification: the applicant's stored phone as it is
    /// stored (encrypted), the staff's published card and, when their work phone is a mobile, that number
    /// encrypted. Unknown references are left out. No number is in clear in the reply.
    #[tracing::instrument(skip_all, fields(applicants = req.applicant_ids.len(), staff = req.staff_ids.len()))]
    pub async fn resolve_contacts(&self, req: ResolveContacts) -> Result<ResolvedContacts> {
        if req.applicant_ids.len() + req.staff_ids.len() > 500 {
            return Err(IntakeError::Validation(vec![FieldError::new(
                "applicant_ids",
                "一次最多解析 500 个联系人",
                "at most 500 references at once",
            )]));
        }
        let ids: Vec<String> = req.applicant_ids.iter().map(Uuid::to_string).collect();
        let applicants = if ids.is_empty() {
            Vec::new()
        } else {
            applicant::Entity::find().filter(applicant::Column::Id.is_in(ids)).all(&self.db).await?
        };
        let staff_rows = if req.staff_ids.is_empty() {
            Vec::new()
        } else {
            staff::Entity::find().filter(staff::Column::Id.is_in(req.staff_ids.clone())).all(&self.db).await?
        };
        let mut out = ResolvedContacts::default();
        for a in applicants {
            out.applicants.push(ApplicantContact {
                applicant_id: parse_uuid(&a.id)?,
                name: a.contact_person.clone().filter(|p| !p.trim().is_empty()).unwrap_or(a.name),
                phone_enc: a.phone_enc,
            });
        }
        for p in staff_rows {
            let mobile = bangban_contracts::pii::mobile_number(&p.phone);
            out.staff.push(StaffContact {
                phone_enc: mobile.map(|m| self.pii.encrypt(&m)),
                id: p.id,
                name: p.name,
                position: p.position,
                office: p.office,
                office_phone: p.phone,
                active: p.active,
            });
        }
        Ok(out)
    }

    /// Applies a transition that another service's event implies, idempotently.
    pub async fn follow_event(
        &self,
        txn: &DatabaseTransaction,
        case_id: &str,
        transition: Transition,
    ) -> std::result::Result<(), HandlerError> {
        let Some(c) = cases::Entity::find_by_id(case_id.to_string()).one(txn).await? else {
            return Err(HandlerError::Permanent(format!("no case {case_id}")));
        };
        match lifecycle::transition(c.status, &transition) {
            Ok(Outcome::Moved(next)) => {
                let mut active: cases::ActiveModel = c.into();
                active.status = Set(next);
                active.updated_at = Set(clock::now().trunc_subsecs(6));
                active.update(txn).await?;
                Ok(())
            }
            Ok(Outcome::MarkedReadyForResults) if !c.ready_for_results => {
                let mut active: cases::ActiveModel = c.into();
                active.ready_for_results = Set(true);
                active.updated_at = Set(clock::now().trunc_subsecs(6));
                active.update(txn).await?;
                Ok(())
            }
            Ok(_) => Ok(()),
            // Too early (the plan not yet seen): let the broker deliver it again later.
            Err(e) => Err(HandlerError::Transient(e.to_string())),
        }
    }
}

/// Emits `E` about the case in the transaction.
async fn emit<E: Event>(txn: &DatabaseTransaction, office: &str, case_id: &str, data: &E::Data) -> Result<()> {
    outbox::emit::<E, _>(txn, SERVICE, office, None, case_id, data).await
}

/// Moves cases along as planning and routing report (`plan.published` → planned, the first
/// `task.dispatched` → in progress). Runs as a durable consumer once those services publish.
pub struct LifecycleFollower {
    pub intake: std::sync::Arc<IntakeService>,
}

impl EventHandler for LifecycleFollower {
    async fn handle(
        &self,
        txn: &DatabaseTransaction,
        subject: &str,
        event: &CloudEvent,
    ) -> std::result::Result<(), HandlerError> {
        dispatch!(event, {
            events::PlanPublished => |plan| self.follow(txn, plan.case_id, Transition::PlanPublished).await,
            events::TaskDispatched => |task| {
                self.follow(txn, task.case_id, Transition::TaskDispatched).await?;
                self.record_unit(txn, task.case_id, subject).await
            },
            events::PlanCompleted => |done| self.follow(txn, done.case_id, Transition::AllTasksConcluded).await,
        })
    }
}

impl LifecycleFollower {
    /// The consumers the follower runs (name, filter): one per event it follows.
    pub fn consumers() -> [(&'static str, String); 3] {
        [
            ("intake-plan-published", events::PlanPublished::TYPE.filter_all_offices()),
            ("intake-task-dispatched", events::TaskDispatched::TYPE.filter_all_offices()),
            ("intake-plan-completed", events::PlanCompleted::TYPE.filter_all_offices()),
        ]
    }

    async fn follow(
        &self,
        txn: &DatabaseTransaction,
        case_id: Uuid,
        transition: Transition,
    ) -> std::result::Result<(), HandlerError> {
        self.intake.follow_event(txn, &case_id.to_string(), transition).await
    }

    /// Records the unit a task of the case was dispatched to: the subject's last token. Its officers may then
    /// read the case's archive.
    async fn record_unit(
        &self,
        txn: &DatabaseTransaction,
        case_id: Uuid,
        subject: &str,
    ) -> std::result::Result<(), HandlerError> {
        let parsed = bangban_contracts::subjects::EventSubject::parse(subject)
            .map_err(|e| HandlerError::Permanent(e.to_string()))?;
        if let Some(unit) = parsed.unit() {
            case_unit::Entity::insert(case_unit::ActiveModel {
                case_id: Set(case_id.to_string()),
                unit: Set(unit.to_string()),
                office: Set(parsed.office().to_string()),
                first_dispatched_at: Set(clock::now().trunc_subsecs(6)),
            })
            .on_conflict(
                sea_orm::sea_query::OnConflict::columns([case_unit::Column::CaseId, case_unit::Column::Unit])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(txn)
            .await?;
        }
        Ok(())
    }
}
