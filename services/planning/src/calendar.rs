//! The working-day calendar as planning keeps it (工作日历): the compiled-in years, years and overrides an
//! administrator loaded (stored, so every replica and every restart sees them), and a revision that tells a
//! replica when its cached calendar is stale.

use std::sync::{Arc, RwLock};

use bangban_contracts::planning::{
    CalendarAnswer, CalendarChangeKind, CalendarDay, CalendarInfo, CalendarOverride, CalendarQuery, LoadedYear,
};
use bangban_platform::problem::FieldError;
use bangban_workdays::{Calendar, CalendarError, Override, load_year_json};
use chrono::{Datelike, NaiveDate};
use sea_orm::{ConnectionTrait, DbBackend, EntityTrait, QueryOrder, Statement};

use crate::{
    entity::{calendar_override, calendar_state, calendar_year},
    error::{PlanningError, Result},
};

/// Years an administrator may load, and the widest span arithmetic is asked about.
pub const YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

/// The calendar cache of one replica.
#[derive(Default)]
pub struct CalendarStore {
    cached: RwLock<Option<(i64, Arc<Calendar>)>>,
}

impl CalendarStore {
    /// The calendar as stored now, with its revision: the cached one unless the revision moved.
    pub async fn current<C: ConnectionTrait>(&self, conn: &C) -> Result<(i64, Arc<Calendar>)> {
        let revision = revision(conn).await?;
        if let Some((cached, calendar)) = self.cached.read().expect("calendar cache lock").as_ref()
            && *cached == revision
        {
            return Ok((revision, calendar.clone()));
        }
        let calendar = Arc::new(build(conn).await?);
        self.remember(revision, calendar.clone());
        Ok((revision, calendar))
    }

    /// Keeps a calendar this replica just built or changed.
    pub fn remember(&self, revision: i64, calendar: Arc<Calendar>) {
        let mut cached = self.cached.write().expect("calendar cache lock");
        if cached.as_ref().is_none_or(|(r, _)| *r <= revision) {
            *cached = Some((revision, calendar));
        }
    }
}

/// The stored revision.
pub async fn revision<C: ConnectionTrait>(conn: &C) -> Result<i64> {
    let row = calendar_state::Entity::find_by_id(1)
        .one(conn)
        .await?
        .ok_or_else(|| PlanningError::corrupt("calendar_state has no row"))?;
    Ok(row.revision)
}

/// Takes the calendar's write lock (the row of `calendar_state`) and returns the next revision.
pub async fn bump_revision<C: ConnectionTrait>(conn: &C) -> Result<i64> {
    conn.execute_raw(Statement::from_string(
        conn.get_database_backend(),
        "UPDATE calendar_state SET revision = revision + 1 WHERE id = 1",
    ))
    .await?;
    revision(conn).await
}

/// The calendar from the compiled-in years, the stored years and the stored overrides.
pub async fn build<C: ConnectionTrait>(conn: &C) -> Result<Calendar> {
    let mut calendar = Calendar::embedded();
    for row in calendar_year::Entity::find().order_by_asc(calendar_year::Column::Year).all(conn).await? {
        let schedule =
            load_year_json(&row.document).map_err(|e| PlanningError::corrupt(format!("year {}: {e}", row.year)))?;
        calendar.insert_year(schedule);
    }
    for row in calendar_override::Entity::find().all(conn).await? {
        calendar.set_override(override_of(&row)?);
    }
    Ok(calendar)
}

pub fn override_of(row: &calendar_override::Model) -> Result<Override> {
    Ok(Override {
        date: parse_date(&row.date)?,
        working: row.working,
        name: row.name.clone(),
        reason: row.reason.clone(),
    })
}

pub fn parse_date(s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| PlanningError::corrupt(format!("stored date {s:?}")))
}

pub fn override_view(row: &calendar_override::Model) -> Result<CalendarOverride> {
    Ok(CalendarOverride {
        date: parse_date(&row.date)?,
        working_day: row.working,
        name: row.name.clone(),
        reason: row.reason.clone(),
        set_by: row.set_by.clone(),
        set_at: row.set_at,
    })
}

