//! The personal-data sweep (个人信息泄露检查): after a whole case flow — a consultation at the window, the
//! applicant and the project registered (and a second case for the same person given inline), the providers'
//! delivery receipts, the case's plan published, its items worked and concluded at the units, the results
//! delivered, both items rated (signed in and by the SMS link), the ledger and the console pages read, reveals
//! refused, and the applicant's data revealed once, audited — neither the applicant's raw resident ID number
//! (居民身份证号码) nor their raw mobile number (手机号码), nor an obvious variant of either (spaced, hyphenated,
//! lower case, the digits a mask hides, base64), is in anything the platform wrote or answered: the HTTP answers
//! (bodies and headers; the reveal's own body is the one place they belong), the live streams of a supervisor,
//! the county's staff and the applicant, every message of every JetStream stream (listed through the JetStream
//! API), every exported span (attributes, events, status), the log lines, and what lies at rest (the SQLite
//! files, the JetStream store, nats-server's log). The SMS gateway is given the mobile number as the recipient
//! (the one place it must leave); the texts themselves hold neither number. The reveal is in the gateway's audit
//! log and in intake's reveal log, without the values.
//!
//! Masked forms (`159****6072`, `3705**********562X`) are what the platform shows, and are fine.

use std::{
    path::Path,
    sync::{Arc, Mutex},
    time::Duration,
};

use bangban_gateway::auth::Role;
use base64::{
    Engine,
    engine::general_purpose::{STANDARD, URL_SAFE},
};
use futures::TryStreamExt;
use reqwest::{Method, header};
use serde_json::{Value, json};

use crate::support::*;

/// 博兴县: the accepting office, where the project lies.
const COUNTY: &str = "371625";
/// The city office (a city supervisor reads every office's audit records).
const CITY: &str = "371600";
/// How long the platform may take to react (consumers, the SMS sender, the outbox relays).
const REACT: Duration = Duration::from_secs(30);
/// The applicant's mobile number: valid, and used nowhere else in the repository.
const PHONE: &str = "15953846072";
/// The 17 body digits of the applicant's resident ID number (东营市广饶县, born 1983-04-17, order 562); the
/// check character is computed ([`resident_id`]). Used nowhere else in the repository.
const ID_BODY: &str = "37052319830417562";
/// The applicant's name.
const NAME: &str = "孟庆瑜";

/// The resident ID number of [`ID_BODY`]: its ISO 7064 MOD 11-2 check character appended (GB 11643-1999).
fn resident_id() -> String {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];
    let sum: u32 = ID_BODY.bytes().zip(WEIGHTS).map(|(b, w)| u32::from(b - b'0') * w).sum();
    format!("{ID_BODY}{}", CHECK[(sum % 11) as usize])
}

// ---------------------------------------------------------------------------------------------------------
// What the test was answered
// ---------------------------------------------------------------------------------------------------------

/// One HTTP answer, as read.
struct Answer {
    what: String,
    status: u16,
    headers: header::HeaderMap,
    body: String,
}

impl Answer {
    /// The body as `T`, after checking the status.
    fn json<T: serde::de::DeserializeOwned>(&self, status: u16) -> T {
        assert_eq!(self.status, status, "{}: {}", self.what, self.body);
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{}: {e}: {}", self.what, self.body))
    }

    fn expect(&self, status: u16) -> &Self {
        assert_eq!(self.status, status, "{}: {}", self.what, self.body);
        self
    }
}

/// Every HTTP call of the test, and every answer recorded for the sweep.
struct Client<'a> {
    app: &'a TestApp,
    /// Does not follow redirects: the console's answers are seen as sent.
    http: reqwest::Client,
    /// (where, text): each answer's status line and headers, and its body.
    seen: Mutex<Vec<(String, String)>>,
}

impl<'a> Client<'a> {
    fn new(app: &'a TestApp) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(20))
            .build()
            .expect("client");
        Client { app, http, seen: Mutex::default() }
    }

