//! Notification on real parts: a nats-server with its own JetStream store, a SQLite file or PostgreSQL
//! schema, real intake (contacts) and, where units are texted, real routing; the SMS providers are local HTTP
//! servers that check what the real ones check — the ACS3 and TC3 signatures, the fields, the webhook's HMAC
//! and idempotency key. Events are published as intake, routing and deadline publish them. Time is the
//! platform's manual clock (process-wide: nextest runs every test in its own process).

use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    sync::{Arc, Mutex, atomic::Ordering},
    time::Duration,
};

use async_nats::jetstream::{self, consumer::pull};
use axum::{
    Router,
    body::Bytes,
    extract::{RawQuery, State},
    http::{HeaderMap, StatusCode},
    response::IntoResponse,
    routing::post,
};
use bangban_contracts::subjects::EVENTS_STREAM;
use bangban_contracts::{
    CloudEvent, EventType,
    intake::{
        ApplicantKind, CaseAccepted, CaseTerminated, ProjectCategory, ProjectView, ServiceType, TerminationReason,
    },
    notification::{
        InboxPage, ListInbox, ListMessages, MarkRead, MessagePage, MessageState, ReceiptProvider, ReceiptsRecorded,
        RecordReceipts, SmsEvent,
    },
    planning::Stage,
    routing::{SupplementItem, SupplementNotice, TaskEvent, TaskStatus},
};
use bangban_contracts::{Operation, notification::ops};
use bangban_notification::{
    NotificationService,
    entity::message,
    providers::aliyun,
    providers::tencent,
    settings::{AliyunSettings, NotificationSettings, TencentSettings, WebhookProviderSettings},
    templates::TemplateId,
};
use bangban_platform::{Settings, bus, clock, pii::PiiCipher, rpc, service, shutdown::Shutdown};
use bangban_testkit::{Harness, NatsServer, TestDatabase};
use chrono::{DateTime, NaiveDate, Utc};
use futures::StreamExt;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};
use secrecy::SecretString;
use uuid::Uuid;

const PHONE: &str = "13912345678";
const SPECIALIST: &str = "staff-371625-agent-1";
const WEBHOOK_SECRET: &str = "whsec-test-0123456789";
const RECEIPT_TOKEN: &str = "receipt-token-abc";
const AK_SECRET: &str = "ak-secret-xyz";

/// Monday 2026-03-02 10:00 in Beijing (inside sending hours).
fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-02T02:00:00Z").unwrap().with_timezone(&Utc)
}

fn own_process() -> bool {
    if std::env::var_os("NEXTEST_RUN_ID").is_none() {
        eprintln!("skipped: needs a process of its own (run with cargo nextest)");
        return false;
    }
    true
}

// ---------------------------------------------------------------------------------------------------------
// The mock provider: one HTTP server playing Aliyun (`x-acs-action`), Tencent (`x-tc-action`) and our webhook.
// ---------------------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Call {
    provider: &'static str,
    /// Our message id as the provider saw it (OutId, SessionContext, idempotency-key).
    message_id: String,
    phone: String,
    template: String,
    params: String,
}

#[derive(Default)]
struct MockState {
    /// Every request whose signature was right.
    calls: Vec<Call>,
    /// Requests refused for their signature.
    bad_signatures: u32,
    /// Answers to give before the default success: (status, body).
    script: VecDeque<(u16, String)>,
    /// Webhook idempotency: key → the id answered the first time.
    keys: HashMap<String, String>,
    /// SMS actually "sent" to handsets (a repeated idempotency key sends nothing).
    handsets: u32,
    nonces: Vec<String>,
}

#[derive(Clone)]
struct Mock {
    state: Arc<Mutex<MockState>>,
    url: String,
}

impl Mock {
    async fn start() -> Mock {
        let state = Arc::new(Mutex::new(MockState::default()));
        let app = Router::new().route("/", post(provider)).route("/sms", post(provider)).with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Mock { state, url }
    }

    fn script(&self, answers: &[(u16, &str)]) {
        self.state.lock().unwrap().script.extend(answers.iter().map(|(s, b)| (*s, b.to_string())));
    }

    fn calls(&self) -> Vec<Call> {
        self.state.lock().unwrap().calls.clone()
    }

    fn handsets(&self) -> u32 {
        self.state.lock().unwrap().handsets
    }

