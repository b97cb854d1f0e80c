//! Service plans (代办方案, 办理事项清单) and their schedules (预排工期): generated on `case.accepted`, edited by
//! the specialist, published as versions on `plan.published`, withdrawn with the case, rescheduled when the
//! calendar changes.

use std::collections::HashSet;

use bangban_contracts::{
    CloudEvent, Event, events,
    intake::{CaseAccepted, CaseTerminated, ProjectView, SpecialistChanged},
    planning::{
        AddPlanItem, CatalogItem, EditPlanItem, GetPlanVersion, ItemOrigin, PlanChanges, PlanEdit, PlanItem,
        PlanProfile, PlanPublished, PlanRevised, PlanStatus, PlanVersionView, PlanView, PublishPlan, PublishedItem,
        RegeneratePlan, RemovePlanItem, RescheduledPlan, RevisedItem, SERVICE, Schedule,
    },
};
use bangban_platform::{
    clock,
    consumer::{EventHandler, HandlerError},
    outbox,
    problem::FieldError,
};
use bangban_workdays::{Calendar, shanghai};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder,
};
use uuid::Uuid;

use crate::{
    PlanningService,
    calendar::parse_date,
    catalog::reason as checked_reason,
    domain::{
        diff,
        schedule::{self, ScheduleError, Targets},
        select::{self, ProfileOverrides},
    },
    entity::{plan, plan_edit, plan_version},
    error::{PlanningError, Result},
};

fn json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| PlanningError::corrupt(e.to_string()))
}

fn from_json<T: serde::de::DeserializeOwned>(what: &str, s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| PlanningError::corrupt(format!("{what}: {e}")))
}

fn items_of(p: &plan::Model) -> Result<Vec<PlanItem>> {
    from_json("plan.items", &p.items)
}

fn published_items_of(p: &plan::Model) -> Result<Vec<PlanItem>> {
    p.published_items
        .as_deref()
        .map(|s| from_json("plan.published_items", s))
        .transpose()
        .map(Option::unwrap_or_default)
}

/// Today in Asia/Shanghai.
pub fn today() -> NaiveDate {
    clock::now().with_timezone(&shanghai()).date_naive()
}

/// The schedule of `items`, a cycle or an unknown predecessor being the client's mistake on `field`.
pub fn schedule_of(
    items: &[PlanItem],
    start_on: NaiveDate,
    calendar: &Calendar,
    profile: &PlanProfile,
    targets: &Targets,
) -> Result<Schedule> {
    schedule::schedule(items, start_on, calendar, profile.investment, targets).map_err(|e| {
        let field = if matches!(e, ScheduleError::TooLong { .. }) { "promised_working_days" } else { "predecessors" };
        PlanningError::Validation(vec![FieldError::new(field, e.reason_zh(), e.to_string())])
    })
}

fn check_editable(p: &plan::Model) -> Result<PlanStatus> {
    match p.status {
        PlanStatus::Withdrawn => Err(PlanningError::Conflict(
            "案件已终止，代办方案已撤回，不能再修改".into(),
            "the case was terminated and its plan withdrawn; it cannot change".into(),
        )),
        PlanStatus::Completed => Err(PlanningError::Conflict(
            "代办方案的事项已全部办结，不能再修改".into(),
            "every item of the plan has concluded; it cannot change".into(),
        )),
        s => Ok(s),
    }
}

fn check_revision(expected: Option<u32>, p: &plan::Model) -> Result<()> {
    match expected {
        Some(e) if e as i32 != p.revision => Err(PlanningError::Conflict(
            format!("方案已被修改（当前修订号 {}，您提交的是 {e}），请刷新后重试", p.revision),
            format!("the plan has changed (revision {} now, you sent {e}); reload and retry", p.revision),
        )),
        _ => Ok(()),
    }
}

