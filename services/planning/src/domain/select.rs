//! Which approval items a project needs (事项筛选): the project's profile (项目属性), the catalog's applicability
//! conditions (适用条件), the generated list of items (办理事项清单) and its predecessors reconciled with it.

use std::collections::{HashMap, HashSet};

use bangban_contracts::{
    intake::ProjectView,
    planning::{CatalogItem, ItemOrigin, PlanItem, PlanProfile},
    project::{ConstructionKind, InvestmentKind, LandSupply},
};

/// Corrections of the project's attributes a specialist gives when regenerating a plan (重新生成时更正的项目属性).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProfileOverrides {
    pub investment: Option<InvestmentKind>,
    pub land_supply: Option<LandSupply>,
    pub construction: Option<ConstructionKind>,
}

/// The attributes a plan is generated from (方案生成依据的项目属性): an override wins, then the project's own value,
/// then the category's usual one ([`InvestmentKind::usual_for`] …), which is recorded in `assumed` by name
/// (`investment`, `land_supply`, `construction`).
pub fn resolve_profile(project: &ProjectView, overrides: &ProfileOverrides) -> PlanProfile {
    let category = project.category;
    let mut assumed = Vec::new();
    let investment = pick(
        overrides.investment,
        project.investment_kind,
        InvestmentKind::usual_for(category),
        "investment",
        &mut assumed,
    );
    let land_supply =
        pick(overrides.land_supply, project.land_supply, LandSupply::usual_for(category), "land_supply", &mut assumed);
    let construction = pick(
        overrides.construction,
        project.construction,
        ConstructionKind::usual_for(category),
        "construction",
        &mut assumed,
    );
    PlanProfile {
        category,
        investment,
        land_supply,
        construction,
        investment_wan: project.investment_wan,
        floor_area_m2: project.floor_area_m2,
        newly_settled: project.newly_settled,
        assumed,
    }
}

/// The override, else the project's own value, else the category's usual one, noted as assumed.
fn pick<T>(given: Option<T>, own: Option<T>, usual: T, name: &str, assumed: &mut Vec<String>) -> T {
    given.or(own).unwrap_or_else(|| {
        assumed.push(name.to_owned());
        usual
    })
}

fn listed<T: PartialEq>(list: &[T], value: &T) -> bool {
    list.is_empty() || list.contains(value)
}

/// Whether a catalog item applies (适用) to a project of this profile: every condition narrows, an empty list or
/// an absent bound does not, and a project without a figure (investment, floor area — or a figure that is not a
/// number) passes the bounds on it. `on_demand` (按需办理) is not looked at.
pub fn applies(item: &CatalogItem, profile: &PlanProfile) -> bool {
    let a = &item.applies;
    let investment = profile.investment_wan.filter(|v| v.is_finite());
    let floor_area = profile.floor_area_m2.filter(|v| v.is_finite());
    listed(&a.categories, &profile.category)
        && listed(&a.investment, &profile.investment)
        && listed(&a.land_supply, &profile.land_supply)
        && listed(&a.construction, &profile.construction)
        && match (a.min_investment_wan, investment) {
            (Some(min), Some(v)) => v >= min,
            _ => true,
        }
        && match (a.max_investment_wan, investment) {
            (Some(max), Some(v)) => v < max,
            _ => true,
        }
        && match (a.min_floor_area_m2, floor_area) {
            (Some(min), Some(v)) => v >= min,
            _ => true,
        }
        && (!a.newly_settled_only || profile.newly_settled)
}

/// A plan item (办理事项) copied from a catalog item, predecessors verbatim, no concrete unit and no note (the note
/// of a plan item is the specialist's).
pub fn plan_item(item: &CatalogItem, origin: ItemOrigin) -> PlanItem {
    PlanItem {
        code: item.code.clone(),
        name: item.name.clone(),
        stage: item.stage,
        unit_type: item.unit_type,
        level: item.level,
        unit_code: None,
        materials: item.materials.clone(),
        promised_working_days: item.promised_working_days,
        legal_basis: item.legal_basis.clone(),
        predecessors: item.predecessors.clone(),
        origin,
        note: None,
    }
}

