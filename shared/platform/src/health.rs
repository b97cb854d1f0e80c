//! Liveness and readiness (健康检查): `/healthz` answers while the process runs; `/readyz` only while
//! the database and NATS answer.

use axum::{Json, Router, extract::State, http::StatusCode, response::IntoResponse, routing::get};
use sea_orm::DatabaseConnection;
use serde_json::json;

use crate::bus;

/// What readiness checks.
#[derive(Clone)]
pub struct Readiness {
    pub nats: async_nats::Client,
    /// The databases of the services this process runs, by service name.
    pub databases: Vec<(&'static str, DatabaseConnection)>,
}

impl Readiness {
    /// Checks everything; returns whether all is well and the details.
    pub async fn check(&self) -> (bool, serde_json::Value) {
        let nats_ok = bus::is_connected(&self.nats);
        let mut dbs = serde_json::Map::new();
        let mut all = nats_ok;
        for (name, db) in &self.databases {
            let ok = tokio::time::timeout(std::time::Duration::from_secs(2), db.ping()).await.is_ok_and(|r| r.is_ok());
            all &= ok;
            dbs.insert((*name).to_string(), json!(if ok { "ok" } else { "unavailable" }));
        }
        (
            all,
            json!({
                "status": if all { "ready" } else { "not_ready" },
                "nats": if nats_ok { "ok" } else { "unavailable" },
                "databases": dbs,
            }),
        )
    }
}

async fn healthz() -> impl IntoResponse {
    Json(json!({"status": "ok"}))
}

async fn readyz(State(r): State<Readiness>) -> impl IntoResponse {
    let (ok, body) = r.check().await;
    (if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE }, Json(body))
}

/// `/healthz` and `/readyz`, for the gateway and for each service's own small HTTP listener.
pub fn router(readiness: Readiness) -> Router {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz)).with_state(readiness)
}
