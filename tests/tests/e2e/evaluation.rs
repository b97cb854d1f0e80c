//! Evaluation end to end (评价 §8.2, 好差评): a concluded item — its result collected, or refused — invites the
//! applicant; notification texts them a one-time link (`…/e/<code>`) that staff only ever see masked and that
//! travels encrypted on the bus; the applicant rates it once (signed in, or through the link without a token);
//! a bad review opens a rectification that the unit's officer works and the applicant rates; the unit appeals,
//! an office admin upholds it, and the assessment leaves the rating out.

use std::time::Duration;

use async_nats::jetstream::consumer::{Consumer, pull};
use bangban_contracts::{
    CloudEvent,
    evaluation::{
        AppealDecided, AppealStatus, AppealView, Assessment, AssessmentRow, AssessmentScope, Assignee, Channel,
        EvaluationInvited, EvaluationSubmitted, EvaluationView, FixRating, InvitationView, Level, Matter,
        RectificationEvent, RectificationPage, RectificationStatus, RectificationView, Tag,
    },
    intake::CaseView,
    notification::{InboxPage, MessagePage},
    planning::PlanView,
    routing::{TaskStatus, TaskView},
};
use bangban_gateway::auth::Role;
use chrono::{NaiveDate, Utc};
use reqwest::{Method, Response};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::*;

const COUNTY: &str = "371625";
const OTHER_COUNTY: &str = "371681";
/// The applicant's mobile number, as `sample_case` gives it.
const PHONE: &str = "13812341234";
/// The template of the invitation's SMS.
const INVITATION: &str = "evaluation_invitation";
/// The header row of the assessment's CSV.
const CSV_HEADER: &str = "对象,评价数,满意数,满意率,平均等级,差评数,申诉成立数,整改答复数,按期整改数,按期整改率,\
                          逾期整改移送数,办结事项数,按时办结数,按时办结率,平均用时(工作日)";
/// How long the platform may take to react (consumers, the sender, the outbox relay).
const REACT: Duration = Duration::from_secs(30);

async fn send(app: &TestApp, method: Method, token: Option<&str>, path: &str, body: Option<&Value>) -> Response {
    let mut req = app.http.request(method, app.url(path));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    if let Some(body) = body {
        req = req.json(body);
    }
    req.send().await.expect("request")
}

async fn get(app: &TestApp, token: &str, path: &str) -> Response {
    send(app, Method::GET, Some(token), path, None).await
}

async fn post(app: &TestApp, token: &str, path: &str, body: &Value) -> Response {
    send(app, Method::POST, Some(token), path, Some(body)).await
}

/// The body of a response with the expected status, as text (a panic showing what came instead).
async fn text_of(res: Response, status: u16, what: &str) -> String {
    let got = res.status().as_u16();
    let text = res.text().await.expect("body");
    assert_eq!(got, status, "{what}: {text}");
    text
}

async fn json_of<T: serde::de::DeserializeOwned>(res: Response, status: u16, what: &str) -> T {
    let text = text_of(res, status, what).await;
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what}: {e}: {text}"))
}

/// A problem with the expected status; returns it.
async fn problem(res: Response, status: u16, what: &str) -> Value {
    let content_type = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let p: Value = json_of(res, status, what).await;
    assert_eq!(content_type, "application/problem+json", "{what}: {p}");
    p
}

/// A case accepted by the county office, for a project in the county, for an organisation with a mobile number.
async fn accept_case(app: &TestApp) -> CaseView {
    let mut case = sample_case();
    case["office"] = json!(COUNTY);
    case["project"]["office"] = json!(COUNTY);
    assert_eq!(case["applicant"]["phone"], PHONE);
    let token = app.token(Role::Assistant, COUNTY, None);
    json_of(app.post_case(&token, &case).await, 201, "accept the case").await
}

fn applicant_token(app: &TestApp, case: &CaseView) -> String {
    app.token(Role::Applicant, COUNTY, Some(&case.applicant.id.to_string()))
}

fn specialist_of(app: &TestApp, case: &CaseView) -> String {
    app.token_as(&case.specialist_id, Role::Assistant, &case.office)
}