async fn record<C: ConnectionTrait>(
    conn: &C,
    case_id: &str,
    action: &str,
    code: Option<&str>,
    reason: Option<&str>,
    actor: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    plan_edit::ActiveModel {
        id: Set(Uuid::now_v7().to_string()),
        case_id: Set(case_id.to_string()),
        action: Set(action.to_string()),
        code: Set(code.map(str::to_string)),
        reason: Set(reason.map(str::to_string)),
        actor: Set(actor.to_string()),
        at: Set(at),
    }
    .insert(conn)
    .await?;
    Ok(())
}

async fn enqueue<E: Event, C: ConnectionTrait>(
    conn: &C,
    office: &str,
    aggregate_id: &str,
    data: &E::Data,
) -> Result<()> {
    outbox::emit::<E, _>(conn, SERVICE, office, None, aggregate_id, data).await
}

fn text_opt(field: &str, value: Option<&str>, max: usize) -> Result<Option<String>> {
    let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) else { return Ok(None) };
    if v.chars().count() > max || v.chars().any(|c| c.is_control() && c != '\n') {
        return Err(PlanningError::field(
            field,
            format!("不能超过 {max} 个字符且不含控制字符"),
            format!("must be at most {max} characters without control characters"),
        ));
    }
    Ok(Some(v.to_string()))
}

fn check_start(start_on: NaiveDate) -> Result<()> {
    let today = today();
    let earliest = today - chrono::Days::new(366);
    let latest = today + chrono::Days::new(3 * 366);
    if start_on < earliest || start_on > latest {
        return Err(PlanningError::field(
            "start_on",
            "开始日期须在一年前至三年后之间",
            "the start date must lie between a year ago and three years ahead",
        ));
    }
    Ok(())
}

impl PlanningService {
    async fn load<C: ConnectionTrait>(&self, conn: &C, case_id: Uuid) -> Result<plan::Model> {
        plan::Entity::find_by_id(case_id.to_string())
            .one(conn)
            .await?
            .ok_or_else(|| crate::error::no_plan(&case_id.to_string()))
    }

    /// The plan as clients see it, with its live schedule and history.
    pub(crate) async fn view<C: ConnectionTrait>(&self, conn: &C, p: &plan::Model) -> Result<PlanView> {
        let (_, calendar) = self.calendar.current(conn).await?;
        let items = items_of(p)?;
        let profile: PlanProfile = from_json("plan.profile", &p.profile)?;
        let start_on = parse_date(&p.start_on)?;
        let schedule = schedule_of(&items, start_on, &calendar, &profile, &self.targets)?;
        let pending_changes = diff::changes(&published_items_of(p)?, &items);
        let history = plan_edit::Entity::find()
            .filter(plan_edit::Column::CaseId.eq(p.case_id.clone()))
            .order_by_asc(plan_edit::Column::At)
            .order_by_asc(plan_edit::Column::Id)
            .all(conn)
            .await?
            .into_iter()
            .map(|e| PlanEdit { action: e.action, code: e.code, reason: e.reason, actor: e.actor, at: e.at })
            .collect();
        Ok(PlanView {
            case_id: Uuid::parse_str(&p.case_id).map_err(PlanningError::corrupt)?,
            ledger_no: p.ledger_no.clone(),
            office: p.office.clone(),
            project: from_json("plan.project", &p.project)?,
            specialist_id: p.specialist_id.clone(),
            version: p.version as u32,
            status: p.status,
            draft_changes: p.version == 0 || !pending_changes.is_empty(),
            pending_changes,
            revision: p.revision as u32,
            catalog_version: p.catalog_version as u32,
            profile,
            start_on,
            items,
            schedule,
            history,
            created_at: p.created_at,
            updated_at: p.updated_at,
            published_at: p.published_at,
        })
    }

    /// A case's plan.
    pub async fn get_plan(&self, case_id: Uuid) -> Result<PlanView> {
        let p = self.load(&self.db, case_id).await?;
        self.view(&self.db, &p).await
    }

