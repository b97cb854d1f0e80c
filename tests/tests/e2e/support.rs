//! The whole platform on real parts for one test: a nats-server on a random port with its own
//! JetStream store, a temp SQLite file or a fresh PostgreSQL schema, intake, planning, routing, deadline and the
//! gateway.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use async_nats::jetstream::{self, consumer::pull};
use bangban_deadline::DeadlineService;
use bangban_intake::IntakeService;
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

impl TestApp {
    pub async fn spawn() -> TestApp {
        let spans = bangban_telemetry::testing::init_in_memory();
        bangban_platform::runtime::install_crypto_provider();
        let nats = NatsServer::start().await.expect("nats-server");
        let db = TestDatabase::new("e2e").await.expect("test database");
        let settings = test_settings(&nats, &db);
        let client = bus::connect(&settings.nats, "e2e").await.expect("connect");
        bus::ensure_streams(&jetstream::new(client.clone())).await.expect("streams");
        let shutdown = Shutdown::new();
        let running = bangban_intake::start(&settings, client.clone(), &shutdown).await.expect("intake");
        bangban_intake::seed::seed(&running.db).await.expect("seed");
        let planning = bangban_planning::start(&settings, client.clone(), &shutdown).await.expect("planning");
        let routing = bangban_routing::start(&settings, client.clone(), &shutdown).await.expect("routing");
        bangban_routing::seed::seed(&routing.db).await.expect("units");
        let deadline = bangban_deadline::start(&settings, client.clone(), &shutdown).await.expect("deadline");
        let readiness = Readiness {
            nats: client.clone(),
            databases: vec![
                ("intake", running.db.clone()),
                ("planning", planning.db.clone()),
                ("routing", routing.db.clone()),
                ("deadline", deadline.db.clone()),
            ],
        };
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
            auth,
            spans,
            _db: db,
        }
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
