//! The register of applicants (服务对象) and projects (项目), which cases refer to by id.

use bangban_contracts::intake::{
    ApplicantPage, ApplicantQuery, ApplicantView, ListProjects, ProjectPage, ProjectView, RegisterApplicant,
    RegisterProject, Registered,
};
use bangban_platform::{clock, problem::FieldError};
use chrono::SubsecRound;
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, sea_query::Query,
};

use crate::{
    IntakeService,
    case_ops::MAX_PAGE,
    domain::validation,
    entity::{applicant, applicant_office, cases, project},
    error::{IntakeError, Result},
    project_view,
};

fn page(limit: Option<u64>, offset: Option<u64>) -> Result<(u64, u64)> {
    let limit = limit.unwrap_or(50);
    if limit == 0 || limit > MAX_PAGE {
        return Err(IntakeError::Validation(vec![FieldError::new(
            "limit",
            format!("须在 1–{MAX_PAGE} 之间"),
            format!("must be between 1 and {MAX_PAGE}"),
        )]));
    }
    Ok((limit, bangban_contracts::page::db_offset(offset)))
}

impl IntakeService {
    /// Registers an applicant for the actor's office — or returns the one already registered with the same ID
    /// number or credit code. A registered applicant's name, phone and contact person change only when the
    /// actor is entitled to it (its registering office, an office with a case of it, or the city office),
    /// audited; otherwise 403 and nothing changes.
    pub async fn register_applicant(&self, req: RegisterApplicant) -> Result<Registered<ApplicantView>> {
        if !validation::is_office_staff(&req.actor) {
            return Err(IntakeError::Forbidden(
                "只有帮办代办机构的工作人员可以登记服务对象".into(),
                "only the offices' staff may register applicants".into(),
            ));
        }
        let mut errors = Vec::new();
        let identity = validation::applicant(&req.applicant, &mut errors);
        if !errors.is_empty() {
            return Err(IntakeError::Validation(errors));
        }
        let (actor, office) = (&req.actor, req.actor.office.as_str());
        let mut attempt = 0;
        loop {
            let now = clock::now().trunc_subsecs(6);
            let txn = bangban_platform::db::begin_write(&self.db).await?;
            let (model, created) =
                match self.upsert_applicant(&txn, &req.applicant, &identity, actor, office, now).await {
                    // Registered at the same moment by someone else: look again.
                    Err(IntakeError::Db(e)) if attempt < 2 && crate::is_unique_violation(&e) => {
                        attempt += 1;
                        continue;
                    }
                    other => other?,
                };
            txn.commit().await?;
            return Ok(Registered { created, item: self.applicant_view(model)? });
        }
    }

    /// Applicants within the actor's reach, personal data masked: a county's staff see their own office's
    /// (registered by it, or with a case it accepted), the city office's staff and supervisors every office's
    /// or the one asked for; anyone else, or a county asking for another office, gets 403.
    pub async fn list_applicants(&self, req: ApplicantQuery) -> Result<ApplicantPage> {
        let ApplicantQuery { actor, filter: f } = req;
        let office = validation::applicant_list_scope(&actor, f.office.as_deref())
            .map_err(|(zh, en)| IntakeError::Forbidden(zh, en))?;
        let (limit, offset) = page(f.limit, f.offset)?;
        let mut cond = Condition::all();
        if let Some(office) = office {
            let mut errors = Vec::new();
            if !validation::office("office", &office, &mut errors) {
                return Err(IntakeError::Validation(errors));
            }
            cond = cond.add(
                Condition::any()
                    .add(
                        applicant::Column::Id.in_subquery(
                            Query::select()
                                .column(applicant_office::Column::ApplicantId)
                                .from(applicant_office::Entity)
                                .and_where(applicant_office::Column::Office.eq(office.clone()))
                                .to_owned(),
                        ),
                    )
                    .add(
                        applicant::Column::Id.in_subquery(
                            Query::select()
                                .column(cases::Column::ApplicantId)
                                .from(cases::Entity)
                                .and_where(cases::Column::Office.eq(office))
                                .to_owned(),
                        ),
                    ),
            );
        }
        if let Some(kind) = f.kind {
            cond = cond.add(applicant::Column::Kind.eq(kind.as_str()));
        }
        if let Some(q) = f.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            let q: String = q.chars().take(100).collect();
            cond = cond.add(
                Condition::any()
                    .add(applicant::Column::Name.contains(&q))
                    .add(applicant::Column::CreditCode.contains(q.to_uppercase())),
            );
        }
        let query = applicant::Entity::find().filter(cond);
        let total = query.clone().count(&self.db).await?;
        let rows = query
            .order_by_desc(applicant::Column::CreatedAt)
            .order_by_desc(applicant::Column::Id)
            .limit(limit)
            .offset(offset)
            .all(&self.db)
            .await?;
        let items = rows.into_iter().map(|a| self.applicant_view(a)).collect::<Result<Vec<_>>>()?;
        Ok(ApplicantPage { items, total, limit, offset })
    }

    /// Registers a project (in the area of an office the actor may act for).
    pub async fn register_project(&self, req: RegisterProject) -> Result<ProjectView> {
        let mut errors = Vec::new();
        let ok = validation::project(&req.project, &mut errors);
        if ok && !validation::may_accept_for(&req.actor, &req.project.office) {
            return Err(crate::error::office_forbidden(&req.project.office));
        }
        if !errors.is_empty() {
            return Err(IntakeError::Validation(errors));
        }
        let now = clock::now().trunc_subsecs(6);
        let txn = bangban_platform::db::begin_write(&self.db).await?;
        let model = self.insert_project(&txn, &req.project, now).await?;
        txn.commit().await?;
        project_view(model)
    }

    /// Projects, by office, category and text.
    pub async fn list_projects(&self, f: ListProjects) -> Result<ProjectPage> {
        let (limit, offset) = page(f.limit, f.offset)?;
        let mut cond = Condition::all();
        if let Some(office) = &f.office {
            cond = cond.add(project::Column::Office.eq(office.clone()));
        }
        if let Some(cat) = f.category {
            cond = cond.add(project::Column::Category.eq(cat.as_str()));
        }
        if let Some(q) = f.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            let q: String = q.chars().take(100).collect();
            cond = cond
                .add(Condition::any().add(project::Column::Name.contains(&q)).add(project::Column::Code.contains(&q)));
        }
        let query = project::Entity::find().filter(cond);
        let total = query.clone().count(&self.db).await?;
        let rows = query
            .order_by_desc(project::Column::CreatedAt)
            .order_by_desc(project::Column::Id)
            .limit(limit)
            .offset(offset)
            .all(&self.db)
            .await?;
        let items = rows.into_iter().map(project_view).collect::<Result<Vec<_>>>()?;
        Ok(ProjectPage { items, total, limit, offset })
    }
}
