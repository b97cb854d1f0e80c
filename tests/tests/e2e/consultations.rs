//! Needs intake (对接需求, §7.1) end to end: consultations from the window with masked phones and
//! events without personal data, office scoping, the 12345 hotline's signed webhook (good, bad,
//! stale and replayed signatures), and joint meetings (联席会议) of newly settled projects.

use std::{net::SocketAddr, time::Duration};

use bangban_contracts::intake::consultation::{ConsultationPage, ConsultationView, HotlineReceipt};
use bangban_gateway::auth::Role;
use bangban_intake::IntakeService;
use bangban_platform::{health::Readiness, service, webhook};
use serde_json::{Value, json};

use crate::support::*;

/// The secret the signed gateway of these tests shares with the "hotline".
const SECRET: &str = "test-hotline-secret";
const PHONE: &str = "13812341234";
const CALLER_PHONE: &str = "13905431234";

fn window_consultation(office: &str) -> Value {
    json!({
        "office": office,
        "channel": "window",
        "applicant": {"name": "王建国", "organisation": "博兴县某某新材料有限公司", "phone": "+86 138-1234-1234"},
        "project": {"name": "年产5万吨新材料项目", "category": "industrial", "office": office, "newly_settled": true},
        "needs": "希望帮办立项用地规划许可至施工许可阶段审批事项",
        "project_state": "已签订投资协议，正在办理项目备案",
        "materials": ["营业执照", "投资协议"],
        "intent": "assist"
    })
}

fn ticket(ticket_no: &str) -> Value {
    json!({
        "ticket_no": ticket_no,
        "caller_name": "赵六",
        "caller_phone": CALLER_PHONE,
        "caller_organisation": "惠民县某某食品有限公司",
        "area_code": "371621",
        "project_name": "年产2万吨食品加工项目",
        "category": "industrial",
        "newly_settled": true,
        "needs": "新落户企业，咨询从立项到施工许可需要办理哪些审批",
        "received_at": (chrono::Utc::now() - chrono::Duration::minutes(2)).to_rfc3339(),
        "hotline_agent_id": "A-0042"
    })
}

fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

/// A second gateway on the same bus, configured with the hotline's secret (the one `TestApp`
/// starts has none).
async fn signed_gateway(app: &TestApp) -> SocketAddr {
    let mut settings = app.settings.clone();
    settings.hotline.secret = Some(SECRET.to_string().into());
    let readiness = Readiness { nats: app.client.clone(), databases: vec![("intake", app.intake_db.clone())] };
    bangban_gateway::start(&settings, app.client.clone(), readiness, &app.shutdown).await.expect("signed gateway")
}

/// Posts `body` to the hotline hook of `addr`, signed under `secret` at `timestamp`.
async fn post_hook(
    app: &TestApp,
    addr: SocketAddr,
    body: &[u8],
    secret: &str,
    timestamp: u64,
    delivery: Option<&str>,
) -> reqwest::Response {
    let mut req = app
        .http
        .post(format!("http://{addr}/api/v1/hooks/hotline"))
        .header("content-type", "application/json")
        .header("x-bangban-timestamp", timestamp.to_string())
        .header("x-bangban-signature", webhook::sign(secret.as_bytes(), timestamp, body));
    if let Some(d) = delivery {
        req = req.header("x-bangban-delivery", d);
    }
    req.body(body.to_vec()).send().await.expect("request")
}

async fn post_consultation(app: &TestApp, token: &str, body: &Value) -> reqwest::Response {
    app.http.post(app.url("/api/v1/consultations")).bearer_auth(token).json(body).send().await.expect("request")
}

async fn get(app: &TestApp, token: &str, path: &str) -> reqwest::Response {
    app.http.get(app.url(path)).bearer_auth(token).send().await.expect("request")
}

async fn post_json(app: &TestApp, token: &str, path: &str, body: &Value) -> reqwest::Response {
    app.http.post(app.url(path)).bearer_auth(token).json(body).send().await.expect("request")
}

