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
    sync::{
        Arc, Mutex,
        atomic::{AtomicI64, AtomicUsize, Ordering},
    },
    time::{Duration, SystemTime},
};

use async_nats::jetstream::{self, consumer::pull};
use axum::{
    Form, Json, Router,
    extract::{Query, State},
    http::StatusCode as AxumStatus,
    response::IntoResponse,
    routing::{get, post},
};
use bangban_deadline::DeadlineService;
use bangban_evaluation::EvaluationService;
use bangban_gateway::auth::{Authenticator, Role};
use bangban_intake::IntakeService;
use bangban_notification::NotificationService;
use bangban_planning::PlanningService;
use bangban_platform::{
    Settings, bus,
    health::Readiness,
    service::{self, Service},
    shutdown::Shutdown,
};
use bangban_routing::RoutingService;
use bangban_testkit::{NatsServer, TestDatabase};
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use futures::StreamExt;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SpanData};
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

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

/// Adjusts `S`'s own settings section (`BANGBAN__<S>__…`): the current one, changed by `f`, set back.
///
/// ```ignore
/// TestApp::spawn_with_notification_and(|s| tune::<NotificationService>(s, |n| n.per_minute = 1))
/// ```
pub fn tune<S: Service>(settings: &mut Settings, f: impl FnOnce(&mut S::Settings)) {
    let mut own: S::Settings = settings.section(S::NAME).expect("the service's settings section");
    f(&mut own);
    settings.set_section(S::NAME, own);
}

/// Notification's settings for a test: the webhook provider at `url`, the receipt token, quiet hours off and
/// limits generous enough that no test message is deferred, quick polls.
pub fn notification_settings(settings: &mut Settings, url: &str) {
    tune::<NotificationService>(settings, |n| notification_settings_at(n, url));
}

