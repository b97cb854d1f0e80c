//! Evaluation (评价 §8.2, 政务服务"好差评") over HTTP, served by `evaluation`: ratings of each approval item
//! and of the whole service (一事一评), the SMS link and the window terminal that rate with a one-time code,
//! rectification of bad reviews (差评整改), appeals (申诉), the staff assessment (考核 §8.2.1) and statistics.
//!
//! - `POST /api/v1/tasks/{id}/evaluation`, `POST /api/v1/cases/{id}/evaluation` — the applicant rates an item
//!   or the whole service in their own name (the token's `applicant` claim).
//! - `GET  /api/v1/evaluations/invitations/{code}` — what a one-time code rates (the SMS link's page). No
//!   bearer token; the code is a credential: the request span records the route template, never the path.
//! - `POST /api/v1/evaluations/by-code` — rate with the code: without a token (the SMS link) or at a window
//!   terminal (a window staff member's token).
//! - `GET  /api/v1/evaluations`, `GET /api/v1/evaluations/{id}` — ratings, scoped to whom they concern
//!   ([`crate::authz::scope_evaluations`]).
//! - `GET  /api/v1/cases/{id}/invitations` — a case's invitations (never the codes).
//! - `GET  /api/v1/rectifications`, `GET /api/v1/rectifications/{id}`, `POST /api/v1/rectifications/{id}/steps`
//!   — bad reviews' rectifications: the assignee contacts and answers, the applicant rates the fix.
//! - `POST /api/v1/evaluations/{id}/appeal`, `POST /api/v1/appeals/{id}/decision`, `GET /api/v1/appeals`.
//! - `GET  /api/v1/assessments`, `GET /api/v1/assessments.csv` — the staff assessment, as JSON or for Excel.
//! - `GET  /api/v1/evaluations/statistics` — ratings by level, category, stage, office, unit and month.

use std::borrow::Cow;

use axum::{
    Json, Router,
    extract::{Path, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use bangban_contracts::{
    evaluation::{
        AppealDecision, AppealStatus, AppealView, Assessment, AssessmentQuery, AssessmentRow, AssessmentScope,
        Assignee, ByCodeBody, CaseInvitations, Channel, CodeLookup, DecideAppeal, EvaluationPage, EvaluationView,
        FileAppeal, FixRating, GetEvaluation, GetRectification, InvitationView, ListAppeals, ListEvaluations,
        ListRectifications, Matter, NewAppeal, NewRating, RatingCounts, RectificationAction, RectificationPage,
        RectificationStatus, RectificationStep, RectificationView, Statistics, StatisticsQuery, SubmitByCode,
        SubmitRating, Tag, ops,
    },
    intake::Actor,
    office::is_known_office,
};
use bangban_platform::{
    auth::{Principal, Role},
    problem::Problem,
};
use chrono::NaiveDate;
use utoipa::OpenApi;
use uuid::Uuid;

use crate::{
    AppState,
    authz::{
        Action, authorize_appeal, authorize_evaluation, authorize_rectification, authorize_role, rating_applicant,
        scope_deadline, scope_evaluations, scope_rectifications,
    },
    extract::{ApiJson, ApiQuery, decode},
    handlers::{
        cases::{actor, authorized_case},
        evaluation as call,
        notifications::page_limit,
        tasks::parse_id,
    },
};

/// Path template of the invitation lookup: the one-time code is a credential, so the request span records
/// this template as `url.path`, never the path that carries the code.
pub const INVITATION_BY_CODE: &str = "/api/v1/evaluations/invitations/{code}";

/// The routes of evaluation.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/tasks/{id}/evaluation", post(rate_task))
        .route("/api/v1/cases/{id}/evaluation", post(rate_case))
        .route(INVITATION_BY_CODE, get(invitation_by_code))
        .route("/api/v1/evaluations/by-code", post(rate_by_code))
        .route("/api/v1/evaluations", get(list_evaluations))
        .route("/api/v1/evaluations/statistics", get(evaluation_statistics))
        .route("/api/v1/evaluations/{id}", get(get_evaluation))
        .route("/api/v1/evaluations/{id}/appeal", post(file_appeal))
        .route("/api/v1/cases/{id}/invitations", get(case_invitations))
        .route("/api/v1/rectifications", get(list_rectifications))
        .route("/api/v1/rectifications/{id}", get(get_rectification))
        .route("/api/v1/rectifications/{id}/steps", post(rectification_step))
        .route("/api/v1/appeals", get(list_appeals))
        .route("/api/v1/appeals/{id}/decision", post(decide_appeal))
        .route("/api/v1/assessments", get(assessment))
        .route("/api/v1/assessments.csv", get(assessment_csv))
}

/// The OpenAPI of evaluation.
#[derive(OpenApi)]
#[openapi(
    paths(
        rate_task,
        rate_case,
        invitation_by_code,
        rate_by_code,
        list_evaluations,
        get_evaluation,
        case_invitations,
        list_rectifications,
        get_rectification,
        rectification_step,
        file_appeal,
        decide_appeal,
        list_appeals,
        assessment,
        assessment_csv,
        evaluation_statistics,
    ),
    components(schemas(
        NewRating,
        ByCodeBody,
        EvaluationView,
        EvaluationPage,
        InvitationView,
        Matter,
        Tag,
        Channel,
        AppealView,
        AppealStatus,
        NewAppeal,
        AppealDecision,
        RectificationView,
        RectificationPage,
        RectificationStatus,
        RectificationAction,
        FixRating,
        Assignee,
        Assessment,
        AssessmentRow,
        AssessmentScope,
        Statistics,
        RatingCounts,
    )),
    tags((name = "evaluations", description = "评价（一事一评）、差评整改、申诉与考核（§8.2）/ ratings, rectification of bad reviews, appeals and the staff assessment")),
)]
pub struct Api;

// -----------------------------------------------------------------------------------------------------------
// Examples
// -----------------------------------------------------------------------------------------------------------

fn evaluation_example() -> serde_json::Value {
    serde_json::json!({
        "id": "0195f7a0-1b2c-7d3e-8f40-5a6b7c8d9e01",
        "matter": {"kind": "task", "task_id": "0195f3a0-7c1e-7b35-9a51-2f9c3c1d4e01"},
        "case_id": "0195f39f-1a2b-7c3d-8e4f-5a6b7c8d9e0f",
        "task_id": "0195f3a0-7c1e-7b35-9a51-2f9c3c1d4e01",
        "ledger_no": "BB-371625-2026-0042",
        "office": "371625",
        "item_name": "建设工程规划许可证核发",
        "unit_code": "371625-XZSP",
        "unit_office": "371625",
        "specialist_id": "staff-371625-assistant-1",
        "applicant_id": "0195f39e-0a1b-7c2d-8e3f-4a5b6c7d8e9f",
        "level": 5,
        "level_label": "非常满意",
        "comment": "窗口人员一次性告知了需要补正的材料，办理很快",
        "tags": ["efficiency", "attitude"],
        "channel": "platform",
        "entered_by": null,
        "submitted_at": "2026-03-20T02:00:00Z",
        "bad": false,
        "rectification_id": null,
        "appeal": null,
        "counts": true
    })
}

fn invitation_example() -> serde_json::Value {
    serde_json::json!({
        "id": "0195f79f-0a1b-7c2d-8e3f-4a5b6c7d8e01",
        "matter": {"kind": "task", "task_id": "0195f3a0-7c1e-7b35-9a51-2f9c3c1d4e01"},
        "case_id": "0195f39f-1a2b-7c3d-8e4f-5a6b7c8d9e0f",
        "ledger_no": "BB-371625-2026-0042",
        "office": "371625",
        "item_name": "建设工程规划许可证核发",
        "unit_name": "博兴县行政审批服务局",
        "invited_at": "2026-03-19T08:00:00Z",
        "rated_at": null,
        "evaluation_id": null
    })
}

fn rectification_example() -> serde_json::Value {
    serde_json::json!({
        "id": "0195f7b0-2c3d-7e4f-8a50-6b7c8d9e0f12",
        "evaluation_id": "0195f7a0-1b2c-7d3e-8f40-5a6b7c8d9e02",
        "case_id": "0195f39f-1a2b-7c3d-8e4f-5a6b7c8d9e0f",
        "task_id": "0195f3a0-7c1e-7b35-9a51-2f9c3c1d4e01",
        "item_name": "建设工程规划许可证核发",
        "level": 2,
        "comment": "补正材料来回跑了两次",
        "assignee": {"kind": "unit", "unit_code": "371625-XZSP", "unit_office": "371625"},
        "office": "371625",
        "status": "answered",
        "opened_at": "2026-03-20T02:00:00Z",
        "contact_due": "2026-03-23",
        "due": "2026-04-10",
        "contacted_at": "2026-03-20T06:00:00Z",
        "contact_note": "已电话联系服务对象，了解补正情况",
        "fix": "补正材料清单已在窗口公示并一次性告知",
        "answer": "已向服务对象说明并致歉，今后一次性告知补正要求",
        "answered_at": "2026-03-25T03:00:00Z",
        "fix_rating": null,
        "closed_at": null,
        "escalated_at": null,
        "escalation_reason": null,
        "on_time": true
    })
}

