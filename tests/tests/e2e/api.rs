//! The HTTP API end to end: accept a case through the gateway and see its event on the bus.

use std::time::Duration;

use bangban_contracts::{CloudEvent, EventType, Operation, intake::CaseView};
use bangban_gateway::auth::Role;
use bangban_telemetry::propagation::trace_id_of_traceparent;
use serde_json::{Value, json};

use crate::support::*;

#[tokio::test]
async fn accepted_case_reaches_a_consumer_as_a_cloud_event_in_the_request_trace() {
    let app = TestApp::spawn().await;
    let js = app.js();
    let consumer = consumer(&js, "bb.evt.371600.case.accepted").await;

    // A caller that already has a trace: the gateway continues it.
    let incoming_trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let res = app
        .http
        .post(app.url("/api/v1/cases"))
        .bearer_auth(app.staff_token())
        .header("traceparent", format!("00-{incoming_trace}-00f067aa0ba902b7-01"))
        .json(&sample_case())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let location = res.headers().get("location").unwrap().to_str().unwrap().to_string();
    let case: CaseView = res.json().await.unwrap();
    assert_eq!(location, format!("/api/v1/cases/{}", case.id));
    assert!(case.ledger_no.starts_with("BB-371600-"), "{}", case.ledger_no);
    assert!(case.ledger_no.ends_with("-000001"), "{}", case.ledger_no);

    let msg = next_message(&consumer, Duration::from_secs(10)).await.expect("case.accepted on the bus");
    assert_eq!(msg.subject.as_str(), "bb.evt.371600.case.accepted");
    let headers = msg.headers.clone().expect("headers");
    let event = CloudEvent::from_parts(Some(&headers), msg.payload.clone()).expect("a valid CloudEvent");
    assert_eq!(headers.get("ce-specversion").unwrap().as_str(), "1.0");
    assert_eq!(headers.get("Nats-Msg-Id").unwrap().as_str(), event.id);
    assert!(uuid::Uuid::parse_str(&event.id).unwrap().get_version_num() == 7);
    assert_eq!(event.source, "/bangban/intake");
    assert_eq!(event.event_type(), Some(EventType::CASE_ACCEPTED));
    assert_eq!(event.subject.as_deref(), Some(case.id.to_string().as_str()));
    assert!(event.time.is_some());
    let data: Value = event.data_as().unwrap();
    assert_eq!(data["ledger_no"], case.ledger_no);
    assert_eq!(data["project"]["category"], "industrial");
    let traceparent = headers.get("traceparent").expect("traceparent").as_str().to_string();
    assert_eq!(trace_id_of_traceparent(&traceparent), Some(incoming_trace));
    msg.ack().await.unwrap();

    // A caller without a trace: the event carries the trace the gateway's server span started.
    let res = app.post_case(&app.staff_token(), &sample_case()).await;
    assert_eq!(res.status(), 201);
    let second: CaseView = res.json().await.unwrap();
    assert!(second.ledger_no.ends_with("-000002"), "{}", second.ledger_no);
    let msg = next_message(&consumer, Duration::from_secs(10)).await.expect("second event");
    let traceparent = msg.headers.as_ref().unwrap().get("traceparent").unwrap().as_str().to_string();
    let event_trace = trace_id_of_traceparent(&traceparent).unwrap().to_string();
    assert_ne!(event_trace, incoming_trace);
    let found = eventually(Duration::from_secs(5), || {
        let spans = spans_named(&app.spans, "POST /api/v1/cases");
        let event_trace = event_trace.clone();
        async move { spans.iter().any(|s| s.span_context.trace_id().to_string() == event_trace) }
    })
    .await;
    assert!(
        found,
        "the HTTP server span and the event share one trace: {event_trace} vs {:?}",
        app.spans
            .get_finished_spans()
            .unwrap()
            .iter()
            .map(|s| (s.name.to_string(), s.span_context.trace_id().to_string()))
            .collect::<Vec<_>>()
    );
    // The trace runs through intake's service handler and the relay's publish. The relay closes its publish span
    // once the broker's ack is settled, which can be after the consumer already has the event: wait for it.
    let spans_of_trace = || -> Vec<String> {
        app.spans
            .get_finished_spans()
            .unwrap()
            .into_iter()
            .filter(|s| s.span_context.trace_id().to_string() == event_trace)
            .map(|s| s.name.to_string())
            .collect()
    };
    let publish = "bb.evt.371600.case.accepted publish";
    eventually(Duration::from_secs(5), || {
        let found = spans_of_trace().iter().any(|n| n == publish);
        async move { found }
    })
    .await;
    let trace_spans = spans_of_trace();
    let process = format!("{} process", bangban_contracts::intake::ops::CaseCreate::subject());
    assert_eq!(process, "bb.svc.intake.case.create process");
    assert!(trace_spans.contains(&process), "{trace_spans:?}");
    assert!(trace_spans.iter().any(|n| n == "bb.evt.371600.case.accepted publish"), "{trace_spans:?}");
}

