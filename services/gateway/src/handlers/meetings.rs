//! Consultations (会商) and joint meetings (联席会议) on problems (§7.5.3) over HTTP, served by `deadline`:
//! the office takes up the problems its specialists could not solve, with attendees, decisions and
//! follow-ups; each problem it takes up is solved by its decisions.
//!
//! - `POST /api/v1/meetings` — record one: office admins, a county's for its own office, the city's for any.
//! - `GET  /api/v1/meetings?office=&case_id=&limit=&offset=` — a page: a county office's staff see their
//!   office's, the city office's staff and supervisors every office's.
//!
//! `/api/v1/consultations` is intake's needs intake (对接需求, §7.1), a different record with the same English
//! word; these are served under `/api/v1/meetings`, and their schemas are named `Meeting…` in the document
//! so that neither hides the other's.

use axum::{Json, extract::State, http::StatusCode, response::IntoResponse};
use bangban_contracts::{
    deadline::{ConsultationView, ListConsultations, MeetingPage, NewConsultation, RecordConsultation, ops},
    office::is_known_office,
};
use bangban_platform::problem::Problem;

use crate::{
    AppState,
    auth::Principal,
    authz::{Action, Resource, authorize, scope_deadline},
    extract::{ApiJson, ApiQuery},
    handlers::{cases::actor, problems::problem_in_reach},
};
use utoipa_axum::{router::OpenApiRouter, routes};

/// The most problems one consultation takes up (一次会商最多处理的问题数); each is looked up on its own.
pub const MAX_PROBLEMS: usize = 100;

/// The routes of consultations and joint meetings.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_meetings, record_meeting))
}

fn meeting_example() -> serde_json::Value {
    serde_json::json!({
        "id": "0195f8e2-4b5c-7d6e-8f70-8192a3b4c5d6",
        "kind": "consultation",
        "office": "371625",
        "topic": "关于某项目消防审查与规划许可衔接问题的会商",
        "held_at": "2026-03-06T06:00:00Z",
        "problem_ids": ["0195f6d1-0a1b-7c2d-8e3f-4a5b6c7d8e9f"],
        "case_ids": ["0195f39f-1a2b-7c3d-8e4f-5a6b7c8d9e0f"],
        "attendees": [
            {"organization": "博兴县自然资源和规划局", "name": "王主任"},
            {"organization": "博兴县住房和城乡建设局", "name": "李科长"}
        ],
        "decisions": ["以规划许可要求为准调整消防设计，三个工作日内完成修改"],
        "follow_ups": [{"action": "提交修改后的消防设计文件", "owner": "博兴县住房和城乡建设局", "due_on": "2026-03-11"}],
        "recorded_by": "admin-371625",
        "recorded_at": "2026-03-06T08:00:00Z"
    })
}

/// Records a consultation (会商) or a joint meeting (联席会议) the office held on problems: topic, time,
/// attendees, decisions and follow-ups with owner and date; every problem in `problem_ids` is solved by
/// its decisions. `office` defaults to the caller's. Office admins only: a county's for its own office, the
/// city's for any. A problem outside the caller's reach is named as unknown (422), and so are more than
/// [`MAX_PROBLEMS`] problems. Publishes
/// `meeting.recorded` on the office's subject.
#[utoipa::path(
    post, path = "/api/v1/meetings", tag = "meetings",
    request_body(content = NewConsultation, description = "会商或联席会议 / the consultation or joint meeting", example = json!({
        "kind": "consultation",
        "office": "371625",
        "topic": "关于某项目消防审查与规划许可衔接问题的会商",
        "held_at": "2026-03-06T06:00:00Z",
        "problem_ids": ["0195f6d1-0a1b-7c2d-8e3f-4a5b6c7d8e9f"],
        "attendees": [
            {"organization": "博兴县自然资源和规划局", "name": "王主任"},
            {"organization": "博兴县住房和城乡建设局", "name": "李科长"}
        ],
        "decisions": ["以规划许可要求为准调整消防设计，三个工作日内完成修改"],
        "follow_ups": [{"action": "提交修改后的消防设计文件", "owner": "博兴县住房和城乡建设局", "due_on": "2026-03-11"}]
    })),
    responses(
        (status = 201, description = "已记录 / recorded", body = ConsultationView, example = json!(meeting_example())),
        (status = 400, description = "请求体格式错误 / malformed body", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "只有机构管理员可以记录本机构的会商 / office admins, for their own office", body = Problem),
        (status = 413, description = "请求体过大 / body too large", body = Problem),
        (status = 415, description = "须为 JSON / JSON required", body = Problem),
        (status = 422, description = "内容有误（指明字段）/ invalid content, naming the field", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(kind = consultation.kind.as_str()))]
pub async fn record_meeting(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(consultation): ApiJson<NewConsultation>,
) -> Result<impl IntoResponse, Problem> {
    let office = consultation.office.clone().unwrap_or_else(|| principal.office.clone());
    authorize(&principal, Action::RecordMeeting, Resource::Office(&office))?;
    // Deadline checks the code's form only; a meeting of an office that does not exist would be published on
    // a subject nobody reads.
    if !is_known_office(&office) {
        return Err(Problem::invalid_field(
            "office",
            format!("未知的机构代码 {office}"),
            format!("unknown office {office}"),
        ));
    }
    if consultation.problem_ids.len() > MAX_PROBLEMS {
        return Err(Problem::invalid_field(
            "problem_ids",
            format!("一次会商最多处理 {MAX_PROBLEMS} 个问题"),
            format!("at most {MAX_PROBLEMS} problems per consultation"),
        ));
    }
    for (i, id) in consultation.problem_ids.iter().enumerate() {
        if problem_in_reach(&state, &principal, *id).await?.is_none() {
            return Err(Problem::invalid_field(&format!("problem_ids[{i}]"), "问题不存在", "no such problem"));
        }
    }
    let req = RecordConsultation { actor: actor(&principal), consultation };
    let view: ConsultationView = state.call::<ops::ConsultationRecord>(&req).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// A page of consultations and joint meetings on problems, latest first (`limit` 1–200, default 50;
/// `offset` 0–1 000 000 000); `case_id` keeps those that took up a problem of the case. A county office's staff see their own office's (another `office` is 403); the city
/// office's staff and supervisors every office's, filtered as asked. Applicants, officers, experts and
/// integrators get 403.
#[utoipa::path(
    get, path = "/api/v1/meetings", tag = "meetings",
    params(ListConsultations),
    responses(
        (status = 200, description = "会商与联席会议 / the meetings", body = MeetingPage, example = json!({
            "items": [meeting_example()], "total": 1, "limit": 50, "offset": 0
        })),
        (status = 400, description = "查询参数有误 / bad query", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "无权查看该机构的会商 / not your office", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn list_meetings(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(mut filter): ApiQuery<ListConsultations>,
) -> Result<Json<MeetingPage>, Problem> {
    (filter.office, _) =
        scope_deadline(&principal, Action::ReadMeetings, ("会商记录", "meetings"), filter.office, None)?;
    Ok(Json(state.call::<ops::ConsultationList>(&filter).await?))
}
