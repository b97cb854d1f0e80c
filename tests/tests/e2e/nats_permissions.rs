//! Who may do what on the bus: the NATS accounts, users and permissions of `deploy/nats/`, proven on a
//! real nats-server.
//!
//! The files `deploy/nats/bangban-auth.conf`, `deploy/nats/dev-passwords.env`,
//! `deploy/nats/streams/*.json` and the Helm chart's data file `helm/bangban/files/nats/accounts.json`
//! (from which the chart renders the same accounts, with the offices and integrators of its values)
//! are generated here from the contracts (the offices, the event registry and which service publishes
//! which event), so eight county blocks are never copied by hand. [`generated_files_are_up_to_date`]
//! fails when a checked-in file differs from what the contracts say; regenerate them with
//!
//! ```text
//! BANGBAN_UPDATE_NATS_CONFIG=1 cargo nextest run -p bangban-e2e nats_permissions
//! ```
//!
//! The design (see `deploy/nats/README.md`): services live in the account `BANGBAN`, which holds
//! `BANGBAN_EVENTS` and `BANGBAN_DLQ`. Every office and every integrator is a *tenant* with an account
//! of its own and a stream of its own that the server sources from `BANGBAN_EVENTS`, filtered to
//! what the tenant may read. The only ways from a tenant account into `BANGBAN` are imports the
//! operator wrote: consumer creation on `BANGBAN_EVENTS` with the tenant's own filter (the server
//! checks that the filter in the subject is the one in the request), flow control, and the deliveries.
//! So a tenant sees only its slice, cannot touch another tenant's consumers, cannot publish into the
//! platform, and even the replies it provokes stay in its own account.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    future::Future,
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use anyhow::Context as _;
use async_nats::{
    Client, ConnectOptions, Event, ServerError,
    jetstream::{
        self,
        consumer::{AckPolicy, PullConsumer, pull},
        stream,
    },
};
use bangban_contracts::{
    CloudEvent, EventType, Operation,
    intake::ops::{CaseGet, ContactResolve},
    notification::ops::InboxList,
    office::OFFICES,
    routing::ops::UnitList,
    subjects::{DLQ_STREAM, EVENTS_STREAM, dlq_subject},
};
use bangban_platform::{
    bus,
    config::ConsumerSettings,
    consumer::{ConsumerSpec, ensure_consumer},
    problem::Problem,
    rpc,
};
use bangban_testkit::NatsServer;
use futures::StreamExt;
use serde_json::json;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::support::{deploy_dir, parse_env, password_variable, read_deploy_file, secured_config_text};

// ---------------------------------------------------------------------------------------------------
// The configuration, generated from the contracts
// ---------------------------------------------------------------------------------------------------

/// Which service publishes which events. Every registered event type has exactly one publisher
/// ([`owners_cover_the_registry_once`]); a service may publish nothing else.
const OWNERS: &[(&str, &[EventType])] = &[
    (
        "intake",
        &[
            EventType::CONSULTATION_RECORDED,
            EventType::JOINT_MEETING_SCHEDULED,
            EventType::JOINT_MEETING_RECORDED,
            EventType::CASE_ACCEPTED,
            EventType::CASE_SPECIALIST_CHANGED,
            EventType::MATERIALS_REVIEWED,
            EventType::CASE_RESULTS_DELIVERED,
            EventType::CASE_ARCHIVED,
            EventType::CASE_TERMINATED,
        ],
    ),
    ("planning", &[EventType::PLAN_PUBLISHED, EventType::PLAN_REVISED, EventType::CALENDAR_CHANGED]),
    (
        "routing",
        &[
            EventType::TASK_DISPATCHED,
            EventType::TASK_RECEIVED,
            EventType::TASK_IN_REVIEW,
            EventType::TASK_SUPPLEMENT_REQUESTED,
            EventType::TASK_SUPPLEMENTED,
            EventType::TASK_APPROVED,
            EventType::TASK_REJECTED,
            EventType::TASK_RESULT_COLLECTED,
            EventType::TASK_WITHDRAWN,
            EventType::TASK_LINK_ACKNOWLEDGED,
            EventType::TASK_LINK_REPORTED,
            EventType::PLAN_COMPLETED,
        ],
    ),
    (
        "deadline",
        &[
            EventType::TASK_WARNING,
            EventType::TASK_OVERDUE,
            EventType::TASK_CLOCK_CHANGED,
            EventType::SUPERVISION_ISSUED,
            EventType::SUPERVISION_ANSWERED,
            EventType::SUPERVISION_RESOLVED,
            EventType::SUPERVISION_ESCALATED,
            EventType::SUPERVISION_DECIDED,
            EventType::PROBLEM_RECORDED,
            EventType::PROBLEM_REFERRED,
            EventType::PROBLEM_SOLVED,
            EventType::MEETING_RECORDED,
        ],
    ),
    ("notification", &[EventType::SMS_SENT, EventType::SMS_DELIVERED, EventType::SMS_FAILED]),
    (
        "evaluation",
        &[
            EventType::EVALUATION_INVITED,
            EventType::EVALUATION_SUBMITTED,
            EventType::RECTIFICATION_OPENED,
            EventType::RECTIFICATION_CLOSED,
            EventType::APPEAL_DECIDED,
        ],
    ),
];

/// Integrators with an account of their own: (id, description). Add one line per real integrator.
const INTEGRATORS: &[(&str, &str)] = &[("demo", "example integrator (copy this entry for each real one)")];

/// The account of the platform's services and of the streams `BANGBAN_EVENTS` and `BANGBAN_DLQ`.
const PLATFORM_ACCOUNT: &str = "BANGBAN";
/// Where a tenant account reaches the platform's JetStream API (the `external.api` of its source).
const PLATFORM_API_PREFIX: &str = "$JS.bangban.API";
/// Subject prefix of the deliveries that feed a tenant's stream (`bb.src.<tenant>.…`).
const DELIVERY_PREFIX: &str = "bb.src";
/// Storage of one office's stream (one county's share of a year of events fits many times over).
const OFFICE_MAX_BYTES: u64 = 1 << 30;
/// Storage of one integrator's stream (a copy of every office's events).
const INTEGRATOR_MAX_BYTES: u64 = 4 << 30;
/// Memory a tenant account may use (its stream is on file; this is for consumers' state).
const TENANT_MAX_MEMORY: u64 = 16 << 20;
/// JetStream limits of the platform's account (memory, file), as the chart's `nats.platformJetStream` defaults.
const PLATFORM_MAX_MEMORY: u64 = 32 << 20;
const PLATFORM_MAX_FILE: u64 = 4 << 30;
/// Consumers a tenant may have (the office's own, one per department, tools).
const TENANT_MAX_CONSUMERS: u32 = 100;
/// How long a tenant's stream keeps events: the same year as `BANGBAN_EVENTS`.
const TENANT_MAX_AGE: Duration = Duration::from_secs(365 * 24 * 3600);
/// The duplicate window of a tenant's stream, as on `BANGBAN_EVENTS`.
const TENANT_DUPLICATE_WINDOW: Duration = Duration::from_secs(120);

const GENERATED_BY: &str = "GENERATED by tests/tests/e2e/nats_permissions.rs from the contracts; do not edit.\n\
     Regenerate: BANGBAN_UPDATE_NATS_CONFIG=1 cargo nextest run -p bangban-e2e nats_permissions";

/// An office or an integrator: an account with one stream sourced from `BANGBAN_EVENTS`.
#[derive(Debug, Clone)]
struct Tenant {
    /// `office-371625`, `integrator-demo`: the consumer user's name and the delivery token.
    id: String,
    /// `OFFICE_371625`: the account's name, which is also its stream's name.
    account: String,
    /// What the tenant may read: `bb.evt.371625.>` or `bb.evt.>`.
    filter: String,
    description: String,
    max_bytes: u64,
}

impl Tenant {
    fn office(code: &str, name: &str) -> Self {
        Self {
            id: format!("office-{code}"),
            account: format!("OFFICE_{code}"),
            filter: format!("bb.evt.{code}.>"),
            description: format!("office {code} {name}"),
            max_bytes: OFFICE_MAX_BYTES,
        }
    }

    fn integrator(id: &str, description: &str) -> Self {
        Self {
            id: format!("integrator-{id}"),
            account: format!("INTEGRATOR_{}", id.to_uppercase().replace('-', "_")),
            filter: "bb.evt.>".into(),
            description: format!("integrator {id}: {description}"),
            max_bytes: INTEGRATOR_MAX_BYTES,
        }
    }

    fn stream(&self) -> &str {
        &self.account
    }

    /// The user that provisions the tenant's stream (kept by the platform's operators).
    fn admin(&self) -> String {
        format!("{}-admin", self.id)
    }

    fn deliver_prefix(&self) -> String {
        format!("{DELIVERY_PREFIX}.{}", self.id)
    }

