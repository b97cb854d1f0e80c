//! The authorization matrix (授权矩阵): every operation of `/openapi.json` × every kind of caller, against the
//! expectation written down once per operation in `tests/security/authz-matrix.json`.
//!
//! The callers ([`principals`]) are the anonymous one, each role of the county office that accepted the case
//! (and the case's own specialist), the same roles of another county, the city office, a supervisor, an
//! integrator, the officer of the unit the case's task is routed to and of another county's unit, the case's
//! applicant and another applicant. Every request aims at the objects of one real case of county 371625: its
//! id, its published plan and an item of it, a task routed to a unit, a consultation, a problem.
//!
//! Each operation's entry lists the callers that get through (`allow`); every other caller must be refused —
//! 401 without a token, else 403, or 404 where an object is hidden from those who may not know it exists.
//! Where a path names an object the test does not create (an appeal, a rating, a supervision notice…) the
//! entry says `"object": "absent"` and `allow` lists who passes the role gate (the answer is then 404, not
//! 401 or 403). Bodies are generated from the operation's schema (required fields, first enum value…), so the
//! gateway's decoding accepts them and the decision is the authorization's.
//!
//! An operation without an entry fails the test, and so does an entry for an operation that is gone. After a
//! deliberate change of who may do what, `BANGBAN_MATRIX_WRITE=1` rewrites the file from the answers, to be
//! reviewed in the diff like code.

use std::collections::{BTreeMap, BTreeSet};

use bangban_gateway::auth::Role;
use bangban_gateway::settings::WebSettings;
use reqwest::Method;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::support::{TestApp, eventually, sample_case};

const COUNTY: &str = "371625";
const OTHER_COUNTY: &str = "371621";
const CITY: &str = "371600";
const MATRIX_FILE: &str = "authz-matrix.json";

/// Operations whose object the fixture does not make although their path names none: a rating by an unknown
/// one-time code, the removal of a calendar override never set.
const ABSENT_OBJECTS: [&str; 2] = ["POST /api/v1/evaluations/by-code", "POST /api/v1/calendar/overrides/{date}/remove"];

/// One caller: a name used in the matrix file, and the bearer token (none for the anonymous caller).
pub(crate) struct Caller {
    pub(crate) name: &'static str,
    pub(crate) token: Option<String>,
}

/// The objects every path points at.
pub(crate) struct Fixture {
    pub(crate) case_id: Uuid,
    pub(crate) applicant_id: Uuid,
    pub(crate) specialist: String,
    pub(crate) task_id: Uuid,
    pub(crate) task_unit: String,
    pub(crate) item_code: String,
    pub(crate) consultation_id: Uuid,
    pub(crate) problem_id: Uuid,
}

fn matrix_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("security").join(MATRIX_FILE)
}