fn notification_settings_at(n: &mut bangban_notification::settings::NotificationSettings, url: &str) {
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
    tune::<EvaluationService>(settings, |e| {
        e.link_base = Some(EVALUATION_LINK_BASE.to_string());
        e.poll_interval_ms = 200;
    });
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
        let running = service::start::<IntakeService>(&settings, client.clone(), &shutdown).await.expect("intake");
        bangban_intake::seed::seed(&running.db).await.expect("seed");
        let planning = service::start::<PlanningService>(&settings, client.clone(), &shutdown).await.expect("planning");
        let routing = service::start::<RoutingService>(&settings, client.clone(), &shutdown).await.expect("routing");
        bangban_routing::seed::seed(&routing.db).await.expect("units");
        let deadline = service::start::<DeadlineService>(&settings, client.clone(), &shutdown).await.expect("deadline");
        let notification = if with_notification {
            Some(
                service::start::<NotificationService>(&settings, client.clone(), &shutdown)
                    .await
                    .expect("notification"),
            )
        } else {
            None
        };
        let evaluation = if optional.evaluation {
            Some(service::start::<EvaluationService>(&settings, client.clone(), &shutdown).await.expect("evaluation"))
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
// The stand-in OIDC issuer
// ---------------------------------------------------------------------------------------------------

/// The console's client id at the stand-in issuer ([`OidcIssuer`]).
pub const OIDC_CLIENT_ID: &str = "bangban-console";

/// The stand-in OIDC issuer every test signs in at, on a local port: discovery, the JWKS of [`EC_KEY`], an
/// authorization endpoint that signs the user in at once (answering with the code and state as JSON instead of
/// redirecting) and a token endpoint that checks what a real one checks — the client, the code once, the
/// redirect URI, the PKCE verifier. Its tokens ([`sign`]) are `oidc-user-7`'s, an assistant of the city office.
/// Refresh tokens rotate (`refresh-1`, `refresh-2`, …: one per login and per refresh); one used twice is refused
/// and revokes the grant, as real issuers do. Refreshes are answered slowly (500 ms), so that concurrent
/// requests overlap.
pub struct OidcIssuer {
    /// Its URL, the `iss` of its tokens.
    pub url: String,
    /// Codes handed out and not yet redeemed: the PKCE challenge, the nonce and the redirect URI.
    codes: Mutex<HashMap<String, (String, String, String)>>,
    codes_issued: AtomicUsize,
    /// Every token request's form, in order.
    pub grants: Mutex<Vec<HashMap<String, String>>>,
    /// The `aud` of the ID tokens it issues (default: [`OIDC_CLIENT_ID`]).
    pub id_audience: Mutex<Value>,
    /// The `aud` of the access tokens it issues (default: [`OIDC_CLIENT_ID`]; `null`: none).
    pub access_audience: Mutex<Value>,
    /// Lifetime of the access tokens handed out at login, in seconds (default an hour; refreshed ones live an
    /// hour).
    pub login_ttl: AtomicI64,
    /// The refresh token now valid (`None` once a replay revoked the grant).
    pub refresh: Mutex<Option<String>>,
    refresh_issued: AtomicUsize,
    /// Refresh grants it was asked for.
    pub refresh_grants: AtomicUsize,
}

impl OidcIssuer {
    /// Starts it on `127.0.0.1` (a free port); it runs until the test ends.
    pub async fn start() -> Arc<OidcIssuer> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the issuer");
        let url = format!("http://{}", listener.local_addr().expect("the issuer's address"));
        let issuer = Arc::new(OidcIssuer {
            url,
            codes: Mutex::default(),
            codes_issued: AtomicUsize::new(0),
            grants: Mutex::default(),
            id_audience: Mutex::new(json!(OIDC_CLIENT_ID)),
            access_audience: Mutex::new(json!(OIDC_CLIENT_ID)),
            login_ttl: AtomicI64::new(3600),
            refresh: Mutex::default(),
            refresh_issued: AtomicUsize::new(0),
            refresh_grants: AtomicUsize::new(0),
        });
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(Self::discovery))
            .route("/keys", get(|| async { Json(issuer_jwks()) }))
            .route("/authorize", get(Self::authorize))
            .route("/token", post(Self::token))
            .with_state(issuer.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.expect("the issuer") });
        issuer
    }

    async fn discovery(State(s): State<Arc<OidcIssuer>>) -> Json<Value> {
        let url = &s.url;
        Json(json!({
            "issuer": url, "jwks_uri": format!("{url}/keys"),
            "authorization_endpoint": format!("{url}/authorize"), "token_endpoint": format!("{url}/token"),
        }))
    }

    /// The user signs in at the issuer; it remembers the challenge, the nonce and the redirect URI and answers
    /// with a code.
    async fn authorize(State(s): State<Arc<OidcIssuer>>, Query(q): Query<HashMap<String, String>>) -> Json<Value> {
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["client_id"], OIDC_CLIENT_ID);
        let code = format!("code-{}", s.codes_issued.fetch_add(1, Ordering::SeqCst));
        let remembered = (q["code_challenge"].clone(), q["nonce"].clone(), q["redirect_uri"].clone());
        s.codes.lock().unwrap().insert(code.clone(), remembered);
        Json(json!({ "code": code, "state": q["state"] }))
    }

    /// A new refresh token, from now on the one valid.
    fn rotate_refresh(&self) -> String {
        let next = format!("refresh-{}", self.refresh_issued.fetch_add(1, Ordering::SeqCst) + 1);
        *self.refresh.lock().unwrap() = Some(next.clone());
        next
    }

    /// An access token living `ttl` seconds.
    fn access_token(&self, ttl: i64) -> String {
        let now = chrono::Utc::now().timestamp();
        let mut claims = json!({"sub": "oidc-user-7", "role": "assistant", "office": "371600", "iss": self.url,
            "exp": now + ttl, "iat": now});
        let audience = self.access_audience.lock().unwrap().clone();
        if !audience.is_null() {
            claims["aud"] = audience;
        }
        sign(&claims)
    }

    async fn token(State(s): State<Arc<OidcIssuer>>, Form(f): Form<HashMap<String, String>>) -> impl IntoResponse {
        s.grants.lock().unwrap().push(f.clone());
        let refused =
            |why: &str| (AxumStatus::BAD_REQUEST, Json(json!({"error": "invalid_grant", "error_description": why})));
        if f.get("client_id").map(String::as_str) != Some(OIDC_CLIENT_ID) {
            return refused("client").into_response();
        }
        match f.get("grant_type").map(String::as_str) {
            Some("authorization_code") => {
                let code = f.get("code").cloned().unwrap_or_default();
                let Some((challenge, nonce, redirect)) = s.codes.lock().unwrap().remove(&code) else {
                    return refused("unknown or used code").into_response();
                };
                let verifier = f.get("code_verifier").cloned().unwrap_or_default();
                if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != challenge {
                    return refused("PKCE verifier").into_response();
                }
                if f.get("redirect_uri") != Some(&redirect) {
                    return refused("redirect_uri").into_response();
                }
                let now = chrono::Utc::now().timestamp();
                let id_audience = s.id_audience.lock().unwrap().clone();
                let id_token = sign(
                    &json!({"sub": "oidc-user-7", "aud": id_audience, "iss": s.url, "nonce": nonce, "exp": now + 300}),
                );
                let ttl = s.login_ttl.load(Ordering::SeqCst);
                let refresh = s.rotate_refresh();
                Json(json!({"access_token": s.access_token(ttl), "id_token": id_token, "refresh_token": refresh,
                    "token_type": "Bearer", "expires_in": ttl}))
                .into_response()
            }
            Some("refresh_token") => {
                s.refresh_grants.fetch_add(1, Ordering::SeqCst);
                // Slow, so that concurrent requests overlap.
                tokio::time::sleep(Duration::from_millis(500)).await;
                let presented = f.get("refresh_token").cloned();
                {
                    let mut current = s.refresh.lock().unwrap();
                    if current.is_none() || *current != presented {
                        *current = None; // replayed or unknown: the whole grant is revoked
                        return refused("refresh token").into_response();
                    }
                }
                let next = s.rotate_refresh();
                Json(json!({"access_token": s.access_token(3600), "refresh_token": next, "token_type": "Bearer",
                    "expires_in": 3600}))
                .into_response()
            }
            _ => refused("grant").into_response(),
        }
    }
}

/// OIDC mode against `issuer` with the console's client ([`OIDC_CLIENT_ID`]) at an HTTPS public URL, and the
/// real PII key production mode wants (32 bytes, base64).
pub fn oidc_settings(s: &mut Settings, issuer: &str) {
    s.auth.mode = bangban_platform::config::AuthMode::Oidc;
    s.auth.issuer = issuer.to_string();
    let web: bangban_gateway::settings::WebSettings = s.section("web").unwrap();
    s.set_section("web", bangban_gateway::settings::WebSettings { oidc_client_id: Some(OIDC_CLIENT_ID.into()), ..web });
    s.http.public_url = Some("https://bangban.example".into());
    s.pii.key = Some(secrecy::SecretString::from(URL_SAFE_NO_PAD.encode([7u8; 32])));
}

// ---------------------------------------------------------------------------------------------------
// The stand-in issuer's key
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
