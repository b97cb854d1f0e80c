//! Business monitoring (业务监控 §6.2): current warnings and overdue by office, unit, stage and category; the
//! on-time rate and the average working days per item — two grouped queries over the indexed clock table,
//! rolled up here.

use std::collections::BTreeMap;

use bangban_contracts::{
    deadline::{AlertLevel, ClockStatus, Monitoring, MonitoringFigures, MonitoringQuery, ProblemStatus},
    intake::ProjectCategory,
    office::office_name,
    planning::Stage,
};
use bangban_platform::clock;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QuerySelect, sea_query::Expr};

use crate::{
    DeadlineService, date_str,
    entity::{clock as clock_e, problem},
    error::Result,
};

#[derive(Default, Clone)]
struct Acc {
    label: Option<String>,
    open: u64,
    paused: u64,
    warning: u64,
    overdue: u64,
    concluded: u64,
    on_time: u64,
    used_days: u64,
}

impl Acc {
    fn figures(&self, key: &str) -> MonitoringFigures {
        MonitoringFigures {
            key: key.to_string(),
            label: self.label.clone(),
            open: self.open,
            paused: self.paused,
            warning: self.warning,
            overdue: self.overdue,
            concluded: self.concluded,
            concluded_on_time: self.on_time,
            on_time_rate: (self.concluded > 0).then(|| self.on_time as f64 / self.concluded as f64),
            average_working_days: (self.concluded > 0).then(|| self.used_days as f64 / self.concluded as f64),
        }
    }
}

fn roll(map: &BTreeMap<String, Acc>) -> Vec<MonitoringFigures> {
    map.iter().map(|(k, a)| a.figures(k)).collect()
}

/// Open clocks grouped: unit office, unit, unit name, stage, category, status, alert, count.
type OpenRow = (String, String, Option<String>, Stage, Option<ProjectCategory>, ClockStatus, AlertLevel, i64);
/// Concluded clocks grouped: unit office, unit, unit name, stage, category, count, on time, working days used.
type ConcludedRow = (String, String, Option<String>, Stage, Option<ProjectCategory>, i64, Option<i64>, Option<i64>);