fn fields(problem: &Value) -> Vec<String> {
    problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn a_consultation_from_the_window_is_recorded_masked_and_published_without_personal_data() {
    let app = TestApp::spawn().await;
    let token = app.token(Role::Assistant, "371625", None);
    let res = post_consultation(&app, &token, &window_consultation("371625")).await;
    assert_eq!(res.status(), 201);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    let body = res.text().await.unwrap();
    assert!(!body.contains(PHONE), "the reply masks the phone: {body}");
    let c: ConsultationView = serde_json::from_str(&body).unwrap();
    assert_eq!(location, format!("/api/v1/consultations/{}", c.id));
    assert_eq!(c.applicant.phone.as_deref(), Some("138****1234"));
    assert_eq!(c.applicant.name, "王建国");
    assert_eq!(c.recorded_by, "tester");
    assert_eq!(c.materials, ["营业执照", "投资协议"]);
    assert!(c.joint_meeting.is_none());

    // Read back: the same, masked.
    let again: ConsultationView = get(&app, &token, &location).await.json().await.unwrap();
    assert_eq!(again, c);

    // At rest: ciphertext.
    use sea_orm::{ConnectionTrait, Statement};
    let row = app
        .intake_db
        .query_one_raw(Statement::from_string(
            app.intake_db.get_database_backend(),
            "SELECT phone_enc FROM consultation",
        ))
        .await
        .unwrap()
        .unwrap();
    let enc: String = row.try_get("", "phone_enc").unwrap();
    assert!(enc.starts_with("v1:") && !enc.contains("1234"), "{enc}");

    // On the bus, in the office's subject: the organisation, not the person, and no phone.
    let js = app.js();
    let consumer = consumer(&js, "bb.evt.371625.consultation.recorded").await;
    let msg = next_message(&consumer, Duration::from_secs(10)).await.expect("consultation.recorded");
    let headers = msg.headers.as_ref().unwrap();
    assert_eq!(headers.get("ce-type").unwrap().as_str(), "cn.binzhou.bangban.consultation.recorded.v1");
    assert_eq!(headers.get("ce-subject").unwrap().as_str(), c.id.to_string());
    let payload = String::from_utf8(msg.payload.to_vec()).unwrap();
    for secret in [PHONE, "1234-1234", "138****1234", "王建国", "phone"] {
        assert!(!payload.contains(secret), "{secret} in {payload}");
    }
    let data: Value = serde_json::from_str(&payload).unwrap();
    assert_eq!(data["consultation_id"], c.id.to_string());
    assert_eq!(data["organisation"], "博兴县某某新材料有限公司");
    assert_eq!(data["channel"], "window");
    assert_eq!(data["intent"], "assist");
    assert_eq!(data["project"]["newly_settled"], true);
    // Nor in any span.
    for span in app.spans.get_finished_spans().unwrap() {
        for kv in &span.attributes {
            assert!(!kv.value.as_str().contains(PHONE), "{}: {}", span.name, kv.value.as_str());
        }
    }
}

#[tokio::test]
async fn invalid_consultations_are_refused_field_by_field_and_store_nothing() {
    let app = TestApp::spawn().await;
    let token = app.token(Role::Assistant, "371625", None);
    let mut bad = window_consultation("371625");
    bad["applicant"]["phone"] = json!("0543-1234567");
    bad["project"]["office"] = json!("371681");
    bad["needs"] = json!("  ");
    bad["channel"] = json!("hotline");
    let res = post_consultation(&app, &token, &bad).await;
    assert_eq!(res.status(), 422);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let p: Value = res.json().await.unwrap();
    assert_eq!(fields(&p), ["applicant.phone", "project.office", "needs", "external_id"]);
    assert!(p["errors"][0]["reason"].as_str().unwrap().contains("手机号码"));
    assert!(!p["errors"][0]["reason_en"].as_str().unwrap().is_empty());
    assert!(!p.to_string().contains("1234567"), "the problem does not echo the number");

    let mut wrong_intent = window_consultation("371625");
    wrong_intent["intent"] = json!("maybe");
    let p: Value = post_consultation(&app, &token, &wrong_intent).await.json().await.unwrap();
    assert_eq!(p["status"], 422);
    assert_eq!(fields(&p), ["intent"]);
    assert!(p["errors"][0]["reason_en"].as_str().unwrap().contains("commission"));

    // Another county's office: 403; an applicant may not record at all.
    let res = post_consultation(&app, &token, &window_consultation("371681")).await;
    assert_eq!(res.status(), 403);
    let applicant = app.token(Role::Applicant, "371625", Some("a-1"));
    assert_eq!(post_consultation(&app, &applicant, &window_consultation("371625")).await.status(), 403);
    assert_eq!(count_rows(&app.intake_db, "consultation").await, 0);
    assert_eq!(count_rows(&app.intake_db, "outbox").await, 0);
}

#[tokio::test]
async fn lists_filter_and_stay_within_the_callers_office() {
    let app = TestApp::spawn().await;
    let county = app.token(Role::Assistant, "371625", None);
    let city = app.token(Role::OfficeAdmin, "371600", None);
    let other_county = app.token(Role::Agent, "371681", None);

    let mut platform = window_consultation("371625");
    platform["channel"] = json!("platform");
    platform["intent"] = json!("none");
    let mut commission = window_consultation("371681");
    commission["intent"] = json!("commission");
    let own: ConsultationView =
        post_consultation(&app, &county, &window_consultation("371625")).await.json().await.unwrap();
    assert_eq!(post_consultation(&app, &county, &platform).await.status(), 201);
    let theirs: ConsultationView = post_consultation(&app, &city, &commission).await.json().await.unwrap();

    let list = |token: String, query: &'static str| {
        let app = &app;
        async move {
            let res = get(app, &token, &format!("/api/v1/consultations{query}")).await;
            assert_eq!(res.status(), 200, "{query}");
            res.json::<ConsultationPage>().await.unwrap()
        }
    };
    // A county assistant sees their own office by default; the city office sees every office.
    let page = list(county.clone(), "").await;
    assert_eq!(page.total, 2);
    assert!(page.items.iter().all(|c| c.office == "371625"));
    assert!(page.items.iter().all(|c| c.applicant.phone.as_deref() == Some("138****1234")));
    assert_eq!(list(city.clone(), "").await.total, 3);
    assert_eq!(list(city.clone(), "?office=371681").await.items[0].id, theirs.id);
    // Filters.
    let page = list(county.clone(), "?channel=platform").await;
    assert_eq!((page.total, page.items[0].channel.as_str()), (1, "platform"));
    let page = list(county.clone(), "?intent=assist").await;
    assert_eq!((page.total, page.items[0].id), (1, own.id));
    assert_eq!(list(city.clone(), "?intent=commission&channel=window").await.total, 1);
    // Paging: newest first.
    let page = list(city.clone(), "?limit=1&offset=0").await;
    assert_eq!((page.total, page.items.len(), page.items[0].id), (3, 1, theirs.id));
    assert_eq!(list(city.clone(), "?limit=2&offset=2").await.items.len(), 1);

    // Another county is out of reach: listing it is forbidden, reading one of its consultations 404.
    assert_eq!(get(&app, &county, "/api/v1/consultations?office=371681").await.status(), 403);
    let res = get(&app, &county, &format!("/api/v1/consultations/{}", theirs.id)).await;
    assert_eq!(res.status(), 404);
    let res = get(&app, &other_county, &format!("/api/v1/consultations/{}", own.id)).await;
    assert_eq!(res.status(), 404);
    assert_eq!(get(&app, &other_county, &format!("/api/v1/consultations/{}", theirs.id)).await.status(), 200);
    // Supervisors read; applicants and integrators do not.
    let supervisor = app.token(Role::Supervisor, "371602", None);
    assert_eq!(get(&app, &supervisor, &format!("/api/v1/consultations/{}", own.id)).await.status(), 200);
    let applicant = app.token(Role::Applicant, "371625", Some("a-1"));
    assert_eq!(get(&app, &applicant, "/api/v1/consultations").await.status(), 403);
    assert_eq!(get(&app, &applicant, &format!("/api/v1/consultations/{}", own.id)).await.status(), 403);
    // Bad queries name the parameter.
    let res = get(&app, &county, "/api/v1/consultations?channel=fax").await;
    assert_eq!(res.status(), 400);
    let p: Value = res.json().await.unwrap();
    assert_eq!(fields(&p), ["channel"]);
    let p: Value = get(&app, &city, "/api/v1/consultations?limit=0").await.json().await.unwrap();
    assert_eq!((p["status"].as_u64(), fields(&p)), (Some(400), vec!["limit".to_string()]));
    let p: Value = get(&app, &city, "/api/v1/consultations?office=999999").await.json().await.unwrap();
    assert_eq!(fields(&p), ["office"]);
    assert_eq!(get(&app, &city, "/api/v1/consultations/not-a-uuid").await.status(), 400);
    assert_eq!(get(&app, &city, &format!("/api/v1/consultations/{}", uuid::Uuid::now_v7())).await.status(), 404);
    assert_eq!(app.http.get(app.url("/api/v1/consultations")).send().await.unwrap().status(), 401);
}

