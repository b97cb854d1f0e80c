//! `GET /api/v1/clock`: the platform's time (平台时钟), so the console and black-box tests read the same
//! "now" the services do — which, in a development rehearsal (`BANGBAN__CLOCK__START`,
//! `BANGBAN__CLOCK__SPEED`), is not the wall clock's. Public: time is no secret.

use axum::Json;
use bangban_platform::clock;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use utoipa_axum::{router::OpenApiRouter, routes};

/// The routes of the clock.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_clock))
}

/// The platform clock as the services read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PlatformClock {
    /// Now on the platform clock (RFC 3339, UTC).
    #[schema(example = "2026-03-02T01:00:00Z")]
    pub now: DateTime<Utc>,
    /// Whether the clock is a rehearsal (development only) rather than the wall clock.
    pub rehearsal: bool,
    /// Platform seconds per wall-clock second: 1 for the wall clock, 0 for a clock that stands still (tests).
    #[schema(example = 1.0)]
    pub speed: f64,
}

impl PlatformClock {
    /// The clock now.
    pub fn now() -> Self {
        Self { now: clock::now(), rehearsal: clock::is_rehearsal(), speed: clock::speed() }
    }
}

/// Now on the platform clock (平台时间). In production it is the wall clock; in a development rehearsal it
/// starts at `BANGBAN__CLOCK__START` and runs `BANGBAN__CLOCK__SPEED` times as fast. No token needed.
#[utoipa::path(
    get, path = "/api/v1/clock", tag = "clock",
    responses(
        (status = 200, description = "平台时间 / the platform's time", body = PlatformClock,
            example = json!({"now": "2026-03-02T01:00:00Z", "rehearsal": true, "speed": 3600.0})),
    ),
)]
pub async fn get_clock() -> Json<PlatformClock> {
    Json(PlatformClock::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    // One test: the clock is process-wide.
    #[tokio::test]
    async fn reads_the_platform_clock_and_is_documented_as_public() {
        let Json(view) = get_clock().await;
        assert!(!view.rehearsal);
        assert_eq!(view.speed, 1.0);
        assert!((view.now - Utc::now()).num_seconds().abs() < 5);

        let t0: DateTime<Utc> = "2026-03-02T01:00:00Z".parse().unwrap();
        clock::set_manual(t0);
        let Json(view) = get_clock().await;
        clock::use_system();
        assert_eq!(view, PlatformClock { now: t0, rehearsal: true, speed: 0.0 });
        let json = serde_json::to_value(&view).unwrap();
        assert_eq!(json, serde_json::json!({"now": "2026-03-02T01:00:00Z", "rehearsal": true, "speed": 0.0}));

        let doc = serde_json::to_value(crate::openapi::document()).unwrap();
        let op = &doc["paths"]["/api/v1/clock"]["get"];
        assert!(op.is_object(), "documented");
        assert!(op.get("security").is_none(), "public: no bearer token");
        assert!(doc["components"]["schemas"]["PlatformClock"].is_object());
    }
}
