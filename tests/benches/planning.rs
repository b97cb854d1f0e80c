//! Planning benchmark (代办方案基准): plan generation with its schedule (预排工期), and the working-day
//! arithmetic (工作日计算) every deadline rests on. Pure computation in this process — no NATS, no database.
//!
//! 1. **Plans/s**: `resolve_profile` + `generate_items` + `schedule` for one project, repeated:
//!    - a synthetic catalog of 66 items across all six stages with a realistic predecessor structure (a gate
//!      item per stage waiting for the stage before, chains, branches, fan-in of two, a closing item waiting for
//!      every open end; utilities beside construction; six items that do not apply or are on demand, named as
//!      predecessors so the plan's predecessors are reconciled), yielding a 60-item plan. Measured whole, and
//!      split into generation only and schedule only;
//!    - the real embedded catalog (`services/planning/data/catalog.json`), once per project category
//!      (§7.3.2's seven) with the category's usual attributes, when the catalog has items.
//!
//!    Start dates rotate through 2025–2026, so every plan walks a different part of the calendar.
//! 2. **Calls/s** of `Calendar::add_working_days` over a ten-year span: random start dates in 2024–2026 and
//!    `n` up to 2500 working days (results up to ten years later; years past 2026 are not loaded and follow
//!    the weekday rule, provisional), and `working_days_between` over spans up to ten years.
//!
//! Environment: `BENCH_SECONDS` — seconds per headline figure (default 2; the per-category and split figures
//! take a quarter of it each, at least 0.2 s).
//!
//! Correctness checks (a failure makes the exit code non-zero): the synthetic plan has 60 items; every schedule
//! computes, respects its predecessors, ends where its total says, and its critical path adds up to the total;
//! the embedded catalog is valid; `working_days_between(d, add_working_days(d, n)) == n` and monotonicity on a
//! sample, with known dates around National Day 2025 and Spring Festival 2026.

#[path = "support/mod.rs"]
mod support;

use std::{
    collections::HashMap,
    hint::black_box,
    process::ExitCode,
    str::FromStr,
    time::{Duration, Instant},
};

use anyhow::bail;
use bangban_contracts::{
    intake::{ProjectCategory, ProjectView},
    planning::{Applicability, CatalogItem, Level, Material, PlanItem, Schedule, Stage, UnitType},
};
use bangban_planning::domain::{
    catalog,
    schedule::{Targets, schedule},
    select::{ProfileOverrides, generate_items, resolve_profile},
};
use bangban_workdays::Calendar;
use chrono::{Datelike, Days, NaiveDate};

fn main() -> ExitCode {
    support::main("planning bench", Config::from_env, |config| async move { Ok(run(&config)) })
}

// ---------------------------------------------------------------------------------------------
// Configuration

struct Config {
    /// Per headline figure.
    seconds: Duration,
}

impl Config {
    fn from_env() -> anyhow::Result<Self> {
        let seconds: f64 = env_or("BENCH_SECONDS", 2.0)?;
        if !seconds.is_finite() || seconds <= 0.0 || seconds > 3600.0 {
            bail!("BENCH_SECONDS must be a positive number of seconds (at most 3600)");
        }
        Ok(Self { seconds: Duration::from_secs_f64(seconds) })
    }

    /// For the secondary figures.
    fn short(&self) -> Duration {
        (self.seconds / 4).max(Duration::from_millis(200))
    }
}

fn env_or<T: FromStr>(name: &str, default: T) -> anyhow::Result<T> {
    match std::env::var(name) {
        Ok(s) if !s.trim().is_empty() => s.trim().parse().map_err(|_| anyhow::anyhow!("{name}: {s:?} is not a number")),
        _ => Ok(default),
    }
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN)
}