    /// A published version as it was published.
    pub async fn get_version(&self, req: GetPlanVersion) -> Result<PlanVersionView> {
        let row = plan_version::Entity::find_by_id((req.case_id.to_string(), req.version as i32))
            .one(&self.db)
            .await?
            .ok_or_else(|| {
                PlanningError::NotFound(
                    format!("方案没有第 {} 版", req.version),
                    format!("the plan has no version {}", req.version),
                )
            })?;
        Ok(PlanVersionView {
            case_id: req.case_id,
            version: row.version as u32,
            catalog_version: row.catalog_version as u32,
            items: from_json("plan_version.items", &row.items)?,
            schedule: from_json("plan_version.schedule", &row.schedule)?,
            changes: from_json("plan_version.changes", &row.changes)?,
            note: row.note,
            published_by: row.published_by,
            published_at: row.published_at,
        })
    }

    /// The draft plan of a newly accepted case (idempotent: a second `case.accepted` changes nothing).
    pub(crate) async fn generate_on_accept(&self, txn: &DatabaseTransaction, data: &CaseAccepted) -> Result<bool> {
        let case_id = data.case_id.to_string();
        if plan::Entity::find_by_id(case_id.clone()).one(txn).await?.is_some() {
            return Ok(false);
        }
        let (_, calendar) = self.calendar.current(txn).await?;
        let (catalog_version, catalog, _) = self.catalog.current(txn).await?;
        let profile = select::resolve_profile(&data.project, &ProfileOverrides::default());
        let items = select::generate_items(&catalog.items, &profile);
        let accepted_on = data.accepted_at.with_timezone(&shanghai()).date_naive();
        let start_on = calendar.add_working_days(accepted_on, 0).value;
        let now = clock::now();
        plan::ActiveModel {
            case_id: Set(case_id.clone()),
            ledger_no: Set(data.ledger_no.clone()),
            office: Set(data.office.clone()),
            project: Set(json(&data.project)?),
            applicant_id: Set(data.applicant_id.to_string()),
            specialist_id: Set(data.specialist_id.clone()),
            status: Set(PlanStatus::Draft),
            version: Set(0),
            revision: Set(1),
            catalog_version: Set(catalog_version),
            profile: Set(json(&profile)?),
            start_on: Set(start_on.format("%Y-%m-%d").to_string()),
            items: Set(json(&items)?),
            published_items: Set(None),
            published_schedule: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            published_at: Set(None),
        }
        .insert(txn)
        .await?;
        let why = format!("按“{}”类别及项目属性生成（事项库第 {catalog_version} 版）", profile.category.label_zh());
        record(txn, &case_id, "generated", None, Some(&why), "system", now).await?;
        tracing::info!(case.id = %case_id, items = items.len(), "draft plan generated");
        Ok(true)
    }

    /// Withdraws the plan of a terminated case.
    pub(crate) async fn withdraw(&self, txn: &DatabaseTransaction, data: &CaseTerminated) -> Result<()> {
        let Some(p) = plan::Entity::find_by_id(data.case_id.to_string()).one(txn).await? else {
            return Ok(());
        };
        if matches!(p.status, PlanStatus::Withdrawn | PlanStatus::Completed) {
            return Ok(());
        }
        let now = clock::now();
        let mut active: plan::ActiveModel = p.clone().into();
        active.status = Set(PlanStatus::Withdrawn);
        active.updated_at = Set(now);
        active.update(txn).await?;
        record(txn, &p.case_id, "withdrawn", None, Some(&data.note), &data.terminated_by, now).await?;
        Ok(())
    }

    /// Every item concluded (routing's `plan.completed`).
    pub(crate) async fn complete(&self, txn: &DatabaseTransaction, case_id: Uuid) -> Result<()> {
        let Some(p) = plan::Entity::find_by_id(case_id.to_string()).one(txn).await? else { return Ok(()) };
        if p.status != PlanStatus::Published {
            return Ok(());
        }
        let now = clock::now();
        let mut active: plan::ActiveModel = p.clone().into();
        active.status = Set(PlanStatus::Completed);
        active.updated_at = Set(now);
        active.update(txn).await?;
        record(txn, &p.case_id, "completed", None, None, "routing", now).await
    }