pub(crate) async fn send(
    app: &TestApp,
    method: &Method,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> (u16, Value) {
    let mut req = app.http.request(method.clone(), app.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(b);
    }
    let res = req.send().await.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    let status = res.status().as_u16();
    if status == 200 && path.starts_with("/api/v1/stream") {
        // The live stream never ends by itself: its answer is the status.
        return (status, Value::Null);
    }
    let ct = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let text = res.text().await.unwrap_or_default();
    let value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if status >= 400 {
        assert!(
            ct.starts_with("application/problem+json"),
            "{method} {path} answered {status} with {ct}, not a problem: {text:.300}"
        );
    }
    (status, value)
}

/// A case accepted by the county, its plan published by its specialist, its tasks routed, a consultation and a
/// problem recorded.
pub(crate) async fn fixture(app: &TestApp) -> Fixture {
    let mut body = sample_case();
    body["office"] = json!(COUNTY);
    body["project"]["office"] = json!(COUNTY);
    let staff = app.token(Role::Assistant, COUNTY, None);
    let (status, case) = send(app, &Method::POST, "/api/v1/cases", Some(&staff), Some(&body)).await;
    assert_eq!(status, 201, "case: {case}");
    let case_id: Uuid = serde_json::from_value(case["id"].clone()).unwrap();
    let applicant_id: Uuid = serde_json::from_value(case["applicant"]["id"].clone()).unwrap();
    let specialist = case["specialist_id"].as_str().unwrap().to_string();
    let spec = app.token_as(&specialist, Role::Assistant, COUNTY);

    let plan_url = format!("/api/v1/cases/{case_id}/plan");
    let drafted = eventually(std::time::Duration::from_secs(30), || async {
        send(app, &Method::GET, &plan_url, Some(&spec), None).await.0 == 200
    })
    .await;
    assert!(drafted, "no plan drafted");
    let (status, plan) =
        send(app, &Method::POST, &format!("{plan_url}/publish"), Some(&spec), Some(&json!({"note": "已确认"}))).await;
    assert_eq!(status, 200, "publish: {plan}");
    let items = plan["items"].as_array().unwrap().len();
    let tasks_url = format!("/api/v1/cases/{case_id}/tasks");
    let routed = eventually(std::time::Duration::from_secs(30), || async {
        let (s, t) = send(app, &Method::GET, &tasks_url, Some(&spec), None).await;
        s == 200 && t.as_array().map(|a| a.len()) == Some(items)
    })
    .await;
    assert!(routed, "tasks not routed");
    let (_, tasks) = send(app, &Method::GET, &tasks_url, Some(&spec), None).await;
    let task = tasks
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["status"] == "dispatched" && t["unit_office"] == COUNTY)
        .expect("a dispatched task in the county")
        .clone();
    let task_id: Uuid = serde_json::from_value(task["id"].clone()).unwrap();
    let task_unit = task["unit_code"].as_str().unwrap().to_string();
    let item_code = task["item_code"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| plan["items"][0]["code"].as_str().expect("an item code").to_string());

    let admin = app.token(Role::OfficeAdmin, COUNTY, None);
    let (status, consultation) = send(
        app,
        &Method::POST,
        "/api/v1/consultations",
        Some(&admin),
        Some(&json!({
            "office": COUNTY,
            "channel": "window",
            "applicant": {"name": "王建国", "organisation": "博兴县某某新材料有限公司", "phone": "13812341234"},
            "project": {"name": "年产5万吨新材料项目", "category": "industrial", "office": COUNTY, "newly_settled": true},
            "needs": "希望帮办立项用地规划许可至施工许可阶段审批事项",
            "project_state": "已签订投资协议，正在办理项目备案",
            "materials": ["营业执照"],
            "intent": "assist"
        })),
    )
    .await;
    assert_eq!(status, 201, "consultation: {consultation}");
    let consultation_id: Uuid = serde_json::from_value(consultation["id"].clone()).unwrap();

    let (status, problem) = send(
        app,
        &Method::POST,
        &format!("/api/v1/tasks/{task_id}/problems"),
        Some(&spec),
        Some(&json!({"description": "缺少规划许可附图"})),
    )
    .await;
    assert!(status == 201 || status == 200, "problem: {status} {problem}");
    let problem_id: Uuid = serde_json::from_value(problem["id"].clone()).unwrap();

    Fixture { case_id, applicant_id, specialist, task_id, task_unit, item_code, consultation_id, problem_id }
}