fn appeal_example() -> serde_json::Value {
    serde_json::json!({
        "id": "0195f7c0-3d4e-7f50-8a61-7c8d9e0f1a23",
        "evaluation_id": "0195f7a0-1b2c-7d3e-8f40-5a6b7c8d9e02",
        "filed_by": "staff-371625-assistant-1",
        "reason": "服务对象所述超期系其自身补正材料延迟所致，补正期间依法不计时",
        "evidence": ["补正通知书 2026-03-04 签收记录"],
        "status": "pending",
        "decided_by": null,
        "decision_note": null,
        "filed_at": "2026-03-21T02:00:00Z",
        "decided_at": null
    })
}

fn assessment_example() -> serde_json::Value {
    serde_json::json!({
        "by": "specialist", "from": "2026-01-01", "to": "2026-03-31",
        "rows": [{
            "key": "staff-371625-assistant-1", "ratings": 40, "satisfied": 39, "satisfaction_rate": 0.975,
            "average_level": 4.7, "bad_reviews": 1, "appeals_upheld": 0, "rectifications_answered": 1,
            "rectifications_on_time": 1, "rectification_on_time_rate": 1.0, "rectifications_escalated": 0,
            "items_concluded": 36, "items_on_time": 35, "on_time_rate": 0.9722, "average_working_days": 4.2
        }]
    })
}

const CSV_EXAMPLE: &str = "\u{feff}对象,评价数,满意数,满意率,平均等级,差评数,申诉成立数,整改答复数,按期整改数,按期整改率,逾期整改移送数,办结事项数,按时办结数,按时办结率,平均用时(工作日)\r\nstaff-371625-assistant-1,40,39,97.5%,4.70,1,0,1,1,100.0%,0,36,35,97.2%,4.2\r\n";

fn statistics_example() -> serde_json::Value {
    let counts = |key: &str| serde_json::json!({"key": key, "total": 40, "by_level": [0, 1, 2, 10, 27], "satisfaction_rate": 0.975});
    serde_json::json!({
        "total": counts(""),
        "by_category": [counts("industrial")],
        "by_stage": [counts("engineering_permit")],
        "by_office": [counts("371625")],
        "by_unit": [counts("371625-XZSP")],
        "by_month": [counts("2026-03")]
    })
}

// -----------------------------------------------------------------------------------------------------------
// Helpers
// -----------------------------------------------------------------------------------------------------------

fn unknown_code() -> Problem {
    Problem::not_found("评价码无效或已失效", "unknown or expired evaluation code")
}

/// Whatever evaluation answers about a code, the reply never carries the code back (nor a path that has it):
/// its 404 becomes ours.
fn code_problem(problem: Problem) -> Problem {
    if problem.status == StatusCode::NOT_FOUND.as_u16() {
        return unknown_code();
    }
    Problem { instance: None, ..problem }
}

/// A code that cannot be one (empty, too long, spaces or controls within) is not looked up; evaluation
/// trims the spaces around it.
fn plausible_code(code: &str) -> bool {
    let code = code.trim();
    (1..=128).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_graphic())
}

/// The channel and the actor of a rating by code: the SMS link without a token; a window terminal with the
/// token of a window's staff member (帮办员、代办员、机构管理员). Any other token is 403.
pub(crate) fn by_code_channel(principal: Option<&Principal>) -> Result<(Channel, Option<Actor>), Problem> {
    match principal {
        None => Ok((Channel::SmsLink, None)),
        Some(principal) => {
            authorize_role(principal, Action::RateAtWindow)?;
            Ok((Channel::Window, Some(actor(principal))))
        }
    }
}

/// 422 naming `office` for a code that is no office's.
fn known_office(office: Option<&str>) -> Result<(), Problem> {
    match office {
        Some(office) if !is_known_office(office) => Err(Problem::invalid_field(
            "office",
            format!("未知的机构代码 {office:?}"),
            format!("unknown office code {office:?}"),
        )),
        _ => Ok(()),
    }
}

/// 422 naming `to` when the period ends before it begins.
pub(crate) fn check_period(from: NaiveDate, to: NaiveDate) -> Result<(), Problem> {
    if from > to {
        return Err(Problem::invalid_field(
            "to",
            format!("截止日期 {to} 早于起始日期 {from}"),
            format!("{to} is before the start of the period, {from}"),
        ));
    }
    Ok(())
}

fn created(view: EvaluationView) -> Response {
    let location = format!("/api/v1/evaluations/{}", view.id);
    (StatusCode::CREATED, [(header::LOCATION, location)], Json(view)).into_response()
}

fn no_rating(id: Uuid) -> Problem {
    Problem::not_found(format!("评价 {id} 不存在"), format!("rating {id} does not exist"))
}

fn no_rectification(id: Uuid) -> Problem {
    Problem::not_found(format!("差评整改单 {id} 不存在"), format!("rectification {id} does not exist"))
}

async fn fetch_evaluation(state: &AppState, id: Uuid) -> Result<EvaluationView, Problem> {
    call(state, ops::GET, &GetEvaluation { id }).await.map_err(|p| if p.status == 404 { no_rating(id) } else { p })
}

/// The rectification and its rating, once `principal` may take `action` on it (404 out of reach, 403 within
/// reach for someone who may not act); for the applicant, their id.
async fn authorized_rectification(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
    action: Action,
) -> Result<(RectificationView, Option<Uuid>), Problem> {
    // A role that never takes the action is refused before anything is looked up.
    match (action, principal.role) {
        (Action::ReadRectifications, Role::Applicant) => {
            rating_applicant(principal, Action::RateRectification)?;
        }
        (Action::RateRectification, _) => {
            rating_applicant(principal, action)?;
        }
        _ => authorize_role(principal, action)?,
    }
    let rectification: RectificationView = call(state, ops::RECTIFICATION_GET, &GetRectification { id })
        .await
        .map_err(|p| if p.status == 404 { no_rectification(id) } else { p })?;
    let rating = fetch_evaluation(state, rectification.evaluation_id).await?;
    let applicant = authorize_rectification(principal, action, &rectification, &rating)
        .map_err(|p| if p.status == 404 { no_rectification(id) } else { p })?;
    Ok((rectification, applicant))
}

/// Decodes a rectification step. It is tagged by `action`, and serde may lose the field of an error inside
/// such an enum; a problem that names no field then names the one that is wrong, found by decoding the
/// step's variant alone.
pub(crate) fn decode_action(body: &[u8]) -> Result<RectificationAction, Problem> {
    let problem = match decode::<RectificationAction>(body) {
        Ok(action) => return Ok(action),
        Err(p) => p,
    };
    let named = problem.errors.first().map(|e| e.field.trim_start_matches('.').to_string()).unwrap_or_default();
    if problem.status != 422 || !named.is_empty() {
        return Err(problem);
    }
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Contact {
        action: String,
        note: String,
    }
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Answer {
        action: String,
        fix: String,
        answer: String,
    }
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Rate {
        action: String,
        rating: FixRating,
    }
    let action = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("action").and_then(|a| a.as_str()).map(str::to_string));
    let variant = match action.as_deref() {
        Some("contact") => decode::<Contact>(body).err(),
        Some("answer") => decode::<Answer>(body).err(),
        Some("rate") => decode::<Rate>(body).err(),
        _ => None,
    };
    Err(variant.filter(|p| p.errors.first().is_some_and(|e| !e.field.is_empty())).unwrap_or(problem))
}

// -----------------------------------------------------------------------------------------------------------
// The CSV of the assessment
// -----------------------------------------------------------------------------------------------------------

/// The header row of the assessment's CSV.
pub const CSV_HEADER: [&str; 15] = [
    "对象",
    "评价数",
    "满意数",
    "满意率",
    "平均等级",
    "差评数",
    "申诉成立数",
    "整改答复数",
    "按期整改数",
    "按期整改率",
    "逾期整改移送数",
    "办结事项数",
    "按时办结数",
    "按时办结率",
    "平均用时(工作日)",
];

/// One field per RFC 4180: quoted when it holds a comma, a quote, CR or LF (quotes doubled). A text that
/// a spreadsheet would take for a formula (`=`, `+`, `-`, `@`, tab, CR first) is prefixed with `'`.
pub(crate) fn csv_field(value: &str) -> Cow<'_, str> {
    let formula = value.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let value: Cow<'_, str> = if formula { Cow::Owned(format!("'{value}")) } else { Cow::Borrowed(value) };
    if value.contains([',', '"', '\r', '\n']) {
        Cow::Owned(format!("\"{}\"", value.replace('"', "\"\"")))
    } else {
        value
    }
}

/// A rate (0–1) as a percentage with one decimal (`97.5%`); empty when there is none.
pub(crate) fn percent(rate: Option<f64>) -> String {
    rate.filter(|r| r.is_finite()).map(|r| format!("{:.1}%", r * 100.0)).unwrap_or_default()
}

