//! The whole platform on real parts for one test: a nats-server on a random port with its own
//! JetStream store, a temp SQLite file or a fresh PostgreSQL schema, intake, planning, routing, deadline and the
//! gateway — and notification when the test asks for it ([`TestApp::spawn_with_notification`]), sending through
//! a stand-in SMS gateway ([`MockSms`]) that speaks notification's signed webhook protocol; and evaluation, with
//! notification, when the test asks for it ([`TestApp::spawn_with_evaluation`]).
//!
//! Notification and evaluation are opt-in: notification turns every `case.accepted` with a mobile number into an
//! `sms.sent` event, evaluation every concluded task into `evaluation.invited`, and the bus tests count the
//! stream's messages exactly.

use std::{
    collections::{BTreeMap, HashMap},
    fmt::Write as _,
    net::SocketAddr,
    path::{Path, PathBuf},
    process::Command,
    sync::{Arc, Mutex},
    time::{Duration, SystemTime},
};

use async_nats::jetstream::{self, consumer::pull};
use bangban_deadline::DeadlineService;
use bangban_evaluation::EvaluationService;
use bangban_intake::IntakeService;
use bangban_notification::NotificationService;
use bangban_planning::PlanningService;
use bangban_platform::{
    Settings,
    auth::{Authenticator, Role},
    bus,
    health::Readiness,
    shutdown::Shutdown,
};
use bangban_routing::RoutingService;
use bangban_testkit::{NatsServer, TestDatabase};
use futures::StreamExt;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SpanData};
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};

pub struct TestApp {
    pub nats: NatsServer,
    pub settings: Settings,
    pub addr: SocketAddr,
    pub http: reqwest::Client,
    pub client: async_nats::Client,
    pub shutdown: Shutdown,
    pub intake: Arc<IntakeService>,
    pub intake_db: DatabaseConnection,
    pub planning: Arc<PlanningService>,
    pub planning_db: DatabaseConnection,
    pub routing: Arc<RoutingService>,
    pub routing_db: DatabaseConnection,
    pub deadline: Arc<DeadlineService>,
    pub deadline_db: DatabaseConnection,
    /// Notification, when started ([`TestApp::spawn_with_notification`]; see [`TestApp::notification`]).
    pub notification: Option<Arc<NotificationService>>,
    pub notification_db: Option<DatabaseConnection>,
    /// The SMS gateway notification sends to, when notification runs.
    pub sms: Option<MockSms>,
    /// Evaluation, when started ([`TestApp::spawn_with_evaluation`]; see [`TestApp::evaluation`]).
    pub evaluation: Option<Arc<EvaluationService>>,
    pub evaluation_db: Option<DatabaseConnection>,
    pub auth: Authenticator,
    pub spans: InMemorySpanExporter,
    _db: TestDatabase,
}

/// Settings for a test: the test's NATS and database, port 0, quick polls.
pub fn test_settings(nats: &NatsServer, db: &TestDatabase) -> Settings {
    let mut settings = Settings::default();
    settings.nats.url = nats.url();
    settings.nats.request_timeout = Duration::from_secs(3);
    settings.nats.connect_deadline = Duration::from_secs(10);
    settings.http.listen = "127.0.0.1:0".parse().unwrap();
    settings.http.body_limit = 16 * 1024;
    settings.outbox.poll_interval = Duration::from_millis(200);
    db.apply_to(&mut settings);
    if db.is_postgres() {
        settings.data_dir = db.dir();
    }
    settings
}

/// The webhook secret notification and [`MockSms`] share in the tests.
pub const SMS_WEBHOOK_SECRET: &str = "e2e-sms-webhook-secret";
/// The `?token=` of the Aliyun and Tencent receipt callbacks in the tests.
pub const SMS_RECEIPT_TOKEN: &str = "e2e-receipt-token";

/// Notification's settings for a test: the webhook provider at `url`, the receipt token, quiet hours off and
/// limits generous enough that no test message is deferred, quick polls.
pub fn notification_settings(settings: &mut Settings, url: &str) {
    let n = &mut settings.notification;
    n.provider = "webhook".into();
    n.webhook.url = Some(url.to_string());
    n.webhook.secret = Some(secrecy::SecretString::from(SMS_WEBHOOK_SECRET.to_string()));
    n.receipt_token = Some(secrecy::SecretString::from(SMS_RECEIPT_TOKEN.to_string()));
    n.quiet_hours = "none".into();
    n.per_minute = 100;
    n.per_hour = 1000;
    n.per_day = 10_000;
    n.poll_interval_ms = 50;
}