    /// Sends and records the answer, its body included unless `keep_body` is false (the reveal's).
    async fn send_request(&self, what: String, req: reqwest::RequestBuilder, keep_body: bool) -> Answer {
        let res = req.send().await.unwrap_or_else(|e| panic!("{what}: {e}"));
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let body = res.text().await.unwrap_or_else(|e| panic!("{what}: body: {e}"));
        let mut head = format!("{what} → {status}\n");
        for (name, value) in &headers {
            head.push_str(&format!("{name}: {}\n", String::from_utf8_lossy(value.as_bytes())));
        }
        let mut seen = self.seen.lock().unwrap();
        seen.push((format!("answer headers of {what}"), head));
        if keep_body {
            seen.push((format!("answer body of {what}"), body.clone()));
        }
        Answer { what, status, headers, body }
    }

    async fn call(&self, method: Method, token: Option<&str>, path: &str, body: Option<&Value>) -> Answer {
        let mut req = self.http.request(method.clone(), self.app.url(path));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        self.send_request(format!("{method} {path}"), req, true).await
    }

    async fn get(&self, token: &str, path: &str) -> Answer {
        self.call(Method::GET, Some(token), path, None).await
    }

    async fn post(&self, token: &str, path: &str, body: &Value) -> Answer {
        self.call(Method::POST, Some(token), path, Some(body)).await
    }

    /// A console page, with a session cookie.
    async fn page(&self, cookie: &str, path: &str) -> Answer {
        let req = self.http.get(self.app.url(path)).header(header::COOKIE, cookie);
        self.send_request(format!("console GET {path}"), req, true).await
    }

    /// Signs in through the demo login; returns the session cookie (`bb_session=…`).
    async fn sign_in(&self, fields: &[(&str, &str)]) -> String {
        let req = self.http.post(self.app.url("/auth/dev-login")).form(fields);
        let res = self.send_request(format!("POST /auth/dev-login as {fields:?}"), req, true).await;
        assert_eq!(res.status, 303, "{}: {}", res.what, res.body);
        let raw = res.headers[header::SET_COOKIE].to_str().expect("cookie").to_string();
        raw.split(';').next().expect("name=value").to_string()
    }
}

/// A live stream (`GET /api/v1/stream`) read in the background until the platform stops: everything it sent.
async fn follow(app: &TestApp, token: &str) -> Arc<Mutex<Vec<u8>>> {
    // No overall timeout: a stream lasts.
    let http = reqwest::Client::builder().connect_timeout(Duration::from_secs(5)).build().expect("client");
    let mut res = http.get(app.url("/api/v1/stream")).bearer_auth(token).send().await.expect("the live stream");
    assert_eq!(res.status(), 200, "the live stream");
    let seen: Arc<Mutex<Vec<u8>>> = Arc::default();
    let into = seen.clone();
    tokio::spawn(async move {
        while let Ok(Some(chunk)) = res.chunk().await {
            into.lock().unwrap().extend_from_slice(&chunk);
        }
    });
    seen
}

// ---------------------------------------------------------------------------------------------------------
// The case flow
// ---------------------------------------------------------------------------------------------------------

/// Waits for the draft planning generates, publishes it as the specialist, and returns the tasks once every item
/// is one.
async fn publish_and_route(c: &Client<'_>, specialist: &str, case_id: &str) -> Vec<Value> {
    let plan_url = format!("/api/v1/cases/{case_id}/plan");
    let drafted = eventually(REACT, || async { c.get(specialist, &plan_url).await.status == 200 }).await;
    assert!(drafted, "no plan for case {case_id} after {REACT:?}");
    let plan: Value =
        c.post(specialist, &format!("{plan_url}/publish"), &json!({"note": "方案已与服务对象确认"})).await.json(200);
    let items = plan["items"].as_array().map_or(0, Vec::len);
    assert!(items > 0, "a plan with items: {plan}");
    let tasks_url = format!("/api/v1/cases/{case_id}/tasks");
    let routed =
        eventually(REACT, || async { c.get(specialist, &tasks_url).await.json::<Vec<Value>>(200).len() == items })
            .await;
    assert!(routed, "{items} tasks for case {case_id} after {REACT:?}");
    c.get(specialist, &tasks_url).await.json(200)
}

