//! The embedded approval-item catalog (事项库, `data/catalog.json`) as data: it parses and validates, covers every
//! stage and the items every Shandong city handles, and yields for each of the seven categories (§7.3.2) the item
//! set a specialist would expect, scheduled with parallel approval (并联审批) within the reform's time targets.

use std::collections::BTreeSet;

use bangban_contracts::{
    intake::{ProjectCategory, ProjectView},
    planning::{CatalogDocument, CatalogItem, PlanItem, PlanProfile, Schedule, Stage},
};
use bangban_planning::domain::{
    catalog::{embedded_document, validate_document},
    schedule::{Targets, schedule},
    select::{ProfileOverrides, generate_items, resolve_profile},
};
use bangban_workdays::Calendar;
use chrono::NaiveDate;
use uuid::Uuid;

fn document() -> CatalogDocument {
    embedded_document().expect("data/catalog.json parses as a CatalogDocument")
}

fn project(category: ProjectCategory) -> ProjectView {
    ProjectView {
        id: Uuid::new_v4(),
        name: format!("博兴县{}测试项目", category.as_str()),
        category,
        office: "371625".into(),
        code: None,
        investment_wan: None,
        land_area_m2: None,
        floor_area_m2: None,
        newly_settled: false,
        investment_kind: None,
        land_supply: None,
        construction: None,
    }
}

fn start_on() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 2).expect("a valid date")
}

struct Planned {
    profile: PlanProfile,
    items: Vec<PlanItem>,
    schedule: Schedule,
}

fn plan_for(doc: &CatalogDocument, project: &ProjectView) -> Planned {
    let profile = resolve_profile(project, &ProfileOverrides::default());
    let items = generate_items(&doc.items, &profile);
    let schedule = schedule(&items, start_on(), &Calendar::embedded(), profile.investment, &Targets::default())
        .unwrap_or_else(|e| panic!("{:?}: the plan cannot be scheduled: {e}", project.category));
    Planned { profile, items, schedule }
}

fn codes(items: &[PlanItem]) -> BTreeSet<&str> {
    items.iter().map(|i| i.code.as_str()).collect()
}

fn target(schedule: &Schedule, name: &str) -> u32 {
    schedule.targets.iter().find(|t| t.target == name).map(|t| t.planned_working_days).unwrap_or_default()
}

fn item<'a>(items: &'a [PlanItem], code: &str) -> &'a PlanItem {
    items.iter().find(|i| i.code == code).unwrap_or_else(|| panic!("{code} is in the plan"))
}