/// Where the evaluation links of the tests point (`<base>/e/<code>`).
pub const EVALUATION_LINK_BASE: &str = "https://bangban.e2e.invalid";

/// Evaluation's settings for a test: links under [`EVALUATION_LINK_BASE`], a quick scan.
pub fn evaluation_settings(settings: &mut Settings) {
    let e = &mut settings.evaluation;
    e.link_base = Some(EVALUATION_LINK_BASE.to_string());
    e.poll_interval_ms = 200;
}

/// The services a test starts besides those every test gets.
#[derive(Debug, Clone, Copy, Default)]
struct Optional {
    notification: bool,
    evaluation: bool,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::start(Optional::default(), |_| {}).await
    }

    /// The platform with its settings adjusted by `adjust` (e.g. the web section, OIDC login).
    pub async fn spawn_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
        Self::start(Optional::default(), adjust).await
    }

    /// The platform with notification too, sending to a [`MockSms`] ([`TestApp::sms`]), with
    /// [`notification_settings`].
    pub async fn spawn_with_notification() -> TestApp {
        Self::start(Optional { notification: true, evaluation: false }, |_| {}).await
    }

    /// As [`TestApp::spawn_with_notification`], with the settings adjusted by `adjust` last (e.g. the limits).
    pub async fn spawn_with_notification_and(adjust: impl FnOnce(&mut Settings)) -> TestApp {
        Self::start(Optional { notification: true, evaluation: false }, adjust).await
    }

    /// The platform with evaluation ([`TestApp::evaluation`], [`evaluation_settings`]) and notification, which
    /// texts the invitations to a [`MockSms`] as [`TestApp::spawn_with_notification`] does.
    pub async fn spawn_with_evaluation() -> TestApp {
        Self::start(Optional { notification: true, evaluation: true }, |_| {}).await
    }

    /// Evaluation and notification, with `adjust` applied to the settings first (the attack suite's).
    #[allow(dead_code)]
    pub async fn spawn_with_evaluation_and(adjust: impl FnOnce(&mut Settings)) -> TestApp {
        Self::start(Optional { notification: true, evaluation: true }, adjust).await
    }

    async fn start(optional: Optional, adjust: impl FnOnce(&mut Settings)) -> TestApp {
        let with_notification = optional.notification;
        let spans = bangban_telemetry::testing::init_in_memory();
        bangban_platform::runtime::install_crypto_provider();
        let nats = NatsServer::start().await.expect("nats-server");
        let db = TestDatabase::new("e2e").await.expect("test database");
        let mut settings = test_settings(&nats, &db);
        let shutdown = Shutdown::new();
        if optional.evaluation {
            evaluation_settings(&mut settings);
        }
        let sms = if with_notification {
            let sms = MockSms::start(SMS_WEBHOOK_SECRET, &shutdown).await;
            notification_settings(&mut settings, &sms.url);
            Some(sms)
        } else {
            None
        };
        adjust(&mut settings);
        let client = bus::connect(&settings.nats, "e2e").await.expect("connect");
        bus::ensure_streams(&jetstream::new(client.clone()), settings.nats.stream_replicas).await.expect("streams");
        let running = bangban_intake::start(&settings, client.clone(), &shutdown).await.expect("intake");
        bangban_intake::seed::seed(&running.db).await.expect("seed");
        let planning = bangban_planning::start(&settings, client.clone(), &shutdown).await.expect("planning");
        let routing = bangban_routing::start(&settings, client.clone(), &shutdown).await.expect("routing");
        bangban_routing::seed::seed(&routing.db).await.expect("units");
        let deadline = bangban_deadline::start(&settings, client.clone(), &shutdown).await.expect("deadline");
        let notification = if with_notification {
            Some(bangban_notification::start(&settings, client.clone(), &shutdown).await.expect("notification"))
        } else {
            None
        };
        let evaluation = if optional.evaluation {
            Some(bangban_evaluation::start(&settings, client.clone(), &shutdown).await.expect("evaluation"))
        } else {
            None
        };
        let mut databases = vec![
            ("intake", running.db.clone()),
            ("planning", planning.db.clone()),
            ("routing", routing.db.clone()),
            ("deadline", deadline.db.clone()),
        ];
        if let Some(n) = &notification {
            databases.push(("notification", n.db.clone()));
        }
        if let Some(e) = &evaluation {
            databases.push(("evaluation", e.db.clone()));
        }
        let readiness = Readiness { nats: client.clone(), databases };
        let addr = bangban_gateway::start(&settings, client.clone(), readiness, &shutdown).await.expect("gateway");
        let auth = Authenticator::from_settings(&settings).expect("auth");
        TestApp {
            nats,
            settings,
            addr,
            http: reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap(),
            client,
            shutdown,
            intake: running.service,
            intake_db: running.db,
            planning: planning.service,
            planning_db: planning.db,
            routing: routing.service,
            routing_db: routing.db,
            deadline: deadline.service,
            deadline_db: deadline.db,
            notification_db: notification.as_ref().map(|n| n.db.clone()),
            notification: notification.map(|n| n.service),
            sms,
            evaluation_db: evaluation.as_ref().map(|e| e.db.clone()),
            evaluation: evaluation.map(|e| e.service),
            auth,
            spans,
            _db: db,
        }
    }

    /// Notification (the app must have been spawned with it).
    pub fn notification(&self) -> &Arc<NotificationService> {
        self.notification.as_ref().expect("spawned with notification")
    }

    /// Notification's database (the app must have been spawned with it).
    pub fn notification_db(&self) -> &DatabaseConnection {
        self.notification_db.as_ref().expect("spawned with notification")
    }

    /// The SMS gateway notification sends to (the app must have been spawned with notification).
    pub fn sms(&self) -> &MockSms {
        self.sms.as_ref().expect("spawned with notification")
    }

    /// Evaluation (the app must have been spawned with it).
    pub fn evaluation(&self) -> &Arc<EvaluationService> {
        self.evaluation.as_ref().expect("spawned with evaluation")
    }

    /// Evaluation's database (the app must have been spawned with it).
    pub fn evaluation_db(&self) -> &DatabaseConnection {
        self.evaluation_db.as_ref().expect("spawned with evaluation")
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn token(&self, role: Role, office: &str, applicant: Option<&str>) -> String {
        let unit = (role == Role::Officer).then(|| "U1".to_string());
        self.auth
            .issue("tester", role, office, unit, applicant.map(Into::into), Duration::from_secs(600))
            .expect("token")
    }

    /// A token for a named person (e.g. a seeded specialist, `staff-371625-assistant-1`).
    pub fn token_as(&self, sub: &str, role: Role, office: &str) -> String {
        self.auth.issue(sub, role, office, None, None, Duration::from_secs(600)).expect("token")
    }

    /// A token for an officer of a responsible unit (the `unit` claim, e.g. `371625-XZSP`), named `officer-<unit>`.
    pub fn officer_token(&self, unit: &str, office: &str) -> String {
        let sub = format!("officer-{unit}");
        self.auth.issue(&sub, Role::Officer, office, Some(unit.into()), None, Duration::from_secs(600)).expect("token")
    }

    pub fn staff_token(&self) -> String {
        self.token(Role::Assistant, "371600", None)
    }

    pub async fn post_case(&self, token: &str, body: &Value) -> reqwest::Response {
        self.http.post(self.url("/api/v1/cases")).bearer_auth(token).json(body).send().await.expect("request")
    }

    pub fn js(&self) -> jetstream::Context {
        jetstream::new(self.client.clone())
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.trigger();
    }
}

