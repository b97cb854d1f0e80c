//! Planning (代办方案, §4.3, §7.3): the working-day calendar (工作日历), the approval-item catalog (事项库),
//! service plans (办理事项清单) and their schedules (预排工期).
//!
//! - The calendar is the compiled-in State Council schedules plus the years and overrides an administrator
//!   loads; every change recomputes the schedules of open plans and is announced on `calendar.changed`
//!   (with `plan.revised` for each published plan whose dates moved).
//! - The catalog is versioned: version 1 from `data/catalog.json`, one more per edit; a plan keeps the
//!   version it was generated from.
//! - On `case.accepted` a draft plan is generated from the project's category and attributes; the
//!   specialist edits it and publishes versions on `plan.published`, which carries everything routing and
//!   deadline need.

pub mod calendar;
pub mod catalog;
pub mod domain;
pub mod entity;
pub mod error;
pub mod handlers;
pub mod plans;
pub mod settings;

use std::sync::Arc;

use bangban_contracts::{
    events,
    office::CITY_OFFICE,
    planning::{
        CalendarAnswer, CalendarChange, CalendarChangeKind, CalendarDay, CalendarInfo, CalendarQuery,
        CatalogVersionPage, CatalogVersionView, CatalogView, GetCatalog, ListCatalogVersions, LoadYear, PutCatalogItem,
        RemoveCatalogItem, RemoveOverride, SERVICE, SetOverride,
    },
};
use bangban_platform::{
    clock, db,
    outbox::{self, OutboxNotifier},
};
use bangban_workdays::{Calendar, Override};
use chrono::{NaiveDate, Utc};
use sea_orm::{ActiveValue::Set, DatabaseConnection, DatabaseTransaction, EntityTrait};

use crate::{
    calendar::{CalendarStore, bump_revision},
    catalog::CatalogStore,
    domain::schedule::Targets,
    entity::calendar_override,
    error::{PlanningError, Result},
};

pub(crate) use bangban_platform::db::is_unique_violation;

pub use crate::settings::PlanningSettings;

/// Planning's state: the database, the outbox's wake-up, the calendar and catalog caches and the targets.
pub struct PlanningService {
    pub(crate) db: DatabaseConnection,
    pub(crate) notifier: OutboxNotifier,
    pub(crate) calendar: CalendarStore,
    pub(crate) catalog: CatalogStore,
    pub(crate) targets: Targets,
}

