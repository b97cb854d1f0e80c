//! Fuzzing the API from its own description (模糊测试): schemathesis, a property-based fuzzer, generates requests
//! for every operation of `/openapi.json` — valid ones, and invalid ones at the schema's edges — with the
//! tokens of several roles, against the whole platform on real parts.
//!
//! Checks: no 5xx (a panicking service shows as a 503 after the call timeout), every error a problem document
//! in both languages (`tests/security/fuzz/hooks.py`), and every answer conforming to its documented schema.
//! The run is deterministic (a fixed seed) so CI is stable; `BANGBAN_FUZZ_SEED` and `BANGBAN_FUZZ_EXAMPLES`
//! (examples per operation, default 12) explore further. schemathesis is installed, pinned, by
//! `tools/ensure-security-tools.sh` into `.tools/security-venv`.

use std::{path::PathBuf, process::Stdio};

use bangban_gateway::settings::WebSettings;
use serde_json::Value;

use crate::{
    matrix::{Fixture, fixture, principals},
    support::{TestApp, workspace_root},
};

/// Every role the fuzzer signs in as, and its phases. The coverage phase (the schema's edges and every kind of
/// invalid value, some 5 000 requests) mostly tests decoding, which is the same for everyone: three roles run
/// it; every role runs the examples and the random fuzzing. The roles: the county's office admin, the
/// applicant, the responsible unit's officer, the case's specialist (an assistant), an agent, an expert, a
/// supervisor and an integrator.
const ROLES: [(&str, &str); 8] = [
    ("office_admin", "examples,coverage,fuzzing"),
    ("applicant", "examples,coverage,fuzzing"),
    ("officer", "examples,coverage,fuzzing"),
    ("specialist", "examples,fuzzing"),
    ("agent", "examples,fuzzing"),
    ("expert", "examples,fuzzing"),
    ("supervisor", "examples,fuzzing"),
    ("integrator", "examples,fuzzing"),
];

