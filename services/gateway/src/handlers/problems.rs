//! Problems on tasks (问题协调 §7.5.2) over HTTP, served by `deadline`: the case's specialist records what
//! blocks a task and coordinates; unsolved in time (or by choice) it goes to the office for a consultation
//! (会商, see [`super::meetings`]).
//!
//! - `POST /api/v1/tasks/{id}/problems` — record one: the case's specialist or the accepting office's staff.
//! - `GET  /api/v1/problems?office=&unit=&case_id=&task_id=&status=&limit=&offset=` — a page, scoped like the
//!   clocks.
//! - `POST /api/v1/problems/{id}/solve`, `POST /api/v1/problems/{id}/refer` — the case's specialist or an
//!   admin of the accepting office.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
    response::IntoResponse,
};
use bangban_contracts::{
    deadline::{
        ClockView, GetClock, GetProblem, ListProblems, NewProblem, NewReferral, NewSolution, ProblemPage, ProblemView,
        RecordProblem, ReferProblem, SolveProblem, ops,
    },
    office::CITY_OFFICE,
};
use bangban_platform::problem::Problem;
use uuid::Uuid;

use crate::{
    AppState,
    auth::{Principal, Role},
    authz::{Action, scope_deadline},
    extract::{ApiJson, ApiQuery},
    handlers::{cases::actor, load},
};
use utoipa_axum::{router::OpenApiRouter, routes};

/// The routes of problems.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(record_problem))
        .routes(routes!(list_problems))
        .routes(routes!(solve_problem))
        .routes(routes!(refer_problem))
}

pub(crate) fn problem_example() -> serde_json::Value {
    serde_json::json!({
        "id": "0195f6d1-0a1b-7c2d-8e3f-4a5b6c7d8e9f",
        "task_id": "0195f3a0-7c1e-7b35-9a51-2f9c3c1d4e01",
        "case_id": "0195f39f-1a2b-7c3d-8e4f-5a6b7c8d9e0f",
        "office": "371625",
        "unit_office": "371625",
        "unit_code": "371625-XZSP",
        "description": "消防设计审查意见与规划许可要求不一致，需协调",
        "status": "open",
        "recorded_by": "staff-371625-assistant-1",
        "recorded_at": "2026-03-03T02:00:00Z",
        "solve_by": "2026-03-06",
        "referred_at": null,
        "referral_reason": null,
        "solved_at": null,
        "solution": null,
        "consultation_id": null
    })
}

fn no_problem(id: Uuid) -> Problem {
    Problem::not_found(format!("问题 {id} 不存在"), format!("problem {id} does not exist"))
}

/// Is the problem within `principal`'s reach: their office's (its units' and the cases it accepted), every
/// office's for the city office and supervisors?
pub(crate) fn in_reach(principal: &Principal, problem: &ProblemView) -> bool {
    let everywhere = principal.office == CITY_OFFICE || principal.role == Role::Supervisor;
    everywhere || problem.office == principal.office || problem.unit_office == principal.office
}

/// The problem `id` if it exists and is within `principal`'s reach ([`in_reach`]).
pub(crate) async fn problem_in_reach(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
) -> Result<Option<ProblemView>, Problem> {
    match state.call::<ops::ProblemGet>(&GetProblem { id }).await {
        Ok(problem) => Ok(in_reach(principal, &problem).then_some(problem)),
        Err(p) if p.status == 404 => Ok(None),
        Err(p) => Err(p),
    }
}

/// A problem with the clock of its task, which names the case's specialist and applicant.
struct OnClock {
    problem: ProblemView,
    clock: ClockView,
}

impl load::OnTask for OnClock {
    fn parties(&self) -> load::Parties<'_> {
        load::Parties {
            unit: &self.problem.unit_code,
            unit_office: &self.problem.unit_office,
            case_office: &self.problem.office,
            specialist: &self.clock.specialist_id,
            applicant: self.clock.applicant_id.to_string(),
        }
    }
}

/// The problem `principal` may take `action` on (404 outside their reach, 403 for one they see but may not
/// act on).
async fn authorized_problem(
    state: &AppState,
    principal: &Principal,
    id: &str,
    action: Action,
) -> Result<ProblemView, Problem> {
    let fetch = |id| async move {
        let problem: ProblemView = state
            .call::<ops::ProblemGet>(&GetProblem { id })
            .await
            .map_err(|p| if p.status == 404 { no_problem(id) } else { p })?;
        if !in_reach(principal, &problem) {
            return Err(no_problem(id));
        }
        let clock: ClockView = state.call::<ops::ClockGet>(&GetClock { task_id: problem.task_id }).await?;
        Ok(OnClock { problem, clock })
    };
    Ok(load::on_task(principal, action, id, ("问题", "problem"), fetch, Some(no_problem)).await?.problem)
}