    fn bad_signatures(&self) -> u32 {
        self.state.lock().unwrap().bad_signatures
    }
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> &'a str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

/// `Key=v,Key2=v2` or `Key=v, Key2=v2` after the algorithm name.
fn auth_parts(auth: &str) -> HashMap<String, String> {
    let rest = auth.split_once(' ').map(|(_, r)| r).unwrap_or_default();
    rest.split(',').filter_map(|p| p.trim().split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn json(status: u16, body: String) -> axum::response::Response {
    (StatusCode::from_u16(status).unwrap(), [("content-type", "application/json")], body).into_response()
}

/// Checks what the real provider checks, then answers from the script or with success.
async fn provider(
    State(state): State<Arc<Mutex<MockState>>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    let now = Utc::now().timestamp();
    let (call, kind) = if !header(&headers, "x-acs-action").is_empty() {
        // Aliyun, signature V3: recompute over the signed headers, the query and the body.
        let parts = auth_parts(header(&headers, "authorization"));
        let signed: Vec<(String, String)> = parts
            .get("SignedHeaders")
            .map(|s| s.split(';').map(|n| (n.to_string(), header(&headers, n).to_string())).collect())
            .unwrap_or_default();
        let signed_refs: Vec<(&str, &str)> = signed.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        let q: BTreeMap<String, String> = query
            .unwrap_or_default()
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (percent_decode(k), percent_decode(v)))
            .collect();
        let expected = aliyun::sign_v3(
            &SecretString::from(AK_SECRET.to_string()),
            &aliyun::V3Request { method: "POST", canonical_uri: "/", query: &q, headers: &signed_refs, body: &body },
        );
        let date = DateTime::parse_from_rfc3339(header(&headers, "x-acs-date")).map(|d| d.timestamp()).unwrap_or(0);
        let nonce = header(&headers, "x-acs-signature-nonce").to_string();
        let mut st = state.lock().unwrap();
        if parts.get("Signature") != Some(&expected.signature)
            || parts.get("Credential").is_none_or(|c| c != "AKID-test")
            || !signed.iter().any(|(n, _)| n == "x-acs-date")
            || (now - date).abs() > 900
        {
            st.bad_signatures += 1;
            return json(400, r#"{"Code":"SignatureDoesNotMatch","Message":"bad signature","RequestId":"r"}"#.into());
        }
        if st.nonces.contains(&nonce) {
            return json(400, r#"{"Code":"SignatureNonceUsed","Message":"nonce used","RequestId":"r"}"#.into());
        }
        st.nonces.push(nonce);
        for field in ["PhoneNumbers", "SignName", "TemplateCode", "TemplateParam", "OutId"] {
            if q.get(field).is_none_or(|v| v.is_empty()) {
                return json(200, format!(r#"{{"Code":"isv.INVALID_PARAMETERS","Message":"{field} missing"}}"#));
            }
        }
        drop(st);
        (
            Call {
                provider: "aliyun",
                message_id: q["OutId"].clone(),
                phone: q["PhoneNumbers"].clone(),
                template: q["TemplateCode"].clone(),
                params: q["TemplateParam"].clone(),
            },
            "aliyun",
        )
    } else if !header(&headers, "x-tc-action").is_empty() {
        // Tencent, TC3: recompute over the signed headers and the body, in the request's date scope.
        let parts = auth_parts(header(&headers, "authorization"));
        let ts: i64 = header(&headers, "x-tc-timestamp").parse().unwrap_or(0);
        let signed: Vec<(String, String)> = parts
            .get("SignedHeaders")
            .map(|s| s.split(';').map(|n| (n.to_string(), header(&headers, n).to_string())).collect())
            .unwrap_or_default();
        let signed_refs: Vec<(&str, &str)> = signed.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        let expected = tencent::sign_tc3(
            &SecretString::from(AK_SECRET.to_string()),
            &tencent::Tc3Request {
                method: "POST",
                canonical_query: "",
                signed_headers: &signed_refs,
                body: &body,
                service: "sms",
                timestamp: ts,
            },
        );
        let mut st = state.lock().unwrap();
        if parts.get("Signature") != Some(&expected.signature)
            || parts.get("Credential").is_none_or(|c| !c.starts_with("AKID-test/"))
            || (now - ts).abs() > 300
        {
            st.bad_signatures += 1;
            return json(
                200,
                r#"{"Response":{"Error":{"Code":"AuthFailure.SignatureFailure","Message":"bad"},"RequestId":"r"}}"#
                    .into(),
            );
        }
        drop(st);
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        if v["SmsSdkAppId"] != "1400000001" || v["PhoneNumberSet"][0].as_str().is_none() {
            return json(
                200,
                r#"{"Response":{"Error":{"Code":"InvalidParameter","Message":"fields"},"RequestId":"r"}}"#.into(),
            );
        }
        (
            Call {
                provider: "tencent",
                message_id: v["SessionContext"].as_str().unwrap_or_default().into(),
                phone: v["PhoneNumberSet"][0].as_str().unwrap_or_default().into(),
                template: v["TemplateId"].as_str().unwrap_or_default().into(),
                params: v["TemplateParamSet"].to_string(),
            },
            "tencent",
        )
    } else {
        // Our webhook: HMAC over timestamp and body, idempotency key.
        let verified = bangban_platform::webhook::WebhookVerifier::new(SecretString::from(WEBHOOK_SECRET.to_string()))
            .verify(&headers, &body, std::time::SystemTime::now());
        if verified.is_err() {
            state.lock().unwrap().bad_signatures += 1;
            return json(401, r#"{"code":"BAD_SIGNATURE","message":"bad"}"#.into());
        }
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let key = header(&headers, "idempotency-key").to_string();
        if key.is_empty() || v["message_id"] != key.as_str() {
            return json(400, r#"{"code":"NO_KEY","message":"idempotency-key"}"#.into());
        }
        (
            Call {
                provider: "webhook",
                message_id: key,
                phone: v["phone"].as_str().unwrap_or_default().into(),
                template: v["template"].as_str().unwrap_or_default().into(),
                params: v["params"].to_string(),
            },
            "webhook",
        )
    };
    let mut st = state.lock().unwrap();
    if let Some((status, body)) = st.script.pop_front() {
        st.calls.push(call);
        return json(status, body);
    }
    let n = st.calls.len();
    let id = match kind {
        "webhook" => {
            if let Some(id) = st.keys.get(&call.message_id) {
                // The same key again: answered as the first time, nothing sent.
                let id = id.clone();
                st.calls.push(call);
                return json(200, format!(r#"{{"id":"{id}"}}"#));
            }
            let id = format!("gw-{n}");
            st.keys.insert(call.message_id.clone(), id.clone());
            id
        }
        _ => format!("{n}^0"),
    };
    st.handsets += 1;
    st.calls.push(call);
    match kind {
        "aliyun" => json(200, format!(r#"{{"Code":"OK","Message":"OK","BizId":"{id}","RequestId":"r"}}"#)),
        "tencent" => json(
            200,
            format!(
                r#"{{"Response":{{"SendStatusSet":[{{"SerialNo":"{id}","PhoneNumber":"+8613900000000","Fee":1,"SessionContext":"","Code":"Ok","Message":"send success","IsoCode":"CN"}}],"RequestId":"r"}}}}"#
            ),
        ),
        _ => json(200, format!(r#"{{"id":"{id}"}}"#)),
    }
}

// ---------------------------------------------------------------------------------------------------------
// The world: nats-server, database, intake (and routing), notification.
// ---------------------------------------------------------------------------------------------------------

struct Instance {
    service: Arc<NotificationService>,
    shutdown: Shutdown,
}

struct World {
    _nats: NatsServer,
    _db: TestDatabase,
    client: async_nats::Client,
    js: jetstream::Context,
    settings: Settings,
    pii: PiiCipher,
    mock: Mock,
    _others: Shutdown,
    n: Instance,
    applicant: Uuid,
}

async fn instance(settings: &Settings, name: &str) -> Instance {
    let (running, shutdown) = Harness::<NotificationService>::instance(settings, name).await.expect("notification");
    Instance { service: running.service, shutdown }
}

async fn world(provider: &str, routing: bool, tune: impl FnOnce(&mut NotificationSettings)) -> World {
    bangban_platform::runtime::install_crypto_provider();
    if std::env::var_os("NOTIFICATION_TEST_LOG").is_some() {
        bangban_telemetry::testing::init_in_memory();
    }
    clock::set_manual(t0());
    let nats = NatsServer::start().await.expect("nats-server");
    let db = TestDatabase::new("notification").await.expect("database");
    let mock = Mock::start().await;
    let mut settings = Settings::default();
    settings.nats.url = nats.url();
    settings.outbox.poll_interval = Duration::from_millis(50);
    db.apply_to(&mut settings);
    let key = PiiCipher::generate_base64_key();
    settings.pii.key = Some(SecretString::from(key.clone()));
    let mut n = NotificationSettings {
        provider: provider.into(),
        poll_interval_ms: 50,
        receipt_token: Some(SecretString::from(RECEIPT_TOKEN.to_string())),
        webhook: WebhookProviderSettings {
            url: Some(format!("{}/sms", mock.url)),
            secret: Some(SecretString::from(WEBHOOK_SECRET.to_string())),
        },
        aliyun: AliyunSettings {
            access_key_id: Some("AKID-test".into()),
            access_key_secret: Some(SecretString::from(AK_SECRET.to_string())),
            endpoint: Some(mock.url.clone()),
        },
        tencent: TencentSettings {
            secret_id: Some("AKID-test".into()),
            secret_key: Some(SecretString::from(AK_SECRET.to_string())),
            sms_sdk_app_id: Some("1400000001".into()),
            endpoint: Some(mock.url.clone()),
            ..Default::default()
        },
        ..Default::default()
    };
    tune(&mut n);
    settings.set_section("notification", n);
    let client = bus::connect(&settings.nats, "notification-test").await.expect("connect");
    let js = jetstream::new(client.clone());
    bus::ensure_streams(&js, settings.nats.stream_replicas).await.expect("streams");
    let others = Shutdown::new();
    let intake =
        service::start::<bangban_intake::IntakeService>(&settings, client.clone(), &others).await.expect("intake");
    if routing {
        service::start::<bangban_routing::RoutingService>(&settings, client.clone(), &others).await.expect("routing");
    }
    let pii = PiiCipher::from_base64_key(&key).unwrap();
    // The applicant and the specialist as intake holds them (the number encrypted under the shared key).
    let applicant = Uuid::now_v7();
    bangban_intake::entity::applicant::ActiveModel {
        id: Set(applicant.to_string()),
        kind: Set(ApplicantKind::LegalPerson),
        name: Set("滨州市某某置业有限公司".into()),
        id_number_enc: Set(None),
        id_number_index: Set(None),
        credit_code: Set(None),
        phone_enc: Set(Some(pii.encrypt(PHONE))),
        contact_person: Set(Some("王经理".into())),
        created_at: Set(t0()),
    }
    .insert(&intake.db)
    .await
    .unwrap();
    bangban_intake::entity::staff::ActiveModel {
        id: Set(SPECIALIST.into()),
        name: Set("李丽娜".into()),
        role: Set("agent".into()),
        office: Set("371625".into()),
        unit: Set(None),
        number: Set("BB162501".into()),
        position: Set("代办员".into()),
        phone: Set("0543-3000001".into()),
        photo_url: Set(None),
        service_items: Set("[]".into()),
        active: Set(true),
        created_at: Set(t0()),
        updated_at: Set(t0()),
    }
    .insert(&intake.db)
    .await
    .unwrap();
    let n = instance(&settings, "a").await;
    World { _nats: nats, _db: db, client, js, settings, pii, mock, _others: others, n, applicant }
}

impl World {
    /// Publishes an event as its service would (`Nats-Msg-Id` = ce-id), or without `Nats-Msg-Id` (a copy the
    /// broker's duplicate window does not catch, as a redelivery would arrive).
    async fn publish_raw(&self, subject: &str, event: &CloudEvent, broker_dedupe: bool) {
        let mut headers = async_nats::HeaderMap::new();
        for (name, values) in event.to_headers().iter() {
            if !broker_dedupe && name.to_string().eq_ignore_ascii_case("nats-msg-id") {
                continue;
            }
            for v in values {
                headers.append(name.clone(), v.clone());
            }
        }
        self.js.publish_with_headers(subject.to_string(), headers, event.data.clone()).await.unwrap().await.unwrap();
    }

    async fn publish(
        &self,
        t: EventType,
        office: &str,
        unit: Option<&str>,
        data: &impl serde::Serialize,
    ) -> CloudEvent {
        let event = CloudEvent::new(t, "test", Uuid::now_v7().to_string(), data).unwrap();
        let subject = t.subject(office, unit).unwrap().to_string();
        self.publish_raw(&subject, &event, true).await;
        event
    }

    fn accepted(&self) -> CaseAccepted {
        CaseAccepted {
            case_id: Uuid::now_v7(),
            ledger_no: "BB-371625-2026-000123".into(),
            service_type: ServiceType::Commission,
            office: "371625".into(),
            applicant_id: self.applicant,
            applicant_kind: ApplicantKind::LegalPerson,
            project: project(),
            specialist_id: SPECIALIST.into(),
            accepted_by: "staff-371625-office_admin-1".into(),
            accepted_at: clock::now(),
        }
    }

    async fn messages(&self) -> Vec<message::Model> {
        message::Entity::find().all(self.n.service.db()).await.unwrap()
    }

    async fn wait_for(&self, what: &str, mut cond: impl FnMut(&[message::Model]) -> bool) -> Vec<message::Model> {
        for _ in 0..200 {
            let m = self.messages().await;
            if cond(&m) {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if std::env::var_os("NOTIFICATION_TEST_LOG").is_some() {
            eprintln!("{}", bangban_telemetry::testing::captured_logs());
        }
        panic!("timed out waiting for {what}: {:?}", self.messages().await);
    }

    async fn call<O: Operation>(&self, req: &O::Request) -> Result<O::Response, rpc::CallError> {
        rpc::call::<O>(&self.client, req, Duration::from_secs(5)).await
    }

    async fn sms_events(&self, t: EventType) -> Vec<SmsEvent> {
        let stream = self.js.get_stream(EVENTS_STREAM).await.unwrap();
        let consumer = stream
            .create_consumer(pull::Config {
                filter_subject: t.filter_all_offices(),
                deliver_policy: jetstream::consumer::DeliverPolicy::All,
                ..Default::default()
            })
            .await
            .unwrap();
        let mut out = Vec::new();
        let mut batch =
            consumer.fetch().max_messages(100).expires(Duration::from_millis(500)).messages().await.unwrap();
        while let Some(Ok(m)) = batch.next().await {
            assert!(!String::from_utf8_lossy(&m.payload).contains(PHONE), "raw number in an event");
            out.push(serde_json::from_slice(&m.payload).unwrap());
        }
        out
    }
}

fn project() -> ProjectView {
    serde_json::from_value(serde_json::json!({
        "id": Uuid::now_v7(), "name": "年产5万吨新材料项目", "category": ProjectCategory::Industrial,
        "office": "371625"
    }))
    .unwrap_or_else(|e| panic!("project: {e}"))
}

fn task_event(w: &World, status: TaskStatus, action: &str) -> TaskEvent {
    TaskEvent {
        task_id: Uuid::now_v7(),
        case_id: Uuid::now_v7(),
        ledger_no: "BB-371625-2026-000123".into(),
        office: "371625".into(),
        plan_version: 1,
        code: "GCJS-01".into(),
        name: "建设工程规划许可证核发".into(),
        stage: Stage::EngineeringPermit,
        unit_code: "371625-ZRZY".into(),
        unit_office: "371625".into(),
        status,
        promised_working_days: 5,
        received_at: Some(clock::now()),
        paused_since: None,
        applicant_id: w.applicant,
        specialist_id: SPECIALIST.into(),
        planned_end: NaiveDate::from_ymd_opt(2026, 3, 20).unwrap(),
        linked: false,
        action: action.into(),
        actor: "officer-1".into(),
        at: clock::now(),
        note: None,
        supplement: None,
        result: None,
        rejection: None,
        unit_name: Some("博兴县自然资源局".into()),
        acknowledge_by: None,
    }
}

fn terminated(w: &World) -> CaseTerminated {
    serde_json::from_value(serde_json::json!({
        "case_id": Uuid::now_v7(), "ledger_no": "BB-371625-2026-000123", "office": "371625",
        "applicant_id": w.applicant, "specialist_id": SPECIALIST, "previous_status": "in_progress",
        "reason": TerminationReason::ApplicantRequest, "reason_letter": 'a', "note": "企业调整投资计划",
        "terminated_by": "staff-371625-office_admin-1", "terminated_at": clock::now()
    }))
    .unwrap()
}

fn owner(w: &World) -> Vec<String> {
    vec![format!("applicant:{}", w.applicant)]
}

#[tokio::test]
async fn an_accepted_case_texts_the_applicant_once_through_aliyun_and_the_report_delivers_it() {
    if !own_process() {
        return;
    }
    let w = world("aliyun", false, |_| {}).await;
    let data = w.accepted();
    let event = CloudEvent::new(EventType::CASE_ACCEPTED, "intake", data.case_id.to_string(), &data).unwrap();
    let subject = EventType::CASE_ACCEPTED.subject("371625", None).unwrap().to_string();
    // Delivered three times (without Nats-Msg-Id, so the broker's duplicate window does not drop the copies).
    for _ in 0..3 {
        w.publish_raw(&subject, &event, false).await;
    }
    let m = w.wait_for("sent", |m| m.len() == 1 && m[0].state == MessageState::Sent).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(w.messages().await.len(), 1, "one message per (event, recipient, template)");
    let calls = w.mock.calls();
    assert_eq!((calls.len(), w.mock.bad_signatures()), (1, 0), "{calls:?}");
    let call = &calls[0];
    assert_eq!(call.provider, "aliyun");
    assert_eq!(call.message_id, m[0].id, "OutId is our message id");
    assert_eq!(call.phone, PHONE, "mainland numbers go to Aliyun without +86");
    assert_eq!(call.template, "SMS_BB_CASE_ACCEPTED_V1");
    let params: serde_json::Value = serde_json::from_str(&call.params).unwrap();
    assert_eq!(params["specialist_name"], "李丽娜");
    assert_eq!(params["ledger_no"], "BB-371625-2026-000123");
    let stored = &m[0];
    assert_eq!((stored.template_id.as_str(), stored.template_version), ("case_accepted", 1));
    assert_eq!(stored.phone_masked, "139****5678");
    assert!(stored.segments >= 1 && stored.chars > 0);
    assert!(stored.phone_enc.as_deref().is_some_and(|p| p.starts_with("v1:") && !p.contains(PHONE)));
    assert_eq!(w.pii.decrypt(stored.phone_enc.as_deref().unwrap()).unwrap(), "+8613912345678");
    assert_eq!(stored.provider_message_id.as_deref(), Some("0^0"));

    // The in-app notice.
    let inbox: InboxPage = w
        .call::<ops::InboxList>(&ListInbox { owners: owner(&w), unread_only: false, limit: None, offset: None })
        .await
        .unwrap();
    assert_eq!((inbox.total, inbox.unread), (1, 1));
    assert_eq!(inbox.items[0].title, "受理通知");
    assert!(inbox.items[0].text.contains("李丽娜"));
    let read: InboxPage = w.call::<ops::InboxMarkRead>(&MarkRead { owners: owner(&w), ids: vec![] }).await.unwrap();
    assert_eq!(read.unread, 0);
    let others: InboxPage = w
        .call::<ops::InboxList>(&ListInbox {
            owners: vec![format!("applicant:{}", Uuid::now_v7())],
            unread_only: false,
            limit: None,
            offset: None,
        })
        .await
        .unwrap();
    assert_eq!(others.total, 0, "nobody else sees it");

    // The report (SmsReport, Aliyun's batch push) with the callback token.
    let report = format!(
        r#"[{{"phone_number":"{PHONE}","send_time":"2026-03-02 10:00:01","report_time":"2026-03-02 10:00:05","success":true,"err_code":"DELIVERED","err_msg":"用户接收成功","sms_size":"1","biz_id":"0^0","out_id":"{}"}}]"#,
        stored.id
    );
    let req = |token: &str| RecordReceipts {
        provider: ReceiptProvider::Aliyun,
        token: Some(token.into()),
        timestamp: None,
        signature: None,
        delivery: None,
        body: report.clone(),
    };
    let refused = w.call::<ops::ReceiptRecord>(&req("wrong")).await;
    assert!(
        matches!(&refused, Err(rpc::CallError::Problem(p)) if p.status_code() == StatusCode::UNAUTHORIZED),
        "{refused:?}"
    );
    let r: ReceiptsRecorded = w.call::<ops::ReceiptRecord>(&req(RECEIPT_TOKEN)).await.unwrap();
    assert_eq!((r.applied, r.unchanged, r.unknown), (1, 0, 0));
    let again: ReceiptsRecorded = w.call::<ops::ReceiptRecord>(&req(RECEIPT_TOKEN)).await.unwrap();
    assert_eq!((again.applied, again.unchanged), (0, 1), "a repeated report changes nothing");
    let m = w.wait_for("delivered", |m| m[0].state == MessageState::Delivered).await;
    assert!(m[0].delivered_at.is_some());
    // Another provider's callback cannot speak for it.
    let foreign: ReceiptsRecorded = w
        .call::<ops::ReceiptRecord>(&RecordReceipts {
            provider: ReceiptProvider::Tencent,
            token: Some(RECEIPT_TOKEN.into()),
            timestamp: None,
            signature: None,
            delivery: None,
            body: format!(
                r#"[{{"mobile":"{PHONE}","report_status":"FAIL","errmsg":"X","description":"x","sid":"0^0"}}]"#
            ),
        })
        .await
        .unwrap();
    assert_eq!((foreign.applied, foreign.unknown), (0, 1));

    tokio::time::sleep(Duration::from_millis(300)).await;
    let sent = w.sms_events(EventType::SMS_SENT).await;
    let delivered = w.sms_events(EventType::SMS_DELIVERED).await;
    assert_eq!((sent.len(), delivered.len()), (1, 1));
    assert_eq!(sent[0].phone_masked, "139****5678");
    assert_eq!(delivered[0].state, MessageState::Delivered);

    // Staff see it masked.
    let page: MessagePage = w
        .call::<ops::MessageList>(&ListMessages { office: Some("371625".into()), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(page.total, 1);
    assert!(!serde_json::to_string(&page).unwrap().contains(PHONE));
}

#[tokio::test]
async fn tencent_signs_tc3_keeps_parameter_order_and_its_callback_delivers() {
    if !own_process() {
        return;
    }
    let w = world("tencent", false, |_| {}).await;
    let mut t = task_event(&w, TaskStatus::SupplementRequested, "request_supplement");
    t.supplement = Some(SupplementNotice {
        items: vec![
            SupplementItem {
                material: "建设工程设计方案总平面图".into(), reason: "未标注退线".into()
            },
            SupplementItem { material: "土地出让合同".into(), reason: "缺页".into() },
        ],
        due_on: NaiveDate::from_ymd_opt(2026, 3, 9).unwrap(),
        requested_at: clock::now(),
        requested_by: "officer-1".into(),
        supplemented_at: None,
    });
    w.publish(EventType::TASK_SUPPLEMENT_REQUESTED, "371625", Some("371625-ZRZY"), &t).await;
    let m = w.wait_for("sent", |m| m.len() == 1 && m[0].state == MessageState::Sent).await;
    let calls = w.mock.calls();
    assert_eq!((calls.len(), w.mock.bad_signatures()), (1, 0));
    assert_eq!(calls[0].provider, "tencent");
    assert_eq!(calls[0].message_id, m[0].id, "SessionContext is our message id");
    assert_eq!(calls[0].phone, "+8613912345678");
    assert_eq!(calls[0].template, "910301");
    let params: Vec<String> = serde_json::from_str(&calls[0].params).unwrap();
    assert_eq!(
        params,
        ["博兴县自然资源局", "建设工程规划许可证核发", "建设工程设计方案总平面图、土地出让合同", "2026年3月9日"],
        "Tencent's parameters are positional, in the template's order"
    );
    let callback = format!(
        r#"[{{"user_receive_time":"2026-03-02 10:00:09","nationcode":"86","mobile":"{PHONE}","report_status":"FAIL","errmsg":"MK:0001","description":"用户关机","sid":"0^0"}}]"#
    );
    let r: ReceiptsRecorded = w
        .call::<ops::ReceiptRecord>(&RecordReceipts {
            provider: ReceiptProvider::Tencent,
            token: Some(RECEIPT_TOKEN.into()),
            timestamp: None,
            signature: None,
            delivery: None,
            body: callback,
        })
        .await
        .unwrap();
    assert_eq!(r.applied, 1);
    let m = w.wait_for("failed by receipt", |m| m[0].state == MessageState::PermanentFailure).await;
    assert!(m[0].last_error.as_deref().unwrap_or_default().contains("MK:0001"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(w.sms_events(EventType::SMS_FAILED).await.len(), 1);
}

#[tokio::test]
async fn transient_errors_are_retried_with_backoff_and_permanent_ones_never() {
    if !own_process() {
        return;
    }
    let w = world("webhook", false, |_| {}).await;
    w.mock.script(&[(503, r#"{"code":"BUSY","message":"try later"}"#), (500, "oops")]);
    w.publish(EventType::CASE_ACCEPTED, "371625", None, &w.accepted()).await;
    let m = w
        .wait_for("first retry scheduled", |m| {
            m.len() == 1 && m[0].attempts == 1 && m[0].state == MessageState::TemporaryFailure
        })
        .await;
    assert_eq!(m[0].send_after, Some(clock::now() + chrono::Duration::seconds(30)), "30 s after the first attempt");
    clock::advance(chrono::Duration::seconds(30));
    let m = w
        .wait_for("second retry scheduled", |m| m[0].attempts == 2 && m[0].state == MessageState::TemporaryFailure)
        .await;
    assert_eq!(m[0].send_after, Some(clock::now() + chrono::Duration::seconds(60)), "then 60 s");
    clock::advance(chrono::Duration::seconds(60));
    let m = w.wait_for("sent", |m| m[0].state == MessageState::Sent).await;
    assert_eq!((m[0].attempts, w.mock.calls().len(), w.mock.handsets()), (3, 3, 1));

    // A permanent error: one call, no retry, sms.failed.
    w.mock.script(&[(400, r#"{"code":"INVALID_NUMBER","message":"no such number"}"#)]);
    clock::advance(chrono::Duration::minutes(2));
    w.publish(EventType::CASE_TERMINATED, "371625", None, &terminated(&w)).await;
    let m = w.wait_for("failed", |m| m.iter().any(|m| m.state == MessageState::PermanentFailure)).await;
    let failed = m.iter().find(|m| m.state == MessageState::PermanentFailure).unwrap();
    assert_eq!(failed.attempts, 1);
    assert!(failed.last_error.as_deref().unwrap().contains("INVALID_NUMBER"));
    clock::advance(chrono::Duration::hours(5));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(w.mock.calls().len(), 4, "never retried");
    assert_eq!(w.sms_events(EventType::SMS_FAILED).await.len(), 1);

    // Retries are bounded: a message that keeps failing gives up after about four hours.
    w.mock.script(&[(503, "{}"); 20]);
    w.publish(EventType::CASE_SPECIALIST_CHANGED, "371625", None, &serde_json::json!({
        "case_id": Uuid::now_v7(), "ledger_no": "BB-371625-2026-000123", "office": "371625", "applicant_id": w.applicant,
        "from_specialist": SPECIALIST, "to_specialist": SPECIALIST, "reason": "工作调整",
        "changed_by": "staff-371625-office_admin-1", "changed_at": clock::now()
    })).await;
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(150)).await;
        clock::advance(chrono::Duration::hours(1));
    }
    let m = w.wait_for("gave up", |m| m.iter().any(|m| m.state == MessageState::TechnicalFailure)).await;
    let gave_up = m.iter().find(|m| m.state == MessageState::TechnicalFailure).unwrap();
    assert!((5..=12).contains(&gave_up.attempts), "attempts {}", gave_up.attempts);
}

#[tokio::test]
async fn a_crash_after_the_webhook_call_sends_again_with_the_same_key_and_the_handset_gets_one_sms() {
    if !own_process() {
        return;
    }
    let mut w = world("webhook", false, |_| {}).await;
    w.n.service.faults.crash_after_provider_call.store(true, Ordering::SeqCst);
    w.publish(EventType::CASE_ACCEPTED, "371625", None, &w.accepted()).await;
    let m = w.wait_for("sending", |m| m.len() == 1 && m[0].state == MessageState::Sending).await;
    for _ in 0..20 {
        if !w.mock.calls().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(w.mock.calls().len(), 1);
    // The process dies; another starts on the same database.
    w.n.shutdown.shutdown(Duration::from_secs(10)).await;
    w.n = instance(&w.settings, "b").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(w.mock.calls().len(), 1, "not before the resend delay");
    clock::advance(chrono::Duration::seconds(61));
    let after = w.wait_for("sent", |m| m[0].state == MessageState::Sent).await;
    assert_eq!(after[0].id, m[0].id);
    let calls = w.mock.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].message_id, calls[1].message_id, "the same idempotency key");
    assert_eq!(w.mock.handsets(), 1, "one SMS");
}

#[tokio::test]
async fn a_crash_after_the_aliyun_call_never_sends_again_the_receipt_settles_it_or_it_becomes_a_technical_failure() {
    if !own_process() {
        return;
    }
    let mut w = world("aliyun", false, |_| {}).await;
    w.n.service.faults.crash_after_provider_call.store(true, Ordering::SeqCst);
    w.publish(EventType::CASE_ACCEPTED, "371625", None, &w.accepted()).await;
    w.wait_for("the first sending", |m| m.len() == 1 && m[0].state == MessageState::Sending).await;
    clock::advance(chrono::Duration::minutes(2));
    w.publish(EventType::CASE_TERMINATED, "371625", None, &terminated(&w)).await;
    let m = w.wait_for("both sending", |m| m.len() == 2 && m.iter().all(|m| m.state == MessageState::Sending)).await;
    w.n.shutdown.shutdown(Duration::from_secs(10)).await;
    w.n = instance(&w.settings, "b").await;
    clock::advance(chrono::Duration::minutes(10));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(w.mock.calls().len(), 2, "Aliyun does not de-duplicate: never sent again");
    // The report names our id (OutId): delivered after all.
    let first = m.iter().find(|m| m.template_id == TemplateId::CaseAccepted).unwrap();
    let report = format!(
        r#"[{{"phone_number":"{PHONE}","success":true,"err_code":"DELIVERED","err_msg":"ok","biz_id":"","out_id":"{}"}}]"#,
        first.id
    );
    let r: ReceiptsRecorded = w
        .call::<ops::ReceiptRecord>(&RecordReceipts {
            provider: ReceiptProvider::Aliyun,
            token: Some(RECEIPT_TOKEN.into()),
            timestamp: None,
            signature: None,
            delivery: None,
            body: report,
        })
        .await
        .unwrap();
    assert_eq!(r.applied, 1);
    // The other: no answer, no receipt for 72 hours.
    clock::advance(chrono::Duration::hours(72));
    let m = w.wait_for("stuck", |m| m.iter().any(|m| m.state == MessageState::TechnicalFailure)).await;
    let states: BTreeMap<&str, &str> = m.iter().map(|m| (m.template_id.as_str(), m.state.as_str())).collect();
    assert_eq!(states["case_accepted"], "delivered");
    assert_eq!(states["case_terminated"], "technical_failure");
    assert_eq!(w.mock.calls().len(), 2);
}

#[tokio::test]
async fn limits_and_quiet_hours_defer_and_urgent_notices_bypass_them() {
    if !own_process() {
        return;
    }
    let w = world("webhook", false, |_| {}).await;
    // 22:30 in Beijing.
    clock::set(DateTime::parse_from_rfc3339("2026-03-02T14:30:00Z").unwrap().with_timezone(&Utc));
    w.publish(EventType::CASE_ACCEPTED, "371625", None, &w.accepted()).await;
    let m = w.wait_for("deferred", |m| m.len() == 1 && m[0].defer_reason.is_some()).await;
    let morning = DateTime::parse_from_rfc3339("2026-03-03T00:00:00Z").unwrap().with_timezone(&Utc);
    assert_eq!(
        (m[0].state.as_str(), m[0].send_after, m[0].defer_reason.as_deref()),
        ("created", Some(morning), Some("quiet_hours"))
    );
    // Termination is urgent: it goes now, and says why it bypassed.
    w.publish(EventType::CASE_TERMINATED, "371625", None, &terminated(&w)).await;
    let m = w
        .wait_for("urgent sent", |m| {
            m.iter().any(|m| m.template_id == TemplateId::CaseTerminated && m.state == MessageState::Sent)
        })
        .await;
    let urgent = m.iter().find(|m| m.template_id == TemplateId::CaseTerminated).unwrap();
    assert_eq!(urgent.defer_reason.as_deref(), Some("bypass:quiet_hours"));
    assert_eq!(w.mock.calls().len(), 1);
    // 08:00: the deferred one goes.
    clock::set(morning);
    w.wait_for("morning send", |m| m.iter().all(|m| m.state == MessageState::Sent)).await;
    // A third within the minute waits for the per-minute window.
    clock::advance(chrono::Duration::seconds(10));
    w.publish(EventType::CASE_ACCEPTED, "371625", None, &w.accepted()).await;
    let m = w
        .wait_for("per minute", |m| m.len() == 3 && m.iter().any(|m| m.defer_reason.as_deref() == Some("per_minute")))
        .await;
    let waiting = m.iter().find(|m| m.defer_reason.as_deref() == Some("per_minute")).unwrap();
    assert_eq!(waiting.send_after, Some(morning + chrono::Duration::seconds(60)));
    clock::advance(chrono::Duration::seconds(50));
    w.wait_for("sent after the minute", |m| m.iter().all(|m| m.state == MessageState::Sent)).await;
    assert_eq!(w.mock.handsets(), 3, "deferred, never dropped");
}

#[tokio::test]
async fn people_and_units_without_a_mobile_get_the_inbox_notice_and_an_sms_failed() {
    if !own_process() {
        return;
    }
    let w = world("webhook", true, |_| {}).await;
    let alarm = serde_json::json!({
        "task_id": Uuid::now_v7(), "case_id": Uuid::now_v7(), "ledger_no": "BB-371625-2026-000123", "office": "371625",
        "code": "GCJS-01", "name": "建设工程规划许可证核发", "stage": Stage::EngineeringPermit,
        "unit_code": "371625-ZRZY", "unit_office": "371625", "applicant_id": w.applicant, "specialist_id": SPECIALIST,
        "alert": "warning", "status": "running", "promised_working_days": 5, "extension_working_days": 0,
        "due_at": "2026-03-06T16:00:00Z", "due_date": "2026-03-06", "remaining_working_days": 2, "provisional": false,
        "reason": "warning", "scheduled_for": clock::now(), "at": clock::now()
    });
    w.publish(EventType::TASK_WARNING, "371625", Some("371625-ZRZY"), &alarm).await;
    let m = w.wait_for("two notices", |m| m.len() == 2).await;
    assert!(m.iter().all(
        |m| m.state == MessageState::PermanentFailure && m.last_error.as_deref().unwrap().starts_with("NO_MOBILE")
    ));
    let owners: Vec<&str> = m.iter().map(|m| m.owner.as_str()).collect();
    assert!(owners.contains(&"staff:staff-371625-agent-1") && owners.contains(&"unit:371625-ZRZY"), "{owners:?}");
    let unit: InboxPage = w
        .call::<ops::InboxList>(&ListInbox {
            owners: vec!["unit:371625-ZRZY".into()],
            unread_only: true,
            limit: None,
            offset: None,
        })
        .await
        .unwrap();
    assert_eq!(unit.unread, 1);
    assert!(unit.items[0].text.contains("剩余2个工作日"), "{}", unit.items[0].text);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(w.sms_events(EventType::SMS_FAILED).await.len(), 2);
    assert!(w.mock.calls().is_empty());
}

#[tokio::test]
async fn no_raw_phone_number_in_logs_spans_events_or_answers() {
    if !own_process() {
        return;
    }
    let _spans = bangban_telemetry::testing::init_in_memory();
    let w = world("log", false, |_| {}).await;
    w.publish(EventType::CASE_ACCEPTED, "371625", None, &w.accepted()).await;
    w.wait_for("sent", |m| m.len() == 1 && m[0].state == MessageState::Sent).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let logs = bangban_telemetry::testing::captured_logs();
    assert!(
        logs.contains("139****5678") || logs.contains("+86 139****5678"),
        "the log provider logs the masked number"
    );
    assert!(!logs.contains(PHONE), "raw number in the logs");
    assert_eq!(w.sms_events(EventType::SMS_SENT).await.len(), 1);
    let page: MessagePage = w.call::<ops::MessageList>(&ListMessages::default()).await.unwrap();
    assert!(!serde_json::to_string(&page).unwrap().contains(PHONE));
    // At rest: only ciphertext and the blind index.
    for m in w.messages().await {
        assert!(!format!("{m:?}").contains(PHONE));
    }
}

#[tokio::test]
async fn every_followed_event_makes_its_notice_with_the_template_filled_in() {
    if !own_process() {
        return;
    }
    let w = world("webhook", true, |s| s.per_minute = 100).await;
    let case_id = Uuid::now_v7();
    // A 代办 case: its results are collected by the agent (§7.6.2).
    let mut accepted = w.accepted();
    accepted.case_id = case_id;
    w.publish(EventType::CASE_ACCEPTED, "371625", None, &accepted).await;
    w.wait_for("accepted", |m| m.len() == 1).await;
    // 结果领取: the approval's document.
    let mut approved = task_event(&w, TaskStatus::Approved, "approve");
    approved.case_id = case_id;
    approved.result = Some(
        serde_json::from_value(serde_json::json!({
            "kind": "建设工程规划许可证", "number": "建字第371625202600123号", "issued_on": "2026-03-02"
        }))
        .unwrap(),
    );
    w.publish(EventType::TASK_APPROVED, "371625", Some("371625-ZRZY"), &approved).await;
    // 评价邀请 (from evaluation).
    w.publish(
        EventType::EVALUATION_INVITED,
        "371625",
        None,
        &serde_json::json!({
            "evaluation_id": Uuid::now_v7(), "case_id": case_id, "task_id": approved.task_id,
            "ledger_no": "BB-371625-2026-000123", "office": "371625", "item_name": "建设工程规划许可证核发",
            "applicant_id": w.applicant, "link_enc": w.pii.encrypt("https://bangban.example.invalid/e/Ab3x9"), "invited_at": clock::now()
        }),
    )
    .await;
    // 帮办代办员变更.
    w.publish(
        EventType::CASE_SPECIALIST_CHANGED,
        "371625",
        None,
        &serde_json::json!({
            "case_id": case_id, "ledger_no": "BB-371625-2026-000123", "office": "371625", "applicant_id": w.applicant,
            "from_specialist": "staff-371625-agent-2", "to_specialist": SPECIALIST, "reason": "原代办员岗位调整",
            "changed_by": "staff-371625-office_admin-1", "changed_at": clock::now()
        }),
    )
    .await;
    // 督办通知 to the unit's head (the directory's window phone is a landline: inbox only, and sms.failed).
    w.publish(EventType::SUPERVISION_ISSUED, "371625", None, &serde_json::json!({
        "id": Uuid::now_v7(), "number": "滨督〔2026〕371625-00012号", "kind": "overdue", "status": "issued",
        "task_id": approved.task_id, "case_id": case_id, "ledger_no": "BB-371625-2026-000123", "office": "371625",
        "task_code": "GCJS-01", "task_name": "建设工程规划许可证核发", "unit_code": "371625-ZRZY", "unit_name": null,
        "unit_office": "371625", "reason": "超过承诺时限未办结", "due_at": null, "days_overdue": 3,
        "issued_at": clock::now(), "response_due": "2026-03-04", "escalate_on": "2026-03-09", "answer": null,
        "resolved_at": null, "escalation": null, "decision": null,
        "applicant_id": w.applicant, "specialist_id": SPECIALIST, "at": clock::now()
    })).await;
    let m = w
        .wait_for("five messages", |m| {
            m.len() == 5 && m.iter().all(|m| m.state == MessageState::Sent || m.state == MessageState::PermanentFailure)
        })
        .await;
    let by: HashMap<&str, &message::Model> = m.iter().map(|m| (m.template_id.as_str(), m)).collect();
    assert_eq!(
        by["result_ready"].text,
        "您申请的“建设工程规划许可证核发（建设工程规划许可证）”已办结，领取方式：代办员代取（博兴县自然资源局，代办员将连同申请材料一并返还您）。"
    );
    assert!(by["evaluation_invitation"].text.ends_with("评价入口：https://bangban.example.invalid/e/Ab3x9"));
    let staff_view: MessagePage =
        w.call::<ops::MessageList>(&ListMessages { case_id: Some(case_id), ..Default::default() }).await.unwrap();
    let invitation = staff_view.items.iter().find(|m| m.template_id == "evaluation_invitation").unwrap();
    assert!(invitation.text.ends_with("/e/Ab***"), "staff do not see the one-time code: {}", invitation.text);
    assert!(
        by["specialist_changed"].text.contains("李丽娜") && by["specialist_changed"].text.contains("原代办员岗位调整")
    );
    let supervision = by["supervision_issued"];
    assert_eq!((supervision.owner.as_str(), supervision.state.as_str()), ("unit:371625-ZRZY", "permanent_failure"));
    assert!(supervision.urgent);
    assert!(supervision.text.contains("滨督〔2026〕371625-00012号") && supervision.text.contains("2026年3月4日"));
    for t in ["result_ready", "evaluation_invitation", "specialist_changed"] {
        assert_eq!(by[t].state, MessageState::Sent, "{t}");
        assert_eq!(by[t].owner, format!("applicant:{}", w.applicant));
    }
    let inbox: InboxPage = w
        .call::<ops::InboxList>(&ListInbox { owners: owner(&w), unread_only: true, limit: Some(10), offset: None })
        .await
        .unwrap();
    assert_eq!(inbox.unread, 4);
}

#[tokio::test]
async fn two_replicas_share_the_queue_and_keep_a_numbers_limits() {
    if !own_process() {
        return;
    }
    let w = world("webhook", false, |s| s.batch_size = 2).await;
    let b = instance(&w.settings, "b").await;
    for _ in 0..6 {
        w.publish(EventType::CASE_ACCEPTED, "371625", None, &w.accepted()).await;
    }
    let m = w
        .wait_for("all six claimed or deferred", |m| {
            m.len() == 6 && m.iter().all(|m| m.state == MessageState::Sent || m.defer_reason.is_some())
        })
        .await;
    let released: Vec<_> = m.iter().filter(|m| m.released_us.is_some()).collect();
    assert_eq!(released.len(), 1, "one a minute per number, across replicas: {m:?}");
    assert_eq!(w.mock.handsets(), 1);
    // Minute by minute, one more each, up to five an hour.
    for minute in 1..=6 {
        clock::advance(chrono::Duration::seconds(60));
        let expect = (minute + 1).min(5);
        w.wait_for("next minute", |m| m.iter().filter(|m| m.state == MessageState::Sent).count() == expect).await;
    }
    let m = w.messages().await;
    let waiting = m.iter().find(|m| m.state == MessageState::Created).unwrap();
    assert_eq!(waiting.defer_reason.as_deref(), Some("per_hour"));
    assert_eq!(w.mock.handsets(), 5);
    b.shutdown.shutdown(Duration::from_secs(5)).await;
}