    /// Consumer creation on `BANGBAN_EVENTS` with exactly this tenant's filter (as the server's
    /// sourcing asks for it: `$JS.API.CONSUMER.CREATE.<stream>.<name>.<filter>`).
    fn source_create_subject(&self, api: &str) -> String {
        format!("{api}.CONSUMER.CREATE.{EVENTS_STREAM}.*.{}", self.filter)
    }

    /// What the platform account exports to this tenant: its stream's source (with its filter only), the
    /// deliveries and the live feed. (The flow control of the sources is one export shared by every
    /// tenant: [`flow_control_subject`].)
    fn exports(&self) -> Vec<Port> {
        vec![
            Port::service(self.source_create_subject("$JS.API"), None),
            Port::stream(format!("{}.>", self.deliver_prefix())),
            Port::stream(self.filter.clone()),
        ]
    }

    /// What the tenant's account imports from the platform account: the exports above and the flow control.
    fn imports(&self) -> Vec<Port> {
        vec![
            Port::service(self.source_create_subject("$JS.API"), Some(self.source_create_subject(PLATFORM_API_PREFIX))),
            Port::service(flow_control_subject(), None),
            Port::stream(format!("{}.>", self.deliver_prefix())),
            Port::stream(self.filter.clone()),
        ]
    }

    /// The stream configuration the tenant's admin creates (`nats stream add --config …`).
    fn stream_config(&self) -> serde_json::Value {
        json!({
            "name": self.stream(),
            "description": format!("Bangban events for {} ({}), sourced from {EVENTS_STREAM}", self.description, self.filter),
            "retention": "limits",
            "storage": "file",
            "discard": "old",
            "max_age": TENANT_MAX_AGE.as_nanos() as u64,
            "max_bytes": self.max_bytes,
            "duplicate_window": TENANT_DUPLICATE_WINDOW.as_nanos() as u64,
            "num_replicas": 1,
            "sources": [{
                "name": EVENTS_STREAM,
                "filter_subject": self.filter,
                "external": { "api": PLATFORM_API_PREFIX, "deliver": self.deliver_prefix() },
            }],
        })
    }

    /// What the tenant's consumer user may do, all within its own account.
    fn consumer_user(&self) -> User {
        let s = self.stream();
        User {
            name: self.id.clone(),
            note: format!(
                "{}: reads {} (its stream {s} and the live feed), publishes nothing",
                self.description, self.filter
            ),
            publish: Some(vec![
                "$JS.API.INFO".into(),
                format!("$JS.API.STREAM.INFO.{s}"),
                // Only filtered creates, only within the tenant's filter. The legacy
                // `$JS.API.CONSUMER.DURABLE.CREATE.…` and filterless creates carry no filter: not allowed.
                format!("$JS.API.CONSUMER.CREATE.{s}.*.{}", self.filter),
                format!("$JS.API.CONSUMER.INFO.{s}.*"),
                format!("$JS.API.CONSUMER.DELETE.{s}.*"),
                format!("$JS.API.CONSUMER.NAMES.{s}"),
                format!("$JS.API.CONSUMER.LIST.{s}"),
                format!("$JS.API.CONSUMER.MSG.NEXT.{s}.*"),
                format!("$JS.ACK.{s}.>"),
                format!("$JS.FC.{s}.>"),
            ]),
            subscribe: vec![self.filter.clone(), "_INBOX.>".into()],
            allow_responses: false,
        }
    }

    fn admin_user(&self) -> User {
        User {
            name: self.admin(),
            note: format!("provisions the stream {} (operators only)", self.stream()),
            publish: Some(vec!["$JS.API.>".into()]),
            subscribe: vec!["_INBOX.>".into()],
            allow_responses: false,
        }
    }
}

/// The flow control of the tenants' sources, exported by the platform to every tenant.
fn flow_control_subject() -> String {
    format!("$JS.FC.{EVENTS_STREAM}.>")
}

/// One export of the platform account (`accounts: [<tenant>]` is added where it is written) or one import of a
/// tenant account (from the platform account, optionally mapped to another subject with `to`).
#[derive(Debug, Clone)]
struct Port {
    /// `service` (request/reply) or `stream` (messages).
    kind: &'static str,
    subject: String,
    to: Option<String>,
}

impl Port {
    fn service(subject: String, to: Option<String>) -> Self {
        Self { kind: "service", subject, to }
    }

    fn stream(subject: String) -> Self {
        Self { kind: "stream", subject, to: None }
    }

    fn to_json(&self) -> serde_json::Value {
        let mut v = json!({ "kind": self.kind, "subject": self.subject });
        if let Some(to) = &self.to {
            v["to"] = json!(to);
        }
        v
    }
}

fn tenants() -> Vec<Tenant> {
    OFFICES
        .iter()
        .map(|(code, name)| Tenant::office(code, name))
        .chain(INTEGRATORS.iter().map(|(id, description)| Tenant::integrator(id, description)))
        .collect()
}

fn tenant(id: &str) -> Tenant {
    tenants().into_iter().find(|t| t.id == id).unwrap_or_else(|| panic!("no tenant {id}"))
}

/// One user of the generated configuration. `publish: None` = unrestricted.
#[derive(Debug, Clone)]
struct User {
    name: String,
    note: String,
    publish: Option<Vec<String>>,
    subscribe: Vec<String>,
    allow_responses: bool,
}

impl User {
    /// The environment variable (or config variable) that holds this user's password.
    fn password_variable(&self) -> String {
        password_variable(&self.name)
    }
}

/// The JetStream API a service needs: its streams, durable pull consumers on the events, acks.
fn service_jetstream() -> Vec<String> {
    let mut out = vec!["$JS.API.INFO".to_string()];
    for stream in [EVENTS_STREAM, DLQ_STREAM] {
        for op in ["INFO", "CREATE", "UPDATE"] {
            out.push(format!("$JS.API.STREAM.{op}.{stream}"));
        }
    }
    out.extend([
        format!("$JS.API.CONSUMER.CREATE.{EVENTS_STREAM}.>"),
        format!("$JS.API.CONSUMER.INFO.{EVENTS_STREAM}.*"),
        format!("$JS.API.CONSUMER.MSG.NEXT.{EVENTS_STREAM}.*"),
        format!("$JS.ACK.{EVENTS_STREAM}.>"),
        // Dead letters: `bb.dlq.<consumer>`.
        dlq_subject("*"),
        // Calls to other services.
        "bb.svc.>".into(),
    ]);
    out
}

/// What the gateway needs of JetStream: its own two streams — the audit log (append, read with ordered
/// consumers) and the sessions (write, read the last message of a subject, purge one subject at logout) —
/// and nothing of the event streams.
fn gateway_jetstream() -> Vec<String> {
    let mut out = vec!["$JS.API.INFO".to_string()];
    for stream in [bangban_gateway::audit::STREAM, bangban_gateway::session::STREAM] {
        for op in ["INFO", "CREATE", "UPDATE"] {
            out.push(format!("$JS.API.STREAM.{op}.{stream}"));
        }
    }
    let audit = bangban_gateway::audit::STREAM;
    let sessions = bangban_gateway::session::STREAM;
    out.extend([
        format!("$JS.API.CONSUMER.CREATE.{audit}"),
        format!("$JS.API.CONSUMER.CREATE.{audit}.>"),
        format!("$JS.API.CONSUMER.INFO.{audit}.*"),
        format!("$JS.API.CONSUMER.DELETE.{audit}.*"),
        format!("$JS.API.CONSUMER.MSG.NEXT.{audit}.*"),
        format!("$JS.API.STREAM.MSG.GET.{sessions}"),
        format!("$JS.API.STREAM.PURGE.{sessions}"),
        format!("{}.>", bangban_gateway::audit::SUBJECT_PREFIX),
        format!("{}.>", bangban_gateway::session::SUBJECT_PREFIX),
    ]);
    out
}

fn event_subjects(events: &[EventType]) -> Vec<String> {
    events.iter().map(EventType::filter_all_offices).collect()
}

fn service_user(service: &str, events: &[EventType]) -> User {
    let mut publish = event_subjects(events);
    publish.extend(service_jetstream());
    User {
        name: service.into(),
        note: format!("service {service}: publishes {}", describe_events(events)),
        publish: Some(publish),
        subscribe: vec![
            format!("bb.svc.{service}.>"),
            "$SRV.*".into(),
            format!("$SRV.*.{service}"),
            format!("$SRV.*.{service}.*"),
            "_INBOX.>".into(),
        ],
        allow_responses: true,
    }
}

fn describe_events(events: &[EventType]) -> String {
    events.iter().map(|t| format!("{}.{}", t.aggregate, t.event)).collect::<Vec<_>>().join(", ")
}

