//! The schedule of a plan (预排工期) with parallel approval (并联审批): every item starts as soon as all its
//! predecessors (前置事项) have concluded, items without a pending predecessor run side by side, and the plan is
//! laid on the working-day calendar (工作日历). Also the critical path (关键路径), the stages' spans and the time
//! targets (时限目标).
//!
//! The arithmetic is done on working-day indices, then mapped to dates: day 0 is the first working day on or
//! after the start date, index `k` the `k`-th working day after it. An item of `d` working days with earliest
//! start `es` occupies indices `es..es + d` (its earliest finish `ef = es + d` is the index of the first working
//! day after it); a 0-day item (即办件) is done on `date(es)` and finishes at `es`.

use std::collections::{HashMap, VecDeque};

use bangban_contracts::{
    planning::{PlanItem, Schedule, ScheduledItem, Stage, StageSpan, TargetCheck},
    project::InvestmentKind,
};
use bangban_workdays::Calendar;
use chrono::NaiveDate;

use super::catalog;
use crate::settings::PlanningSettings;

/// The longest schedule computed, in working days (about 400 years): beyond it the plan is refused rather than
/// laid on the calendar day by day.
pub const MAX_TOTAL_WORKING_DAYS: u64 = 100_000;

/// The time targets (审批时限目标) a schedule is compared with, in working days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Targets {
    /// The whole approval process (全流程).
    pub whole_process: u32,
    /// The main flow (主流程) of a government-invested project (政府投资).
    pub main_flow_government: u32,
    /// The main flow of a social-investment project (社会投资).
    pub main_flow_social: u32,
}

impl Default for Targets {
    /// 100 working days for the whole process, 70 and 45 for the main flow.
    fn default() -> Self {
        Self { whole_process: 100, main_flow_government: 70, main_flow_social: 45 }
    }
}

impl From<&PlanningSettings> for Targets {
    fn from(settings: &PlanningSettings) -> Self {
        Self {
            whole_process: settings.whole_process_days,
            main_flow_government: settings.main_flow_government_days,
            main_flow_social: settings.main_flow_social_days,
        }
    }
}

/// Why a plan cannot be scheduled (无法排期).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// Two items of the plan have the same code.
    #[error("item code {0} appears more than once in the plan")]
    DuplicateCode(String),
    /// A predecessor is not an item of the plan.
    #[error("item {item} names predecessor {predecessor}, which is not in the plan")]
    UnknownPredecessor { item: String, predecessor: String },
    /// The predecessors form a cycle, given in the order of conclusion with the first code repeated at the end.
    #[error("predecessors form a cycle: {}", .0.join(" → "))]
    Cycle(Vec<String>),
    /// The plan runs longer than [`MAX_TOTAL_WORKING_DAYS`] (`limit`), or past the last date the calendar can
    /// represent (`limit`: the working days left before it).
    #[error("the schedule would run {working_days} working days, past the limit of {limit}")]
    TooLong { working_days: u64, limit: u64 },
}

impl ScheduleError {
    /// The reason in Chinese (for problem documents).
    pub fn reason_zh(&self) -> String {
        match self {
            Self::DuplicateCode(code) => format!("事项编码 {code} 在方案中重复"),
            Self::UnknownPredecessor { item, predecessor } => {
                format!("事项 {item} 的前置事项 {predecessor} 不在方案中")
            }
            Self::Cycle(codes) => format!("前置事项形成循环：{}", codes.join(" → ")),
            Self::TooLong { working_days, limit } => {
                format!("排期将达 {working_days} 个工作日，超过上限 {limit}")
            }
        }
    }
}

/// Working day `k` after day 0, and whether anything from the day after working day `k - 1` through it is
/// provisional (暂定).
#[derive(Debug, Clone, Copy)]
struct WorkingDay {
    date: NaiveDate,
    /// The date itself is provisional.
    provisional: bool,
    /// Some date after the previous working day, up to and including this one, is provisional.
    since_previous: bool,
}

/// The working days `0..=last` from `start_on` on, walking the calendar once; past chrono's last date, the number
/// of working days there were.
fn working_days(calendar: &Calendar, start_on: NaiveDate, last: usize) -> Result<Vec<WorkingDay>, usize> {
    let mut days = Vec::with_capacity(last + 1);
    let mut current = start_on;
    let mut since_previous = false;
    loop {
        let status = calendar.is_working_day(current);
        since_previous |= status.provisional;
        if status.value {
            days.push(WorkingDay { date: current, provisional: status.provisional, since_previous });
            if days.len() > last {
                return Ok(days);
            }
            since_previous = false;
        }
        current = current.succ_opt().ok_or(days.len())?;
    }
}

