//! What a re-plan changes (方案变更): the items a new version adds (新增), changes (变更) and withdraws (撤回)
//! compared with the previous one, so routing knows which tasks to push, amend or recall.

use std::collections::{HashMap, HashSet};

use bangban_contracts::planning::{PlanChanges, PlanItem};

/// Whether an item changed in a way the responsible unit (责任单位) or the clock must know: name, stage, unit type,
/// level, concrete unit, materials, promised time limit (承诺时限) or predecessors. The note and the origin do not
/// count.
fn differs(a: &PlanItem, b: &PlanItem) -> bool {
    a.name != b.name
        || a.stage != b.stage
        || a.unit_type != b.unit_type
        || a.level != b.level
        || a.unit_code != b.unit_code
        || a.materials != b.materials
        || a.promised_working_days != b.promised_working_days
        || a.predecessors != b.predecessors
}

/// The changes from `previous` to `next` (方案变更): `added` — codes in `next` only, in `next`'s order;
/// `withdrawn` — codes in `previous` only, in `previous`'s order; `changed` — codes in both whose item differs
/// in name, stage, unit type, level, unit code, materials, promised working days or predecessors,
/// in `next`'s order. Each code is listed once; a code given twice in one list is compared by its first item.
pub fn changes(previous: &[PlanItem], next: &[PlanItem]) -> PlanChanges {
    let mut before: HashMap<&str, &PlanItem> = HashMap::with_capacity(previous.len());
    for item in previous {
        before.entry(item.code.as_str()).or_insert(item);
    }
    let mut after: HashMap<&str, &PlanItem> = HashMap::with_capacity(next.len());
    for item in next {
        after.entry(item.code.as_str()).or_insert(item);
    }

    let mut out = PlanChanges::default();
    let mut seen: HashSet<&str> = HashSet::new();
    for item in next {
        if !seen.insert(item.code.as_str()) {
            continue;
        }
        match before.get(item.code.as_str()) {
            None => out.added.push(item.code.clone()),
            Some(old) if differs(old, item) => out.changed.push(item.code.clone()),
            Some(_) => {}
        }
    }
    seen.clear();
    for item in previous {
        if seen.insert(item.code.as_str()) && !after.contains_key(item.code.as_str()) {
            out.withdrawn.push(item.code.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use bangban_contracts::planning::{ItemOrigin, Level, Material, Stage, UnitType};

    use super::*;

    fn item(code: &str) -> PlanItem {
        PlanItem {
            code: code.to_owned(),
            name: format!("事项{code}"),
            stage: Stage::EngineeringPermit,
            unit_type: UnitType::NaturalResources,
            level: Level::City,
            unit_code: None,
            materials: vec![Material { name: "申请表".into(), required: true, note: None }],
            promised_working_days: 5,
            legal_basis: "《中华人民共和国城乡规划法》".into(),
            predecessors: vec![],
            origin: ItemOrigin::Generated,
            note: None,
        }
    }

    fn codes(list: &[String]) -> Vec<&str> {
        list.iter().map(String::as_str).collect()
    }

    #[test]
    fn nothing_changes() {
        let plan = vec![item("A"), item("B")];
        assert!(changes(&plan, &plan).is_empty());
        assert!(changes(&[], &[]).is_empty());
    }

    #[test]
    fn added_changed_withdrawn_in_order() {
        let previous = vec![item("A"), item("B"), item("C"), item("D"), item("E")];
        let mut next = vec![item("F"), item("E"), item("A"), item("B"), item("G")];
        next[1].promised_working_days = 3; // E
        next[2].predecessors = vec!["F".into()]; // A
        let c = changes(&previous, &next);
        assert_eq!(codes(&c.added), vec!["F", "G"]);
        assert_eq!(codes(&c.changed), vec!["E", "A"]);
        assert_eq!(codes(&c.withdrawn), vec!["C", "D"]);
    }

    #[test]
    fn every_counted_field_and_the_ones_not_counted() {
        type Edit = fn(&mut PlanItem);
        let counted: [(&str, Edit); 8] = [
            ("name", |i| i.name = "新名称".into()),
            ("stage", |i| i.stage = Stage::ConstructionPermit),
            ("unit_type", |i| i.unit_type = UnitType::AdministrativeApproval),
            ("level", |i| i.level = Level::County),
            ("unit_code", |i| i.unit_code = Some("371602-ZRZY".into())),
            ("materials", |i| i.materials[0].required = false),
            ("promised_working_days", |i| i.promised_working_days = 0),
            ("predecessors", |i| i.predecessors = vec!["LP-01".into()]),
        ];
        for (field, edit) in counted {
            let mut changed = item("A");
            edit(&mut changed);
            assert_eq!(codes(&changes(&[item("A")], &[changed]).changed), vec!["A"], "{field}");
        }
        let mut same = item("A");
        same.note = Some("申请人要求加急".into());
        same.origin = ItemOrigin::Added;
        assert!(changes(&[item("A")], &[same]).is_empty());
    }

    #[test]
    fn a_code_given_twice_is_listed_once() {
        let c = changes(&[item("A"), item("A")], &[item("B"), item("B")]);
        assert_eq!(codes(&c.added), vec!["B"]);
        assert_eq!(codes(&c.withdrawn), vec!["A"]);
    }
}