    pub(crate) async fn change_specialist(&self, txn: &DatabaseTransaction, data: &SpecialistChanged) -> Result<()> {
        let Some(p) = plan::Entity::find_by_id(data.case_id.to_string()).one(txn).await? else { return Ok(()) };
        let mut active: plan::ActiveModel = p.into();
        active.specialist_id = Set(data.to_specialist.clone());
        active.update(txn).await?;
        Ok(())
    }

    /// Saves a new working copy (revision + 1) and records why.
    async fn save(
        &self,
        txn: &DatabaseTransaction,
        p: plan::Model,
        items: &[PlanItem],
        edit: (&str, Option<&str>, &str, &str),
    ) -> Result<plan::Model> {
        let (action, code, reason, actor) = edit;
        let now = clock::now();
        let case_id = p.case_id.clone();
        let mut active: plan::ActiveModel = p.into();
        active.items = Set(json(&items)?);
        active.revision = Set(active.revision.as_ref() + 1);
        active.updated_at = Set(now);
        let saved = active.update(txn).await?;
        record(txn, &case_id, action, code, Some(reason), actor, now).await?;
        Ok(saved)
    }

    /// Validates a new working copy against the calendar (cycles, unknown predecessors).
    async fn check_items(&self, txn: &DatabaseTransaction, p: &plan::Model, items: &[PlanItem]) -> Result<()> {
        let (_, calendar) = self.calendar.current(txn).await?;
        let profile: PlanProfile = from_json("plan.profile", &p.profile)?;
        schedule_of(items, parse_date(&p.start_on)?, &calendar, &profile, &self.targets).map(|_| ())
    }

    /// Generates the draft again from the current catalog, keeping the items the specialist added.
    pub async fn regenerate(&self, req: RegeneratePlan) -> Result<PlanView> {
        let reason = checked_reason("reason", &req.body.reason)?;
        if let Some(start) = req.body.start_on {
            check_start(start)?;
        }
        let txn = bangban_platform::db::begin_write(&self.db).await?;
        let p = self.load(&txn, req.case_id).await?;
        check_editable(&p)?;
        check_revision(req.body.expected_revision, &p)?;
        let (_, calendar) = self.calendar.current(&txn).await?;
        let (catalog_version, catalog, _) = self.catalog.current(&txn).await?;
        let project: ProjectView = from_json("plan.project", &p.project)?;
        let overrides = ProfileOverrides {
            investment: req.body.investment,
            land_supply: req.body.land_supply,
            construction: req.body.construction,
        };
        let profile = select::resolve_profile(&project, &overrides);
        let mut items = select::generate_items(&catalog.items, &profile);
        let generated: HashSet<String> = items.iter().map(|i| i.code.clone()).collect();
        items.extend(
            items_of(&p)?.into_iter().filter(|i| i.origin == ItemOrigin::Added && !generated.contains(&i.code)),
        );
        select::reconcile_predecessors(&mut items, &catalog.items);
        let start_on = calendar.add_working_days(req.body.start_on.unwrap_or(parse_date(&p.start_on)?), 0).value;
        let mut active: plan::ActiveModel = p.clone().into();
        active.profile = Set(json(&profile)?);
        active.catalog_version = Set(catalog_version);
        active.start_on = Set(start_on.format("%Y-%m-%d").to_string());
        let p = active.update(&txn).await?;
        schedule_of(&items, start_on, &calendar, &profile, &self.targets)?;
        let p = self.save(&txn, p, &items, ("regenerated", None, &reason, &req.actor.sub)).await?;
        let view = self.view(&txn, &p).await?;
        txn.commit().await?;
        Ok(view)
    }