/// A small deterministic generator (xorshift64*), so every run measures the same inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Runs `f` repeatedly for `budget` (at least 3 times): calls per second and µs per call.
fn measure(budget: Duration, mut f: impl FnMut(usize)) -> Rate {
    // Warm-up, untimed.
    for i in 0..3 {
        f(i);
    }
    let cpu_before = thread_cpu_seconds();
    let started = Instant::now();
    let mut calls = 0usize;
    loop {
        f(calls);
        calls += 1;
        if calls.is_multiple_of(8) && started.elapsed() >= budget {
            break;
        }
    }
    let elapsed = started.elapsed();
    let cpu = thread_cpu_seconds().zip(cpu_before).map(|(after, before)| after - before);
    Rate { calls, elapsed, cpu }
}

/// CPU seconds (user + system) this thread has used, from `/proc/thread-self/stat` (Linux; `None` elsewhere).
/// Unlike wall time it does not count the time other processes of a busy machine take the CPU from us.
fn thread_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces: utime and stime are the
    // 14th and 15th fields of the line, the 12th and 13th after the name.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // USER_HZ is 100 on every Linux this runs on.
    Some(ticks / 100.0)
}

struct Rate {
    calls: usize,
    elapsed: Duration,
    /// CPU seconds of this thread over the timed calls.
    cpu: Option<f64>,
}

impl Rate {
    fn per_second(&self) -> f64 {
        self.calls as f64 / self.elapsed.as_secs_f64()
    }

    fn micros(&self) -> f64 {
        self.elapsed.as_secs_f64() * 1e6 / self.calls as f64
    }

    /// CPU µs per call, `-` when unknown or too short to tell (10 ms ticks).
    fn cpu_micros(&self) -> String {
        match self.cpu {
            Some(cpu) if cpu >= 0.05 => format!("{:.1}", cpu * 1e6 / self.calls as f64),
            _ => "-".into(),
        }
    }