fn ensure_tools(root: &std::path::Path) -> PathBuf {
    let status = std::process::Command::new("bash")
        .arg(root.join("tools/ensure-security-tools.sh"))
        .status()
        .expect("run tools/ensure-security-tools.sh");
    assert!(status.success(), "tools/ensure-security-tools.sh failed: the fuzzer cannot be installed");
    root.join(".tools/security-venv/bin/schemathesis")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_generated_request_breaks_the_api() {
    let root = workspace_root();
    let schemathesis = ensure_tools(&root);
    // The fuzzer comes from one address and one token per role: the rate limits (tested on their own) would
    // otherwise answer most of its requests with 429.
    let app = TestApp::spawn_with_evaluation_and(|s| {
        let web: WebSettings = s.section("web").unwrap();
        s.set_section(
            "web",
            WebSettings {
                public_per_minute: 1_000_000,
                login_per_minute: 1_000_000,
                writes_per_minute: 1_000_000,
                ..web
            },
        );
    })
    .await;
    let f = fixture(&app).await;
    let callers = principals(&app, &f);
    let seed = std::env::var("BANGBAN_FUZZ_SEED").unwrap_or_else(|_| "20261207".into());
    let examples = std::env::var("BANGBAN_FUZZ_EXAMPLES").unwrap_or_else(|_| "12".into());
    // A failing role's report stays after the run (target/security-fuzz/<role>.ndjson) to replay the failure.
    let reports = root.join("target").join("security-fuzz");
    std::fs::create_dir_all(&reports).unwrap();
    let config = reports.join("schemathesis.toml");
    std::fs::write(&config, config_toml(&f)).unwrap();

    let mut total_cases = 0u64;
    let mut failures = Vec::new();
    for (role, phases) in ROLES {
        let caller = callers.iter().find(|c| c.name == role).expect("a caller of that role");
        let report = reports.join(format!("{role}.ndjson"));
        let out = tokio::process::Command::new(&schemathesis)
            .arg("--config-file")
            .arg(&config)
            .arg("run")
            .arg(app.url("/openapi.json"))
            .args(["--checks", "not_a_server_error,response_schema_conformance,problem_document"])
            .args(["--phases", phases])
            .args(["--max-examples", &examples, "--seed", &seed, "--generation-database", "none"])
            .args(["--workers", "2", "--request-timeout", "10", "--no-color", "--output-truncate", "true"])
            // The live stream never ends by itself; it has its own tests.
            .args(["--exclude-path", "/api/v1/stream"])
            .args(["--report", "ndjson", "--report-ndjson-path"])
            .arg(&report)
            .args(["-H", &format!("Authorization: Bearer {}", caller.token.as_deref().unwrap())])
            .env("SCHEMATHESIS_HOOKS", "hooks")
            .env("PYTHONPATH", root.join("tests/security/fuzz"))
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::null())
            .output()
            .await
            .expect("run schemathesis");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let cases = count_cases(&report);
        total_cases += cases;
        eprintln!("fuzzing as {role}: {cases} generated requests, exit {:?}", out.status.code());
        if out.status.success() {
            // Tens of megabytes each: kept only to replay a failure.
            let _ = std::fs::remove_file(&report);
        } else {
            failures.push(format!(
                "as {role} (seed {seed}):\n{}\n{}",
                failures_of(&stdout),
                tail(&String::from_utf8_lossy(&out.stderr), 40)
            ));
        }
    }
    eprintln!("fuzzing: {total_cases} generated requests over {} roles, {} failing roles", ROLES.len(), failures.len());
    assert!(total_cases > 0, "the fuzzer sent no request");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Test cases of a schemathesis NDJSON report (one `ScenarioFinished`… event per scenario; every recorded
/// interaction is one request).
fn count_cases(report: &std::path::Path) -> u64 {
    let Ok(text) = std::fs::read_to_string(report) else { return 0 };
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|event| {
            let mut n = 0u64;
            count_interactions(&event, &mut n);
            n
        })
        .sum()
}

fn count_interactions(v: &Value, n: &mut u64) {
    match v {
        Value::Object(m) => {
            if let Some(Value::Object(i)) = m.get("interactions") {
                *n += i.len() as u64;
            }
            for (k, child) in m {
                if k != "interactions" {
                    count_interactions(child, n);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|c| count_interactions(c, n)),
        _ => {}
    }
}

/// The failures section of schemathesis's output (its summary follows).
fn failures_of(stdout: &str) -> String {
    let start = stdout.find("FAILURES").unwrap_or(0);
    let end = stdout.find("SUMMARY").unwrap_or(stdout.len()).max(start);
    let section = &stdout[start..end];
    if section.len() > 20_000 {
        format!("{}…", &section[..section.floor_char_boundary(20_000)])
    } else {
        section.into()
    }
}

/// The fuzzer's configuration: the path parameters of the fixture's objects, per kind of path, so requests reach
/// the handlers behind the lookups (other values still come from the schema where a path names no fixture).
fn config_toml(f: &Fixture) -> String {
    let mut out = String::from("# Written by tests/security/fuzz.rs for one run.\n");
    let mut op = |regex: &str, params: &[(&str, String)]| {
        out.push_str(&format!("\n[[operations]]\ninclude-path-regex = '{regex}'\n[operations.parameters]\n"));
        for (k, v) in params {
            out.push_str(&format!("\"path.{k}\" = \"{v}\"\n"));
        }
    };
    op("^/api/v1/cases/\\{id\\}", &[("id", f.case_id.to_string()), ("code", f.item_code.clone())]);
    op("^/api/v1/tasks/\\{id\\}", &[("id", f.task_id.to_string())]);
    op("^/api/v1/consultations/\\{id\\}", &[("id", f.consultation_id.to_string())]);
    op("^/api/v1/problems/\\{id\\}", &[("id", f.problem_id.to_string())]);
    out
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