fn decimals(value: Option<f64>, places: usize) -> String {
    value.filter(|v| v.is_finite()).map(|v| format!("{v:.places$}")).unwrap_or_default()
}

/// The assessment as CSV for Excel: a UTF-8 byte-order mark, the Chinese header row, one row per
/// specialist, unit or office, CRLF line ends (RFC 4180).
pub fn assessment_to_csv(assessment: &Assessment) -> String {
    let mut out = String::from("\u{feff}");
    let mut line = |fields: &[&str]| {
        let fields: Vec<Cow<'_, str>> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&fields.join(","));
        out.push_str("\r\n");
    };
    line(&CSV_HEADER);
    for row in &assessment.rows {
        let AssessmentRow {
            key,
            ratings,
            satisfied,
            satisfaction_rate,
            average_level,
            bad_reviews,
            appeals_upheld,
            rectifications_answered,
            rectifications_on_time,
            rectification_on_time_rate,
            rectifications_escalated,
            items_concluded,
            items_on_time,
            on_time_rate,
            average_working_days,
        } = row;
        let cells = [
            key.clone(),
            ratings.to_string(),
            satisfied.to_string(),
            percent(*satisfaction_rate),
            decimals(*average_level, 2),
            bad_reviews.to_string(),
            appeals_upheld.to_string(),
            rectifications_answered.to_string(),
            rectifications_on_time.to_string(),
            percent(*rectification_on_time_rate),
            rectifications_escalated.to_string(),
            items_concluded.to_string(),
            items_on_time.to_string(),
            percent(*on_time_rate),
            decimals(*average_working_days, 1),
        ];
        let cells: Vec<&str> = cells.iter().map(String::as_str).collect();
        line(&cells);
    }
    out
}

fn scope_name(by: AssessmentScope) -> &'static str {
    match by {
        AssessmentScope::Specialist => "specialist",
        AssessmentScope::Unit => "unit",
        AssessmentScope::Office => "office",
    }
}

/// `assessment-<by>-<from>-<to>.csv`.
pub(crate) fn csv_filename(query: &AssessmentQuery) -> String {
    format!("assessment-{}-{}-{}.csv", scope_name(query.by), query.from, query.to)
}

// -----------------------------------------------------------------------------------------------------------
// Ratings
// -----------------------------------------------------------------------------------------------------------

async fn submit(
    state: &AppState,
    principal: &Principal,
    matter: Matter,
    rating: NewRating,
) -> Result<Response, Problem> {
    let applicant_id = rating_applicant(principal, Action::RateMatter)?;
    let req = SubmitRating { actor: actor(principal), applicant_id, matter, rating };
    Ok(created(call(state, ops::SUBMIT, &req).await?))
}

/// Rates one approval item (一事一评) in the applicant's own name: five levels (5 非常满意 … 1 非常不满意), a
/// comment of at most 500 characters and tags. Only an applicant's token, whose `applicant` claim is the
/// rater; evaluation checks that it is the case's applicant (403 otherwise) and that the item is concluded,
/// and answers 409 for a second rating. A bad review (levels 1–2) opens a rectification (差评整改).
#[utoipa::path(
    post, path = "/api/v1/tasks/{id}/evaluation", tag = "evaluations",
    params(("id" = Uuid, Path, description = "事项编号 / task id")),
    request_body(content = NewRating, description = "评价 / the rating", example = json!({
        "level": 5, "comment": "窗口人员一次性告知了需要补正的材料，办理很快", "tags": ["efficiency", "attitude"]
    })),
    responses(
        (status = 201, description = "已评价 / rated", body = EvaluationView, example = json!(evaluation_example())),
        (status = 400, description = "请求体或编号格式错误 / malformed body or id", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "只有本案的服务对象可以评价 / only the case's applicant rates", body = Problem),
        (status = 404, description = "事项不存在 / no such task", body = Problem),
        (status = 409, description = "已评价或尚不能评价 / already rated, or not yet to be rated", body = Problem),
        (status = 413, description = "请求体过大 / body too large", body = Problem),
        (status = 415, description = "须为 JSON / JSON required", body = Problem),
        (status = 422, description = "内容有误（指明字段，如 level 须为 1–5）/ invalid content, naming the field (level 1–5)", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(task.id = %id))]
pub async fn rate_task(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(rating): ApiJson<NewRating>,
) -> Result<Response, Problem> {
    let task_id = parse_id("事项", "task", &id)?;
    submit(&state, &principal, Matter::Task { task_id }, rating).await
}

/// Rates the whole service of a case (整体评价) in the applicant's own name; as for an item.
#[utoipa::path(
    post, path = "/api/v1/cases/{id}/evaluation", tag = "evaluations",
    params(("id" = Uuid, Path, description = "案件编号 / case id")),
    request_body(content = NewRating, description = "评价 / the rating", example = json!({
        "level": 4, "comment": "帮办员全程跟进，沟通及时", "tags": ["attitude", "convenience"]
    })),
    responses(
        (status = 201, description = "已评价 / rated", body = EvaluationView, example = json!(evaluation_example())),
        (status = 400, description = "请求体或编号格式错误 / malformed body or id", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "只有本案的服务对象可以评价 / only the case's applicant rates", body = Problem),
        (status = 404, description = "案件不存在 / no such case", body = Problem),
        (status = 409, description = "已评价或尚不能评价 / already rated, or not yet to be rated", body = Problem),
        (status = 413, description = "请求体过大 / body too large", body = Problem),
        (status = 415, description = "须为 JSON / JSON required", body = Problem),
        (status = 422, description = "内容有误（指明字段，如 level 须为 1–5）/ invalid content, naming the field (level 1–5)", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(case.id = %id))]
pub async fn rate_case(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(rating): ApiJson<NewRating>,
) -> Result<Response, Problem> {
    let case_id = parse_id("案件", "case", &id)?;
    submit(&state, &principal, Matter::Case { case_id }, rating).await
}