pub(crate) fn principals(app: &TestApp, f: &Fixture) -> Vec<Caller> {
    let c = |name, token: String| Caller { name, token: Some(token) };
    // Callers most likely refused come first: a write that uses its object up (removing a plan item, completing
    // the archive) is tried by them before anyone it lets through.
    vec![
        Caller { name: "anonymous", token: None },
        c("applicant_other", app.token(Role::Applicant, COUNTY, Some(&Uuid::now_v7().to_string()))),
        c("integrator", app.token(Role::Integrator, CITY, None)),
        c("officer_other_county", app.officer_token(&format!("{OTHER_COUNTY}-XZSP"), OTHER_COUNTY)),
        c("assistant_other_county", app.token(Role::Assistant, OTHER_COUNTY, None)),
        c("office_admin_other_county", app.token(Role::OfficeAdmin, OTHER_COUNTY, None)),
        c("applicant", app.token(Role::Applicant, COUNTY, Some(&f.applicant_id.to_string()))),
        c("expert", app.token(Role::Expert, COUNTY, None)),
        c("supervisor", app.token(Role::Supervisor, CITY, None)),
        c("officer", app.officer_token(&f.task_unit, COUNTY)),
        c("agent", app.token(Role::Agent, COUNTY, None)),
        c("assistant", app.token(Role::Assistant, COUNTY, None)),
        c("city_assistant", app.token(Role::Assistant, CITY, None)),
        c("specialist", app.token_as(&f.specialist, Role::Assistant, COUNTY)),
        c("office_admin", app.token(Role::OfficeAdmin, COUNTY, None)),
        c("city_admin", app.token(Role::OfficeAdmin, CITY, None)),
    ]
}

/// Callers who may know nothing of the fixture's case: whatever they are let through to (a list, their inbox)
/// must not name its objects.
const OUTSIDERS: [&str; 5] =
    ["applicant_other", "integrator", "officer_other_county", "assistant_other_county", "office_admin_other_county"];

