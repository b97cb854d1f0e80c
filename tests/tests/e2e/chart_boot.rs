//! Boot from the rendered manifests (按渲染结果启动): the Helm chart's configuration boots, not only parses.
//!
//! The test renders `helm/bangban` with `tests/fixtures/chart-boot-values.yaml` (Helm's own engine, through
//! `tools/render-chart.py`), takes the migration Job's and every Deployment's container — command and arguments,
//! environment with the Secrets and ConfigMaps it references resolved from the rendered objects, volumes — and
//! runs those binaries of this workspace here: the Job's command to completion, then every service, against a real
//! nats-server (the project's server configuration with the rendered accounts and passwords) and the real
//! PostgreSQL. It waits for each service's readiness probe, runs the tenants' provisioning Job's command (a
//! post-install hook, so after the release's resources) to completion, checks `/metrics` is served on the metrics
//! port only, and sends one case through the gateway with an OIDC token: accepted by intake, planned by planning,
//! published, dispatched by routing — every hop over NATS with each service's own user — and its events reach the
//! office's own stream (`OFFICE_<code>`, sourced from `BANGBAN_EVENTS`) and no other office's.
//!
//! Only what cannot be the same outside a cluster is replaced (each place says so): listen ports, the NATS URL,
//! the database URL and schema prefix, the OIDC issuer and the OTLP endpoint. A wrong value anywhere else fails
//! the test with the logs of every process.
//!
//! PostgreSQL only (the chart has no SQLite mode): without `TEST_DATABASE_URL` the test says so and passes. The
//! binaries must have been built (`cargo build --workspace --bins`; `cargo nextest run --workspace` does it).

use std::{
    collections::{BTreeMap, HashMap},
    fs,
    io::{Read, Seek, SeekFrom},
    net::{SocketAddr, TcpListener},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use axum::Router;
use bangban_testkit::TestDatabase;
use base64::{Engine, engine::general_purpose::STANDARD};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Manifests, OidcIssuer, binaries_dir, cargo_build, scalar, sign, workspace_root};

/// The release as `helm install bangban helm/bangban -n bangban -f tests/fixtures/chart-boot-values.yaml`.
const RELEASE: &str = "bangban";
const NAMESPACE: &str = "bangban";
const VALUES: &str = "tests/fixtures/chart-boot-values.yaml";
const COMPONENT: &str = "app.kubernetes.io/component";
/// One Deployment per service, labelled with its name; the migration Job is labelled `migrate`, the tenants'
/// provisioning Job `provision-tenants`.
const SERVICES: [&str; 7] = ["gateway", "intake", "planning", "routing", "deadline", "notification", "evaluation"];
const MIGRATE: &str = "migrate";
const PROVISION: &str = "provision-tenants";
/// How long every service together may take to become ready.
const READY_WITHIN: Duration = Duration::from_secs(90);
/// How long the planning and routing hops may take.
const HOP_WITHIN: Duration = Duration::from_secs(30);
/// `PATH` of the image when deploy/Dockerfile sets none: its base image's (distroless, like Debian, has this one).
const IMAGE_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