fn platform_users() -> Vec<User> {
    let mut users: Vec<User> = OWNERS.iter().map(|(service, events)| service_user(service, events)).collect();
    let mut gateway = vec!["bb.svc.>".to_string(), "$SRV.>".to_string()];
    gateway.extend(gateway_jetstream());
    users.push(User {
        name: "gateway".into(),
        note:
            "the HTTP gateway: calls services, publishes no events; its JetStream is the audit log and the sessions; \
               reads the live events for /api/v1/stream"
                .into(),
        publish: Some(gateway),
        subscribe: vec!["_INBOX.>".into(), "bb.evt.>".into()],
        allow_responses: false,
    });
    let all: Vec<EventType> = OWNERS.iter().flat_map(|(_, events)| events.iter().copied()).collect();
    let mut publish = event_subjects(&all);
    publish.extend(service_jetstream());
    publish.extend(gateway_jetstream().into_iter().filter(|s| s != "$JS.API.INFO"));
    publish.push("$SRV.>".into());
    users.push(User {
        name: "bangban".into(),
        note: "`bangban serve`: every service in one process and one connection, so the union of theirs".into(),
        publish: Some(publish),
        subscribe: vec!["bb.svc.>".into(), "$SRV.>".into(), "_INBOX.>".into(), "bb.evt.>".into()],
        allow_responses: true,
    });
    users.push(User {
        name: "ops".into(),
        note: "operators with the nats CLI (stream administration, dead-letter replays): unrestricted".into(),
        publish: None,
        subscribe: vec![">".into()],
        allow_responses: false,
    });
    users
}

/// Every user of the configuration, in the order of the file.
fn all_users() -> Vec<User> {
    let mut users = platform_users();
    for t in tenants() {
        users.push(t.consumer_user());
        users.push(t.admin_user());
    }
    users
}

fn quoted_list(out: &mut String, indent: &str, items: &[String]) {
    for item in items {
        let _ = writeln!(out, "{indent}{item:?}");
    }
}

fn render_user(out: &mut String, user: &User) {
    let _ = writeln!(out, "      # {}", user.note);
    let _ = writeln!(out, "      {{ user: {:?}, password: ${}", user.name, user.password_variable());
    let _ = writeln!(out, "        permissions: {{");
    match &user.publish {
        Some(allow) => {
            let _ = writeln!(out, "          publish: {{ allow: [");
            quoted_list(out, "            ", allow);
            let _ = writeln!(out, "          ] }}");
        }
        None => {
            let _ = writeln!(out, "          publish: {{ allow: [\">\"] }}");
        }
    }
    let _ = writeln!(out, "          subscribe: {{ allow: [");
    quoted_list(out, "            ", &user.subscribe);
    let _ = writeln!(out, "          ] }}");
    if user.allow_responses {
        let _ = writeln!(out, "          allow_responses: true");
    }
    let _ = writeln!(out, "        }}");
    let _ = writeln!(out, "      }}");
}

/// `deploy/nats/bangban-auth.conf`.
fn render_auth_conf() -> String {
    let tenants = tenants();
    let mut out = String::new();
    for line in GENERATED_BY.lines() {
        let _ = writeln!(out, "# {line}");
    }
    out.push_str(
        "#
# Accounts, users and permissions of Bangban's NATS (deploy/nats/README.md explains the design).
# Include it from a server configuration, as nats-secure.conf does. Every password is a variable
# resolved from the environment (BANGBAN_NATS_PASSWORD_<USER>): plain passwords or bcrypt hashes from
# your secret store; dev-passwords.env holds the development values.
#
# BANGBAN: the services and the streams BANGBAN_EVENTS and BANGBAN_DLQ. A service publishes only its own
#   events (bb.evt.*.<aggregate>.<event>[.*]), its dead letters, service calls and replies.
# OFFICE_<code>, INTEGRATOR_<id>: one account per tenant with one stream of the same name, sourced by
#   the server from BANGBAN_EVENTS with the tenant's filter. The imports below are the only way from a
#   tenant into BANGBAN; the tenant's users may only consume from their own stream (and subscribe to
#   their own live subjects), so they can neither read another tenant's events nor publish any.

",
    );
    out.push_str("accounts {\n");
    let _ = writeln!(out, "  {PLATFORM_ACCOUNT} {{");
    // The chart's defaults (nats.platformJetStream): the event streams, the audit log and the sessions share them.
    let _ = writeln!(out, "    jetstream: {{ max_mem: {PLATFORM_MAX_MEMORY}, max_file: {PLATFORM_MAX_FILE} }}");
    let _ = writeln!(out, "    users: [");
    for user in platform_users() {
        render_user(&mut out, &user);
    }
    let _ = writeln!(out, "    ]");
    let _ = writeln!(out, "    exports: [");
    for t in &tenants {
        let _ = writeln!(
            out,
            "      # {}: its stream's source (with its filter only), the deliveries, the live feed",
            t.id
        );
        for export in t.exports() {
            let _ = writeln!(out, "      {{ {}: {:?}, accounts: [{}] }}", export.kind, export.subject, t.account);
        }
    }
    let _ = writeln!(out, "      # flow control of the sources (without it a source stalls after a burst)");
    let accounts: Vec<&str> = tenants.iter().map(|t| t.account.as_str()).collect();
    let _ = writeln!(out, "      {{ service: {:?}, accounts: [{}] }}", flow_control_subject(), accounts.join(", "));
    let _ = writeln!(out, "    ]");
    let _ = writeln!(out, "  }}");
    for t in &tenants {
        let _ = writeln!(out);
        let _ = writeln!(out, "  # {}", t.description);
        let _ = writeln!(out, "  {} {{", t.account);
        let _ = writeln!(
            out,
            "    jetstream: {{ max_mem: {TENANT_MAX_MEMORY}, max_file: {}, max_streams: 1, max_consumers: {TENANT_MAX_CONSUMERS} }}",
            t.max_bytes
        );
        let _ = writeln!(out, "    users: [");
        render_user(&mut out, &t.consumer_user());
        render_user(&mut out, &t.admin_user());
        let _ = writeln!(out, "    ]");
        let _ = writeln!(out, "    imports: [");
        for import in t.imports() {
            match &import.to {
                Some(to) => {
                    let _ = writeln!(
                        out,
                        "      {{ {}: {{ account: {PLATFORM_ACCOUNT}, subject: {:?} }}, to: {:?} }}",
                        import.kind, import.subject, to
                    );
                }
                None => {
                    let _ = writeln!(
                        out,
                        "      {{ {}: {{ account: {PLATFORM_ACCOUNT}, subject: {:?} }} }}",
                        import.kind, import.subject
                    );
                }
            }
        }
        let _ = writeln!(out, "    ]");
        let _ = writeln!(out, "  }}");
    }
    out.push_str("}\n");
    out
}

/// The development password of a user: obviously not a secret. (What `render_dev_passwords` writes;
/// `support::dev_password` reads it back from `dev-passwords.env`.)
fn dev_password(user: &str) -> String {
    format!("dev-{user}-password")
}

/// `deploy/nats/dev-passwords.env`.
fn render_dev_passwords() -> String {
    let mut out = String::new();
    out.push_str(
        "# DEVELOPMENT ONLY: well-known passwords for a developer machine and the tests. Never deploy them.\n",
    );
    for line in GENERATED_BY.lines() {
        let _ = writeln!(out, "# {line}");
    }
    out.push_str(
        "# Use: set -a; . deploy/nats/dev-passwords.env; set +a; nats-server -c deploy/nats/nats-secure.conf\n",
    );
    for user in all_users() {
        let _ = writeln!(out, "{}={}", user.password_variable(), dev_password(&user.name));
    }
    out
}

/// Every generated file: path below `deploy/nats/` → content.
fn generated_files() -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    files.insert("bangban-auth.conf".to_string(), render_auth_conf());
    files.insert("dev-passwords.env".to_string(), render_dev_passwords());
    for t in tenants() {
        let text = serde_json::to_string_pretty(&t.stream_config()).expect("json") + "\n";
        files.insert(format!("streams/{}.json", t.stream()), text);
    }
    files
}

/// A user as data for the Helm chart (`publish: null` = unrestricted).
fn user_json(user: &User) -> serde_json::Value {
    json!({
        "name": user.name,
        "note": user.note,
        "password_variable": user.password_variable(),
        "publish": user.publish,
        "subscribe": user.subscribe,
        "allow_responses": user.allow_responses,
    })
}

/// A tenant as data for the Helm chart: everything `render_auth_conf` writes for it, and its stream.
fn tenant_json(t: &Tenant) -> serde_json::Value {
    json!({
        "id": t.id,
        "account": t.account,
        "description": t.description,
        "filter": t.filter,
        "jetstream": {
            "max_mem": TENANT_MAX_MEMORY,
            "max_file": t.max_bytes,
            "max_streams": 1,
            "max_consumers": TENANT_MAX_CONSUMERS,
        },
        "users": [user_json(&t.consumer_user()), user_json(&t.admin_user())],
        "exports": t.exports().iter().map(Port::to_json).collect::<Vec<_>>(),
        "imports": t.imports().iter().map(Port::to_json).collect::<Vec<_>>(),
        "stream": t.stream_config(),
    })
}

