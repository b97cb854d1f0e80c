//! The case dossier (案件全景): everything about one case in one answer, gathered by the gateway from every
//! service in parallel, each part with its own time limit and the caller's own permissions.
//!
//! Each part is read exactly as its own route reads it (`GET /api/v1/cases/{id}/plan`, `…/tasks`, `…/clocks`,
//! supervision notices, SMS messages, evaluations), so a person sees in the dossier what they may see elsewhere
//! and nothing more. A part that is not the caller's to see, not there yet, or whose service does not answer in
//! time is left out and named in `missing` with the reason: the dossier still answers. Only the case itself is
//! required — it decides who may read the rest.

use std::{future::Future, time::Duration};

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use bangban_contracts::{
    deadline::{ClockView, ListSupervision, SupervisionPage},
    evaluation::{EvaluationPage, ListEvaluations},
    intake::CaseView,
    notification::{ListMessages, MessagePage},
    planning::{PlanView, Schedule},
    routing::TaskView,
};
use bangban_platform::problem::Problem;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{
    AppState,
    auth::Principal,
    authz::{Action, authorize_role},
    extract::ApiQuery,
    handlers::{
        clocks, evaluations,
        load::{self, RoleCheck},
        notifications, plans, supervision, tasks,
    },
};
use utoipa_axum::{router::OpenApiRouter, routes};

/// The longest any one part may take.
const PART_TIMEOUT: Duration = Duration::from_secs(3);

/// The routes of the dossier.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_dossier))
}

/// A part of the dossier left out, and why (缺失部分).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MissingPart {
    /// `plan`, `schedule`, `tasks`, `clocks`, `supervision`, `messages` or `evaluations`.
    pub part: String,
    /// The status its own route would have answered (404 not there yet, 403 not yours, 503/504 unavailable).
    pub status: u16,
    pub reason: String,
    pub reason_en: String,
}

/// The case dossier (案件全景).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Dossier {
    /// The case, with its applicant masked as the caller's role sees it and the contact card.
    pub case: CaseView,
    pub plan: Option<PlanView>,
    /// The plan as Gantt data (planned against targets, critical path).
    pub schedule: Option<Schedule>,
    /// The routed tasks with their status marks.
    pub tasks: Option<Vec<TaskView>>,
    /// The clocks with their alarms, pauses and timelines.
    pub clocks: Option<Vec<ClockView>>,
    pub supervision: Option<SupervisionPage>,
    /// The SMS sent about the case (staff only; numbers masked).
    pub messages: Option<MessagePage>,
    pub evaluations: Option<EvaluationPage>,
    /// What is left out, and why; empty when the dossier is complete.
    pub missing: Vec<MissingPart>,
}

async fn part<T, F>(name: &str, missing: &mut Vec<MissingPart>, fut: F) -> Option<T>
where
    F: Future<Output = Result<Json<T>, Problem>>,
{
    match tokio::time::timeout(PART_TIMEOUT, fut).await {
        Ok(Ok(Json(v))) => Some(v),
        Ok(Err(p)) => {
            let status = p.status_code();
            let (reason, reason_en) = match status {
                StatusCode::NOT_FOUND => ("尚无此部分", "not there yet"),
                StatusCode::FORBIDDEN => ("无权查看此部分", "not yours to see"),
                s if s.is_server_error() => ("该服务暂不可用", "its service is unavailable"),
                _ => ("无法读取此部分", "it could not be read"),
            };
            missing.push(MissingPart {
                part: name.into(),
                status: status.as_u16(),
                reason: reason.into(),
                reason_en: reason_en.into(),
            });
            None
        }
        Err(_) => {
            tracing::warn!(part = name, "dossier: a part timed out");
            missing.push(MissingPart {
                part: name.into(),
                status: StatusCode::GATEWAY_TIMEOUT.as_u16(),
                reason: format!("该服务未在 {} 秒内应答", PART_TIMEOUT.as_secs()),
                reason_en: format!("its service did not answer within {} s", PART_TIMEOUT.as_secs()),
            });
            None
        }
    }
}

/// The case dossier (案件全景): the case and its contact card, the plan and its schedule (Gantt), the tasks with
/// their status marks, the clocks and alarms, supervision notices, the SMS sent (staff) and the evaluations —
/// read in parallel, each as its own route reads it for the caller. A part the caller may not see, that does not
/// exist yet, or whose service does not answer within 3 s is listed in `missing` instead; the dossier still
/// answers 200. Only the case is required (404 when it is not the caller's).
#[utoipa::path(
    get, path = "/api/v1/cases/{id}/dossier", tag = "dossier",
    params(("id" = uuid::Uuid, Path, description = "案件编号 / case id")),
    responses(
        (status = 200, description = "案件全景 / the dossier", body = Dossier),
        (status = 400, description = "编号格式错误 / malformed id", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "无权操作 / forbidden", body = Problem),
        (status = 404, description = "不存在或无权查看 / not found", body = Problem),
        (status = 503, description = "受理服务暂不可用 / intake unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(case.id = %id))]
pub async fn get_dossier(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Dossier>, Problem> {
    let case = load::case(&state, &principal, &id, Action::ReadCase, RoleCheck::WithResource).await?;
    let case_id = case.id;
    // The case is read and authorized once; the parts that read it again on their own routes (plan, schedule,
    // tasks, clocks) are given it, with the same checks their routes make after reading it.
    let s = || State(state.clone());
    let p = || principal.clone();
    let (mut m1, mut m3, mut m4, mut m5, mut m6, mut m7) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (plan, tasks, clocks, supervision, messages, evaluations) = tokio::join!(
        part("plan", &mut m1, async { plans::plan_of(&state, case_id).await.map(Json) }),
        part("tasks", &mut m3, async { tasks::visible_tasks_of(&state, &principal, &case).await.map(Json) }),
        part("clocks", &mut m4, async {
            authorize_role(&principal, Action::ReadTask)?;
            clocks::visible_clocks_of(&state, &principal, &case).await.map(Json)
        }),
        part(
            "supervision",
            &mut m5,
            supervision::list_supervision(
                s(),
                p(),
                ApiQuery(ListSupervision { case_id: Some(case_id), ..Default::default() })
            )
        ),
        part(
            "messages",
            &mut m6,
            notifications::list_messages(
                s(),
                p(),
                ApiQuery(ListMessages { case_id: Some(case_id), limit: Some(100), ..Default::default() })
            )
        ),
        part(
            "evaluations",
            &mut m7,
            evaluations::list_evaluations(
                s(),
                p(),
                ApiQuery(ListEvaluations { case_id: Some(case_id), limit: Some(100), ..Default::default() })
            )
        ),
    );
    // The schedule is the plan's: there when the plan is, missing for the same reason when it is not.
    let schedule = plan.as_ref().map(|p| p.schedule.clone());
    let m2: Vec<MissingPart> = m1.iter().map(|m| MissingPart { part: "schedule".into(), ..m.clone() }).collect();
    let missing = [m1, m2, m3, m4, m5, m6, m7].into_iter().flatten().collect();
    Ok(Json(Dossier { case, plan, schedule, tasks, clocks, supervision, messages, evaluations, missing }))
}
