//! The `bangban` binary as people run it: `token`, `migrate`, and `serve` until SIGTERM.

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    time::Duration,
};

use bangban_gateway::auth::Authenticator;
use bangban_platform::Settings;
use bangban_testkit::NatsServer;

fn bangban() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_bangban"));
    // The test decides every setting; nothing leaks in from the developer's shell.
    for (k, _) in std::env::vars() {
        if k.starts_with("BANGBAN__") {
            c.env_remove(k);
        }
    }
    c.env("BANGBAN__TELEMETRY__LOG_FORMAT", "json");
    c
}

#[test]
fn token_is_signed_with_the_secret_serve_uses() {
    bangban_platform::runtime::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let out = bangban()
        .args(["token", "--role", "office-admin", "--office", "371625", "--sub", "li.si"])
        .env("BANGBAN__DATA_DIR", dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let settings =
        Settings::load_from(None, [("BANGBAN__DATA_DIR".to_string(), dir.path().display().to_string())]).unwrap();
    let principal = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(Authenticator::from_settings(&settings).unwrap().verify(&token))
        .unwrap();
    assert_eq!(principal.sub, "li.si");
    assert_eq!(principal.office, "371625");
    assert_eq!(principal.role.as_str(), "office_admin");

    let bad = bangban().args(["token", "--role", "king", "--office", "371625", "--sub", "x"]).output().unwrap();
    assert!(!bad.status.success());
    let officer_without_unit = bangban()
        .args(["token", "--role", "officer", "--office", "371625", "--sub", "x"])
        .env("BANGBAN__DATA_DIR", dir.path())
        .output()
        .unwrap();
    assert!(!officer_without_unit.status.success(), "an officer token names the unit");
}

#[test]
fn migrate_creates_the_schema_and_unknown_services_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = bangban().args(["migrate"]).env("BANGBAN__DATA_DIR", dir.path()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(dir.path().join("intake.db").exists());
    assert!(dir.path().join("planning.db").exists());
    assert!(dir.path().join("routing.db").exists());
    let out = bangban().args(["migrate", "--only", "nonsense"]).env("BANGBAN__DATA_DIR", dir.path()).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown service"));
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_answers_ready_and_stops_gracefully_on_sigterm() {
    bangban_platform::runtime::install_crypto_provider();
    let nats = NatsServer::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut child = bangban()
        .args(["serve"])
        .env("BANGBAN__DATA_DIR", dir.path())
        .env("BANGBAN__NATS__URL", nats.url())
        .env("BANGBAN__HTTP__LISTEN", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // `serve` prints the console URL once the gateway listens.
    let stdout = child.stdout.take().unwrap();
    let url = tokio::task::spawn_blocking(move || {
        let mut lines = BufReader::new(stdout).lines();
        lines.find_map(|l| {
            let l = l.ok()?;
            l.split_whitespace().find(|w| w.starts_with("http://")).map(str::to_string)
        })
    })
    .await
    .unwrap()
    .expect("serve prints the console URL");
    let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    let ready = http.get(format!("{url}readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["databases"]["intake"], "ok");
    assert_eq!(body["databases"]["planning"], "ok");
    assert_eq!(body["databases"]["routing"], "ok");

    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let status = tokio::task::spawn_blocking(move || child.wait()).await.unwrap().unwrap();
    assert!(status.success(), "graceful exit: {status:?}");
}