/// `helm/bangban/files/nats/accounts.json`: the accounts of `bangban-auth.conf` as data, from which the Helm
/// chart renders the same file (`templates/nats-accounts.yaml`) with the offices below plus the operator's
/// `nats.extraOffices` and `nats.integrators`. A tenant is a template: the chart replaces the parameters
/// (`{code}`, `{CODE}`, `{name}` of an office; `{id}`, `{ID}`, `{description}` of an integrator) in every
/// string. `tests/helm/test_nats_accounts.py` checks that the chart's rendering equals `bangban-auth.conf`.
fn render_chart_accounts() -> String {
    let office = Tenant::office("{code}", "{name}");
    let integrator = Tenant::integrator("{id}", "{description}");
    let doc = json!({
        "generated_by": GENERATED_BY,
        "platform": {
            "account": PLATFORM_ACCOUNT,
            "users": platform_users().iter().map(user_json).collect::<Vec<_>>(),
            "flow_control_export": Port::service(flow_control_subject(), None).to_json(),
        },
        "offices": OFFICES.iter().map(|(code, name)| json!({ "code": code, "name": name })).collect::<Vec<_>>(),
        "integrators": INTEGRATORS
            .iter()
            .map(|(id, description)| json!({ "id": id, "description": description }))
            .collect::<Vec<_>>(),
        "tenant_templates": {
            "office": {
                "parameters": {
                    "{code}": "the office's six-digit code, e.g. 371625",
                    "{CODE}": "the same, upper-cased (user names in password variables)",
                    "{name}": "the office's name, e.g. 博兴县",
                },
                "tenant": tenant_json(&office),
            },
            "integrator": {
                "parameters": {
                    "{id}": "the integrator's id, lower case, e.g. demo",
                    "{ID}": "the id upper-cased with '-' as '_' (account, password variables)",
                    "{description}": "what the integrator is",
                },
                "tenant": tenant_json(&integrator),
            },
        },
    });
    serde_json::to_string_pretty(&doc).expect("json") + "\n"
}

/// Every generated file of the Helm chart: path below `helm/bangban/` → content.
fn generated_chart_files() -> BTreeMap<String, String> {
    BTreeMap::from([("files/nats/accounts.json".to_string(), render_chart_accounts())])
}

fn chart_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../helm/bangban")
}

#[test]
fn owners_cover_the_registry_once() {
    for t in EventType::ALL {
        let owners: Vec<&str> =
            OWNERS.iter().filter(|(_, events)| events.contains(t)).map(|(service, _)| *service).collect();
        assert_eq!(owners.len(), 1, "{} must have exactly one publisher in OWNERS, has {owners:?}", t.ce_type());
    }
    let owned: usize = OWNERS.iter().map(|(_, events)| events.len()).sum();
    assert_eq!(owned, EventType::ALL.len(), "OWNERS lists an event twice or one that is not registered");
}

#[test]
fn generated_files_are_up_to_date() {
    let update = std::env::var_os("BANGBAN_UPDATE_NATS_CONFIG").is_some_and(|v| !v.is_empty());
    let dir = deploy_dir();
    let mut stale = Vec::new();
    for (root, label, files) in
        [(deploy_dir(), "deploy/nats", generated_files()), (chart_dir(), "helm/bangban", generated_chart_files())]
    {
        for (name, content) in files {
            let path = root.join(&name);
            if std::fs::read_to_string(&path).ok().as_deref() == Some(content.as_str()) {
                continue;
            }
            if update {
                std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
                std::fs::write(&path, content).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
            } else {
                stale.push(format!("{label}/{name}"));
            }
        }
    }
    // Tenant streams that no longer exist in the contracts.
    let expected = generated_files();
    if let Ok(entries) = std::fs::read_dir(dir.join("streams")) {
        for entry in entries.flatten() {
            let name = format!("streams/{}", entry.file_name().to_string_lossy());
            if !expected.contains_key(&name) {
                if update {
                    std::fs::remove_file(entry.path()).expect("remove a stale stream file");
                } else {
                    stale.push(format!("deploy/nats/{name}"));
                }
            }
        }
    }
    assert!(
        stale.is_empty(),
        "generated NATS files are stale ({stale:?}); regenerate: BANGBAN_UPDATE_NATS_CONFIG=1 cargo nextest run -p bangban-e2e nats_permissions"
    );
}

/// `nats-server -t` accepts `nats-secure.conf` (the runnable secured development config) with the
/// development passwords in the environment, and refuses it without them (no silent empty passwords).
#[tokio::test]
async fn the_secured_server_config_is_valid() {
    let server = NatsServer::start().await.expect("a nats-server to find its binary");
    let binary = server.binary().to_path_buf();
    drop(server);
    let config = deploy_dir().join("nats-secure.conf");
    let env = parse_env(&read_deploy_file("dev-passwords.env"));
    assert_eq!(env.len(), all_users().len());
    let with = Command::new(&binary).arg("-t").arg("-c").arg(&config).envs(env.clone()).output().expect("run -t");
    assert!(with.status.success(), "nats-server -t: {}", String::from_utf8_lossy(&with.stderr));
    let without = Command::new(&binary)
        .arg("-t")
        .arg("-c")
        .arg(&config)
        .env_remove(&env[0].0)
        .envs(env[1..].iter().cloned())
        .output()
        .expect("run -t");
    assert!(!without.status.success(), "a missing password must stop the server");
}

// ---------------------------------------------------------------------------------------------------
// Sessions that see the server's permission errors
// ---------------------------------------------------------------------------------------------------

/// How long to wait for the server to report a refusal (it does so within milliseconds).
const REFUSAL_TIMEOUT: Duration = Duration::from_secs(5);
/// How long to wait for an event that should arrive (sourcing adds a few milliseconds).
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

/// A connection as one user, collecting the errors the server sends it (`-ERR 'Permissions Violation …'`).
struct Session {
    user: String,
    client: Client,
    errors: watch::Receiver<Vec<String>>,
}

impl Session {
    async fn connect(server: &NatsServer, user: &str) -> anyhow::Result<Self> {
        let (tx, errors) = watch::channel(Vec::new());
        let client = ConnectOptions::with_user_and_password(user.into(), dev_password(user))
            .name(user)
            .connection_timeout(Duration::from_secs(5))
            .event_callback(move |event| {
                let tx = tx.clone();
                async move {
                    if let Event::ServerError(ServerError::Other(message)) = event {
                        tx.send_modify(|seen| seen.push(message));
                    }
                }
            })
            .connect(server.url())
            .await
            .with_context(|| format!("connecting as {user}"))?;
        Ok(Self { user: user.into(), client, errors })
    }

    /// Returns once the server has processed everything this connection sent before, subscriptions
    /// included (`flush` only empties the socket; the answer to a request comes after them).
    async fn sync(&self) {
        self.client.request("$JS.API.INFO", "".into()).await.expect("a round trip");
    }

    fn js(&self) -> jetstream::Context {
        jetstream::new(self.client.clone())
    }

    /// How many times the server has reported `needle` (see [`needle`]) so far.
    fn seen(&self, needle: &str) -> usize {
        self.errors.borrow().iter().filter(|m| m.contains(needle)).count()
    }

    /// Waits until the server has reported `needle` more than `before` times.
    async fn reported(&self, needle: &str, before: usize) -> bool {
        let mut errors = self.errors.clone();
        let more = errors.wait_for(|seen| seen.iter().filter(|m| m.contains(needle)).count() > before);
        matches!(tokio::time::timeout(REFUSAL_TIMEOUT, more).await, Ok(Ok(_)))
    }

    /// Asserts that the server refuses `op`, which publishes to `subject`: it reports a permissions
    /// violation, and `op` never succeeds.
    async fn refused<T, E: std::fmt::Debug>(&self, subject: &str, op: impl Future<Output = Result<T, E>>) {
        let needle = needle("Publish", subject);
        let before = self.seen(&needle);
        tokio::select! {
            seen = self.reported(&needle, before) => {
                assert!(seen, "{}: no permissions violation for publishing to {subject}", self.user);
            }
            result = op => match result {
                Ok(_) => panic!("{} was allowed to publish to {subject}", self.user),
                Err(e) => assert!(
                    self.reported(&needle, before).await,
                    "{}: {subject} failed with {e:?}, but not for lack of permission", self.user
                ),
            },
        }
    }

