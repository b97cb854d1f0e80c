//! The approval-item catalog's rules (事项库规则): what a valid item code, item and catalog document are, and
//! how a cycle among predecessors (前置事项) is found.

use std::collections::{HashMap, HashSet};

use bangban_contracts::planning::{CatalogDocument, CatalogItem};
use bangban_platform::problem::FieldError;

/// The catalog data file (事项库数据文件) compiled in; seeded as the first catalog version.
pub const CATALOG_JSON: &str = include_str!("../../data/catalog.json");

/// The longest time limit an item may promise or the law may set, in working days (one year of work).
pub const MAX_ITEM_WORKING_DAYS: u32 = 365;

/// Parses [`CATALOG_JSON`], the embedded catalog document (内置事项库).
pub fn embedded_document() -> Result<CatalogDocument, serde_json::Error> {
    serde_json::from_str(CATALOG_JSON)
}

/// Whether `code` is a valid item code (事项编码): 2–32 characters of `A`–`Z`, `0`–`9` and `-`, starting with a
/// letter, e.g. `LP-03`.
pub fn is_valid_code(code: &str) -> bool {
    let bytes = code.as_bytes();
    (2..=32).contains(&bytes.len())
        && bytes[0].is_ascii_uppercase()
        && bytes.iter().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'-')
}

fn join(prefix: &str, field: &str) -> String {
    if prefix.is_empty() { field.to_owned() } else { format!("{prefix}.{field}") }
}

/// A text of `min..=max` characters (counted after trimming); `multiline` texts may hold line breaks and tabs,
/// no other control characters anywhere.
fn text(field: String, value: &str, min: usize, max: usize, multiline: bool, errors: &mut Vec<FieldError>) {
    let trimmed = value.trim();
    let len = trimmed.chars().count();
    if len == 0 && min > 0 {
        errors.push(FieldError::new(field, "不能为空", "must not be empty"));
    } else if len < min || len > max {
        errors.push(FieldError::new(
            field,
            format!("长度须为 {min}–{max} 个字符"),
            format!("must be {min}–{max} characters long"),
        ));
    } else if trimmed.chars().any(|c| c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t'))) {
        errors.push(FieldError::new(field, "不能包含控制字符", "must not contain control characters"));
    }
}

fn code_error(field: String, code: &str) -> FieldError {
    FieldError::new(
        field,
        format!("事项编码 {code:?} 无效：须为 2–32 个大写字母、数字或“-”，以字母开头"),
        format!("invalid item code {code:?}: 2–32 upper-case letters, digits or '-', starting with a letter"),
    )
}

/// A bound in 万元 or m²: finite and not negative.
fn non_negative(field: String, value: Option<f64>, errors: &mut Vec<FieldError>) -> Option<f64> {
    let v = value?;
    if v.is_finite() && v >= 0.0 {
        Some(v)
    } else {
        errors.push(FieldError::new(field, "须为非负数", "must be a non-negative number"));
        None
    }
}

/// Reports the second and later occurrences of a value in a list of conditions.
fn no_duplicates<T: PartialEq + std::fmt::Debug>(field: String, values: &[T], errors: &mut Vec<FieldError>) {
    for (i, value) in values.iter().enumerate() {
        if values[..i].contains(value) {
            errors.push(FieldError::new(
                format!("{field}[{i}]"),
                format!("重复的取值 {value:?}"),
                format!("duplicate value {value:?}"),
            ));
        }
    }
}