#[tokio::test]
async fn the_hotline_webhook_records_a_signed_ticket() {
    let app = TestApp::spawn().await;
    let addr = signed_gateway(&app).await;
    let body = serde_json::to_vec(&ticket("12345-20261128-000042")).unwrap();
    let res = post_hook(&app, addr, &body, SECRET, unix_now(), Some("hl-000042")).await;
    assert_eq!(res.status(), 201);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    let receipt: HotlineReceipt = res.json().await.unwrap();
    assert_eq!(receipt.ticket_no, "12345-20261128-000042");
    assert_eq!(location, format!("/api/v1/consultations/{}", receipt.consultation_id));

    let staff = app.token(Role::Assistant, "371621", None);
    let c: ConsultationView = get(&app, &staff, &location).await.json().await.unwrap();
    assert_eq!(c.office, "371621");
    assert_eq!(c.channel.as_str(), "hotline");
    assert_eq!(c.external_id.as_deref(), Some("12345-20261128-000042"));
    assert_eq!(c.intent.as_str(), "none");
    assert_eq!(c.recorded_by, "hotline-12345");
    assert_eq!(c.applicant.phone.as_deref(), Some("139****1234"));
    assert_eq!(c.project_state, "未说明");
    assert!(c.project.newly_settled);
    assert_eq!(count_rows(&app.intake_db, "webhook_delivery").await, 2, "the signature and the delivery id");

    let js = app.js();
    let consumer = consumer(&js, "bb.evt.371621.consultation.recorded").await;
    let msg = next_message(&consumer, Duration::from_secs(10)).await.expect("consultation.recorded");
    let payload = String::from_utf8(msg.payload.to_vec()).unwrap();
    assert!(!payload.contains(CALLER_PHONE) && !payload.contains("赵六"), "{payload}");
    let data: Value = serde_json::from_str(&payload).unwrap();
    assert_eq!(data["channel"], "hotline");
    assert_eq!(data["external_id"], "12345-20261128-000042");

    // A well-signed ticket with a wrong field is refused by field name.
    let mut wrong = ticket("12345-20261128-000043");
    wrong["caller_phone"] = json!("12345");
    wrong["area_code"] = json!("371699");
    let res = post_hook(&app, addr, &serde_json::to_vec(&wrong).unwrap(), SECRET, unix_now(), None).await;
    assert_eq!(res.status(), 422);
    let p: Value = res.json().await.unwrap();
    assert_eq!(fields(&p), ["area_code", "caller_phone"]);
    let mut missing = ticket("12345-20261128-000044");
    missing.as_object_mut().unwrap().remove("received_at");
    let res = post_hook(&app, addr, &serde_json::to_vec(&missing).unwrap(), SECRET, unix_now(), None).await;
    assert_eq!(res.status(), 422);
    assert_eq!(fields(&res.json().await.unwrap()), ["received_at"]);
    assert_eq!(count_rows(&app.intake_db, "consultation").await, 1);
}

