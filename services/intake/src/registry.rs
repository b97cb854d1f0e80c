//! The register of applicants (服务对象) and projects (项目), which cases refer to by id.

use bangban_contracts::intake::{
    ApplicantPage, ApplicantView, ListApplicants, ListProjects, ProjectPage, ProjectView, RegisterApplicant,
    RegisterProject, Registered,
};
use bangban_platform::{clock, problem::FieldError};
use chrono::SubsecRound;
use sea_orm::{ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::{
    IntakeService,
    case_ops::MAX_PAGE,
    domain::validation,
    entity::{applicant, project},
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
    Ok((limit, offset.unwrap_or(0)))
}

impl IntakeService {
    /// Registers an applicant — or returns the one already registered with the same ID number or
    /// credit code (refreshing name and phone).
    pub async fn register_applicant(&self, req: RegisterApplicant) -> Result<Registered<ApplicantView>> {
        let mut errors = Vec::new();
        let identity = validation::applicant(&req.applicant, &mut errors);
        if !errors.is_empty() {
            return Err(IntakeError::Validation(errors));
        }
        let mut attempt = 0;
        loop {
            let now = clock::now().trunc_subsecs(6);
            let txn = bangban_platform::db::begin_write(&self.db).await?;
            let (model, created) = match self.upsert_applicant(&txn, &req.applicant, &identity, now).await {
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

    /// Applicants, personal data masked.
    pub async fn list_applicants(&self, f: ListApplicants) -> Result<ApplicantPage> {
        let (limit, offset) = page(f.limit, f.offset)?;
        let mut cond = Condition::all();
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
            return Err(IntakeError::OfficeForbidden { actor: req.actor.sub, office: req.project.office });
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