/// A valid new case.
pub fn sample_case() -> Value {
    json!({
        "service_type": "assist",
        "office": "371600",
        "applicant": {
            "kind": "legal_person", "name": "滨州市某某新材料有限公司",
            "credit_code": "91440300708461136T", "phone": "13812341234", "contact_person": "王经理"
        },
        "project": {"name": "年产5万吨新材料项目", "category": "industrial", "office": "371625"}
    })
}

/// An ephemeral pull consumer of `BANGBAN_EVENTS` on `filter`, from the start of the stream.
pub async fn consumer(js: &jetstream::Context, filter: &str) -> jetstream::consumer::Consumer<pull::Config> {
    let stream = js.get_stream("BANGBAN_EVENTS").await.expect("stream");
    stream
        .create_consumer(pull::Config {
            filter_subject: filter.to_string(),
            ack_policy: jetstream::consumer::AckPolicy::Explicit,
            // An ephemeral consumer left without a pull for 5 s is deleted by the server; a slow setup must not lose it.
            inactive_threshold: Duration::from_secs(600),
            ..Default::default()
        })
        .await
        .expect("consumer")
}

/// The next message of a consumer, or `None` after `wait`.
pub async fn next_message(
    consumer: &jetstream::consumer::Consumer<pull::Config>,
    wait: Duration,
) -> Option<jetstream::Message> {
    let mut batch = consumer.fetch().max_messages(1).expires(wait).messages().await.expect("fetch");
    match batch.next().await {
        Some(Ok(m)) => Some(m),
        _ => None,
    }
}