/// The generated list of items (生成的办理事项清单): the catalog items that apply to the profile and are not
/// on demand, in catalog order stable-sorted by stage, with their predecessors reconciled with the list
/// ([`reconcile_predecessors`]).
pub fn generate_items(catalog: &[CatalogItem], profile: &PlanProfile) -> Vec<PlanItem> {
    let mut items: Vec<PlanItem> = catalog
        .iter()
        .filter(|item| !item.applies.on_demand && applies(item, profile))
        .map(|item| plan_item(item, ItemOrigin::Generated))
        .collect();
    items.sort_by_key(|item| item.stage);
    reconcile_predecessors(&mut items, catalog);
    items
}

/// Rewrites every item's predecessors (前置事项) to codes of `items`: a predecessor missing from the plan is
/// replaced by its own predecessors — from the plan item when there is one, else from `catalog` — transitively,
/// so an ordering survives the removal of the item in the middle (A → B → C without B gives A → C). Codes found
/// nowhere are dropped, an item never becomes its own predecessor, and each code is kept once, at its first
/// occurrence.
pub fn reconcile_predecessors(items: &mut [PlanItem], catalog: &[CatalogItem]) {
    let rewritten: Vec<Option<Vec<String>>> = {
        let present: HashSet<&str> = items.iter().map(|item| item.code.as_str()).collect();
        // Built only when some predecessor is missing from the plan.
        let mut in_catalog: Option<HashMap<&str, &[String]>> = None;
        items
            .iter()
            .map(|item| {
                let own = item.code.as_str();
                let list = &item.predecessors;
                // The common case: every predecessor in the plan, once, and not the item itself.
                let clean = list
                    .iter()
                    .enumerate()
                    .all(|(k, p)| p != own && present.contains(p.as_str()) && !list[..k].contains(p));
                if clean {
                    return None;
                }
                let in_catalog = in_catalog.get_or_insert_with(|| {
                    let mut map = HashMap::with_capacity(catalog.len());
                    for c in catalog {
                        map.entry(c.code.as_str()).or_insert(c.predecessors.as_slice());
                    }
                    map
                });
                let mut kept: Vec<String> = Vec::new();
                let mut visited: HashSet<&str> = HashSet::new();
                // Depth first, in order: a missing code's predecessors take its place in the list.
                let mut stack: Vec<&str> = list.iter().rev().map(String::as_str).collect();
                while let Some(code) = stack.pop() {
                    if !visited.insert(code) {
                        continue;
                    }
                    if present.contains(code) {
                        if code != own {
                            kept.push(code.to_owned());
                        }
                    } else if let Some(predecessors) = in_catalog.get(code) {
                        stack.extend(predecessors.iter().rev().map(String::as_str));
                    }
                }
                Some(kept)
            })
            .collect()
    };
    for (item, predecessors) in items.iter_mut().zip(rewritten) {
        if let Some(predecessors) = predecessors {
            item.predecessors = predecessors;
        }
    }
}

#[cfg(test)]
mod tests {
    use bangban_contracts::{
        intake::ProjectCategory,
        planning::{Applicability, Level, Material, Stage, UnitType},
    };
    use uuid::Uuid;

    use super::*;

