//! The `bangban-gateway` binary as the chart runs it (it is also what the chart boot test in
//! `tests/tests/e2e/chart_boot.rs` starts, so `cargo nextest run --workspace` builds it through this test).

use std::process::Command;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn the_internet_facing_gateway_refuses_development_auth_on_a_public_address() {
    let data = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_bangban-gateway"))
        .env_clear()
        .env("BANGBAN__DATA_DIR", data.path())
        .env("BANGBAN__HTTP__LISTEN", format!("0.0.0.0:{}", free_port()))
        .env("BANGBAN__NATS__URL", format!("nats://127.0.0.1:{}", free_port()))
        .env("BANGBAN__NATS__CONNECT_DEADLINE", "500")
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!out.status.success());
    assert!(text.contains("refusing to start") && text.contains("BANGBAN__AUTH__MODE=oidc"), "{text}");
    // The gateway keeps no personal data: it is not asked for the PII key (the chart never gives it one).
    assert!(!text.contains("BANGBAN__PII__KEY"), "{text}");
    // Nothing was written: the development secret is generated only after the checks.
    assert_eq!(std::fs::read_dir(data.path()).unwrap().count(), 0);
}