    /// A core publish the server must refuse.
    async fn publish_refused(&self, subject: &str) {
        let needle = needle("Publish", subject);
        let before = self.seen(&needle);
        self.client.publish(subject.to_string(), "{}".into()).await.expect("publish");
        self.client.flush().await.expect("flush");
        assert!(self.reported(&needle, before).await, "{} could publish to {subject}", self.user);
    }

    /// A core publish with a reply subject (a hand-made request) the server must refuse.
    async fn request_refused(&self, subject: &str, payload: &str) {
        let needle = needle("Publish", subject);
        let before = self.seen(&needle);
        let reply = self.client.new_inbox();
        self.client.publish_with_reply(subject.to_string(), reply, payload.to_string().into()).await.expect("publish");
        self.client.flush().await.expect("flush");
        assert!(self.reported(&needle, before).await, "{} could publish to {subject}", self.user);
    }

    /// A subscription the server must refuse.
    async fn subscribe_refused(&self, subject: &str) {
        let needle = needle("Subscription", subject);
        let before = self.seen(&needle);
        let _subscriber = self.client.subscribe(subject.to_string()).await.expect("subscribe");
        self.client.flush().await.expect("flush");
        assert!(self.reported(&needle, before).await, "{} could subscribe to {subject}", self.user);
    }

    /// A JetStream publish of `event` on `subject`, acknowledged by the stream.
    async fn publish_event(&self, subject: &str, event: &CloudEvent) -> anyhow::Result<()> {
        let ack = self.js().publish_with_headers(subject.to_string(), event.to_headers(), event.data.clone()).await?;
        tokio::time::timeout(REFUSAL_TIMEOUT, ack).await.context("no ack")??;
        Ok(())
    }

    /// A JetStream publish of `event` on `subject` that the server must refuse.
    async fn publish_event_refused(&self, subject: &str, event: &CloudEvent) {
        let js = self.js();
        self.refused(subject, async {
            js.publish_with_headers(subject.to_string(), event.to_headers(), event.data.clone()).await?.await
        })
        .await;
    }
}

/// What the server says when it refuses `kind` (`Publish`, `Subscription`) to `subject`.
fn needle(kind: &str, subject: &str) -> String {
    format!("Permissions Violation for {kind} to \"{subject}\"")
}

fn event(t: EventType, service: &str, aggregate_id: &str) -> CloudEvent {
    CloudEvent::new(t, service, aggregate_id, &json!({ "id": aggregate_id })).expect("event")
}

fn subject(t: EventType, office: &str, unit: Option<&str>) -> String {
    t.subject(office, unit).expect("subject").to_string()
}

/// A durable pull consumer with explicit acks.
fn durable(name: &str, filter: &str) -> pull::Config {
    pull::Config {
        durable_name: Some(name.into()),
        filter_subject: filter.into(),
        ack_policy: AckPolicy::Explicit,
        ..Default::default()
    }
}

/// Receives `n` messages (acking each) and returns (subject, ce-id) of each.
async fn take(consumer: &PullConsumer, n: usize) -> anyhow::Result<Vec<(String, String)>> {
    let mut messages = consumer.messages().await?;
    let mut out = Vec::new();
    while out.len() < n {
        let msg = tokio::time::timeout(DELIVERY_TIMEOUT, messages.next())
            .await
            .with_context(|| format!("only {} of {n} events arrived: {out:?}", out.len()))?
            .context("the message stream ended")??;
        let event = CloudEvent::from_parts(msg.headers.as_ref(), msg.payload.clone())?;
        out.push((msg.subject.to_string(), event.id));
        msg.ack().await.map_err(|e| anyhow::anyhow!("ack: {e}"))?;
    }
    Ok(out)
}

/// Receives `n` live messages from a core subscription; their subjects, sorted (core NATS keeps the order
/// of one publisher only, and these come from two).
async fn take_live(subscriber: &mut async_nats::Subscriber, n: usize) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    while out.len() < n {
        let msg = tokio::time::timeout(DELIVERY_TIMEOUT, subscriber.next())
            .await
            .with_context(|| format!("only {} of {n} live events arrived: {out:?}", out.len()))?
            .context("the subscription ended")?;
        out.push(msg.subject.to_string());
    }
    out.sort();
    Ok(out)
}

// ---------------------------------------------------------------------------------------------------
// The platform as the services, and the tenants as their operators provision them
// ---------------------------------------------------------------------------------------------------

/// The office whose events the tests read, the other county, and the integrator.
const BOXING: &str = "371625";
const HUIMIN: &str = "371621";
const INTEGRATOR: &str = "integrator-demo";
/// Two departments (responsible units) of 博兴县 and one of 惠民县.
const BX_ZRZY: &str = "371625-ZRZY";
const BX_ZJ: &str = "371625-ZJ";
const HM_ZRZY: &str = "371621-ZRZY";

struct Platform {
    server: NatsServer,
    /// The planning service's session (creates the streams at start).
    planning: Session,
}

/// What [`Platform::publish_sample_events`] published: (subject, ce-id) in order.
struct Published(Vec<(String, String)>);

impl Published {
    fn of_office(&self, office: &str) -> Vec<(String, String)> {
        let prefix = format!("bb.evt.{office}.");
        self.0.iter().filter(|(s, _)| s.starts_with(&prefix)).cloned().collect()
    }

    /// The subjects, sorted.
    fn subjects(&self) -> Vec<String> {
        let mut out: Vec<String> = self.0.iter().map(|(s, _)| s.clone()).collect();
        out.sort();
        out
    }
}

impl Platform {
    /// A nats-server with the secured configuration, the platform's streams created by a service, and
    /// the tenant streams of 博兴县, 惠民县 and the demo integrator provisioned from `deploy/nats/streams/`.
    async fn start() -> anyhow::Result<Self> {
        let server = NatsServer::with_config(&secured_config_text(None)).await?;
        let planning = Session::connect(&server, "planning").await?;
        bus::ensure_streams(&planning.js(), 1).await?;
        let platform = Self { server, planning };
        for id in [format!("office-{BOXING}"), format!("office-{HUIMIN}"), INTEGRATOR.to_string()] {
            platform.provision(&tenant(&id)).await?;
        }
        Ok(platform)
    }

    /// Creates a tenant's stream as its admin, from the checked-in JSON (what `nats stream add --config`
    /// does).
    async fn provision(&self, t: &Tenant) -> anyhow::Result<()> {
        let admin = Session::connect(&self.server, &t.admin()).await?;
        let config: stream::Config = serde_json::from_str(&read_deploy_file(&format!("streams/{}.json", t.stream())))?;
        admin.js().create_stream(config).await.with_context(|| format!("creating the stream of {}", t.id))?;
        Ok(())
    }

    async fn session(&self, user: &str) -> Session {
        Session::connect(&self.server, user).await.expect("connect")
    }

    /// Case acceptances by intake and task dispatches by routing, in 博兴县 and 惠民县.
    async fn publish_sample_events(&self) -> Published {
        let intake = self.session("intake").await;
        let routing = self.session("routing").await;
        let mut published = Vec::new();
        for (session, t, office, unit) in [
            (&intake, EventType::CASE_ACCEPTED, BOXING, None),
            (&intake, EventType::CASE_ACCEPTED, HUIMIN, None),
            (&routing, EventType::TASK_DISPATCHED, BOXING, Some(BX_ZRZY)),
            (&routing, EventType::TASK_DISPATCHED, BOXING, Some(BX_ZJ)),
            (&routing, EventType::TASK_DISPATCHED, HUIMIN, Some(HM_ZRZY)),
        ] {
            let subject = subject(t, office, unit);
            let event = event(t, &session.user, &format!("{office}-{}", published.len()));
            session
                .publish_event(&subject, &event)
                .await
                .unwrap_or_else(|e| panic!("{} publishes {subject}: {e}", session.user));
            published.push((subject, event.id));
        }
        Published(published)
    }

    async fn events_stored(&self) -> u64 {
        self.planning.js().get_stream(EVENTS_STREAM).await.expect("stream").info().await.expect("info").state.messages
    }
}