/// Waits until `cond` holds, checking every 20 ms, for at most `limit`.
pub async fn eventually<F, Fut>(limit: Duration, mut cond: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if cond().await {
            return true;
        }
        if tokio::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Finished spans with this name.
pub fn spans_named(exporter: &InMemorySpanExporter, name: &str) -> Vec<SpanData> {
    exporter.get_finished_spans().unwrap_or_default().into_iter().filter(|s| s.name == name).collect()
}

/// Number of rows of a table in the connection's schema.
pub async fn count_rows(db: &DatabaseConnection, table: &str) -> i64 {
    use sea_orm::{ConnectionTrait, Statement};
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), format!("SELECT COUNT(*) AS n FROM {table}")))
        .await
        .expect("count")
        .expect("row");
    row.try_get::<i64>("", "n").expect("n")
}

/// One request the stand-in SMS gateway took.
#[derive(Debug, Clone)]
pub struct SmsCall {
    /// `idempotency-key` (notification's message id).
    pub key: String,
    /// The JSON body as sent (`message_id`, `phone`, `template`, `params`, `text`, …).
    pub body: Value,
    /// Whether it was the first request with its key (a repeat is answered without "sending" again).
    pub first: bool,
}

#[derive(Debug, Default)]
struct SmsState {
    calls: Vec<SmsCall>,
    /// Our id for every key seen (what a repeat is answered with).
    ids: HashMap<String, String>,
    /// Requests refused for a missing or wrong signature, or a missing key.
    refused: usize,
}

/// A stand-in SMS gateway on `127.0.0.1:0` speaking notification's webhook protocol: it verifies
/// `x-bangban-signature` (HMAC-SHA256 of `"<timestamp>.<body>"`, [`bangban_platform::webhook::WebhookVerifier`]),
/// refuses a bad one with 401, and de-duplicates by `idempotency-key`, answering `{"id": "…"}` (the same id to a
/// repeat).
#[derive(Clone)]
pub struct MockSms {
    pub url: String,
    pub secret: String,
    state: Arc<Mutex<SmsState>>,
}

impl MockSms {
    pub async fn start(secret: &str, shutdown: &Shutdown) -> MockSms {
        use axum::{
            Json, Router,
            body::Bytes,
            extract::State,
            http::{HeaderMap, StatusCode},
            routing::post,
        };
        type Shared = (Arc<Mutex<SmsState>>, bangban_platform::webhook::WebhookVerifier);
        async fn send(
            State((state, verifier)): State<Shared>,
            headers: HeaderMap,
            body: Bytes,
        ) -> (StatusCode, Json<Value>) {
            let mut state = state.lock().unwrap();
            if verifier.verify(&headers, &body, SystemTime::now()).is_err() {
                state.refused += 1;
                return (StatusCode::UNAUTHORIZED, Json(json!({"code": "BAD_SIGNATURE", "message": "bad signature"})));
            }
            let Some(key) = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_string) else {
                state.refused += 1;
                return (
                    StatusCode::BAD_REQUEST,
                    Json(json!({"code": "NO_KEY", "message": "idempotency-key missing"})),
                );
            };
            let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let first = !state.ids.contains_key(&key);
            let next = format!("mock-{}", state.ids.len() + 1);
            let id = state.ids.entry(key.clone()).or_insert(next).clone();
            state.calls.push(SmsCall { key, body, first });
            (StatusCode::OK, Json(json!({ "id": id })))
        }
        let state: Arc<Mutex<SmsState>> = Arc::default();
        let verifier = bangban_platform::webhook::WebhookVerifier::new(secrecy::SecretString::from(secret.to_string()));
        let app = Router::new().route("/sms", post(send)).with_state((state.clone(), verifier));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the SMS gateway");
        let addr = listener.local_addr().expect("addr");
        let token = shutdown.token();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).with_graceful_shutdown(token.cancelled_owned()).await;
        });
        MockSms { url: format!("http://{addr}/sms"), secret: secret.to_string(), state }
    }

    /// Every request taken, repeats included, in order.
    pub fn calls(&self) -> Vec<SmsCall> {
        self.state.lock().unwrap().calls.clone()
    }

    /// The messages "sent": one per distinct idempotency key.
    pub fn sent(&self) -> Vec<SmsCall> {
        self.calls().into_iter().filter(|c| c.first).collect()
    }

    /// Requests refused (bad signature or no key).
    pub fn refused(&self) -> usize {
        self.state.lock().unwrap().refused
    }
}