impl DeadlineService {
    pub async fn monitoring(&self, req: MonitoringQuery) -> Result<Monitoring> {
        let scope = |office: &Option<String>| {
            let mut c = Condition::all();
            if let Some(o) = office {
                c = c.add(crate::in_office(clock_e::Column::UnitOffice, clock_e::Column::Office, o));
            }
            c
        };
        let open: Vec<OpenRow> = clock_e::Entity::find()
            .select_only()
            .column(clock_e::Column::UnitOffice)
            .column(clock_e::Column::UnitCode)
            .expr(sea_orm::sea_query::ExprTrait::max(Expr::col(clock_e::Column::UnitName)))
            .column(clock_e::Column::Stage)
            .column(clock_e::Column::Category)
            .column(clock_e::Column::Status)
            .column(clock_e::Column::Alert)
            .expr(Expr::cust("COUNT(*)"))
            .filter(scope(&req.office))
            .filter(clock_e::Column::Status.is_in(ClockStatus::OPEN))
            .group_by(clock_e::Column::UnitOffice)
            .group_by(clock_e::Column::UnitCode)
            .group_by(clock_e::Column::Stage)
            .group_by(clock_e::Column::Category)
            .group_by(clock_e::Column::Status)
            .group_by(clock_e::Column::Alert)
            .into_tuple()
            .all(&self.db)
            .await?;
        let mut concluded_q = clock_e::Entity::find()
            .select_only()
            .column(clock_e::Column::UnitOffice)
            .column(clock_e::Column::UnitCode)
            .expr(sea_orm::sea_query::ExprTrait::max(Expr::col(clock_e::Column::UnitName)))
            .column(clock_e::Column::Stage)
            .column(clock_e::Column::Category)
            .expr(Expr::cust("COUNT(*)"))
            .expr(Expr::cust("SUM(CASE WHEN on_time THEN 1 ELSE 0 END)"))
            .expr(Expr::cust("SUM(COALESCE(used_working_days, 0))"))
            .filter(scope(&req.office))
            .filter(clock_e::Column::Status.eq(ClockStatus::Stopped));
        if let Some(from) = req.from {
            concluded_q = concluded_q.filter(clock_e::Column::FinishedDate.gte(date_str(from)));
        }
        if let Some(to) = req.to {
            concluded_q = concluded_q.filter(clock_e::Column::FinishedDate.lte(date_str(to)));
        }
        let concluded: Vec<ConcludedRow> = concluded_q
            .group_by(clock_e::Column::UnitOffice)
            .group_by(clock_e::Column::UnitCode)
            .group_by(clock_e::Column::Stage)
            .group_by(clock_e::Column::Category)
            .into_tuple()
            .all(&self.db)
            .await?;

        let mut total = Acc::default();
        let (mut by_office, mut by_unit, mut by_stage, mut by_category) = (
            BTreeMap::<String, Acc>::new(),
            BTreeMap::<String, Acc>::new(),
            BTreeMap::<String, Acc>::new(),
            BTreeMap::<String, Acc>::new(),
        );
        // A clock stamped before its case's plan was published has no category yet: "unknown", unlabelled.
        let category_key = |c: Option<ProjectCategory>| {
            (c.map_or("unknown", ProjectCategory::as_str).to_string(), c.map(|c| c.label_zh().to_string()))
        };
        for (office, unit, unit_name, stage, category, status, alert, n) in open {
            let n = n.max(0) as u64;
            let paused = status == ClockStatus::Paused;
            let (category, category_label) = category_key(category);
            for (map, key, label) in [
                (&mut by_office, office.clone(), office_name(&office).map(str::to_string)),
                (&mut by_unit, unit.clone(), unit_name.clone()),
                (&mut by_stage, stage.as_str().to_string(), Some(stage.label_zh().to_string())),
                (&mut by_category, category, category_label),
            ] {
                let a = map.entry(key).or_default();
                a.label = a.label.take().or(label);
                add_open(a, n, paused, alert);
            }
            add_open(&mut total, n, paused, alert);
        }
        for (office, unit, unit_name, stage, category, n, on_time, used) in concluded {
            let (n, on_time, used) =
                (n.max(0) as u64, on_time.unwrap_or(0).max(0) as u64, used.unwrap_or(0).max(0) as u64);
            let (category, category_label) = category_key(category);
            for (map, key, label) in [
                (&mut by_office, office.clone(), office_name(&office).map(str::to_string)),
                (&mut by_unit, unit.clone(), unit_name.clone()),
                (&mut by_stage, stage.as_str().to_string(), Some(stage.label_zh().to_string())),
                (&mut by_category, category, category_label),
            ] {
                let a = map.entry(key).or_default();
                a.label = a.label.take().or(label);
                add_concluded(a, n, on_time, used);
            }
            add_concluded(&mut total, n, on_time, used);
        }
        let (supervision_open, supervision_escalated) = self.notice_counts(&self.db, req.office.as_deref()).await?;
        let mut problems = problem::Entity::find().filter(problem::Column::Status.ne(ProblemStatus::Solved));
        if let Some(o) = &req.office {
            problems = problems.filter(crate::in_office(problem::Column::UnitOffice, problem::Column::Office, o));
        }
        let problems_open = sea_orm::PaginatorTrait::count(problems, &self.db).await?;
        Ok(Monitoring {
            office: req.office,
            from: req.from,
            to: req.to,
            total: total.figures(""),
            by_office: roll(&by_office),
            by_unit: roll(&by_unit),
            by_stage: roll(&by_stage),
            by_category: roll(&by_category),
            supervision_open,
            supervision_escalated,
            problems_open,
            at: clock::now(),
        })
    }
}

fn add_open(a: &mut Acc, n: u64, paused: bool, alert: AlertLevel) {
    a.open += n;
    if paused {
        a.paused += n;
    }
    match alert {
        AlertLevel::Warning => a.warning += n,
        AlertLevel::Overdue => a.overdue += n,
        AlertLevel::Normal => {}
    }
}

fn add_concluded(a: &mut Acc, n: u64, on_time: u64, used: u64) {
    a.concluded += n;
    a.on_time += on_time;
    a.used_days += used;
}
