//! Business monitoring (业务监控 §6.2) over HTTP, served by `deadline`: open, paused, warning and overdue
//! items by office, unit, stage and category; the on-time rate and the average working days of the
//! concluded ones; open and escalated supervision notices; open problems.
//!
//! - `GET /api/v1/monitoring?office=&from=&to=` — a county office's staff see their own office (asking for
//!   another is 403); the city office's staff and supervisors see everything, or the office they ask for.

use crate::auth::Principal;
use axum::{Json, extract::State};
use bangban_contracts::deadline::{Monitoring, MonitoringQuery, ops};
use bangban_platform::problem::Problem;

use crate::{AppState, authz::Action, authz::scope_deadline, extract::ApiQuery};
use utoipa_axum::{router::OpenApiRouter, routes};

/// The routes of monitoring.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(monitoring))
}

/// The figures of business monitoring (业务监控): open items (awaiting receipt, running, paused), those past
/// the warning threshold (预警) and past their due instant (逾期), concluded items in the period with the
/// on-time rate (按时办结率) and the average working days used, grouped by the office of the responsible
/// unit, by unit, by stage and by category; open and escalated supervision notices; open problems.
///
/// The staff of a county office see their own office's figures (the items at its units and of the cases it
/// accepted), whatever they ask; another `office` is 403. The city office's staff and supervisors see the
/// whole city, or the office they ask for. Officers, applicants, experts and integrators get 403.
#[utoipa::path(
    get, path = "/api/v1/monitoring", tag = "monitoring",
    params(MonitoringQuery),
    responses(
        (status = 200, description = "业务监控 / the figures", body = Monitoring, example = json!({
            "office": "371625", "from": "2026-01-01", "to": "2026-03-31",
            "total": {"key": "", "label": null, "open": 42, "paused": 3, "warning": 5, "overdue": 2,
                      "concluded": 120, "concluded_on_time": 117, "on_time_rate": 0.975, "average_working_days": 4.2},
            "by_office": [{"key": "371625", "label": "博兴县", "open": 42, "paused": 3, "warning": 5, "overdue": 2,
                           "concluded": 120, "concluded_on_time": 117, "on_time_rate": 0.975, "average_working_days": 4.2}],
            "by_unit": [{"key": "371625-XZSP", "label": "博兴县行政审批服务局", "open": 20, "paused": 1, "warning": 3,
                         "overdue": 1, "concluded": 70, "concluded_on_time": 69, "on_time_rate": 0.9857,
                         "average_working_days": 3.9}],
            "by_stage": [{"key": "engineering_permit", "label": "工程建设许可", "open": 12, "paused": 1, "warning": 2,
                          "overdue": 1, "concluded": 30, "concluded_on_time": 29, "on_time_rate": 0.9667,
                          "average_working_days": 4.8}],
            "by_category": [{"key": "industrial", "label": "工业项目", "open": 42, "paused": 3, "warning": 5,
                             "overdue": 2, "concluded": 120, "concluded_on_time": 117, "on_time_rate": 0.975,
                             "average_working_days": 4.2}],
            "supervision_open": 2, "supervision_escalated": 0, "problems_open": 1,
            "at": "2026-03-20T02:00:00Z"
        })),
        (status = 400, description = "查询参数有误 / bad query", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "无权查看该机构或该角色无权查看业务监控 / not your office, or the role sees no monitoring", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn monitoring(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(mut query): ApiQuery<MonitoringQuery>,
) -> Result<Json<Monitoring>, Problem> {
    (query.office, _) =
        scope_deadline(&principal, Action::ReadMonitoring, ("业务监控数据", "monitoring figures"), query.office, None)?;
    Ok(Json(state.call::<ops::Monitoring>(&query).await?))
}
