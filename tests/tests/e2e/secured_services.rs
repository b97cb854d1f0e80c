//! The real services on the secured NATS configuration (`deploy/nats`, 安全配置): each service logs in as its
//! own user through `bus::connect`, in the forms a deployment uses (user and password, the password in the
//! URL, an NKey seed or seed file, an operator-mode `.creds` file), and a case goes from acceptance to tasks at
//! the units through the gateway. A refused login fails at once, naming the user and never the secret. The
//! streams a service finds are never changed: an operator's settings survive a restart and are reported.
//!
//! `nats_permissions.rs` proves the permissions with hand-made sessions; this proves the services themselves.

use std::time::{Duration, Instant};

use async_nats::jetstream::{self, stream};
use bangban_contracts::{
    intake::CaseView,
    planning::PlanView,
    routing::{TaskStatus, TaskView},
};
use bangban_deadline::DeadlineService;
use bangban_evaluation::EvaluationService;
use bangban_gateway::auth::{Authenticator, Role};
use bangban_intake::IntakeService;
use bangban_notification::NotificationService;
use bangban_planning::PlanningService;
use bangban_platform::{
    Settings,
    bus::{self, BusError},
    config::NatsSettings,
    health::Readiness,
    service,
    shutdown::Shutdown,
};
use bangban_routing::RoutingService;
use bangban_testkit::{NatsServer, TestDatabase};
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use nkeys::KeyPair;
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::support::{
    consumer, dev_password, dev_passwords, eventually, next_message, sample_case, secured_config_text, test_settings,
};

// ---------------------------------------------------------------------------------------------------
// Logging in to the secured server (support.rs starts it)
// ---------------------------------------------------------------------------------------------------

/// `base` logging in as `user` with its password (`BANGBAN__NATS__USER` / `BANGBAN__NATS__PASSWORD`).
fn as_user(base: &Settings, user: &str) -> Settings {
    let mut settings = base.clone();
    settings.nats.user = Some(user.to_string());
    settings.nats.password = Some(SecretString::from(dev_password(user)));
    settings
}

/// `base` logging in as `user` with the password in the URL (`nats://user:password@host:port`).
fn as_user_in_url(base: &Settings, nats: &NatsServer, user: &str) -> Settings {
    let mut settings = base.clone();
    settings.nats.url = format!("nats://{user}:{}@127.0.0.1:{}", dev_password(user), nats.port());
    settings
}

/// What `runtime::bootstrap` does for a process before it starts its service: connect as the configured
/// user, make sure of the event streams (not the gateway).
async fn bootstrap(settings: &Settings, process: &str) -> async_nats::Client {
    let client = bus::connect(&settings.nats, process).await.unwrap_or_else(|e| panic!("{process} connects: {e}"));
    if bus::creates_event_streams(process) {
        bus::ensure_streams(&jetstream::new(client.clone()), settings.nats.stream_replicas)
            .await
            .unwrap_or_else(|e| panic!("{process} makes sure of the streams: {e}"));
    }
    client
}

async fn json_of<T: serde::de::DeserializeOwned>(res: reqwest::Response, status: StatusCode, what: &str) -> T {
    let got = res.status();
    let text = res.text().await.expect("body");
    assert_eq!(got, status, "{what}: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what}: {e}: {text}"))
}

// ---------------------------------------------------------------------------------------------------
// The real services
// ---------------------------------------------------------------------------------------------------