/// The expected item set of each category with its usual profile (golden lists, checked by hand).
fn golden(category: ProjectCategory) -> &'static [&'static str] {
    match category {
        // 政府投资、划拨、新建：项目建议书→用地预审与选址→可研→划拨决定书与用地规划许可同步→方案→初步设计→
        // 工程规划许可、人防→施工图联审与特殊消防设计审查→施工许可→联合验收→备案→不动产首次登记；水电气暖信。
        ProjectCategory::GovHousing => &[
            "LP-03", "LP-04", "LP-05", "LP-06", "LP-08", "LP-13", "LP-20", //
            "EP-01", "EP-02", "EP-03", "EP-04", //
            "CP-01", "CP-02", "CP-03", "CP-04", //
            "CA-01", "CA-02", "CA-04", "CA-05", "CA-06", "CA-07", "CA-08", //
            "UT-01", "UT-02", "UT-03", "UT-04", "UT-05", "UT-06",
        ],
        // 政府投资线性工程：环评报告表，占挖城市道路、涉路施工；无消防、人防、不动产登记，只接电。
        ProjectCategory::MunicipalLinear => &[
            "LP-03", "LP-04", "LP-05", "LP-06", "LP-08", "LP-11", "LP-13", //
            "EP-01", "EP-02", "EP-03", "EP-06", //
            "CP-01", "CP-03", "CP-04", "CP-05", //
            "CA-01", "CA-05", "CA-06", "CA-07", //
            "UT-03",
        ],
        // 社会投资一般工业、出让：备案、出让合同、节能、环评报告表；消防验收备案、排水许可；无人防。
        ProjectCategory::Industrial => &[
            "LP-01", "LP-07", "LP-08", "LP-10", "LP-11", "LP-13", "LP-20", //
            "EP-01", "EP-03", //
            "CP-01", "CP-03", "CP-04", //
            "CA-01", "CA-03", "CA-05", "CA-06", "CA-07", "CA-08", "CA-10", //
            "UT-01", "UT-02", "UT-03", "UT-04", "UT-06",
        ],
        // 社会投资房地产：备案、出让；人防结建；特殊建设工程消防设计审查和消防验收；全部公用接入。
        ProjectCategory::RealEstate => &[
            "LP-01", "LP-07", "LP-08", "LP-13", "LP-20", //
            "EP-01", "EP-03", "EP-04", //
            "CP-01", "CP-02", "CP-03", "CP-04", //
            "CA-01", "CA-02", "CA-04", "CA-05", "CA-06", "CA-07", "CA-08", //
            "UT-01", "UT-02", "UT-03", "UT-04", "UT-05", "UT-06",
        ],
        // 老旧小区改造：已有用地、改造，不办用地和规划许可；可研、初步设计、施工图、施工许可、档案、备案。
        ProjectCategory::OldCommunity => &["LP-04", "EP-02", "CP-01", "CP-03", "CP-04", "CA-05", "CA-07"],
        // 带方案出让（工业为主，拿地即开工）：无单独方案审查，用地规划许可与工程规划许可同步。
        ProjectCategory::LandWithScheme => &[
            "LP-01", "LP-07", "LP-08", "LP-10", "LP-11", "LP-13", "LP-20", //
            "EP-03", //
            "CP-01", "CP-03", "CP-04", //
            "CA-01", "CA-03", "CA-05", "CA-06", "CA-07", "CA-08", "CA-10", //
            "UT-01", "UT-02", "UT-03", "UT-04", "UT-06",
        ],
        // 其他社会投资民用建筑（商业、办公等）：备案、出让、人防结建，消防验收备案。
        ProjectCategory::Other => &[
            "LP-01", "LP-07", "LP-08", "LP-13", "LP-20", //
            "EP-01", "EP-03", "EP-04", //
            "CP-01", "CP-03", "CP-04", //
            "CA-01", "CA-03", "CA-04", "CA-05", "CA-06", "CA-07", "CA-08", //
            "UT-01", "UT-02", "UT-03", "UT-04", "UT-05", "UT-06",
        ],
    }
}

#[test]
fn the_embedded_catalog_parses_and_validates() {
    let doc = document();
    let errors = validate_document(&doc);
    for e in &errors {
        eprintln!("{}: {} ({})", e.field, e.reason, e.reason_en);
    }
    assert!(errors.is_empty(), "{} validation errors in data/catalog.json", errors.len());
    assert!(doc.items.len() >= 40, "only {} items", doc.items.len());
    assert!(!doc.sources.is_empty(), "the sources are listed");
}

#[test]
fn every_stage_has_items_and_codes_follow_the_stage_scheme() {
    let doc = document();
    for &stage in Stage::ALL {
        let n = doc.items.iter().filter(|i| i.stage == stage).count();
        println!("{:<22} {:>2} items", stage.as_str(), n);
        assert!(n > 0, "no item of stage {}", stage.as_str());
    }
    let prefix = |stage: Stage| match stage {
        Stage::CompanyRegistration => "CR-",
        Stage::LandUsePlanning => "LP-",
        Stage::EngineeringPermit => "EP-",
        Stage::ConstructionPermit => "CP-",
        Stage::CompletionAcceptance => "CA-",
        Stage::Utilities => "UT-",
    };
    let mut names = BTreeSet::new();
    for item in &doc.items {
        assert!(
            item.code.starts_with(prefix(item.stage)),
            "{} is not coded for stage {}",
            item.code,
            item.stage.as_str()
        );
        assert!(names.insert(item.name.as_str()), "the name {} is used twice", item.name);
        assert!((3..=8).contains(&item.materials.len()), "{} lists {} materials", item.code, item.materials.len());
        assert!(item.legal_basis.contains('《'), "{}'s legal basis names no law or document", item.code);
    }
}