    /// Share of wall time this thread was on a CPU.
    fn on_cpu(&self) -> String {
        match self.cpu {
            Some(cpu) if cpu >= 0.05 => format!("{:.0}%", 100.0 * cpu / self.elapsed.as_secs_f64()),
            _ => "-".into(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The synthetic catalog

fn catalog_item(code: String, stage: Stage, days: u32, predecessors: Vec<String>) -> CatalogItem {
    let unit_type = match stage {
        Stage::CompanyRegistration => UnitType::MarketRegulation,
        Stage::LandUsePlanning => UnitType::NaturalResources,
        Stage::EngineeringPermit => UnitType::AdministrativeApproval,
        Stage::ConstructionPermit => UnitType::HousingConstruction,
        Stage::CompletionAcceptance => UnitType::UrbanArchives,
        Stage::Utilities => UnitType::PowerSupply,
    };
    CatalogItem {
        name: format!("{}事项{code}", stage.label_zh()),
        code,
        stage,
        unit_type,
        level: Level::ByLocation,
        materials: vec![
            Material { name: "申请表".into(), required: true, note: None },
            Material { name: "项目批准文件".into(), required: true, note: None },
            Material { name: "授权委托书".into(), required: false, note: Some("委托办理时提供".into()) },
        ],
        promised_working_days: days,
        statutory_working_days: None,
        legal_basis: "《工程建设项目审批制度改革》相关规定".into(),
        predecessors,
        applies: Applicability::default(),
        note: None,
    }
}

/// 60 items that apply to an industrial project, plus 6 that do not (3 for another category, 3 on demand),
/// listed in reverse stage order so the plan's stable sort has work to do.
fn synthetic_catalog() -> Vec<CatalogItem> {
    const STAGES: [(Stage, &str, usize, Option<&str>); 6] = [
        (Stage::CompanyRegistration, "CR", 4, None),
        (Stage::LandUsePlanning, "LP", 12, Some("CR-04")),
        (Stage::EngineeringPermit, "EP", 16, Some("LP-12")),
        (Stage::ConstructionPermit, "CP", 10, Some("EP-16")),
        (Stage::CompletionAcceptance, "CA", 10, Some("CP-10")),
        (Stage::Utilities, "UT", 8, Some("EP-16")),
    ];
    const DAYS: [u32; 8] = [5, 0, 3, 10, 7, 1, 15, 20];
    let mut groups: Vec<Vec<CatalogItem>> = Vec::new();
    let mut serial = 0usize;
    for (stage, prefix, count, after) in STAGES {
        let code = |i: usize| format!("{prefix}-{i:02}");
        let mut items: Vec<CatalogItem> = Vec::new();
        for i in 1..=count {
            serial += 1;
            let predecessors: Vec<String> = if i == 1 {
                after.map(str::to_owned).into_iter().collect()
            } else if i == count {
                // The closing item waits for every open end of the stage.
                let named: Vec<&String> = items.iter().flat_map(|it| &it.predecessors).collect();
                items.iter().map(|it| it.code.clone()).filter(|c| !named.contains(&c)).collect()
            } else {
                match i % 3 {
                    2 => vec![code(1)],                  // a branch from the gate (parallel approval)
                    0 => vec![code(i - 1)],              // a chain
                    _ => vec![code(i - 1), code(i - 2)], // fan-in of two
                }
            };
            items.push(catalog_item(code(i), stage, DAYS[serial % DAYS.len()], predecessors));
        }
        groups.push(items);
    }
    // Completion acceptance closes after the utilities too.
    if let Some(last) = groups.get_mut(4).and_then(|g| g.last_mut()) {
        last.predecessors.push("UT-08".into());
    }

    // Items that do not apply (another category) or are on demand, each named as a predecessor by one that
    // does: the plan keeps the ordering through them.
    let mut extra = Vec::new();
    for (i, (stage, before, after)) in [
        (Stage::LandUsePlanning, "LP-03", "LP-05"),
        (Stage::EngineeringPermit, "EP-02", "EP-06"),
        (Stage::EngineeringPermit, "EP-08", "EP-09"),
        (Stage::ConstructionPermit, "CP-01", "CP-04"),
        (Stage::CompletionAcceptance, "CA-02", "CA-07"),
        (Stage::Utilities, "UT-01", "UT-05"),
    ]
    .into_iter()
    .enumerate()
    {
        let code = format!("XR-{:02}", i + 1);
        let mut item = catalog_item(code.clone(), stage, 5, vec![before.to_owned()]);
        if i % 2 == 0 {
            item.applies.categories = vec![ProjectCategory::OldCommunity];
        } else {
            item.applies.on_demand = true;
        }
        if let Some(successor) = groups.iter_mut().flatten().find(|it| it.code == after) {
            successor.predecessors.push(code);
        }
        extra.push(item);
    }
    let mut catalog: Vec<CatalogItem> = groups.into_iter().rev().flatten().collect();
    catalog.extend(extra);
    catalog
}

fn project(category: ProjectCategory) -> ProjectView {
    ProjectView {
        id: uuid::Uuid::nil(),
        name: "滨州市基准测试项目".into(),
        category,
        office: "371602".into(),
        code: None,
        investment_wan: Some(8_000.0),
        land_area_m2: Some(30_000.0),
        floor_area_m2: Some(20_000.0),
        newly_settled: false,
        investment_kind: None,
        land_supply: None,
        construction: None,
    }
}

// ---------------------------------------------------------------------------------------------
// Correctness of one schedule

fn check_schedule(label: &str, items: &[PlanItem], s: &Schedule, calendar: &Calendar, failures: &mut Vec<String>) {
    let by_code: HashMap<&str, usize> = items.iter().enumerate().map(|(i, it)| (it.code.as_str(), i)).collect();
    if s.items.len() != items.len() {
        failures.push(format!("{label}: {} items scheduled of {}", s.items.len(), items.len()));
        return;
    }
    for (item, scheduled) in items.iter().zip(&s.items) {
        for p in &item.predecessors {
            let Some(&j) = by_code.get(p.as_str()) else {
                failures.push(format!("{label}: {} names {p}, not in the plan", item.code));
                continue;
            };
            let (pred, pred_s) = (&items[j], &s.items[j]);
            let ok = if pred.promised_working_days > 0 {
                scheduled.start > pred_s.end
            } else {
                scheduled.start >= pred_s.end
            };
            if !ok {
                failures.push(format!(
                    "{label}: {} starts {} before its predecessor {p} ends {}",
                    item.code, scheduled.start, pred_s.end
                ));
            }
        }
    }
    let day0 = calendar.add_working_days(s.start, 0).value;
    let end = calendar.add_working_days(day0, s.total_working_days.max(1) - 1).value;
    if s.start != day0 || s.end != end {
        failures.push(format!("{label}: {} → {} does not span {} working days", s.start, s.end, s.total_working_days));
    }
    let path: u32 =
        s.critical_path.iter().filter_map(|c| by_code.get(c.as_str())).map(|&i| items[i].promised_working_days).sum();
    if !items.is_empty() && path != s.total_working_days {
        failures.push(format!("{label}: critical path adds up to {path}, total {}", s.total_working_days));
    }
}

// ---------------------------------------------------------------------------------------------
// The run

struct PlanRow {
    label: String,
    /// Printed after the figures (Chinese labels would break the column widths).
    note: String,
    items: usize,
    total: u32,
    critical: usize,
    rate: Rate,
}

fn run(config: &Config) -> Vec<String> {
    let mut failures = Vec::new();
    let calendar = Calendar::embedded();
    let targets = Targets::default();
    let overrides = ProfileOverrides::default();
    // 2025-01-02 onwards, one start date per 3 days across two years.
    let starts: Vec<NaiveDate> = (0..240u64).map(|i| date(2025, 1, 2) + Days::new(i * 3)).collect();
    let start_of = |i: usize| starts[i % starts.len()];

    println!("Planning benchmark: domain logic of bangban-planning in one thread, no I/O.");
    println!(
        "Calendar: embedded State Council schedules {:?}; later years follow the weekday rule (provisional).",
        calendar.loaded_years().collect::<Vec<_>>()
    );
    println!(
        "BENCH_SECONDS={:.1} (headline figures; the others {:.2} s each)",
        config.seconds.as_secs_f64(),
        config.short().as_secs_f64()
    );
    println!();

    // 1. Plans.
    let mut rows: Vec<PlanRow> = Vec::new();
    let synthetic = synthetic_catalog();
    let industrial = project(ProjectCategory::Industrial);
    let profile = resolve_profile(&industrial, &overrides);
    let items = generate_items(&synthetic, &profile);
    if items.len() != 60 {
        failures.push(format!("synthetic catalog: a plan of {} items, expected 60", items.len()));
    }
    match schedule(&items, start_of(0), &calendar, profile.investment, &targets) {
        Ok(s) => {
            check_schedule("synthetic", &items, &s, &calendar, &mut failures);
            let mut scheduled_ok = true;
            let whole = measure(config.seconds, |i| {
                let profile = resolve_profile(black_box(&industrial), &overrides);
                let items = generate_items(black_box(&synthetic), &profile);
                let s = schedule(&items, start_of(i), &calendar, profile.investment, &targets);
                scheduled_ok &= s.is_ok();
                black_box(s).ok();
            });
            let generate = measure(config.short(), |_| {
                let profile = resolve_profile(black_box(&industrial), &overrides);
                black_box(generate_items(black_box(&synthetic), &profile));
            });
            let only_schedule = measure(config.short(), |i| {
                black_box(schedule(black_box(&items), start_of(i), &calendar, profile.investment, &targets)).ok();
            });
            if !scheduled_ok {
                failures.push("synthetic catalog: a timed schedule failed".into());
            }
            let row = |label: &str, rate: Rate| PlanRow {
                label: label.into(),
                note: String::new(),
                items: items.len(),
                total: s.total_working_days,
                critical: s.critical_path.len(),
                rate,
            };
            rows.push(row("synthetic 66 → 60 items: generate + schedule", whole));
            rows.push(row("  of which generate_items only", generate));
            rows.push(row("  of which schedule only", only_schedule));
        }
        Err(e) => failures.push(format!("synthetic catalog: schedule failed: {e}")),
    }

    let embedded_items: Vec<CatalogItem> = match catalog::embedded_document() {
        Ok(doc) => doc.items,
        Err(e) => {
            failures.push(format!("embedded catalog does not parse: {e}"));
            Vec::new()
        }
    };
    let embedded_note = if embedded_items.is_empty() {
        "the embedded catalog has no items yet: no per-category figures".to_owned()
    } else {
        let doc = bangban_contracts::planning::CatalogDocument { sources: vec![], items: embedded_items.clone() };
        let errors = catalog::validate_document(&doc);
        for e in &errors {
            failures.push(format!("embedded catalog: {}: {}", e.field, e.reason_en));
        }
        for &category in ProjectCategory::ALL {
            let p = project(category);
            let profile = resolve_profile(&p, &overrides);
            let items = generate_items(&embedded_items, &profile);
            let label = format!("embedded catalog, {}", category.as_str());
            let s = match schedule(&items, start_of(0), &calendar, profile.investment, &targets) {
                Ok(s) => s,
                Err(e) => {
                    failures.push(format!("{label}: schedule failed: {e}"));
                    continue;
                }
            };
            check_schedule(&label, &items, &s, &calendar, &mut failures);
            let rate = measure(config.short(), |i| {
                let profile = resolve_profile(black_box(&p), &overrides);
                let items = generate_items(black_box(&embedded_items), &profile);
                black_box(schedule(&items, start_of(i), &calendar, profile.investment, &targets)).ok();
            });
            rows.push(PlanRow {
                label,
                note: category.label_zh().to_owned(),
                items: items.len(),
                total: s.total_working_days,
                critical: s.critical_path.len(),
                rate,
            });
        }
        format!("embedded catalog: {} items", embedded_items.len())
    };

    println!("1. Plan generation with schedule (resolve_profile + generate_items + schedule, 预排工期)");
    println!(
        "  {:<46} {:>5} {:>8} {:>8} {:>10} {:>9} {:>12} {:>7} {:>7}",
        "catalog / project", "items", "total wd", "critical", "plans/s", "µs/plan", "CPU µs/plan", "on CPU", "runs"
    );
    for r in &rows {
        let line = format!(
            "  {:<46} {:>5} {:>8} {:>8} {:>10.0} {:>9.1} {:>12} {:>7} {:>7}  {}",
            r.label,
            r.items,
            r.total,
            r.critical,
            r.rate.per_second(),
            r.rate.micros(),
            r.rate.cpu_micros(),
            r.rate.on_cpu(),
            r.rate.calls,
            r.note
        );
        println!("{}", line.trim_end());
    }
    println!(
        "  {embedded_note}. total wd: the schedule's total in working days; critical: items on the critical path;"
    );
    println!(
        "  CPU µs/plan: this thread's CPU time per plan, which stays put when neighbours load the machine (on CPU <"
    );
    println!("  100%) while plans/s and µs/plan (wall time) move with them.");
    println!();

    // 2. Working-day arithmetic over ten years.
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let first = date(2024, 1, 1);
    let span_2024_2026 = date(2026, 12, 31).signed_duration_since(first).num_days().max(1) as u64;
    let adds: Vec<(NaiveDate, u32)> =
        (0..4096).map(|_| (first + Days::new(rng.below(span_2024_2026 + 1)), rng.below(2501) as u32)).collect();
    let betweens: Vec<(NaiveDate, NaiveDate)> = (0..4096)
        .map(|_| {
            let from = first + Days::new(rng.below(span_2024_2026 + 1));
            (from, from + Days::new(rng.below(3653)))
        })
        .collect();

    // Correctness on a sample, and on known dates.
    for &(d, n) in adds.iter().take(512) {
        let to = calendar.add_working_days(d, n);
        let back = calendar.working_days_between(d, to.value).value;
        if n >= 1 && back != n {
            failures.push(format!("working_days_between({d}, add_working_days({d}, {n}) = {}) = {back}", to.value));
        }
        let next = calendar.add_working_days(d, n + 1).value;
        if next <= to.value {
            failures.push(format!("add_working_days({d}, {}) = {next} is not after {}", n + 1, to.value));
        }
        if to.value.year() > 2026 && !to.provisional {
            failures.push(format!("add_working_days({d}, {n}) = {} past 2026 is not provisional", to.value));
        }
    }
    for (from, n, expected) in [
        (date(2025, 9, 30), 1, date(2025, 10, 9)), // National Day 2025: off 10-01..08
        (date(2025, 9, 26), 1, date(2025, 9, 28)), // make-up working Sunday
        (date(2026, 2, 13), 1, date(2026, 2, 14)), // make-up working Saturday before Spring Festival
        (date(2026, 2, 14), 1, date(2026, 2, 24)), // Spring Festival 2026: off 02-15..23
    ] {
        let got = calendar.add_working_days(from, n).value;
        if got != expected {
            failures.push(format!("add_working_days({from}, {n}) = {got}, expected {expected}"));
        }
    }

    let provisional = adds.iter().filter(|(d, n)| calendar.add_working_days(*d, *n).provisional).count();
    let add_rate = measure(config.seconds, |i| {
        let (d, n) = adds[i % adds.len()];
        black_box(calendar.add_working_days(black_box(d), black_box(n)));
    });
    let mean_n = adds.iter().map(|(_, n)| f64::from(*n)).sum::<f64>() / adds.len() as f64;
    let between_rate = measure(config.seconds, |i| {
        let (from, to) = betweens[i % betweens.len()];
        black_box(calendar.working_days_between(black_box(from), black_box(to)));
    });
    let mean_span = betweens.iter().map(|(f, t)| t.signed_duration_since(*f).num_days() as f64).sum::<f64>()
        / betweens.len() as f64;
    let ten_years = calendar.working_days_between(date(2024, 1, 1), date(2033, 12, 31));

    println!("2. Working-day arithmetic over a ten-year span (Calendar::embedded)");
    println!("  {:<62} {:>10} {:>9} {:>12} {:>7} {:>7}", "call", "calls/s", "µs/call", "CPU µs/call", "on CPU", "runs");
    for (label, rate) in [
        (format!("add_working_days(d in 2024–2026, n ≤ 2500, mean n {mean_n:.0})"), &add_rate),
        (format!("working_days_between(d, d + ≤ 10 years, mean {mean_span:.0} days)"), &between_rate),
    ] {
        println!(
            "  {:<62} {:>10.0} {:>9.2} {:>12} {:>7} {:>7}",
            label,
            rate.per_second(),
            rate.micros(),
            rate.cpu_micros(),
            rate.on_cpu(),
            rate.calls
        );
    }
    println!(
        "  {:.0}% of the add_working_days results lie past 2026 and are provisional (暂定); 2024-01-01 → 2033-12-31 is \
         {} working days (provisional: {}).",
        100.0 * provisional as f64 / adds.len() as f64,
        ten_years.value,
        ten_years.provisional
    );
    println!();
    if failures.is_empty() {
        println!(
            "Correctness: ok (60-item synthetic plan; every schedule respects its predecessors, spans its total and \
             has a critical path adding up to it; embedded catalog valid; add/between round-trip and monotonic on \
             512 samples; known holiday dates)"
        );
    } else {
        println!("Correctness: FAILED ({} checks, see stderr)", failures.len());
    }
    failures
}
