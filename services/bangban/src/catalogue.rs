//! The catalogue of operations and events (服务操作与事件目录), `docs/catalogue.md`: generated from the contracts'
//! registries — [`bangban_contracts::operation::all`] and [`EventType::ALL`] — by `bangban catalogue`. The test
//! below fails when the committed file differs from them; `BANGBAN_CATALOGUE_WRITE=1` rewrites it.

use std::{collections::BTreeMap, fmt::Write as _};

use bangban_contracts::{
    EventType,
    events::TYPE_PREFIX,
    operation::{self, OperationInfo},
    subjects::SERVICE_PREFIX,
};

/// The services in the order the catalogue lists them (the order of the platform's flow).
const ORDER: [&str; 6] = ["intake", "planning", "routing", "deadline", "notification", "evaluation"];

/// `docs/catalogue.md`.
pub fn render() -> String {
    let mut out = String::new();
    let ops = operation::all();
    let events = EventType::ALL;
    let _ = write!(
        out,
        "# Catalogue of operations and events (服务操作与事件目录)\n\
         \n\
         <!-- Generated from the contracts by `bangban catalogue`; do not edit. `cargo test -p bangban catalogue` \
         fails when this file differs from them; `BANGBAN_CATALOGUE_WRITE=1 cargo test -p bangban catalogue` \
         rewrites it. -->\n\
         \n\
         Every operation a service answers on the bus and every event the platform publishes, as the contracts \
         (`shared/contracts`) declare them: {} operations, {} events. How to add one is in \
         [architecture.md](architecture.md#writing-a-service).\n\
         \n\
         ## Operations (服务操作)\n\
         \n\
         A request on `{SERVICE_PREFIX}.<service>.<operation>` (NATS request-reply, queue group `bangban`), JSON \
         in and out; a refusal comes back as a problem document with the `Nats-Service-Error-Code` header. Callers \
         name the marker type: `rpc::call::<intake::ops::CaseGet>(&client, &request, timeout)`. Types are those of \
         the service's contract module (`bangban_contracts::<service>`).\n",
        ops.len(),
        events.len()
    );
    for (service, ops) in by_service(&ops) {
        let _ = write!(out, "\n### {service} ({})\n\n", ops.len());
        out.push_str("| Subject | Request → response | Marker | What it does |\n|---|---|---|---|\n");
        for op in ops {
            let _ = writeln!(
                out,
                "| `{}` | `{}` → `{}` | `{}` | {} |",
                op.subject(),
                type_name(op.request),
                type_name(op.response),
                op.marker,
                cell(op.doc)
            );
        }
    }
    let _ = write!(
        out,
        "\n## Events (事件)\n\
         \n\
         A CloudEvent on the `BANGBAN_EVENTS` stream, `ce-type` `{TYPE_PREFIX}.<aggregate>.<event>.v<N>`, published \
         through the outbox (`outbox::emit::<E>`) on `bb.evt.<office>.<aggregate>.<event>`, with the responsible \
         unit's code as a last token for task events: `<office>` is the six-digit code of the office whose \
         jurisdiction the case is in, `<unit>` the unit's code. Consumers filter on the subject and decode `data` as \
         the payload type (`dispatch!`). Events are listed by the service that publishes them (the contract module \
         of their payload); a payload only ever gains optional fields, a breaking change is a new version.\n"
    );
    for (service, events) in events_by_service(events) {
        let _ = write!(out, "\n### {service} ({})\n\n", events.len());
        out.push_str("| ce-type | Subject | Payload (`data`) | Marker |\n|---|---|---|---|\n");
        for t in events {
            let _ = writeln!(
                out,
                "| `{}` | `{}` | `{}` | `events::{}` |",
                t.ce_type(),
                subject_pattern(t),
                type_name(t.data),
                t.marker
            );
        }
    }
    out
}