/// Checks one catalog item (审批事项) on its own; every field path starts with `prefix` (`item` → `item.code`,
/// `item.materials[2].name`; an empty prefix gives bare paths).
///
/// Rules: a valid code; name 2–100 characters; legal basis (设定依据) 2–500; at least one material, each named in
/// 2–200 characters and named once; note and material notes at most 500 characters; the promised time limit
/// (承诺时限) at most 365 working days, the statutory one (法定时限), when given, not shorter than the promised one
/// and at most 365; predecessors valid codes, each once, never the item itself; applicability (适用条件): investment
/// bounds and floor area not negative, the minimum investment below the maximum, no value twice in a list.
/// Reasons in Chinese and English.
pub fn validate_item(item: &CatalogItem, prefix: &str) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let f = |field: &str| join(prefix, field);

    if !is_valid_code(&item.code) {
        errors.push(code_error(f("code"), &item.code));
    }
    text(f("name"), &item.name, 2, 100, false, &mut errors);
    text(f("legal_basis"), &item.legal_basis, 2, 500, true, &mut errors);

    if item.materials.is_empty() {
        errors.push(FieldError::new(f("materials"), "至少需要一项申报材料", "at least one material is required"));
    }
    let mut material_names: HashSet<&str> = HashSet::new();
    for (i, material) in item.materials.iter().enumerate() {
        let field = f(&format!("materials[{i}].name"));
        let before = errors.len();
        text(field.clone(), &material.name, 2, 200, false, &mut errors);
        if errors.len() == before && !material_names.insert(material.name.trim()) {
            errors.push(FieldError::new(
                field,
                format!("申报材料 {:?} 重复", material.name.trim()),
                format!("material {:?} is listed twice", material.name.trim()),
            ));
        }
        if let Some(note) = &material.note {
            text(f(&format!("materials[{i}].note")), note, 0, 500, true, &mut errors);
        }
    }
    if let Some(note) = &item.note {
        text(f("note"), note, 0, 500, true, &mut errors);
    }

    if item.promised_working_days > MAX_ITEM_WORKING_DAYS {
        errors.push(FieldError::new(
            f("promised_working_days"),
            format!("承诺时限不能超过 {MAX_ITEM_WORKING_DAYS} 个工作日"),
            format!("the promised time limit must not exceed {MAX_ITEM_WORKING_DAYS} working days"),
        ));
    }
    if let Some(statutory) = item.statutory_working_days {
        if statutory > MAX_ITEM_WORKING_DAYS {
            errors.push(FieldError::new(
                f("statutory_working_days"),
                format!("法定时限不能超过 {MAX_ITEM_WORKING_DAYS} 个工作日"),
                format!("the statutory time limit must not exceed {MAX_ITEM_WORKING_DAYS} working days"),
            ));
        } else if statutory < item.promised_working_days {
            errors.push(FieldError::new(
                f("statutory_working_days"),
                format!("法定时限（{statutory} 个工作日）不能短于承诺时限（{} 个工作日）", item.promised_working_days),
                format!(
                    "the statutory time limit ({statutory} working days) must not be shorter than the promised one \
                     ({} working days)",
                    item.promised_working_days
                ),
            ));
        }
    }

    for (i, predecessor) in item.predecessors.iter().enumerate() {
        let field = f(&format!("predecessors[{i}]"));
        if !is_valid_code(predecessor) {
            errors.push(code_error(field, predecessor));
        } else if *predecessor == item.code {
            errors.push(FieldError::new(field, "事项不能是自身的前置事项", "an item cannot be its own predecessor"));
        } else if item.predecessors[..i].contains(predecessor) {
            errors.push(FieldError::new(
                field,
                format!("前置事项 {predecessor} 重复"),
                format!("predecessor {predecessor} is listed twice"),
            ));
        }
    }

    let applies = &item.applies;
    let min = non_negative(f("applies.min_investment_wan"), applies.min_investment_wan, &mut errors);
    let max = non_negative(f("applies.max_investment_wan"), applies.max_investment_wan, &mut errors);
    if let (Some(min), Some(max)) = (min, max)
        && min >= max
    {
        errors.push(FieldError::new(
            f("applies.max_investment_wan"),
            "投资额上限须大于下限",
            "the maximum investment must be greater than the minimum",
        ));
    }
    non_negative(f("applies.min_floor_area_m2"), applies.min_floor_area_m2, &mut errors);
    no_duplicates(f("applies.categories"), &applies.categories, &mut errors);
    no_duplicates(f("applies.investment"), &applies.investment, &mut errors);
    no_duplicates(f("applies.land_supply"), &applies.land_supply, &mut errors);
    no_duplicates(f("applies.construction"), &applies.construction, &mut errors);

    errors
}