pub fn day(calendar: &Calendar, date: NaiveDate) -> CalendarDay {
    let info = calendar.day(date);
    CalendarDay { date: info.date, working_day: info.working_day, provisional: info.provisional, name: info.name }
}

/// The calendar's state: loaded years (compiled-in or stored) and overrides.
pub async fn info<C: ConnectionTrait>(conn: &C, calendar: &Calendar, revision: i64) -> Result<CalendarInfo> {
    let stored = calendar_year::Entity::find().all(conn).await?;
    let years = calendar
        .loaded_years()
        .filter_map(|year| calendar.year(year))
        .map(|schedule| {
            let row = stored.iter().find(|r| r.year == schedule.year());
            LoadedYear {
                year: schedule.year(),
                source: if row.is_some() { "loaded" } else { "embedded" }.to_string(),
                papers: schedule.papers().to_vec(),
                days_off: schedule.days().iter().filter(|d| d.is_off_day).count() as u32,
                make_up_days: schedule.days().iter().filter(|d| !d.is_off_day).count() as u32,
                loaded_by: row.map(|r| r.loaded_by.clone()),
                loaded_at: row.map(|r| r.loaded_at),
            }
        })
        .collect();
    let overrides = calendar_override::Entity::find()
        .order_by_asc(calendar_override::Column::Date)
        .all(conn)
        .await?
        .iter()
        .map(override_view)
        .collect::<Result<Vec<_>>>()?;
    Ok(CalendarInfo { revision, years, overrides })
}

fn in_range(field: &str, date: NaiveDate) -> Result<()> {
    if YEARS.contains(&date.year()) {
        return Ok(());
    }
    Err(PlanningError::field(
        field,
        format!("日期须在 {} 至 {} 年之间", YEARS.start(), YEARS.end()),
        format!("the date must lie in the years {} to {}", YEARS.start(), YEARS.end()),
    ))
}

/// Working-day arithmetic on request.
pub fn compute(calendar: &Calendar, query: &CalendarQuery) -> Result<CalendarAnswer> {
    let answer = CalendarAnswer { date: None, days: None, instant: None, provisional: false };
    Ok(match *query {
        CalendarQuery::AddWorkingDays { date, days } => {
            in_range("date", date)?;
            if days > 10_000 {
                return Err(PlanningError::field(
                    "days",
                    "不能超过 10000 个工作日",
                    "must not exceed 10000 working days",
                ));
            }
            let result = calendar.add_working_days(date, days);
            in_range("days", result.value)?;
            CalendarAnswer { date: Some(result.value), provisional: result.provisional, ..answer }
        }
        CalendarQuery::WorkingDaysBetween { from, to } => {
            in_range("from", from)?;
            in_range("to", to)?;
            let result = calendar.working_days_between(from, to);
            CalendarAnswer { days: Some(result.value), provisional: result.provisional, ..answer }
        }
        CalendarQuery::NextWorkingDay { date } => {
            in_range("date", date)?;
            let result = calendar.next_working_day(date);
            CalendarAnswer { date: Some(result.value), provisional: result.provisional, ..answer }
        }
        CalendarQuery::DeadlineInstant { date } => {
            in_range("date", date)?;
            let result = calendar.deadline_instant(date);
            CalendarAnswer { instant: Some(result.value), provisional: result.provisional, ..answer }
        }
    })
}

/// A year's schedule as given, checked: the JSON day-list of holiday-cn, for the year of the path.
pub fn parse_year(year: i32, document: &serde_json::Value) -> Result<bangban_workdays::YearSchedule> {
    if !YEARS.contains(&year) {
        return Err(PlanningError::field(
            "year",
            format!("年份须在 {} 至 {} 之间", YEARS.start(), YEARS.end()),
            format!("the year must lie between {} and {}", YEARS.start(), YEARS.end()),
        ));
    }
    let given = document.get("year").and_then(serde_json::Value::as_i64);
    if given != Some(i64::from(year)) {
        return Err(PlanningError::field(
            "schedule.year",
            format!("须与地址中的年份 {year} 一致"),
            format!("must equal the year of the path, {year}"),
        ));
    }
    let schedule = load_year_json(&document.to_string()).map_err(|e| PlanningError::Validation(vec![year_error(e)]))?;
    if schedule.days().is_empty() {
        return Err(PlanningError::field(
            "schedule.days",
            "节假日安排不能为空",
            "the schedule must list the holidays of the year",
        ));
    }
    Ok(schedule)
}

