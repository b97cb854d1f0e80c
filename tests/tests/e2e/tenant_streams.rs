//! The tenants' streams provisioned by `bangban provision-tenants` (租户流开通), the command the Helm chart's hook
//! Job `<release>-provision-tenants` runs: the real binary, on the secured server of `deploy/nats`
//! (`bangban-auth.conf` and the development passwords), with `deploy/nats/streams/*.json`.
//!
//! Every tenant's stream is created by the tenant's admin user, sourced from `BANGBAN_EVENTS` with the tenant's
//! filter; a second run changes nothing and succeeds; an event a service publishes reaches its office's stream
//! (and the integrator's) and no other office's. A tenant whose admin password is missing or refused fails,
//! named, while every other tenant is still provisioned and the command exits non-zero; no password is printed.
//!
//! The binary is `bangban` next to this test's executable (`target/<profile>/bangban`), built here when it is
//! missing or has no `provision-tenants` yet.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
    time::Duration,
};

use async_nats::jetstream::{self, stream};
use bangban_contracts::{CloudEvent, EventType};
use bangban_platform::{bus, config::NatsSettings};
use bangban_testkit::NatsServer;
use secrecy::SecretString;
use serde_json::json;

use crate::support::{
    binaries_dir, cargo_build, deploy_dir, dev_passwords, eventually, password_variable, read_deploy_file,
    secured_config_text, workspace_root,
};

/// How long one run of the command may take.
const RUN_LIMIT: Duration = Duration::from_secs(90);
/// How long sourcing may take to bring an event into a tenant's stream: a source whose origin did not exist yet
/// retries every few seconds (about 2 s on nats-server 2.9.10, 10 s on 2.15.1).
const SOURCED_WITHIN: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------------------------
// Logging in to the secured server (support.rs starts it)
// ---------------------------------------------------------------------------------------------------

/// A client logged in as `user` through `bus::connect`, as the services and the command do.
async fn connect(server: &NatsServer, user: &str) -> async_nats::Client {
    let settings = NatsSettings {
        url: server.url(),
        user: Some(user.to_string()),
        password: Some(SecretString::from(dev_passwords()[&password_variable(user)].clone())),
        connect_deadline: Duration::from_secs(10),
        ..Default::default()
    };
    bus::connect(&settings, user).await.unwrap_or_else(|e| panic!("{user} connects: {e}"))
}

/// The tenants of `deploy/nats/streams`: (account, admin user), sorted.
fn tenants() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(deploy_dir().join("streams"))
        .expect("deploy/nats/streams")
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.strip_suffix(".json").map(str::to_string))
        .map(|account| {
            let admin = format!("{}-admin", account.to_lowercase().replace('_', "-"));
            (account, admin)
        })
        .collect();
    out.sort();
    assert!(out.iter().any(|(a, _)| a == "OFFICE_371625") && out.iter().any(|(a, _)| a == "INTEGRATOR_DEMO"));
    out
}

/// The stream `account` as its admin sees it.
async fn stream_info(server: &NatsServer, account: &str, admin: &str) -> stream::Info {
    let js = jetstream::new(connect(server, admin).await);
    let mut stream = js.get_stream(account).await.unwrap_or_else(|e| panic!("{admin}: the stream {account}: {e}"));
    stream.info().await.unwrap_or_else(|e| panic!("{admin}: info of {account}: {e}")).clone()
}

// ---------------------------------------------------------------------------------------------------
// The binary
// ---------------------------------------------------------------------------------------------------