// ---------------------------------------------------------------------------------------------------
// The workspace and its binaries
// ---------------------------------------------------------------------------------------------------

/// The workspace's root directory (above `tests/`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace").to_path_buf()
}

/// The target directory's profile folder this test was built into (`target/debug/deps/e2e-…` → `target/debug`),
/// where `cargo build --workspace` puts the binaries.
pub fn binaries_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable");
    let deps = exe.parent().expect("deps");
    if deps.file_name().is_some_and(|n| n == "deps") { deps.parent().expect("profile dir") } else { deps }.to_path_buf()
}

/// `cargo build` in `root` with the profile and target directory of `bin_dir` (a [`binaries_dir`]), so that what
/// it builds lands in `bin_dir`; the caller adds the packages and binaries.
pub fn cargo_build(root: &Path, bin_dir: &Path) -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| option_env!("CARGO").unwrap_or("cargo").into());
    let profile = match bin_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => "dev".to_string(),
        Some(other) => other.to_string(),
    };
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--profile", &profile]).current_dir(root);
    if let Some(target_dir) = bin_dir.parent() {
        cmd.arg("--target-dir").arg(target_dir);
    }
    cmd
}

// ---------------------------------------------------------------------------------------------------
// The rendered Helm chart
// ---------------------------------------------------------------------------------------------------

/// Every object of `helm/bangban` as Helm renders it (`tools/render-chart.py`, Helm's own engine).
pub struct Manifests {
    pub objects: Vec<Value>,
}

impl Manifests {
    /// `tools/render-chart.py` with `args` (`--values FILE`, `--set-json JSON`, `--name`, `--namespace`, as the
    /// script takes them), in the chart tools' virtualenv (created or brought up to date by
    /// `tools/ensure-chart-tools.sh`, quick when it is).
    pub fn render(root: &Path, args: &[&str]) -> Manifests {
        let ensure = Command::new("bash")
            .arg(root.join("tools/ensure-chart-tools.sh"))
            .current_dir(root)
            .output()
            .expect("running tools/ensure-chart-tools.sh");
        assert!(
            ensure.status.success(),
            "tools/ensure-chart-tools.sh failed ({}): {}",
            ensure.status,
            String::from_utf8_lossy(&ensure.stderr)
        );
        let python = root.join(".tools/venv/bin/python");
        let tmp = tempfile::tempdir().expect("a temporary directory");
        let out = tmp.path().join("rendered.json");
        let render = Command::new(&python)
            .arg(root.join("tools/render-chart.py"))
            .args(args)
            .arg("--out")
            .arg(&out)
            .current_dir(root)
            .output()
            .expect("running tools/render-chart.py");
        assert!(
            render.status.success(),
            "the chart does not render with {args:?} ({}):\n{}",
            render.status,
            String::from_utf8_lossy(&render.stderr)
        );
        let text = std::fs::read_to_string(&out).expect("the rendered objects");
        let objects: Vec<Value> = serde_json::from_str(&text).expect("a JSON array of objects");
        Manifests { objects }
    }

    pub fn find(&self, kind: &str, name: &str) -> Option<&Value> {
        self.objects.iter().find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
    }

    /// A rendered Secret's data (`data`, base64, and `stringData`), or `None` when the chart renders no such Secret.
    pub fn secret(&self, name: &str) -> Option<BTreeMap<String, Vec<u8>>> {
        use base64::{Engine, engine::general_purpose::STANDARD};
        let secret = self.find("Secret", name)?;
        let mut out = BTreeMap::new();
        for (k, v) in secret["data"].as_object().into_iter().flatten() {
            let text = v.as_str().unwrap_or_else(|| panic!("Secret {name}: data.{k} is not a string"));
            let bytes = STANDARD.decode(text).unwrap_or_else(|e| panic!("Secret {name}: data.{k} is not base64: {e}"));
            out.insert(k.clone(), bytes);
        }
        for (k, v) in secret["stringData"].as_object().into_iter().flatten() {
            out.insert(k.clone(), scalar(v).into_bytes());
        }
        Some(out)
    }