#[test]
fn the_items_every_shandong_city_handles_are_present() {
    let doc = document();
    // Each entry: fragments that one item's name must all contain (official names vary in wording).
    let required: &[&[&str]] = &[
        &["企业投资项目备案"],
        &["企业投资项目核准"],
        &["用地预审与选址意见书"],
        &["建设用地规划许可证"],
        &["环境影响", "审批"],
        &["节能审查"],
        &["水土保持方案审批"],
        &["建设工程规划许可证"],
        &["人防工程审批"],
        &["施工图审查"],
        &["消防设计审查"],
        &["建筑工程施工许可证"],
        &["规划核实"],
        &["消防验收"],
        &["人防", "验收"],
        &["竣工验收备案"],
        &["城建档案验收"],
        &["不动产首次登记"],
        &["联合验收"],
    ];
    for fragments in required {
        let found = doc.items.iter().find(|i| fragments.iter().all(|f| i.name.contains(f)));
        assert!(found.is_some(), "no item named with {fragments:?}");
    }
}

#[test]
fn each_category_yields_its_expected_items_within_the_targets() {
    let doc = document();
    let on_demand: BTreeSet<&str> = doc.items.iter().filter(|i| i.applies.on_demand).map(|i| i.code.as_str()).collect();
    println!("{:<18} {:>5} {:>10} {:>10}  critical path", "category", "items", "main flow", "whole");
    for &category in ProjectCategory::ALL {
        let planned = plan_for(&doc, &project(category));
        let got = codes(&planned.items);
        let want: BTreeSet<&str> = golden(category).iter().copied().collect();
        assert_eq!(
            got,
            want,
            "{}: unexpected {:?}, missing {:?}",
            category.as_str(),
            got.difference(&want).collect::<Vec<_>>(),
            want.difference(&got).collect::<Vec<_>>()
        );
        assert!(got.is_disjoint(&on_demand), "{}: an on-demand item was generated", category.as_str());

        let main = target(&planned.schedule, "main_flow");
        let whole = target(&planned.schedule, "whole_process");
        println!(
            "{:<18} {:>5} {:>10} {:>10}  {}",
            category.as_str(),
            planned.items.len(),
            main,
            whole,
            planned.schedule.critical_path.join(" → ")
        );
        for check in &planned.schedule.targets {
            assert!(
                check.met,
                "{}: {} planned {} working days, over the limit of {}",
                category.as_str(),
                check.label_zh,
                check.planned_working_days,
                check.limit_working_days
            );
        }
        assert!(!planned.schedule.provisional, "2026 is an embedded year");
        assert_eq!(planned.schedule.start, start_on());
    }
}

#[test]
fn category_specific_facts_hold() {
    let doc = document();
    let names = |category: ProjectCategory| -> Vec<String> {
        plan_for(&doc, &project(category)).items.into_iter().map(|i| i.name).collect()
    };
    let has = |names: &[String], fragment: &str| names.iter().any(|n| n.contains(fragment));

    let old = names(ProjectCategory::OldCommunity);
    assert!(!has(&old, "用地预审"), "an old-community renovation uses its existing land");
    assert!(!has(&old, "建设用地规划许可证"));
    assert!(!has(&old, "建设工程规划许可证"), "a renovation keeping the appearance needs no planning permit");

    let linear = names(ProjectCategory::MunicipalLinear);
    assert!(!has(&linear, "不动产首次登记"), "roads and pipelines are not registered");
    assert!(has(&linear, "占用、挖掘城市道路"));
    assert!(has(&linear, "涉路施工许可"));

    for category in [ProjectCategory::GovHousing, ProjectCategory::MunicipalLinear, ProjectCategory::OldCommunity] {
        let gov = names(category);
        assert!(!has(&gov, "企业投资项目备案"), "{}: government investment is not filed", category.as_str());
        assert!(
            has(&gov, "可行性研究报告审批"),
            "{}: government investment approves a feasibility study",
            category.as_str()
        );
    }
    for category in [
        ProjectCategory::Industrial,
        ProjectCategory::RealEstate,
        ProjectCategory::LandWithScheme,
        ProjectCategory::Other,
    ] {
        let social = names(category);
        assert!(has(&social, "企业投资项目备案"), "{}: social investment is filed", category.as_str());
        assert!(!has(&social, "政府投资"), "{}: no government-investment approvals", category.as_str());
        assert!(!has(&social, "企业投资项目核准"), "{}: approval (核准) is on demand", category.as_str());
    }
}