#[tokio::test]
async fn applicant_reads_only_their_own_case() {
    let app = TestApp::spawn().await;
    let case: CaseView = app.post_case(&app.staff_token(), &sample_case()).await.json().await.unwrap();
    let path = format!("/api/v1/cases/{}", case.id);

    let own = app.token(Role::Applicant, "371600", Some(&case.applicant.id.to_string()));
    let res = app.http.get(app.url(&path)).bearer_auth(own).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let read: CaseView = res.json().await.unwrap();
    assert_eq!(read, case);

    let other = app.token(Role::Applicant, "371600", Some(&uuid::Uuid::now_v7().to_string()));
    let res = app.http.get(app.url(&path)).bearer_auth(other).send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["content-type"], "application/problem+json");

    // Staff of another county do not see the city's case; a supervisor anywhere does; an
    // integrator reads the bus, not the API.
    let county = app.token(Role::Assistant, "371681", None);
    assert_eq!(app.http.get(app.url(&path)).bearer_auth(county).send().await.unwrap().status(), 404);
    let supervisor = app.token(Role::Supervisor, "371681", None);
    assert_eq!(app.http.get(app.url(&path)).bearer_auth(supervisor).send().await.unwrap().status(), 200);
    let integrator = app.token(Role::Integrator, "371600", None);
    assert_eq!(app.http.get(app.url(&path)).bearer_auth(integrator).send().await.unwrap().status(), 403);

    let missing = format!("/api/v1/cases/{}", uuid::Uuid::now_v7());
    let res = app.http.get(app.url(&missing)).bearer_auth(app.staff_token()).send().await.unwrap();
    assert_eq!(res.status(), 404);
    let res = app.http.get(app.url("/api/v1/cases/not-a-uuid")).bearer_auth(app.staff_token()).send().await.unwrap();
    assert_eq!(res.status(), 400);
    let p: Value = res.json().await.unwrap();
    assert_eq!(p["errors"][0]["field"], "id");
}

#[tokio::test]
async fn authentication_failures_are_401_and_missing_rights_403() {
    let app = TestApp::spawn().await;
    let body = sample_case();

    let res = app.http.post(app.url("/api/v1/cases")).json(&body).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["www-authenticate"], "Bearer");
    assert_eq!(res.headers()["content-type"], "application/problem+json");

    // Signed with another secret.
    let mut other = app.settings.clone();
    other.auth.dev_secret = Some("a-completely-different-secret-value".to_string().into());
    let forged = bangban_gateway::auth::Authenticator::from_settings(&other)
        .unwrap()
        .issue("x", Role::Assistant, "371600", None, None, Duration::from_secs(600))
        .unwrap();
    assert_eq!(app.post_case(&forged, &body).await.status(), 401);

    // Expired beyond the leeway.
    let claims = bangban_gateway::auth::Claims {
        sub: "x".into(),
        role: Role::Assistant,
        office: "371600".into(),
        unit: None,
        applicant: None,
        iss: app.settings.auth.issuer.clone(),
        aud: None,
        exp: chrono::Utc::now().timestamp() - 3600,
        iat: chrono::Utc::now().timestamp() - 7200,
    };
    let expired = app.auth.issue_dev_token(&claims).unwrap();
    let res = app.post_case(&expired, &body).await;
    assert_eq!(res.status(), 401);
    let p: Value = res.json().await.unwrap();
    assert_eq!(p["status"], 401);

    // Roles without the right.
    for role in [Role::Integrator, Role::Supervisor, Role::Officer] {
        let token = app.token(role, "371600", None);
        let res = app.post_case(&token, &body).await;
        assert_eq!(res.status(), 403, "{role:?}");
        let p: Value = res.json().await.unwrap();
        assert!(p["detail"].as_str().unwrap().contains("无权"), "{p}");
    }
    let applicant = app.token(Role::Applicant, "371600", Some("a-1"));
    assert_eq!(app.post_case(&applicant, &body).await.status(), 403);
    // Staff of a county may not accept for the city.
    let county = app.token(Role::Agent, "371625", None);
    assert_eq!(app.post_case(&county, &body).await.status(), 403);

    assert_eq!(count_rows(&app.intake_db, "cases").await, 0);
    assert_eq!(count_rows(&app.intake_db, "outbox").await, 0);
}