    /// A rendered ConfigMap's data (`data` and `binaryData`).
    pub fn config_map(&self, name: &str) -> Option<BTreeMap<String, Vec<u8>>> {
        use base64::{Engine, engine::general_purpose::STANDARD};
        let cm = self.find("ConfigMap", name)?;
        let mut out = BTreeMap::new();
        for (k, v) in cm["data"].as_object().into_iter().flatten() {
            out.insert(k.clone(), scalar(v).into_bytes());
        }
        for (k, v) in cm["binaryData"].as_object().into_iter().flatten() {
            let bytes = STANDARD.decode(v.as_str().unwrap_or_default()).expect("binaryData is base64");
            out.insert(k.clone(), bytes);
        }
        Some(out)
    }
}

/// A YAML scalar as Kubernetes would read it into a string.
pub fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

// ---------------------------------------------------------------------------------------------------
// The secured NATS server
// ---------------------------------------------------------------------------------------------------

/// `deploy/nats`: the secured configuration, the development passwords, the tenants' streams.
pub fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/nats")
}

/// A file of `deploy/nats`.
pub fn read_deploy_file(name: &str) -> String {
    let path = deploy_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// `KEY=value` lines of an env file (comments and blank lines skipped).
pub fn parse_env(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
        .collect()
}

/// The variable that holds a user's password (`BANGBAN_NATS_PASSWORD_<USER>`), in `dev-passwords.env` and
/// `bangban-auth.conf`.
pub fn password_variable(user: &str) -> String {
    format!("BANGBAN_NATS_PASSWORD_{}", user.to_uppercase().replace('-', "_"))
}

/// The development passwords of `dev-passwords.env`, by variable.
pub fn dev_passwords() -> BTreeMap<String, String> {
    parse_env(&read_deploy_file("dev-passwords.env")).into_iter().collect()
}

/// The development password of a user, from `dev-passwords.env`.
pub fn dev_password(user: &str) -> String {
    let var = password_variable(user);
    dev_passwords().remove(&var).unwrap_or_else(|| panic!("{var} is not in dev-passwords.env"))
}

/// `nats-secure.conf`'s accounts and users as a test server runs them: the development passwords as variables,
/// the checked-in `bangban-auth.conf`, room for the tenants' reserved storage whatever the disk, and
/// `max_payload: <max_payload>` when given (`nats-secure.conf` has `Some("1MB")`, the server's default).
/// (The testkit sets the address, a random port and a temporary store directory on the command line.)
pub fn secured_config_text(max_payload: Option<&str>) -> String {
    let mut text = String::from("# development passwords from dev-passwords.env\n");
    for (key, value) in dev_passwords() {
        let _ = writeln!(text, "{key}: {value:?}");
    }
    text.push_str("jetstream { max_file_store: 64GB }\n");
    if let Some(max_payload) = max_payload {
        let _ = writeln!(text, "max_payload: {max_payload}");
    }
    text.push_str(&read_deploy_file("bangban-auth.conf"));
    text
}

// ---------------------------------------------------------------------------------------------------
// The OIDC stand-in issuer's key
// ---------------------------------------------------------------------------------------------------

/// The stand-in issuers' P-256 test key (the platform's auth tests use the same).
pub const EC_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgGwEYio7I49weC6VO
cVDodysCwjnT9ruZTppZK4UF+2KhRANCAATSgc/Jrv4dEC80t9PYON8wVHhwk7S4
6+Ule9qOEBuwAEgdqsLmaCe+7Xh7aBQCHjDa/Iq7V1/MFa4cx0AxpTvS
-----END PRIVATE KEY-----
";
/// Its public point.
pub const EC_X: &str = "0oHPya7-HRAvNLfT2DjfMFR4cJO0uOvlJXvajhAbsAA";
pub const EC_Y: &str = "SB2qwuZoJ77teHtoFAIeMNr8irtXX8wVrhzHQDGlO9I";

/// The issuer's JWKS: [`EC_KEY`]'s public key as `k1`, for ES256.
pub fn issuer_jwks() -> Value {
    json!({"keys": [{"kty": "EC", "crv": "P-256", "x": EC_X, "y": EC_Y, "kid": "k1", "use": "sig", "alg": "ES256"}]})
}

/// `claims` as a token signed with [`EC_KEY`] (ES256, `kid` `k1`).
pub fn sign(claims: &Value) -> String {
    let key = jsonwebtoken::EncodingKey::from_ec_pem(EC_KEY.as_bytes()).expect("EC key");
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some("k1".into());
    jsonwebtoken::encode(&header, claims, &key).expect("token")
}