    /// Adds an item: from the plan's catalog version, or one of the specialist's own.
    pub async fn add_item(&self, req: AddPlanItem) -> Result<PlanView> {
        let reason = checked_reason("reason", &req.body.reason)?;
        if let Some(item) = &req.body.item {
            let mut errors = crate::domain::catalog::validate_item(item, "item");
            if item.code != req.body.code {
                errors.push(FieldError::new("item.code", "须与 code 一致", "must equal `code`"));
            }
            if !errors.is_empty() {
                return Err(PlanningError::Validation(errors));
            }
        } else if !crate::domain::catalog::is_valid_code(&req.body.code) {
            return Err(PlanningError::field("code", "事项编码格式不正确", "not a valid item code"));
        }
        let txn = bangban_platform::db::begin_write(&self.db).await?;
        let p = self.load(&txn, req.case_id).await?;
        check_editable(&p)?;
        check_revision(req.body.expected_revision, &p)?;
        let mut items = items_of(&p)?;
        if items.iter().any(|i| i.code == req.body.code) {
            return Err(PlanningError::Conflict(
                format!("方案中已有事项 {}", req.body.code),
                format!("the plan already has item {}", req.body.code),
            ));
        }
        let (catalog, _) = self.catalog.get(&txn, p.catalog_version).await?;
        let source: CatalogItem = match &req.body.item {
            Some(item) => item.clone(),
            None => catalog.items.iter().find(|i| i.code == req.body.code).cloned().ok_or_else(|| {
                PlanningError::field(
                    "code",
                    format!("事项库第 {} 版中没有事项 {}", p.catalog_version, req.body.code),
                    format!("version {} of the catalog has no item {}", p.catalog_version, req.body.code),
                )
            })?,
        };
        items.push(select::plan_item(&source, ItemOrigin::Added));
        select::reconcile_predecessors(&mut items, &catalog.items);
        self.check_items(&txn, &p, &items).await?;
        let p = self.save(&txn, p, &items, ("added", Some(&req.body.code), &reason, &req.actor.sub)).await?;
        let view = self.view(&txn, &p).await?;
        txn.commit().await?;
        Ok(view)
    }

