//! The routes of evaluation together: the document, the examples, and the gateway against a stand-in service.

use bangban_contracts::{
    evaluation::{self, AppealView, Assessment, EvaluationView, InvitationView, RectificationView, Statistics},
    subjects::service_subject,
};
use bangban_platform::problem::Problem;
use chrono::NaiveDate;
use uuid::Uuid;

use crate::auth::Role;

use super::{
    appeals::appeal_example,
    assessment::{CSV_EXAMPLE, assessment_example, statistics_example},
    check_period,
    invitations::invitation_example,
    ratings::evaluation_example,
    rectifications::rectification_example,
};

#[test]
fn periods_end_after_they_begin() {
    let d = |s: &str| s.parse::<NaiveDate>().unwrap();
    assert!(check_period(d("2026-01-01"), d("2026-01-01")).is_ok());
    assert!(check_period(d("2026-01-01"), d("2026-03-31")).is_ok());
    let p = check_period(d("2026-03-31"), d("2026-01-01")).unwrap_err();
    assert_eq!((p.status, p.errors[0].field.as_str()), (422, "to"));
}

#[test]
fn the_examples_are_the_contract_s_types() {
    serde_json::from_value::<EvaluationView>(evaluation_example()).unwrap();
    serde_json::from_value::<InvitationView>(invitation_example()).unwrap();
    serde_json::from_value::<RectificationView>(rectification_example()).unwrap();
    serde_json::from_value::<AppealView>(appeal_example()).unwrap();
    serde_json::from_value::<Assessment>(assessment_example()).unwrap();
    serde_json::from_value::<Statistics>(statistics_example()).unwrap();
}

#[test]
fn the_document_describes_evaluation() {
    let doc = serde_json::to_value(crate::openapi::document()).unwrap();
    let paths = &doc["paths"];
    let query = |op: &serde_json::Value| -> Vec<String> {
        op["parameters"]
            .as_array()
            .map(|ps| {
                ps.iter().filter(|p| p["in"] == "query").filter_map(|p| p["name"].as_str()).map(Into::into).collect()
            })
            .unwrap_or_default()
    };
    let routes: [(&str, &str, &[&str]); 16] = [
        ("/api/v1/tasks/{id}/evaluation", "post", &[]),
        ("/api/v1/cases/{id}/evaluation", "post", &[]),
        ("/api/v1/evaluations/invitations/{code}", "get", &[]),
        ("/api/v1/evaluations/by-code", "post", &[]),
        (
            "/api/v1/evaluations",
            "get",
            &["office", "unit", "specialist", "applicant_id", "case_id", "bad", "limit", "offset"],
        ),
        ("/api/v1/evaluations/{id}", "get", &[]),
        ("/api/v1/cases/{id}/invitations", "get", &[]),
        ("/api/v1/rectifications", "get", &["office", "unit", "specialist", "status", "escalated", "limit", "offset"]),
        ("/api/v1/rectifications/{id}", "get", &[]),
        ("/api/v1/rectifications/{id}/steps", "post", &[]),
        ("/api/v1/evaluations/{id}/appeal", "post", &[]),
        ("/api/v1/appeals/{id}/decision", "post", &[]),
        ("/api/v1/appeals", "get", &["office", "status"]),
        ("/api/v1/assessments", "get", &["by", "office", "from", "to"]),
        ("/api/v1/assessments.csv", "get", &["by", "office", "from", "to"]),
        ("/api/v1/evaluations/statistics", "get", &["office", "from", "to"]),
    ];
    for (path, method, params) in routes {
        let op = &paths[path][method];
        assert!(op.is_object(), "{method} {path} is not documented");
        assert_eq!(op["tags"][0], "evaluations", "{path}");
        for code in ["404", "503"] {
            let documented = op["responses"][code].is_object();
            assert!(documented || code == "404" && op["responses"]["403"].is_object(), "{method} {path} {code}");
        }
        if method == "post" {
            assert!(op["requestBody"]["content"]["application/json"]["example"].is_object(), "{path}");
            assert!(op["responses"]["422"].is_object(), "{path} documents 422");
        }
        let ok = ["200", "201"].iter().map(|c| &op["responses"][*c]).find(|r| r.is_object()).unwrap();
        let content = ok["content"].as_object().unwrap();
        assert!(content.values().all(|c| !c["example"].is_null()), "{method} {path}: an example");
        assert_eq!(query(op), params, "{method} {path}");
    }
    // The SMS link's page has no token; the window's terminal may send one.
    assert!(paths["/api/v1/evaluations/invitations/{code}"]["get"]["security"].is_null());
    assert_eq!(paths["/api/v1/evaluations/by-code"]["post"]["security"], serde_json::json!([{}, {"bearer": []}]));
    assert_eq!(paths["/api/v1/evaluations"]["get"]["security"][0]["bearer"], serde_json::json!([]));
    let csv = &paths["/api/v1/assessments.csv"]["get"]["responses"]["200"];
    assert!(csv["content"]["text/csv; charset=utf-8"].is_object(), "{csv}");
    assert!(csv["headers"]["Content-Disposition"].is_object(), "{csv}");
    let schemas = &doc["components"]["schemas"];
    for name in ["NewRating", "ByCodeBody", "EvaluationView", "RectificationAction", "Assessment", "Statistics"] {
        assert!(schemas[name].is_object(), "{name} missing");
    }
}