/// The schedule (预排工期) of a plan's items, starting on `start_on` (or the next working day), with parallel
/// approval (并联审批): an item starts the working day after its last predecessor ends (a 0-day predecessor ends
/// the day it is done, so its successor may start that day), and items without a pending predecessor run in
/// parallel.
///
/// The result holds every item in plan order with its dates, slack (总时差) and critical mark; the stages in stage
/// order; the critical path (关键路径) from first to last; and the checks against `targets`: the whole process
/// (全流程, every stage but company registration) and the main flow (主流程, the four national stages) with the
/// limit for `investment`. Dates resting on a year whose holidays are not loaded are marked provisional (暂定).
/// A 0-day item (即办件) occupies no working day: one waiting for the plan's last item is dated on the working day
/// after the schedule's `end`.
///
/// Errors: a code twice, a predecessor not in the plan, a cycle, or a plan longer than
/// [`MAX_TOTAL_WORKING_DAYS`].
pub fn schedule(
    items: &[PlanItem],
    start_on: NaiveDate,
    calendar: &Calendar,
    investment: InvestmentKind,
    targets: &Targets,
) -> Result<Schedule, ScheduleError> {
    let n = items.len();

    // Codes to indices, in plan order.
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(n);
    for (i, item) in items.iter().enumerate() {
        if index.insert(item.code.as_str(), i).is_some() {
            return Err(ScheduleError::DuplicateCode(item.code.clone()));
        }
    }
    // Predecessor edges by index; a code named twice counts once.
    let mut predecessors: Vec<Vec<usize>> = Vec::with_capacity(n);
    let mut successors: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, item) in items.iter().enumerate() {
        let mut list: Vec<usize> = Vec::with_capacity(item.predecessors.len());
        for code in &item.predecessors {
            let Some(&p) = index.get(code.as_str()) else {
                return Err(ScheduleError::UnknownPredecessor { item: item.code.clone(), predecessor: code.clone() });
            };
            if !list.contains(&p) {
                list.push(p);
                successors[p].push(i);
            }
        }
        predecessors.push(list);
    }

    // A topological order (Kahn), ties in plan order.
    let mut pending: Vec<usize> = predecessors.iter().map(Vec::len).collect();
    let mut queue: VecDeque<usize> = (0..n).filter(|i| pending[*i] == 0).collect();
    let mut order: Vec<usize> = Vec::with_capacity(n);
    while let Some(i) = queue.pop_front() {
        order.push(i);
        for &s in &successors[i] {
            pending[s] -= 1;
            if pending[s] == 0 {
                queue.push_back(s);
            }
        }
    }
    if order.len() < n {
        let cycle = catalog::find_cycle(items.iter().map(|item| (item.code.as_str(), item.predecessors.as_slice())))
            .unwrap_or_else(|| (0..n).filter(|i| pending[*i] > 0).map(|i| items[i].code.clone()).collect());
        return Err(ScheduleError::Cycle(cycle));
    }

    // Forward pass: earliest start and finish, as working-day indices.
    let duration: Vec<u64> = items.iter().map(|item| u64::from(item.promised_working_days)).collect();
    let mut es = vec![0u64; n];
    let mut ef = vec![0u64; n];
    for &i in &order {
        es[i] = predecessors[i].iter().map(|&p| ef[p]).max().unwrap_or(0);
        ef[i] = es[i].saturating_add(duration[i]);
    }
    let total = ef.iter().copied().max().unwrap_or(0);
    if total > MAX_TOTAL_WORKING_DAYS {
        return Err(ScheduleError::TooLong { working_days: total, limit: MAX_TOTAL_WORKING_DAYS });
    }

    // Backward pass: latest finish; slack is how far an item may slip without moving the end.
    let mut lf = vec![total; n];
    for &i in order.iter().rev() {
        if let Some(min) = successors[i].iter().map(|&s| lf[s].saturating_sub(duration[s])).min() {
            lf[i] = min;
        }
    }

    // The last index any date is needed for: the schedule's end, every item's end, and a 0-day item done on the
    // working day after the plan's last one.
    let end_index = |i: usize| if duration[i] == 0 { es[i] } else { ef[i] - 1 };
    let last = (0..n).map(end_index).chain([total.max(1) - 1]).max().unwrap_or(0);
    // `last <= total <= MAX_TOTAL_WORKING_DAYS`, so it fits a usize.
    let too_long = || ScheduleError::TooLong { working_days: total, limit: MAX_TOTAL_WORKING_DAYS };
    let last_usize = usize::try_from(last).map_err(|_| too_long())?;
    let days = working_days(calendar, start_on, last_usize).map_err(|available| ScheduleError::TooLong {
        working_days: last + 1,
        limit: u64::try_from(available).unwrap_or(u64::MAX),
    })?;
    // Counts of working days whose preceding gap holds a provisional date, to answer "any in a range" at once.
    let mut gaps = Vec::with_capacity(days.len() + 1);
    gaps.push(0u32);
    for day in &days {
        gaps.push(gaps.last().copied().unwrap_or(0) + u32::from(day.since_previous));
    }
    let at = |k: u64| days[k as usize];
    // Provisional when any date from the item's first day through its last is.
    let provisional_span = |from: u64, to: u64| at(from).provisional || gaps[to as usize + 1] > gaps[from as usize + 1];

    let u32_of = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
    let scheduled: Vec<ScheduledItem> = items
        .iter()
        .enumerate()
        .map(|(i, item)| ScheduledItem {
            code: item.code.clone(),
            name: item.name.clone(),
            stage: item.stage,
            start: at(es[i]).date,
            end: at(end_index(i)).date,
            working_days: item.promised_working_days,
            slack: u32_of(lf[i].saturating_sub(ef[i])),
            critical: lf[i] == ef[i],
            provisional: provisional_span(es[i], end_index(i)),
        })
        .collect();

    // Critical path: back from the item finishing last through the predecessor it waited for.
    let mut critical_path = Vec::new();
    if let Some(last_item) = (0..n).max_by(|a, b| ef[*a].cmp(&ef[*b]).then(b.cmp(a))) {
        let mut current = last_item;
        critical_path.push(current);
        // A DAG: every step goes to an item finishing no later; at most n steps.
        while let Some(&p) = predecessors[current].iter().filter(|&&p| ef[p] == es[current]).min() {
            if critical_path.len() > n {
                break;
            }
            critical_path.push(p);
            current = p;
        }
        critical_path.reverse();
    }
    let critical_path: Vec<String> = critical_path.into_iter().map(|i| items[i].code.clone()).collect();

    // Spans over a subset of items: (min es, max ef, min start index, max end index, count).
    let span = |keep: &dyn Fn(&PlanItem) -> bool| {
        let mut acc: Option<(u64, u64, u64, u64, u32)> = None;
        for i in (0..n).filter(|&i| keep(&items[i])) {
            let (s, f, e) = (es[i], ef[i], end_index(i));
            acc = Some(match acc {
                None => (s, f, s, e, 1),
                Some((s0, f0, si, ei, c)) => (s0.min(s), f0.max(f), si.min(s), ei.max(e), c + 1),
            });
        }
        acc
    };
    let stages: Vec<StageSpan> = Stage::ALL
        .iter()
        .filter_map(|&stage| {
            let (s, f, si, ei, count) = span(&|item| item.stage == stage)?;
            Some(StageSpan {
                stage,
                start: at(si).date,
                end: at(ei).date,
                working_days: u32_of(f.saturating_sub(s)),
                items: count,
            })
        })
        .collect();

    let check = |target: &str, label_zh: &str, limit: u32, keep: &dyn Fn(&PlanItem) -> bool| {
        let planned = span(keep).map(|(s, f, ..)| u32_of(f.saturating_sub(s))).unwrap_or(0);
        let excess = planned.saturating_sub(limit);
        TargetCheck {
            target: target.to_owned(),
            label_zh: label_zh.to_owned(),
            limit_working_days: limit,
            planned_working_days: planned,
            excess_working_days: excess,
            met: excess == 0,
        }
    };
    let (main_label, main_limit) = match investment {
        InvestmentKind::Government => ("主流程审批（政府投资）", targets.main_flow_government),
        InvestmentKind::Social => ("主流程审批（社会投资）", targets.main_flow_social),
    };
    let target_checks = vec![
        check("whole_process", "全流程审批", targets.whole_process, &|item| item.stage.is_whole_process()),
        check("main_flow", main_label, main_limit, &|item| item.stage.is_main_flow()),
    ];

    // Day 0's mark covers the walk from `start_on` to it.
    let day0_provisional = days.first().is_some_and(|d| d.since_previous);
    let provisional = day0_provisional || scheduled.iter().any(|item| item.provisional);
    Ok(Schedule {
        start: at(0).date,
        // The last date of any item: a 0-day item after the last one is done on the next working day.
        end: at(last).date,
        total_working_days: u32_of(total),
        provisional,
        items: scheduled,
        stages,
        critical_path,
        targets: target_checks,
    })
}