    /// Changes an item's unit, time, materials or predecessors.
    pub async fn edit_item(&self, req: EditPlanItem) -> Result<PlanView> {
        let reason = checked_reason("reason", &req.body.reason)?;
        let body = &req.body;
        let mut errors = Vec::new();
        if body.promised_working_days.is_some_and(|d| d > 365) {
            errors.push(FieldError::new("promised_working_days", "不能超过 365 个工作日", "must be at most 365"));
        }
        if let Some(code) = body.unit_code.as_deref().filter(|c| !c.is_empty())
            && (code.len() > 32 || !code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        {
            errors.push(FieldError::new(
                "unit_code",
                "单位编码须为 1–32 位字母、数字、- 或 _",
                "a unit code is 1–32 letters, digits, - or _",
            ));
        }
        if let Some(materials) = &body.materials {
            if materials.is_empty() {
                errors.push(FieldError::new("materials", "至少需要一项申报材料", "at least one material is needed"));
            }
            let mut seen = HashSet::new();
            for (i, m) in materials.iter().enumerate() {
                let n = m.name.trim().chars().count();
                if !(2..=200).contains(&n) {
                    errors.push(FieldError::new(
                        format!("materials[{i}].name"),
                        "须为 2–200 个字符",
                        "must be 2–200 characters",
                    ));
                } else if !seen.insert(m.name.trim().to_string()) {
                    errors.push(FieldError::new(format!("materials[{i}].name"), "材料重复", "listed twice"));
                }
            }
        }
        let note = text_opt("note", body.note.as_deref(), 500)?;
        if !errors.is_empty() {
            return Err(PlanningError::Validation(errors));
        }
        let txn = bangban_platform::db::begin_write(&self.db).await?;
        let p = self.load(&txn, req.case_id).await?;
        check_editable(&p)?;
        check_revision(body.expected_revision, &p)?;
        let mut items = items_of(&p)?;
        let codes: HashSet<String> = items.iter().map(|i| i.code.clone()).collect();
        let Some(item) = items.iter_mut().find(|i| i.code == req.code) else {
            return Err(PlanningError::NotFound(
                format!("方案中没有事项 {}", req.code),
                format!("the plan has no item {}", req.code),
            ));
        };
        if let Some(predecessors) = &body.predecessors {
            let mut errors = Vec::new();
            for (i, code) in predecessors.iter().enumerate() {
                if code == &req.code {
                    errors.push(FieldError::new(
                        format!("predecessors[{i}]"),
                        "不能以自身为前置事项",
                        "cannot precede itself",
                    ));
                } else if !codes.contains(code) {
                    errors.push(FieldError::new(
                        format!("predecessors[{i}]"),
                        format!("方案中没有事项 {code}"),
                        format!("the plan has no item {code}"),
                    ));
                }
            }
            if !errors.is_empty() {
                return Err(PlanningError::Validation(errors));
            }
            let mut unique = Vec::new();
            for code in predecessors {
                if !unique.contains(code) {
                    unique.push(code.clone());
                }
            }
            item.predecessors = unique;
        }
        if let Some(t) = body.unit_type {
            item.unit_type = t;
        }
        if let Some(l) = body.level {
            item.level = l;
        }
        if let Some(code) = &body.unit_code {
            item.unit_code = Some(code.clone()).filter(|c| !c.is_empty());
        }
        if let Some(d) = body.promised_working_days {
            item.promised_working_days = d;
        }
        if let Some(m) = &body.materials {
            item.materials = m.clone();
        }
        if note.is_some() {
            item.note = note;
        }
        self.check_items(&txn, &p, &items).await?;
        let p = self.save(&txn, p, &items, ("changed", Some(&req.code), &reason, &req.actor.sub)).await?;
        let view = self.view(&txn, &p).await?;
        txn.commit().await?;
        Ok(view)
    }

    /// Removes an item; items that waited for it wait for its predecessors instead.
    pub async fn remove_item(&self, req: RemovePlanItem) -> Result<PlanView> {
        let reason = checked_reason("reason", &req.body.reason)?;
        let txn = bangban_platform::db::begin_write(&self.db).await?;
        let p = self.load(&txn, req.case_id).await?;
        check_editable(&p)?;
        check_revision(req.body.expected_revision, &p)?;
        let mut items = items_of(&p)?;
        let Some(index) = items.iter().position(|i| i.code == req.code) else {
            return Err(PlanningError::NotFound(
                format!("方案中没有事项 {}", req.code),
                format!("the plan has no item {}", req.code),
            ));
        };
        let removed = items.remove(index);
        for item in &mut items {
            if let Some(at) = item.predecessors.iter().position(|c| c == &removed.code) {
                item.predecessors.remove(at);
                for (k, pred) in removed.predecessors.iter().enumerate() {
                    if !item.predecessors.contains(pred) {
                        item.predecessors.insert((at + k).min(item.predecessors.len()), pred.clone());
                    }
                }
            }
        }
        let p = self.save(&txn, p, &items, ("removed", Some(&req.code), &reason, &req.actor.sub)).await?;
        let view = self.view(&txn, &p).await?;
        txn.commit().await?;
        Ok(view)
    }

    /// Publishes the working copy as the next version and tells routing, deadline and intake.
    pub async fn publish(&self, req: PublishPlan) -> Result<PlanView> {
        let note = text_opt("note", req.body.note.as_deref(), 500)?;
        let txn = bangban_platform::db::begin_write(&self.db).await?;
        let p = self.load(&txn, req.case_id).await?;
        check_editable(&p)?;
        check_revision(req.body.expected_revision, &p)?;
        let items = items_of(&p)?;
        if items.is_empty() {
            return Err(PlanningError::field(
                "items",
                "方案没有任何事项，不能发布",
                "a plan without items cannot be published",
            ));
        }
        let previous = published_items_of(&p)?;
        let changes = diff::changes(&previous, &items);
        if p.version > 0 && changes.is_empty() {
            return Err(PlanningError::Conflict(
                format!("方案与已发布的第 {} 版相同，无需重新发布", p.version),
                format!("the plan does not differ from the published version {}", p.version),
            ));
        }
        let (_, calendar) = self.calendar.current(&txn).await?;
        let profile: PlanProfile = from_json("plan.profile", &p.profile)?;
        // The first publication starts the work: a draft made days ago is scheduled from today.
        let mut start_on = parse_date(&p.start_on)?;
        if p.version == 0 {
            start_on = start_on.max(calendar.add_working_days(today(), 0).value);
        }
        let schedule = schedule_of(&items, start_on, &calendar, &profile, &self.targets)?;
        let project: ProjectView = from_json("plan.project", &p.project)?;
        let version = p.version + 1;
        let now = clock::now();
        plan_version::ActiveModel {
            case_id: Set(p.case_id.clone()),
            version: Set(version),
            catalog_version: Set(p.catalog_version),
            items: Set(json(&items)?),
            schedule: Set(json(&schedule)?),
            changes: Set(json(&changes)?),
            note: Set(note.clone()),
            published_by: Set(req.actor.sub.clone()),
            published_at: Set(now),
        }
        .insert(&txn)
        .await?;
        let event =
            published_event(&p, &project, version as u32, &items, &schedule, changes, note, &req.actor.sub, now)?;
        enqueue::<events::PlanPublished, _>(&txn, &p.office, &p.case_id, &event).await?;
        let case_id = p.case_id.clone();
        let mut active: plan::ActiveModel = p.into();
        active.status = Set(PlanStatus::Published);
        active.version = Set(version);
        active.start_on = Set(start_on.format("%Y-%m-%d").to_string());
        active.published_items = Set(Some(json(&items)?));
        active.published_schedule = Set(Some(json(&schedule)?));
        active.published_at = Set(Some(now));
        active.updated_at = Set(now);
        let p = active.update(&txn).await?;
        record(
            &txn,
            &case_id,
            "published",
            None,
            Some(&format!("第 {version} 版 / version {version}")),
            &req.actor.sub,
            now,
        )
        .await?;
        let view = self.view(&txn, &p).await?;
        txn.commit().await?;
        self.notifier.notify();
        tracing::info!(case.id = %case_id, version, items = items.len(), "plan published");
        Ok(view)
    }

    /// Recomputes the schedules of open plans against a changed calendar, inside the change's transaction:
    /// a published plan whose dates moved gets `plan.revised`. Returns every plan that moved.
    pub(crate) async fn reschedule_open_plans(
        &self,
        txn: &DatabaseTransaction,
        before: &Calendar,
        after: &Calendar,
        calendar_revision: i64,
        actor: &str,
    ) -> Result<Vec<RescheduledPlan>> {
        let open = plan::Entity::find()
            .filter(plan::Column::Status.is_in([PlanStatus::Draft, PlanStatus::Published]))
            .order_by_asc(plan::Column::CaseId)
            .all(txn)
            .await?;
        let mut moved = Vec::new();
        let now = clock::now();
        for p in open {
            let profile: PlanProfile = from_json("plan.profile", &p.profile)?;
            let start_on = parse_date(&p.start_on)?;
            let case_id = Uuid::parse_str(&p.case_id).map_err(PlanningError::corrupt)?;
            let (items, old) = match p.published_items.as_deref() {
                Some(published) => (
                    from_json::<Vec<PlanItem>>("plan.published_items", published)?,
                    p.published_schedule
                        .as_deref()
                        .map(|s| from_json::<Schedule>("plan.published_schedule", s))
                        .transpose()?,
                ),
                None => (items_of(&p)?, None),
            };
            let old = match old {
                Some(s) => s,
                None => match schedule::schedule(&items, start_on, before, profile.investment, &self.targets) {
                    Ok(s) => s,
                    Err(_) => continue,
                },
            };
            let Ok(new) = schedule::schedule(&items, start_on, after, profile.investment, &self.targets) else {
                continue;
            };
            let moved_items: Vec<&bangban_contracts::planning::ScheduledItem> = new
                .items
                .iter()
                .filter(|n| {
                    old.items
                        .iter()
                        .find(|o| o.code == n.code)
                        .is_none_or(|o| o.start != n.start || o.end != n.end || o.provisional != n.provisional)
                })
                .collect();
            if moved_items.is_empty() {
                continue;
            }
            moved.push(RescheduledPlan {
                case_id,
                office: p.office.clone(),
                version: p.version as u32,
                items: moved_items.iter().map(|i| i.code.clone()).collect(),
            });
            if p.published_items.is_some() {
                let revised = PlanRevised {
                    case_id,
                    office: p.office.clone(),
                    version: p.version as u32,
                    calendar_revision,
                    items: moved_items
                        .iter()
                        .map(|i| RevisedItem {
                            code: i.code.clone(),
                            planned_start: i.start,
                            planned_end: i.end,
                            provisional: i.provisional,
                        })
                        .collect(),
                    planned_end: new.end,
                    total_working_days: new.total_working_days,
                    provisional: new.provisional,
                };
                enqueue::<events::PlanRevised, _>(txn, &p.office, &p.case_id, &revised).await?;
                let mut active: plan::ActiveModel = p.clone().into();
                active.published_schedule = Set(Some(json(&new)?));
                active.updated_at = Set(now);
                active.update(txn).await?;
                let why = format!("工作日历调整（第 {calendar_revision} 次修订），预排工期重新计算");
                record(txn, &p.case_id, "rescheduled", None, Some(&why), actor, now).await?;
            }
        }
        Ok(moved)
    }
}

#[allow(clippy::too_many_arguments)]
fn published_event(
    p: &plan::Model,
    project: &ProjectView,
    version: u32,
    items: &[PlanItem],
    schedule: &Schedule,
    changes: PlanChanges,
    note: Option<String>,
    by: &str,
    at: DateTime<Utc>,
) -> Result<PlanPublished> {
    let items = items
        .iter()
        .map(|i| {
            let s = schedule
                .items
                .iter()
                .find(|s| s.code == i.code)
                .ok_or_else(|| PlanningError::corrupt(format!("no schedule for {}", i.code)))?;
            Ok(PublishedItem {
                code: i.code.clone(),
                name: i.name.clone(),
                stage: i.stage,
                unit_type: i.unit_type,
                level: i.level,
                unit_code: i.unit_code.clone(),
                materials: i.materials.clone(),
                promised_working_days: i.promised_working_days,
                legal_basis: i.legal_basis.clone(),
                predecessors: i.predecessors.clone(),
                planned_start: s.start,
                planned_end: s.end,
                critical: s.critical,
                provisional: s.provisional,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(PlanPublished {
        case_id: Uuid::parse_str(&p.case_id).map_err(PlanningError::corrupt)?,
        ledger_no: p.ledger_no.clone(),
        office: p.office.clone(),
        version,
        category: project.category,
        project_id: project.id,
        project_office: project.office.clone(),
        project_name: project.name.clone(),
        applicant_id: Uuid::parse_str(&p.applicant_id).map_err(PlanningError::corrupt)?,
        specialist_id: p.specialist_id.clone(),
        catalog_version: p.catalog_version as u32,
        items,
        planned_start: schedule.start,
        planned_end: schedule.end,
        total_working_days: schedule.total_working_days,
        critical_path: schedule.critical_path.clone(),
        provisional: schedule.provisional,
        changes,
        note,
        published_by: by.to_string(),
        published_at: at,
    })
}

/// Follows intake and routing: `case.accepted` → a draft plan, `case.terminated` → withdrawn,
/// `case.specialist_changed` → the new specialist, `plan.completed` → completed.
impl EventHandler for PlanningService {
    async fn handle(&self, txn: &DatabaseTransaction, _subject: &str, event: &CloudEvent) -> Result<(), HandlerError> {
        bangban_platform::dispatch!(event, {
            events::CaseAccepted => |data| {
                self.generate_on_accept(txn, &data).await?;
                Ok(())
            },
            events::CaseTerminated => |data| Ok(self.withdraw(txn, &data).await?),
            events::CaseSpecialistChanged => |data| Ok(self.change_specialist(txn, &data).await?),
            events::PlanCompleted => |data| Ok(self.complete(txn, data.case_id).await?),
        })
    }
}