/// `bangban`, built (`cargo build -p bangban --bin bangban`, same profile and target directory) when it is missing
/// or older than `provision-tenants`.
fn bangban() -> PathBuf {
    let dir = binaries_dir();
    let path = dir.join("bangban");
    let knows = |p: &Path| {
        Command::new(p)
            .args(["provision-tenants", "--help"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if knows(&path) {
        return path;
    }
    eprintln!("tenant_streams: building bangban into {} (missing or without provision-tenants)", dir.display());
    let mut cmd = cargo_build(&workspace_root(), &dir);
    cmd.args(["-p", "bangban", "--bin", "bangban"]);
    let built = cmd.output().expect("running cargo build");
    assert!(
        built.status.success() && knows(&path),
        "could not build bangban with provision-tenants at {}: {}",
        path.display(),
        String::from_utf8_lossy(&built.stderr)
    );
    path
}

/// What one run printed.
struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

impl Run {
    /// The line of `account` (`<ACCOUNT>: …`).
    fn line(&self, account: &str) -> &str {
        let prefix = format!("{account}: ");
        let lines: Vec<&str> = self.stdout.lines().filter(|l| l.starts_with(&prefix)).collect();
        assert_eq!(lines.len(), 1, "one line for {account} expected:\n{}\n{}", self.stdout, self.stderr);
        lines[0]
    }
}

/// `bangban provision-tenants --streams-dir deploy/nats/streams [args]` with exactly `env` (and `PATH`).
async fn provision(server: &NatsServer, args: &[&str], env: &BTreeMap<String, String>) -> Run {
    provision_from(server, &deploy_dir().join("streams"), args, env).await
}

/// `bangban provision-tenants --streams-dir <dir> [args]` with exactly `env` (and `PATH`).
async fn provision_from(server: &NatsServer, dir: &Path, args: &[&str], env: &BTreeMap<String, String>) -> Run {
    let mut cmd = Command::new(bangban());
    cmd.arg("provision-tenants")
        .arg("--streams-dir")
        .arg(dir)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("BANGBAN__NATS__URL", server.url())
        .env("BANGBAN__NATS__CONNECT_DEADLINE", "10000")
        .env("BANGBAN__TELEMETRY__LOG_FORMAT", "json")
        .envs(env)
        .stdin(Stdio::null());
    let output: Output = tokio::task::spawn_blocking(move || {
        let child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("starting bangban");
        let id = child.id();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait_with_output());
        });
        match rx.recv_timeout(RUN_LIMIT) {
            Ok(output) => output.expect("bangban's output"),
            Err(_) => {
                let _ = Command::new("kill").arg("-9").arg(id.to_string()).status();
                panic!("bangban provision-tenants did not finish within {RUN_LIMIT:?}");
            }
        }
    })
    .await
    .expect("the run");
    let run = Run {
        ok: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    eprintln!("--- bangban provision-tenants {args:?}: {}\n{}", output.status, run.stdout);
    run
}

/// The admin passwords of the development configuration (what the chart's Job gets), by variable.
fn admin_passwords() -> BTreeMap<String, String> {
    dev_passwords().into_iter().filter(|(k, _)| k.ends_with("_ADMIN")).collect()
}

// ---------------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------------

/// Provisioned once (before `BANGBAN_EVENTS` exists), every tenant stream exists as `deploy/nats/streams` says,
/// sourced from `BANGBAN_EVENTS` with the tenant's filter; provisioned again, nothing changes; once the services
/// have created their streams, a service's event reaches its office's stream and the integrator's, not another
/// office's.
#[tokio::test]
async fn every_tenant_stream_is_provisioned_once_and_sourced_with_the_tenants_filter() {
    bangban_platform::runtime::install_crypto_provider();
    let server = NatsServer::with_config(&secured_config_text(Some("1MB"))).await.expect("the secured nats-server");
    // Before any service has created BANGBAN_EVENTS, as the chart's post-install hook may run (Helm does not wait
    // for the Deployments): the sources retry until their origin exists.
    let run = provision(&server, &["--replicas", "1"], &dev_passwords()).await;
    assert!(run.ok, "the first run failed:\n{}\n{}", run.stdout, run.stderr);
    let mut created = BTreeMap::new();
    for (account, admin) in tenants() {
        assert!(run.line(&account).starts_with(&format!("{account}: created")), "{}", run.line(&account));
        let info = stream_info(&server, &account, &admin).await;
        let file: stream::Config =
            serde_json::from_str(&read_deploy_file(&format!("streams/{account}.json"))).expect("a stream config");
        assert_eq!(info.config.num_replicas, 1, "{account}");
        assert_eq!(info.config.max_bytes, file.max_bytes, "{account}");
        assert_eq!(info.config.max_age, file.max_age, "{account}");
        assert!(info.config.subjects.is_empty(), "{account} has subjects of its own: {:?}", info.config.subjects);
        let sources = info.config.sources.clone().unwrap_or_default();
        assert_eq!(sources.len(), 1, "{account}: {sources:?}");
        assert_eq!(sources[0].name, "BANGBAN_EVENTS", "{account}");
        assert_eq!(sources[0].filter_subject, file.sources.as_ref().unwrap()[0].filter_subject, "{account}");
        assert_eq!(sources[0].external, file.sources.as_ref().unwrap()[0].external, "{account}");
        created.insert(account, (info.created, info.config));
    }
    for secret in dev_passwords().values() {
        assert!(!run.stdout.contains(secret) && !run.stderr.contains(secret), "a password was printed");
    }

    // Again: nothing to do, nothing changed, success.
    let again = provision(&server, &["--replicas", "1"], &dev_passwords()).await;
    assert!(again.ok, "the second run failed:\n{}\n{}", again.stdout, again.stderr);
    for (account, admin) in tenants() {
        assert_eq!(again.line(&account), format!("{account}: exists (unchanged)"));
        let info = stream_info(&server, &account, &admin).await;
        assert_eq!((info.created, info.config), created[&account].clone(), "{account} changed");
    }

    // Other replicas and another filter are reported, never applied: an existing stream is left as it is.
    let edited = tempfile::tempdir().expect("a streams dir");
    for (account, _) in tenants() {
        let mut text = read_deploy_file(&format!("streams/{account}.json"));
        if account == "OFFICE_371625" {
            text =
                text.replace("\"filter_subject\": \"bb.evt.371625.>\"", "\"filter_subject\": \"bb.evt.371625.case.>\"");
        }
        std::fs::write(edited.path().join(format!("{account}.json")), text).expect("a stream file");
    }
    let third = provision_from(&server, edited.path(), &["--replicas", "3"], &dev_passwords()).await;
    assert!(third.ok, "{}\n{}", third.stdout, third.stderr);
    let line = third.line("OFFICE_371625");
    assert!(
        line.contains("left unchanged") && line.contains("num_replicas is 1 where the configuration says 3"),
        "{line}"
    );
    assert!(
        line.contains("sources is BANGBAN_EVENTS (bb.evt.371625.>,") && line.contains("bb.evt.371625.case.>"),
        "{line}"
    );
    let line = third.line("OFFICE_371621");
    assert!(line.contains("num_replicas") && !line.contains("sources"), "{line}");
    for (account, admin) in tenants() {
        let info = stream_info(&server, &account, &admin).await;
        assert_eq!((info.created, info.config), created[&account].clone(), "{account} changed");
    }

    // The platform's streams, as every service creates them at start, and a case accepted in 博兴县 (371625),
    // published by intake as itself.
    let intake = connect(&server, "intake").await;
    bus::ensure_streams(&jetstream::new(intake.clone()), 1).await.expect("BANGBAN_EVENTS");
    let event_type = EventType::CASE_ACCEPTED;
    let subject = event_type.subject("371625", None).expect("subject").to_string();
    assert_eq!(subject, "bb.evt.371625.case.accepted");
    let event = CloudEvent::new(event_type, "intake", "case-371625-1", &json!({"id": "case-371625-1"})).expect("event");
    let ack = jetstream::new(intake.clone())
        .publish_with_headers(subject.clone(), event.to_headers(), event.data.clone())
        .await
        .expect("intake publishes");
    ack.await.expect("BANGBAN_EVENTS stores it");

    for (account, admin) in [("OFFICE_371625", "office-371625-admin"), ("INTEGRATOR_DEMO", "integrator-demo-admin")] {
        let arrived =
            eventually(SOURCED_WITHIN, || async { stream_info(&server, account, admin).await.state.messages == 1 })
                .await;
        assert!(arrived, "the event did not reach {account} within {SOURCED_WITHIN:?}");
        let js = jetstream::new(connect(&server, admin).await);
        let message = js.get_stream(account).await.expect("stream").get_raw_message(1).await.expect("message 1");
        assert_eq!(message.subject.as_str(), subject, "{account}");
        let stored = CloudEvent::from_parts(Some(&message.headers), message.payload.clone()).expect("a CloudEvent");
        assert_eq!(stored.id, event.id, "{account}");
    }
    // Sourcing is done for 371625 and the integrator; 惠民县 (371621) got nothing, and no other office did.
    for (account, admin) in tenants() {
        if account.starts_with("OFFICE_") && account != "OFFICE_371625" {
            assert_eq!(stream_info(&server, &account, &admin).await.state.messages, 0, "{account} got 371625's event");
        }
    }
}

/// A tenant whose admin password is missing, and one whose password the server refuses, fail — each named on its
/// line, the password never shown — while every other tenant is provisioned; the command exits non-zero. Without
/// `--replicas` the replicas are BANGBAN__NATS__STREAM_REPLICAS.
#[tokio::test]
async fn a_missing_or_refused_admin_password_fails_that_tenant_only() {
    bangban_platform::runtime::install_crypto_provider();
    let server = NatsServer::with_config(&secured_config_text(Some("1MB"))).await.expect("the secured nats-server");
    let missing = ("OFFICE_371621", "BANGBAN_NATS_PASSWORD_OFFICE_371621_ADMIN");
    let refused = ("OFFICE_371622", "BANGBAN_NATS_PASSWORD_OFFICE_371622_ADMIN");
    let wrong = "Wrong-password-of-371622";
    let mut env = admin_passwords();
    env.remove(missing.1).expect("the admin password of 371621");
    env.insert(refused.1.to_string(), wrong.to_string());
    env.insert("BANGBAN__NATS__STREAM_REPLICAS".into(), "1".into());

    let run = provision(&server, &[], &env).await;
    assert!(!run.ok, "a missing and a refused admin password must fail the command:\n{}", run.stdout);
    let line = run.line(missing.0);
    assert!(line.contains("failed") && line.contains(missing.1) && line.contains("office-371621-admin"), "{line}");
    let line = run.line(refused.0);
    assert!(line.contains("failed") && line.contains("office-371622-admin"), "{line}");
    assert!(line.to_lowercase().contains("refused"), "{line}");
    assert!(!run.stdout.contains(wrong) && !run.stderr.contains(wrong), "the refused password was printed");
    let last = run.stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or_default();
    assert!(last.contains(missing.0) && last.contains(refused.0), "the final error names both: {last}");

    for (account, admin) in tenants() {
        if account == missing.0 || account == refused.0 {
            let js = jetstream::new(connect(&server, &admin).await);
            assert!(js.get_stream(&account).await.is_err(), "{account} must not exist");
            continue;
        }
        assert!(run.line(&account).starts_with(&format!("{account}: created")), "{}", run.line(&account));
        assert_eq!(stream_info(&server, &account, &admin).await.config.num_replicas, 1, "{account}");
    }

    // With the passwords right, the next run creates the two and leaves the others alone.
    let fixed = provision(&server, &[], &{
        let mut env = admin_passwords();
        env.insert("BANGBAN__NATS__STREAM_REPLICAS".into(), "1".into());
        env
    })
    .await;
    assert!(fixed.ok, "{}\n{}", fixed.stdout, fixed.stderr);
    for (account, _) in tenants() {
        let expected = if account == missing.0 || account == refused.0 { "created" } else { "exists (unchanged)" };
        assert!(fixed.line(&account).starts_with(&format!("{account}: {expected}")), "{}", fixed.line(&account));
    }
}