    fn project(category: ProjectCategory) -> ProjectView {
        ProjectView {
            id: Uuid::nil(),
            name: "滨州测试项目".into(),
            category,
            office: "371602".into(),
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

    fn item(code: &str, stage: Stage, predecessors: &[&str]) -> CatalogItem {
        CatalogItem {
            code: code.to_owned(),
            name: format!("事项{code}"),
            stage,
            unit_type: UnitType::AdministrativeApproval,
            level: Level::ByLocation,
            materials: vec![Material { name: "申请表".into(), required: true, note: None }],
            promised_working_days: 5,
            statutory_working_days: None,
            legal_basis: "《中华人民共和国行政许可法》".into(),
            predecessors: predecessors.iter().map(|p| (*p).to_owned()).collect(),
            applies: Applicability::default(),
            note: Some("目录备注".into()),
        }
    }

    fn plan(items: &[CatalogItem]) -> Vec<PlanItem> {
        items.iter().map(|i| plan_item(i, ItemOrigin::Generated)).collect()
    }

    fn preds(items: &[PlanItem], code: &str) -> Vec<String> {
        items.iter().find(|i| i.code == code).map(|i| i.predecessors.clone()).unwrap_or_default()
    }

    fn profile() -> PlanProfile {
        resolve_profile(&project(ProjectCategory::Industrial), &ProfileOverrides::default())
    }

    #[test]
    fn the_category_fills_what_the_project_does_not_say() {
        let p = resolve_profile(&project(ProjectCategory::OldCommunity), &ProfileOverrides::default());
        assert_eq!(p.category, ProjectCategory::OldCommunity);
        assert_eq!(p.investment, InvestmentKind::Government);
        assert_eq!(p.land_supply, LandSupply::Existing);
        assert_eq!(p.construction, ConstructionKind::Renovation);
        assert_eq!(p.assumed, vec!["investment", "land_supply", "construction"]);

        let p = resolve_profile(&project(ProjectCategory::RealEstate), &ProfileOverrides::default());
        assert_eq!(
            (p.investment, p.land_supply, p.construction),
            (InvestmentKind::Social, LandSupply::Transfer, ConstructionKind::New)
        );
    }

    #[test]
    fn overrides_win_over_the_project_which_wins_over_the_category() {
        let mut own = project(ProjectCategory::GovHousing);
        own.investment_kind = Some(InvestmentKind::Social);
        own.land_supply = Some(LandSupply::Transfer);
        own.investment_wan = Some(12_000.0);
        own.floor_area_m2 = Some(30_000.0);
        own.newly_settled = true;
        let p = resolve_profile(&own, &ProfileOverrides::default());
        assert_eq!(p.investment, InvestmentKind::Social);
        assert_eq!(p.land_supply, LandSupply::Transfer);
        assert_eq!(p.construction, ConstructionKind::New);
        assert_eq!(p.assumed, vec!["construction"]);
        assert_eq!((p.investment_wan, p.floor_area_m2, p.newly_settled), (Some(12_000.0), Some(30_000.0), true));

        let overrides = ProfileOverrides {
            investment: Some(InvestmentKind::Government),
            land_supply: None,
            construction: Some(ConstructionKind::Expansion),
        };
        let p = resolve_profile(&own, &overrides);
        assert_eq!(p.investment, InvestmentKind::Government);
        assert_eq!(p.land_supply, LandSupply::Transfer);
        assert_eq!(p.construction, ConstructionKind::Expansion);
        assert!(p.assumed.is_empty());
    }

    #[test]
    fn every_condition_narrows() {
        let base = profile(); // industrial, social, transfer, new, no figures, not newly settled
        let check = |edit: &dyn Fn(&mut Applicability), profile: &PlanProfile| {
            let mut it = item("EP-01", Stage::EngineeringPermit, &[]);
            edit(&mut it.applies);
            applies(&it, profile)
        };
        assert!(check(&|_| {}, &base));

        assert!(check(&|a| a.categories = vec![ProjectCategory::Industrial, ProjectCategory::Other], &base));
        assert!(!check(&|a| a.categories = vec![ProjectCategory::RealEstate], &base));
        assert!(check(&|a| a.investment = vec![InvestmentKind::Social], &base));
        assert!(!check(&|a| a.investment = vec![InvestmentKind::Government], &base));
        assert!(check(&|a| a.land_supply = vec![LandSupply::Allocation, LandSupply::Transfer], &base));
        assert!(!check(&|a| a.land_supply = vec![LandSupply::Existing], &base));
        assert!(check(&|a| a.construction = vec![ConstructionKind::New], &base));
        assert!(!check(&|a| a.construction = vec![ConstructionKind::Renovation], &base));
        assert!(!check(&|a| a.newly_settled_only = true, &base));
        // On demand is not applicability.
        assert!(check(&|a| a.on_demand = true, &base));

        // Without figures every bound passes.
        assert!(check(&|a| a.min_investment_wan = Some(5000.0), &base));
        assert!(check(&|a| a.max_investment_wan = Some(5000.0), &base));
        assert!(check(&|a| a.min_floor_area_m2 = Some(10_000.0), &base));

        let mut figures = base.clone();
        figures.investment_wan = Some(5000.0);
        figures.floor_area_m2 = Some(9_999.0);
        figures.newly_settled = true;
        assert!(check(&|a| a.min_investment_wan = Some(5000.0), &figures));
        assert!(!check(&|a| a.min_investment_wan = Some(5000.01), &figures));
        assert!(!check(&|a| a.max_investment_wan = Some(5000.0), &figures));
        assert!(check(&|a| a.max_investment_wan = Some(5000.01), &figures));
        assert!(!check(&|a| a.min_floor_area_m2 = Some(10_000.0), &figures));
        assert!(check(&|a| a.min_floor_area_m2 = Some(9_999.0), &figures));
        assert!(check(&|a| a.newly_settled_only = true, &figures));

        // All conditions at once: each must hold.
        let all = |a: &mut Applicability| {
            a.categories = vec![ProjectCategory::Industrial];
            a.investment = vec![InvestmentKind::Social];
            a.min_investment_wan = Some(1000.0);
            a.max_investment_wan = Some(10_000.0);
            a.newly_settled_only = true;
        };
        assert!(check(&all, &figures));
        let mut government = figures.clone();
        government.investment = InvestmentKind::Government;
        assert!(!check(&all, &government));

        // A figure that is not a number counts as absent.
        let mut nan = base.clone();
        nan.investment_wan = Some(f64::NAN);
        assert!(check(&|a| a.min_investment_wan = Some(1.0), &nan));
    }

    #[test]
    fn a_plan_item_is_a_copy() {
        let mut it = item("EP-02", Stage::EngineeringPermit, &["EP-01", "ZZ-9"]);
        it.promised_working_days = 0;
        let p = plan_item(&it, ItemOrigin::Added);
        assert_eq!(p.code, "EP-02");
        assert_eq!(p.name, it.name);
        assert_eq!(p.stage, Stage::EngineeringPermit);
        assert_eq!(p.predecessors, vec!["EP-01", "ZZ-9"]);
        assert_eq!(p.promised_working_days, 0);
        assert_eq!(p.materials, it.materials);
        assert_eq!(p.legal_basis, it.legal_basis);
        assert_eq!(p.origin, ItemOrigin::Added);
        assert_eq!((p.unit_code, p.note), (None, None));
    }

    #[test]
    fn generation_filters_sorts_by_stage_and_reconciles() {
        let mut on_demand = item("EP-09", Stage::EngineeringPermit, &[]);
        on_demand.applies.on_demand = true;
        let mut estate_only = item("LP-02", Stage::LandUsePlanning, &["LP-01"]);
        estate_only.applies.categories = vec![ProjectCategory::RealEstate];
        let catalog = vec![
            item("UT-01", Stage::Utilities, &["CA-01"]),
            item("CA-01", Stage::CompletionAcceptance, &["CP-01"]),
            item("LP-01", Stage::LandUsePlanning, &[]),
            estate_only,
            on_demand,
            item("EP-01", Stage::EngineeringPermit, &["LP-02", "EP-09"]),
            item("CP-01", Stage::ConstructionPermit, &["EP-01"]),
            item("CR-01", Stage::CompanyRegistration, &[]),
            item("EP-02", Stage::EngineeringPermit, &["LP-01"]),
        ];
        let items = generate_items(&catalog, &profile());
        let codes: Vec<&str> = items.iter().map(|i| i.code.as_str()).collect();
        assert_eq!(codes, vec!["CR-01", "LP-01", "EP-01", "EP-02", "CP-01", "CA-01", "UT-01"]);
        assert!(items.iter().all(|i| i.origin == ItemOrigin::Generated));
        // LP-02 does not apply and EP-09 is on demand: EP-01 waits for LP-02's predecessor instead.
        assert_eq!(preds(&items, "EP-01"), vec!["LP-01"]);
        assert_eq!(preds(&items, "UT-01"), vec!["CA-01"]);

        let mut estate = profile();
        estate.category = ProjectCategory::RealEstate;
        let items = generate_items(&catalog, &estate);
        assert_eq!(preds(&items, "EP-01"), vec!["LP-02"]);
        assert!(!items.iter().any(|i| i.code == "EP-09"));
    }

    #[test]
    fn reconcile_a_chain_without_its_middle() {
        let catalog = [
            item("A", Stage::LandUsePlanning, &[]),
            item("B", Stage::LandUsePlanning, &["A"]),
            item("C", Stage::LandUsePlanning, &["B"]),
        ];
        let mut items = plan(&[catalog[0].clone(), catalog[2].clone()]);
        reconcile_predecessors(&mut items, &catalog);
        assert_eq!(preds(&items, "C"), vec!["A"]);
        assert_eq!(preds(&items, "A"), Vec::<String>::new());

        // Without A as well, C has no predecessor left.
        let mut items = plan(&[catalog[2].clone()]);
        reconcile_predecessors(&mut items, &catalog);
        assert_eq!(preds(&items, "C"), Vec::<String>::new());
    }

    #[test]
    fn reconcile_a_diamond() {
        // A → B, A → C, B → D, C → D, and E after D and A.
        let catalog = [
            item("A", Stage::LandUsePlanning, &[]),
            item("B", Stage::LandUsePlanning, &["A"]),
            item("C", Stage::LandUsePlanning, &["A"]),
            item("D", Stage::LandUsePlanning, &["B", "C"]),
            item("E", Stage::LandUsePlanning, &["D", "A"]),
        ];
        // Without B: D waits for A (through B) and C, in that order.
        let mut items = plan(&[catalog[0].clone(), catalog[2].clone(), catalog[3].clone()]);
        reconcile_predecessors(&mut items, &catalog);
        assert_eq!(preds(&items, "D"), vec!["A", "C"]);

        // Without B and C: A once.
        let mut items = plan(&[catalog[0].clone(), catalog[3].clone()]);
        reconcile_predecessors(&mut items, &catalog);
        assert_eq!(preds(&items, "D"), vec!["A"]);

        // Without D: E waits for B and C (and A, already reached through them, once).
        let mut items = plan(&[catalog[0].clone(), catalog[1].clone(), catalog[2].clone(), catalog[4].clone()]);
        reconcile_predecessors(&mut items, &catalog);
        assert_eq!(preds(&items, "E"), vec!["B", "C", "A"]);
    }

    #[test]
    fn reconcile_drops_unknown_codes_duplicates_and_self() {
        let catalog = [
            item("A", Stage::LandUsePlanning, &[]),
            item("B", Stage::LandUsePlanning, &["A", "Q"]),
            // A catalog cycle through an item missing from the plan must not loop, nor make C its own predecessor.
            item("X", Stage::LandUsePlanning, &["C", "Y"]),
            item("Y", Stage::LandUsePlanning, &["X", "A"]),
            item("C", Stage::LandUsePlanning, &["ZZ", "A", "B", "A", "X"]),
        ];
        let mut items = plan(&[catalog[0].clone(), catalog[1].clone(), catalog[4].clone()]);
        reconcile_predecessors(&mut items, &catalog);
        assert_eq!(preds(&items, "B"), vec!["A"]);
        assert_eq!(preds(&items, "C"), vec!["A", "B"]);

        // A specialist's own item naming a plan item that is missing from the catalog too: dropped.
        let mut own = plan(&[item("S-1", Stage::Utilities, &["NOPE", "A"]), catalog[0].clone()]);
        reconcile_predecessors(&mut own, &[]);
        assert_eq!(preds(&own, "S-1"), vec!["A"]);
    }
}