/// Waits for the draft planning generates, publishes it as the case's specialist and waits for the tasks;
/// returns those dispatched to a unit of the county.
async fn dispatched_at_county(app: &TestApp, case: &CaseView) -> Vec<TaskView> {
    let specialist = specialist_of(app, case);
    let plan_url = format!("/api/v1/cases/{}/plan", case.id);
    let drafted = eventually(REACT, || async { get(app, &specialist, &plan_url).await.status() == 200 }).await;
    assert!(drafted, "no plan for case {} after {REACT:?}", case.id);
    let body = json!({"note": "方案已与服务对象确认"});
    let plan: PlanView =
        json_of(post(app, &specialist, &format!("{plan_url}/publish"), &body).await, 200, "publish").await;
    let tasks_url = format!("/api/v1/cases/{}/tasks", case.id);
    let routed = eventually(REACT, || async {
        let tasks: Vec<TaskView> = json_of(get(app, &specialist, &tasks_url).await, 200, "case tasks").await;
        tasks.len() == plan.items.len()
    })
    .await;
    let tasks: Vec<TaskView> = json_of(get(app, &specialist, &tasks_url).await, 200, "case tasks").await;
    assert!(routed, "{} tasks for {} items after {REACT:?}", tasks.len(), plan.items.len());
    tasks.into_iter().filter(|t| t.status == TaskStatus::Dispatched && t.unit_office == COUNTY).collect()
}

/// Takes a step of a task that must succeed.
async fn step(app: &TestApp, token: &str, t: &TaskView, body: Value) -> TaskView {
    let what = format!("{} on {}", body["action"], t.id);
    json_of(post(app, token, &format!("/api/v1/tasks/{}/transitions", t.id), &body).await, 200, &what).await
}

/// The unit's officer receives, reviews and approves; the specialist collects the result.
async fn approve_and_collect(app: &TestApp, case: &CaseView, t: &TaskView) {
    let officer = app.officer_token(&t.unit_code, &t.unit_office);
    step(app, &officer, t, json!({"action": "receive"})).await;
    step(app, &officer, t, json!({"action": "start_review"})).await;
    let approval = json!({
        "action": "approve",
        "document": {"kind": "建设工程规划许可证", "number": "建字第371625202600123号", "issued_on": Utc::now().date_naive()},
        "note": "准予许可"
    });
    assert_eq!(step(app, &officer, t, approval).await.status, TaskStatus::Approved);
    let collect = json!({"action": "collect_result", "by": "assistant"});
    assert_eq!(step(app, &specialist_of(app, case), t, collect).await.status, TaskStatus::ResultCollected);
}

/// The unit's officer receives, reviews and refuses.
async fn reject(app: &TestApp, t: &TaskView) {
    let officer = app.officer_token(&t.unit_code, &t.unit_office);
    step(app, &officer, t, json!({"action": "receive"})).await;
    step(app, &officer, t, json!({"action": "start_review"})).await;
    let refusal = json!({
        "action": "reject", "reason": "项目选址不符合国土空间规划", "legal_basis": "《中华人民共和国城乡规划法》第四十条"
    });
    assert_eq!(step(app, &officer, t, refusal).await.status, TaskStatus::Rejected);
}

