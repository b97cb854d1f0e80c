//! Ratings (评价, 一事一评): the applicant rates an item or the whole service in their own name; ratings are
//! read by whom they concern.

use axum::{
    Json,
    extract::{Path, State},
    response::Response,
};
use bangban_contracts::evaluation::{
    EvaluationPage, EvaluationView, ListEvaluations, Matter, NewRating, SubmitRating, ops,
};
use bangban_platform::problem::Problem;

use crate::{
    AppState,
    auth::Principal,
    authz::{Action, authorize_evaluation, authorize_role, rating_applicant, scope_evaluations},
    extract::{ApiJson, ApiQuery},
    handlers::{cases::actor, load::parse_id, notifications::page_limit},
};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{created, fetch_evaluation, known_office, no_rating};

/// The routes of ratings.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(rate_task))
        .routes(routes!(rate_case))
        .routes(routes!(list_evaluations))
        .routes(routes!(get_evaluation))
}

pub(super) fn evaluation_example() -> serde_json::Value {
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

async fn submit(
    state: &AppState,
    principal: &Principal,
    matter: Matter,
    rating: NewRating,
) -> Result<Response, Problem> {
    let applicant_id = rating_applicant(principal, Action::RateMatter)?;
    let req = SubmitRating { actor: actor(principal), applicant_id, matter, rating };
    Ok(created(state.call::<ops::Submit>(&req).await?))
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
    Ok(Json(state.call::<ops::List>(&filter).await?))
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

#[cfg(test)]
mod tests {
    use bangban_contracts::evaluation::{ByCodeBody, Tag};

    use super::*;
    use crate::extract::decode;

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
}