impl PlanningService {
    pub fn new(db: DatabaseConnection, notifier: OutboxNotifier, targets: Targets) -> Self {
        Self { db, notifier, calendar: CalendarStore::default(), catalog: CatalogStore::default(), targets }
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// The calendar as stored now.
    pub async fn current_calendar(&self) -> Result<Arc<Calendar>> {
        Ok(self.calendar.current(&self.db).await?.1)
    }

    /// The catalog, filtered (`GET /api/v1/catalog`).
    pub async fn catalog_view(&self, req: GetCatalog) -> Result<CatalogView> {
        self.catalog.view(&self.db, &req).await
    }

    /// A page of catalog versions, newest first.
    pub async fn catalog_versions(&self, req: ListCatalogVersions) -> Result<CatalogVersionPage> {
        catalog::versions(&self.db, &req).await
    }

    /// Adds or replaces a catalog item: a new version.
    pub async fn put_catalog_item(&self, req: PutCatalogItem) -> Result<CatalogVersionView> {
        self.catalog.put_item(&self.db, req).await
    }

    /// Removes a catalog item: a new version.
    pub async fn remove_catalog_item(&self, req: RemoveCatalogItem) -> Result<CatalogVersionView> {
        self.catalog.remove_item(&self.db, req).await
    }

    /// One date (`GET /api/v1/calendar/{date}`).
    pub async fn calendar_day(&self, date: NaiveDate) -> Result<CalendarDay> {
        let (_, calendar) = self.calendar.current(&self.db).await?;
        Ok(calendar::day(&calendar, date))
    }

    /// The loaded years and overrides.
    pub async fn calendar_info(&self) -> Result<CalendarInfo> {
        let (revision, calendar) = self.calendar.current(&self.db).await?;
        calendar::info(&self.db, &calendar, revision).await
    }

    /// Working-day arithmetic.
    pub async fn calendar_compute(&self, query: CalendarQuery) -> Result<CalendarAnswer> {
        let (_, calendar) = self.calendar.current(&self.db).await?;
        calendar::compute(&calendar, &query)
    }

    /// Loads or replaces a year's schedule (every November the State Council publishes next year's).
    pub async fn load_year(&self, req: LoadYear) -> Result<CalendarChange> {
        let schedule = calendar::parse_year(req.year, &req.schedule)?;
        let document = serde_json::to_string(&schedule).map_err(|e| PlanningError::corrupt(e.to_string()))?;
        let change = calendar::year_change(&schedule)?;
        let dates = calendar::days_of(req.year);
        let actor = req.actor.sub.clone();
        self.change_calendar(&actor, change, dates, |txn, at| {
            let (year, document, actor) = (req.year, document.clone(), actor.clone());
            Box::pin(async move { calendar::store_year(txn, year, &document, &actor, at).await })
        })
        .await
    }

    /// Sets a local closure or a correction of one date.
    pub async fn set_override(&self, req: SetOverride) -> Result<CalendarChange> {
        calendar::parse_date(&req.date.format("%Y-%m-%d").to_string())?;
        if !calendar::YEARS.contains(&chrono::Datelike::year(&req.date)) {
            return Err(PlanningError::field("date", "日期超出范围", "the date is out of range"));
        }
        let mut errors = Vec::new();
        let name = req.day.name.trim().to_string();
        if !(1..=50).contains(&name.chars().count()) || name.chars().any(char::is_control) {
            errors.push(bangban_platform::problem::FieldError::new(
                "name",
                "须为 1–50 个字符且不含控制字符",
                "must be 1–50 characters without control characters",
            ));
        }
        let reason = match catalog::reason("reason", &req.day.reason) {
            Ok(r) => r,
            Err(PlanningError::Validation(e)) => {
                errors.extend(e);
                String::new()
            }
            Err(e) => return Err(e),
        };
        if !errors.is_empty() {
            return Err(PlanningError::Validation(errors));
        }
        let actor = req.actor.sub.clone();
        let row = calendar_override::Model {
            date: req.date.format("%Y-%m-%d").to_string(),
            working: req.day.working_day,
            name,
            reason,
            set_by: actor.clone(),
            set_at: clock::now(),
        };
        let change = CalendarChangeKind::OverrideSet { day: calendar::override_view(&row)? };
        self.change_calendar(&actor, change, vec![req.date], move |txn, _| {
            let row = row.clone();
            Box::pin(async move {
                calendar_override::Entity::delete_by_id(row.date.clone()).exec(txn).await?;
                calendar_override::Entity::insert(calendar_override::ActiveModel {
                    date: Set(row.date),
                    working: Set(row.working),
                    name: Set(row.name),
                    reason: Set(row.reason),
                    set_by: Set(row.set_by),
                    set_at: Set(row.set_at),
                })
                .exec(txn)
                .await?;
                Ok(())
            })
        })
        .await
    }

    /// Removes an override: the date follows the schedule again.
    pub async fn remove_override(&self, req: RemoveOverride) -> Result<CalendarChange> {
        let reason = catalog::reason("reason", &req.reason)?;
        let key = req.date.format("%Y-%m-%d").to_string();
        if calendar_override::Entity::find_by_id(key.clone()).one(&self.db).await?.is_none() {
            return Err(PlanningError::NotFound(format!("{key} 没有设置例外"), format!("{key} has no override")));
        }
        let change = CalendarChangeKind::OverrideRemoved { date: req.date, reason };
        self.change_calendar(&req.actor.sub, change, vec![req.date], move |txn, _| {
            let key = key.clone();
            Box::pin(async move {
                calendar_override::Entity::delete_by_id(key).exec(txn).await?;
                Ok(())
            })
        })
        .await
    }

    /// One calendar change, whole: takes the calendar's lock (its revision row), stores the change, compares
    /// the dates it may move, recomputes open plans, and publishes `calendar.changed` — in one transaction.
    async fn change_calendar<F>(
        &self,
        actor: &str,
        change: CalendarChangeKind,
        dates: Vec<NaiveDate>,
        store: F,
    ) -> Result<CalendarChange>
    where
        F: for<'t> Fn(
            &'t DatabaseTransaction,
            chrono::DateTime<Utc>,
        ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<()>> + Send + 't>>,
    {
        let txn = db::begin_write(&self.db).await?;
        let revision = bump_revision(&txn).await?;
        let before = calendar::build(&txn).await?;
        let at = clock::now();
        store(&txn, at).await?;
        let mut after = before.clone();
        match &change {
            CalendarChangeKind::YearLoaded { schedule, .. } => {
                let parsed = bangban_workdays::load_year_json(&schedule.to_string())
                    .map_err(|e| PlanningError::corrupt(e.to_string()))?;
                after.insert_year(parsed);
            }
            CalendarChangeKind::OverrideSet { day } => {
                after.set_override(Override {
                    date: day.date,
                    working: day.working_day,
                    name: day.name.clone(),
                    reason: day.reason.clone(),
                });
            }
            CalendarChangeKind::OverrideRemoved { date, .. } => {
                after.remove_override(*date);
            }
        }
        let dates_changed = calendar::changed_dates(&before, &after, dates);
        let plans_rescheduled = self.reschedule_open_plans(&txn, &before, &after, revision, actor).await?;
        let data = CalendarChange {
            revision,
            change,
            dates_changed,
            plans_rescheduled,
            changed_by: actor.to_string(),
            changed_at: at,
        };
        let aggregate = format!("calendar-{revision}");
        outbox::emit::<events::CalendarChanged, _>(&txn, SERVICE, CITY_OFFICE, None, &aggregate, &data).await?;
        txn.commit().await?;
        self.notifier.notify();
        self.calendar.remember(revision, Arc::new(after));
        tracing::info!(
            revision,
            dates = data.dates_changed.len(),
            plans = data.plans_rescheduled.len(),
            "calendar changed"
        );
        Ok(data)
    }
}