#[cfg(test)]
mod tests {
    use bangban_contracts::planning::{ItemOrigin, Level, Material, UnitType};
    use proptest::prelude::*;

    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("a real date")
    }

    fn item(code: &str, stage: Stage, days: u32, predecessors: &[&str]) -> PlanItem {
        PlanItem {
            code: code.to_owned(),
            name: format!("事项{code}"),
            stage,
            unit_type: UnitType::AdministrativeApproval,
            level: Level::ByLocation,
            unit_code: None,
            materials: vec![Material { name: "申请表".into(), required: true, note: None }],
            promised_working_days: days,
            legal_basis: "《中华人民共和国行政许可法》".into(),
            predecessors: predecessors.iter().map(|p| (*p).to_owned()).collect(),
            origin: ItemOrigin::Generated,
            note: None,
        }
    }

    fn run(items: &[PlanItem], start: NaiveDate) -> Schedule {
        schedule(items, start, &Calendar::embedded(), InvestmentKind::Social, &Targets::default()).expect("schedulable")
    }

    fn get<'a>(s: &'a Schedule, code: &str) -> &'a ScheduledItem {
        s.items.iter().find(|i| i.code == code).expect("item scheduled")
    }

    fn dates(s: &Schedule, code: &str) -> (NaiveDate, NaiveDate) {
        let i = get(s, code);
        (i.start, i.end)
    }

    const EP: Stage = Stage::EngineeringPermit;

    #[test]
    fn targets_from_settings() {
        let settings =
            PlanningSettings { whole_process_days: 90, main_flow_government_days: 60, main_flow_social_days: 40 };
        assert_eq!(
            Targets::from(&settings),
            Targets { whole_process: 90, main_flow_government: 60, main_flow_social: 40 }
        );
        assert_eq!(Targets::from(&PlanningSettings::default()), Targets::default());
    }

    /// A chain of 5 + 3 + 2 working days from Monday 2025-09-22, across National Day and Mid-Autumn 2025 (国庆节、
    /// 中秋节: off 10-01 to 10-08; make-up working days Sunday 09-28 and Saturday 10-11):
    ///
    /// - A (5): 09-22 Mon, 23, 24, 25, 26 Fri → ends Friday 09-26 (indices 0–4).
    /// - B (3): Saturday 09-27 rests; 09-28 is a make-up working day, so B runs Sunday 09-28, Monday 09-29,
    ///   Tuesday 09-30 (indices 5–7).
    /// - C (2): 10-01 to 10-08 are the holiday, so C runs Thursday 10-09 and Friday 10-10 (indices 8–9).
    /// - D (0, 即办件) after C is done on the next working day, index 10: Saturday 10-11, the second make-up day.
    ///
    /// The total is 10 working days, 09-22 to 10-10.
    #[test]
    fn a_chain_across_national_day_2025() {
        let items = [item("A", EP, 5, &[]), item("B", EP, 3, &["A"]), item("C", EP, 2, &["B"])];
        let s = run(&items, date(2025, 9, 22));
        assert_eq!(dates(&s, "A"), (date(2025, 9, 22), date(2025, 9, 26)));
        assert_eq!(dates(&s, "B"), (date(2025, 9, 28), date(2025, 9, 30)));
        assert_eq!(dates(&s, "C"), (date(2025, 10, 9), date(2025, 10, 10)));
        assert_eq!((s.start, s.end, s.total_working_days), (date(2025, 9, 22), date(2025, 10, 10), 10));
        assert_eq!(s.critical_path, vec!["A", "B", "C"]);
        assert!(s.items.iter().all(|i| i.critical && i.slack == 0 && !i.provisional));
        assert!(!s.provisional);
        // Starting on Saturday 09-20 gives the same dates: day 0 is the next working day.
        assert_eq!(run(&items, date(2025, 9, 20)), s);

        let mut with_d = items.to_vec();
        with_d.push(item("D", EP, 0, &["C"]));
        let s = run(&with_d, date(2025, 9, 22));
        assert_eq!(dates(&s, "D"), (date(2025, 10, 11), date(2025, 10, 11)));
        assert_eq!(get(&s, "D").working_days, 0);
        // The plan ends with D's day, while D adds no working day to the total.
        assert_eq!((s.end, s.total_working_days), (date(2025, 10, 11), 10));
    }

    /// A diamond: A (3) → B (5) and C (2) in parallel → D (4). D waits for the longer branch; C has 3 days' slack.
    #[test]
    fn a_diamond() {
        let items =
            [item("A", EP, 3, &[]), item("B", EP, 5, &["A"]), item("C", EP, 2, &["A"]), item("D", EP, 4, &["B", "C"])];
        // Monday 2026-03-02, a plain fortnight: A 03-02..04, B 03-05..11, C 03-05..06, D 03-12..17.
        let s = run(&items, date(2026, 3, 2));
        assert_eq!(dates(&s, "A"), (date(2026, 3, 2), date(2026, 3, 4)));
        assert_eq!(dates(&s, "B"), (date(2026, 3, 5), date(2026, 3, 11)));
        assert_eq!(dates(&s, "C"), (date(2026, 3, 5), date(2026, 3, 6)));
        assert_eq!(dates(&s, "D"), (date(2026, 3, 12), date(2026, 3, 17)));
        assert_eq!(s.total_working_days, 12);
        assert_eq!(s.critical_path, vec!["A", "B", "D"]);
        let flags: Vec<(u32, bool)> = s.items.iter().map(|i| (i.slack, i.critical)).collect();
        assert_eq!(flags, vec![(0, true), (0, true), (3, false), (0, true)]);
    }

    /// Parallel stages (并联审批): two stages run side by side from day 0, and the stages' spans.
    #[test]
    fn parallel_stages_and_stage_spans() {
        let items = [
            item("CR-1", Stage::CompanyRegistration, 1, &[]),
            item("LP-1", Stage::LandUsePlanning, 10, &[]),
            item("LP-2", Stage::LandUsePlanning, 5, &[]),
            item("EP-1", Stage::EngineeringPermit, 10, &["LP-1"]),
            item("EP-2", Stage::EngineeringPermit, 3, &["LP-2"]),
            item("UT-1", Stage::Utilities, 8, &["LP-2"]),
        ];
        // From Monday 2026-06-01; Dragon Boat Festival (端午节) is Friday 06-19.
        let s = run(&items, date(2026, 6, 1));
        assert_eq!(dates(&s, "CR-1"), (date(2026, 6, 1), date(2026, 6, 1)));
        assert_eq!(dates(&s, "LP-1"), (date(2026, 6, 1), date(2026, 6, 12)));
        assert_eq!(dates(&s, "LP-2"), (date(2026, 6, 1), date(2026, 6, 5)));
        // EP-1: indices 10–19 = 06-15 .. 06-26 skipping the 19th: 15,16,17,18,22,23,24,25,26,29.
        assert_eq!(dates(&s, "EP-1"), (date(2026, 6, 15), date(2026, 6, 29)));
        assert_eq!(dates(&s, "EP-2"), (date(2026, 6, 8), date(2026, 6, 10)));
        assert_eq!(dates(&s, "UT-1"), (date(2026, 6, 8), date(2026, 6, 17)));
        assert_eq!(s.total_working_days, 20);
        assert_eq!(s.critical_path, vec!["LP-1", "EP-1"]);

        let spans: Vec<(Stage, NaiveDate, NaiveDate, u32, u32)> =
            s.stages.iter().map(|st| (st.stage, st.start, st.end, st.working_days, st.items)).collect();
        assert_eq!(
            spans,
            vec![
                (Stage::CompanyRegistration, date(2026, 6, 1), date(2026, 6, 1), 1, 1),
                (Stage::LandUsePlanning, date(2026, 6, 1), date(2026, 6, 12), 10, 2),
                (Stage::EngineeringPermit, date(2026, 6, 8), date(2026, 6, 29), 15, 2),
                (Stage::Utilities, date(2026, 6, 8), date(2026, 6, 17), 8, 1),
            ]
        );
    }

    #[test]
    fn zero_day_items() {
        // A 0-day item first, in the middle and last; a 0-day predecessor lets its successor start the same day.
        let items = [
            item("Z0", EP, 0, &[]),
            item("A", EP, 2, &["Z0"]),
            item("Z1", EP, 0, &["A"]),
            item("B", EP, 1, &["Z1"]),
            item("Z2", EP, 0, &[]),
        ];
        // Wednesday 2025-12-31, then New Year's Day (元旦) Thursday 2026-01-01 off, Sunday 01-04 a make-up day.
        let s = run(&items, date(2025, 12, 31));
        assert_eq!(dates(&s, "Z0"), (date(2025, 12, 31), date(2025, 12, 31)));
        assert_eq!(dates(&s, "A"), (date(2025, 12, 31), date(2026, 1, 4)));
        assert_eq!(dates(&s, "Z1"), (date(2026, 1, 5), date(2026, 1, 5)));
        assert_eq!(dates(&s, "B"), (date(2026, 1, 5), date(2026, 1, 5)));
        assert_eq!(dates(&s, "Z2"), (date(2025, 12, 31), date(2025, 12, 31)));
        assert_eq!((s.total_working_days, s.end), (3, date(2026, 1, 5)));
        assert_eq!(s.critical_path, vec!["Z0", "A", "Z1", "B"]);
        // Z2 may slip until the end.
        assert_eq!((get(&s, "Z2").slack, get(&s, "Z2").critical), (3, false));

        // Only 0-day items: total 0, start and end on day 0.
        let s = run(&[item("Z", EP, 0, &[]), item("Y", EP, 0, &["Z"])], date(2026, 1, 3));
        assert_eq!((s.start, s.end, s.total_working_days), (date(2026, 1, 4), date(2026, 1, 4), 0));
        assert_eq!(s.critical_path, vec!["Z"]); // both finish at 0; the first in plan order
    }

    #[test]
    fn an_empty_plan() {
        let s = run(&[], date(2026, 2, 14)); // a make-up working day (春节调休)
        assert_eq!((s.start, s.end, s.total_working_days), (date(2026, 2, 14), date(2026, 2, 14), 0));
        assert!(s.items.is_empty() && s.stages.is_empty() && s.critical_path.is_empty());
        assert!(s.targets.iter().all(|t| t.met && t.planned_working_days == 0));
        assert!(!s.provisional);
    }

    #[test]
    fn slack_and_the_critical_path_on_ties() {
        // Two equal branches: both critical; the path takes the first in plan order.
        let items = [
            item("A", EP, 2, &[]),
            item("B", EP, 4, &["A"]),
            item("C", EP, 4, &["A"]),
            item("D", EP, 1, &["C", "B"]),
            item("E", EP, 1, &["A"]),
        ];
        let s = run(&items, date(2026, 4, 13));
        assert_eq!(s.critical_path, vec!["A", "B", "D"]);
        let flags: Vec<(&str, u32, bool)> = s.items.iter().map(|i| (i.code.as_str(), i.slack, i.critical)).collect();
        assert_eq!(flags, vec![("A", 0, true), ("B", 0, true), ("C", 0, true), ("D", 0, true), ("E", 4, false)]);

        // Two items ending last: the path ends at the first in plan order.
        let s = run(&[item("P", EP, 3, &[]), item("Q", EP, 3, &[])], date(2026, 4, 13));
        assert_eq!(s.critical_path, vec!["P"]);
        assert!(s.items.iter().all(|i| i.critical));
    }

    #[test]
    fn targets_met_and_broken() {
        let items = [
            item("CR-1", Stage::CompanyRegistration, 30, &[]),
            item("LP-1", Stage::LandUsePlanning, 20, &["CR-1"]),
            item("EP-1", Stage::EngineeringPermit, 20, &["LP-1"]),
            item("CP-1", Stage::ConstructionPermit, 10, &["EP-1"]),
            item("CA-1", Stage::CompletionAcceptance, 5, &["CP-1"]),
            item("UT-1", Stage::Utilities, 12, &["CA-1"]),
        ];
        let calendar = Calendar::embedded();
        let start = date(2025, 3, 3);
        // Main flow 55 (20 + 20 + 10 + 5), whole process 67 (+ 12); company registration counts in neither.
        let s = schedule(&items, start, &calendar, InvestmentKind::Social, &Targets::default()).expect("ok");
        assert_eq!(s.total_working_days, 97);
        let checks: Vec<(&str, &str, u32, u32, u32, bool)> = s
            .targets
            .iter()
            .map(|t| {
                (
                    t.target.as_str(),
                    t.label_zh.as_str(),
                    t.limit_working_days,
                    t.planned_working_days,
                    t.excess_working_days,
                    t.met,
                )
            })
            .collect();
        assert_eq!(
            checks,
            vec![
                ("whole_process", "全流程审批", 100, 67, 0, true),
                ("main_flow", "主流程审批（社会投资）", 45, 55, 10, false),
            ]
        );

        let s = schedule(&items, start, &calendar, InvestmentKind::Government, &Targets::default()).expect("ok");
        assert_eq!(
            (s.targets[1].label_zh.as_str(), s.targets[1].limit_working_days, s.targets[1].met),
            ("主流程审批（政府投资）", 70, true)
        );
        let tight = Targets { whole_process: 60, main_flow_government: 55, main_flow_social: 45 };
        let s = schedule(&items, start, &calendar, InvestmentKind::Government, &tight).expect("ok");
        assert_eq!((s.targets[0].excess_working_days, s.targets[0].met), (7, false));
        assert_eq!((s.targets[1].excess_working_days, s.targets[1].met), (0, true));
    }

    #[test]
    fn provisional_past_the_loaded_years() {
        // 2027's schedule is not loaded: dates in it follow the weekday rule and are provisional (暂定).
        let items = [item("A", EP, 3, &[]), item("B", EP, 10, &["A"]), item("C", EP, 2, &[])];
        let s = run(&items, date(2026, 12, 28));
        assert_eq!(dates(&s, "A"), (date(2026, 12, 28), date(2026, 12, 30)));
        assert!(!get(&s, "A").provisional);
        // B: 12-31 Thursday, then 2027-01-01 Friday counted as a working day by the weekday rule, …
        assert_eq!(dates(&s, "B"), (date(2026, 12, 31), date(2027, 1, 13)));
        assert!(get(&s, "B").provisional);
        assert!(!get(&s, "C").provisional);
        assert!(s.provisional);

        // Starting in 2027: day 0 itself is provisional.
        let s = run(&[], date(2027, 3, 1));
        assert!(s.provisional);

        // Loading 2027 (an empty year list here: no holidays) removes the mark.
        let mut calendar = Calendar::embedded();
        let year = bangban_workdays::load_year_json(r#"{"year":2027,"papers":[],"days":[]}"#).expect("valid");
        calendar.insert_year(year);
        let s =
            schedule(&items, date(2026, 12, 28), &calendar, InvestmentKind::Social, &Targets::default()).expect("ok");
        assert!(!s.provisional);
    }

    #[test]
    fn errors() {
        let start = date(2026, 5, 11);
        let calendar = Calendar::embedded();
        let go = |items: &[PlanItem]| schedule(items, start, &calendar, InvestmentKind::Social, &Targets::default());

        assert_eq!(
            go(&[item("A", EP, 1, &[]), item("B", EP, 1, &[]), item("A", EP, 2, &[])]),
            Err(ScheduleError::DuplicateCode("A".into()))
        );
        assert_eq!(
            go(&[item("A", EP, 1, &[]), item("B", EP, 1, &["A", "X"])]),
            Err(ScheduleError::UnknownPredecessor { item: "B".into(), predecessor: "X".into() })
        );
        let cycle =
            go(&[item("S", EP, 1, &[]), item("A", EP, 1, &["C"]), item("B", EP, 1, &["A"]), item("C", EP, 1, &["B"])]);
        assert_eq!(cycle, Err(ScheduleError::Cycle(vec!["A".into(), "B".into(), "C".into(), "A".into()])));
        let message = cycle.err().map(|e| (e.to_string(), e.reason_zh())).unwrap_or_default();
        assert_eq!(message.0, "predecessors form a cycle: A → B → C → A");
        assert_eq!(message.1, "前置事项形成循环：A → B → C → A");
        assert_eq!(go(&[item("A", EP, 1, &["A"])]), Err(ScheduleError::Cycle(vec!["A".into(), "A".into()])));

        // Absurd durations are refused, not walked day by day.
        let long = go(&[item("A", EP, u32::MAX, &[]), item("B", EP, u32::MAX, &["A"])]);
        assert_eq!(long, Err(ScheduleError::TooLong { working_days: 2 * u64::from(u32::MAX), limit: 100_000 }));
        // Near chrono's last date there is no room.
        let near_end =
            schedule(&[item("A", EP, 10, &[])], NaiveDate::MAX, &calendar, InvestmentKind::Social, &Targets::default());
        assert!(matches!(near_end, Err(ScheduleError::TooLong { working_days: 10, .. })), "{near_end:?}");
    }

    #[test]
    fn duplicate_predecessors_count_once() {
        let s = run(&[item("A", EP, 2, &[]), item("B", EP, 2, &["A", "A"])], date(2026, 5, 11));
        assert_eq!(s.total_working_days, 4);
        assert_eq!(s.critical_path, vec!["A", "B"]);
    }

    /// A random DAG: every item's predecessors are earlier items; durations 0–30 working days.
    fn dag() -> impl Strategy<Value = Vec<PlanItem>> {
        prop::collection::vec((0u32..=30, prop::collection::vec(any::<prop::sample::Index>(), 0..4)), 1..40).prop_map(
            |specs| {
                let mut items: Vec<PlanItem> = Vec::with_capacity(specs.len());
                for (i, (days, picks)) in specs.into_iter().enumerate() {
                    let stage = Stage::ALL[i % Stage::ALL.len()];
                    let mut it = item(&format!("I{i}"), stage, days, &[]);
                    if i > 0 {
                        it.predecessors = picks.iter().map(|p| format!("I{}", p.index(i))).collect();
                    }
                    items.push(it);
                }
                items
            },
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn schedules_respect_predecessors_and_add_up(items in dag(), offset in 0u64..700) {
            let calendar = Calendar::embedded();
            let start = date(2025, 1, 1) + chrono::Days::new(offset);
            let s = schedule(&items, start, &calendar, InvestmentKind::Government, &Targets::default())
                .expect("a DAG schedules");
            let day0 = calendar.add_working_days(start, 0).value;
            prop_assert_eq!(s.start, day0);
            prop_assert_eq!(s.items.len(), items.len());
            let by_code: HashMap<&str, (&PlanItem, &ScheduledItem)> =
                items.iter().zip(&s.items).map(|(p, si)| (p.code.as_str(), (p, si))).collect();

            for (p, si) in items.iter().zip(&s.items) {
                prop_assert_eq!(&p.code, &si.code);
                prop_assert!(si.start <= si.end);
                prop_assert!(calendar.is_working_day(si.start).value && calendar.is_working_day(si.end).value);
                if p.promised_working_days > 0 {
                    // It occupies exactly its working days.
                    prop_assert_eq!(calendar.working_days_between(si.start, si.end).value + 1, p.promised_working_days);
                } else {
                    prop_assert_eq!(si.start, si.end);
                }
                for code in &p.predecessors {
                    let (pp, ps) = by_code[code.as_str()];
                    if pp.promised_working_days > 0 {
                        prop_assert!(si.start > ps.end, "{} starts {} before {} ends {}", p.code, si.start, code, ps.end);
                    } else {
                        prop_assert!(si.start >= ps.end);
                    }
                }
                prop_assert!(si.slack <= s.total_working_days);
                prop_assert_eq!(si.critical, si.slack == 0);
            }

            // The total is the latest finish, in working days counted from day 0 (a 0-day item finishes where it
            // is done, occupying no day).
            let finish = |p: &PlanItem, si: &ScheduledItem| {
                let through = calendar.working_days_between(day0, si.end).value;
                if p.promised_working_days > 0 { through + 1 } else { through }
            };
            let latest = items.iter().zip(&s.items).map(|(p, si)| finish(p, si)).max().unwrap_or(0);
            prop_assert_eq!(s.total_working_days, latest);
            // The end is the last item's date: the total's last day, or a 0-day item's day after it.
            let last = s.items.iter().map(|i| i.end).max().unwrap_or(day0);
            prop_assert_eq!(s.end, last.max(calendar.add_working_days(day0, s.total_working_days.max(1) - 1).value));

            // The critical path is a chain from day 0 whose durations add up to the total.
            prop_assert!(!s.critical_path.is_empty());
            let first = by_code[s.critical_path[0].as_str()].1;
            prop_assert_eq!(first.start, day0);
            for pair in s.critical_path.windows(2) {
                prop_assert!(by_code[pair[1].as_str()].0.predecessors.contains(&pair[0]));
            }
            let sum: u32 = s.critical_path.iter().map(|c| by_code[c.as_str()].0.promised_working_days).sum();
            prop_assert_eq!(sum, s.total_working_days);
            prop_assert!(s.critical_path.iter().all(|c| by_code[c.as_str()].1.critical));

            // Stages: each spans its items.
            for span in &s.stages {
                let mine: Vec<&ScheduledItem> = s.items.iter().filter(|i| i.stage == span.stage).collect();
                prop_assert_eq!(span.items as usize, mine.len());
                prop_assert_eq!(Some(span.start), mine.iter().map(|i| i.start).min());
                prop_assert_eq!(Some(span.end), mine.iter().map(|i| i.end).max());
            }
        }
    }
}
