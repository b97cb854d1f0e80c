//! Invitations to rate (评价邀请) and one-time codes (评价码): the SMS link's page and the window terminal rate
//! with a code, never logged; a case's invitations are listed without their codes.

use axum::{
    Json,
    extract::{Path, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use bangban_contracts::{
    evaluation::{
        ByCodeBody, CaseInvitations, Channel, CodeLookup, EvaluationView, InvitationView, NewRating, SubmitByCode, ops,
    },
    intake::Actor,
};
use bangban_platform::problem::Problem;

use crate::{
    AppState,
    auth::Principal,
    authz::{Action, authorize_role},
    extract::ApiJson,
    handlers::{
        cases::actor,
        load::{self, RoleCheck},
    },
};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{created, ratings::evaluation_example};

/// Path template of the invitation lookup: the one-time code is a credential, so the request span records
/// this template as `url.path`, never the path that carries the code.
pub const INVITATION_BY_CODE: &str = "/api/v1/evaluations/invitations/{code}";

/// The routes of invitations and one-time codes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(invitation_by_code))
        .routes(routes!(rate_by_code))
        .routes(routes!(case_invitations))
}

pub(super) fn invitation_example() -> serde_json::Value {
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
    let view: InvitationView = state.call::<ops::InvitationByCode>(&CodeLookup { code }).await.map_err(code_problem)?;
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
    let view: EvaluationView = state.call::<ops::SubmitByCode>(&req).await.map_err(code_problem)?;
    Ok(created(view))
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
    let case = load::case(&state, &principal, &id, Action::ReadInvitations, RoleCheck::First).await?;
    Ok(Json(state.call::<ops::InvitationList>(&CaseInvitations { case_id: case.id }).await?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;

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
}
