//! What a cluster installation relies on (集群部署): the client address behind the ingress, `/metrics` on a
//! port of its own, and a binary that refuses development defaults where production is expected.

use std::{net::SocketAddr, path::PathBuf, process::Command, time::Duration};

use bangban_gateway::settings::WebSettings;
use reqwest::StatusCode;

use crate::support::TestApp;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test]
async fn behind_a_trusted_ingress_each_client_has_its_own_rate_limit_and_a_forged_hop_changes_nothing() {
    // The test client connects from 127.0.0.1, which plays the ingress.
    let app = TestApp::spawn_with(|s| {
        let web: WebSettings = s.section("web").unwrap();
        s.set_section("web", WebSettings { public_per_minute: 2, trusted_proxies: vec!["127.0.0.0/8".into()], ..web });
    })
    .await;
    let http = reqwest::Client::new();
    let hook = app.url("/api/v1/hooks/sms/webhook");
    let from = |xff: &'static str| http.post(&hook).header("x-forwarded-for", xff).body("{}").send();
    // Client A spends its budget…
    for _ in 0..2 {
        assert_ne!(from("203.0.113.1").await.unwrap().status(), StatusCode::TOO_MANY_REQUESTS);
    }
    assert_eq!(from("203.0.113.1").await.unwrap().status(), StatusCode::TOO_MANY_REQUESTS);
    // …and cannot get a fresh one by putting a made-up address in front: the ingress appends the real one.
    assert_eq!(from("198.51.100.99, 203.0.113.1").await.unwrap().status(), StatusCode::TOO_MANY_REQUESTS);
    // Client B, behind the same ingress, is not affected.
    assert_ne!(from("203.0.113.2").await.unwrap().status(), StatusCode::TOO_MANY_REQUESTS);

    // Without trusted proxies the header is ignored: every request is the ingress's own.
    let app = TestApp::spawn_with(|s| {
        let web: WebSettings = s.section("web").unwrap();
        s.set_section("web", WebSettings { public_per_minute: 2, ..web });
    })
    .await;
    let hook = app.url("/api/v1/hooks/sms/webhook");
    for (i, xff) in ["203.0.113.1", "203.0.113.2", "203.0.113.3"].into_iter().enumerate() {
        let status = http.post(&hook).header("x-forwarded-for", xff).body("{}").send().await.unwrap().status();
        assert_eq!(status == StatusCode::TOO_MANY_REQUESTS, i == 2, "request {i}: {status}");
    }
}

