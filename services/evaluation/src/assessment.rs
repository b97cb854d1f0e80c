//! Staff assessment (考核 §8.2.1) and rating statistics: computed from the ratings, rectifications and the
//! task facts evaluation keeps from the bus. Ratings whose appeal was upheld are left out of the rating figures and
//! the statistics; the rectification of such a rating still counts, as work the assignee did (on time or not).

use std::collections::BTreeMap;

use bangban_contracts::evaluation::{
    AppealStatus, Assessment, AssessmentQuery, AssessmentRow, AssessmentScope, RatingCounts, Statistics,
    StatisticsQuery,
};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter};

use crate::{
    EvaluationService, day_start,
    entity::{appeal, case_info, evaluation, rectification, task_info},
    error::{EvaluationError, Result},
    local_date,
};

fn rate(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

#[derive(Default)]
struct Acc {
    row: AssessmentRow,
    level_sum: u64,
    days_sum: u64,
    days_n: u64,
}

impl EvaluationService {
    /// Per specialist, unit or office over `[from, to]` (days in Beijing time).
    pub async fn assessment(&self, q: AssessmentQuery) -> Result<Assessment> {
        if q.from > q.to {
            return Err(EvaluationError::field("from", "起始日期不能晚于截止日期", "from must not be after to"));
        }
        let (start, end) = (day_start(q.from), day_start(q.to + chrono::Days::new(1)));
        let mut acc: BTreeMap<String, Acc> = BTreeMap::new();
        let in_office = |office: &str, unit_office: Option<&str>| match &q.office {
            None => true,
            Some(o) => match q.by {
                AssessmentScope::Unit => unit_office == Some(o.as_str()),
                _ => office == o,
            },
        };

        // Ratings.
        let ratings = evaluation::Entity::find()
            .filter(evaluation::Column::SubmittedAt.gte(start))
            .filter(evaluation::Column::SubmittedAt.lt(end))
            .all(&self.db)
            .await?;
        let upheld: Vec<String> = appeal::Entity::find()
            .filter(appeal::Column::Status.eq(AppealStatus::Upheld.as_str()))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|a| a.evaluation_id)
            .collect();
        for e in &ratings {
            if !in_office(&e.office, e.unit_office.as_deref()) {
                continue;
            }
            let key = match q.by {
                AssessmentScope::Specialist => e.specialist_id.clone(),
                AssessmentScope::Office => e.office.clone(),
                AssessmentScope::Unit => match &e.unit_code {
                    Some(u) => u.clone(),
                    None => continue,
                },
            };
            let a = acc.entry(key).or_default();
            if upheld.contains(&e.id) {
                a.row.appeals_upheld += 1;
                continue;
            }
            a.row.ratings += 1;
            a.level_sum += e.level as u64;
            if e.level >= 3 {
                a.row.satisfied += 1;
            }
            if e.bad {
                a.row.bad_reviews += 1;
            }
        }

        // Rectifications answered or escalated in the period.
        let rects = rectification::Entity::find()
            .filter(
                Condition::any()
                    .add(
                        Condition::all()
                            .add(rectification::Column::AnsweredAt.gte(start))
                            .add(rectification::Column::AnsweredAt.lt(end)),
                    )
                    .add(
                        Condition::all()
                            .add(rectification::Column::EscalatedAt.gte(start))
                            .add(rectification::Column::EscalatedAt.lt(end)),
                    ),
            )
            .all(&self.db)
            .await?;
        for r in &rects {
            let unit = r.task_id.is_some().then_some(r.assignee_office.as_str());
            if !in_office(&r.office, unit) {
                continue;
            }
            let key = match q.by {
                AssessmentScope::Specialist => r.specialist_id.clone(),
                AssessmentScope::Office => r.office.clone(),
                AssessmentScope::Unit => match r.task_id {
                    Some(_) => r.assignee_key.clone(),
                    None => continue,
                },
            };
            let a = acc.entry(key).or_default();
            if r.answered_at.is_some_and(|t| t >= start && t < end) {
                a.row.rectifications_answered += 1;
                if r.on_time == Some(true) {
                    a.row.rectifications_on_time += 1;
                }
            }
            if r.escalated_at.is_some_and(|t| t >= start && t < end) {
                a.row.rectifications_escalated += 1;
            }
        }

        // Items concluded in the period.
        let tasks = task_info::Entity::find()
            .filter(task_info::Column::ConcludedAt.gte(start))
            .filter(task_info::Column::ConcludedAt.lt(end))
            .all(&self.db)
            .await?;
        let case_ids: Vec<String> = tasks.iter().map(|t| t.case_id.clone()).collect();
        let cases: BTreeMap<String, case_info::Model> = if case_ids.is_empty() {
            BTreeMap::new()
        } else {
            case_info::Entity::find()
                .filter(case_info::Column::CaseId.is_in(case_ids))
                .all(&self.db)
                .await?
                .into_iter()
                .map(|c| (c.case_id.clone(), c))
                .collect()
        };
        for t in &tasks {
            let Some(c) = cases.get(&t.case_id) else { continue };
            if !in_office(&c.office, Some(&t.unit_office)) {
                continue;
            }
            let key = match q.by {
                AssessmentScope::Specialist => c.specialist_id.clone(),
                AssessmentScope::Office => c.office.clone(),
                AssessmentScope::Unit => t.unit_code.clone(),
            };
            let a = acc.entry(key).or_default();
            a.row.items_concluded += 1;
            if !t.overdue {
                a.row.items_on_time += 1;
            }
            if let Some(d) = t.working_days {
                a.days_sum += d.max(0) as u64;
                a.days_n += 1;
            }
        }

        let rows = acc
            .into_iter()
            .map(|(key, a)| {
                let mut row = a.row;
                row.key = key;
                row.satisfaction_rate = rate(row.satisfied, row.ratings);
                row.average_level = (row.ratings > 0).then(|| a.level_sum as f64 / row.ratings as f64);
                row.rectification_on_time_rate = rate(row.rectifications_on_time, row.rectifications_answered);
                row.on_time_rate = rate(row.items_on_time, row.items_concluded);
                row.average_working_days = (a.days_n > 0).then(|| a.days_sum as f64 / a.days_n as f64);
                row
            })
            .collect();
        Ok(Assessment { by: q.by, from: q.from, to: q.to, rows })
    }

    /// Ratings by category, stage, office, unit and month.
    pub async fn statistics(&self, q: StatisticsQuery) -> Result<Statistics> {
        let mut query = evaluation::Entity::find();
        if let Some(o) = &q.office {
            query = query.filter(
                Condition::any()
                    .add(evaluation::Column::Office.eq(o.clone()))
                    .add(evaluation::Column::UnitOffice.eq(o.clone())),
            );
        }
        if let Some(f) = q.from {
            query = query.filter(evaluation::Column::SubmittedAt.gte(day_start(f)));
        }
        if let Some(t) = q.to {
            query = query.filter(evaluation::Column::SubmittedAt.lt(day_start(t + chrono::Days::new(1))));
        }
        let ratings = query.all(&self.db).await?;
        let upheld: Vec<String> = appeal::Entity::find()
            .filter(appeal::Column::Status.eq(AppealStatus::Upheld.as_str()))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|a| a.evaluation_id)
            .collect();
        let mut total = RatingCounts { key: "total".into(), ..Default::default() };
        let mut groups: [BTreeMap<String, RatingCounts>; 5] = Default::default();
        for e in ratings.iter().filter(|e| !upheld.contains(&e.id)) {
            let level = (e.level.clamp(1, 5) - 1) as usize;
            let keys = [
                e.category.clone(),
                e.stage.clone().or_else(|| Some("whole_service".into())),
                Some(e.office.clone()),
                e.unit_code.clone(),
                Some(local_date(e.submitted_at).format("%Y-%m").to_string()),
            ];
            total.total += 1;
            total.by_level[level] += 1;
            for (g, key) in groups.iter_mut().zip(keys) {
                let Some(key) = key else { continue };
                let c = g.entry(key.clone()).or_insert_with(|| RatingCounts { key, ..Default::default() });
                c.total += 1;
                c.by_level[level] += 1;
            }
        }
        let finish = |mut c: RatingCounts| {
            c.satisfaction_rate = rate(c.by_level[2] + c.by_level[3] + c.by_level[4], c.total);
            c
        };
        let [by_category, by_stage, by_office, by_unit, by_month] =
            groups.map(|g| g.into_values().map(finish).collect::<Vec<_>>());
        Ok(Statistics { total: finish(total), by_category, by_stage, by_office, by_unit, by_month })
    }
}