#[tokio::test]
async fn bad_signatures_and_stale_timestamps_are_refused_and_store_nothing() {
    let app = TestApp::spawn().await;
    let addr = signed_gateway(&app).await;
    let body = serde_json::to_vec(&ticket("12345-20261128-000050")).unwrap();

    // Signed under another secret.
    let res = post_hook(&app, addr, &body, "not-the-secret", unix_now(), None).await;
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    assert!(res.headers().get("www-authenticate").is_none(), "no bearer challenge on a signed webhook");
    let p: Value = res.json().await.unwrap();
    assert_eq!(p["detail"], "签名校验失败");

    // Signed correctly, then tampered with.
    let now = unix_now();
    let signature = webhook::sign(SECRET.as_bytes(), now, &body);
    let mut tampered = ticket("12345-20261128-000050");
    tampered["needs"] = json!("被篡改的诉求");
    let res = app
        .http
        .post(format!("http://{addr}/api/v1/hooks/hotline"))
        .header("content-type", "application/json")
        .header("x-bangban-timestamp", now.to_string())
        .header("x-bangban-signature", signature)
        .body(serde_json::to_vec(&tampered).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    // No signature at all, and a bearer token is no substitute.
    let res = app
        .http
        .post(format!("http://{addr}/api/v1/hooks/hotline"))
        .bearer_auth(app.staff_token())
        .header("content-type", "application/json")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    // Correctly signed ten minutes ago: stale.
    let res = post_hook(&app, addr, &body, SECRET, unix_now() - 600, None).await;
    assert_eq!(res.status(), 401);
    let p: Value = res.json().await.unwrap();
    assert!(p["detail"].as_str().unwrap().contains("过期"), "{p}");

    // A signed body that is not JSON is parsed only after the signature, and refused.
    let res = post_hook(&app, addr, b"{\"ticket_no\": ", SECRET, unix_now(), None).await;
    assert_eq!(res.status(), 400);

    for table in ["consultation", "webhook_delivery", "outbox"] {
        assert_eq!(count_rows(&app.intake_db, table).await, 0, "{table}");
    }

    // The gateway TestApp starts has no secret: the hook is not enabled (404), neither open nor "unavailable".
    let res = app
        .http
        .post(app.url("/api/v1/hooks/hotline"))
        .header("content-type", "application/json")
        .header("x-bangban-timestamp", now.to_string())
        .header("x-bangban-signature", webhook::sign(b"", now, &body))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let p: Value = res.json().await.unwrap();
    assert_eq!(p["type"], "/problems/hook-not-enabled", "{p}");
    assert_eq!(count_rows(&app.intake_db, "consultation").await, 0);
}

#[tokio::test]
async fn a_replayed_request_is_refused_and_recorded_once() {
    let app = TestApp::spawn().await;
    let addr = signed_gateway(&app).await;
    let body = serde_json::to_vec(&ticket("12345-20261128-000060")).unwrap();
    let ts = unix_now();
    assert_eq!(post_hook(&app, addr, &body, SECRET, ts, Some("hl-60")).await.status(), 201);

    // The very same signed request again.
    let res = post_hook(&app, addr, &body, SECRET, ts, Some("hl-60")).await;
    assert_eq!(res.status(), 409);
    let p: Value = res.json().await.unwrap();
    assert!(p["detail"].as_str().unwrap().contains("重复投递"), "{p}");
    // The same captured request with a forged, fresh delivery id: the signature still gives it away.
    assert_eq!(post_hook(&app, addr, &body, SECRET, ts, Some("hl-forged")).await.status(), 409);
    // The same delivery re-signed a second earlier: the delivery id gives it away.
    assert_eq!(post_hook(&app, addr, &body, SECRET, ts - 1, Some("hl-60")).await.status(), 409);
    // The same ticket in a new delivery: one consultation per ticket.
    let res = post_hook(&app, addr, &body, SECRET, ts - 2, None).await;
    assert_eq!(res.status(), 409);
    let p: Value = res.json().await.unwrap();
    assert!(p["detail"].as_str().unwrap().contains("12345-20261128-000060"), "{p}");

    // Several copies of one new request at once, to two gateways and two intake replicas: one wins.
    // Intake has no settings of its own (`()`).
    let second_intake = service::start_with_db::<IntakeService>(
        &app.settings,
        (),
        app.client.clone(),
        app.intake_db.clone(),
        &app.shutdown,
    )
    .await
    .expect("second intake");
    let other_gateway = signed_gateway(&app).await;
    let body = serde_json::to_vec(&ticket("12345-20261128-000061")).unwrap();
    let ts = unix_now();
    let mut sends = Vec::new();
    for i in 0..6 {
        let target = if i % 2 == 0 { addr } else { other_gateway };
        sends.push(post_hook(&app, target, &body, SECRET, ts, None));
    }
    let mut statuses: Vec<u16> = futures::future::join_all(sends).await.iter().map(|r| r.status().as_u16()).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 409, 409, 409, 409, 409]);
    drop(second_intake);

    assert_eq!(count_rows(&app.intake_db, "consultation").await, 2);
    let js = app.js();
    let consumer = consumer(&js, "bb.evt.*.consultation.recorded").await;
    let mut events = 0;
    while next_message(&consumer, Duration::from_secs(3)).await.is_some() {
        events += 1;
    }
    assert_eq!(events, 2, "one event per recorded consultation");
}