/// The invitation SMS sent so far, once there are `n`, in the order sent.
async fn invitation_sms(app: &TestApp, n: usize) -> Vec<SmsCall> {
    let deadline = tokio::time::Instant::now() + REACT;
    loop {
        let sent: Vec<SmsCall> = app.sms().sent().into_iter().filter(|c| c.body["template"] == INVITATION).collect();
        if sent.len() >= n {
            assert_eq!(sent.len(), n, "{n} invitation(s): {sent:?}");
            return sent;
        }
        assert!(tokio::time::Instant::now() < deadline, "{n} invitation SMS: {:?}", app.sms().calls());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The link of an invitation SMS and its one-time code (checked: `<base>/e/<16 letters or digits>`).
fn link_of(sms: &SmsCall) -> (String, String) {
    let link = sms.body["params"]["link"].as_str().unwrap_or_else(|| panic!("a link: {:?}", sms.body)).to_string();
    let prefix = format!("{EVALUATION_LINK_BASE}/e/");
    let code = link.strip_prefix(&prefix).unwrap_or_else(|| panic!("{link} under {prefix}")).to_string();
    assert_eq!(code.len(), 16, "a 16-character code: {link}");
    assert!(code.chars().all(|c| c.is_ascii_alphanumeric()), "{link}");
    let text = sms.body["text"].as_str().unwrap_or_default();
    assert!(text.contains(&link), "the SMS carries the whole link: {text}");
    (link, code)
}

/// What staff may see of a code: its first two characters, then stars.
fn masked(code: &str) -> String {
    format!("/e/{}{}", &code[..2], "*".repeat(code.len() - 2))
}

/// A case's invitations as `token` sees them, once there are `n`.
async fn invitations(app: &TestApp, token: &str, case: &CaseView, n: usize) -> Vec<InvitationView> {
    let url = format!("/api/v1/cases/{}/invitations", case.id);
    let deadline = tokio::time::Instant::now() + REACT;
    loop {
        let list: Vec<InvitationView> = json_of(get(app, token, &url).await, 200, "invitations").await;
        if list.len() >= n {
            return list;
        }
        assert!(tokio::time::Instant::now() < deadline, "{n} invitation(s): {list:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Events of a consumer until `n` have come or `wait` passes: (subject, event, raw payload).
async fn events(consumer: &Consumer<pull::Config>, n: usize, wait: Duration) -> Vec<(String, CloudEvent, String)> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut seen = Vec::new();
    while seen.len() < n && tokio::time::Instant::now() < deadline {
        if let Some(msg) = next_message(consumer, Duration::from_millis(500)).await {
            msg.ack().await.expect("ack");
            let event = CloudEvent::from_parts(msg.headers.as_ref(), msg.payload.clone()).expect("a CloudEvent");
            let mut raw = String::from_utf8(msg.payload.to_vec()).expect("UTF-8");
            if let Some(headers) = msg.headers.as_ref() {
                for (name, values) in headers.iter() {
                    for v in values {
                        raw.push_str(&format!("\n{name}: {}", v.as_str()));
                    }
                }
            }
            seen.push((msg.subject.to_string(), event, raw));
        }
    }
    seen
}

fn is_type(event: &CloudEvent, name: &str) -> bool {
    event.type_ == format!("cn.binzhou.bangban.{name}.v1")
}

/// Neither a code nor any form of the link: not the base, not the path.
fn assert_no_link(text: &str, codes: &[&str], what: &str) {
    for code in codes {
        assert!(!text.contains(code), "{what}: the code {code} in clear: {text}");
    }
    assert!(!text.contains(EVALUATION_LINK_BASE) && !text.contains("/e/"), "{what}: a link in clear: {text}");
}

/// Today in Beijing.
fn today() -> NaiveDate {
    (Utc::now() + chrono::Duration::hours(8)).date_naive()
}

#[tokio::test]
async fn a_concluded_item_invites_its_applicant_who_rates_it_once() {
    let app = TestApp::spawn_with_evaluation().await;
    let case = accept_case(&app).await;
    let applicant = applicant_token(&app, &case);
    let t = dispatched_at_county(&app, &case).await.into_iter().next().expect("a task at a county unit");
    let rate_url = format!("/api/v1/tasks/{}/evaluation", t.id);
    let rating = json!({"level": 5, "comment": "窗口人员一次性告知了需要补正的材料，办理很快", "tags": ["efficiency"]});

    // Not concluded yet: nothing to rate.
    problem(post(&app, &applicant, &rate_url, &rating).await, 409, "rating an item still in progress").await;

    // Result collected: the applicant is invited, once, and texted the link.
    approve_and_collect(&app, &case, &t).await;
    let list = invitations(&app, &applicant, &case, 1).await;
    assert_eq!(list.len(), 1, "{list:?}");
    let inv = &list[0];
    assert_eq!(inv.matter, Matter::Task { task_id: t.id });
    assert_eq!((inv.case_id, inv.ledger_no.as_str(), inv.office.as_str()), (case.id, case.ledger_no.as_str(), COUNTY));
    assert_eq!((inv.item_name.as_str(), inv.unit_name.as_deref()), (t.name.as_str(), Some(t.unit_name.as_str())));
    assert!(inv.rated_at.is_none() && inv.evaluation_id.is_none(), "{inv:?}");
    let sms = invitation_sms(&app, 1).await;
    assert_eq!(sms[0].body["phone"], format!("+86{PHONE}"));
    assert_eq!(sms[0].body["params"]["item_name"], t.name.as_str());
    let (link, code) = link_of(&sms[0]);

    // The link's page, without a token: the item, not cached.
    let res = send(&app, Method::GET, None, &format!("/api/v1/evaluations/invitations/{code}"), None).await;
    assert_eq!(res.headers().get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"));
    let page: InvitationView = json_of(res, 200, "the link's page").await;
    assert_eq!(&page, inv, "the page shows the invitation");
    let res = send(&app, Method::GET, None, "/api/v1/evaluations/invitations/Zz9yX8wV7uT6sR5q", None).await;
    problem(res, 404, "an unknown code").await;

    // Only the case's applicant rates, with a level of 1 to 5; nothing is recorded otherwise.
    let stranger = app.token(Role::Applicant, COUNTY, Some(&Uuid::now_v7().to_string()));
    problem(post(&app, &stranger, &rate_url, &rating).await, 403, "another applicant").await;
    problem(post(&app, &specialist_of(&app, &case), &rate_url, &rating).await, 403, "the specialist").await;
    let officer = app.officer_token(&t.unit_code, &t.unit_office);
    problem(post(&app, &officer, &rate_url, &rating).await, 403, "the unit's officer").await;
    let p = problem(post(&app, &applicant, &rate_url, &json!({"level": 6})).await, 422, "level 6").await;
    assert_eq!(p["errors"][0]["field"], "level", "{p}");
    assert!(invitations(&app, &applicant, &case, 1).await[0].rated_at.is_none(), "not rated yet");

    let res = post(&app, &applicant, &rate_url, &rating).await;
    let location = res.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let view: EvaluationView = json_of(res, 201, "the applicant rates").await;
    assert_eq!(location, format!("/api/v1/evaluations/{}", view.id));
    assert_eq!(
        (view.level, view.channel, view.bad, view.counts),
        (Level::VerySatisfied, Channel::Platform, false, true)
    );
    assert_eq!((view.task_id, view.case_id, view.applicant_id), (Some(t.id), case.id, case.applicant.id));
    assert_eq!((view.unit_code.as_deref(), view.unit_office.as_deref()), (Some(t.unit_code.as_str()), Some(COUNTY)));
    assert_eq!(
        (view.tags.as_slice(), view.specialist_id.as_str()),
        ([Tag::Efficiency].as_slice(), case.specialist_id.as_str())
    );
    assert!(view.rectification_id.is_none() && view.entered_by.is_none(), "{view:?}");

    // Once: a second rating, another applicant, the code: refused; the code is spent.
    problem(post(&app, &applicant, &rate_url, &rating).await, 409, "a second rating").await;
    problem(post(&app, &stranger, &rate_url, &rating).await, 403, "another applicant, after").await;
    let by_code = json!({"code": code, "level": 1, "comment": "再评一次"});
    let res = send(&app, Method::POST, None, "/api/v1/evaluations/by-code", Some(&by_code)).await;
    let p = problem(res, 409, "the spent code").await;
    assert!(!p.to_string().contains(&code), "the code is not echoed: {p}");
    let rated = invitations(&app, &applicant, &case, 1).await;
    assert_eq!((rated.len(), rated[0].evaluation_id), (1, Some(view.id)), "{rated:?}");
    assert!(rated[0].rated_at.is_some());
    let mine: Value = json_of(get(&app, &applicant, "/api/v1/evaluations").await, 200, "my ratings").await;
    assert_eq!(mine["total"], 1, "{mine}");

    // The office's SMS log shows the link masked; the applicant's own inbox keeps it whole.
    let staff = app.token(Role::Assistant, COUNTY, None);
    let deadline = tokio::time::Instant::now() + REACT;
    let text = loop {
        let text = text_of(get(&app, &staff, "/api/v1/messages").await, 200, "messages").await;
        let page: MessagePage = serde_json::from_str(&text).expect("a page");
        if page.items.iter().any(|m| m.template_id == INVITATION) {
            break text;
        }
        assert!(tokio::time::Instant::now() < deadline, "the invitation in the SMS log: {page:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(!text.contains(&code), "GET /api/v1/messages reveals the code: {text}");
    let page: MessagePage = serde_json::from_str(&text).unwrap();
    let message = page.items.iter().find(|m| m.template_id == INVITATION).unwrap();
    assert!(message.text.contains(&masked(&code)), "masked as {}: {}", masked(&code), message.text);
    assert_eq!((message.case_id, message.office.as_str()), (Some(case.id), COUNTY));
    let inbox: InboxPage = json_of(get(&app, &applicant, "/api/v1/inbox").await, 200, "the inbox").await;
    let notice = inbox.items.iter().find(|n| n.template_id == INVITATION).expect("the invitation in the inbox");
    assert!(notice.text.contains(&link), "the applicant's own notice has the link: {}", notice.text);
    assert_eq!(notice.task_id, Some(t.id));

    // The bus: evaluation.invited with the link encrypted, nowhere in clear; evaluation.submitted.
    let js = app.js();
    let seen = events(&consumer(&js, &format!("bb.evt.{COUNTY}.evaluation.>")).await, 2, REACT).await;
    assert_eq!(seen.len(), 2, "{:?}", seen.iter().map(|s| &s.0).collect::<Vec<_>>());
    let (subject, event, raw) = &seen[0];
    assert_eq!(subject, &format!("bb.evt.{COUNTY}.evaluation.invited"));
    assert!(is_type(event, "evaluation.invited"), "{}", event.type_);
    assert_no_link(raw, &[&code], "evaluation.invited");
    let invited: EvaluationInvited = event.data_as().expect("EvaluationInvited");
    assert_eq!((invited.evaluation_id, invited.case_id, invited.task_id), (inv.id, case.id, Some(t.id)));
    assert_eq!((invited.applicant_id, invited.office.as_str()), (case.applicant.id, COUNTY));
    assert_eq!((invited.ledger_no.as_str(), invited.item_name.as_str()), (case.ledger_no.as_str(), t.name.as_str()));
    assert!(invited.link_enc.starts_with("v1:"), "{}", invited.link_enc);
    let pii = bangban_platform::pii::cipher_from_settings(&app.settings).expect("the PII key");
    assert_eq!(pii.decrypt(&invited.link_enc).expect("decrypt"), link, "link_enc is the link, encrypted");
    let (subject, event, raw) = &seen[1];
    assert_eq!(subject, &format!("bb.evt.{COUNTY}.evaluation.submitted"));
    assert!(is_type(event, "evaluation.submitted"), "{}", event.type_);
    assert_no_link(raw, &[&code], "evaluation.submitted");
    let submitted: EvaluationSubmitted = event.data_as().expect("EvaluationSubmitted");
    assert_eq!(submitted.evaluation, view);
    let more = events(&consumer(&js, &format!("bb.evt.{COUNTY}.evaluation.>")).await, 3, Duration::from_secs(2)).await;
    assert_eq!(more.len(), 2, "one invitation, one rating: {:?}", more.iter().map(|s| &s.0).collect::<Vec<_>>());
    assert_eq!(app.sms().sent().iter().filter(|c| c.body["template"] == INVITATION).count(), 1, "texted once");

    // Evaluation keeps the code's hash, never the code.
    assert_eq!(count_rows(app.evaluation_db(), "invitation").await, 1);
    let db = app.evaluation_db();
    let row = {
        use sea_orm::{ConnectionTrait, Statement};
        db.query_one_raw(Statement::from_string(db.get_database_backend(), "SELECT code_hash FROM invitation"))
            .await
            .unwrap()
            .unwrap()
    };
    let hash: String = row.try_get("", "code_hash").unwrap();
    assert!(hash.len() == 64 && !hash.contains(&code), "{hash}");
}

#[tokio::test]
async fn a_bad_review_is_rectified_and_an_upheld_appeal_leaves_the_assessment() {
    let app = TestApp::spawn_with_evaluation().await;
    let case = accept_case(&app).await;
    let applicant = applicant_token(&app, &case);
    let tasks = dispatched_at_county(&app, &case).await;
    assert!(tasks.len() >= 2, "two tasks at county units: {tasks:?}");
    let (good, bad) = (&tasks[0], &tasks[1]);

    // A good rating of one item, signed in.
    approve_and_collect(&app, &case, good).await;
    let (_, good_code) = link_of(&invitation_sms(&app, 1).await[0]);
    let body = json!({"level": 4, "comment": "办理顺利"});
    let rated: EvaluationView =
        json_of(post(&app, &applicant, &format!("/api/v1/tasks/{}/evaluation", good.id), &body).await, 201, "good")
            .await;
    assert!(!rated.bad);

    // A refused item: invited at once; rated 1 through the SMS link, without a token.
    reject(&app, bad).await;
    let sms = invitation_sms(&app, 2).await;
    assert_eq!(sms[1].body["params"]["item_name"], bad.name.as_str());
    let (_, code) = link_of(&sms[1]);
    let page: InvitationView = json_of(
        send(&app, Method::GET, None, &format!("/api/v1/evaluations/invitations/{code}"), None).await,
        200,
        "the link's page",
    )
    .await;
    assert_eq!((page.matter, page.rated_at), (Matter::Task { task_id: bad.id }, None));
    let by_code =
        json!({"code": code, "level": 1, "comment": "补正材料来回跑了两次", "tags": ["efficiency", "attitude"]});
    let res = send(&app, Method::POST, None, "/api/v1/evaluations/by-code", Some(&by_code)).await;
    let review: EvaluationView = json_of(res, 201, "a bad review by the SMS link").await;
    assert_eq!((review.level, review.channel, review.bad), (Level::VeryDissatisfied, Channel::SmsLink, true));
    assert_eq!((review.task_id, review.applicant_id, review.entered_by), (Some(bad.id), case.applicant.id, None));
    assert_eq!(review.tags, [Tag::Attitude, Tag::Efficiency]);
    let rectification_id = review.rectification_id.expect("a rectification");
    let res = send(&app, Method::POST, None, "/api/v1/evaluations/by-code", Some(&by_code)).await;
    problem(res, 409, "the code again").await;

    // The rectification: the unit's officer sees it; another unit's officer does not.
    let officer = app.officer_token(&bad.unit_code, &bad.unit_office);
    let theirs: RectificationPage = json_of(get(&app, &officer, "/api/v1/rectifications").await, 200, "list").await;
    assert_eq!(theirs.total, 1, "{theirs:?}");
    let r = &theirs.items[0];
    assert_eq!((r.id, r.evaluation_id, r.task_id), (rectification_id, review.id, Some(bad.id)));
    assert_eq!((r.status, r.level, r.office.as_str()), (RectificationStatus::Opened, Level::VeryDissatisfied, COUNTY));
    assert_eq!(r.assignee, Assignee::Unit { unit_code: bad.unit_code.clone(), unit_office: bad.unit_office.clone() });
    assert!(r.contact_due <= r.due && r.escalated_at.is_none(), "{r:?}");
    let other_unit = format!("{}-OTHER", bad.unit_code);
    let stranger = app.officer_token(&other_unit, COUNTY);
    let none: RectificationPage = json_of(get(&app, &stranger, "/api/v1/rectifications").await, 200, "other").await;
    assert_eq!(none.total, 0, "{none:?}");
    let one = format!("/api/v1/rectifications/{rectification_id}");
    let steps = format!("{one}/steps");
    problem(get(&app, &stranger, &one).await, 404, "another unit's officer reads it").await;
    let contact = json!({"action": "contact", "note": "已电话联系服务对象，了解补正情况"});
    let res = post(&app, &stranger, &steps, &contact).await;
    let status = res.status().as_u16();
    assert!(status == 403 || status == 404, "another unit's officer works it: {status}");
    // The applicant neither contacts nor rates before the answer.
    problem(post(&app, &applicant, &steps, &contact).await, 403, "the applicant contacts").await;
    let rate_fix = json!({"action": "rate", "rating": "satisfied"});
    problem(post(&app, &applicant, &steps, &rate_fix).await, 409, "rating the fix before the answer").await;

    // Contact, answer by the officer; the applicant rates the fix, which closes it.
    let contacted: RectificationView = json_of(post(&app, &officer, &steps, &contact).await, 200, "contact").await;
    assert_eq!(contacted.status, RectificationStatus::Contacted);
    assert!(contacted.contacted_at.is_some());
    let answer = json!({
        "action": "answer", "fix": "补正材料清单已在窗口公示并一次性告知", "answer": "已向服务对象说明并致歉，今后一次性告知补正要求"
    });
    let answered: RectificationView = json_of(post(&app, &officer, &steps, &answer).await, 200, "answer").await;
    assert_eq!((answered.status, answered.on_time), (RectificationStatus::Answered, Some(true)));
    problem(post(&app, &officer, &steps, &rate_fix).await, 403, "the officer rates the fix").await;
    let seen: RectificationView = json_of(get(&app, &applicant, &one).await, 200, "the applicant reads it").await;
    assert_eq!(seen.status, RectificationStatus::Answered);
    let closed: RectificationView = json_of(post(&app, &applicant, &steps, &rate_fix).await, 200, "rate the fix").await;
    assert_eq!((closed.status, closed.fix_rating), (RectificationStatus::Closed, Some(FixRating::Satisfied)));
    assert!(closed.closed_at.is_some());
    problem(post(&app, &applicant, &steps, &rate_fix).await, 409, "rating the fix again").await;

    // The unit appeals; an office admin of another county may not decide; the county's admin upholds it.
    let appeal_url = format!("/api/v1/evaluations/{}/appeal", review.id);
    let body = json!({"reason": "服务对象所述超期系其自身补正材料延迟所致，补正期间依法不计时", "evidence": ["补正通知书签收记录"]});
    problem(post(&app, &stranger, &appeal_url, &body).await, 404, "another unit's officer appeals").await;
    let appeal: AppealView = json_of(post(&app, &officer, &appeal_url, &body).await, 201, "the appeal").await;
    assert_eq!((appeal.evaluation_id, appeal.status), (review.id, AppealStatus::Pending));
    assert_eq!(appeal.filed_by, format!("officer-{}", bad.unit_code));
    problem(post(&app, &officer, &appeal_url, &body).await, 409, "a second appeal").await;
    let decision_url = format!("/api/v1/appeals/{}/decision", appeal.id);
    let decision = json!({"upheld": true, "note": "经核实补正期间依法不计时，申诉成立"});
    problem(post(&app, &officer, &decision_url, &decision).await, 403, "the officer decides").await;
    let other_admin = app.token(Role::OfficeAdmin, OTHER_COUNTY, None);
    problem(post(&app, &other_admin, &decision_url, &decision).await, 403, "another county's admin decides").await;
    let admin = app.token(Role::OfficeAdmin, COUNTY, None);
    let decided: AppealView = json_of(post(&app, &admin, &decision_url, &decision).await, 200, "the decision").await;
    assert_eq!((decided.id, decided.status), (appeal.id, AppealStatus::Upheld));
    assert!(decided.decided_at.is_some() && decided.decided_by.is_some(), "{decided:?}");
    problem(post(&app, &admin, &decision_url, &decision).await, 409, "deciding again").await;
    let now: EvaluationView =
        json_of(get(&app, &admin, &format!("/api/v1/evaluations/{}", review.id)).await, 200, "the rating").await;
    assert!(!now.counts, "an upheld appeal: the rating no longer counts: {now:?}");
    assert_eq!(now.appeal.as_ref().map(|a| a.status), Some(AppealStatus::Upheld));

    // The assessment by unit: the upheld appeal counted as such, the bad review not.
    let (from, to) = (today().pred_opt().unwrap(), today().succ_opt().unwrap());
    let query = format!("by=unit&from={from}&to={to}");
    let assessment: Assessment =
        json_of(get(&app, &admin, &format!("/api/v1/assessments?{query}")).await, 200, "the assessment").await;
    assert_eq!((assessment.by, assessment.from, assessment.to), (AssessmentScope::Unit, from, to));
    let row = |key: &str| -> &AssessmentRow {
        assessment.rows.iter().find(|r| r.key == key).unwrap_or_else(|| panic!("a row for {key}: {assessment:?}"))
    };
    let bad_row = row(&bad.unit_code);
    assert_eq!((bad_row.appeals_upheld, bad_row.bad_reviews), (1, 0), "{bad_row:?}");
    let total = |f: fn(&AssessmentRow) -> u64| assessment.rows.iter().map(f).sum::<u64>();
    assert_eq!(total(|r| r.appeals_upheld), 1, "{assessment:?}");
    assert_eq!(total(|r| r.bad_reviews), 0, "the bad review is not counted: {assessment:?}");
    assert_eq!((total(|r| r.ratings), total(|r| r.satisfied)), (1, 1), "the good rating only: {assessment:?}");
    assert_eq!(total(|r| r.items_concluded), 2, "both items concluded: {assessment:?}");
    let good_row = row(&good.unit_code);
    assert_eq!(good_row.average_level, Some(4.0), "{good_row:?}");
    if good.unit_code != bad.unit_code {
        assert_eq!((bad_row.ratings, bad_row.satisfaction_rate), (0, None), "{bad_row:?}");
    }

    // As CSV for Excel: the byte-order mark, the header row, the unit's row.
    let res = get(&app, &admin, &format!("/api/v1/assessments.csv?{query}")).await;
    let content_type = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let csv = text_of(res, 200, "the CSV").await;
    assert_eq!(content_type, "text/csv; charset=utf-8");
    assert!(csv.starts_with(&format!("\u{feff}{CSV_HEADER}\r\n")), "{csv:?}");
    let line = csv
        .split("\r\n")
        .find(|l| l.starts_with(&format!("{},", bad.unit_code)))
        .unwrap_or_else(|| panic!("a line for {}: {csv:?}", bad.unit_code));
    let cells: Vec<&str> = line.split(',').collect();
    assert_eq!(cells.len(), 15, "{line}");
    assert_eq!((cells[5], cells[6]), ("0", "1"), "差评数 0, 申诉成立数 1: {line}");

    assert_eq!(count_rows(app.evaluation().db(), "rectification").await, 1);

    // Who may not read the assessment.
    for (token, what) in [(&applicant, "an applicant"), (&officer, "an officer")] {
        problem(get(&app, token, &format!("/api/v1/assessments?{query}")).await, 403, what).await;
        problem(get(&app, token, &format!("/api/v1/assessments.csv?{query}")).await, 403, what).await;
    }
    let elsewhere = format!("/api/v1/assessments?{query}&office={OTHER_COUNTY}");
    problem(get(&app, &admin, &elsewhere).await, 403, "a county admin asking for another office").await;

    // The bus: every rating and rectification event on the county's subjects, no link in clear.
    let js = app.js();
    let codes = [good_code.as_str(), code.as_str()];
    let ratings = events(&consumer(&js, &format!("bb.evt.{COUNTY}.evaluation.>")).await, 4, REACT).await;
    let subjects: Vec<&str> = ratings.iter().map(|s| s.0.as_str()).collect();
    let invited = format!("bb.evt.{COUNTY}.evaluation.invited");
    let submitted = format!("bb.evt.{COUNTY}.evaluation.submitted");
    assert_eq!(subjects, [&invited, &submitted, &invited, &submitted], "{subjects:?}");
    for (subject, event, raw) in &ratings {
        assert_no_link(raw, &codes, subject);
        if subject == &invited {
            let d: EvaluationInvited = event.data_as().expect("EvaluationInvited");
            assert!(d.link_enc.starts_with("v1:"), "{}", d.link_enc);
        }
    }
    let last: EvaluationSubmitted = ratings[3].1.data_as().expect("EvaluationSubmitted");
    assert_eq!((last.evaluation.id, last.evaluation.rectification_id), (review.id, Some(rectification_id)));

    let rect = events(&consumer(&js, &format!("bb.evt.{COUNTY}.rectification.>")).await, 2, REACT).await;
    let subjects: Vec<&str> = rect.iter().map(|s| s.0.as_str()).collect();
    assert_eq!(
        subjects,
        [format!("bb.evt.{COUNTY}.rectification.opened"), format!("bb.evt.{COUNTY}.rectification.closed")],
        "{subjects:?}"
    );
    let opened: RectificationEvent = rect[0].1.data_as().expect("RectificationEvent");
    assert!(is_type(&rect[0].1, "rectification.opened"), "{}", rect[0].1.type_);
    assert_eq!((opened.rectification.id, opened.rectification.status), (rectification_id, RectificationStatus::Opened));
    let closed_event: RectificationEvent = rect[1].1.data_as().expect("RectificationEvent");
    assert!(is_type(&rect[1].1, "rectification.closed"), "{}", rect[1].1.type_);
    assert_eq!(closed_event.rectification, closed);

    let appeals = events(&consumer(&js, &format!("bb.evt.{COUNTY}.appeal.>")).await, 1, REACT).await;
    assert_eq!(appeals.len(), 1, "appeal.decided");
    let (subject, event, _) = &appeals[0];
    assert_eq!(subject, &format!("bb.evt.{COUNTY}.appeal.decided"));
    assert!(is_type(event, "appeal.decided"), "{}", event.type_);
    let d: AppealDecided = event.data_as().expect("AppealDecided");
    assert_eq!((d.appeal, d.office.as_str(), d.case_id), (decided, COUNTY, case.id));
}

#[tokio::test]
async fn nobody_decides_their_own_appeal() {
    use bangban_contracts::{
        evaluation::{FileAppeal, NewAppeal, ops::AppealFile},
        intake::Actor,
    };
    use bangban_platform::rpc;

    let app = TestApp::spawn_with_evaluation().await;
    let case = accept_case(&app).await;
    let applicant = applicant_token(&app, &case);
    let t = dispatched_at_county(&app, &case).await.into_iter().next().expect("a task at a county unit");
    approve_and_collect(&app, &case, &t).await;
    invitations(&app, &applicant, &case, 1).await;
    let body = json!({"level": 1, "comment": "办理过程中多次往返"});
    let rating: EvaluationView =
        json_of(post(&app, &applicant, &format!("/api/v1/tasks/{}/evaluation", t.id), &body).await, 201, "rate").await;

    // Evaluation checks who files, too: a colleague who is not the case's specialist may not (on the bus).
    let foreign = FileAppeal {
        actor: Actor { sub: "staff-371625-assistant-9".into(), role: "assistant".into(), office: COUNTY.into() },
        evaluation_id: rating.id,
        appeal: NewAppeal {
            reason: "与本人无关的申诉理由说明".into(), evidence: vec!["同事口述".into()]
        },
    };
    let res = rpc::call::<AppealFile>(&app.client, &foreign, REACT).await;
    assert!(matches!(&res, Err(rpc::CallError::Problem(p)) if p.status == 403), "{res:?}");

    // The accepting office's admin appeals the rating of their office's service…
    let appellant = app.token_as("staff-371625-office_admin-1", Role::OfficeAdmin, COUNTY);
    let appeal_body =
        json!({"reason": "超期系服务对象补正材料延迟所致，补正期间依法不计时", "evidence": ["补正通知书签收记录"]});
    let url = format!("/api/v1/evaluations/{}/appeal", rating.id);
    let appeal: AppealView = json_of(post(&app, &appellant, &url, &appeal_body).await, 201, "the appeal").await;
    assert_eq!(appeal.filed_by, "staff-371625-office_admin-1");

    // … and may not decide it; nor may the specialist it rates, even holding an admin's role.
    let decision_url = format!("/api/v1/appeals/{}/decision", appeal.id);
    let decision = json!({"upheld": true, "note": "申诉成立"});
    let p = problem(post(&app, &appellant, &decision_url, &decision).await, 403, "the appellant decides").await;
    assert!(p["detail"].as_str().unwrap_or_default().contains("申诉人"), "{p}");
    assert!(p["detail_en"].as_str().unwrap_or_default().contains("filed"), "{p}");
    let rated = app.token_as(&case.specialist_id, Role::OfficeAdmin, COUNTY);
    problem(post(&app, &rated, &decision_url, &decision).await, 403, "the rated specialist decides").await;
    let listed: Vec<AppealView> = json_of(get(&app, &appellant, "/api/v1/appeals").await, 200, "appeals").await;
    assert_eq!(listed.iter().map(|a| (a.id, a.status)).collect::<Vec<_>>(), [(appeal.id, AppealStatus::Pending)]);
    let still: EvaluationView =
        json_of(get(&app, &appellant, &format!("/api/v1/evaluations/{}", rating.id)).await, 200, "rating").await;
    assert!(still.counts, "the rating still counts: {still:?}");

    // Another admin of the office (or of the city) decides.
    let colleague = app.token_as("staff-371625-office_admin-2", Role::OfficeAdmin, COUNTY);
    let decided: AppealView =
        json_of(post(&app, &colleague, &decision_url, &decision).await, 200, "a third party decides").await;
    assert_eq!(
        (decided.status, decided.decided_by.as_deref()),
        (AppealStatus::Upheld, Some("staff-371625-office_admin-2"))
    );
}