/// The operations grouped by service, services in [`ORDER`] (any other after them, by name), operations in
/// their contract's order.
fn by_service(ops: &[OperationInfo]) -> Vec<(&'static str, Vec<&OperationInfo>)> {
    let mut groups: BTreeMap<(usize, &'static str), Vec<&OperationInfo>> = BTreeMap::new();
    for op in ops {
        groups.entry((rank(op.service), op.service)).or_default().push(op);
    }
    groups.into_iter().map(|((_, s), ops)| (s, ops)).collect()
}

/// The events grouped by the contract module of their payload (`crate::routing::TaskEvent` → routing).
fn events_by_service(events: &'static [EventType]) -> Vec<(&'static str, Vec<&'static EventType>)> {
    let mut groups: BTreeMap<(usize, &'static str), Vec<&'static EventType>> = BTreeMap::new();
    for t in events {
        let module = t.data.trim_start_matches("crate::").split("::").next().unwrap_or(t.data);
        groups.entry((rank(module), module)).or_default().push(t);
    }
    groups.into_iter().map(|((_, s), ts)| (s, ts)).collect()
}

fn rank(service: &str) -> usize {
    ORDER.iter().position(|s| *s == service).unwrap_or(ORDER.len())
}

/// `bb.evt.<office>.task.dispatched.<unit>`, from the registry's own filter (`bb.evt.*.task.dispatched.*`).
fn subject_pattern(t: &EventType) -> String {
    let filter = t.filter_all_offices().replacen('*', "<office>", 1);
    match filter.strip_suffix(".*") {
        Some(base) if t.unit_scoped => format!("{base}.<unit>"),
        _ => filter,
    }
}

/// A type as written in a contract, without the module path the contract wrote it with
/// (`super::`, `crate::`) and with the spacing of source code.
fn type_name(written: &str) -> String {
    let compact: String = written.split_whitespace().collect::<Vec<_>>().join(" ");
    let compact = compact.replace(" :: ", "::").replace(":: ", "::").replace(" ::", "::");
    let compact = compact.replace(" <", "<").replace("< ", "<").replace(" >", ">").replace(" ,", ",");
    compact.replace("super::", "").replace("crate::", "")
}

/// Text fit for a table cell.
fn cell(text: &str) -> String {
    text.trim().trim_end_matches('.').replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn committed() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/catalogue.md")
    }

    /// The committed `docs/catalogue.md` is what the contracts declare. After a change of a contract,
    /// `BANGBAN_CATALOGUE_WRITE=1 cargo test -p bangban catalogue` rewrites it, to be reviewed in the diff.
    #[test]
    fn the_committed_catalogue_is_the_contracts() {
        let generated = render();
        let path = committed();
        if std::env::var("BANGBAN_CATALOGUE_WRITE").is_ok_and(|v| v == "1") {
            std::fs::write(&path, &generated).expect("writing docs/catalogue.md");
            return;
        }
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        if on_disk != generated {
            let first = on_disk.lines().zip(generated.lines()).position(|(a, b)| a != b);
            let (line, was, now) = match first {
                Some(i) => (i + 1, on_disk.lines().nth(i).unwrap_or(""), generated.lines().nth(i).unwrap_or("")),
                None => (on_disk.lines().count().min(generated.lines().count()) + 1, "(end)", "(end)"),
            };
            panic!(
                "docs/catalogue.md differs from the contracts (line {line}):\n  committed: {was}\n  generated: {now}\n\
                 Rewrite it with BANGBAN_CATALOGUE_WRITE=1 cargo test -p bangban catalogue, and review the diff."
            );
        }
    }

    #[test]
    fn every_operation_and_event_is_listed_once() {
        let text = render();
        for op in operation::all() {
            assert_eq!(text.matches(&format!("| `{}` |", op.subject())).count(), 1, "{}", op.subject());
        }
        for t in EventType::ALL {
            assert_eq!(text.matches(&format!("| `{}` |", t.ce_type())).count(), 1, "{}", t.ce_type());
        }
        assert_eq!(subject_pattern(&EventType::TASK_DISPATCHED), "bb.evt.<office>.task.dispatched.<unit>");
        assert_eq!(subject_pattern(&EventType::CASE_ACCEPTED), "bb.evt.<office>.case.accepted");
        assert_eq!(type_name("Vec < super :: UnitView >"), "Vec<UnitView>");
    }
}