/// Records a problem that blocks a task (§7.5.2): the specialist coordinates it within the configured
/// working days (`solve_by`), after which it goes to the office for a consultation by itself; `refer_now`
/// sends it at once. By the case's specialist or the staff of the accepting office (the city office for
/// every case); others who see the task get 403, anyone else 404. Publishes `problem.recorded` (and
/// `problem.referred`).
#[utoipa::path(
    post, path = "/api/v1/tasks/{id}/problems", tag = "problems",
    params(("id" = Uuid, Path, description = "事项编号 / task id")),
    request_body(content = NewProblem, description = "问题 / the problem", example = json!({
        "description": "消防设计审查意见与规划许可要求不一致，需协调", "refer_now": false
    })),
    responses(
        (status = 201, description = "已记录 / recorded", body = ProblemView, example = json!(problem_example())),
        (status = 400, description = "请求体或编号格式错误 / malformed body or id", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "可查看但无权记录问题 / may read the task but not record problems", body = Problem),
        (status = 404, description = "事项不存在、尚未计时或无权查看 / no such task, no clock, or not yours", body = Problem),
        (status = 413, description = "请求体过大 / body too large", body = Problem),
        (status = 415, description = "须为 JSON / JSON required", body = Problem),
        (status = 422, description = "内容有误（指明字段）/ invalid content, naming the field", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(task.id = %id))]
pub async fn record_problem(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(problem): ApiJson<NewProblem>,
) -> Result<impl IntoResponse, Problem> {
    let clock = load::clock(&state, &principal, &id, Action::RecordProblem).await?;
    let req = RecordProblem { actor: actor(&principal), task_id: clock.task_id, problem };
    let view: ProblemView = state.call::<ops::ProblemRecord>(&req).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// A page of problems, newest first (`limit` 1–200, default 50; `offset` 0–1 000 000 000). Scoped by the
/// gateway: an officer sees those on their unit's tasks (another `unit` is 403); the staff of a county office
/// those on its units' tasks and on the cases it accepted (another `office` is 403); the city office's staff
/// and supervisors every office's, filtered as asked. Applicants, experts and integrators get 403.
#[utoipa::path(
    get, path = "/api/v1/problems", tag = "problems",
    params(ListProblems),
    responses(
        (status = 200, description = "问题 / the problems", body = ProblemPage, example = json!({
            "items": [problem_example()], "total": 1, "limit": 50, "offset": 0
        })),
        (status = 400, description = "查询参数有误 / bad query", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "无权查看该机构的问题 / not your office", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn list_problems(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(mut filter): ApiQuery<ListProblems>,
) -> Result<Json<ProblemPage>, Problem> {
    (filter.office, filter.unit) = scope_deadline(
        &principal,
        Action::ReadProblems,
        ("问题", "problems"),
        filter.office.take(),
        filter.unit.take(),
    )?;
    Ok(Json(state.call::<ops::ProblemList>(&filter).await?))
}

/// Marks a problem solved (已解决) with how. By the case's specialist or an office admin of the accepting
/// office (the city's for every case). A solved problem is 409. Publishes `problem.solved`.
#[utoipa::path(
    post, path = "/api/v1/problems/{id}/solve", tag = "problems",
    params(("id" = Uuid, Path, description = "问题编号 / problem id")),
    request_body(content = NewSolution, description = "解决情况 / the solution", example = json!({
        "solution": "经与消防审查机构沟通，按规划许可要求调整设计，审查意见已更新"
    })),
    responses(
        (status = 200, description = "已解决的问题 / the problem, solved", body = ProblemView),
        (status = 400, description = "请求体或编号格式错误 / malformed body or id", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "可查看但无权处理 / may read the problem but not handle it", body = Problem),
        (status = 404, description = "不存在或无权查看 / not found", body = Problem),
        (status = 409, description = "问题已解决 / already solved", body = Problem),
        (status = 413, description = "请求体过大 / body too large", body = Problem),
        (status = 415, description = "须为 JSON / JSON required", body = Problem),
        (status = 422, description = "内容有误（指明字段）/ invalid content, naming the field", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(problem.id = %id))]
pub async fn solve_problem(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(solution): ApiJson<NewSolution>,
) -> Result<Json<ProblemView>, Problem> {
    let problem = authorized_problem(&state, &principal, &id, Action::HandleProblem).await?;
    let req = SolveProblem { actor: actor(&principal), id: problem.id, solution };
    Ok(Json(state.call::<ops::ProblemSolve>(&req).await?))
}

/// Refers an open problem to the office for a consultation (提报机构会商) with the reason. By the case's
/// specialist or an office admin of the accepting office. A problem not open is 409. Publishes
/// `problem.referred`.
#[utoipa::path(
    post, path = "/api/v1/problems/{id}/refer", tag = "problems",
    params(("id" = Uuid, Path, description = "问题编号 / problem id")),
    request_body(content = NewReferral, description = "提报理由 / the reason", example = json!({
        "reason": "涉及多个部门审查标准冲突，需帮办代办工作机构组织会商"
    })),
    responses(
        (status = 200, description = "已提报的问题 / the problem, referred", body = ProblemView),
        (status = 400, description = "请求体或编号格式错误 / malformed body or id", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "可查看但无权处理 / may read the problem but not handle it", body = Problem),
        (status = 404, description = "不存在或无权查看 / not found", body = Problem),
        (status = 409, description = "只有协调中的问题可以提报 / only an open problem can be referred", body = Problem),
        (status = 413, description = "请求体过大 / body too large", body = Problem),
        (status = 415, description = "须为 JSON / JSON required", body = Problem),
        (status = 422, description = "内容有误（指明字段）/ invalid content, naming the field", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(problem.id = %id))]
pub async fn refer_problem(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(referral): ApiJson<NewReferral>,
) -> Result<Json<ProblemView>, Problem> {
    let problem = authorized_problem(&state, &principal, &id, Action::HandleProblem).await?;
    let req = ReferProblem { actor: actor(&principal), id: problem.id, referral };
    Ok(Json(state.call::<ops::ProblemRefer>(&req).await?))
}