/// Every field of every span and event, as `name=value`: to show what telemetry would record.
#[derive(Clone, Default)]
struct Capture {
    fields: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    next: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl tracing::field::Visit for Capture {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.fields.lock().unwrap().push(format!("{}={value:?}", field.name()));
    }
}

impl tracing::Subscriber for Capture {
    /// Ours and the platform's, at every level. The NATS client traces whole messages at TRACE (the
    /// platform's log filters keep `async_nats` at `warn`).
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        !metadata.target().starts_with("async_nats")
    }
    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        span.record(&mut self.clone());
        tracing::span::Id::from_u64(self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1)
    }
    fn record(&self, _: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        values.record(&mut self.clone());
    }
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        event.record(&mut self.clone());
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// The routes against a stand-in evaluation service on a real nats-server: what the gateway forwards
/// (channels and actors, applicants from the token, scoped lists), what it refuses before asking, the
/// CSV, and that the one-time code appears in no span or log.
#[tokio::test]
async fn the_routes_forward_what_the_token_allows() {
    use std::sync::{Arc, Mutex};

    use axum::{body::Body, http::Request};
    use bangban_platform::{health::Readiness, rpc};
    use futures::StreamExt;
    use serde_json::{Value, json};
    use tower::ServiceExt;

    const CODE: &str = "Kq7bX2mZr9Tf4Wc8";
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());

    let nats = bangban_testkit::NatsServer::start().await.expect("nats-server");
    let client = nats.client().await.expect("client");
    let settings = bangban_platform::Settings {
        data_dir: std::env::temp_dir().join(format!("bangban-gateway-evaluations-{}", Uuid::now_v7())),
        ..Default::default()
    };
    std::fs::create_dir_all(&settings.data_dir).expect("data dir");
    let state = crate::state(&settings, client.clone()).expect("state");
    let auth = state.auth.clone();
    let app = crate::router(state, Readiness { nats: client.clone(), databases: vec![] });

    // The stand-in: records each request; knows one code, one rating, one assessment.
    let seen: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
    let mut requests = client.subscribe(service_subject(evaluation::SERVICE, ">")).await.expect("subscribe");
    client.flush().await.expect("flush");
    let (replier, log) = (client.clone(), seen.clone());
    tokio::spawn(async move {
        while let Some(msg) = requests.next().await {
            let op = msg.subject.as_str().trim_start_matches(&service_subject(evaluation::SERVICE, "")).to_string();
            let req: Value = serde_json::from_slice(&msg.payload).expect("json");
            log.lock().unwrap().push((op.clone(), req.clone()));
            let reply = msg.reply.expect("a request");
            let known = req["code"].as_str().is_none_or(|c| c == CODE);
            let body = match op.as_str() {
                "invitation.by_code" if known => Ok(invitation_example()),
                "evaluation.submit" | "evaluation.submit_by_code" | "evaluation.get" if known => {
                    Ok(evaluation_example())
                }
                "evaluation.list" => Ok(json!({"items": [], "total": 0, "limit": req["limit"], "offset": 0})),
                "assessment.get" => Ok(assessment_example()),
                _ => Err(Problem::not_found(format!("没有 {}", req["code"]), format!("no {}", req["code"]))),
            };
            match body {
                Ok(body) => replier.publish(reply, serde_json::to_vec(&body).unwrap().into()).await.unwrap(),
                Err(problem) => {
                    let mut h = async_nats::HeaderMap::new();
                    h.insert(rpc::SERVICE_ERROR, "Not Found");
                    h.insert(rpc::SERVICE_ERROR_CODE, "404");
                    let body = serde_json::to_vec(&problem).unwrap().into();
                    replier.publish_with_headers(reply, h, body).await.unwrap()
                }
            }
        }
    });

    let token = |sub: &str, role, office: &str, unit: Option<&str>, applicant: Option<&str>| {
        auth.issue(
            sub,
            role,
            office,
            unit.map(Into::into),
            applicant.map(Into::into),
            std::time::Duration::from_secs(600),
        )
        .expect("token")
    };
    let send = |req: Request<Body>| {
        let app = app.clone();
        async move {
            let res = app.oneshot(req).await.expect("response");
            let status = res.status().as_u16();
            let headers = res.headers().clone();
            let bytes = axum::body::to_bytes(res.into_body(), usize::MAX).await.expect("body");
            (status, headers, bytes)
        }
    };
    let json_of = |bytes: &[u8]| serde_json::from_slice::<Value>(bytes).unwrap_or(Value::Null);
    let get = |uri: &str, token: Option<&str>| {
        let mut req = Request::get(uri);
        if let Some(token) = token {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        req.body(Body::empty()).unwrap()
    };
    let post = |uri: &str, token: Option<&str>, body: Value| {
        let mut req = Request::post(uri).header("content-type", "application/json");
        if let Some(token) = token {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        req.body(Body::from(body.to_string())).unwrap()
    };
    let last = || seen.lock().unwrap().last().cloned().unwrap();
    let count = || seen.lock().unwrap().len();

    let applicant_id = "0195f39e-0a1b-7c2d-8e3f-4a5b6c7d8e9f";
    let applicant = token("app-1", Role::Applicant, "371625", None, Some(applicant_id));
    let assistant = token("staff-371625-assistant-1", Role::Assistant, "371625", None, None);
    let officer = token("officer-1", Role::Officer, "371625", Some("371625-XZSP"), None);
    let supervisor = token("sup-1", Role::Supervisor, "371600", None, None);
    let integrator = token("int-1", Role::Integrator, "371600", None, None);
    let county_admin = token("admin-1", Role::OfficeAdmin, "371625", None, None);
    let rating = json!({"level": 5, "comment": "办理很快", "tags": ["efficiency"]});

    // The SMS link's page: no token, the invitation, not cached; an unknown code is ours, not echoed.
    let (status, headers, body) = send(get(&format!("/api/v1/evaluations/invitations/{CODE}"), None)).await;
    assert_eq!(status, 200, "{}", json_of(&body));
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(json_of(&body)["ledger_no"], "BB-371625-2026-0042");
    assert_eq!(last(), ("invitation.by_code".into(), json!({"code": CODE})));
    let (status, _, body) = send(get("/api/v1/evaluations/invitations/Zz9yX8wV7uT6sR5q", None)).await;
    assert_eq!(status, 404);
    assert!(!String::from_utf8_lossy(&body).contains("Zz9yX8wV7uT6sR5q"), "{}", json_of(&body));

    // By code without a token: the SMS link, no actor.
    let by_code = json!({"code": CODE, "level": 5, "comment": "办理很快", "tags": ["efficiency"]});
    let (status, headers, body) = send(post("/api/v1/evaluations/by-code", None, by_code.clone())).await;
    assert_eq!(status, 201, "{}", json_of(&body));
    assert_eq!(headers["location"], "/api/v1/evaluations/0195f7a0-1b2c-7d3e-8f40-5a6b7c8d9e01");
    let (op, req) = last();
    assert_eq!(op, "evaluation.submit_by_code");
    assert_eq!(
        req,
        json!({"code": CODE, "channel": "sms_link", "actor": null,
               "rating": {"level": 5, "comment": "办理很快", "tags": ["efficiency"]}})
    );
    // At a window terminal: the staff member is the actor.
    assert_eq!(send(post("/api/v1/evaluations/by-code", Some(&assistant), by_code.clone())).await.0, 201);
    let (_, req) = last();
    assert_eq!(req["channel"], "window");
    assert_eq!(req["actor"], json!({"sub": "staff-371625-assistant-1", "role": "assistant", "office": "371625"}));
    // Other tokens, a bad token, a wrong level: refused before anything is asked.
    let before = count();
    for other in [&applicant, &officer, &supervisor, &integrator] {
        assert_eq!(send(post("/api/v1/evaluations/by-code", Some(other), by_code.clone())).await.0, 403);
    }
    assert_eq!(send(post("/api/v1/evaluations/by-code", Some("not-a-token"), by_code.clone())).await.0, 401);
    for level in [json!(0), json!(6), json!("x")] {
        let body = json!({"code": CODE, "level": level});
        let (status, _, problem) = send(post("/api/v1/evaluations/by-code", None, body)).await;
        let problem = json_of(&problem);
        assert_eq!((status, &problem["errors"][0]["field"]), (422, &json!("level")), "{problem}");
    }
    assert_eq!(count(), before, "nothing forwarded");

    // Rating an item: the applicant, whose id comes from the token; nobody else.
    let task = "0195f3a0-7c1e-7b35-9a51-2f9c3c1d4e01";
    let uri = format!("/api/v1/tasks/{task}/evaluation");
    assert_eq!(send(post(&uri, Some(&applicant), rating.clone())).await.0, 201);
    let (op, req) = last();
    assert_eq!(op, "evaluation.submit");
    assert_eq!(req["applicant_id"], applicant_id);
    assert_eq!(req["matter"], json!({"kind": "task", "task_id": task}));
    assert_eq!(req["actor"]["role"], "applicant");
    let case_uri = "/api/v1/cases/0195f39f-1a2b-7c3d-8e4f-5a6b7c8d9e0f/evaluation";
    assert_eq!(send(post(case_uri, Some(&applicant), rating.clone())).await.0, 201);
    assert_eq!(last().1["matter"]["kind"], "case");
    let before = count();
    for other in [&assistant, &officer, &county_admin, &supervisor, &integrator] {
        assert_eq!(send(post(&uri, Some(other), rating.clone())).await.0, 403);
    }
    let (status, _, problem) = send(post(&uri, Some(&applicant), json!({"level": 6}))).await;
    assert_eq!((status, json_of(&problem)["errors"][0]["field"].clone()), (422, json!("level")));
    assert_eq!(send(post("/api/v1/tasks/nope/evaluation", Some(&applicant), rating.clone())).await.0, 400);
    assert_eq!(count(), before, "nothing forwarded");

    // Lists: narrowed by the token.
    assert_eq!(send(get("/api/v1/evaluations?office=371621", Some(&assistant))).await.0, 200);
    let (op, req) = last();
    assert_eq!(op, "evaluation.list");
    assert_eq!(
        (&req["specialist"], &req["office"], &req["limit"]),
        (&json!("staff-371625-assistant-1"), &json!("371621"), &json!(20))
    );
    assert_eq!(send(get("/api/v1/evaluations", Some(&applicant))).await.0, 200);
    assert_eq!(last().1["applicant_id"], applicant_id);
    let before = count();
    assert_eq!(send(get("/api/v1/evaluations", Some(&integrator))).await.0, 403);
    assert_eq!(send(get("/api/v1/evaluations?office=371621", Some(&county_admin))).await.0, 403);
    let (status, _, problem) = send(get("/api/v1/evaluations?limit=101", Some(&supervisor))).await;
    assert_eq!((status, json_of(&problem)["errors"][0]["field"].clone()), (400, json!("limit")));
    assert_eq!(count(), before, "nothing forwarded");

    // One rating: those it concerns; anyone else learns nothing.
    let one = "/api/v1/evaluations/0195f7a0-1b2c-7d3e-8f40-5a6b7c8d9e01";
    assert_eq!(send(get(one, Some(&assistant))).await.0, 200);
    assert_eq!(send(get(one, Some(&officer))).await.0, 200);
    let colleague = token("staff-371625-assistant-2", Role::Assistant, "371625", None, None);
    assert_eq!(send(get(one, Some(&colleague))).await.0, 404);
    let other_county = token("admin-2", Role::OfficeAdmin, "371621", None, None);
    assert_eq!(send(get(one, Some(&other_county))).await.0, 404);

    // The assessment as CSV: Excel's BOM, the header row, the file name; the period checked first.
    let csv = "/api/v1/assessments.csv?by=specialist&from=2026-01-01&to=2026-03-31";
    let (status, headers, body) = send(get(csv, Some(&county_admin))).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(headers["content-type"], "text/csv; charset=utf-8");
    assert_eq!(
        headers["content-disposition"],
        "attachment; filename=\"assessment-specialist-2026-01-01-2026-03-31.csv\""
    );
    assert!(body.starts_with("\u{feff}对象,评价数".as_bytes()));
    assert_eq!(String::from_utf8(body.to_vec()).unwrap(), CSV_EXAMPLE);
    assert_eq!(last().1["office"], "371625", "a county admin's own office");
    let before = count();
    assert_eq!(send(get(csv, Some(&assistant))).await.0, 403);
    assert_eq!(send(get(&format!("{csv}&office=371621"), Some(&county_admin))).await.0, 403);
    let backwards = "/api/v1/assessments?from=2026-03-31&to=2026-01-01";
    let (status, _, problem) = send(get(backwards, Some(&supervisor))).await;
    assert_eq!((status, json_of(&problem)["errors"][0]["field"].clone()), (422, json!("to")));
    assert_eq!(send(get("/api/v1/assessments?from=2026-03-31", Some(&supervisor))).await.0, 400);
    assert_eq!(count(), before, "nothing forwarded");
    assert_eq!(send(get("/api/v1/assessments?from=2026-01-01&to=2026-03-31", Some(&supervisor))).await.0, 200);
    assert_eq!(last().1["office"], Value::Null);

    // The code appears in no span and no log line; the invitation's span names the route.
    let fields = capture.fields.lock().unwrap().clone();
    assert!(
        fields.iter().any(|f| f == "url.path=/api/v1/evaluations/invitations/{code}"),
        "the route recorded: {fields:?}"
    );
    let leaked: Vec<&String> = fields.iter().filter(|f| f.contains(CODE) || f.contains("Zz9yX8wV7uT6sR5q")).collect();
    assert!(leaked.is_empty(), "{leaked:?}");
    let _ = std::fs::remove_dir_all(&settings.data_dir);
}
