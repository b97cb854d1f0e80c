//! Staff assessment (考核 §8.2.1) and rating statistics: computed from the ratings, rectifications and the
//! task facts evaluation keeps from the bus. Ratings whose appeal was upheld are left out of the rating figures and
//! the statistics; the rectification of such a rating still counts, as work the assignee did (on time or not).
//!
//! The queries ([`EvaluationService::assessment`], [`EvaluationService::statistics`]) read the rows; the
//! tally ([`tally`], [`rating_statistics`]) is pure, over the plain facts below.

use std::collections::{BTreeMap, HashSet};

use bangban_contracts::{
    evaluation::{
        AppealStatus, Assessment, AssessmentQuery, AssessmentRow, AssessmentScope, RatingCounts, Statistics,
        StatisticsQuery,
    },
    intake::ProjectCategory,
    planning::Stage,
};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter};

use crate::{
    EvaluationService, day_start,
    entity::{appeal, case_info, evaluation, rectification, task_info},
    error::{EvaluationError, Result},
    local_date,
};

/// The days `[from, to]` in Beijing time, as the instants `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Period {
    /// From 00:00 of `from` to 24:00 of `to` (Beijing time).
    pub fn days(from: NaiveDate, to: NaiveDate) -> Self {
        Self { start: day_start(from), end: day_start(to + chrono::Days::new(1)) }
    }

    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        at >= self.start && at < self.end
    }
}

/// A rating as the tally reads it (评价).
#[derive(Debug, Clone, PartialEq)]
pub struct Rated {
    /// The accepting office.
    pub office: String,
    pub specialist_id: String,
    /// The rated item's unit and its office; none for a whole-service rating.
    pub unit_code: Option<String>,
    pub unit_office: Option<String>,
    /// 1–5.
    pub level: i32,
    /// 差评.
    pub bad: bool,
    /// An appeal against it was upheld (申诉成立): it leaves the figures.
    pub upheld: bool,
    pub category: Option<ProjectCategory>,
    pub stage: Option<Stage>,
    pub submitted_at: DateTime<Utc>,
}

impl Rated {
    pub fn of(m: &evaluation::Model, upheld: bool) -> Self {
        Self {
            office: m.office.clone(),
            specialist_id: m.specialist_id.clone(),
            unit_code: m.unit_code.clone(),
            unit_office: m.unit_office.clone(),
            level: m.level,
            bad: m.bad,
            upheld,
            category: m.category,
            stage: m.stage,
            submitted_at: m.submitted_at,
        }
    }
}

/// A rectification as the tally reads it (差评整改).
#[derive(Debug, Clone, PartialEq)]
pub struct Rectified {
    /// The accepting office and the case's specialist.
    pub office: String,
    pub specialist_id: String,
    /// Of an item (the unit fixes it) rather than the whole service (the specialist does).
    pub of_task: bool,
    /// The unit code or the specialist, and their office.
    pub assignee_key: String,
    pub assignee_office: String,
    pub answered_at: Option<DateTime<Utc>>,
    /// Answered by its due day.
    pub on_time: Option<bool>,
    pub escalated_at: Option<DateTime<Utc>>,
}

impl From<&rectification::Model> for Rectified {
    fn from(r: &rectification::Model) -> Self {
        Self {
            office: r.office.clone(),
            specialist_id: r.specialist_id.clone(),
            of_task: r.task_id.is_some(),
            assignee_key: r.assignee_key.clone(),
            assignee_office: r.assignee_office.clone(),
            answered_at: r.answered_at,
            on_time: r.on_time,
            escalated_at: r.escalated_at,
        }
    }
}

/// An item concluded (办结事项), with its case's office and specialist.
#[derive(Debug, Clone, PartialEq)]
pub struct Concluded {
    pub office: String,
    pub specialist_id: String,
    pub unit_code: String,
    pub unit_office: String,
    /// It went past its promised time (超期).
    pub overdue: bool,
    /// Working days from receipt to conclusion, when it was received.
    pub working_days: Option<i32>,
}

impl Concluded {
    pub fn of(t: &task_info::Model, case: &case_info::Model) -> Self {
        Self {
            office: case.office.clone(),
            specialist_id: case.specialist_id.clone(),
            unit_code: t.unit_code.clone(),
            unit_office: t.unit_office.clone(),
            overdue: t.overdue,
            working_days: t.working_days,
        }
    }
}