impl Fixture {
    fn ids(&self) -> [(&'static str, String); 5] {
        [
            ("case", self.case_id.to_string()),
            ("applicant", self.applicant_id.to_string()),
            ("task", self.task_id.to_string()),
            ("consultation", self.consultation_id.to_string()),
            ("problem", self.problem_id.to_string()),
        ]
    }
}

/// The value of a path parameter, and whether it names an object that exists.
fn path_value(path: &str, name: &str, f: &Fixture) -> (String, bool) {
    let seg = |s: &str| path.contains(&format!("/{s}/{{{name}}}"));
    match name {
        "id" if seg("cases") => (f.case_id.to_string(), true),
        "id" if seg("tasks") => (f.task_id.to_string(), true),
        "id" if seg("consultations") => (f.consultation_id.to_string(), true),
        "id" if seg("problems") => (f.problem_id.to_string(), true),
        "code" if seg("items") && path.contains("/plan/") => (f.item_code.clone(), true),
        "code" if seg("items") => (f.item_code.clone(), true),
        "version" => ("1".into(), true),
        "date" => ("2027-01-04".into(), true),
        "year" => ("2027".into(), true),
        "provider" => ("aliyun".into(), true),
        // appeals, evaluations, rectifications, supervision notices, archive documents, custody items, pauses,
        // invitation codes: not made by the fixture.
        "code" => ("ABCD2345".into(), false),
        _ => (Uuid::now_v7().to_string(), false),
    }
}

/// A value of `schema` that decodes: required properties only, the first enum value, formats honoured.
fn example(doc: &Value, schema: &Value, depth: usize) -> Value {
    if depth > 12 {
        return Value::Null;
    }
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.rsplit('/').next().unwrap();
        return example(doc, &doc["components"]["schemas"][name], depth + 1);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = schema[key].as_array() {
            let pick = options.iter().find(|o| o["type"] != "null").unwrap_or(&options[0]);
            return example(doc, pick, depth + 1);
        }
    }
    if let Some(all) = schema["allOf"].as_array() {
        let mut merged = Map::new();
        for part in all {
            if let Value::Object(m) = example(doc, part, depth + 1) {
                merged.extend(m);
            }
        }
        return Value::Object(merged);
    }
    if let Some(values) = schema["enum"].as_array() {
        return values.iter().find(|v| !v.is_null()).cloned().unwrap_or(Value::Null);
    }
    if let Some(c) = schema.get("const") {
        return c.clone();
    }
    let ty = match &schema["type"] {
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().filter_map(Value::as_str).find(|t| *t != "null").unwrap_or("null").to_string(),
        _ if schema["properties"].is_object() => "object".into(),
        _ => "null".into(),
    };
    match ty.as_str() {
        "object" => {
            let mut out = Map::new();
            let required: BTreeSet<&str> =
                schema["required"].as_array().map(|r| r.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
            if let Some(props) = schema["properties"].as_object() {
                for (k, v) in props {
                    if required.contains(k.as_str()) {
                        let value = if k == "office" { json!(COUNTY) } else { example(doc, v, depth + 1) };
                        out.insert(k.clone(), value);
                    }
                }
            }
            Value::Object(out)
        }
        "array" => {
            let n = schema["minItems"].as_u64().unwrap_or(0).max(1);
            Value::Array((0..n).map(|_| example(doc, &schema["items"], depth + 1)).collect())
        }
        "string" => Value::String(match schema["format"].as_str() {
            Some("date") => "2027-01-04".into(),
            Some("date-time") => "2027-01-04T09:00:00Z".into(),
            Some("uuid") => Uuid::now_v7().to_string(),
            // Empty text decodes but is refused by the rules behind the authorization, so a caller let through
            // changes nothing (a write the matrix lets through would otherwise be done, and done again).
            _ => String::new(),
        }),
        "integer" => json!(schema["minimum"].as_i64().unwrap_or(1).max(1)),
        "number" => json!(schema["minimum"].as_f64().unwrap_or(1.0).max(1.0)),
        "boolean" => json!(false),
        _ => Value::Null,
    }
}

/// One operation of the document with the request the test sends.
struct Operation {
    key: String,
    method: Method,
    path: String,
    body: Option<Value>,
    absent: bool,
}

fn operations(doc: &Value, f: &Fixture) -> Vec<Operation> {
    let mut out = Vec::new();
    for (template, item) in doc["paths"].as_object().expect("paths") {
        for (m, op) in item.as_object().unwrap() {
            let Ok(method) = m.to_uppercase().parse::<Method>() else { continue };
            if !["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&method.as_str()) {
                continue;
            }
            let mut path = template.clone();
            let mut absent = false;
            let mut query = Vec::new();
            for p in op["parameters"].as_array().into_iter().flatten() {
                let name = p["name"].as_str().unwrap();
                match p["in"].as_str() {
                    Some("path") => {
                        let (value, exists) = path_value(template, name, f);
                        absent |= !exists;
                        path = path.replace(&format!("{{{name}}}"), &value);
                    }
                    Some("query") if p["required"] == true => {
                        let v = example(doc, &p["schema"], 0);
                        let v = match v {
                            Value::String(s) => s,
                            other => other.to_string(),
                        };
                        query.push(format!("{name}={v}"));
                    }
                    _ => {}
                }
            }
            if !query.is_empty() {
                path = format!("{path}?{}", query.join("&"));
            }
            let body = op["requestBody"]["content"]["application/json"]["schema"]
                .as_object()
                .map(|s| example(doc, &Value::Object(s.clone()), 0));
            let key = format!("{} {template}", method.as_str());
            absent |= ABSENT_OBJECTS.contains(&key.as_str());
            out.push(Operation { key, method, path, body, absent });
        }
    }
    // Reads first, then writes; within each, the document's order (sorted paths).
    out.sort_by_key(|o| (o.method != Method::GET, o.key.contains("terminate"), o.key.clone()));
    out
}

/// Whether an answer lets the caller through: anything but 401 and 403, and — where the object exists — 404.
fn passes(status: u16, absent: bool) -> bool {
    match status {
        401 | 403 => false,
        404 => absent,
        _ => true,
    }
}

#[tokio::test]
async fn every_operation_answers_every_caller_as_the_matrix_says() {
    // Every caller comes from one address: the public endpoints' rate limit would answer for the authorization.
    let app = TestApp::spawn_with_evaluation_and(|s| {
        let web: WebSettings = s.section("web").unwrap();
        s.set_section("web", WebSettings { public_per_minute: 100_000, login_per_minute: 100_000, ..web });
    })
    .await;
    let f = fixture(&app).await;
    let callers = principals(&app, &f);
    let (status, doc) = send(&app, &Method::GET, "/openapi.json", None, None).await;
    assert_eq!(status, 200);
    let ops = operations(&doc, &f);

    let text = std::fs::read_to_string(matrix_path()).unwrap_or_else(|_| "{}".into());
    let file: Value = serde_json::from_str(&text).expect("authz-matrix.json is JSON");
    let expected = file["operations"].as_object().cloned().unwrap_or_default();
    let write = std::env::var("BANGBAN_MATRIX_WRITE").is_ok_and(|v| v == "1");
    let trace = write || std::env::var("BANGBAN_MATRIX_TRACE").is_ok_and(|v| v == "1");

    let mut observed: BTreeMap<String, Value> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut cells = 0usize;
    for op in &ops {
        let mut allowed = Vec::new();
        let started = std::time::Instant::now();
        let mut answers = Vec::new();
        for caller in &callers {
            let (status, body) = send(&app, &op.method, &op.path, caller.token.as_deref(), op.body.as_ref()).await;
            answers.push(format!("{}={status}", caller.name));
            cells += 1;
            assert!(status < 500, "{} as {}: {status} {body}", op.key, caller.name);
            if caller.token.is_none() && !op.key.contains("/hooks/") {
                // Without a token the answer is 401 (the hooks, signed instead, refuse otherwise).
                if !passes(status, op.absent) && status != 401 {
                    failures.push(format!("{} anonymous: {status}, expected 401", op.key));
                }
            }
            if passes(status, op.absent) {
                allowed.push(caller.name);
            }
            if OUTSIDERS.contains(&caller.name) && (200..300).contains(&status) {
                let text = body.to_string();
                for (what, id) in f.ids() {
                    if text.contains(&id) {
                        failures
                            .push(format!("{} as {}: the answer names the fixture's {what} {id}", op.key, caller.name));
                    }
                }
            }
        }
        if trace {
            eprintln!("{} ({:?}) {}: {}", op.key, started.elapsed(), op.path, answers.join(" "));
        }
        let mut entry = json!({ "allow": allowed });
        if op.absent {
            entry["object"] = json!("absent");
        }
        match expected.get(&op.key) {
            None => failures.push(format!("{}: no entry in tests/security/{MATRIX_FILE}", op.key)),
            Some(want) => {
                if want["allow"] != entry["allow"] {
                    failures
                        .push(format!("{}: allowed {} but the matrix says {}", op.key, entry["allow"], want["allow"]));
                }
                if want.get("object") != entry.get("object") {
                    failures.push(format!(
                        "{}: object {:?} but the matrix says {:?}",
                        op.key,
                        entry.get("object"),
                        want.get("object")
                    ));
                }
                if let Some(why) = want.get("why") {
                    entry["why"] = why.clone();
                }
            }
        }
        observed.insert(op.key.clone(), entry);
    }
    for key in expected.keys() {
        if !observed.contains_key(key) {
            failures.push(format!("{key}: in the matrix but not in /openapi.json"));
        }
    }
    eprintln!(
        "authorization matrix: {} operations × {} callers = {cells} requests, {} mismatches",
        ops.len(),
        callers.len(),
        failures.len()
    );
    if write {
        let mut out = file.clone();
        if !out.is_object() {
            out = json!({});
        }
        out["operations"] = serde_json::to_value(&observed).unwrap();
        std::fs::write(matrix_path(), serde_json::to_string_pretty(&out).unwrap() + "\n").unwrap();
        eprintln!("wrote {}", matrix_path().display());
        for f in &failures {
            eprintln!("MISMATCH {f}");
        }
        return;
    }
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}