#[tokio::test]
async fn bad_input_gets_a_problem_naming_the_field_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let token = app.staff_token();
    let send = |body: String, ct: &'static str| {
        let req = app.http.post(app.url("/api/v1/cases")).bearer_auth(&token).header("content-type", ct).body(body);
        async move { req.send().await.unwrap() }
    };

    let res = send("{\"service_type\": ".into(), "application/json").await;
    assert_eq!(res.status(), 400);
    assert_eq!(res.headers()["content-type"], "application/problem+json");

    let mut missing = sample_case();
    missing["project"].as_object_mut().unwrap().remove("name");
    let res = send(missing.to_string(), "application/json").await;
    assert_eq!(res.status(), 422);
    let p: Value = res.json().await.unwrap();
    assert_eq!(p["errors"][0]["field"], "project.name");
    assert!(p["errors"][0]["reason"].as_str().unwrap().contains("必填"));
    assert!(p["errors"][0]["reason_en"].as_str().unwrap().contains("required"));

    let mut category = sample_case();
    category["project"]["category"] = json!("castle");
    let res = send(category.to_string(), "application/json").await;
    assert_eq!(res.status(), 422);
    let p: Value = res.json().await.unwrap();
    assert_eq!(p["errors"][0]["field"], "project.category");

    let mut office = sample_case();
    office["office"] = json!("123456");
    office["applicant"]["name"] = json!("");
    let res = send(office.to_string(), "application/json").await;
    assert_eq!(res.status(), 422);
    let p: Value = res.json().await.unwrap();
    let fields: Vec<&str> = p["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["office", "applicant.name"]);

    let mut huge = sample_case();
    huge["project"]["name"] = json!("长".repeat(20_000));
    let res = send(huge.to_string(), "application/json").await;
    assert_eq!(res.status(), 413);
    let p: Value = res.json().await.unwrap();
    assert_eq!(p["status"], 413);

    let res = send(sample_case().to_string(), "text/plain").await;
    assert_eq!(res.status(), 415);

    assert_eq!(count_rows(&app.intake_db, "cases").await, 0);
    assert_eq!(count_rows(&app.intake_db, "applicant").await, 0);
    assert_eq!(count_rows(&app.intake_db, "outbox").await, 0);
}

#[tokio::test]
async fn gateway_answers_503_while_nats_is_unreachable() {
    let mut app = TestApp::spawn().await;
    assert_eq!(app.http.get(app.url("/readyz")).send().await.unwrap().status(), 200);
    app.nats.stop();
    let down = eventually(Duration::from_secs(10), || {
        let c = app.client.clone();
        async move { !bangban_platform::bus::is_connected(&c) }
    })
    .await;
    assert!(down);
    let started = std::time::Instant::now();
    let res = app.post_case(&app.staff_token(), &sample_case()).await;
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    assert!(started.elapsed() < Duration::from_secs(2), "a problem, not a hang: {:?}", started.elapsed());
    assert_eq!(app.http.get(app.url("/readyz")).send().await.unwrap().status(), 503);
    assert_eq!(app.http.get(app.url("/healthz")).send().await.unwrap().status(), 200);

    app.nats.restart();
    let up = eventually(Duration::from_secs(15), || {
        let c = app.client.clone();
        async move { bangban_platform::bus::is_connected(&c) }
    })
    .await;
    assert!(up);
    assert_eq!(app.post_case(&app.staff_token(), &sample_case()).await.status(), 201);
}