/// `part / whole`, when there is a whole.
fn rate(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// Satisfied (满意): levels 3 to 5.
fn satisfied(level: i32) -> bool {
    level >= 3
}

#[derive(Default)]
struct Acc {
    row: AssessmentRow,
    level_sum: u64,
    days_sum: u64,
    days_n: u64,
}

/// The assessment rows by `by` (one per specialist, unit or office, by key), of `office`'s own when given (for
/// units: units of that office; otherwise: cases that office accepted). Ratings are expected in the period;
/// rectifications count what was answered or escalated in `period`; items are those concluded in it.
pub fn tally(
    by: AssessmentScope,
    office: Option<&str>,
    period: &Period,
    ratings: &[Rated],
    rectifications: &[Rectified],
    items: &[Concluded],
) -> Vec<AssessmentRow> {
    let in_office = |case_office: &str, unit_office: Option<&str>| match office {
        None => true,
        Some(o) => match by {
            AssessmentScope::Unit => unit_office == Some(o),
            _ => case_office == o,
        },
    };
    let mut acc: BTreeMap<String, Acc> = BTreeMap::new();

    for e in ratings {
        if !in_office(&e.office, e.unit_office.as_deref()) {
            continue;
        }
        let key = match by {
            AssessmentScope::Specialist => e.specialist_id.clone(),
            AssessmentScope::Office => e.office.clone(),
            AssessmentScope::Unit => match &e.unit_code {
                Some(u) => u.clone(),
                None => continue,
            },
        };
        let a = acc.entry(key).or_default();
        if e.upheld {
            a.row.appeals_upheld += 1;
            continue;
        }
        a.row.ratings += 1;
        a.level_sum += e.level.max(0) as u64;
        if satisfied(e.level) {
            a.row.satisfied += 1;
        }
        if e.bad {
            a.row.bad_reviews += 1;
        }
    }

    for r in rectifications {
        let unit = r.of_task.then_some(r.assignee_office.as_str());
        if !in_office(&r.office, unit) {
            continue;
        }
        let key = match by {
            AssessmentScope::Specialist => r.specialist_id.clone(),
            AssessmentScope::Office => r.office.clone(),
            AssessmentScope::Unit if r.of_task => r.assignee_key.clone(),
            AssessmentScope::Unit => continue,
        };
        let a = acc.entry(key).or_default();
        if r.answered_at.is_some_and(|t| period.contains(t)) {
            a.row.rectifications_answered += 1;
            if r.on_time == Some(true) {
                a.row.rectifications_on_time += 1;
            }
        }
        if r.escalated_at.is_some_and(|t| period.contains(t)) {
            a.row.rectifications_escalated += 1;
        }
    }

    for t in items {
        if !in_office(&t.office, Some(&t.unit_office)) {
            continue;
        }
        let key = match by {
            AssessmentScope::Specialist => t.specialist_id.clone(),
            AssessmentScope::Office => t.office.clone(),
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

    acc.into_iter()
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
        .collect()
}

/// Ratings that count (appeals upheld left out), in total and by category, stage (a whole-service rating under
/// `whole_service`), office, unit and month (`YYYY-MM`, Beijing time).
pub fn rating_statistics(ratings: &[Rated]) -> Statistics {
    let mut total = RatingCounts { key: "total".into(), ..Default::default() };
    let mut groups: [BTreeMap<String, RatingCounts>; 5] = Default::default();
    for e in ratings.iter().filter(|e| !e.upheld) {
        let level = (e.level.clamp(1, 5) - 1) as usize;
        let keys = [
            e.category.map(|c| c.as_str().to_string()),
            Some(e.stage.map_or("whole_service", Stage::as_str).to_string()),
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
    Statistics { total: finish(total), by_category, by_stage, by_office, by_unit, by_month }
}

impl EvaluationService {
    /// The ratings whose appeal was upheld.
    async fn upheld(&self) -> Result<HashSet<String>> {
        Ok(appeal::Entity::find()
            .filter(appeal::Column::Status.eq(AppealStatus::Upheld))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|a| a.evaluation_id)
            .collect())
    }

    /// Per specialist, unit or office over `[from, to]` (days in Beijing time).
    pub async fn assessment(&self, q: AssessmentQuery) -> Result<Assessment> {
        if q.from > q.to {
            return Err(EvaluationError::field("from", "起始日期不能晚于截止日期", "from must not be after to"));
        }
        let period = Period::days(q.from, q.to);
        let upheld = self.upheld().await?;
        let ratings: Vec<Rated> = evaluation::Entity::find()
            .filter(evaluation::Column::SubmittedAt.gte(period.start))
            .filter(evaluation::Column::SubmittedAt.lt(period.end))
            .all(&self.db)
            .await?
            .iter()
            .map(|e| Rated::of(e, upheld.contains(&e.id)))
            .collect();

        // Rectifications answered or escalated in the period.
        let within = |c: rectification::Column| Condition::all().add(c.gte(period.start)).add(c.lt(period.end));
        let rectifications: Vec<Rectified> = rectification::Entity::find()
            .filter(
                Condition::any()
                    .add(within(rectification::Column::AnsweredAt))
                    .add(within(rectification::Column::EscalatedAt)),
            )
            .all(&self.db)
            .await?
            .iter()
            .map(Rectified::from)
            .collect();

        // Items concluded in the period, of the cases evaluation knows.
        let tasks = task_info::Entity::find()
            .filter(task_info::Column::ConcludedAt.gte(period.start))
            .filter(task_info::Column::ConcludedAt.lt(period.end))
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
        let items: Vec<Concluded> =
            tasks.iter().filter_map(|t| cases.get(&t.case_id).map(|c| Concluded::of(t, c))).collect();

        let rows = tally(q.by, q.office.as_deref(), &period, &ratings, &rectifications, &items);
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
        let upheld = self.upheld().await?;
        let ratings: Vec<Rated> =
            query.all(&self.db).await?.iter().map(|e| Rated::of(e, upheld.contains(&e.id))).collect();
        Ok(rating_statistics(&ratings))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    /// `s` in Beijing time (`2026-03-02 10:00`).
    fn bj(s: &str) -> DateTime<Utc> {
        chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M")
            .unwrap()
            .and_local_timezone(bangban_workdays::shanghai())
            .unwrap()
            .with_timezone(&Utc)
    }

    fn march() -> Period {
        Period::days(d("2026-03-01"), d("2026-03-31"))
    }

    fn rated(specialist: &str, unit: Option<&str>, level: i32) -> Rated {
        Rated {
            office: "371625".into(),
            specialist_id: specialist.into(),
            unit_code: unit.map(str::to_string),
            unit_office: unit.map(|_| "371625".into()),
            level,
            bad: level <= 2,
            upheld: false,
            category: Some(ProjectCategory::Industrial),
            stage: unit.map(|_| Stage::EngineeringPermit),
            submitted_at: bj("2026-03-02 10:00"),
        }
    }

    fn rectified(unit: Option<&str>) -> Rectified {
        Rectified {
            office: "371625".into(),
            specialist_id: "s1".into(),
            of_task: unit.is_some(),
            assignee_key: unit.unwrap_or("s1").into(),
            assignee_office: "371625".into(),
            answered_at: None,
            on_time: None,
            escalated_at: None,
        }
    }

    fn concluded(specialist: &str, unit: &str, overdue: bool, days: Option<i32>) -> Concluded {
        Concluded {
            office: "371625".into(),
            specialist_id: specialist.into(),
            unit_code: unit.into(),
            unit_office: "371625".into(),
            overdue,
            working_days: days,
        }
    }

    fn row<'a>(rows: &'a [AssessmentRow], key: &str) -> &'a AssessmentRow {
        rows.iter().find(|r| r.key == key).unwrap_or_else(|| panic!("no row {key} in {rows:?}"))
    }

    #[test]
    fn a_period_is_whole_days_in_beijing() {
        let p = Period::days(d("2026-03-01"), d("2026-03-01"));
        assert!(p.contains(bj("2026-03-01 00:00")));
        assert!(p.contains(bj("2026-03-01 23:59")));
        assert!(!p.contains(bj("2026-03-02 00:00")), "the end is excluded");
        assert!(!p.contains(bj("2026-02-28 23:59")));
    }

    #[test]
    fn an_empty_period_has_no_rows_and_no_rates() {
        assert!(tally(AssessmentScope::Specialist, None, &march(), &[], &[], &[]).is_empty());
        let s = rating_statistics(&[]);
        assert_eq!((s.total.total, s.total.by_level, s.total.satisfaction_rate), (0, [0; 5], None));
        assert!(s.by_category.is_empty() && s.by_month.is_empty());
        // A key with items but no ratings has no satisfaction figures, rather than zero.
        let rows = tally(AssessmentScope::Specialist, None, &march(), &[], &[], &[concluded("s1", "U1", false, None)]);
        let r = row(&rows, "s1");
        assert_eq!((r.ratings, r.satisfaction_rate, r.average_level), (0, None, None));
        assert_eq!((r.on_time_rate, r.average_working_days, r.rectification_on_time_rate), (Some(1.0), None, None));
    }

    #[test]
    fn satisfaction_counts_levels_three_to_five_and_rates_are_not_rounded() {
        let ratings = [rated("s1", None, 5), rated("s1", None, 3), rated("s1", None, 2)];
        let rows = tally(AssessmentScope::Specialist, None, &march(), &ratings, &[], &[]);
        let r = row(&rows, "s1");
        assert_eq!((r.ratings, r.satisfied, r.bad_reviews), (3, 2, 1));
        assert_eq!(r.satisfaction_rate, Some(2.0 / 3.0));
        assert_eq!(r.average_level, Some(10.0 / 3.0));
    }

    #[test]
    fn an_upheld_appeal_leaves_the_figures_but_is_counted() {
        let mut appealed = rated("s1", None, 1);
        appealed.upheld = true;
        let ratings = [rated("s1", None, 4), appealed.clone()];
        let rows = tally(AssessmentScope::Specialist, None, &march(), &ratings, &[], &[]);
        let r = row(&rows, "s1");
        assert_eq!((r.ratings, r.bad_reviews, r.appeals_upheld), (1, 0, 1));
        assert_eq!((r.satisfaction_rate, r.average_level), (Some(1.0), Some(4.0)));
        // Only upheld ones: a row with the count and no rates.
        let rows = tally(AssessmentScope::Specialist, None, &march(), &[appealed.clone()], &[], &[]);
        assert_eq!((rows[0].appeals_upheld, rows[0].satisfaction_rate), (1, None));
        let s = rating_statistics(&[rated("s1", None, 4), appealed]);
        assert_eq!(s.total.total, 1);
    }

    #[test]
    fn who_counts_depends_on_the_scope() {
        let ratings = [rated("s1", Some("U1"), 5), rated("s2", Some("U1"), 1), rated("s1", None, 4)];
        let by_specialist = tally(AssessmentScope::Specialist, None, &march(), &ratings, &[], &[]);
        assert_eq!(
            by_specialist.iter().map(|r| (r.key.as_str(), r.ratings)).collect::<Vec<_>>(),
            [("s1", 2), ("s2", 1)]
        );
        // A whole-service rating is nobody's unit.
        let by_unit = tally(AssessmentScope::Unit, None, &march(), &ratings, &[], &[]);
        assert_eq!(by_unit.iter().map(|r| (r.key.as_str(), r.ratings)).collect::<Vec<_>>(), [("U1", 2)]);
        let by_office = tally(AssessmentScope::Office, None, &march(), &ratings, &[], &[]);
        assert_eq!(by_office.iter().map(|r| (r.key.as_str(), r.ratings)).collect::<Vec<_>>(), [("371625", 3)]);
    }

    #[test]
    fn an_office_narrows_to_its_cases_or_for_units_to_its_units() {
        // A case accepted in 371600 whose item a unit of 371625 handled.
        let mut cross = rated("s9", Some("U1"), 5);
        cross.office = "371600".into();
        let ratings = [cross, rated("s1", None, 4)];
        let mine = tally(AssessmentScope::Specialist, Some("371625"), &march(), &ratings, &[], &[]);
        assert_eq!(mine.iter().map(|r| r.key.as_str()).collect::<Vec<_>>(), ["s1"]);
        let units = tally(AssessmentScope::Unit, Some("371625"), &march(), &ratings, &[], &[]);
        assert_eq!(units.iter().map(|r| r.key.as_str()).collect::<Vec<_>>(), ["U1"]);
        let city = tally(AssessmentScope::Specialist, Some("371600"), &march(), &ratings, &[], &[]);
        assert_eq!(city.iter().map(|r| r.key.as_str()).collect::<Vec<_>>(), ["s9"]);
    }

    #[test]
    fn rectifications_count_what_happened_in_the_period() {
        let mut on_time = rectified(Some("U1"));
        on_time.answered_at = Some(bj("2026-03-10 09:00"));
        on_time.on_time = Some(true);
        let mut late = rectified(Some("U1"));
        late.answered_at = Some(bj("2026-03-20 09:00"));
        late.on_time = Some(false);
        late.escalated_at = Some(bj("2026-02-27 09:00")); // escalated before the period: not counted
        let mut escalated = rectified(None);
        escalated.escalated_at = Some(bj("2026-03-05 09:00"));
        let mut after = rectified(Some("U1"));
        after.answered_at = Some(bj("2026-04-01 00:00"));
        after.on_time = Some(true);
        let rects = [on_time, late, escalated, after];
        let rows = tally(AssessmentScope::Unit, None, &march(), &[], &rects, &[]);
        let u = row(&rows, "U1");
        assert_eq!((u.rectifications_answered, u.rectifications_on_time, u.rectifications_escalated), (2, 1, 0));
        assert_eq!(u.rectification_on_time_rate, Some(0.5));
        assert_eq!(rows.len(), 1, "the specialist's rectification is no unit's");
        let rows = tally(AssessmentScope::Specialist, None, &march(), &[], &rects, &[]);
        let s = row(&rows, "s1");
        assert_eq!((s.rectifications_answered, s.rectifications_escalated), (2, 1));
    }

    #[test]
    fn items_on_time_and_working_days() {
        let items = [
            concluded("s1", "U1", false, Some(3)),
            concluded("s1", "U1", true, Some(8)),
            concluded("s1", "U2", false, None),
            concluded("s1", "U2", false, Some(-2)),
        ];
        let rows = tally(AssessmentScope::Specialist, None, &march(), &[], &[], &items);
        let s = row(&rows, "s1");
        assert_eq!((s.items_concluded, s.items_on_time), (4, 3));
        assert_eq!(s.on_time_rate, Some(0.75));
        // Unknown working days are not averaged; a negative count counts as zero.
        assert_eq!(s.average_working_days, Some(11.0 / 3.0));
        let rows = tally(AssessmentScope::Unit, None, &march(), &[], &[], &items);
        assert_eq!(row(&rows, "U1").average_working_days, Some(5.5));
        assert_eq!(row(&rows, "U2").on_time_rate, Some(1.0));
    }

    #[test]
    fn statistics_count_levels_per_group() {
        let mut april = rated("s1", Some("U2"), 1);
        april.submitted_at = bj("2026-04-01 00:30"); // still March in UTC
        april.category = None;
        let ratings = [rated("s1", Some("U1"), 5), rated("s1", None, 3), rated("s2", Some("U1"), 2), april];
        let s = rating_statistics(&ratings);
        assert_eq!(s.total.total, 4);
        assert_eq!(s.total.by_level, [1, 1, 1, 0, 1]);
        assert_eq!(s.total.satisfaction_rate, Some(0.5));
        let keys = |g: &[RatingCounts]| g.iter().map(|c| (c.key.clone(), c.total)).collect::<Vec<_>>();
        assert_eq!(keys(&s.by_month), [("2026-03".into(), 3), ("2026-04".into(), 1)]);
        assert_eq!(keys(&s.by_stage), [("engineering_permit".into(), 3), ("whole_service".into(), 1)]);
        assert_eq!(keys(&s.by_unit), [("U1".into(), 2), ("U2".into(), 1)]);
        assert_eq!(keys(&s.by_category), [("industrial".into(), 3)], "no category, no group");
        let u1 = &s.by_unit[0];
        assert_eq!((u1.by_level, u1.satisfaction_rate), ([0, 1, 0, 0, 1], Some(0.5)));
        // A stored level out of range is counted at the nearest end.
        let s = rating_statistics(&[rated("s1", None, 9), rated("s1", None, 0)]);
        assert_eq!(s.total.by_level, [1, 0, 0, 0, 1]);
    }
}