#[tokio::test]
async fn a_newly_settled_project_gets_a_joint_meeting_and_its_minutes() {
    let app = TestApp::spawn().await;
    let token = app.token(Role::Assistant, "371625", None);
    let c: ConsultationView =
        post_consultation(&app, &token, &window_consultation("371625")).await.json().await.unwrap();
    let meeting_path = format!("/api/v1/consultations/{}/joint-meeting", c.id);
    let at = chrono::Utc::now() + chrono::Duration::days(2);
    let meeting = json!({
        "scheduled_at": at.to_rfc3339(),
        "place": "博兴县政务服务中心三楼会议室",
        "attendees": [
            {"unit": "博兴县行政审批服务局", "name": "李科长", "position": "科长"},
            {"unit": "博兴县自然资源和规划局"},
            {"unit": "博兴县行政审批服务局", "name": "周干事"}
        ]
    });
    let res = post_json(&app, &token, &meeting_path, &meeting).await;
    assert_eq!(res.status(), 201);
    let scheduled: ConsultationView = res.json().await.unwrap();
    let m = scheduled.joint_meeting.as_ref().expect("meeting");
    assert_eq!(serde_json::to_value(m.status).unwrap(), "scheduled");
    assert_eq!(m.attendees.len(), 3);
    assert!(m.minutes.is_none());
    // Once only.
    assert_eq!(post_json(&app, &token, &meeting_path, &meeting).await.status(), 409);

    let day = (at + chrono::Duration::hours(8)).date_naive();
    let minutes = json!({
        "decisions": ["同意将该项目纳入重点项目帮办范围"],
        "follow_ups": [
            {"task": "出具项目用地规划条件", "owner_unit": "博兴县自然资源和规划局", "owner": "张工",
             "due_on": (day + chrono::Days::new(7)).to_string()}
        ]
    });
    let minutes_path = format!("{meeting_path}/minutes");
    let mut early = minutes.clone();
    early["follow_ups"][0]["due_on"] = json!((day - chrono::Days::new(1)).to_string());
    let p: Value = post_json(&app, &token, &minutes_path, &early).await.json().await.unwrap();
    assert_eq!((p["status"].as_u64(), fields(&p)), (Some(422), vec!["follow_ups[0].due_on".to_string()]));

    let res = post_json(&app, &token, &minutes_path, &minutes).await;
    assert_eq!(res.status(), 201);
    let recorded: ConsultationView = res.json().await.unwrap();
    let m = recorded.joint_meeting.as_ref().unwrap();
    assert_eq!(serde_json::to_value(m.status).unwrap(), "recorded");
    assert_eq!(m.minutes.as_ref().unwrap().follow_ups[0].owner.as_deref(), Some("张工"));
    assert_eq!(m.minutes_recorded_by.as_deref(), Some("tester"));
    assert_eq!(post_json(&app, &token, &minutes_path, &minutes).await.status(), 409);
    let read: ConsultationView =
        get(&app, &token, &format!("/api/v1/consultations/{}", c.id)).await.json().await.unwrap();
    assert_eq!(read, recorded);

    // Both facts on the bus, with units and dates but no people.
    let js = app.js();
    let consumer = consumer(&js, "bb.evt.371625.joint_meeting.>").await;
    let first = next_message(&consumer, Duration::from_secs(10)).await.expect("joint_meeting.scheduled");
    let second = next_message(&consumer, Duration::from_secs(10)).await.expect("joint_meeting.recorded");
    assert_eq!(first.subject.as_str(), "bb.evt.371625.joint_meeting.scheduled");
    assert_eq!(second.subject.as_str(), "bb.evt.371625.joint_meeting.recorded");
    let scheduled_data: Value = serde_json::from_slice(&first.payload).unwrap();
    assert_eq!(scheduled_data["units"], json!(["博兴县行政审批服务局", "博兴县自然资源和规划局"]));
    let recorded_data: Value = serde_json::from_slice(&second.payload).unwrap();
    assert_eq!(recorded_data["decision_count"], 1);
    assert_eq!(recorded_data["follow_ups"][0]["owner_unit"], "博兴县自然资源和规划局");
    for msg in [&first, &second] {
        let payload = String::from_utf8(msg.payload.to_vec()).unwrap();
        for person in ["李科长", "周干事", "张工", "王建国"] {
            assert!(!payload.contains(person), "{person} in {payload}");
        }
    }
}