#[test]
fn land_with_scheme_gets_both_planning_permits_together() {
    let doc = document();
    let planned = plan_for(&doc, &project(ProjectCategory::LandWithScheme));
    let start = |code: &str| planned.schedule.items.iter().find(|i| i.code == code).map(|i| i.start);
    assert_eq!(item(&planned.items, "EP-03").predecessors, ["LP-07"]);
    assert_eq!(item(&planned.items, "LP-08").predecessors, ["LP-07"]);
    assert_eq!(start("EP-03"), start("LP-08"), "建设用地规划许可证与建设工程规划许可证同步核发");

    // With a separate design review the industrial project gets its building permit later.
    let industrial = plan_for(&doc, &project(ProjectCategory::Industrial));
    let industrial_end = |code: &str| industrial.schedule.items.iter().find(|i| i.code == code).map(|i| i.end);
    let scheme_end = |code: &str| planned.schedule.items.iter().find(|i| i.code == code).map(|i| i.end);
    assert!(scheme_end("CP-03") < industrial_end("CP-03"), "拿地即开工 is faster");
}

#[test]
fn parallel_approval_keeps_side_items_off_the_critical_path() {
    let doc = document();
    let planned = plan_for(&doc, &project(ProjectCategory::Industrial));
    // 环评、节能、水保 run beside the planning chain and do not gate the building permit.
    for code in ["LP-10", "LP-11", "LP-13"] {
        assert!(!planned.schedule.critical_path.iter().any(|c| c == code), "{code} is on the critical path");
    }
    assert_eq!(planned.schedule.critical_path.last().map(String::as_str), Some("CA-08"));
    // The utilities start from the planning permit, in parallel.
    for code in ["UT-01", "UT-03"] {
        assert_eq!(item(&planned.items, code).predecessors, ["EP-03"]);
    }
    // The completion items run side by side after the construction permit.
    for code in ["CA-01", "CA-03", "CA-05", "CA-06"] {
        assert_eq!(item(&planned.items, code).predecessors, ["CP-03"]);
    }
}

#[test]
fn conditions_select_items() {
    let doc = document();

    // A newly settled company first registers (企业开办), before the filing.
    let mut settled = project(ProjectCategory::Industrial);
    settled.newly_settled = true;
    let planned = plan_for(&doc, &settled);
    let got = codes(&planned.items);
    for code in ["CR-01", "CR-02", "CR-03", "CR-04"] {
        assert!(got.contains(code), "a newly settled company needs {code}");
    }
    assert_eq!(item(&planned.items, "LP-01").predecessors, ["CR-01"]);
    assert!(planned.profile.newly_settled);

    // A small building needs no construction permit (30 万元 / 300 m²); acceptance still follows the drawings.
    let mut small = project(ProjectCategory::Industrial);
    small.investment_wan = Some(25.0);
    small.floor_area_m2 = Some(280.0);
    let planned = plan_for(&doc, &small);
    assert!(!codes(&planned.items).contains("CP-03"));
    assert!(item(&planned.items, "CA-06").predecessors.iter().any(|p| p == "CP-01"));

    // A government project given land by transfer files no 预审 and signs a contract instead.
    let mut transferred = project(ProjectCategory::GovHousing);
    transferred.land_supply = Some(bangban_contracts::project::LandSupply::Transfer);
    let got: BTreeSet<String> = plan_for(&doc, &transferred).items.into_iter().map(|i| i.code).collect();
    assert!(got.contains("LP-07") && !got.contains("LP-05") && !got.contains("LP-06"));

    // An old community renovation declared as new construction on its land gets the planning items back.
    let overrides = ProfileOverrides {
        construction: Some(bangban_contracts::project::ConstructionKind::New),
        ..ProfileOverrides::default()
    };
    let profile = resolve_profile(&project(ProjectCategory::OldCommunity), &overrides);
    let got: BTreeSet<String> = generate_items(&doc.items, &profile).into_iter().map(|i| i.code).collect();
    assert!(got.contains("EP-03") && got.contains("CA-01"));
    assert!(!got.contains("LP-05"), "existing land still needs no land-use pre-examination");
}

#[test]
fn on_demand_items_schedule_when_added() {
    // Every on-demand item can join a plan of a category it applies to without breaking the schedule.
    let doc = document();
    for &category in ProjectCategory::ALL {
        let profile = resolve_profile(&project(category), &ProfileOverrides::default());
        let mut catalog: Vec<CatalogItem> = doc.items.clone();
        for item in &mut catalog {
            item.applies.on_demand = false;
        }
        let items = generate_items(&catalog, &profile);
        schedule(&items, start_on(), &Calendar::embedded(), profile.investment, &Targets::default())
            .unwrap_or_else(|e| panic!("{}: with every on-demand item: {e}", category.as_str()));
    }
}