/// Checks a whole catalog document (事项库): every item ([`validate_item`] with prefix `items[i]`), codes unique,
/// every predecessor present in the document, and no cycle among predecessors — reported as the codes joined with
/// ` → ` on `items[i].predecessors` of the cycle's first item in document order. An empty list of items is an
/// error.
pub fn validate_document(doc: &CatalogDocument) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if doc.items.is_empty() {
        errors.push(FieldError::new("items", "事项库至少需要一个事项", "the catalog needs at least one item"));
        return errors;
    }
    let mut first: HashMap<&str, usize> = HashMap::new();
    for (i, item) in doc.items.iter().enumerate() {
        errors.extend(validate_item(item, &format!("items[{i}]")));
        if let Some(j) = first.get(item.code.as_str()) {
            errors.push(FieldError::new(
                format!("items[{i}].code"),
                format!("事项编码 {} 重复（与 items[{j}] 相同）", item.code),
                format!("item code {} is used twice (also items[{j}])", item.code),
            ));
        } else {
            first.insert(&item.code, i);
        }
    }
    for (i, item) in doc.items.iter().enumerate() {
        for (k, predecessor) in item.predecessors.iter().enumerate() {
            // Invalid codes were reported by validate_item already.
            if is_valid_code(predecessor) && !first.contains_key(predecessor.as_str()) {
                errors.push(FieldError::new(
                    format!("items[{i}].predecessors[{k}]"),
                    format!("前置事项 {predecessor} 不在事项库中"),
                    format!("predecessor {predecessor} is not in the catalog"),
                ));
            }
        }
    }
    // An item naming itself was reported above; the search looks for longer cycles.
    let others: Vec<Vec<String>> =
        doc.items.iter().map(|item| item.predecessors.iter().filter(|p| **p != item.code).cloned().collect()).collect();
    if let Some(cycle) = find_cycle(doc.items.iter().zip(&others).map(|(item, p)| (item.code.as_str(), p.as_slice()))) {
        let at = cycle.first().and_then(|code| first.get(code.as_str())).copied().unwrap_or(0);
        let path = cycle.join(" → ");
        errors.push(FieldError::new(
            format!("items[{at}].predecessors"),
            format!("前置事项形成循环：{path}"),
            format!("predecessors form a cycle: {path}"),
        ));
    }
    errors
}