#[tokio::test]
async fn metrics_are_served_only_on_their_own_port() {
    let metrics: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let app = TestApp::spawn_with(|s| s.http.metrics_listen = Some(metrics)).await;
    let http = reqwest::Client::new();
    // Something to count.
    assert_eq!(http.get(app.url("/healthz")).send().await.unwrap().status(), 200);
    assert_eq!(http.get(app.url("/metrics")).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    let res = http.get(format!("http://{metrics}/metrics")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let body = res.text().await.unwrap();
    assert!(body.contains("bangban_http_requests_total"), "{body}");
    // The metrics port serves nothing else.
    assert_eq!(http.get(format!("http://{metrics}/api/v1/cases")).send().await.unwrap().status(), 404);
}

/// A workspace binary next to the test executable (`target/<profile>/<name>`).
fn binary(name: &str) -> PathBuf {
    let path = crate::support::binaries_dir().join(name);
    assert!(path.exists(), "{} is missing: build the workspace first (cargo build --workspace)", path.display());
    path
}

#[test]
fn a_binary_on_a_public_address_refuses_development_defaults_unless_told() {
    let data = tempfile::tempdir().unwrap();
    let run = |extra: &[(&str, &str)]| {
        let mut cmd = Command::new(binary("bangban-intake"));
        cmd.env_clear()
            .env("BANGBAN__DATA_DIR", data.path())
            .env("BANGBAN__HTTP__LISTEN", format!("0.0.0.0:{}", free_port()))
            // Nothing listens here: a process that got past the checks fails on NATS, after a second.
            .env("BANGBAN__NATS__URL", format!("nats://127.0.0.1:{}", free_port()))
            .env("BANGBAN__NATS__CONNECT_DEADLINE", "1000")
            .env("BANGBAN__TELEMETRY__LOG_FORMAT", "json");
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let started = std::time::Instant::now();
        let out = cmd.output().unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        (out.status.success(), text, started.elapsed())
    };

    // Development auth on 0.0.0.0, no PII key: refused at once, naming what to change.
    let (ok, stderr, took) = run(&[]);
    assert!(!ok);
    assert!(stderr.contains("refusing to start") && stderr.contains("BANGBAN__AUTH__MODE=oidc"), "{stderr}");
    assert!(stderr.contains("BANGBAN__PII__KEY") && stderr.contains("BANGBAN__ALLOW_INSECURE_DEV"), "{stderr}");
    assert!(took < Duration::from_secs(5), "refused before trying NATS: {took:?}");

    // OIDC without a PII key: still refused (intake keeps personal data).
    let (ok, stderr, _) = run(&[("BANGBAN__AUTH__MODE", "oidc"), ("BANGBAN__AUTH__ISSUER", "https://sso.invalid")]);
    assert!(!ok && stderr.contains("BANGBAN__PII__KEY") && !stderr.contains("BANGBAN__AUTH__MODE=oidc"), "{stderr}");

    // A rehearsal clock beside OIDC: refused.
    let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    let (ok, stderr, _) = run(&[
        ("BANGBAN__AUTH__MODE", "oidc"),
        ("BANGBAN__AUTH__ISSUER", "https://sso.invalid"),
        ("BANGBAN__PII__KEY", key),
        ("BANGBAN__CLOCK__SPEED", "60"),
    ]);
    assert!(!ok && stderr.contains("rehearsal clock"), "{stderr}");

    // Production settings: past the checks, it goes on to NATS (which is not there).
    let (ok, stderr, _) = run(&[
        ("BANGBAN__AUTH__MODE", "oidc"),
        ("BANGBAN__AUTH__ISSUER", "https://sso.invalid"),
        ("BANGBAN__PII__KEY", key),
    ]);
    assert!(!ok && !stderr.contains("refusing to start") && stderr.contains("NATS"), "{stderr}");

    // Told explicitly: development defaults start (with warnings) and also reach NATS.
    let (ok, stderr, _) = run(&[("BANGBAN__ALLOW_INSECURE_DEV", "true")]);
    assert!(!ok && !stderr.contains("refusing to start") && stderr.contains("INSECURE"), "{stderr}");
}

#[test]
fn bangban_serve_checks_every_selected_services_settings_before_it_connects_anything() {
    let data = tempfile::tempdir().unwrap();
    let run = |only: &str, var: (&str, &str)| {
        let out = Command::new(binary("bangban"))
            .args(["serve", "--only", only])
            .env_clear()
            .env("BANGBAN__DATA_DIR", data.path())
            .env("BANGBAN__HTTP__LISTEN", format!("127.0.0.1:{}", free_port()))
            .env("BANGBAN__NATS__URL", format!("nats://127.0.0.1:{}", free_port()))
            .env("BANGBAN__NATS__CONNECT_DEADLINE", "500")
            .env(var.0, var.1)
            .output()
            .unwrap();
        assert!(!out.status.success());
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    };
    let deadline = run("intake,deadline", ("BANGBAN__DEADLINE__WARN_PERCENT", "150"));
    assert!(deadline.contains("warn_percent") && !deadline.contains("NATS"), "{deadline}");
    let web = run("gateway", ("BANGBAN__WEB__TRUSTED_PROXIES", "not-an-address"));
    assert!(web.contains("TRUSTED_PROXIES") && !web.contains("NATS"), "{web}");
    // A section of a service that is not selected is not this process's business.
    let other = run("intake", ("BANGBAN__DEADLINE__WARN_PERCENT", "150"));
    assert!(!other.contains("warn_percent") && other.contains("NATS"), "{other}");
}

#[test]
fn bangban_serve_asks_for_the_pii_key_only_when_it_runs_a_service_that_keeps_personal_data() {
    let data = tempfile::tempdir().unwrap();
    let run = |only: &str| {
        let out = Command::new(binary("bangban"))
            .args(["serve", "--only", only])
            .env_clear()
            .env("BANGBAN__DATA_DIR", data.path())
            .env("BANGBAN__HTTP__LISTEN", format!("0.0.0.0:{}", free_port()))
            .env("BANGBAN__AUTH__MODE", "oidc")
            .env("BANGBAN__AUTH__ISSUER", "https://sso.invalid")
            .env("BANGBAN__NATS__URL", format!("nats://127.0.0.1:{}", free_port()))
            .env("BANGBAN__NATS__CONNECT_DEADLINE", "500")
            .output()
            .unwrap();
        assert!(!out.status.success());
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    };
    let gateway = run("gateway");
    assert!(!gateway.contains("refusing to start") && gateway.contains("NATS"), "{gateway}");
    let intake = run("gateway,intake");
    assert!(intake.contains("refusing to start") && intake.contains("BANGBAN__PII__KEY"), "{intake}");
}