/// Intake (password in the URL), planning, routing, deadline, notification, evaluation and the gateway (user
/// and password settings), each on its own connection as its own user of `bangban-auth.conf`, as their
/// binaries run them; a case accepted through the gateway gets its plan, the plan is published and routing
/// dispatches the tasks to the units.
#[tokio::test]
async fn the_real_services_run_on_the_secured_server_each_as_its_own_user() {
    let _spans = bangban_telemetry::testing::init_in_memory();
    bangban_platform::runtime::install_crypto_provider();
    let nats = NatsServer::with_config(&secured_config_text(Some("1MB"))).await.expect("the secured nats-server");
    let db = TestDatabase::new("e2e").await.expect("test database");
    let base = test_settings(&nats, &db);
    let shutdown = Shutdown::new();

    let intake_settings = as_user_in_url(&base, &nats, "intake");
    let intake_client = bootstrap(&intake_settings, "bangban-intake").await;
    let intake =
        service::start::<IntakeService>(&intake_settings, intake_client.clone(), &shutdown).await.expect("intake");
    bangban_intake::seed::seed(&intake.db).await.expect("seed");

    let settings = as_user(&base, "planning");
    let planning =
        service::start::<PlanningService>(&settings, bootstrap(&settings, "bangban-planning").await, &shutdown)
            .await
            .expect("planning");

    let settings = as_user(&base, "routing");
    let routing = service::start::<RoutingService>(&settings, bootstrap(&settings, "bangban-routing").await, &shutdown)
        .await
        .expect("routing");
    bangban_routing::seed::seed(&routing.db).await.expect("units");

    let settings = as_user(&base, "deadline");
    let deadline =
        service::start::<DeadlineService>(&settings, bootstrap(&settings, "bangban-deadline").await, &shutdown)
            .await
            .expect("deadline");

    let settings = as_user(&base, "notification");
    let notification =
        service::start::<NotificationService>(&settings, bootstrap(&settings, "bangban-notification").await, &shutdown)
            .await
            .expect("notification");

    let settings = as_user(&base, "evaluation");
    let evaluation =
        service::start::<EvaluationService>(&settings, bootstrap(&settings, "bangban-evaluation").await, &shutdown)
            .await
            .expect("evaluation");

    let gateway_settings = as_user(&base, "gateway");
    let gateway_client = bootstrap(&gateway_settings, "bangban-gateway").await;
    let readiness = Readiness { nats: gateway_client.clone(), databases: Vec::new() };
    let addr = bangban_gateway::start(&gateway_settings, gateway_client, readiness, &shutdown).await.expect("gateway");
    let url = |path: &str| format!("http://{addr}{path}");
    let http = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
    let auth = Authenticator::from_settings(&gateway_settings).expect("auth");
    let ttl = Duration::from_secs(600);

    // A case accepted by the city's window (intake publishes case.accepted) …
    let token = auth.issue("tester", Role::Assistant, "371600", None, None, ttl).expect("token");
    let res = http.post(url("/api/v1/cases")).bearer_auth(&token).json(&sample_case()).send().await.expect("post");
    let case: CaseView = json_of(res, StatusCode::CREATED, "accept a case").await;
    let specialist = auth.issue(&case.specialist_id, Role::Assistant, &case.office, None, None, ttl).expect("token");

    // … gets its plan from planning, which the specialist publishes …
    let plan_url = url(&format!("/api/v1/cases/{}/plan", case.id));
    let drafted = eventually(Duration::from_secs(30), || async {
        http.get(&plan_url).bearer_auth(&specialist).send().await.is_ok_and(|r| r.status() == StatusCode::OK)
    })
    .await;
    assert!(drafted, "no plan for case {} after 30 s", case.id);
    let res = http
        .post(format!("{plan_url}/publish"))
        .bearer_auth(&specialist)
        .json(&json!({"note": "方案已与服务对象确认"}))
        .send()
        .await
        .expect("publish");
    let plan: PlanView = json_of(res, StatusCode::OK, "publish the plan").await;
    assert!(!plan.items.is_empty());

    // … and routing dispatches its tasks to the responsible units.
    let tasks_url = url(&format!("/api/v1/cases/{}/tasks", case.id));
    let tasks = || async {
        let res = http.get(&tasks_url).bearer_auth(&specialist).send().await.expect("tasks");
        json_of::<Vec<TaskView>>(res, StatusCode::OK, "the case's tasks").await
    };
    let routed = eventually(Duration::from_secs(30), || async { tasks().await.len() == plan.items.len() }).await;
    let tasks = tasks().await;
    assert!(routed, "{} tasks for {} items after 30 s", tasks.len(), plan.items.len());
    assert!(tasks.iter().all(|t| !t.unit_code.is_empty()), "every task is at a unit: {tasks:?}");
    let dispatched: Vec<&TaskView> = tasks.iter().filter(|t| t.status == TaskStatus::Dispatched).collect();
    assert!(!dispatched.is_empty(), "no task dispatched: {tasks:?}");
    assert!(dispatched.iter().all(|t| t.dispatched_at.is_some()));

    // The dispatches are events routing published as itself, stored in BANGBAN_EVENTS (read as the operators).
    let ops = bootstrap(&as_user(&base, "ops"), "ops").await;
    let dispatches = consumer(&jetstream::new(ops), "bb.evt.*.task.dispatched.*").await;
    let first = next_message(&dispatches, Duration::from_secs(10)).await.expect("a task.dispatched event");
    assert!(tasks.iter().any(|t| first.subject.ends_with(&format!(".{}", t.unit_code))), "{}", first.subject);

    shutdown.trigger();
    drop((intake, planning, routing, deadline, notification, evaluation));
    // No password reached a log line, the one in intake's URL included.
    let logs = bangban_telemetry::testing::captured_logs();
    for (var, password) in dev_passwords() {
        assert!(!logs.contains(&password), "the password of {var} was logged");
    }
}