/// Some cycle among `(code, predecessors)` edges, `None` when there is none. The cycle is given in the order the
/// items would have to conclude (each code a predecessor of the next), starting with the code of the cycle that
/// comes first in the input and ending with it again: `A → C → B → A` when A precedes C, C precedes B and B
/// precedes A; a self-loop is `[A, A]`.
///
/// Predecessors naming unknown codes are ignored; a code given twice has the predecessors of both. Iterative, so
/// a long chain cannot overflow the stack.
pub fn find_cycle<'a>(items: impl IntoIterator<Item = (&'a str, &'a [String])>) -> Option<Vec<String>> {
    let mut index: HashMap<&'a str, usize> = HashMap::new();
    let mut codes: Vec<&'a str> = Vec::new();
    let mut edges: Vec<Vec<&'a str>> = Vec::new();
    for (code, predecessors) in items {
        let i = *index.entry(code).or_insert_with(|| {
            codes.push(code);
            edges.push(Vec::new());
            codes.len() - 1
        });
        edges[i].extend(predecessors.iter().map(String::as_str));
    }
    // Edges from an item to its predecessors, unknown codes dropped.
    let adjacency: Vec<Vec<usize>> =
        edges.iter().map(|list| list.iter().filter_map(|code| index.get(code).copied()).collect()).collect();

    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    let mut mark = vec![Mark::New; codes.len()];
    for root in 0..codes.len() {
        if mark[root] != Mark::New {
            continue;
        }
        // (node, next edge to follow)
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        mark[root] = Mark::Open;
        while let Some(top) = stack.last_mut() {
            let (node, next) = *top;
            let Some(&to) = adjacency[node].get(next) else {
                mark[node] = Mark::Done;
                stack.pop();
                continue;
            };
            top.1 += 1;
            match mark[to] {
                Mark::New => {
                    mark[to] = Mark::Open;
                    stack.push((to, 0));
                }
                Mark::Done => {}
                Mark::Open => {
                    // The stack from `to` up holds each node followed by one of its predecessors, and the top has
                    // `to` as predecessor: reversed, it is the order of conclusion.
                    let from = stack.iter().position(|(n, _)| *n == to).unwrap_or(0);
                    let mut cycle: Vec<usize> = stack[from..].iter().map(|(n, _)| *n).rev().collect();
                    let lowest = cycle.iter().enumerate().min_by_key(|(_, n)| **n).map(|(i, _)| i).unwrap_or(0);
                    cycle.rotate_left(lowest);
                    let mut path: Vec<String> = cycle.iter().map(|n| codes[*n].to_owned()).collect();
                    if let Some(head) = path.first().cloned() {
                        path.push(head);
                    }
                    return Some(path);
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use bangban_contracts::{
        intake::ProjectCategory,
        planning::{Applicability, Level, Material, Stage, UnitType},
        project::InvestmentKind,
    };

    use super::*;

    fn item(code: &str, predecessors: &[&str]) -> CatalogItem {
        CatalogItem {
            code: code.to_owned(),
            name: format!("事项{code}"),
            stage: Stage::EngineeringPermit,
            unit_type: UnitType::AdministrativeApproval,
            level: Level::ByLocation,
            materials: vec![Material { name: "申请表".into(), required: true, note: None }],
            promised_working_days: 5,
            statutory_working_days: Some(20),
            legal_basis: "《中华人民共和国行政许可法》".into(),
            predecessors: predecessors.iter().map(|p| (*p).to_owned()).collect(),
            applies: Applicability::default(),
            note: None,
        }
    }

    fn fields(errors: &[FieldError]) -> Vec<&str> {
        errors.iter().map(|e| e.field.as_str()).collect()
    }

    fn edges(items: &[CatalogItem]) -> Option<Vec<String>> {
        find_cycle(items.iter().map(|i| (i.code.as_str(), i.predecessors.as_slice())))
    }

    #[test]
    fn codes() {
        for good in ["LP-03", "EP", "A1", "CR-01-B", "Z-", &format!("A{}", "9".repeat(31))] {
            assert!(is_valid_code(good), "{good}");
        }
        for bad in
            ["", "A", "1A", "-A", "lp-03", "LP_03", "LP 03", "LP-０3", "立项-01", &format!("A{}", "9".repeat(32))]
        {
            assert!(!is_valid_code(bad), "{bad}");
        }
    }

    #[test]
    fn a_good_item_has_no_errors() {
        assert!(validate_item(&item("EP-01", &["LP-01"]), "item").is_empty());
        let mut zero = item("EP-02", &[]);
        zero.promised_working_days = 0;
        zero.statutory_working_days = None;
        assert!(validate_item(&zero, "").is_empty());
    }

    #[test]
    fn every_item_rule_names_its_field() {
        let check = |edit: &dyn Fn(&mut CatalogItem), field: &str| {
            let mut it = item("EP-01", &["LP-01"]);
            edit(&mut it);
            let errors = validate_item(&it, "item");
            assert_eq!(fields(&errors), vec![field], "{errors:?}");
            assert!(errors.iter().all(|e| !e.reason.is_empty() && !e.reason_en.is_empty()));
        };
        check(&|i| i.code = "ep-01".into(), "item.code");
        check(&|i| i.name = "一".into(), "item.name");
        check(&|i| i.name = "   ".into(), "item.name");
        check(&|i| i.name = "名".repeat(101), "item.name");
        check(&|i| i.name = "名称\u{7}".into(), "item.name");
        check(&|i| i.legal_basis = "法".into(), "item.legal_basis");
        check(&|i| i.legal_basis = "法".repeat(501), "item.legal_basis");
        check(&|i| i.materials.clear(), "item.materials");
        check(
            &|i| i.materials.push(Material { name: "表".into(), required: true, note: None }),
            "item.materials[1].name",
        );
        check(
            &|i| i.materials.push(Material { name: "料".repeat(201), required: false, note: None }),
            "item.materials[1].name",
        );
        check(
            &|i| {
                i.materials.push(Material { name: "图纸".into(), required: true, note: None });
                i.materials.push(Material { name: " 申请表 ".into(), required: false, note: None });
            },
            "item.materials[2].name",
        );
        check(&|i| i.materials[0].note = Some("注".repeat(501)), "item.materials[0].note");
        check(&|i| i.note = Some("注".repeat(501)), "item.note");
        check(
            &|i| {
                i.promised_working_days = 366;
                i.statutory_working_days = None;
            },
            "item.promised_working_days",
        );
        check(&|i| i.statutory_working_days = Some(366), "item.statutory_working_days");
        check(&|i| i.statutory_working_days = Some(4), "item.statutory_working_days");
        check(&|i| i.predecessors.push("lp".into()), "item.predecessors[1]");
        check(&|i| i.predecessors.push("LP-01".into()), "item.predecessors[1]");
        check(&|i| i.predecessors.push("EP-01".into()), "item.predecessors[1]");
        check(&|i| i.applies.min_investment_wan = Some(-1.0), "item.applies.min_investment_wan");
        check(&|i| i.applies.max_investment_wan = Some(f64::NAN), "item.applies.max_investment_wan");
        check(
            &|i| {
                i.applies.min_investment_wan = Some(5000.0);
                i.applies.max_investment_wan = Some(5000.0);
            },
            "item.applies.max_investment_wan",
        );
        check(&|i| i.applies.min_floor_area_m2 = Some(-0.5), "item.applies.min_floor_area_m2");
        check(
            &|i| {
                i.applies.categories =
                    vec![ProjectCategory::Industrial, ProjectCategory::RealEstate, ProjectCategory::Industrial]
            },
            "item.applies.categories[2]",
        );
        check(
            &|i| i.applies.investment = vec![InvestmentKind::Social, InvestmentKind::Social],
            "item.applies.investment[1]",
        );
        check(
            &|i| {
                i.applies.land_supply = vec![
                    bangban_contracts::project::LandSupply::Transfer,
                    bangban_contracts::project::LandSupply::Transfer,
                ]
            },
            "item.applies.land_supply[1]",
        );
        check(
            &|i| {
                i.applies.construction = vec![
                    bangban_contracts::project::ConstructionKind::New,
                    bangban_contracts::project::ConstructionKind::New,
                ]
            },
            "item.applies.construction[1]",
        );
    }

    #[test]
    fn several_errors_are_all_reported() {
        let mut it = item("x", &[]);
        it.name = String::new();
        it.materials.clear();
        let errors = validate_item(&it, "items[3]");
        assert_eq!(fields(&errors), vec!["items[3].code", "items[3].name", "items[3].materials"]);
    }

    #[test]
    fn documents() {
        let good = CatalogDocument {
            sources: vec![],
            items: vec![item("LP-01", &[]), item("EP-01", &["LP-01"]), item("CP-01", &["EP-01", "LP-01"])],
        };
        assert!(validate_document(&good).is_empty());

        let empty = CatalogDocument { sources: vec![], items: vec![] };
        assert_eq!(fields(&validate_document(&empty)), vec!["items"]);

        let duplicate = CatalogDocument { sources: vec![], items: vec![item("LP-01", &[]), item("LP-01", &[])] };
        let errors = validate_document(&duplicate);
        assert_eq!(fields(&errors), vec!["items[1].code"]);
        assert!(errors[0].reason_en.contains("items[0]"));

        // An item naming itself is reported once, not as a cycle too.
        let itself = CatalogDocument { sources: vec![], items: vec![item("LP-01", &["LP-01"])] };
        assert_eq!(fields(&validate_document(&itself)), vec!["items[0].predecessors[0]"]);

        let unknown = CatalogDocument { sources: vec![], items: vec![item("LP-01", &[]), item("EP-01", &["XX-99"])] };
        let errors = validate_document(&unknown);
        assert_eq!(fields(&errors), vec!["items[1].predecessors[0]"]);
        assert!(errors[0].reason.contains("XX-99"));
    }

    #[test]
    fn a_cycle_in_a_document_is_reported_with_its_path() {
        let doc = CatalogDocument {
            sources: vec![],
            items: vec![
                item("CR-01", &[]),
                item("LP-01", &["CR-01", "CP-01"]),
                item("EP-01", &["LP-01"]),
                item("CP-01", &["EP-01"]),
            ],
        };
        let errors = validate_document(&doc);
        assert_eq!(fields(&errors), vec!["items[1].predecessors"]);
        assert_eq!(errors[0].reason_en, "predecessors form a cycle: LP-01 → EP-01 → CP-01 → LP-01");
        assert_eq!(errors[0].reason, "前置事项形成循环：LP-01 → EP-01 → CP-01 → LP-01");
    }

    #[test]
    fn cycles() {
        // Chains and diamonds are acyclic.
        assert_eq!(edges(&[item("A", &[]), item("B", &["A"]), item("C", &["B"])]), None);
        let diamond = [item("A", &[]), item("B", &["A"]), item("C", &["A"]), item("D", &["B", "C"])];
        assert_eq!(edges(&diamond), None);
        assert_eq!(edges(&[]), None);
        // Unknown predecessors are ignored.
        assert_eq!(edges(&[item("A", &["ZZ"])]), None);

        // A self-loop.
        assert_eq!(edges(&[item("A", &[]), item("B", &["B"])]), Some(vec!["B".into(), "B".into()]));
        // Two items.
        assert_eq!(edges(&[item("A", &["B"]), item("B", &["A"])]), Some(vec!["A".into(), "B".into(), "A".into()]));
        // Order of conclusion, starting from the first in the input, whichever node the search enters by.
        let cycle = [item("X", &["C"]), item("A", &["B"]), item("B", &["C"]), item("C", &["A"])];
        assert_eq!(edges(&cycle), Some(vec!["A".into(), "C".into(), "B".into(), "A".into()]));
        // A diamond closed back on itself.
        let closed = [item("A", &["D"]), item("B", &["A"]), item("C", &["A"]), item("D", &["B", "C"])];
        assert_eq!(edges(&closed), Some(vec!["A".into(), "B".into(), "D".into(), "A".into()]));
        // A code given twice has both lists of predecessors.
        assert!(edges(&[item("A", &[]), item("B", &["A"]), item("A", &["B"])]).is_some());
    }

    #[test]
    fn a_long_chain_does_not_overflow_the_stack() {
        let mut items: Vec<CatalogItem> = (0..100_000).map(|i| item(&format!("A{i}"), &[])).collect();
        for (i, it) in items.iter_mut().enumerate().skip(1) {
            it.predecessors = vec![format!("A{}", i - 1)];
        }
        assert_eq!(edges(&items), None);
        items[0].predecessors = vec!["A99999".into()];
        assert_eq!(edges(&items).map(|c| c.len()), Some(100_001));
    }

    /// The data file is written separately; whatever it holds must parse, and be valid once it has items.
    #[test]
    fn the_embedded_document_parses_and_is_valid() {
        let doc = embedded_document().expect("catalog.json parses");
        if !doc.items.is_empty() {
            assert_eq!(validate_document(&doc), vec![]);
        }
    }
}