#[tokio::test]
async fn a_joint_meeting_needs_a_newly_settled_project_in_reach() {
    let app = TestApp::spawn().await;
    let token = app.token(Role::Assistant, "371625", None);
    let mut settled_long_ago = window_consultation("371625");
    settled_long_ago["project"]["newly_settled"] = json!(false);
    let c: ConsultationView = post_consultation(&app, &token, &settled_long_ago).await.json().await.unwrap();
    let meeting_path = format!("/api/v1/consultations/{}/joint-meeting", c.id);
    let meeting = json!({
        "scheduled_at": (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339(),
        "place": "会议室",
        "attendees": [{"unit": "博兴县住房和城乡建设局"}]
    });
    let res = post_json(&app, &token, &meeting_path, &meeting).await;
    assert_eq!(res.status(), 409);
    let p: Value = res.json().await.unwrap();
    assert!(p["detail"].as_str().unwrap().contains("新落户"), "{p}");
    let minutes = json!({"decisions": ["同意"]});
    assert_eq!(post_json(&app, &token, &format!("{meeting_path}/minutes"), &minutes).await.status(), 409);

    // A newly settled project: not for another county, not for a supervisor, not in the past.
    let newly: ConsultationView =
        post_consultation(&app, &token, &window_consultation("371625")).await.json().await.unwrap();
    let path = format!("/api/v1/consultations/{}/joint-meeting", newly.id);
    let other = app.token(Role::Assistant, "371681", None);
    assert_eq!(post_json(&app, &other, &path, &meeting).await.status(), 404);
    let supervisor = app.token(Role::Supervisor, "371600", None);
    assert_eq!(post_json(&app, &supervisor, &path, &meeting).await.status(), 403);
    let mut past = meeting.clone();
    past["scheduled_at"] = json!((chrono::Utc::now() - chrono::Duration::days(1)).to_rfc3339());
    past["attendees"] = json!([]);
    let p: Value = post_json(&app, &token, &path, &past).await.json().await.unwrap();
    assert_eq!(fields(&p), ["scheduled_at", "attendees"]);
    let mut unknown = meeting.clone();
    unknown["agenda"] = json!("x");
    let p: Value = post_json(&app, &token, &path, &unknown).await.json().await.unwrap();
    assert_eq!(fields(&p), ["agenda"]);
    // The city office reaches every county.
    let city = app.token(Role::OfficeAdmin, "371600", None);
    assert_eq!(post_json(&app, &city, &path, &meeting).await.status(), 201);
    assert_eq!(count_rows(&app.intake_db, "joint_meeting").await, 1);
}