// ---------------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_county_office_reads_only_its_own_events() {
    let platform = Platform::start().await.expect("platform");
    let boxing = platform.session(&format!("office-{BOXING}")).await;
    let huimin = platform.session(&format!("office-{HUIMIN}")).await;
    let own = format!("bb.evt.{BOXING}.>");
    let theirs = format!("bb.evt.{HUIMIN}.>");

    // The live feed of its own subjects; another county's is refused.
    let mut live = boxing.client.subscribe(own.clone()).await.expect("subscribe");
    boxing.sync().await;
    boxing.subscribe_refused(&theirs).await;
    boxing.subscribe_refused("bb.evt.>").await;
    boxing.subscribe_refused("bb.evt.*.task.dispatched.*").await;

    let published = platform.publish_sample_events().await;
    let expected = published.of_office(BOXING);
    assert_eq!(expected.len(), 3);
    let mut subjects: Vec<String> = expected.iter().map(|(s, _)| s.clone()).collect();
    subjects.sort();
    assert_eq!(take_live(&mut live, 3).await.expect("live"), subjects);

    // The office's durable consumer on its own stream, filtered to bb.evt.371625.>, gets exactly its events.
    let stream = boxing.js().get_stream(format!("OFFICE_{BOXING}")).await.expect("its stream");
    let office = stream.create_consumer(durable("office", &own)).await.expect("the office consumer");
    assert_eq!(take(&office, 3).await.expect("its events"), expected);
    assert_eq!(office.clone().info().await.expect("info").num_pending, 0);

    // A department: only the task events of its unit.
    let unit_filter = format!("bb.evt.{BOXING}.task.*.{BX_ZRZY}");
    let department = stream.create_consumer(durable("dept-zrzy", &unit_filter)).await.expect("the department consumer");
    let dispatched = subject(EventType::TASK_DISPATCHED, BOXING, Some(BX_ZRZY));
    let got = take(&department, 1).await.expect("the unit's task");
    assert_eq!(got[0].0, dispatched);
    assert_eq!(department.clone().info().await.expect("info").num_pending, 0, "only its own unit's task");

    // 惠民县's stream and consumer exist and hold its two events …
    let huimin_stream = huimin.js().get_stream(format!("OFFICE_{HUIMIN}")).await.expect("惠民县's stream");
    let huimin_office = huimin_stream.create_consumer(durable("office", &theirs)).await.expect("惠民县's consumer");

    // … but 博兴县 can create no consumer on 惠民县's subjects: not on its own stream, not on 惠民县's,
    // not on the platform's; nor one without a filter, nor through the legacy API that carries none.
    let js = boxing.js();
    for (stream_name, filter) in [
        (format!("OFFICE_{BOXING}"), theirs.clone()),
        (format!("OFFICE_{BOXING}"), "bb.evt.>".to_string()),
        (format!("OFFICE_{HUIMIN}"), theirs.clone()),
        (EVENTS_STREAM.to_string(), theirs.clone()),
        (EVENTS_STREAM.to_string(), own.clone()),
    ] {
        let create = format!("$JS.API.CONSUMER.CREATE.{stream_name}.spy.{filter}");
        boxing.refused(&create, js.create_consumer_on_stream(durable("spy", &filter), stream_name.as_str())).await;
    }
    let filterless = format!("$JS.API.CONSUMER.CREATE.OFFICE_{BOXING}.spy");
    boxing.refused(&filterless, js.create_consumer_on_stream(durable("spy", ""), format!("OFFICE_{BOXING}"))).await;
    let legacy = format!("$JS.API.CONSUMER.DURABLE.CREATE.OFFICE_{BOXING}.spy");
    boxing
        .request_refused(
            &legacy,
            &json!({ "stream_name": format!("OFFICE_{BOXING}"), "config": durable("spy", &theirs) }).to_string(),
        )
        .await;
    // It cannot look at the other streams either.
    for other in [format!("OFFICE_{HUIMIN}"), EVENTS_STREAM.to_string(), DLQ_STREAM.to_string()] {
        boxing.refused(&format!("$JS.API.STREAM.INFO.{other}"), js.get_stream(other.clone())).await;
    }

    // Pulling from, or acking for, 惠民县's consumer (or a service's) is refused …
    boxing.request_refused(&format!("$JS.API.CONSUMER.MSG.NEXT.OFFICE_{HUIMIN}.office"), r#"{"batch":10}"#).await;
    boxing
        .request_refused(
            &format!("$JS.API.CONSUMER.MSG.NEXT.{EVENTS_STREAM}.intake-task-dispatched"),
            r#"{"batch":10}"#,
        )
        .await;
    boxing.publish_refused(&format!("$JS.ACK.OFFICE_{HUIMIN}.office.1.1.1.1700000000000000000.0")).await;
    boxing
        .publish_refused(&format!("$JS.ACK.{EVENTS_STREAM}.intake-task-dispatched.1.1.1.1700000000000000000.0"))
        .await;
    // … and so is the platform API its account imports for the server's sourcing (only the server may use it).
    boxing.request_refused(&format!("{PLATFORM_API_PREFIX}.CONSUMER.CREATE.{EVENTS_STREAM}.spy.{own}"), "{}").await;
    // … so 惠民县 still gets both of its events, none stolen.
    assert_eq!(take(&huimin_office, 2).await.expect("惠民县's events"), published.of_office(HUIMIN));

    // An office publishes nothing and calls no service.
    boxing.publish_refused(&subject(EventType::CASE_ACCEPTED, BOXING, None)).await;
    boxing.publish_refused(&subject(EventType::TASK_RECEIVED, BOXING, Some(BX_ZRZY))).await;
    boxing.request_refused(&CaseGet::subject(), "{}").await;
    boxing.request_refused("bb.dlq.office", "{}").await;
    // A reply subject cannot smuggle anything into the platform: its own JetStream API answers into its
    // own account, where nothing is stored under bb.evt.
    let reply = subject(EventType::CASE_ACCEPTED, HUIMIN, None);
    boxing.client.publish_with_reply("$JS.API.INFO", reply, "".into()).await.expect("publish");
    boxing.client.request("$JS.API.INFO", "".into()).await.expect("its own account info");

    assert_eq!(platform.events_stored().await, published.0.len() as u64, "nothing was added to the platform's events");
}

/// Deadline's alarms, clock changes, supervision notices, problems and meetings travel on the subjects of the
/// office whose units (or cases) they concern: a county office reads those about its own units on its own
/// stream and live feed, a department those of its unit's tasks, and another county none of them.
#[tokio::test]
async fn a_county_office_sees_the_deadline_events_about_its_units() {
    let platform = Platform::start().await.expect("platform");
    let deadline = platform.session("deadline").await;
    let boxing = platform.session(&format!("office-{BOXING}")).await;
    let huimin = platform.session(&format!("office-{HUIMIN}")).await;
    let own = format!("bb.evt.{BOXING}.>");
    let mut live = boxing.client.subscribe(own.clone()).await.expect("subscribe");
    boxing.sync().await;

    let mut published = Vec::new();
    for (t, office, unit) in [
        (EventType::TASK_WARNING, BOXING, Some(BX_ZRZY)),
        (EventType::TASK_OVERDUE, BOXING, Some(BX_ZRZY)),
        (EventType::TASK_CLOCK_CHANGED, BOXING, Some(BX_ZJ)),
        (EventType::SUPERVISION_ISSUED, BOXING, None),
        (EventType::SUPERVISION_ANSWERED, BOXING, None),
        (EventType::SUPERVISION_RESOLVED, BOXING, None),
        (EventType::SUPERVISION_ESCALATED, BOXING, None),
        (EventType::SUPERVISION_DECIDED, BOXING, None),
        (EventType::PROBLEM_RECORDED, BOXING, None),
        (EventType::PROBLEM_REFERRED, BOXING, None),
        (EventType::PROBLEM_SOLVED, BOXING, None),
        (EventType::MEETING_RECORDED, BOXING, None),
        (EventType::TASK_OVERDUE, HUIMIN, Some(HM_ZRZY)),
        (EventType::SUPERVISION_ISSUED, HUIMIN, None),
    ] {
        let subject = subject(t, office, unit);
        let event = event(t, "deadline", &format!("{office}-{}", published.len()));
        deadline.publish_event(&subject, &event).await.unwrap_or_else(|e| panic!("deadline publishes {subject}: {e}"));
        published.push((subject, event.id));
    }
    let published = Published(published);
    let expected = published.of_office(BOXING);
    assert_eq!(expected.len(), 12);

    // The live feed and the office's own stream: every one about 博兴县, none about 惠民县.
    let mut subjects: Vec<String> = expected.iter().map(|(s, _)| s.clone()).collect();
    subjects.sort();
    assert_eq!(take_live(&mut live, expected.len()).await.expect("live"), subjects);
    let stream = boxing.js().get_stream(format!("OFFICE_{BOXING}")).await.expect("its stream");
    let office = stream.create_consumer(durable("office", &own)).await.expect("the office consumer");
    assert_eq!(take(&office, expected.len()).await.expect("its deadline events"), expected);
    assert_eq!(office.clone().info().await.expect("info").num_pending, 0);

    // A department follows the alarms of its unit's tasks.
    let unit_filter = format!("bb.evt.{BOXING}.task.*.{BX_ZRZY}");
    let department = stream.create_consumer(durable("dept-zrzy", &unit_filter)).await.expect("the department");
    let alarms = take(&department, 2).await.expect("the unit's alarms");
    assert_eq!(
        alarms.iter().map(|(s, _)| s.clone()).collect::<Vec<_>>(),
        [
            subject(EventType::TASK_WARNING, BOXING, Some(BX_ZRZY)),
            subject(EventType::TASK_OVERDUE, BOXING, Some(BX_ZRZY))
        ]
    );
    assert_eq!(department.clone().info().await.expect("info").num_pending, 0, "not another unit's clock change");

    // 惠民县 gets its own two.
    let theirs = format!("bb.evt.{HUIMIN}.>");
    let huimin_stream = huimin.js().get_stream(format!("OFFICE_{HUIMIN}")).await.expect("惠民县's stream");
    let huimin_office = huimin_stream.create_consumer(durable("office", &theirs)).await.expect("惠民县's consumer");
    assert_eq!(take(&huimin_office, 2).await.expect("惠民县's events"), published.of_office(HUIMIN));
    assert_eq!(huimin_office.clone().info().await.expect("info").num_pending, 0);

    // Deadline publishes none of routing's task events, and an office none of deadline's.
    deadline.publish_refused(&subject(EventType::TASK_RECEIVED, BOXING, Some(BX_ZRZY))).await;
    deadline.publish_refused(&subject(EventType::PLAN_COMPLETED, BOXING, None)).await;
    boxing.publish_refused(&subject(EventType::SUPERVISION_ISSUED, BOXING, None)).await;
    boxing.publish_refused(&subject(EventType::TASK_WARNING, BOXING, Some(BX_ZRZY))).await;
    assert_eq!(platform.events_stored().await, published.0.len() as u64, "nothing refused was stored");
}