/// A wrong password, an unknown user or no credentials at all fail `connect` at once (not after the connect
/// deadline), with an error that names the user and not the password.
#[tokio::test]
async fn a_refused_login_fails_at_once_naming_the_user_and_not_the_password() {
    let nats = NatsServer::with_config(&secured_config_text(Some("1MB"))).await.expect("the secured nats-server");
    let deadline = Duration::from_secs(30);
    let plain = NatsSettings { url: nats.url(), connect_deadline: deadline, ..Default::default() };
    let wrong = "wrong-password-4711";
    let cases = [
        (
            "password settings",
            NatsSettings { user: Some("intake".into()), password: Some(SecretString::from(wrong)), ..plain.clone() },
            "\"intake\"",
        ),
        (
            "password in the URL",
            NatsSettings { url: format!("nats://planning:{wrong}@127.0.0.1:{}", nats.port()), ..plain.clone() },
            "\"planning\"",
        ),
        (
            "unknown user",
            NatsSettings { user: Some("nobody".into()), password: Some(SecretString::from(wrong)), ..plain.clone() },
            "\"nobody\"",
        ),
        ("no credentials", plain.clone(), "anonymous"),
    ];
    for (what, settings, user) in cases {
        let started = Instant::now();
        let err = bus::connect(&settings, "test").await.err().unwrap_or_else(|| panic!("{what}: let in"));
        let took = started.elapsed();
        assert!(took < Duration::from_secs(5), "{what}: refused only after {took:?}");
        assert!(matches!(err, BusError::Refused { .. }), "{what}: {err:?}");
        let message = err.to_string();
        assert!(message.contains(user), "{what}: {message}");
        assert!(message.contains("authorization violation"), "{what}: {message}");
        assert!(!message.contains(wrong), "{what}: the password shows: {message}");
    }
    // The right password goes in, with either form.
    let right = NatsSettings {
        url: format!("nats://127.0.0.1:{}", nats.port()),
        ..as_user(&Settings::default(), "intake").nats
    };
    bus::connect(&right, "test").await.expect("user and password");
    let in_url = NatsSettings {
        url: format!("nats://gateway:{}@127.0.0.1:{}", dev_password("gateway"), nats.port()),
        ..plain.clone()
    };
    bus::connect(&in_url, "test").await.expect("password in the URL");
    // Two forms at once are a configuration error, before any connection.
    let both = NatsSettings { nkey_seed: Some(SecretString::from(KeyPair::new_user().seed().unwrap())), ..right };
    let err = bus::connect(&both, "test").await.expect_err("two forms");
    assert!(
        err.to_string().contains("BANGBAN__NATS__USER") && err.to_string().contains("BANGBAN__NATS__NKEY_SEED"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------------
// NKeys and operator mode (.creds)
// ---------------------------------------------------------------------------------------------------

/// A server whose only user is an NKey (`authorization { users: [ { nkey: U… } ] }`): the service logs in with the
/// seed (`BANGBAN__NATS__NKEY_SEED`) or a file holding it (`BANGBAN__NATS__NKEY_SEED_FILE`, whitespace around it
/// is fine); another seed is refused at once, and the error shows no seed.
#[tokio::test]
async fn a_service_logs_in_with_an_nkey_seed_or_seed_file() {
    let user = KeyPair::new_user();
    let seed = user.seed().unwrap();
    let conf = format!("authorization {{ users: [ {{ nkey: {:?} }} ] }}\n", user.public_key());
    let nats = NatsServer::with_config(&conf).await.expect("nats-server with an nkey user");
    let plain = NatsSettings { url: nats.url(), connect_deadline: Duration::from_secs(30), ..Default::default() };

    let with_seed = NatsSettings { nkey_seed: Some(SecretString::from(seed.clone())), ..plain.clone() };
    let client = bus::connect(&with_seed, "nkey").await.expect("nkey seed");
    bus::ensure_streams(&jetstream::new(client.clone()), 1).await.expect("streams");
    client.request("$JS.API.INFO", "".into()).await.expect("a round trip");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("nkey.seed");
    std::fs::write(&file, format!("\n  {seed}  \n")).unwrap();
    let with_file = NatsSettings { nkey_seed_file: Some(file.clone()), ..plain.clone() };
    let client = bus::connect(&with_file, "nkey-file").await.expect("nkey seed file");
    client.flush().await.expect("flush");

    let stranger = KeyPair::new_user().seed().unwrap();
    std::fs::write(&file, &stranger).unwrap();
    let started = Instant::now();
    let err = bus::connect(&with_file, "nkey-file").await.expect_err("another user's seed");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(matches!(err, BusError::Refused { .. }), "{err:?}");
    assert!(err.to_string().contains("BANGBAN__NATS__NKEY_SEED_FILE"), "{err}");
    assert!(!err.to_string().contains(&stranger) && !err.to_string().contains(&seed), "{err}");
}

/// A JWT of NATS operator mode (v2), signed by `issuer`.
fn jwt(issuer: &KeyPair, subject: &str, name: &str, nats: Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(json!({"typ": "JWT", "alg": "ed25519-nkey"}).to_string());
    let claims = json!({
        "jti": uuid::Uuid::new_v4().simple().to_string().to_uppercase(),
        "iat": chrono::Utc::now().timestamp(),
        "iss": issuer.public_key(),
        "sub": subject,
        "name": name,
        "nats": nats,
    });
    let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signature = issuer.sign(format!("{header}.{claims}").as_bytes()).expect("sign");
    format!("{header}.{claims}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// An account's JWT, with JetStream (unlimited) when `jetstream` (never for the system account).
fn account_jwt(operator: &KeyPair, account: &KeyPair, name: &str, jetstream: bool) -> String {
    let mut limits = json!({
        "subs": -1, "data": -1, "payload": -1, "imports": -1, "exports": -1, "wildcards": true, "conn": -1,
        "leaf": -1,
    });
    if jetstream {
        for key in ["mem_storage", "disk_storage", "streams", "consumer"] {
            limits[key] = json!(-1);
        }
    }
    jwt(
        operator,
        &account.public_key(),
        name,
        json!({"type": "account", "version": 2, "limits": limits, "default_permissions": {"pub": {}, "sub": {}}}),
    )
}

/// A `.creds` file as `nsc` writes it: the user's JWT and its seed.
fn creds(account: &KeyPair, user: &KeyPair, name: &str) -> String {
    let jwt = jwt(
        account,
        &user.public_key(),
        name,
        json!({"type": "user", "version": 2, "pub": {}, "sub": {}, "subs": -1, "data": -1, "payload": -1}),
    );
    format!(
        "-----BEGIN NATS USER JWT-----\n{jwt}\n------END NATS USER JWT------\n\n\
         ************************* IMPORTANT *************************\n\
         NKEY Seed printed below can be used to sign and prove identity.\n\
         NKEYs are sensitive and should be treated as secrets.\n\n\
         -----BEGIN USER NKEY SEED-----\n{}\n------END USER NKEY SEED------\n\n\
         *************************************************************\n",
        user.seed().expect("seed")
    )
}

/// Operator mode with a memory resolver: an operator, a system account and the account `BANGBAN` with JetStream,
/// JWTs signed here. A service logs in with its `.creds` file (`BANGBAN__NATS__CREDS_FILE`) and creates its
/// streams; a user of an account the server does not know is refused at once, named by its JWT.
#[tokio::test]
async fn a_service_logs_in_with_a_creds_file_in_operator_mode() {
    let operator = KeyPair::new_operator();
    let system = KeyPair::new_account();
    let account = KeyPair::new_account();
    let operator_jwt =
        jwt(&operator, &operator.public_key(), "bangban-test", json!({"type": "operator", "version": 2}));
    let conf = format!(
        "operator: {operator_jwt:?}\nsystem_account: {sys:?}\nresolver: MEMORY\nresolver_preload: {{\n  {sys:?}: {:?}\n  {acc:?}: {:?}\n}}\n",
        account_jwt(&operator, &system, "SYS", false),
        account_jwt(&operator, &account, "BANGBAN", true),
        sys = system.public_key(),
        acc = account.public_key(),
    );
    let nats = NatsServer::with_config(&conf).await.expect("nats-server in operator mode");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("intake.creds");
    std::fs::write(&file, creds(&account, &KeyPair::new_user(), "intake")).unwrap();
    let settings = NatsSettings {
        url: nats.url(),
        creds_file: Some(file.clone()),
        connect_deadline: Duration::from_secs(30),
        ..Default::default()
    };
    let client = bus::connect(&settings, "creds").await.expect("creds file");
    let js = jetstream::new(client);
    bus::ensure_streams(&js, 1).await.expect("streams in the account BANGBAN");
    js.get_stream("BANGBAN_EVENTS").await.expect("the events stream");

    // A user signed by an account the server does not know.
    let stranger = KeyPair::new_account();
    std::fs::write(&file, creds(&stranger, &KeyPair::new_user(), "mallory")).unwrap();
    let started = Instant::now();
    let err = bus::connect(&settings, "creds").await.expect_err("an unknown account");
    assert!(started.elapsed() < Duration::from_secs(5), "refused only after {:?}", started.elapsed());
    assert!(matches!(err, BusError::Refused { .. }), "{err:?}");
    assert!(err.to_string().contains("\"mallory\"") && err.to_string().contains("BANGBAN__NATS__CREDS_FILE"), "{err}");
}

// ---------------------------------------------------------------------------------------------------
// Streams: created when missing, never changed
// ---------------------------------------------------------------------------------------------------

/// The warnings `ensure_stream` logged about `stream`'s `field` (JSON log lines).
fn difference_warnings(stream: &str, field: &str) -> Vec<Value> {
    bangban_telemetry::testing::captured_logs()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["level"] == "WARN" && l["fields"]["stream"] == stream && l["fields"]["field"] == field)
        .collect()
}

/// An operator shortens `BANGBAN_EVENTS`'s retention and raises the audit log's; the services start again
/// (`ensure_streams`, the gateway's audit log) and leave both as the operator set them, warning about each
/// difference with the wanted and the actual value. Replicas wanted on a stream that has fewer are reported too.
#[tokio::test]
async fn an_operators_stream_settings_survive_a_restart_and_are_reported() {
    let _spans = bangban_telemetry::testing::init_in_memory();
    let nats = NatsServer::start().await.expect("nats-server");
    let settings = NatsSettings { url: nats.url(), ..Default::default() };
    let client = bus::connect(&settings, "first start").await.expect("connect");
    let js = jetstream::new(client.clone());
    bus::ensure_streams(&js, 1).await.expect("created");
    let created = js.get_stream("BANGBAN_EVENTS").await.unwrap().cached_info().config.clone();
    assert_eq!((created.num_replicas, created.max_age), (1, Duration::from_secs(365 * 86_400)));
    assert_eq!(difference_warnings("BANGBAN_EVENTS", "max_age").len(), 0, "nothing to report on creation");

    // The operator's change (e.g. `nats stream edit BANGBAN_EVENTS --max-age 30d`).
    let thirty_days = Duration::from_secs(30 * 86_400);
    js.update_stream(stream::Config { max_age: thirty_days, ..created.clone() }).await.expect("operator's edit");
    // The audit stream, created by hand with a longer retention than the gateway's setting.
    js.create_stream(stream::Config {
        name: bangban_gateway::audit::STREAM.into(),
        subjects: vec![format!("{}.>", bangban_gateway::audit::SUBJECT_PREFIX)],
        max_age: Duration::from_secs(400 * 86_400),
        deny_delete: true,
        deny_purge: true,
        ..Default::default()
    })
    .await
    .expect("the audit stream");

    // The services start again, one asking for 3 replicas.
    let restarted = jetstream::new(bus::connect(&settings, "second start").await.expect("connect"));
    bus::ensure_streams(&restarted, 1).await.expect("existing streams are fine");
    bus::ensure_streams(&restarted, 3).await.expect("existing streams are fine with other replicas");
    let audit = bangban_gateway::audit::AuditLog::new(restarted.client(), 180).with_stream_replicas(1);
    audit.ensure().await.expect("the audit log finds its stream");

    let events = restarted.get_stream("BANGBAN_EVENTS").await.unwrap().cached_info().config.clone();
    assert_eq!(events.max_age, thirty_days, "the operator's max_age survived");
    assert_eq!(events.num_replicas, 1);
    let audit_config = restarted.get_stream("BANGBAN_AUDIT").await.unwrap().cached_info().config.clone();
    assert_eq!(audit_config.max_age, Duration::from_secs(400 * 86_400));

    let age = difference_warnings("BANGBAN_EVENTS", "max_age");
    assert_eq!(age.len(), 2, "one warning per start: {age:?}");
    assert_eq!((age[0]["fields"]["wanted"].as_str(), age[0]["fields"]["actual"].as_str()), (Some("365d"), Some("30d")));
    let replicas = difference_warnings("BANGBAN_EVENTS", "num_replicas");
    assert_eq!(replicas.len(), 1, "{replicas:?}");
    assert_eq!(
        (replicas[0]["fields"]["wanted"].as_str(), replicas[0]["fields"]["actual"].as_str()),
        (Some("3"), Some("1"))
    );
    assert_eq!(difference_warnings("BANGBAN_DLQ", "num_replicas").len(), 1);
    let audit_age = difference_warnings("BANGBAN_AUDIT", "max_age");
    assert_eq!(audit_age.len(), 1, "{audit_age:?}");
    assert_eq!(
        (audit_age[0]["fields"]["wanted"].as_str(), audit_age[0]["fields"]["actual"].as_str()),
        (Some("180d"), Some("400d"))
    );
    // Nothing else differs from what the services would create.
    for field in ["subjects", "storage", "retention", "discard", "duplicate_window", "deny_delete", "deny_purge"] {
        for stream in ["BANGBAN_EVENTS", "BANGBAN_DLQ", "BANGBAN_AUDIT"] {
            assert_eq!(difference_warnings(stream, field), Vec::<Value>::new(), "{stream} {field}");
        }
    }
}