#[tokio::test]
async fn the_rendered_chart_boots_every_service_and_carries_a_case() {
    let Some(database_url) = std::env::var("TEST_DATABASE_URL").ok().filter(|u| !u.trim().is_empty()) else {
        eprintln!(
            "chart_boot: skipped — TEST_DATABASE_URL is not set. The chart runs on PostgreSQL only; set it, e.g. \
             TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test (CI does)."
        );
        return;
    };
    let started = Instant::now();
    bangban_platform::runtime::install_crypto_provider();
    let root = workspace_root();
    let bin_dir = binaries_dir();
    let tmp = tempfile::Builder::new().prefix("chart-boot-").tempdir().expect("temp dir");

    // Declared before the fleet: dropped after it, so the schemas go once every process is gone.
    let test_db = TestDatabase::new("chartboot").await.expect("test database");
    let mut db_settings = bangban_platform::Settings::default();
    test_db.apply_to(&mut db_settings);
    let schema_prefix = db_settings.database.schema_prefix.clone();

    let manifests = Manifests::render_test_values(&root);
    let image = Image::from_dockerfile(&root.join("deploy/Dockerfile"));
    let mut fleet = Fleet::new(tmp.path().join("logs"));

    // --- NATS: the project's server configuration, with the rendered accounts and passwords ----------------
    let nats_url = start_nats(&root, &manifests, tmp.path(), &mut fleet).await;

    // --- stand-ins for what lives outside the release: the OIDC issuer and the OTLP collector ------------------
    // Discovery and the JWKS are what the release uses of it; its URL is the `iss` of the tokens below.
    let issuer = OidcIssuer::start().await.url.clone();
    let otlp_sink = start_otlp_sink().await;

    let overrides = Overrides {
        nats_url: nats_url.clone(),
        database_url: database_url.trim().to_string(),
        schema_prefix,
        issuer: issuer.clone(),
        otlp_endpoint: otlp_sink,
    };
    let readonly_root = readonly_root(tmp.path());
    let mut claims = ClaimDirs::default();

    // --- the migration Job (a pre-install hook) and every Deployment, resolved ---------------------------------
    let job = manifests.workload("Job", MIGRATE);
    let migrate = resolve(&manifests, &image, job, MIGRATE, tmp.path(), &readonly_root, &bin_dir, &mut claims)
        .with_overrides(&overrides, &mut PortPicker::default());
    let job = manifests.workload("Job", PROVISION);
    let provision = resolve(&manifests, &image, job, PROVISION, tmp.path(), &readonly_root, &bin_dir, &mut claims)
        .with_overrides(&overrides, &mut PortPicker::default());
    let mut ports = PortPicker::default();
    let running: Vec<Process> = SERVICES
        .iter()
        .map(|service| {
            let deployment = manifests.workload("Deployment", service);
            resolve(&manifests, &image, deployment, service, tmp.path(), &readonly_root, &bin_dir, &mut claims)
                .with_overrides(&overrides, &mut ports)
        })
        .collect();
    ensure_binaries(&root, &bin_dir, [&migrate, &provision].into_iter().chain(&running));

    // The Job's command, to completion.
    let status = fleet.run_to_end("migrate", &migrate, Duration::from_secs(120));
    assert!(status.success(), "the migration Job's command `{}` failed: {status}", migrate.command_line());

    // Not part of the chart: an installation loads its offices and staff roster once (`bangban seed`, run here
    // with the migration Job's environment, the one pod spec that has the database and nothing else). Without a
    // roster no case can be accepted: intake assigns each case to a specialist of the accepting office.
    let mut seed = migrate.clone();
    seed.args = vec!["seed".into()];
    let status = fleet.run_to_end("seed", &seed, Duration::from_secs(60));
    assert!(status.success(), "`bangban seed` with the migration Job's environment failed: {status}");

    // The services.
    drop(ports); // the picked ports are free again for the services to bind
    for pod in &running {
        fleet.spawn(&pod.component, pod);
    }

    // Readiness: each service's readiness probe, on the host port its listener was given.
    let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().expect("http client");
    let deadline = Instant::now() + READY_WITHIN;
    for pod in &running {
        let url = pod.probe_url("readinessProbe");
        loop {
            fleet.assert_running(&pod.component);
            let answer = http.get(&url).send().await;
            if answer.as_ref().is_ok_and(|r| r.status() == StatusCode::OK) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{} was not ready within {READY_WITHIN:?}: GET {url} answered {:?}",
                pod.component,
                describe(answer).await
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    eprintln!("chart_boot: every service ready after {:?}", started.elapsed());

    // The tenants' provisioning Job (a post-install hook: Helm runs it once the release's resources exist), to
    // completion: every office's and integrator's stream, each created by the tenant's admin user.
    let status = fleet.run_to_end(PROVISION, &provision, Duration::from_secs(120));
    assert!(status.success(), "the provisioning Job's command `{}` failed: {status}", provision.command_line());
    let provisioned = fs::read_to_string(fleet.log_files(PROVISION).0).unwrap_or_default();
    assert!(
        provisioned.lines().any(|l| l.starts_with("OFFICE_371625: created")),
        "the provisioning Job did not create OFFICE_371625:\n{provisioned}"
    );
    for pod in &running {
        fleet.assert_running(&pod.component);
    }

    // `/metrics` on the metrics port (the one the ServiceMonitor scrapes, never routed by the ingress), and not on
    // the http port.
    for pod in &running {
        let metrics = pod.port_url("metrics", "/metrics");
        let res = http.get(&metrics).send().await;
        let status = res.as_ref().map(|r| r.status()).ok();
        assert_eq!(status, Some(StatusCode::OK), "{}: GET {metrics}: {:?}", pod.component, describe(res).await);
        let public = pod.port_url("http", "/metrics");
        let res = http.get(&public).send().await;
        let status = res.as_ref().map(|r| r.status()).ok();
        assert_eq!(status, Some(StatusCode::NOT_FOUND), "{}: GET {public}: {:?}", pod.component, describe(res).await);
        fleet.assert_running(&pod.component);
    }

    // --- one case through the gateway, with tokens of the stand-in issuer -------------------------------------
    let gateway = running.iter().find(|p| p.component == "gateway").expect("the gateway");
    let api = Api {
        http: http.clone(),
        base: gateway.port_url("http", ""),
        issuer: issuer.clone(),
        audience: gateway.env.get("BANGBAN__AUTH__AUDIENCE").cloned(),
    };
    let office = "371625";
    let assistant = api.token("staff-371625-assistant-1", "assistant", office);
    let applicant = api
        .post(
            &assistant,
            "/api/v1/applicants",
            &json!({"kind": "legal_person", "name": "滨州市某某新材料有限公司", "credit_code": "91440300708461136T",
                    "phone": "13812341234", "contact_person": "王经理"}),
            201,
        )
        .await;
    let project = api
        .post(
            &assistant,
            "/api/v1/projects",
            &json!({"name": "年产5万吨新材料项目", "category": "industrial", "office": office}),
            201,
        )
        .await;
    let case = api
        .post(
            &assistant,
            "/api/v1/cases",
            &json!({"service_type": "assist", "office": office, "applicant_id": applicant["id"],
                    "project_id": project["id"]}),
            201,
        )
        .await;
    let case_id = case["id"].as_str().expect("case id").to_string();
    let specialist_id = case["specialist_id"].as_str().expect("the case's specialist").to_string();
    let specialist = api.token(&specialist_id, "assistant", office);

    // intake → planning: the draft plan.
    let plan_path = format!("/api/v1/cases/{case_id}/plan");
    let drafted = api.eventually(&specialist, &plan_path, |_| true, &mut fleet).await;
    assert!(drafted.is_some(), "planning drafted no plan for case {case_id} within {HOP_WITHIN:?}");
    let plan =
        api.post(&specialist, &format!("{plan_path}/publish"), &json!({"note": "方案已与服务对象确认"}), 200).await;
    let items = plan["items"].as_array().map_or(0, Vec::len);
    assert!(items > 0, "the published plan has no items: {plan}");

    // planning → routing: the tasks.
    let tasks_path = format!("/api/v1/cases/{case_id}/tasks");
    let tasks = api
        .eventually(&specialist, &tasks_path, |v| v.as_array().is_some_and(|t| !t.is_empty()), &mut fleet)
        .await
        .unwrap_or_else(|| panic!("routing dispatched no task for case {case_id} within {HOP_WITHIN:?}"));

    // intake → the document store: the plan filed into the archive lands on the claim the chart mounts (with
    // `storage.kind: pvc`), not in the data folder.
    let pdf = b"%PDF-1.7\n% service plan\n%%EOF\n";
    api.post(
        &specialist,
        &format!("/api/v1/cases/{case_id}/archive"),
        &json!({"doc_type": "service_plan", "title": "代办方案", "media_type": "application/pdf",
                "content": STANDARD.encode(pdf)}),
        201,
    )
    .await;
    let stored: Vec<PathBuf> = claims.dirs.values().flat_map(|d| files_below(d)).collect();
    assert!(
        stored.iter().any(|f| fs::read(f).is_ok_and(|b| b == pdf)),
        "the archived document is not on the claim intake mounts ({:?}); files there: {stored:?}",
        claims.dirs
    );
    // The case's events reached its office's own stream (sourced from BANGBAN_EVENTS), read by the office's admin
    // with the rendered password, and no other office's.
    // The units of the tasks already dispatched (a task waiting for its predecessors is not yet).
    let units: Vec<String> = tasks
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| !t["dispatched_at"].is_null())
        .filter_map(|t| t["unit_code"].as_str().map(str::to_string))
        .collect();
    assert!(!units.is_empty(), "no task of case {case_id} is dispatched: {tasks}");
    let office_events = OfficeStream::connect(&manifests, &nats_url, office).await;
    let deadline = Instant::now() + HOP_WITHIN;
    let events = loop {
        let events = office_events.events().await;
        let accepted = events.iter().any(|(subject, ce_subject)| {
            *subject == format!("bb.evt.{office}.case.accepted") && ce_subject.as_deref() == Some(&case_id)
        });
        // A task.dispatched per dispatched task, on its unit's subject.
        let dispatched = units.iter().all(|u| {
            let subject = format!("bb.evt.{office}.task.dispatched.{u}");
            events.iter().filter(|(s, _)| *s == subject).count() >= units.iter().filter(|v| *v == u).count()
        });
        if accepted && dispatched {
            break events;
        }
        assert!(
            Instant::now() < deadline,
            "OFFICE_{office} did not receive case {case_id}'s case.accepted and a task.dispatched per dispatched \
             task (units {units:?}) within {HOP_WITHIN:?}; it holds {events:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(events.iter().all(|(s, _)| s.starts_with(&format!("bb.evt.{office}."))), "{events:?}");
    let other = OfficeStream::connect(&manifests, &nats_url, "371621").await;
    assert_eq!(other.events().await, Vec::new(), "OFFICE_371621 received another office's events");

    eprintln!(
        "chart_boot: case {case_id} accepted, planned ({items} items), published, {} tasks dispatched, plan \
         archived, {} events in OFFICE_{office}; {:?} in all",
        tasks.as_array().map_or(0, Vec::len),
        events.len(),
        started.elapsed()
    );
    for service in SERVICES {
        fleet.assert_running(service);
    }
    fleet.stop_all();
}

// ---------------------------------------------------------------------------------------------------------------
// The binaries
// ---------------------------------------------------------------------------------------------------------------

/// Makes sure every binary the pods run is built. `cargo build --workspace` builds them all, and so does `cargo
/// nextest run --workspace` — except the plain binary of a package without integration tests (bangban-gateway):
/// cargo builds a package's binaries for the tests only when that package has integration tests. What is missing is
/// built here (`cargo build -p <binary> --bin <binary>`: each binary is its package's name), once.
fn ensure_binaries<'a>(root: &Path, bin_dir: &Path, processes: impl Iterator<Item = &'a Process>) {
    let mut missing: Vec<String> = processes
        .filter(|p| !p.program.is_file())
        .map(|p| p.program.file_name().expect("binary").to_string_lossy().to_string())
        .collect();
    missing.sort();
    missing.dedup();
    if missing.is_empty() {
        return;
    }
    let advice = "build the workspace first (`cargo build --workspace --bins`, which `cargo nextest run --workspace` \
                  does only for packages with integration tests)";
    eprintln!("chart_boot: building {missing:?}, missing from {} ({advice})", bin_dir.display());
    let mut cmd = cargo_build(root, bin_dir);
    for binary in &missing {
        cmd.args(["-p", binary, "--bin", binary]);
    }
    let built = cmd.output();
    for binary in &missing {
        let path = bin_dir.join(binary);
        assert!(
            path.is_file(),
            "the pods run {binary}, which is not built at {} and could not be built here ({}): {advice}",
            path.display(),
            match &built {
                Ok(out) => {
                    let text = String::from_utf8_lossy(&out.stderr);
                    let lines: Vec<&str> = text.lines().collect();
                    lines[lines.len().saturating_sub(20)..].join("\n")
                }
                Err(e) => format!("cannot run cargo: {e}"),
            }
        );
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The rendered chart
// ---------------------------------------------------------------------------------------------------------------

/// What chart_boot needs of the rendered chart besides [`Manifests`]'s own readers (support.rs).
impl Manifests {
    /// `tools/render-chart.py` with the test values ([`VALUES`]) as the release [`RELEASE`] in [`NAMESPACE`].
    fn render_test_values(root: &Path) -> Manifests {
        Manifests::render(root, &["--values", VALUES, "--name", RELEASE, "--namespace", NAMESPACE])
    }

    /// The one workload of `kind` labelled with `component`.
    fn workload(&self, kind: &str, component: &str) -> &Value {
        let found: Vec<&Value> = self
            .objects
            .iter()
            .filter(|o| o["kind"] == kind && o["metadata"]["labels"][COMPONENT] == component)
            .collect();
        assert_eq!(found.len(), 1, "expected one {kind} labelled {COMPONENT}={component}, found {}", found.len());
        found[0]
    }

    /// What `secretKeyRef` / `configMapKeyRef` / a volume source names: the bytes, or a message saying what is
    /// missing. `optional` references to something absent give `Ok(None)`.
    fn key_ref(&self, kind: &str, reference: &Value, user: &str) -> Result<Option<Vec<u8>>, String> {
        let name = reference["name"].as_str().unwrap_or_default();
        let key = reference["key"].as_str().unwrap_or_default();
        let optional = reference["optional"].as_bool().unwrap_or(false);
        let data = if kind == "Secret" { self.secret(name) } else { self.config_map(name) };
        match data.map(|d| d.get(key).cloned()) {
            Some(Some(bytes)) => Ok(Some(bytes)),
            _ if optional => Ok(None),
            None => Err(format!(
                "{user} references {kind} {name:?}, which the chart does not render with {VALUES} (in a cluster the \
                 pod would not start: CreateContainerConfigError)"
            )),
            Some(None) => Err(format!("{user} references key {key:?} of {kind} {name:?}, which has no such key")),
        }
    }
}

/// What the image brings (deploy/Dockerfile's final stage): `ENTRYPOINT`, `CMD` and `ENV`.
#[derive(Debug, Default)]
struct Image {
    entrypoint: Vec<String>,
    cmd: Vec<String>,
    env: Vec<(String, String)>,
}

impl Image {
    fn from_dockerfile(path: &Path) -> Image {
        let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        // Logical lines: comments dropped, `\` continuations joined.
        let mut lines = Vec::new();
        let mut current = String::new();
        for line in text.lines() {
            let trimmed = line.trim();
            if trimmed.starts_with('#') {
                continue;
            }
            if let Some(head) = trimmed.strip_suffix('\\') {
                current.push_str(head);
                current.push(' ');
            } else {
                current.push_str(trimmed);
                lines.push(std::mem::take(&mut current));
            }
        }
        let mut image = Image::default();
        for line in lines {
            let (instruction, rest) = line.split_once(char::is_whitespace).unwrap_or((&line, ""));
            let rest = rest.trim();
            match instruction.to_ascii_uppercase().as_str() {
                "FROM" => image = Image::default(), // only the final stage counts
                "ENTRYPOINT" => image.entrypoint = exec_form(rest),
                "CMD" => image.cmd = exec_form(rest),
                "ENV" => image.env.extend(env_instruction(rest)),
                _ => {}
            }
        }
        image
    }
}

fn exec_form(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_else(|_| vec!["/bin/sh".into(), "-c".into(), text.into()])
}

/// `ENV A=1 B="two words"` or the legacy `ENV A 1`.
fn env_instruction(text: &str) -> Vec<(String, String)> {
    if !text.split_whitespace().next().is_some_and(|w| w.contains('=')) {
        let (k, v) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
        return vec![(k.to_string(), v.trim().to_string())];
    }
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let key: String = std::iter::from_fn(|| chars.next_if(|c| *c != '=')).collect();
        if key.is_empty() || chars.next().is_none() {
            break;
        }
        let mut value = String::new();
        let mut quoted = false;
        while let Some(c) = chars.peek().copied() {
            if c == '"' {
                quoted = !quoted;
                chars.next();
            } else if c.is_whitespace() && !quoted {
                break;
            } else {
                value.push(c);
                chars.next();
            }
        }
        out.push((key, value));
    }
    out
}

// ---------------------------------------------------------------------------------------------------------------
// A pod spec, resolved to a process
// ---------------------------------------------------------------------------------------------------------------

/// One container of a rendered workload, as a process to start here.
#[derive(Debug, Clone)]
struct Process {
    component: String,
    /// The binary in this workspace's target directory.
    program: PathBuf,
    args: Vec<String>,
    /// The container's environment, the image's underneath.
    env: BTreeMap<String, String>,
    cwd: PathBuf,
    /// The container's ports by name (`http` → 8080).
    container_ports: BTreeMap<String, u16>,
    /// Rendered port → the free local port used instead.
    port_map: BTreeMap<u16, u16>,
    /// The container as rendered (probes).
    container: Value,
}

impl Process {
    fn command_line(&self) -> String {
        let mut words = vec![self.program.display().to_string()];
        words.extend(self.args.iter().cloned());
        words.join(" ")
    }

    /// The URL of a probe (`readinessProbe`, …): its path, on the local port behind the probe's port.
    fn probe_url(&self, probe: &str) -> String {
        let get = &self.container[probe]["httpGet"];
        assert!(get.is_object(), "{}: no {probe}.httpGet in the rendered container", self.component);
        let path = get["path"].as_str().unwrap_or("/");
        let port = match &get["port"] {
            Value::String(name) => *self.container_ports.get(name).unwrap_or_else(|| {
                panic!("{}: {probe} names port {name:?}, which the container lacks", self.component)
            }),
            other => other.as_u64().and_then(|p| u16::try_from(p).ok()).expect("a port number"),
        };
        format!("http://127.0.0.1:{}{path}", self.local_port(port, probe))
    }

    /// The URL of `path` on the container port called `name`.
    fn port_url(&self, name: &str, path: &str) -> String {
        let port = *self
            .container_ports
            .get(name)
            .unwrap_or_else(|| panic!("{}: the container has no port named {name:?}", self.component));
        format!("http://127.0.0.1:{}{path}", self.local_port(port, &format!("container port {name:?}")))
    }

    fn local_port(&self, port: u16, what: &str) -> u16 {
        *self.port_map.get(&port).unwrap_or_else(|| {
            panic!(
                "{}: {what} is port {port}, but nothing listens there: BANGBAN__HTTP__LISTEN and \
                 BANGBAN__HTTP__METRICS_LISTEN are {:?} and {:?}",
                self.component,
                self.env.get("BANGBAN__HTTP__LISTEN"),
                self.env.get("BANGBAN__HTTP__METRICS_LISTEN")
            )
        })
    }

    /// The only changes made to the rendered configuration: what cannot be the same outside the cluster.
    fn with_overrides(mut self, o: &Overrides, ports: &mut PortPicker) -> Process {
        // Override: listen ports. The rendered host is kept (0.0.0.0, so the production-default checks see a
        // public listener); the port is a free local one, remembered for the probes.
        for key in ["BANGBAN__HTTP__LISTEN", "BANGBAN__HTTP__METRICS_LISTEN"] {
            if let Some(value) = self.env.get(key).cloned() {
                let addr: SocketAddr = value
                    .parse()
                    .unwrap_or_else(|e| panic!("{}: {key}={value:?} is not an address: {e}", self.component));
                let local = ports.pick();
                self.port_map.insert(addr.port(), local);
                self.env.insert(key.into(), SocketAddr::new(addr.ip(), local).to_string());
            }
        }
        // Override: the NATS URL — the test's nats-server instead of the in-cluster Service.
        if self.env.contains_key("BANGBAN__NATS__URL") {
            self.env.insert("BANGBAN__NATS__URL".into(), o.nats_url.clone());
        }
        // Override: the database — TEST_DATABASE_URL for the rendered placeholder, and a schema prefix of this
        // run's own (its schemas are dropped at the end).
        if self.env.contains_key("BANGBAN__DATABASE__URL") {
            self.env.insert("BANGBAN__DATABASE__URL".into(), o.database_url.clone());
        }
        self.env.insert("BANGBAN__DATABASE__SCHEMA_PREFIX".into(), o.schema_prefix.clone());
        // Override: the OIDC issuer — the stand-in issuer (discovery and JWKS) instead of the city's SSO.
        if self.env.contains_key("BANGBAN__AUTH__ISSUER") {
            self.env.insert("BANGBAN__AUTH__ISSUER".into(), o.issuer.clone());
        }
        // Override: the OTLP endpoint — a local sink instead of the cluster's collector.
        for key in
            ["BANGBAN__TELEMETRY__OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]
        {
            if self.env.contains_key(key) {
                self.env.insert(key.into(), o.otlp_endpoint.clone());
            }
        }
        self
    }
}

/// The replacements of [`Process::with_overrides`].
struct Overrides {
    nats_url: String,
    database_url: String,
    schema_prefix: String,
    issuer: String,
    otlp_endpoint: String,
}

/// Free local ports, none handed out twice.
#[derive(Default)]
struct PortPicker {
    held: Vec<TcpListener>,
}

impl PortPicker {
    /// A port free on every interface (the services bind 0.0.0.0). Kept bound until [`Fleet::spawn`] needs it
    /// free, so that two picks never collide.
    fn pick(&mut self) -> u16 {
        let listener = TcpListener::bind("0.0.0.0:0").expect("a free port");
        let port = listener.local_addr().expect("addr").port();
        self.held.push(listener);
        port
    }
}

/// One PersistentVolumeClaim is one folder, whichever pod mounts it.
#[derive(Default)]
struct ClaimDirs {
    dirs: HashMap<String, PathBuf>,
}

/// The data folder's stand-in: a path below a regular file. The test runs as root, which writes through any
/// permission bits (chmod 0555 stops nobody), so the folder must be unwritable by construction: every
/// `mkdir`/`open(O_CREAT)` under a path whose parent is a file fails with ENOTDIR, for root too, and reading
/// finds nothing. It proves what the chart promises: in production nothing is kept in the data folder (no
/// generated development secret, no generated PII key, no SQLite file). The pods mount an emptyDir there (for
/// development fallbacks); here it is replaced, so that anything relying on it fails instead of passing unnoticed.
/// Reads below it fail with ENOTDIR rather than ENOENT; nothing in production mode reads there either.
fn readonly_root(tmp: &Path) -> PathBuf {
    let file = tmp.join("readonly-file");
    fs::write(&file, b"the data folder must stay empty: nothing may be created below this file\n").expect("file");
    file
}

/// Resolves `workload`'s main container the way the kubelet would: volumes (Secrets, ConfigMaps, emptyDirs,
/// claims) as folders, `envFrom` then `env` with every reference resolved and `$(VAR)` expanded, the image's
/// `ENTRYPOINT`/`CMD` under `command`/`args`; paths under a mount point rewritten to the folder standing for it;
/// the data folder unwritable ([`readonly_root`]).
#[allow(clippy::too_many_arguments)]
fn resolve(
    manifests: &Manifests,
    image: &Image,
    workload: &Value,
    component: &str,
    tmp: &Path,
    readonly_root: &Path,
    bin_dir: &Path,
    claims: &mut ClaimDirs,
) -> Process {
    let kind = workload["kind"].as_str().unwrap_or_default();
    let name = workload["metadata"]["name"].as_str().unwrap_or_default();
    let template = &workload["spec"]["template"];
    let spec = &template["spec"];
    let who = format!("{kind}/{name}");
    assert!(
        spec["initContainers"].as_array().is_none_or(Vec::is_empty),
        "{who} has init containers; this test runs only main containers — extend it"
    );
    let containers = spec["containers"].as_array().unwrap_or_else(|| panic!("{who}: no containers"));
    let container = containers
        .iter()
        .find(|c| c["name"] == component)
        .or_else(|| (containers.len() == 1).then(|| &containers[0]))
        .unwrap_or_else(|| panic!("{who}: which container is the main one?"))
        .clone();
    let pod_dir = tmp.join("pods").join(component);
    fs::create_dir_all(&pod_dir).expect("pod dir");
    let pod_name = if kind == "Deployment" { format!("{name}-6f9c7d5b8-x7k2q") } else { format!("{name}-x7k2q") };

    // Volumes.
    let mut volumes: BTreeMap<String, PathBuf> = BTreeMap::new();
    for volume in spec["volumes"].as_array().into_iter().flatten() {
        let vname = volume["name"].as_str().expect("volume name").to_string();
        let dir = pod_dir.join("volumes").join(&vname);
        let user = format!("{who} volume {vname:?}");
        if volume.get("emptyDir").is_some() {
            fs::create_dir_all(&dir).expect("emptyDir");
        } else if let Some(source) = volume.get("secret") {
            let secret = source["secretName"].as_str().unwrap_or_default();
            let data = manifests.secret(secret);
            write_volume(&dir, data, source, secret, "Secret", &user);
        } else if let Some(source) = volume.get("configMap") {
            let cm = source["name"].as_str().unwrap_or_default();
            write_volume(&dir, manifests.config_map(cm), source, cm, "ConfigMap", &user);
        } else if let Some(source) = volume.get("projected") {
            fs::create_dir_all(&dir).expect("projected");
            for s in source["sources"].as_array().into_iter().flatten() {
                if let Some(sec) = s.get("secret") {
                    let n = sec["name"].as_str().unwrap_or_default();
                    write_volume(&dir, manifests.secret(n), sec, n, "Secret", &user);
                } else if let Some(cm) = s.get("configMap") {
                    let n = cm["name"].as_str().unwrap_or_default();
                    write_volume(&dir, manifests.config_map(n), cm, n, "ConfigMap", &user);
                } else {
                    panic!("{user}: unsupported projected source {s}");
                }
            }
        } else if let Some(source) = volume.get("persistentVolumeClaim") {
            let claim = source["claimName"].as_str().unwrap_or_default().to_string();
            assert!(
                manifests.find("PersistentVolumeClaim", &claim).is_some(),
                "{user} mounts claim {claim:?}, which the chart does not render with {VALUES}"
            );
            let dir = claims.dirs.entry(claim.clone()).or_insert_with(|| tmp.join("claims").join(&claim)).clone();
            fs::create_dir_all(&dir).expect("claim dir");
            volumes.insert(vname, dir);
            continue;
        } else {
            panic!("{user}: unsupported volume type {volume}");
        }
        volumes.insert(vname, dir);
    }

    // Mount points → folders.
    let mut mounts: Vec<(String, PathBuf)> = Vec::new();
    for mount in container["volumeMounts"].as_array().into_iter().flatten() {
        let vname = mount["name"].as_str().unwrap_or_default();
        let path = mount["mountPath"].as_str().unwrap_or_default().trim_end_matches('/').to_string();
        let mut dir = volumes
            .get(vname)
            .unwrap_or_else(|| panic!("{who}: container mounts volume {vname:?}, which the pod does not define"))
            .clone();
        if let Some(sub) = mount["subPath"].as_str().filter(|s| !s.is_empty()) {
            dir = dir.join(sub);
        }
        mounts.push((path, dir));
    }

    // Environment: the image's, then envFrom, then env (later wins), `$(VAR)` expanded against what the
    // container defined before.
    let mut defined: BTreeMap<String, String> = BTreeMap::new();
    for source in container["envFrom"].as_array().into_iter().flatten() {
        let prefix = source["prefix"].as_str().unwrap_or_default();
        let (kind, reference) = match (source.get("configMapRef"), source.get("secretRef")) {
            (Some(r), _) => ("ConfigMap", r),
            (None, Some(r)) => ("Secret", r),
            _ => panic!("{who}: unsupported envFrom {source}"),
        };
        let rname = reference["name"].as_str().unwrap_or_default();
        let data = if kind == "Secret" { manifests.secret(rname) } else { manifests.config_map(rname) };
        match data {
            Some(data) => {
                for (k, v) in data {
                    defined.insert(format!("{prefix}{k}"), String::from_utf8(v).expect("UTF-8"));
                }
            }
            None if reference["optional"].as_bool().unwrap_or(false) => {}
            None => panic!("{who}: envFrom {kind} {rname:?} is not rendered by the chart with {VALUES}"),
        }
    }
    let pod_meta = &template["metadata"];
    for var in container["env"].as_array().into_iter().flatten() {
        let key = var["name"].as_str().expect("env name").to_string();
        let user = format!("{who} env {key}");
        let value = if let Some(from) = var.get("valueFrom") {
            if let Some(r) = from.get("secretKeyRef") {
                manifests.key_ref("Secret", r, &user).unwrap_or_else(|e| panic!("{e}"))
            } else if let Some(r) = from.get("configMapKeyRef") {
                manifests.key_ref("ConfigMap", r, &user).unwrap_or_else(|e| panic!("{e}"))
            } else if let Some(r) = from.get("fieldRef") {
                Some(
                    field_ref(r["fieldPath"].as_str().unwrap_or_default(), &pod_name, spec, pod_meta, &user)
                        .into_bytes(),
                )
            } else if let Some(r) = from.get("resourceFieldRef") {
                Some(resource_field_ref(r, &container, &user).into_bytes())
            } else {
                panic!("{user}: unsupported valueFrom {from}");
            }
            .map(|b| String::from_utf8(b).expect("UTF-8"))
        } else {
            Some(expand(&scalar(&var["value"]), &defined))
        };
        if let Some(value) = value {
            defined.insert(key, value);
        }
    }
    let mut env: BTreeMap<String, String> = image.env.iter().cloned().collect();
    env.entry("PATH".into()).or_insert_with(|| IMAGE_PATH.into());
    env.insert("HOSTNAME".into(), pod_name.clone());
    env.extend(defined.clone());

    // Command and arguments (Kubernetes: `command` replaces ENTRYPOINT and drops CMD; `args` replace CMD).
    let strings = |v: &Value| -> Option<Vec<String>> {
        v.as_array().map(|a| a.iter().map(|s| expand(&scalar(s), &defined)).collect())
    };
    let (command, args) = match (strings(&container["command"]), strings(&container["args"])) {
        (Some(c), Some(a)) => (c, a),
        (Some(c), None) => (c, Vec::new()),
        (None, Some(a)) => (image.entrypoint.clone(), a),
        (None, None) => (image.entrypoint.clone(), image.cmd.clone()),
    };
    let mut words = command.into_iter().chain(args);
    let program = words.next().unwrap_or_else(|| panic!("{who}: no command"));
    let mut args: Vec<String> = words.collect();
    let binary = Path::new(&program).file_name().expect("a program name").to_string_lossy().to_string();
    let program = bin_dir.join(&binary);

    // The data folder: unwritable, whatever is mounted there.
    let data_dir = env.get("BANGBAN__DATA_DIR").cloned().unwrap_or_else(|| "/var/lib/bangban".into());
    let data_dir = data_dir.trim_end_matches('/').to_string();
    mounts.retain(|(path, _)| *path != data_dir);
    mounts.push((data_dir.clone(), readonly_root.join(data_dir.trim_start_matches('/'))));

    // Paths under a mount point (longest first) point at the folder standing for it.
    for value in env.values_mut() {
        if let Some(host) = host_path(value, &mounts) {
            *value = host;
        }
    }
    for arg in &mut args {
        if let Some(host) = host_path(arg, &mounts) {
            *arg = host;
        } else if let Some((flag, path)) = arg.split_once('=')
            && let Some(host) = host_path(path, &mounts)
        {
            *arg = format!("{flag}={host}");
        }
    }

    // The image's WORKDIR is the data folder, which cannot be a working directory here: an empty folder of its own.
    let cwd = pod_dir.join("workdir");
    fs::create_dir_all(&cwd).expect("workdir");
    let container_ports = container["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| Some((p["name"].as_str()?.to_string(), u16::try_from(p["containerPort"].as_u64()?).ok()?)))
        .collect();
    Process {
        component: component.to_string(),
        program,
        args,
        env,
        cwd,
        container_ports,
        port_map: BTreeMap::new(),
        container,
    }
}

/// The files of a Secret or ConfigMap volume: every key, or the listed `items`, with `defaultMode`/`mode`.
fn write_volume(
    dir: &Path,
    data: Option<BTreeMap<String, Vec<u8>>>,
    source: &Value,
    name: &str,
    kind: &str,
    user: &str,
) {
    use std::os::unix::fs::PermissionsExt;
    fs::create_dir_all(dir).expect("volume dir");
    let optional = source["optional"].as_bool().unwrap_or(false);
    let Some(data) = data else {
        assert!(optional, "{user}: {kind} {name:?} is not rendered by the chart with {VALUES}");
        return;
    };
    let default_mode = source["defaultMode"].as_u64().unwrap_or(0o644) as u32;
    let items: Vec<(String, String, u32)> = match source["items"].as_array() {
        Some(items) => items
            .iter()
            .map(|i| {
                let key = i["key"].as_str().unwrap_or_default().to_string();
                let mode = i["mode"].as_u64().map_or(default_mode, |m| m as u32);
                (key, i["path"].as_str().unwrap_or_default().to_string(), mode)
            })
            .collect(),
        None => data.keys().map(|k| (k.clone(), k.clone(), default_mode)).collect(),
    };
    for (key, path, mode) in items {
        let bytes = data.get(&key).unwrap_or_else(|| panic!("{user}: {kind} {name:?} has no key {key:?}"));
        let file = dir.join(&path);
        fs::create_dir_all(file.parent().expect("parent")).expect("item dir");
        fs::write(&file, bytes).expect("volume file");
        fs::set_permissions(&file, fs::Permissions::from_mode(mode)).expect("mode");
    }
}

/// Every file below `dir`.
fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_below(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// The folder standing for `value` when it is an absolute path at or below a mount point (the longest wins).
fn host_path(value: &str, mounts: &[(String, PathBuf)]) -> Option<String> {
    if !value.starts_with('/') {
        return None;
    }
    mounts
        .iter()
        .filter(|(mount, _)| value == mount || value.strip_prefix(mount.as_str()).is_some_and(|r| r.starts_with('/')))
        .max_by_key(|(mount, _)| mount.len())
        .map(|(mount, dir)| {
            let rest = value[mount.len()..].trim_start_matches('/');
            if rest.is_empty() { dir.display().to_string() } else { dir.join(rest).display().to_string() }
        })
}

/// Kubernetes' `$(VAR)` expansion: a defined variable is replaced, `$$` is a `$`, anything else stays.
fn expand(text: &str, defined: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(inner) = after.strip_prefix('(')
            && let Some(end) = inner.find(')')
            && let Some(value) = defined.get(&inner[..end])
        {
            out.push_str(value);
            rest = &inner[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// A plausible value of the Downward API's `fieldRef`.
fn field_ref(path: &str, pod_name: &str, spec: &Value, meta: &Value, user: &str) -> String {
    let label = |map: &str, rest: &str| -> String {
        let key = rest.trim_start_matches("['").trim_end_matches("']");
        scalar(&meta[map][key])
    };
    match path {
        "metadata.name" => pod_name.into(),
        "metadata.namespace" => NAMESPACE.into(),
        "metadata.uid" => "0b6d3f4e-9a51-4c2e-8f0e-3f7c9d1a2b44".into(),
        "spec.nodeName" => "chart-boot-node".into(),
        "spec.serviceAccountName" => spec["serviceAccountName"].as_str().unwrap_or("default").into(),
        "status.hostIP" | "status.podIP" | "status.hostIPs" | "status.podIPs" => "127.0.0.1".into(),
        p if p.starts_with("metadata.labels[") => label("labels", &p["metadata.labels".len()..]),
        p if p.starts_with("metadata.annotations[") => label("annotations", &p["metadata.annotations".len()..]),
        other => panic!("{user}: unsupported fieldRef {other:?}"),
    }
}

/// The Downward API's `resourceFieldRef`: the container's request or limit (a node's worth when unset), divided
/// by the divisor and rounded up, as the kubelet does.
fn resource_field_ref(r: &Value, container: &Value, user: &str) -> String {
    let resource = r["resource"].as_str().unwrap_or_default();
    let (section, name) = resource.split_once('.').unwrap_or_else(|| panic!("{user}: resource {resource:?}"));
    let node = if name == "cpu" { "4" } else { "8Gi" };
    let value = container["resources"][section][name].as_str().map(str::to_string).unwrap_or_else(|| {
        container["resources"][section][name].as_u64().map_or_else(|| node.to_string(), |n| n.to_string())
    });
    let divisor = r["divisor"].as_str().map(str::to_string).unwrap_or_else(|| "1".into());
    let amount = quantity(&value) / quantity(&divisor);
    format!("{}", amount.ceil() as u64)
}

/// A Kubernetes quantity (`500m`, `2`, `128Mi`, `1G`).
fn quantity(text: &str) -> f64 {
    let text = text.trim();
    let split = text.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let n: f64 = number.parse().unwrap_or_else(|_| panic!("quantity {text:?}"));
    let factor = match suffix {
        "" => 1.0,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "Ki" => 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "Gi" => 1024.0 * 1024.0 * 1024.0,
        "Ti" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        other => panic!("quantity {text:?}: unknown suffix {other:?}"),
    };
    n * factor
}

// ---------------------------------------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------------------------------------

struct Running {
    name: String,
    child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
}

/// Every process the test started, killed when it is dropped — also when the test panics, which then prints the
/// end of every process's output.
struct Fleet {
    logs: PathBuf,
    running: Vec<Running>,
    /// Processes that ran to completion, for their output on failure.
    finished: Vec<(String, PathBuf, PathBuf)>,
}

impl Fleet {
    fn new(logs: PathBuf) -> Fleet {
        fs::create_dir_all(&logs).expect("logs dir");
        Fleet { logs, running: Vec::new(), finished: Vec::new() }
    }

    fn log_files(&self, name: &str) -> (PathBuf, PathBuf) {
        (self.logs.join(format!("{name}.stdout")), self.logs.join(format!("{name}.stderr")))
    }

    fn command(&self, name: &str, p: &Process) -> (Command, PathBuf, PathBuf) {
        let (out, err) = self.log_files(name);
        let mut cmd = Command::new(&p.program);
        cmd.args(&p.args)
            .env_clear()
            .envs(&p.env)
            .current_dir(&p.cwd)
            .stdin(Stdio::null())
            .stdout(fs::File::create(&out).expect("stdout file"))
            .stderr(fs::File::create(&err).expect("stderr file"));
        (cmd, out, err)
    }

    fn spawn(&mut self, name: &str, p: &Process) {
        let (mut cmd, stdout, stderr) = self.command(name, p);
        let child = cmd.spawn().unwrap_or_else(|e| panic!("starting {}: {e}", p.command_line()));
        self.running.push(Running { name: name.into(), child, stdout, stderr });
    }

    fn spawn_command(&mut self, name: &str, mut cmd: Command) -> PathBuf {
        let (out, err) = self.log_files(name);
        cmd.stdin(Stdio::null())
            .stdout(fs::File::create(&out).expect("stdout file"))
            .stderr(fs::File::create(&err).expect("stderr file"));
        let child = cmd.spawn().unwrap_or_else(|e| panic!("starting {name}: {e}"));
        self.running.push(Running { name: name.into(), child, stdout: out, stderr: err.clone() });
        err
    }

    /// Runs `p` to its end (killed after `limit`).
    fn run_to_end(&mut self, name: &str, p: &Process, limit: Duration) -> std::process::ExitStatus {
        let (mut cmd, stdout, stderr) = self.command(name, p);
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("starting {}: {e}", p.command_line()));
        self.finished.push((name.into(), stdout, stderr));
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{name} ({}) did not finish within {limit:?}", p.command_line());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Panics when the process called `name` has exited.
    fn assert_running(&mut self, name: &str) {
        let r = self.running.iter_mut().find(|r| r.name == name).unwrap_or_else(|| panic!("no process {name}"));
        if let Some(status) = r.child.try_wait().expect("wait") {
            panic!("{name} exited ({status}); its output is below");
        }
    }

    /// Kills every process, the last started first.
    fn stop_all(&mut self) {
        for r in self.running.iter_mut().rev() {
            let _ = r.child.kill();
            let _ = r.child.wait();
        }
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        self.stop_all();
        if std::thread::panicking() {
            let all = self
                .finished
                .iter()
                .map(|(n, o, e)| (n.clone(), o.clone(), e.clone()))
                .chain(self.running.iter().map(|r| (r.name.clone(), r.stdout.clone(), r.stderr.clone())));
            for (name, out, err) in all {
                for (stream, path) in [("stdout", out), ("stderr", err)] {
                    let tail = tail(&path, 6000);
                    if !tail.trim().is_empty() {
                        eprintln!("----- {name} {stream} (end) -----\n{tail}");
                    }
                }
            }
        }
    }
}

/// The last `bytes` of a file.
fn tail(path: &Path, bytes: u64) -> String {
    let Ok(mut file) = fs::File::open(path) else {
        return String::new();
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = file.seek(SeekFrom::Start(len.saturating_sub(bytes)));
    let mut buf = Vec::new();
    let _ = file.read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

async fn describe(res: reqwest::Result<reqwest::Response>) -> String {
    match res {
        Ok(r) => {
            let status = r.status();
            format!("{status} {}", r.text().await.unwrap_or_default())
        }
        Err(e) => format!("no answer ({e})"),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// NATS
// ---------------------------------------------------------------------------------------------------------------

/// Starts nats-server with the project's server configuration (deploy/nats/nats-secure.conf: JetStream limits,
/// payload size) including the chart's rendered `bangban-auth.conf` (Secret `<release>-nats-accounts`), with the
/// rendered passwords (Secret `<release>-nats-passwords`) in the server's environment, as the accounts reference
/// them. Only the listen address (a free local port), the monitoring port (none) and the store (a temp folder)
/// differ. Returns the client URL.
async fn start_nats(root: &Path, manifests: &Manifests, tmp: &Path, fleet: &mut Fleet) -> String {
    let dir = tmp.join("nats");
    fs::create_dir_all(&dir).expect("nats dir");
    let accounts_secret = format!("{RELEASE}-nats-accounts");
    let accounts = manifests
        .secret(&accounts_secret)
        .unwrap_or_else(|| panic!("the chart renders no Secret {accounts_secret} with {VALUES}"));
    let auth = accounts
        .get("bangban-auth.conf")
        .unwrap_or_else(|| panic!("Secret {accounts_secret} has no key bangban-auth.conf"));
    fs::write(dir.join("bangban-auth.conf"), auth).expect("auth conf");
    let passwords_secret = format!("{RELEASE}-nats-passwords");
    let passwords = manifests
        .secret(&passwords_secret)
        .unwrap_or_else(|| panic!("the chart renders no Secret {passwords_secret} with {VALUES}"));

    let base = fs::read_to_string(root.join("deploy/nats/nats-secure.conf")).expect("deploy/nats/nats-secure.conf");
    let mut conf = String::new();
    let mut included = false;
    for line in base.lines() {
        let t = line.trim_start();
        if t.starts_with("listen:") {
            conf.push_str("listen: 127.0.0.1:-1\n"); // a free port, read back from the log
        } else if t.starts_with("http:") || t.starts_with("server_name:") {
            // no monitoring port (it would collide); a name of its own
        } else if t.starts_with("store_dir:") {
            conf.push_str(&format!("  store_dir: {:?}\n", dir.join("jetstream").display().to_string()));
        } else {
            included |= t.starts_with("include") && t.contains("bangban-auth.conf");
            conf.push_str(line);
            conf.push('\n');
        }
    }
    assert!(included, "deploy/nats/nats-secure.conf no longer includes bangban-auth.conf");
    conf.push_str("server_name: chart-boot-nats\n");
    let conf_path = dir.join("nats.conf");
    fs::write(&conf_path, conf).expect("nats.conf");

    let binary = std::env::var_os("NATS_SERVER_BIN")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("PATH")
                .iter()
                .flat_map(std::env::split_paths)
                .map(|d| d.join("nats-server"))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| root.join(".tools/bin/nats-server"));
    assert!(
        binary.is_file(),
        "no nats-server: not in $NATS_SERVER_BIN, not on PATH, not at {} (tools/ensure-nats-server.sh --install)",
        binary.display()
    );
    let mut cmd = Command::new(&binary);
    cmd.arg("-c").arg(&conf_path).current_dir(&dir).env_clear().env("PATH", IMAGE_PATH);
    for (key, value) in &passwords {
        cmd.env(key, String::from_utf8(value.clone()).expect("UTF-8 password"));
    }
    let log = fleet.spawn_command("nats-server", cmd);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        fleet.assert_running("nats-server");
        let text = fs::read_to_string(&log).unwrap_or_default();
        if text.contains("Server is ready")
            && let Some(port) = text.lines().find_map(|l| {
                let (_, rest) = l.split_once("Listening for client connections on ")?;
                rest.split_whitespace().next()?.rsplit_once(':')?.1.parse::<u16>().ok()
            })
        {
            return format!("nats://127.0.0.1:{port}");
        }
        assert!(Instant::now() < deadline, "nats-server ({}) was not ready within 15 s", binary.display());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// An office's stream `OFFICE_<code>`, as the office's admin user sees it (the password from the rendered Secret
/// `<release>-nats-passwords`).
struct OfficeStream {
    js: async_nats::jetstream::Context,
    stream: String,
}

impl OfficeStream {
    async fn connect(manifests: &Manifests, nats_url: &str, office: &str) -> OfficeStream {
        let user = format!("office-{office}-admin");
        let variable = format!("BANGBAN_NATS_PASSWORD_{}", user.to_uppercase().replace('-', "_"));
        let passwords = manifests.secret(&format!("{RELEASE}-nats-passwords")).expect("the passwords Secret");
        let password =
            String::from_utf8(passwords.get(&variable).expect("the admin's password").clone()).expect("UTF-8");
        let settings = bangban_platform::config::NatsSettings {
            url: nats_url.to_string(),
            user: Some(user.clone()),
            password: Some(password.into()),
            connect_deadline: Duration::from_secs(10),
            ..Default::default()
        };
        let client =
            bangban_platform::bus::connect(&settings, "chart-boot").await.unwrap_or_else(|e| panic!("{user}: {e}"));
        OfficeStream { js: async_nats::jetstream::new(client), stream: format!("OFFICE_{office}") }
    }

    /// (NATS subject, `ce-subject`) of every event in the stream, in order.
    async fn events(&self) -> Vec<(String, Option<String>)> {
        let mut stream =
            self.js.get_stream(&self.stream).await.unwrap_or_else(|e| panic!("the stream {}: {e}", self.stream));
        let state = stream.info().await.unwrap_or_else(|e| panic!("info of {}: {e}", self.stream)).state.clone();
        let mut out = Vec::new();
        for seq in state.first_sequence..=state.last_sequence {
            if state.messages == 0 {
                break;
            }
            let Ok(message) = stream.get_raw_message(seq).await else { continue };
            let event = bangban_contracts::CloudEvent::from_parts(Some(&message.headers), message.payload.clone())
                .unwrap_or_else(|e| panic!("{} holds a message that is no CloudEvent: {e}", self.stream));
            out.push((message.subject.to_string(), event.subject));
        }
        out
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Stand-ins: the OTLP collector (the OIDC issuer is support.rs's)
// ---------------------------------------------------------------------------------------------------------------

/// A local OTLP/HTTP endpoint that accepts everything.
async fn start_otlp_sink() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the OTLP sink");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let app = Router::new().fallback(|| async { StatusCode::OK });
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

// ---------------------------------------------------------------------------------------------------------------
// The API, with tokens of the stand-in issuer
// ---------------------------------------------------------------------------------------------------------------

struct Api {
    http: reqwest::Client,
    base: String,
    issuer: String,
    /// The audience the gateway was rendered with (`BANGBAN__AUTH__AUDIENCE`).
    audience: Option<String>,
}

impl Api {
    /// An access token of the stand-in issuer with the claims the platform reads (`auth::Claims`).
    fn token(&self, sub: &str, role: &str, office: &str) -> String {
        let now = chrono::Utc::now().timestamp();
        let mut claims =
            json!({"sub": sub, "role": role, "office": office, "iss": self.issuer, "iat": now, "exp": now + 900});
        if let Some(aud) = &self.audience {
            claims["aud"] = json!(aud);
        }
        sign(&claims)
    }

    async fn post(&self, token: &str, path: &str, body: &Value, status: u16) -> Value {
        let res = self.http.post(format!("{}{path}", self.base)).bearer_auth(token).json(body).send().await;
        let res = res.unwrap_or_else(|e| panic!("POST {path}: {e}"));
        let got = res.status().as_u16();
        let text = res.text().await.unwrap_or_default();
        assert_eq!(got, status, "POST {path}: {text}");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("POST {path}: {e}: {text}"))
    }

    /// `GET path` until it answers 200 with a body `accept` takes, for at most [`HOP_WITHIN`].
    async fn eventually(
        &self,
        token: &str,
        path: &str,
        accept: impl Fn(&Value) -> bool,
        fleet: &mut Fleet,
    ) -> Option<Value> {
        let deadline = Instant::now() + HOP_WITHIN;
        loop {
            let res = self.http.get(format!("{}{path}", self.base)).bearer_auth(token).send().await;
            if let Ok(res) = res
                && res.status() == StatusCode::OK
                && let Ok(body) = res.json::<Value>().await
                && accept(&body)
            {
                return Some(body);
            }
            if Instant::now() > deadline {
                return None;
            }
            for service in SERVICES {
                fleet.assert_running(service);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