#[tokio::test]
async fn an_integrator_reads_everything_and_publishes_nothing() {
    let platform = Platform::start().await.expect("platform");
    let integrator = platform.session(INTEGRATOR).await;
    let t = tenant(INTEGRATOR);

    // A stand-in for intake's case.get, to show that the integrator's call never reaches it.
    let intake = platform.session("intake").await;
    let mut requests = intake.client.queue_subscribe(CaseGet::subject(), "bangban".into()).await.expect("serve");
    intake.sync().await;

    let mut live = integrator.client.subscribe("bb.evt.>").await.expect("subscribe");
    integrator.sync().await;
    let published = platform.publish_sample_events().await;
    assert_eq!(take_live(&mut live, published.0.len()).await.expect("live"), published.subjects());

    let stream = integrator.js().get_stream(t.stream()).await.expect("its stream");
    let all = stream.create_consumer(durable("all", "bb.evt.>")).await.expect("consumer");
    assert_eq!(take(&all, published.0.len()).await.expect("every event"), published.0);
    let overdue = stream.create_consumer(durable("overdue", &EventType::TASK_OVERDUE.filter_all_offices())).await;
    assert!(overdue.is_ok(), "any filter within bb.evt.>: {overdue:?}");

    // It publishes no event, neither with JetStream nor core NATS …
    let accepted = subject(EventType::CASE_ACCEPTED, BOXING, None);
    integrator.publish_event_refused(&accepted, &event(EventType::CASE_ACCEPTED, "integrator", "forged")).await;
    integrator.publish_refused(&accepted).await;
    integrator.publish_refused(&subject(EventType::TASK_APPROVED, HUIMIN, Some(HM_ZRZY))).await;
    integrator.publish_refused("bb.dlq.intake-task-dispatched").await;
    // … calls no service …
    let call = integrator.client.request(CaseGet::subject(), "{}".into());
    integrator.refused(&CaseGet::subject(), call).await;
    // … and touches none of the platform's JetStream.
    let js = integrator.js();
    integrator.refused(&format!("$JS.API.STREAM.INFO.{EVENTS_STREAM}"), js.get_stream(EVENTS_STREAM)).await;
    let create = format!("$JS.API.CONSUMER.CREATE.{EVENTS_STREAM}.spy.bb.evt.>");
    integrator.refused(&create, js.create_consumer_on_stream(durable("spy", "bb.evt.>"), EVENTS_STREAM)).await;
    integrator.request_refused(&format!("$JS.API.CONSUMER.MSG.NEXT.{EVENTS_STREAM}.planning-cases"), "{}").await;

    // The gateway's call of the same operation does arrive: the only request the stand-in ever saw.
    let gateway = platform.session("gateway").await;
    let client = gateway.client.clone();
    let call = tokio::spawn(async move { client.request(CaseGet::subject(), "{}".into()).await });
    let request = tokio::time::timeout(DELIVERY_TIMEOUT, requests.next()).await.expect("in time").expect("a request");
    intake.client.publish(request.reply.expect("a reply subject"), "{}".into()).await.expect("reply");
    call.await.expect("join").expect("the gateway got its answer");
    let next = tokio::time::timeout(Duration::from_millis(200), requests.next()).await;
    assert!(next.is_err(), "no other request reached intake: {next:?}");

    assert_eq!(platform.events_stored().await, published.0.len() as u64, "nothing was added to the platform's events");
}

#[tokio::test]
async fn services_publish_only_their_own_events() {
    let platform = Platform::start().await.expect("platform");
    let office = "371600";
    let mut sessions = BTreeMap::new();
    for (service, _) in OWNERS {
        sessions.insert(*service, platform.session(service).await);
    }
    // Every service publishes each of its events …
    for (service, events) in OWNERS {
        let session = &sessions[service];
        for t in *events {
            let subject = subject(*t, office, Some("U1"));
            session
                .publish_event(&subject, &event(*t, service, "own"))
                .await
                .unwrap_or_else(|e| panic!("{service} publishes {subject}: {e}"));
        }
    }
    let stored = platform.events_stored().await;
    assert_eq!(stored, EventType::ALL.len() as u64);

    // … and none of another's, even on a shared aggregate (task.* belongs to routing and deadline).
    let intake = &sessions["intake"];
    let dispatched = subject(EventType::TASK_DISPATCHED, office, Some("X"));
    intake.publish_event_refused(&dispatched, &event(EventType::TASK_DISPATCHED, "intake", "forged")).await;
    intake.publish_refused(&dispatched).await;
    sessions["routing"].publish_refused(&subject(EventType::TASK_OVERDUE, office, Some("X"))).await;
    sessions["deadline"].publish_refused(&subject(EventType::TASK_APPROVED, office, Some("X"))).await;
    sessions["planning"].publish_refused(&subject(EventType::CASE_ACCEPTED, office, None)).await;
    sessions["planning"].publish_refused(&subject(EventType::PLAN_COMPLETED, office, None)).await;
    sessions["notification"].publish_refused(&subject(EventType::EVALUATION_SUBMITTED, office, None)).await;
    sessions["evaluation"].publish_refused(&subject(EventType::SMS_SENT, office, None)).await;
    // Unregistered subjects and the tenants' delivery subjects are nobody's.
    intake.publish_refused(&format!("bb.evt.{office}.case.invented")).await;
    intake.publish_refused(&format!("{DELIVERY_PREFIX}.office-{BOXING}.S.x")).await;
    // The gateway publishes no events and cannot reach the event streams through JetStream …
    let gateway = platform.session("gateway").await;
    gateway.publish_refused(&subject(EventType::CASE_ACCEPTED, office, None)).await;
    gateway.refused(&format!("$JS.API.STREAM.INFO.{EVENTS_STREAM}"), gateway.js().get_stream(EVENTS_STREAM)).await;
    assert_eq!(platform.events_stored().await, stored, "no refused event was stored");
    // … but keeps its audit log and its sessions, and hears the live events (for /api/v1/stream).
    let audit = bangban_gateway::audit::AuditLog::new(gateway.client.clone(), 400);
    audit.ensure().await.expect("the gateway creates its audit log");
    let store = bangban_gateway::session::Sessions::new(gateway.client.clone(), Duration::from_secs(600));
    let record = bangban_gateway::session::SessionRecord {
        token: "t".into(),
        csrf: "c".into(),
        sub: "s".into(),
        role: bangban_gateway::auth::Role::Assistant,
        office: office.into(),
        unit: None,
        applicant: None,
        via: "dev".into(),
        created_at: 0,
        expires_at: i64::MAX / 2,
        token_expires_at: i64::MAX / 2,
        refresh_token: None,
    };
    let id = store.create(&record).await.expect("the gateway writes a session");
    assert_eq!(store.load(&id).await.expect("and reads it").map(|r| r.sub), Some("s".into()));
    store.delete(&id).await.expect("and ends it");
    assert!(store.load(&id).await.unwrap().is_none());
    let mut live = gateway.client.subscribe(format!("bb.evt.{office}.>")).await.expect("subscribe");
    gateway.client.flush().await.unwrap();
    // A flush only writes the SUB out; the server may not have taken it when intake publishes, so publish
    // again until one is heard.
    let heard = subject(EventType::CASE_ACCEPTED, office, None);
    let mut got = None;
    for attempt in 0..25 {
        let id = format!("live-{attempt}");
        intake.publish_event(&heard, &event(EventType::CASE_ACCEPTED, "intake", &id)).await.expect("publish");
        if let Ok(Some(msg)) = tokio::time::timeout(Duration::from_millis(200), live.next()).await {
            got = Some(msg);
            break;
        }
    }
    assert_eq!(got.expect("the gateway hears the live events").subject.as_str(), heard);

    // What the platform's own code needs works with these permissions: a durable consumer with acks and
    // a dead letter …
    let spec = ConsumerSpec {
        name: "intake-task-dispatched".into(),
        filter_subject: EventType::TASK_DISPATCHED.filter_all_offices(),
        settings: ConsumerSettings::default(),
    };
    let consumer = ensure_consumer(&intake.js(), &spec).await.expect("intake's consumer");
    let got = take(&consumer, 1).await.expect("the dispatch");
    assert_eq!(got[0].0, subject(EventType::TASK_DISPATCHED, office, Some("U1")));
    let dead = event(EventType::TASK_DISPATCHED, "routing", "dead");
    intake.publish_event(&dlq_subject(&spec.name), &dead).await.expect("a dead letter");

    // … a NATS service that the gateway calls and discovers with $SRV.PING.
    let shutdown = CancellationToken::new();
    let service = rpc::start_service(&intake.client, CaseGet::SERVICE, "test").await.expect("service");
    let _endpoint = rpc::serve(
        &service,
        CaseGet::SERVICE,
        CaseGet::NAME,
        |req: serde_json::Value| async move { Ok::<_, Problem>(json!({ "echo": req })) },
        shutdown.clone(),
    )
    .await
    .expect("endpoint");
    intake.sync().await;
    let answer: serde_json::Value =
        rpc::call_subject(&gateway.client, CaseGet::subject(), &json!({ "id": 1 }), Duration::from_secs(5))
            .await
            .expect("call");
    assert_eq!(answer, json!({ "echo": { "id": 1 } }));
    let ping = gateway.client.request("$SRV.PING.intake", "".into()).await.expect("discovery");
    assert!(String::from_utf8_lossy(&ping.payload).contains("intake"));
    // Another service may call it too; an office may not (see the county test).
    let _: serde_json::Value =
        rpc::call_subject(&sessions["planning"].client, CaseGet::subject(), &json!({}), Duration::from_secs(5))
            .await
            .expect("planning calls intake");
    shutdown.cancel();

    // `bangban serve` runs every service on one connection: its user may publish every registered event.
    let bangban = platform.session("bangban").await;
    bus::ensure_streams(&bangban.js(), 1).await.expect("streams");
    for t in EventType::ALL {
        bangban.publish_event(&subject(*t, office, Some("U2")), &event(*t, "bangban", "all")).await.expect("publish");
    }
    bangban.publish_refused(&format!("bb.evt.{office}.case.invented")).await;
}

