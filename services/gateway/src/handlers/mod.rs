//! HTTP handlers of `/api/v1`.

pub mod calendar;
pub mod cases;
pub mod catalog;
pub mod clock;
pub mod clocks;
pub mod consultations;
pub mod directory;
pub mod dossier;
pub mod evaluations;
pub(crate) mod load;
pub mod me;
pub mod meetings;
pub mod monitoring;
pub mod notifications;
pub mod plans;
pub mod problems;
pub mod registry;
pub mod results;
pub mod stream;
pub mod supervision;
pub mod tasks;

use utoipa_axum::router::OpenApiRouter;

use crate::AppState;

/// Every documented route of `/api/v1`: each is declared once, by its handler's `#[utoipa::path]`, in its
/// module's `router()`, which gives axum the route and the OpenAPI document the operation.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(cases::router())
        .merge(me::router())
        .merge(registry::router())
        .merge(directory::router())
        .merge(consultations::router())
        .merge(results::router())
        .merge(calendar::router())
        .merge(catalog::router())
        .merge(plans::router())
        .merge(tasks::router())
        .merge(clock::router())
        .merge(clocks::router())
        .merge(dossier::router())
        .merge(supervision::router())
        .merge(problems::router())
        .merge(stream::router())
        .merge(meetings::router())
        .merge(monitoring::router())
        .merge(notifications::router())
        .merge(evaluations::router())
}