fn year_error(e: CalendarError) -> FieldError {
    match e {
        CalendarError::Json(e) => FieldError::new(
            "schedule",
            format!("不是节假日安排格式（{{year, papers, days: [{{name, date, isOffDay}}]}}）：{e}"),
            format!("not the day-list format ({{year, papers, days: [{{name, date, isOffDay}}]}}): {e}"),
        ),
        CalendarError::InvalidDate { date } => FieldError::new(
            "schedule.days",
            format!("“{date}”不是有效日期（YYYY-MM-DD）"),
            format!("`{date}` is not a real date (YYYY-MM-DD)"),
        ),
        CalendarError::YearMismatch { year, date } => FieldError::new(
            "schedule.days",
            format!("{date} 不在 {year} 年内"),
            format!("{date} is not in the year {year}"),
        ),
        CalendarError::Duplicate { date } => {
            FieldError::new("schedule.days", format!("{date} 重复列出"), format!("{date} is listed twice"))
        }
        CalendarError::MakeUpNotOnWeekend { date, .. } => FieldError::new(
            "schedule.days",
            format!("{date} 不是周末，不能作为调休上班日（isOffDay: false）"),
            format!("{date} is not a Saturday or Sunday, so it cannot be a make-up working day (isOffDay: false)"),
        ),
        CalendarError::EmptyName { date } => {
            FieldError::new("schedule.days", format!("{date} 缺少节日名称"), format!("{date} has no holiday name"))
        }
    }
}

/// Dates of `dates` whose working-day status differs between two calendars.
pub fn changed_dates(
    before: &Calendar,
    after: &Calendar,
    dates: impl IntoIterator<Item = NaiveDate>,
) -> Vec<NaiveDate> {
    dates.into_iter().filter(|d| before.is_working_day(*d).value != after.is_working_day(*d).value).collect()
}

/// Every date of a year.
pub fn days_of(year: i32) -> Vec<NaiveDate> {
    let Some(first) = NaiveDate::from_ymd_opt(year, 1, 1) else { return Vec::new() };
    first.iter_days().take_while(|d| d.year() == year).collect()
}

/// The backend-specific upsert of a loaded year.
pub async fn store_year<C: ConnectionTrait>(
    conn: &C,
    year: i32,
    document: &str,
    by: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    let backend = conn.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            "INSERT INTO calendar_year (year, document, loaded_by, loaded_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (year) DO UPDATE SET document = EXCLUDED.document, loaded_by = EXCLUDED.loaded_by, \
             loaded_at = EXCLUDED.loaded_at"
        }
        _ => {
            "INSERT INTO calendar_year (year, document, loaded_by, loaded_at) VALUES (?, ?, ?, ?) \
             ON CONFLICT (year) DO UPDATE SET document = excluded.document, loaded_by = excluded.loaded_by, \
             loaded_at = excluded.loaded_at"
        }
    };
    conn.execute_raw(Statement::from_sql_and_values(
        backend,
        sql,
        [year.into(), document.into(), by.into(), at.into()],
    ))
    .await?;
    Ok(())
}

/// The change as `calendar.changed` carries it, for a year.
pub fn year_change(schedule: &bangban_workdays::YearSchedule) -> Result<CalendarChangeKind> {
    Ok(CalendarChangeKind::YearLoaded {
        year: schedule.year(),
        schedule: serde_json::to_value(schedule).map_err(|e| PlanningError::corrupt(e.to_string()))?,
    })
}