#[tokio::test]
async fn nobody_gets_in_without_a_password_and_admins_stay_in_their_account() {
    let platform = Platform::start().await.expect("platform");
    let anonymous = async_nats::connect(platform.server.url()).await;
    assert!(anonymous.is_err(), "an anonymous client was let in");
    let wrong =
        ConnectOptions::with_user_and_password("intake".into(), "guess".into()).connect(platform.server.url()).await;
    assert!(wrong.is_err(), "a wrong password was accepted");
    // A tenant's admin exists only in its own account: it cannot see the platform's streams, and it
    // cannot use the platform API its account imports for the server's sourcing (only the server can,
    // with the filter of the tenant's stream).
    let admin = platform.session(&tenant(&format!("office-{BOXING}")).admin()).await;
    let err = admin.js().get_stream(EVENTS_STREAM).await.expect_err("the platform's stream in a tenant account");
    assert!(err.to_string().contains("not found"), "{err}");
    for filter in [format!("bb.evt.{BOXING}.>"), format!("bb.evt.{HUIMIN}.>")] {
        let create = format!("{PLATFORM_API_PREFIX}.CONSUMER.CREATE.{EVENTS_STREAM}.spy.{filter}");
        admin.request_refused(&create, "{}").await;
    }
    admin.publish_refused(&format!("$JS.FC.{EVENTS_STREAM}.src.1")).await;
}

/// The events notification tells people about (短信与站内通知): it follows each with a durable consumer of its
/// own on `BANGBAN_EVENTS`, like every service.
const NOTIFICATION_FOLLOWS: &[EventType] = &[
    EventType::CASE_ACCEPTED,
    EventType::CASE_SPECIALIST_CHANGED,
    EventType::CASE_TERMINATED,
    EventType::TASK_SUPPLEMENT_REQUESTED,
    EventType::TASK_APPROVED,
    EventType::TASK_WARNING,
    EventType::TASK_OVERDUE,
    EventType::SUPERVISION_ISSUED,
    EventType::EVALUATION_INVITED,
];

/// Notification publishes `sms.*` and nothing else, asks intake for contacts (`contact.resolve`) and routing
/// for units (`unit.list`), answers the gateway on `bb.svc.notification.*`, and consumes the events it
/// notifies about; no other service publishes `sms.*`.
#[tokio::test]
async fn notification_sends_sms_events_asks_intake_and_routing_and_follows_its_events() {
    let platform = Platform::start().await.expect("platform");
    let notification = platform.session("notification").await;
    let office = BOXING;

    // Its own events …
    for t in [EventType::SMS_SENT, EventType::SMS_DELIVERED, EventType::SMS_FAILED] {
        let subject = subject(t, office, None);
        notification
            .publish_event(&subject, &event(t, "notification", "m-1"))
            .await
            .unwrap_or_else(|e| panic!("notification publishes {subject}: {e}"));
    }
    let stored = platform.events_stored().await;
    assert_eq!(stored, 3);
    // … and none of those it follows; nor does anyone else publish its events.
    for t in NOTIFICATION_FOLLOWS {
        notification.publish_refused(&subject(*t, office, Some(BX_ZRZY))).await;
    }
    let intake = platform.session("intake").await;
    let routing = platform.session("routing").await;
    let gateway = platform.session("gateway").await;
    for session in [&intake, &routing, &gateway] {
        session.publish_refused(&subject(EventType::SMS_DELIVERED, office, None)).await;
    }
    assert_eq!(platform.events_stored().await, stored, "nothing refused was stored");

    // Service calls: notification asks intake and routing; the gateway asks notification.
    let shutdown = CancellationToken::new();
    let mut endpoints = Vec::new();
    for (session, service, op) in [
        (&intake, ContactResolve::SERVICE, ContactResolve::NAME),
        (&routing, UnitList::SERVICE, UnitList::NAME),
        (&notification, InboxList::SERVICE, InboxList::NAME),
    ] {
        let svc = rpc::start_service(&session.client, service, "test").await.expect("service");
        let endpoint = rpc::serve(
            &svc,
            service,
            op,
            |req: serde_json::Value| async move { Ok::<_, Problem>(json!({ "echo": req })) },
            shutdown.clone(),
        )
        .await
        .expect("endpoint");
        session.sync().await;
        endpoints.push((svc, endpoint));
    }
    for (caller, subject) in [
        (&notification, ContactResolve::subject()),
        (&notification, UnitList::subject()),
        (&gateway, InboxList::subject()),
    ] {
        // The echo endpoints answer JSON that is not the operations' replies: raw subjects, not `rpc::call`.
        let answer: serde_json::Value =
            rpc::call_subject(&caller.client, subject.clone(), &json!({ "n": 1 }), Duration::from_secs(5))
                .await
                .unwrap_or_else(|e| panic!("{} calls {subject}: {e}", caller.user));
        assert_eq!(answer, json!({ "echo": { "n": 1 } }));
    }
    let ping = gateway.client.request("$SRV.PING.notification", "".into()).await.expect("discovery");
    assert!(String::from_utf8_lossy(&ping.payload).contains("notification"));
    shutdown.cancel();

    // The events it follows: a durable consumer each, fed by their owners, acked by notification.
    let mut sessions = BTreeMap::new();
    for t in NOTIFICATION_FOLLOWS {
        let (owner, _) = OWNERS.iter().find(|(_, events)| events.contains(t)).expect("an owner");
        if !sessions.contains_key(owner) {
            sessions.insert(*owner, platform.session(owner).await);
        }
        let spec = ConsumerSpec {
            name: format!("notification-{}-{}", t.aggregate, t.event),
            filter_subject: t.filter_all_offices(),
            settings: ConsumerSettings::default(),
        };
        let consumer = ensure_consumer(&notification.js(), &spec).await.expect("notification's consumer");
        let subject = subject(*t, office, Some(BX_ZRZY));
        sessions[owner]
            .publish_event(&subject, &event(*t, owner, "followed"))
            .await
            .unwrap_or_else(|e| panic!("{owner} publishes {subject}: {e}"));
        let got = take(&consumer, 1).await.unwrap_or_else(|e| panic!("{}: {e}", spec.name));
        assert_eq!(got[0].0, subject);
    }
}