#[tokio::test]
async fn docs_openapi_health_and_metrics() {
    let app = TestApp::spawn().await;
    let spec: Value = app.http.get(app.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert!(spec["paths"]["/api/v1/cases"]["post"].is_object());
    assert!(spec["components"]["securitySchemes"]["bearer"].is_object());
    let docs = app.http.get(app.url("/docs")).send().await.unwrap().text().await.unwrap();
    assert!(docs.contains("/openapi.json"));
    assert!(!docs.contains("http://") && !docs.contains("https://"), "the docs page loads nothing from outside");
    assert_eq!(app.http.get(app.url("/healthz")).send().await.unwrap().status(), 200);
    let index = app.http.get(app.url("/")).send().await.unwrap().text().await.unwrap();
    assert!(index.contains("帮办代办平台") && index.contains("/docs"));
    let ready: Value = app.http.get(app.url("/readyz")).send().await.unwrap().json().await.unwrap();
    assert_eq!(ready["status"], "ready");
    app.post_case(&app.staff_token(), &sample_case()).await;
    let metrics = app.http.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("bangban_http_requests_total"), "{metrics}");
    let res = app.http.get(app.url("/nowhere")).send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let res = app.http.delete(app.url("/api/v1/cases")).send().await.unwrap();
    assert_eq!(res.status(), 405);
}

#[tokio::test]
async fn personal_data_in_full_is_checked_by_intake_itself_and_never_cached() {
    use bangban_contracts::intake::{Actor, RevealApplicant, RevealedApplicant, ops::ApplicantReveal};
    use bangban_platform::rpc;

    let app = TestApp::spawn().await;
    let mut body = sample_case();
    body["office"] = json!("371625");
    body["applicant"] =
        json!({"kind": "natural_person", "name": "李四", "id_number": "11010519491231002X", "phone": "13905431234"});
    let case: CaseView = app.post_case(&app.token(Role::Assistant, "371625", None), &body).await.json().await.unwrap();

    // Through the gateway, the case's specialist: the data in full, which no cache may keep.
    let specialist = app.token_as(&case.specialist_id, Role::Assistant, "371625");
    let url = app.url(&format!("/api/v1/cases/{}/applicant/reveal", case.id));
    let res =
        app.http.post(&url).bearer_auth(&specialist).json(&json!({"purpose": "代为填报申请表"})).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let full: RevealedApplicant = res.json().await.unwrap();
    assert_eq!(full.id_number.as_deref(), Some("11010519491231002X"));
    assert_eq!(count_rows(&app.intake_db, "pii_audit").await, 1);

    // On the bus, intake decides for itself who may see it: not a colleague, not another county's admin, not a
    // role that never reveals even with the specialist's id. Refused with 403, nothing revealed, nothing logged.
    let reveal = |sub: &str, role: &str, office: &str| {
        let req = RevealApplicant {
            actor: Actor { sub: sub.into(), role: role.into(), office: office.into() },
            case_id: case.id,
            purpose: "核对身份信息".into(),
        };
        let client = app.client.clone();
        async move { rpc::call::<ApplicantReveal>(&client, &req, Duration::from_secs(5)).await }
    };
    for (sub, role, office) in [
        ("staff-371625-assistant-9", "assistant", "371625"),
        ("staff-371681-office_admin-1", "office_admin", "371681"),
        (case.specialist_id.as_str(), "applicant", "371625"),
        (case.specialist_id.as_str(), "supervisor", "371625"),
    ] {
        match reveal(sub, role, office).await {
            Err(rpc::CallError::Problem(p)) => {
                assert_eq!(p.status, 403, "{role} of {office}: {p:?}");
                assert!(p.detail.is_some() && p.detail_en.is_some(), "{p:?}");
            }
            other => panic!("{role} of {office}: {other:?}"),
        }
    }
    assert_eq!(count_rows(&app.intake_db, "pii_audit").await, 1, "refusals are not reveals");
    // The city office's admin may, as the gateway allows.
    assert!(reveal("staff-371600-office_admin-1", "office_admin", "371600").await.is_ok());
    assert_eq!(count_rows(&app.intake_db, "pii_audit").await, 2);
}