/// What a one-time evaluation code rates (评价邀请): the SMS link's page shows the item, the case's ledger
/// number and whether it is rated already. No bearer token: the code is the credential, so it is never
/// logged (the request span records the route template) and the reply is not cached. An unknown code is 404; a
/// spent code still shows its invitation, with `rated_at` set, so the page can say it is rated (rating with it
/// again is 409).
#[utoipa::path(
    get, path = "/api/v1/evaluations/invitations/{code}", tag = "evaluations",
    params(("code" = String, Path, description = "评价码（短信链接末段）/ the one-time code, from the link", example = "Kq7bX2mZr9Tf4Wc8")),
    responses(
        (status = 200, description = "评价邀请 / the invitation", body = InvitationView, example = json!(invitation_example())),
        (status = 404, description = "评价码无效 / unknown code", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn invitation_by_code(State(state): State<AppState>, Path(code): Path<String>) -> Result<Response, Problem> {
    if !plausible_code(&code) {
        return Err(unknown_code());
    }
    let view: InvitationView =
        call(&state, ops::INVITATION_BY_CODE, &CodeLookup { code }).await.map_err(code_problem)?;
    Ok(([(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))], Json(view)).into_response())
}

/// Rates with a one-time code (评价码): the SMS link's page without a token (channel `sms_link`), or a window
/// terminal (窗口评价器) with the token of the window's staff member (帮办员、代办员、机构管理员; channel
/// `window`, recorded as who entered it). Any other token is 403. A code rates once: a used code is 409, an
/// unknown one 404. The code is never logged.
#[utoipa::path(
    post, path = "/api/v1/evaluations/by-code", tag = "evaluations",
    request_body(content = ByCodeBody, description = "评价码与评价 / the code and the rating", example = json!({
        "code": "Kq7bX2mZr9Tf4Wc8", "level": 5, "comment": "办理很快", "tags": ["efficiency"]
    })),
    responses(
        (status = 201, description = "已评价 / rated", body = EvaluationView, example = json!(evaluation_example())),
        (status = 400, description = "请求体格式错误 / malformed body", body = Problem),
        (status = 401, description = "令牌无效 / invalid token", body = Problem),
        (status = 403, description = "该角色不能在窗口录入评价 / the role enters no ratings at a window", body = Problem),
        (status = 404, description = "评价码无效或已失效 / unknown or expired code", body = Problem),
        (status = 409, description = "已评价 / already rated", body = Problem),
        (status = 413, description = "请求体过大 / body too large", body = Problem),
        (status = 415, description = "须为 JSON / JSON required", body = Problem),
        (status = 422, description = "内容有误（指明字段，如 level 须为 1–5）/ invalid content, naming the field (level 1–5)", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security((), ("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(channel = tracing::field::Empty))]
pub async fn rate_by_code(
    State(state): State<AppState>,
    principal: Option<Principal>,
    ApiJson(body): ApiJson<ByCodeBody>,
) -> Result<Response, Problem> {
    let (channel, actor) = by_code_channel(principal.as_ref())?;
    tracing::Span::current().record("channel", channel.as_str());
    let ByCodeBody { code, level, comment, tags } = body;
    if !plausible_code(&code) {
        return Err(unknown_code());
    }
    let req = SubmitByCode { code, channel, actor, rating: NewRating { level, comment, tags } };
    let view: EvaluationView = call(&state, ops::SUBMIT_BY_CODE, &req).await.map_err(code_problem)?;
    Ok(created(view))
}

/// Ratings (评价), newest first, scoped by the gateway to whom they concern: an applicant sees their own; a
/// specialist (帮办员、代办员) the ratings of their cases; an officer their unit's; a county office's admins
/// and experts their office's (the cases it accepted and its units' items); the city office's and supervisors
/// everything, filtered as asked. Asking for someone else's is 403; integrators get 403. `limit` is 1–100
/// (default 20).
#[utoipa::path(
    get, path = "/api/v1/evaluations", tag = "evaluations",
    params(ListEvaluations),
    responses(
        (status = 200, description = "评价 / the ratings", body = EvaluationPage, example = json!({
            "items": [evaluation_example()], "total": 1, "limit": 20, "offset": 0
        })),
        (status = 400, description = "查询参数有误 / bad query", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "无权查看他人的评价或该角色无权查看 / not yours, or the role reads no ratings", body = Problem),
        (status = 422, description = "参数取值有误（指明字段）/ invalid value, naming the field", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn list_evaluations(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(filter): ApiQuery<ListEvaluations>,
) -> Result<Json<EvaluationPage>, Problem> {
    let mut filter = scope_evaluations(&principal, filter)?;
    known_office(filter.office.as_deref())?;
    filter.limit = Some(page_limit(filter.limit)?);
    filter.offset = Some(filter.offset.unwrap_or(0));
    Ok(Json(call(&state, ops::LIST, &filter).await?))
}

/// One rating, with its appeal. Read by whom it concerns, as in the list; anyone else gets 404.
#[utoipa::path(
    get, path = "/api/v1/evaluations/{id}", tag = "evaluations",
    params(("id" = Uuid, Path, description = "评价编号 / rating id")),
    responses(
        (status = 200, description = "评价 / the rating", body = EvaluationView, example = json!(evaluation_example())),
        (status = 400, description = "编号格式错误 / malformed id", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "该角色无权查看评价 / the role reads no ratings", body = Problem),
        (status = 404, description = "不存在或无权查看 / not found", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(evaluation.id = %id))]
pub async fn get_evaluation(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<EvaluationView>, Problem> {
    let id = parse_id("评价", "rating", &id)?;
    authorize_role(&principal, Action::ReadEvaluations)?;
    let rating = fetch_evaluation(&state, id).await?;
    authorize_evaluation(&principal, &rating).map_err(|p| if p.status == 404 { no_rating(id) } else { p })?;
    Ok(Json(rating))
}

/// A case's invitations to rate (评价邀请): one per concluded item and one for the whole service, with when
/// each was rated (never the codes). For the case's applicant and its office's staff (the city office's for
/// every case); anyone else who may not read the case gets 404.
#[utoipa::path(
    get, path = "/api/v1/cases/{id}/invitations", tag = "evaluations",
    params(("id" = Uuid, Path, description = "案件编号 / case id")),
    responses(
        (status = 200, description = "评价邀请 / the invitations", body = Vec<InvitationView>, example = json!([invitation_example()])),
        (status = 400, description = "编号格式错误 / malformed id", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "该角色无权查看 / the role may not read them", body = Problem),
        (status = 404, description = "案件不存在或无权查看 / no such case, or not yours", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(case.id = %id))]
pub async fn case_invitations(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Vec<InvitationView>>, Problem> {
    authorize_role(&principal, Action::ReadInvitations)?;
    let (case_id, _) = authorized_case(&state, &principal, &id, Action::ReadInvitations).await?;
    Ok(Json(call(&state, ops::INVITATION_LIST, &CaseInvitations { case_id }).await?))
}

// -----------------------------------------------------------------------------------------------------------
// Rectification of bad reviews (差评整改)
// -----------------------------------------------------------------------------------------------------------

/// Rectifications of bad reviews (差评整改单), scoped like the ratings: a specialist's own cases', an
/// officer's unit's, a county office's own, the city office's and supervisors' everything. Applicants and
/// integrators get 403. `limit` is 1–100 (default 20).
#[utoipa::path(
    get, path = "/api/v1/rectifications", tag = "evaluations",
    params(ListRectifications),
    responses(
        (status = 200, description = "差评整改单 / the rectifications", body = RectificationPage, example = json!({
            "items": [rectification_example()], "total": 1, "limit": 20, "offset": 0
        })),
        (status = 400, description = "查询参数有误 / bad query", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "无权查看或该角色无权查看 / not yours, or the role reads none", body = Problem),
        (status = 422, description = "参数取值有误（指明字段）/ invalid value, naming the field", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn list_rectifications(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(filter): ApiQuery<ListRectifications>,
) -> Result<Json<RectificationPage>, Problem> {
    let mut filter = scope_rectifications(&principal, filter)?;
    known_office(filter.office.as_deref())?;
    filter.limit = Some(page_limit(filter.limit)?);
    filter.offset = Some(filter.offset.unwrap_or(0));
    Ok(Json(call(&state, ops::RECTIFICATION_LIST, &filter).await?))
}

/// One rectification: for whoever reaches its rating (the applicant included, who rates the fix) and its
/// assignee; anyone else gets 404.
#[utoipa::path(
    get, path = "/api/v1/rectifications/{id}", tag = "evaluations",
    params(("id" = Uuid, Path, description = "整改单编号 / rectification id")),
    responses(
        (status = 200, description = "差评整改单 / the rectification", body = RectificationView, example = json!(rectification_example())),
        (status = 400, description = "编号格式错误 / malformed id", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "该角色无权查看 / the role reads none", body = Problem),
        (status = 404, description = "不存在或无权查看 / not found", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(rectification.id = %id))]
pub async fn get_rectification(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<RectificationView>, Problem> {
    let id = parse_id("整改单", "rectification", &id)?;
    let (rectification, _) = authorized_rectification(&state, &principal, id, Action::ReadRectifications).await?;
    Ok(Json(rectification))
}

/// A step of a rectification (整改步骤): `contact` (联系服务对象, within a working day) and `answer` (整改情况与
/// 答复) by the assignee — for a unit, its officers or the staff of its office; for a specialist, that
/// specialist or an admin of their office; `rate` (整改评价) by the rating's applicant, which closes it.
/// Others who see it get 403, anyone else 404; evaluation answers 409 for a step out of order.
#[utoipa::path(
    post, path = "/api/v1/rectifications/{id}/steps", tag = "evaluations",
    params(("id" = Uuid, Path, description = "整改单编号 / rectification id")),
    request_body(content = RectificationAction, description = "整改步骤 / the step", example = json!({
        "action": "answer", "fix": "补正材料清单已在窗口公示并一次性告知", "answer": "已向服务对象说明并致歉，今后一次性告知补正要求"
    })),
    responses(
        (status = 200, description = "整改单 / the rectification", body = RectificationView, example = json!(rectification_example())),
        (status = 400, description = "请求体或编号格式错误 / malformed body or id", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "可查看但无权办理此步骤 / may read it but not take this step", body = Problem),
        (status = 404, description = "不存在或无权查看 / not found", body = Problem),
        (status = 409, description = "当前状态不允许 / not in this state", body = Problem),
        (status = 413, description = "请求体过大 / body too large", body = Problem),
        (status = 415, description = "须为 JSON / JSON required", body = Problem),
        (status = 422, description = "内容有误（指明字段）/ invalid content, naming the field", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(rectification.id = %id))]
pub async fn rectification_step(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> Result<Json<RectificationView>, Problem> {
    let id = parse_id("整改单", "rectification", &id)?;
    let step = decode_action(&serde_json::to_vec(&body).unwrap_or_default())?;
    let action = match step {
        RectificationAction::Contact { .. } | RectificationAction::Answer { .. } => Action::WorkRectification,
        RectificationAction::Rate { .. } => Action::RateRectification,
    };
    let (_, applicant_id) = authorized_rectification(&state, &principal, id, action).await?;
    let req = RectificationStep { actor: actor(&principal), applicant_id, id, action: step };
    Ok(Json(call(&state, ops::RECTIFICATION_STEP, &req).await?))
}

// -----------------------------------------------------------------------------------------------------------
// Appeals (申诉)
// -----------------------------------------------------------------------------------------------------------

/// Appeals a rating (申诉) with the reason and what shows it (evidence): by the staff it concerns — the
/// case's specialist, the rated unit's officers, an office admin of the accepting office or of the unit's
/// office. An upheld appeal leaves the rating out of the assessment. Others who see the rating get 403,
/// anyone else 404; evaluation answers 409 for a rating already appealed.
#[utoipa::path(
    post, path = "/api/v1/evaluations/{id}/appeal", tag = "evaluations",
    params(("id" = Uuid, Path, description = "评价编号 / rating id")),
    request_body(content = NewAppeal, description = "申诉 / the appeal", example = json!({
        "reason": "服务对象所述超期系其自身补正材料延迟所致，补正期间依法不计时",
        "evidence": ["补正通知书 2026-03-04 签收记录"]
    })),
    responses(
        (status = 201, description = "已申诉 / filed", body = AppealView, example = json!(appeal_example())),
        (status = 400, description = "请求体或编号格式错误 / malformed body or id", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "无权申诉 / may not appeal it", body = Problem),
        (status = 404, description = "不存在或无权查看 / not found", body = Problem),
        (status = 409, description = "已申诉 / already appealed", body = Problem),
        (status = 413, description = "请求体过大 / body too large", body = Problem),
        (status = 415, description = "须为 JSON / JSON required", body = Problem),
        (status = 422, description = "内容有误（指明字段）/ invalid content, naming the field", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(evaluation.id = %id))]
pub async fn file_appeal(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(appeal): ApiJson<NewAppeal>,
) -> Result<Response, Problem> {
    let id = parse_id("评价", "rating", &id)?;
    authorize_role(&principal, Action::FileAppeal)?;
    let rating = fetch_evaluation(&state, id).await?;
    authorize_appeal(&principal, &rating).map_err(|p| if p.status == 404 { no_rating(id) } else { p })?;
    let req = FileAppeal { actor: actor(&principal), evaluation_id: id, appeal };
    let view: AppealView = call(&state, ops::APPEAL_FILE, &req).await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// Decides an appeal (申诉裁定): upheld (the rating leaves the assessment) or rejected, with a note. Office
/// admins only; evaluation checks that the appeal is their office's (the accepting office's or the unit's
/// office's, the city's for every case), that they neither filed it nor are the specialist it rates (回避:
/// nobody decides their own appeal — 403), and answers 409 for one decided already.
#[utoipa::path(
    post, path = "/api/v1/appeals/{id}/decision", tag = "evaluations",
    params(("id" = Uuid, Path, description = "申诉编号 / appeal id")),
    request_body(content = AppealDecision, description = "裁定 / the decision", example = json!({
        "upheld": true, "note": "经核实补正期间依法不计时，申诉成立"
    })),
    responses(
        (status = 200, description = "已裁定 / decided", body = AppealView, example = json!(appeal_example())),
        (status = 400, description = "请求体或编号格式错误 / malformed body or id", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "只有机构管理员可以裁定，且申诉人、被评价人须回避 / office admins only, never the appellant nor the rated specialist", body = Problem),
        (status = 404, description = "申诉不存在 / no such appeal", body = Problem),
        (status = 409, description = "已裁定 / decided already", body = Problem),
        (status = 413, description = "请求体过大 / body too large", body = Problem),
        (status = 415, description = "须为 JSON / JSON required", body = Problem),
        (status = 422, description = "内容有误（指明字段）/ invalid content, naming the field", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(appeal.id = %id))]
pub async fn decide_appeal(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(decision): ApiJson<AppealDecision>,
) -> Result<Json<AppealView>, Problem> {
    let id = parse_id("申诉", "appeal", &id)?;
    authorize_role(&principal, Action::DecideAppeal)?;
    let req = DecideAppeal { actor: actor(&principal), id, decision };
    Ok(Json(call(&state, ops::APPEAL_DECIDE, &req).await?))
}

/// Appeals (申诉), newest first: for office admins (a county's their own office's, asking for another is 403;
/// the city's every office's) and supervisors (every office's, or the one asked for).
#[utoipa::path(
    get, path = "/api/v1/appeals", tag = "evaluations",
    params(ListAppeals),
    responses(
        (status = 200, description = "申诉 / the appeals", body = Vec<AppealView>, example = json!([appeal_example()])),
        (status = 400, description = "查询参数有误 / bad query", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "无权查看该机构或该角色无权查看 / not your office, or the role reads none", body = Problem),
        (status = 422, description = "参数取值有误（指明字段）/ invalid value, naming the field", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn list_appeals(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(mut filter): ApiQuery<ListAppeals>,
) -> Result<Json<Vec<AppealView>>, Problem> {
    (filter.office, _) = scope_deadline(&principal, Action::ReadAppeals, ("申诉", "appeals"), filter.office, None)?;
    known_office(filter.office.as_deref())?;
    Ok(Json(call(&state, ops::APPEAL_LIST, &filter).await?))
}

// -----------------------------------------------------------------------------------------------------------
// Assessment (考核) and statistics
// -----------------------------------------------------------------------------------------------------------

/// The assessment query `principal` may run: office admins and supervisors; a county office admin's own office.
fn scoped_assessment(principal: &Principal, mut query: AssessmentQuery) -> Result<AssessmentQuery, Problem> {
    (query.office, _) =
        scope_deadline(principal, Action::ReadAssessment, ("考核数据", "assessment"), query.office, None)?;
    known_office(query.office.as_deref())?;
    check_period(query.from, query.to)?;
    Ok(query)
}

/// The staff assessment (考核 §8.2.1) over a period (`from`–`to`, days of China Standard Time, both
/// required), by specialist, unit or office: ratings that count, satisfaction rate, average level, bad
/// reviews, appeals upheld, rectifications answered on time and escalated, items concluded on time and their
/// average working days. Office admins and supervisors: a county office admin sees their own office (another
/// `office` is 403); the city office's admins and supervisors every office, or the one asked for.
#[utoipa::path(
    get, path = "/api/v1/assessments", tag = "evaluations",
    params(AssessmentQuery),
    responses(
        (status = 200, description = "考核 / the assessment", body = Assessment, example = json!(assessment_example())),
        (status = 400, description = "查询参数有误（缺少 from、to）/ bad query (from, to missing)", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "无权查看该机构或该角色无权查看 / not your office, or the role reads none", body = Problem),
        (status = 422, description = "参数取值有误（如 from 晚于 to）/ invalid value (from after to)", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn assessment(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<AssessmentQuery>,
) -> Result<Json<Assessment>, Problem> {
    let query = scoped_assessment(&principal, query)?;
    Ok(Json(call(&state, ops::ASSESSMENT, &query).await?))
}

/// The staff assessment as CSV for Excel (UTF-8 with a byte-order mark, RFC 4180, a Chinese header row, rates
/// as percentages with one decimal), downloaded as `assessment-<by>-<from>-<to>.csv`. Same query and access as
/// `GET /api/v1/assessments`.
#[utoipa::path(
    get, path = "/api/v1/assessments.csv", tag = "evaluations",
    params(AssessmentQuery),
    responses(
        (status = 200, description = "考核表（CSV）/ the assessment as CSV", body = String, content_type = "text/csv; charset=utf-8",
            headers(("Content-Disposition" = String, description = "attachment; filename=\"assessment-<by>-<from>-<to>.csv\"")),
            example = json!(CSV_EXAMPLE)),
        (status = 400, description = "查询参数有误（缺少 from、to）/ bad query (from, to missing)", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "无权查看该机构或该角色无权查看 / not your office, or the role reads none", body = Problem),
        (status = 422, description = "参数取值有误（如 from 晚于 to）/ invalid value (from after to)", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn assessment_csv(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<AssessmentQuery>,
) -> Result<Response, Problem> {
    let query = scoped_assessment(&principal, query)?;
    let assessment: Assessment = call(&state, ops::ASSESSMENT, &query).await?;
    let disposition = format!("attachment; filename=\"{}\"", csv_filename(&query));
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8")),
            (header::CONTENT_DISPOSITION, HeaderValue::from_str(&disposition).map_err(|_| Problem::internal())?),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        assessment_to_csv(&assessment),
    )
        .into_response())
}

/// Rating statistics (评价统计) of the ratings that count (appeals upheld left out): in total and by project
/// category, stage, office, unit and month, each by level with the satisfaction rate. `from` and `to` are
/// optional (days of China Standard Time). Office admins (a county's own office) and supervisors.
#[utoipa::path(
    get, path = "/api/v1/evaluations/statistics", tag = "evaluations",
    params(StatisticsQuery),
    responses(
        (status = 200, description = "评价统计 / the statistics", body = Statistics, example = json!(statistics_example())),
        (status = 400, description = "查询参数有误 / bad query", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "无权查看该机构或该角色无权查看 / not your office, or the role reads none", body = Problem),
        (status = 422, description = "参数取值有误（如 from 晚于 to）/ invalid value (from after to)", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn evaluation_statistics(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(mut query): ApiQuery<StatisticsQuery>,
) -> Result<Json<Statistics>, Problem> {
    (query.office, _) =
        scope_deadline(&principal, Action::ReadAssessment, ("评价统计", "rating statistics"), query.office, None)?;
    known_office(query.office.as_deref())?;
    if let (Some(from), Some(to)) = (query.from, query.to) {
        check_period(from, to)?;
    }
    Ok(Json(call(&state, ops::STATISTICS, &query).await?))
}

#[cfg(test)]
mod tests {
    use bangban_platform::auth::Role;

    use super::*;

    fn who(sub: &str, role: Role, office: &str) -> Principal {
        Principal { sub: sub.into(), role, office: office.into(), unit: None, applicant: None }
    }

    #[test]
    fn the_sms_link_rates_without_a_token_and_a_window_with_its_staff() {
        assert_eq!(by_code_channel(None).unwrap(), (Channel::SmsLink, None));
        for role in [Role::Assistant, Role::Agent, Role::OfficeAdmin] {
            let (channel, actor) = by_code_channel(Some(&who("w-1", role, "371625"))).unwrap();
            assert_eq!(channel, Channel::Window, "{role:?}");
            let actor = actor.unwrap();
            assert_eq!(
                (actor.sub.as_str(), actor.role.as_str(), actor.office.as_str()),
                ("w-1", role.as_str(), "371625")
            );
        }
        for role in [Role::Applicant, Role::Officer, Role::Integrator, Role::Supervisor, Role::Expert] {
            assert_eq!(by_code_channel(Some(&who("x", role, "371625"))).unwrap_err().status, 403, "{role:?}");
        }
    }

    #[test]
    fn a_wrong_level_is_422_naming_level() {
        for body in
            [r#"{"level":0}"#, r#"{"level":6}"#, r#"{"level":"x"}"#, r#"{"level":-1}"#, r#"{"level":4.5}"#, "{}"]
        {
            let p = decode::<NewRating>(body.as_bytes()).unwrap_err();
            assert_eq!((p.status, p.errors[0].field.as_str()), (422, "level"), "{body}: {p}");
            let by_code = body.replacen('{', r#"{"code":"Kq7bX2mZr9Tf4Wc8""#, 1).replace(r#"8""#, r#"8","#);
            let by_code = by_code.replace(",}", "}");
            let p = decode::<ByCodeBody>(by_code.as_bytes()).unwrap_err();
            assert_eq!((p.status, p.errors[0].field.as_str()), (422, "level"), "{by_code}: {p}");
        }
        let p = decode::<NewRating>(br#"{"level":5,"tags":["speed"]}"#).unwrap_err();
        assert_eq!((p.status, p.errors[0].field.as_str()), (422, "tags[0]"), "{p}");
        assert_eq!(decode::<NewRating>(br#"{"level":5,"#).unwrap_err().status, 400);
        let ok = decode::<NewRating>(r#"{"level":2,"comment":"慢","tags":["efficiency"]}"#.as_bytes()).unwrap();
        assert_eq!(ok.tags, [Tag::Efficiency]);
    }

    #[test]
    fn a_wrong_step_names_its_field() {
        let field = |body: &str| {
            let p = decode_action(body.as_bytes()).unwrap_err();
            (p.status, p.errors.first().map(|e| e.field.clone()).unwrap_or_default())
        };
        assert_eq!(field(r#"{"action":"rate","rating":"great"}"#), (422, "rating".into()));
        assert_eq!(field(r#"{"action":"answer","fix":"x"}"#), (422, "answer".into()));
        assert_eq!(field(r#"{"action":"contact"}"#), (422, "note".into()));
        assert_eq!(field(r#"{"action":"contact","note":"x","extra":1}"#), (422, "extra".into()));
        assert_eq!(field(r#"{"action":"close"}"#).0, 422);
        assert_eq!(field(r#"{"note":"x"}"#), (422, "action".into()));
        assert_eq!(field(r#"{"action":"#).0, 400);
        let step = decode_action(br#"{"action":"rate","rating":"basically_satisfied"}"#).unwrap();
        assert_eq!(step, RectificationAction::Rate { rating: FixRating::BasicallySatisfied });
    }

    #[test]
    fn codes_that_cannot_be_codes_are_not_looked_up() {
        assert!(plausible_code("Kq7bX2mZr9Tf4Wc8"));
        assert!(plausible_code(" Kq7bX2mZr9Tf4Wc8 "));
        for wrong in ["", "   ", "Kq7b X2mZ", "a\u{7}b", &"x".repeat(129)] {
            assert!(!plausible_code(wrong), "{wrong:?}");
        }
        // The service's 404 never carries the code back.
        let theirs = Problem::not_found("评价码 Kq7bX2mZr9Tf4Wc8 不存在", "code Kq7bX2mZr9Tf4Wc8 not found")
            .with_instance("/api/v1/evaluations/invitations/Kq7bX2mZr9Tf4Wc8");
        let ours = code_problem(theirs);
        assert_eq!(ours.status, 404);
        assert!(!serde_json::to_string(&ours).unwrap().contains("Kq7bX2mZr9Tf4Wc8"));
        let conflict = code_problem(Problem::conflict("已评价", "rated").with_instance("/x/Kq7b"));
        assert_eq!((conflict.status, conflict.instance), (409, None));
    }

    #[test]
    fn periods_end_after_they_begin() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert!(check_period(d("2026-01-01"), d("2026-01-01")).is_ok());
        assert!(check_period(d("2026-01-01"), d("2026-03-31")).is_ok());
        let p = check_period(d("2026-03-31"), d("2026-01-01")).unwrap_err();
        assert_eq!((p.status, p.errors[0].field.as_str()), (422, "to"));
    }

    #[test]
    fn csv_fields_are_escaped_per_rfc_4180_and_never_formulas() {
        assert_eq!(csv_field("staff-1"), "staff-1");
        assert_eq!(csv_field("博兴县"), "博兴县");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_field("cr\rhere"), "\"cr\rhere\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("+1"), "'+1");
        assert_eq!(csv_field("-1"), "'-1");
        assert_eq!(csv_field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_field(""), "");
    }

    #[test]
    fn rates_are_percentages_with_one_decimal() {
        assert_eq!(percent(Some(0.975)), "97.5%");
        assert_eq!(percent(Some(1.0)), "100.0%");
        assert_eq!(percent(Some(0.0)), "0.0%");
        assert_eq!(percent(Some(2.0 / 3.0)), "66.7%");
        assert_eq!(percent(None), "");
        assert_eq!(percent(Some(f64::NAN)), "");
    }

    #[test]
    fn the_assessment_is_a_csv_for_excel() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let assessment = Assessment {
            by: AssessmentScope::Unit,
            from: d("2026-01-01"),
            to: d("2026-03-31"),
            rows: vec![
                AssessmentRow {
                    key: "371625-XZSP".into(),
                    ratings: 40,
                    satisfied: 39,
                    satisfaction_rate: Some(0.975),
                    average_level: Some(4.7),
                    bad_reviews: 1,
                    rectifications_answered: 1,
                    rectifications_on_time: 1,
                    rectification_on_time_rate: Some(1.0),
                    items_concluded: 36,
                    items_on_time: 35,
                    on_time_rate: Some(35.0 / 36.0),
                    average_working_days: Some(4.25),
                    ..Default::default()
                },
                AssessmentRow { key: "unit, \"quoted\"".into(), ..Default::default() },
            ],
        };
        let csv = assessment_to_csv(&assessment);
        assert!(csv.starts_with('\u{feff}'), "a byte-order mark for Excel");
        let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').split("\r\n").collect();
        assert_eq!(lines.len(), 4, "header, two rows, and the final CRLF: {lines:?}");
        assert_eq!(lines[0], CSV_HEADER.join(","));
        assert_eq!(lines[1], "371625-XZSP,40,39,97.5%,4.70,1,0,1,1,100.0%,0,36,35,97.2%,4.2");
        assert_eq!(lines[2], "\"unit, \"\"quoted\"\"\",0,0,,,0,0,0,0,,0,0,0,,");
        assert_eq!(lines[3], "");
        assert_eq!(lines[0].split(',').count(), 15);
        // The documented example is what the writer writes.
        let example =
            Assessment { by: AssessmentScope::Specialist, ..serde_json::from_value(assessment_example()).unwrap() };
        assert_eq!(assessment_to_csv(&example), CSV_EXAMPLE);
        let query =
            AssessmentQuery { by: AssessmentScope::Unit, office: None, from: d("2026-01-01"), to: d("2026-03-31") };
        assert_eq!(csv_filename(&query), "assessment-unit-2026-01-01-2026-03-31.csv");
    }

    #[test]
    fn the_examples_are_the_contract_s_types() {
        serde_json::from_value::<EvaluationView>(evaluation_example()).unwrap();
        serde_json::from_value::<InvitationView>(invitation_example()).unwrap();
        serde_json::from_value::<RectificationView>(rectification_example()).unwrap();
        serde_json::from_value::<AppealView>(appeal_example()).unwrap();
        serde_json::from_value::<Assessment>(assessment_example()).unwrap();
        serde_json::from_value::<Statistics>(statistics_example()).unwrap();
    }

    #[test]
    fn the_document_describes_evaluation() {
        let doc = serde_json::to_value(crate::openapi::document()).unwrap();
        let paths = &doc["paths"];
        let query = |op: &serde_json::Value| -> Vec<String> {
            op["parameters"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .filter(|p| p["in"] == "query")
                        .filter_map(|p| p["name"].as_str())
                        .map(Into::into)
                        .collect()
                })
                .unwrap_or_default()
        };
        let routes: [(&str, &str, &[&str]); 16] = [
            ("/api/v1/tasks/{id}/evaluation", "post", &[]),
            ("/api/v1/cases/{id}/evaluation", "post", &[]),
            ("/api/v1/evaluations/invitations/{code}", "get", &[]),
            ("/api/v1/evaluations/by-code", "post", &[]),
            (
                "/api/v1/evaluations",
                "get",
                &["office", "unit", "specialist", "applicant_id", "case_id", "bad", "limit", "offset"],
            ),
            ("/api/v1/evaluations/{id}", "get", &[]),
            ("/api/v1/cases/{id}/invitations", "get", &[]),
            (
                "/api/v1/rectifications",
                "get",
                &["office", "unit", "specialist", "status", "escalated", "limit", "offset"],
            ),
            ("/api/v1/rectifications/{id}", "get", &[]),
            ("/api/v1/rectifications/{id}/steps", "post", &[]),
            ("/api/v1/evaluations/{id}/appeal", "post", &[]),
            ("/api/v1/appeals/{id}/decision", "post", &[]),
            ("/api/v1/appeals", "get", &["office", "status"]),
            ("/api/v1/assessments", "get", &["by", "office", "from", "to"]),
            ("/api/v1/assessments.csv", "get", &["by", "office", "from", "to"]),
            ("/api/v1/evaluations/statistics", "get", &["office", "from", "to"]),
        ];
        for (path, method, params) in routes {
            let op = &paths[path][method];
            assert!(op.is_object(), "{method} {path} is not documented");
            assert_eq!(op["tags"][0], "evaluations", "{path}");
            for code in ["404", "503"] {
                let documented = op["responses"][code].is_object();
                assert!(documented || code == "404" && op["responses"]["403"].is_object(), "{method} {path} {code}");
            }
            if method == "post" {
                assert!(op["requestBody"]["content"]["application/json"]["example"].is_object(), "{path}");
                assert!(op["responses"]["422"].is_object(), "{path} documents 422");
            }
            let ok = ["200", "201"].iter().map(|c| &op["responses"][*c]).find(|r| r.is_object()).unwrap();
            let content = ok["content"].as_object().unwrap();
            assert!(content.values().all(|c| !c["example"].is_null()), "{method} {path}: an example");
            assert_eq!(query(op), params, "{method} {path}");
        }
        // The SMS link's page has no token; the window's terminal may send one.
        assert!(paths["/api/v1/evaluations/invitations/{code}"]["get"]["security"].is_null());
        assert_eq!(paths["/api/v1/evaluations/by-code"]["post"]["security"], serde_json::json!([{}, {"bearer": []}]));
        assert_eq!(paths["/api/v1/evaluations"]["get"]["security"][0]["bearer"], serde_json::json!([]));
        let csv = &paths["/api/v1/assessments.csv"]["get"]["responses"]["200"];
        assert!(csv["content"]["text/csv; charset=utf-8"].is_object(), "{csv}");
        assert!(csv["headers"]["Content-Disposition"].is_object(), "{csv}");
        let schemas = &doc["components"]["schemas"];
        for name in ["NewRating", "ByCodeBody", "EvaluationView", "RectificationAction", "Assessment", "Statistics"] {
            assert!(schemas[name].is_object(), "{name} missing");
        }
    }
    /// Every field of every span and event, as `name=value`: to show what telemetry would record.
    #[derive(Clone, Default)]
    struct Capture {
        fields: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
        next: std::sync::Arc<std::sync::atomic::AtomicU64>,
    }

    impl tracing::field::Visit for Capture {
        fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
            self.fields.lock().unwrap().push(format!("{}={value:?}", field.name()));
        }
    }

    impl tracing::Subscriber for Capture {
        /// Ours and the platform's, at every level. The NATS client traces whole messages at TRACE (the
        /// platform's log filters keep `async_nats` at `warn`).
        fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
            !metadata.target().starts_with("async_nats")
        }
        fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
            span.record(&mut self.clone());
            tracing::span::Id::from_u64(self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1)
        }
        fn record(&self, _: &tracing::span::Id, values: &tracing::span::Record<'_>) {
            values.record(&mut self.clone());
        }
        fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
        fn event(&self, event: &tracing::Event<'_>) {
            event.record(&mut self.clone());
        }
        fn enter(&self, _: &tracing::span::Id) {}
        fn exit(&self, _: &tracing::span::Id) {}
    }

    /// The routes against a stand-in evaluation service on a real nats-server: what the gateway forwards
    /// (channels and actors, applicants from the token, scoped lists), what it refuses before asking, the
    /// CSV, and that the one-time code appears in no span or log.
    #[tokio::test]
    async fn the_routes_forward_what_the_token_allows() {
        use std::sync::{Arc, Mutex};

        use axum::{body::Body, http::Request};
        use bangban_platform::{health::Readiness, rpc};
        use futures::StreamExt;
        use serde_json::{Value, json};
        use tower::ServiceExt;

        const CODE: &str = "Kq7bX2mZr9Tf4Wc8";
        let capture = Capture::default();
        let _guard = tracing::subscriber::set_default(capture.clone());

        let nats = bangban_testkit::NatsServer::start().await.expect("nats-server");
        let client = nats.client().await.expect("client");
        let settings = bangban_platform::Settings {
            data_dir: std::env::temp_dir().join(format!("bangban-gateway-evaluations-{}", Uuid::now_v7())),
            ..Default::default()
        };
        std::fs::create_dir_all(&settings.data_dir).expect("data dir");
        let state = crate::state(&settings, client.clone()).expect("state");
        let auth = state.auth.clone();
        let app = crate::router(state, Readiness { nats: client.clone(), databases: vec![] });

        // The stand-in: records each request; knows one code, one rating, one assessment.
        let seen: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
        let mut requests = client.subscribe("bb.svc.evaluation.>").await.expect("subscribe");
        client.flush().await.expect("flush");
        let (replier, log) = (client.clone(), seen.clone());
        tokio::spawn(async move {
            while let Some(msg) = requests.next().await {
                let op = msg.subject.as_str().trim_start_matches("bb.svc.evaluation.").to_string();
                let req: Value = serde_json::from_slice(&msg.payload).expect("json");
                log.lock().unwrap().push((op.clone(), req.clone()));
                let reply = msg.reply.expect("a request");
                let known = req["code"].as_str().is_none_or(|c| c == CODE);
                let body = match op.as_str() {
                    "invitation.by_code" if known => Ok(invitation_example()),
                    "evaluation.submit" | "evaluation.submit_by_code" | "evaluation.get" if known => {
                        Ok(evaluation_example())
                    }
                    "evaluation.list" => Ok(json!({"items": [], "total": 0, "limit": req["limit"], "offset": 0})),
                    "assessment.get" => Ok(assessment_example()),
                    _ => Err(Problem::not_found(format!("没有 {}", req["code"]), format!("no {}", req["code"]))),
                };
                match body {
                    Ok(body) => replier.publish(reply, serde_json::to_vec(&body).unwrap().into()).await.unwrap(),
                    Err(problem) => {
                        let mut h = async_nats::HeaderMap::new();
                        h.insert(rpc::SERVICE_ERROR, "Not Found");
                        h.insert(rpc::SERVICE_ERROR_CODE, "404");
                        let body = serde_json::to_vec(&problem).unwrap().into();
                        replier.publish_with_headers(reply, h, body).await.unwrap()
                    }
                }
            }
        });

        let token = |sub: &str, role, office: &str, unit: Option<&str>, applicant: Option<&str>| {
            auth.issue(
                sub,
                role,
                office,
                unit.map(Into::into),
                applicant.map(Into::into),
                std::time::Duration::from_secs(600),
            )
            .expect("token")
        };
        let send = |req: Request<Body>| {
            let app = app.clone();
            async move {
                let res = app.oneshot(req).await.expect("response");
                let status = res.status().as_u16();
                let headers = res.headers().clone();
                let bytes = axum::body::to_bytes(res.into_body(), usize::MAX).await.expect("body");
                (status, headers, bytes)
            }
        };
        let json_of = |bytes: &[u8]| serde_json::from_slice::<Value>(bytes).unwrap_or(Value::Null);
        let get = |uri: &str, token: Option<&str>| {
            let mut req = Request::get(uri);
            if let Some(token) = token {
                req = req.header("authorization", format!("Bearer {token}"));
            }
            req.body(Body::empty()).unwrap()
        };
        let post = |uri: &str, token: Option<&str>, body: Value| {
            let mut req = Request::post(uri).header("content-type", "application/json");
            if let Some(token) = token {
                req = req.header("authorization", format!("Bearer {token}"));
            }
            req.body(Body::from(body.to_string())).unwrap()
        };
        let last = || seen.lock().unwrap().last().cloned().unwrap();
        let count = || seen.lock().unwrap().len();

        let applicant_id = "0195f39e-0a1b-7c2d-8e3f-4a5b6c7d8e9f";
        let applicant = token("app-1", Role::Applicant, "371625", None, Some(applicant_id));
        let assistant = token("staff-371625-assistant-1", Role::Assistant, "371625", None, None);
        let officer = token("officer-1", Role::Officer, "371625", Some("371625-XZSP"), None);
        let supervisor = token("sup-1", Role::Supervisor, "371600", None, None);
        let integrator = token("int-1", Role::Integrator, "371600", None, None);
        let county_admin = token("admin-1", Role::OfficeAdmin, "371625", None, None);
        let rating = json!({"level": 5, "comment": "办理很快", "tags": ["efficiency"]});

        // The SMS link's page: no token, the invitation, not cached; an unknown code is ours, not echoed.
        let (status, headers, body) = send(get(&format!("/api/v1/evaluations/invitations/{CODE}"), None)).await;
        assert_eq!(status, 200, "{}", json_of(&body));
        assert_eq!(headers["cache-control"], "no-store");
        assert_eq!(json_of(&body)["ledger_no"], "BB-371625-2026-0042");
        assert_eq!(last(), ("invitation.by_code".into(), json!({"code": CODE})));
        let (status, _, body) = send(get("/api/v1/evaluations/invitations/Zz9yX8wV7uT6sR5q", None)).await;
        assert_eq!(status, 404);
        assert!(!String::from_utf8_lossy(&body).contains("Zz9yX8wV7uT6sR5q"), "{}", json_of(&body));

        // By code without a token: the SMS link, no actor.
        let by_code = json!({"code": CODE, "level": 5, "comment": "办理很快", "tags": ["efficiency"]});
        let (status, headers, body) = send(post("/api/v1/evaluations/by-code", None, by_code.clone())).await;
        assert_eq!(status, 201, "{}", json_of(&body));
        assert_eq!(headers["location"], "/api/v1/evaluations/0195f7a0-1b2c-7d3e-8f40-5a6b7c8d9e01");
        let (op, req) = last();
        assert_eq!(op, "evaluation.submit_by_code");
        assert_eq!(
            req,
            json!({"code": CODE, "channel": "sms_link", "actor": null,
                   "rating": {"level": 5, "comment": "办理很快", "tags": ["efficiency"]}})
        );
        // At a window terminal: the staff member is the actor.
        assert_eq!(send(post("/api/v1/evaluations/by-code", Some(&assistant), by_code.clone())).await.0, 201);
        let (_, req) = last();
        assert_eq!(req["channel"], "window");
        assert_eq!(req["actor"], json!({"sub": "staff-371625-assistant-1", "role": "assistant", "office": "371625"}));
        // Other tokens, a bad token, a wrong level: refused before anything is asked.
        let before = count();
        for other in [&applicant, &officer, &supervisor, &integrator] {
            assert_eq!(send(post("/api/v1/evaluations/by-code", Some(other), by_code.clone())).await.0, 403);
        }
        assert_eq!(send(post("/api/v1/evaluations/by-code", Some("not-a-token"), by_code.clone())).await.0, 401);
        for level in [json!(0), json!(6), json!("x")] {
            let body = json!({"code": CODE, "level": level});
            let (status, _, problem) = send(post("/api/v1/evaluations/by-code", None, body)).await;
            let problem = json_of(&problem);
            assert_eq!((status, &problem["errors"][0]["field"]), (422, &json!("level")), "{problem}");
        }
        assert_eq!(count(), before, "nothing forwarded");

        // Rating an item: the applicant, whose id comes from the token; nobody else.
        let task = "0195f3a0-7c1e-7b35-9a51-2f9c3c1d4e01";
        let uri = format!("/api/v1/tasks/{task}/evaluation");
        assert_eq!(send(post(&uri, Some(&applicant), rating.clone())).await.0, 201);
        let (op, req) = last();
        assert_eq!(op, "evaluation.submit");
        assert_eq!(req["applicant_id"], applicant_id);
        assert_eq!(req["matter"], json!({"kind": "task", "task_id": task}));
        assert_eq!(req["actor"]["role"], "applicant");
        let case_uri = "/api/v1/cases/0195f39f-1a2b-7c3d-8e4f-5a6b7c8d9e0f/evaluation";
        assert_eq!(send(post(case_uri, Some(&applicant), rating.clone())).await.0, 201);
        assert_eq!(last().1["matter"]["kind"], "case");
        let before = count();
        for other in [&assistant, &officer, &county_admin, &supervisor, &integrator] {
            assert_eq!(send(post(&uri, Some(other), rating.clone())).await.0, 403);
        }
        let (status, _, problem) = send(post(&uri, Some(&applicant), json!({"level": 6}))).await;
        assert_eq!((status, json_of(&problem)["errors"][0]["field"].clone()), (422, json!("level")));
        assert_eq!(send(post("/api/v1/tasks/nope/evaluation", Some(&applicant), rating.clone())).await.0, 400);
        assert_eq!(count(), before, "nothing forwarded");

        // Lists: narrowed by the token.
        assert_eq!(send(get("/api/v1/evaluations?office=371621", Some(&assistant))).await.0, 200);
        let (op, req) = last();
        assert_eq!(op, "evaluation.list");
        assert_eq!(
            (&req["specialist"], &req["office"], &req["limit"]),
            (&json!("staff-371625-assistant-1"), &json!("371621"), &json!(20))
        );
        assert_eq!(send(get("/api/v1/evaluations", Some(&applicant))).await.0, 200);
        assert_eq!(last().1["applicant_id"], applicant_id);
        let before = count();
        assert_eq!(send(get("/api/v1/evaluations", Some(&integrator))).await.0, 403);
        assert_eq!(send(get("/api/v1/evaluations?office=371621", Some(&county_admin))).await.0, 403);
        let (status, _, problem) = send(get("/api/v1/evaluations?limit=101", Some(&supervisor))).await;
        assert_eq!((status, json_of(&problem)["errors"][0]["field"].clone()), (400, json!("limit")));
        assert_eq!(count(), before, "nothing forwarded");

        // One rating: those it concerns; anyone else learns nothing.
        let one = "/api/v1/evaluations/0195f7a0-1b2c-7d3e-8f40-5a6b7c8d9e01";
        assert_eq!(send(get(one, Some(&assistant))).await.0, 200);
        assert_eq!(send(get(one, Some(&officer))).await.0, 200);
        let colleague = token("staff-371625-assistant-2", Role::Assistant, "371625", None, None);
        assert_eq!(send(get(one, Some(&colleague))).await.0, 404);
        let other_county = token("admin-2", Role::OfficeAdmin, "371621", None, None);
        assert_eq!(send(get(one, Some(&other_county))).await.0, 404);

        // The assessment as CSV: Excel's BOM, the header row, the file name; the period checked first.
        let csv = "/api/v1/assessments.csv?by=specialist&from=2026-01-01&to=2026-03-31";
        let (status, headers, body) = send(get(csv, Some(&county_admin))).await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        assert_eq!(headers["content-type"], "text/csv; charset=utf-8");
        assert_eq!(
            headers["content-disposition"],
            "attachment; filename=\"assessment-specialist-2026-01-01-2026-03-31.csv\""
        );
        assert!(body.starts_with("\u{feff}对象,评价数".as_bytes()));
        assert_eq!(String::from_utf8(body.to_vec()).unwrap(), CSV_EXAMPLE);
        assert_eq!(last().1["office"], "371625", "a county admin's own office");
        let before = count();
        assert_eq!(send(get(csv, Some(&assistant))).await.0, 403);
        assert_eq!(send(get(&format!("{csv}&office=371621"), Some(&county_admin))).await.0, 403);
        let backwards = "/api/v1/assessments?from=2026-03-31&to=2026-01-01";
        let (status, _, problem) = send(get(backwards, Some(&supervisor))).await;
        assert_eq!((status, json_of(&problem)["errors"][0]["field"].clone()), (422, json!("to")));
        assert_eq!(send(get("/api/v1/assessments?from=2026-03-31", Some(&supervisor))).await.0, 400);
        assert_eq!(count(), before, "nothing forwarded");
        assert_eq!(send(get("/api/v1/assessments?from=2026-01-01&to=2026-03-31", Some(&supervisor))).await.0, 200);
        assert_eq!(last().1["office"], Value::Null);

        // The code appears in no span and no log line; the invitation's span names the route.
        let fields = capture.fields.lock().unwrap().clone();
        assert!(
            fields.iter().any(|f| f == "url.path=/api/v1/evaluations/invitations/{code}"),
            "the route recorded: {fields:?}"
        );
        let leaked: Vec<&String> =
            fields.iter().filter(|f| f.contains(CODE) || f.contains("Zz9yX8wV7uT6sR5q")).collect();
        assert!(leaked.is_empty(), "{leaked:?}");
        let _ = std::fs::remove_dir_all(&settings.data_dir);
    }
}