/// Takes a task step that must succeed.
async fn step(c: &Client<'_>, token: &str, task: &Value, body: Value) -> Value {
    c.post(token, &format!("/api/v1/tasks/{}/transitions", str_of(&task["id"])), &body).await.json(200)
}

fn str_of(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("a string: {v}"))
}

/// The invitation SMS sent so far, once there are `n`.
async fn invitations_texted(app: &TestApp, n: usize) -> Vec<SmsCall> {
    let deadline = tokio::time::Instant::now() + REACT;
    loop {
        let sent: Vec<SmsCall> =
            app.sms().sent().into_iter().filter(|c| c.body["template"] == "evaluation_invitation").collect();
        if sent.len() >= n {
            return sent;
        }
        assert!(tokio::time::Instant::now() < deadline, "{n} invitation SMS: {:?}", app.sms().calls());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The one-time code of an invitation's link (`…/e/<code>`).
fn code_of(sms: &SmsCall) -> String {
    let link = str_of(&sms.body["params"]["link"]);
    link.rsplit_once("/e/").unwrap_or_else(|| panic!("a link: {link}")).1.to_string()
}

// ---------------------------------------------------------------------------------------------------------
// The sweep
// ---------------------------------------------------------------------------------------------------------

/// A form of a personal value that must not appear.
struct Needle {
    what: String,
    text: String,
    /// Only a match not inside a longer run of digits counts (a short digit string may occur by chance inside
    /// a long number: a timestamp, a sequence).
    digit_bounded: bool,
}

fn needle(what: impl Into<String>, text: impl Into<String>) -> Needle {
    Needle { what: what.into(), text: text.into(), digit_bounded: false }
}

/// The part of the base64 encoding of `value` that does not depend on what surrounds it, for each of the three
/// alignments `value` may have in a longer encoded text.
fn base64_cores(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    for k in 0..3usize {
        let mut bytes = vec![b'#'; k];
        bytes.extend_from_slice(value.as_bytes());
        // Groups of three bytes wholly inside `value`: from group ceil(k/3) to the last complete one.
        let first = k.div_ceil(3);
        let last = (k + value.len()) / 3;
        if last <= first {
            continue;
        }
        for engine in [&STANDARD, &URL_SAFE] {
            let encoded = engine.encode(&bytes);
            out.push(encoded[first * 4..last * 4].to_string());
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The ID number, the mobile number and their obvious variants.
fn needles(id: &str, phone: &str) -> Vec<Needle> {
    let mut out = vec![
        needle("the ID number", id),
        needle("the ID number, lower case", id.to_lowercase()),
        // 6-8-4, as people group it.
        needle("the ID number spaced", format!("{} {} {}", &id[..6], &id[6..14], &id[14..])),
        needle("the ID number hyphenated", format!("{}-{}-{}", &id[..6], &id[6..14], &id[14..])),
        // Birth date and order code: what the mask hides.
        needle("the ID number's birth date and order code", &id[6..17]),
        needle("the mobile number", phone),
        needle("the mobile number spaced", format!("{} {} {}", &phone[..3], &phone[3..7], &phone[7..])),
        needle("the mobile number hyphenated", format!("{}-{}-{}", &phone[..3], &phone[3..7], &phone[7..])),
        // The digits the mask hides, with the last four it shows.
        Needle { what: "the mobile number's last 8 digits".into(), text: phone[3..].into(), digit_bounded: true },
    ];
    for (what, value) in [("the ID number", id), ("the mobile number", phone)] {
        for core in base64_cores(value) {
            out.push(needle(format!("{what} in base64"), core));
        }
    }
    out
}

/// Where `needle` is in `text`: up to three places, each with some context.
fn find(text: &str, needle: &Needle) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    for (at, _) in text.match_indices(needle.text.as_str()) {
        let end = at + needle.text.len();
        if needle.digit_bounded
            && (bytes.get(at.wrapping_sub(1)).is_some_and(u8::is_ascii_digit)
                || bytes.get(end).is_some_and(u8::is_ascii_digit))
        {
            continue;
        }
        let mut from = at.saturating_sub(120);
        while !text.is_char_boundary(from) {
            from -= 1;
        }
        let mut to = (end + 120).min(text.len());
        while !text.is_char_boundary(to) {
            to += 1;
        }
        found.push(text[from..to].to_string());
        if found.len() == 3 {
            break;
        }
    }
    found
}

/// Every leak of any needle in the corpus: "<needle> in <where>: …<context>…".
fn leaks(corpus: &[(String, String)], needles: &[Needle]) -> Vec<String> {
    let mut out = Vec::new();
    for (place, text) in corpus {
        for n in needles {
            for context in find(text, n) {
                out.push(format!("{} ({}) in {place}: …{context}…", n.what, n.text));
            }
        }
    }
    out
}

/// Every message of every JetStream stream (the streams listed through the JetStream API): subject, headers and
/// payload, by stream and sequence.
async fn stored_messages(app: &TestApp) -> Vec<(String, String)> {
    let js = app.js();
    let names: Vec<String> = js.stream_names().try_collect().await.expect("stream names");
    let mut out = Vec::new();
    for name in names {
        let mut stream = js.get_stream(&name).await.expect("stream");
        let state = stream.info().await.expect("stream info").state.clone();
        if state.messages == 0 {
            continue;
        }
        for seq in state.first_sequence..=state.last_sequence {
            let Ok(m) = stream.get_raw_message(seq).await else { continue };
            let mut text = format!("{}\n", m.subject);
            for (k, values) in m.headers.iter() {
                for v in values {
                    text.push_str(&format!("{k}: {}\n", v.as_str()));
                }
            }
            text.push_str(&String::from_utf8_lossy(&m.payload));
            out.push((format!("stream {name} #{seq}"), text));
        }
    }
    out
}

/// The number of messages in every stream, by name.
async fn stream_counts(app: &TestApp) -> Vec<(String, u64)> {
    let js = app.js();
    let names: Vec<String> = js.stream_names().try_collect().await.expect("stream names");
    let mut out = Vec::new();
    for name in names {
        let mut stream = js.get_stream(&name).await.expect("stream");
        out.push((name, stream.info().await.expect("info").state.messages));
    }
    out.sort();
    out
}

/// Every file under `dir`, as (path, text with invalid UTF-8 replaced).
fn files_under(dir: &Path, out: &mut Vec<(String, String)>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, out);
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.push((format!("file {}", path.display()), String::from_utf8_lossy(&bytes).into_owned()));
        }
    }
}

#[tokio::test]
async fn after_a_whole_case_flow_no_raw_id_or_mobile_number_is_anywhere_but_the_audited_reveal() {
    let app = TestApp::spawn_with_evaluation().await;
    let id = resident_id();
    assert_eq!(id.len(), 18);
    let c = Client::new(&app);
    let staff = app.token(Role::Assistant, COUNTY, None);
    // Live streams of what a city supervisor and the county's staff may see, read throughout.
    let supervisor = app.token(Role::Supervisor, CITY, None);
    let mut live = vec![
        ("a city supervisor", follow(&app, &supervisor).await),
        ("the county's staff", follow(&app, &staff).await),
    ];

    // A consultation at the window, the mobile number as people write it.
    let consultation = json!({
        "office": COUNTY, "channel": "window",
        "applicant": {"name": NAME, "phone": format!("+86 {}-{}-{}", &PHONE[..3], &PHONE[3..7], &PHONE[7..])},
        "project": {"name": "博兴县新型建材产业园项目", "category": "industrial", "office": COUNTY, "newly_settled": true},
        "needs": "希望帮办立项用地规划许可至施工许可阶段审批事项",
        "project_state": "已签订投资协议", "materials": ["投资协议"], "intent": "assist"
    });
    let recorded: Value = c.post(&staff, "/api/v1/consultations", &consultation).await.json(201);
    c.get(&staff, &format!("/api/v1/consultations/{}", str_of(&recorded["id"]))).await.expect(200);
    c.get(&staff, "/api/v1/consultations").await.expect(200);

    // The applicant registered (again: found by the blind index), and a wrong registration refused without the
    // values echoed: a wrong check character, a mobile number with a digit too many.
    let person = json!({"kind": "natural_person", "name": NAME, "id_number": id, "phone": PHONE});
    let applicant: Value = c.post(&staff, "/api/v1/applicants", &person).await.json(201);
    let again: Value = c.post(&staff, "/api/v1/applicants", &person).await.json(200);
    assert_eq!(again["id"], applicant["id"], "the same person is found again");
    let wrong_check = if id.ends_with('0') { "1" } else { "0" };
    let wrong = json!({"kind": "natural_person", "name": NAME, "id_number": format!("{ID_BODY}{wrong_check}"),
        "phone": format!("{PHONE}9")});
    c.post(&staff, "/api/v1/applicants", &wrong).await.expect(422);
    let bad_phone = json!({"kind": "natural_person", "name": NAME, "id_number": id, "phone": format!("{PHONE}9")});
    c.post(&staff, "/api/v1/applicants", &bad_phone).await.expect(422);
    let applicant_id = str_of(&applicant["id"]).to_string();
    let applicant_token = app.token(Role::Applicant, COUNTY, Some(&applicant_id));
    live.push(("the applicant", follow(&app, &applicant_token).await));
    let masked_phone = format!("{}****{}", &PHONE[..3], &PHONE[7..]);
    assert_eq!(applicant["phone"], masked_phone.as_str(), "{applicant}");

    // The project, the case: accepted, assigned, and the applicant texted.
    let project = json!({"name": "博兴县新型建材产业园项目", "category": "industrial", "office": COUNTY});
    let project: Value = c.post(&staff, "/api/v1/projects", &project).await.json(201);
    let body =
        json!({"service_type": "assist", "office": COUNTY, "applicant_id": applicant_id, "project_id": project["id"]});
    let case: Value = c.post(&staff, "/api/v1/cases", &body).await.json(201);
    let case_id = str_of(&case["id"]).to_string();
    let specialist_id = str_of(&case["specialist_id"]).to_string();
    let specialist = app.token_as(&specialist_id, Role::Assistant, COUNTY);
    // A second case for the same person, given inline as people type it: the ID number's check character in
    // lower case, the mobile number spaced after +86 — the same applicant, found by the blind index.
    let inline = json!({"service_type": "assist", "office": COUNTY, "project_id": project["id"], "applicant": {
        "kind": "natural_person", "name": NAME, "id_number": id.to_lowercase(),
        "phone": format!("+86 {} {} {}", &PHONE[..3], &PHONE[3..7], &PHONE[7..])}});
    let second: Value = c.post(&staff, "/api/v1/cases", &inline).await.json(201);
    assert_eq!(second["applicant"]["id"], applicant["id"], "{second}");
    let texted = eventually(REACT, || async { !app.sms().sent().is_empty() }).await;
    assert!(texted, "the acceptance SMS: {:?}", app.sms().calls());
    // The providers' delivery receipts name the recipient: Aliyun's by our message id, Tencent's by theirs, one
    // with a wrong token.
    let message_id = app.sms().sent()[0].key.clone();
    let aliyun = json!([{
        "phone_number": PHONE, "send_time": "2026-03-13 10:00:01", "report_time": "2026-03-13 10:00:05",
        "success": true, "err_code": "DELIVERED", "err_msg": "用户接收成功", "sms_size": "1",
        "biz_id": "932702304080415357^0", "out_id": message_id
    }]);
    let tencent = json!([{
        "user_receive_time": "2026-03-13 10:00:05", "nationcode": "86", "mobile": PHONE, "report_status": "SUCCESS",
        "errmsg": "DELIVRD", "description": "用户短信送达成功", "sid": "2019:538884*********"
    }]);
    for (provider, body, token, status) in [
        ("aliyun", &aliyun, SMS_RECEIPT_TOKEN, 200),
        ("tencent", &tencent, SMS_RECEIPT_TOKEN, 200),
        ("aliyun", &aliyun, "not-the-token", 401),
    ] {
        let path = format!("/api/v1/hooks/sms/{provider}?token={token}");
        let req = c.http.post(app.url(&path)).header(header::CONTENT_TYPE, "application/json").body(body.to_string());
        c.send_request(format!("POST {path}"), req, true).await.expect(status);
    }

    // The plan published, the items routed; one approved and collected, another refused.
    let tasks = publish_and_route(&c, &specialist, &case_id).await;
    let at_county: Vec<&Value> =
        tasks.iter().filter(|t| t["status"] == "dispatched" && t["unit_office"] == COUNTY).collect();
    assert!(at_county.len() >= 2, "two items at county units: {tasks:?}");
    let (good, bad) = (at_county[0], at_county[1]);
    let officer = app.officer_token(str_of(&good["unit_code"]), str_of(&good["unit_office"]));
    step(&c, &officer, good, json!({"action": "receive"})).await;
    step(&c, &officer, good, json!({"action": "start_review"})).await;
    let approval = json!({"action": "approve", "note": "准予许可",
        "document": {"kind": "建设工程规划许可证", "number": "建字第371625202600777号", "issued_on": chrono::Utc::now().date_naive()}});
    step(&c, &officer, good, approval).await;
    step(&c, &specialist, good, json!({"action": "collect_result", "by": "assistant"})).await;
    let officer_bad = app.officer_token(str_of(&bad["unit_code"]), str_of(&bad["unit_office"]));
    step(&c, &officer_bad, bad, json!({"action": "receive"})).await;
    step(&c, &officer_bad, bad, json!({"action": "start_review"})).await;
    let refusal = json!({"action": "reject", "reason": "项目选址不符合国土空间规划", "legal_basis": "《中华人民共和国城乡规划法》第四十条"});
    step(&c, &officer_bad, bad, refusal).await;

    // The results delivered to the applicant.
    let delivery = json!({"deliveries": [{
        "document": {"kind": "建设工程规划许可证", "number": "建字第371625202600777号", "issued_by": "博兴县自然资源和规划局",
            "issued_on": chrono::Utc::now().date_naive()},
        "delivery": {"method": "assistant_collection", "collected_by": NAME, "collected_on": chrono::Utc::now().date_naive()}
    }]});
    c.post(&specialist, &format!("/api/v1/cases/{case_id}/results"), &delivery).await.expect(201);

    // Both items rated: one signed in, one through the SMS link without a token.
    let sms = invitations_texted(&app, 2).await;
    let rating = json!({"level": 5, "comment": "办理很快"});
    c.post(&applicant_token, &format!("/api/v1/tasks/{}/evaluation", str_of(&good["id"])), &rating).await.expect(201);
    let mut by_link = 0;
    for sms in &sms {
        let code = code_of(sms);
        c.call(Method::GET, None, &format!("/api/v1/evaluations/invitations/{code}"), None).await.expect(200);
        let body = json!({"code": code, "level": 2, "comment": "来回跑了两次"});
        let res = c.call(Method::POST, None, "/api/v1/evaluations/by-code", Some(&body)).await;
        assert!(res.status == 201 || res.status == 409, "{}: {}", res.what, res.body);
        by_link += usize::from(res.status == 201);
    }
    assert_eq!(by_link, 1, "the item not rated signed in is rated by its link");

    // Everything people read about the case, through the API and the console.
    let admin = app.token(Role::OfficeAdmin, COUNTY, None);
    for (token, path) in [
        (&staff, format!("/api/v1/cases/{case_id}")),
        (&staff, format!("/api/v1/cases?q={}", NAME)),
        (&admin, "/api/v1/cases".to_string()),
        (&staff, "/api/v1/applicants".to_string()),
        (&staff, format!("/api/v1/applicants?q={}", NAME)),
        (&staff, "/api/v1/projects".to_string()),
        (&specialist, format!("/api/v1/cases/{case_id}/plan")),
        (&specialist, format!("/api/v1/cases/{case_id}/tasks")),
        (&specialist, format!("/api/v1/cases/{case_id}/dossier")),
        (&specialist, format!("/api/v1/cases/{case_id}/results")),
        (&specialist, format!("/api/v1/cases/{case_id}/clocks")),
        (&specialist, format!("/api/v1/cases/{case_id}/invitations")),
        (&officer, format!("/api/v1/tasks/{}", str_of(&good["id"]))),
        (&officer, "/api/v1/tasks".to_string()),
        (&staff, "/api/v1/messages".to_string()),
        (&admin, "/api/v1/evaluations".to_string()),
        (&applicant_token, "/api/v1/me".to_string()),
        (&applicant_token, format!("/api/v1/cases/{case_id}")),
        (&applicant_token, "/api/v1/cases".to_string()),
        (&applicant_token, "/api/v1/inbox".to_string()),
        (&applicant_token, "/api/v1/evaluations".to_string()),
    ] {
        c.get(token, &path).await;
    }
    // The SMS log, once it has both kinds of text.
    let logged = eventually(REACT, || async {
        let page: Value = c.get(&staff, "/api/v1/messages").await.json(200);
        page["items"].as_array().is_some_and(|items| items.len() >= 3)
    })
    .await;
    assert!(logged, "the SMS log holds the acceptance and the invitations");
    let window = c
        .sign_in(&[("sub", specialist_id.as_str()), ("role", "assistant"), ("office", COUNTY), ("return", "/console")])
        .await;
    let case_page = format!("/console/cases/{case_id}");
    for path in ["/console", "/console/cases", case_page.as_str(), "/console/tasks"] {
        c.page(&window, path).await;
    }
    let own = c
        .sign_in(&[
            ("sub", format!("applicant-{applicant_id}").as_str()),
            ("role", "applicant"),
            ("office", COUNTY),
            ("applicant", applicant_id.as_str()),
        ])
        .await;
    for path in ["/console", case_page.as_str()] {
        c.page(&own, path).await;
    }

    // Reveals refused: a colleague who is not the specialist, the applicant, no purpose.
    let reveal_path = format!("/api/v1/cases/{case_id}/applicant/reveal");
    let purpose = json!({"purpose": "代为填报建设工程规划许可申请"});
    let colleague = app.token_as("staff-371625-assistant-9", Role::Assistant, COUNTY);
    c.post(&colleague, &reveal_path, &purpose).await.expect(403);
    c.post(&applicant_token, &reveal_path, &purpose).await.expect(403);
    c.post(&specialist, &reveal_path, &json!({"purpose": ""})).await.expect(422);

    // The reveal, once, by the specialist: the values in full — in this body only, which is not swept.
    let req = c.http.post(app.url(&reveal_path)).bearer_auth(&specialist).json(&purpose);
    let revealed = c.send_request(format!("POST {reveal_path}"), req, false).await;
    let full: Value = revealed.json(200);
    assert_eq!((full["id_number"].as_str(), full["phone"].as_str()), (Some(id.as_str()), Some(PHONE)));
    let audit_id = str_of(&full["audit_id"]).to_string();

    // The reveal is an audit record of the gateway's log and a row of intake's, neither with the values.
    let reveal_route = "/api/v1/cases/{id}/applicant/reveal";
    let audited = eventually(REACT, || async {
        let page: Value = c.get(&supervisor, "/api/v1/audit?limit=500").await.json(200);
        page["items"].as_array().is_some_and(|items| {
            items.iter().any(|r| r["route"] == reveal_route && r["status"] == 200 && r["actor"]["sub"] == specialist_id)
        })
    })
    .await;
    assert!(audited, "the reveal in the audit log (GET /api/v1/audit)");
    assert_eq!(count_rows(&app.intake_db, "pii_audit").await, 1, "one reveal, one row of intake's reveal log");
    let row = {
        use sea_orm::{ConnectionTrait, Statement};
        let db = &app.intake_db;
        db.query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT id, case_id, actor_sub, purpose, fields FROM pii_audit",
        ))
        .await
        .expect("pii_audit")
        .expect("a row")
    };
    let (audit_row, fields): (String, String) = (row.try_get("", "id").unwrap(), row.try_get("", "fields").unwrap());
    assert_eq!((audit_row.as_str(), fields.as_str()), (audit_id.as_str(), "id_number,phone"));
    let actor: String = row.try_get("", "actor_sub").unwrap();
    assert_eq!(actor, specialist_id);
    assert!(bangban_telemetry::testing::captured_logs().contains("personal data revealed"), "the reveal is logged");

    // Let the relays and consumers settle: every stream's count still for a second.
    let deadline = tokio::time::Instant::now() + REACT;
    let mut last = stream_counts(&app).await;
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = stream_counts(&app).await;
        if now == last {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the streams keep growing: {now:?}");
        last = now;
    }

    // The corpus: answers, stored messages, spans, logs, and what lies at rest.
    let mut corpus: Vec<(String, String)> = c.seen.lock().unwrap().clone();
    for (who, seen) in &live {
        let text = String::from_utf8_lossy(&seen.lock().unwrap()).into_owned();
        assert!(text.contains("event: ready"), "the live stream of {who}: {text}");
        corpus.push((format!("the live stream of {who}"), text));
    }
    assert!(
        corpus.iter().any(|(p, t)| p.starts_with("the live stream") && t.contains(&case_id)),
        "the case's events streamed"
    );
    let answers = corpus.len();
    let messages = stored_messages(&app).await;
    assert!(
        messages.iter().any(|(place, text)| place.starts_with("stream BANGBAN_AUDIT ") && text.contains(reveal_route)),
        "the reveal's record in BANGBAN_AUDIT"
    );
    assert!(
        messages.iter().any(|(_, text)| text.contains("case.accepted") && text.contains(&case_id)),
        "the case's events are swept"
    );
    let stream_names: Vec<String> = {
        let mut names: Vec<String> =
            messages.iter().map(|(p, _)| p.split(' ').nth(1).unwrap_or("").to_string()).collect();
        names.dedup();
        names
    };
    corpus.extend(messages);
    let spans = app.spans.get_finished_spans().expect("spans");
    assert!(spans.iter().any(|s| s.name.contains("/applicant/reveal")), "the reveal's span is swept");
    for s in &spans {
        corpus.push((format!("span {}", s.name), format!("{s:?}")));
    }
    let logs = bangban_telemetry::testing::captured_logs();
    for (n, line) in logs.lines().enumerate() {
        corpus.push((format!("log line {}", n + 1), line.to_string()));
    }
    corpus.push(("nats-server's log".into(), app.nats.log()));
    files_under(app.nats.store_dir(), &mut corpus);
    if app.settings.database.url.is_none() {
        files_under(&app.settings.data_dir, &mut corpus);
    }

    // Positive controls: the applicant is in what was swept, masked.
    let masked_id = format!("{}**********{}", &id[..4], &id[14..]);
    assert!(corpus[..answers].iter().any(|(_, t)| t.contains(&masked_phone)), "answers show {masked_phone}");
    assert!(corpus[..answers].iter().any(|(_, t)| t.contains(&masked_id)), "answers show {masked_id}");

    let needles = needles(&id, PHONE);
    let found = leaks(&corpus, &needles);
    assert!(
        found.is_empty(),
        "{} leak(s) of personal data (swept {answers} answers, streams {stream_names:?}, {} spans, {} log lines, \
         the files at rest):\n{}",
        found.len(),
        spans.len(),
        logs.lines().count(),
        found.iter().take(30).cloned().collect::<Vec<_>>().join("\n")
    );

    // The SMS gateway: the mobile number as the recipient, and in no text; never the ID number.
    let calls = app.sms().calls();
    let to_applicant = calls.iter().filter(|c| c.body["phone"] == format!("+86{PHONE}")).count();
    assert!(to_applicant >= 3, "the acceptance and two invitations to the applicant: {calls:?}");
    for call in &calls {
        let mut body = call.body.clone();
        body.as_object_mut().expect("an object").remove("phone");
        let found = leaks(&[("an SMS".into(), body.to_string())], &needles);
        assert!(found.is_empty(), "{found:?}");
    }
}
