//! Needs intake (对接需求, §7.1): consultations recorded by staff, the signed webhook of the 12345
//! hotline, and joint meetings (联席会议) of newly settled projects.

use std::time::SystemTime;

use axum::{
    Json,
    body::Bytes,
    extract::{Path, State, rejection::BytesRejection},
    http::{HeaderMap, StatusCode, header},
    response::IntoResponse,
};
use bangban_contracts::{
    intake::consultation::{
        ConsultationPage, ConsultationQuery, ConsultationView, DEFAULT_LIMIT, GetConsultation, HotlineDelivery,
        HotlineReceipt, HotlineTicket, JointMeetingMinutes, ListConsultations, MAX_LIMIT, NewConsultation,
        NewJointMeeting, RecordConsultation, RecordJointMeetingMinutes, ScheduleJointMeeting, ops,
    },
    office::{CITY_OFFICE, is_known_office},
};
use bangban_platform::{
    Settings,
    problem::Problem,
    webhook::{self, WebhookVerifier},
};
use uuid::Uuid;

use crate::{
    AppState,
    auth::Principal,
    authz::{Action, Resource, authorize},
    extract::{self, ApiJson, ApiQuery},
    handlers::cases::actor,
};
use utoipa_axum::{router::OpenApiRouter, routes};

/// Path of the hotline's webhook (12345 热线回调).
pub const HOTLINE_HOOK: &str = "/api/v1/hooks/hotline";

/// The answer of a hook that is not enabled (回调未启用): 404 `hook-not-enabled`, before anything of the
/// request is read and without asking any service. A missing secret is the operator's choice (the hook is
/// off), not an outage: neither a 503 that makes the caller retry, nor a hint about the configuration.
pub fn hook_not_enabled(instance: &str) -> Problem {
    Problem::new(StatusCode::NOT_FOUND, "hook-not-enabled", "回调未启用", "Hook not enabled")
        .with_detail("该回调接口未启用", "this hook is not enabled")
        .with_instance(instance)
}

/// Logs at start whether the hotline's hook is enabled (`BANGBAN__HOTLINE__SECRET` set).
pub fn log_hooks(settings: &Settings) {
    if settings.hotline.secret.is_some() {
        tracing::info!(hook = HOTLINE_HOOK, "hotline hook enabled");
    } else {
        tracing::info!(
            hook = HOTLINE_HOOK,
            "hotline hook not enabled (BANGBAN__HOTLINE__SECRET unset): it answers 404 hook-not-enabled"
        );
    }
}

/// The routes of consultations, joint meetings and the hotline hook.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(record_consultation, list_consultations))
        .routes(routes!(get_consultation))
        .routes(routes!(schedule_joint_meeting))
        .routes(routes!(record_joint_meeting_minutes))
        .routes(routes!(hotline_webhook))
}

fn parse_id(id: &str) -> Result<Uuid, Problem> {
    Uuid::parse_str(id).map_err(|_| {
        Problem::malformed(Some("id".into()), "咨询记录编号须为 UUID", "the consultation id must be a UUID")
    })
}

fn not_found(id: Uuid) -> Problem {
    Problem::not_found(format!("咨询记录 {id} 不存在"), format!("consultation {id} does not exist"))
}

/// May the principal's role take `action` at all? Checked against their own office, so a role that
/// never may gets 403 before anything is read.
fn authorize_role(principal: &Principal, action: Action) -> Result<(), Problem> {
    authorize(principal, action, Resource::Office(&principal.office))
}

/// Reads the consultation and checks that `action` reaches its office; outside the principal's
/// jurisdiction it does not exist for them (404, no existence leak).
async fn consultation_in_reach(
    state: &AppState,
    principal: &Principal,
    action: Action,
    id: Uuid,
) -> Result<ConsultationView, Problem> {
    let view: ConsultationView = state.call::<ops::ConsultationGet>(&GetConsultation { id }).await?;
    authorize(principal, action, Resource::Office(&view.office)).map_err(|_| not_found(id))?;
    Ok(view)
}

/// Records a consultation (登记对接需求): from the window, the hotline or the platform.
///
/// The applicant's mobile number is encrypted at rest and masked in the reply; `consultation.recorded`
/// is published on `bb.evt.<office>.consultation.recorded` without personal data.
#[utoipa::path(
    post, path = "/api/v1/consultations", tag = "consultations",
    request_body(content = NewConsultation, description = "咨询记录 / the consultation", example = json!({
        "office": "371625",
        "channel": "window",
        "applicant": {"name": "王经理", "organisation": "博兴县某某新材料有限公司", "phone": "13812341234"},
        "project": {"name": "年产5万吨新材料项目", "category": "industrial", "office": "371625", "newly_settled": true},
        "needs": "希望帮办立项用地规划许可至施工许可阶段审批事项",
        "project_state": "已签订投资协议，正在办理项目备案",
        "materials": ["营业执照", "投资协议"],
        "intent": "assist"
    })),
    responses(
        (status = 201, description = "已登记 / recorded", body = ConsultationView),
        (status = 400, description = "请求体格式错误 / malformed body", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "无权操作 / forbidden", body = Problem),
        (status = 409, description = "该渠道工单号已登记 / reference already recorded", body = Problem),
        (status = 413, description = "请求体过大 / body too large", body = Problem),
        (status = 415, description = "须为 JSON / JSON required", body = Problem),
        (status = 422, description = "内容有误 / invalid content", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(office = %body.0.office, channel = body.0.channel.as_str()))]
pub async fn record_consultation(
    State(state): State<AppState>,
    principal: Principal,
    body: ApiJson<NewConsultation>,
) -> Result<impl IntoResponse, Problem> {
    let ApiJson(consultation) = body;
    authorize(&principal, Action::RecordConsultation, Resource::Office(&consultation.office))?;
    let req = RecordConsultation { actor: actor(&principal), consultation };
    let view: ConsultationView = state.call::<ops::ConsultationRecord>(&req).await?;
    let location = format!("/api/v1/consultations/{}", view.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(view)))
}

/// Lists consultations (对接需求列表), newest first.
///
/// Without `office`, staff of a county office see their own office's consultations and staff of the
/// city office every office's.
#[utoipa::path(
    get, path = "/api/v1/consultations", tag = "consultations",
    params(ConsultationQuery),
    responses(
        (status = 200, description = "咨询记录 / consultations", body = ConsultationPage),
        (status = 400, description = "查询参数有误 / malformed query", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "无权操作 / forbidden", body = Problem),
        (status = 422, description = "参数取值有误 / invalid value", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn list_consultations(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<ConsultationQuery>,
) -> Result<Json<ConsultationPage>, Problem> {
    let office = match query.office {
        Some(office) => {
            authorize_role(&principal, Action::ReadConsultation)?;
            if !is_known_office(&office) {
                return Err(Problem::invalid_field(
                    "office",
                    format!("未知的机构代码 {office:?}"),
                    format!("unknown office code {office:?}"),
                ));
            }
            authorize(&principal, Action::ReadConsultation, Resource::Office(&office))?;
            Some(office)
        }
        None => {
            authorize_role(&principal, Action::ReadConsultation)?;
            (principal.office != CITY_OFFICE).then(|| principal.office.clone())
        }
    };
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(Problem::invalid_field(
            "limit",
            format!("须在 1 至 {MAX_LIMIT} 之间"),
            format!("must be between 1 and {MAX_LIMIT}"),
        ));
    }
    let req = ListConsultations {
        office,
        channel: query.channel,
        intent: query.intent,
        limit,
        offset: query.offset.unwrap_or(0),
    };
    let page = state.call::<ops::ConsultationList>(&req).await?;
    Ok(Json(page))
}

/// Reads one consultation (咨询记录) with its joint meeting.
#[utoipa::path(
    get, path = "/api/v1/consultations/{id}", tag = "consultations",
    params(("id" = Uuid, Path, description = "咨询记录编号 / consultation id")),
    responses(
        (status = 200, description = "咨询记录 / the consultation", body = ConsultationView),
        (status = 400, description = "编号格式错误 / malformed id", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "无权操作 / forbidden", body = Problem),
        (status = 404, description = "不存在或无权查看 / not found", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(consultation.id = %id))]
pub async fn get_consultation(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<ConsultationView>, Problem> {
    authorize_role(&principal, Action::ReadConsultation)?;
    let id = parse_id(&id)?;
    let view = consultation_in_reach(&state, &principal, Action::ReadConsultation, id).await?;
    Ok(Json(view))
}

/// Schedules the joint meeting (安排联席会议) of a newly settled project's consultation.
///
/// One meeting per consultation; 409 when the project is not newly settled (新落户) or a meeting is
/// already scheduled. Publishes `joint_meeting.scheduled` (the attending units, not the people).
#[utoipa::path(
    post, path = "/api/v1/consultations/{id}/joint-meeting", tag = "consultations",
    params(("id" = Uuid, Path, description = "咨询记录编号 / consultation id")),
    request_body(content = NewJointMeeting, description = "会议安排 / the meeting", example = json!({
        "scheduled_at": "2026-12-02T02:00:00Z",
        "place": "博兴县政务服务中心三楼会议室",
        "attendees": [
            {"unit": "博兴县行政审批服务局", "name": "李科长", "position": "科长"},
            {"unit": "博兴县自然资源和规划局"},
            {"unit": "博兴县住房和城乡建设局"}
        ]
    })),
    responses(
        (status = 201, description = "已安排 / scheduled", body = ConsultationView),
        (status = 400, description = "请求格式错误 / malformed request", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "无权操作 / forbidden", body = Problem),
        (status = 404, description = "不存在或无权查看 / not found", body = Problem),
        (status = 409, description = "非新落户项目或已安排 / not newly settled, or already scheduled", body = Problem),
        (status = 415, description = "须为 JSON / JSON required", body = Problem),
        (status = 422, description = "内容有误 / invalid content", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(consultation.id = %id))]
pub async fn schedule_joint_meeting(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    body: ApiJson<NewJointMeeting>,
) -> Result<impl IntoResponse, Problem> {
    authorize_role(&principal, Action::RecordConsultation)?;
    let id = parse_id(&id)?;
    let ApiJson(meeting) = body;
    consultation_in_reach(&state, &principal, Action::RecordConsultation, id).await?;
    let req = ScheduleJointMeeting { actor: actor(&principal), consultation_id: id, meeting };
    let view: ConsultationView = state.call::<ops::JointMeetingSchedule>(&req).await?;
    let location = format!("/api/v1/consultations/{id}");
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(view)))
}

/// Records the minutes (记录会议纪要) of a consultation's joint meeting: decisions and follow-ups.
///
/// Once only; 409 when no meeting is scheduled or the minutes are already recorded. Publishes
/// `joint_meeting.recorded` (decision count, responsible units and due dates).
#[utoipa::path(
    post, path = "/api/v1/consultations/{id}/joint-meeting/minutes", tag = "consultations",
    params(("id" = Uuid, Path, description = "咨询记录编号 / consultation id")),
    request_body(content = JointMeetingMinutes, description = "会议纪要 / the minutes", example = json!({
        "decisions": ["同意将该项目纳入重点项目帮办范围", "各部门提前介入，并联开展方案审查"],
        "follow_ups": [
            {"task": "出具项目用地规划条件", "owner_unit": "博兴县自然资源和规划局", "due_on": "2026-12-09"},
            {"task": "指导编制施工图审查材料", "owner_unit": "博兴县住房和城乡建设局", "owner": "张工", "due_on": "2026-12-16"}
        ]
    })),
    responses(
        (status = 201, description = "已记录 / recorded", body = ConsultationView),
        (status = 400, description = "请求格式错误 / malformed request", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "无权操作 / forbidden", body = Problem),
        (status = 404, description = "不存在或无权查看 / not found", body = Problem),
        (status = 409, description = "未安排会议或纪要已记录 / no meeting, or minutes already recorded", body = Problem),
        (status = 415, description = "须为 JSON / JSON required", body = Problem),
        (status = 422, description = "内容有误 / invalid content", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(consultation.id = %id))]
pub async fn record_joint_meeting_minutes(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    body: ApiJson<JointMeetingMinutes>,
) -> Result<impl IntoResponse, Problem> {
    authorize_role(&principal, Action::RecordConsultation)?;
    let id = parse_id(&id)?;
    let ApiJson(minutes) = body;
    consultation_in_reach(&state, &principal, Action::RecordConsultation, id).await?;
    let req = RecordJointMeetingMinutes { actor: actor(&principal), consultation_id: id, minutes };
    let view: ConsultationView = state.call::<ops::JointMeetingMinutes>(&req).await?;
    let location = format!("/api/v1/consultations/{id}");
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(view)))
}

/// The 12345 hotline posts a consultation (12345 热线工单回调). No bearer token: signed instead.
///
/// The hotline signs every request with the secret it shares with Bangban (`hotline.secret`,
/// `BANGBAN__HOTLINE__SECRET`): `X-Bangban-Timestamp` is the Unix time in seconds, and
/// `X-Bangban-Signature` is `sha256=` followed by the lowercase hex HMAC-SHA256 of
/// `"<timestamp>.<raw body>"`. The signature is checked on the raw body before it is parsed, and
/// timestamps more than 5 minutes from Bangban's clock are refused (401). A request already accepted
/// (same signature, or same `X-Bangban-Delivery` id) is refused with 409 and records nothing, on every
/// replica; so is a ticket number already recorded. Without a configured secret the hook is not enabled:
/// every request gets 404 `hook-not-enabled`, and nothing is read or forwarded.
///
/// The consultation is recorded for the area's office with channel `hotline`, intent `none` and the
/// ticket number as its reference; unknown fields of the body are ignored.
#[utoipa::path(
    post, path = "/api/v1/hooks/hotline", tag = "hooks",
    params(
        ("X-Bangban-Timestamp" = String, Header, description = "签名时间（Unix 秒）/ Unix time of signing, seconds", example = "1795836600"),
        ("X-Bangban-Signature" = String, Header, description = "sha256=<HMAC-SHA256(secret, \"<timestamp>.<raw body>\") 小写十六进制 / lowercase hex>",
            example = "sha256=3b72671a9ddcb2f2283f72b29e8573b349ef90eea8dca76b1f4c2faf98346f76"),
        ("X-Bangban-Delivery" = Option<String>, Header, description = "可选的投递编号，重试时不变 / optional delivery id, kept on retries (1–128 visible ASCII)", example = "hl-2026-000042"),
    ),
    request_body(content = HotlineTicket, description = "热线工单 / the hotline's ticket", content_type = "application/json",
        example = json!({
            "ticket_no": "12345-20261128-000042",
            "caller_name": "王经理",
            "caller_phone": "13812341234",
            "caller_organisation": "博兴县某某新材料有限公司",
            "area_code": "371625",
            "project_name": "年产5万吨新材料项目",
            "category": "industrial",
            "newly_settled": true,
            "needs": "新落户企业，咨询工业项目从立项到施工许可需要办理哪些审批，希望提供帮办服务",
            "project_state": "已签订投资协议，正在办理项目备案",
            "received_at": "2026-11-28T09:30:00+08:00"
        })),
    responses(
        (status = 201, description = "已登记为咨询 / recorded as a consultation", body = HotlineReceipt,
            example = json!({"consultation_id": "01937a4e-5c1b-7d2a-9f3e-2b6c8d0e1f23", "ticket_no": "12345-20261128-000042"})),
        (status = 400, description = "请求体格式错误 / malformed body", body = Problem),
        (status = 401, description = "签名或时间戳无效 / bad signature or timestamp", body = Problem),
        (status = 409, description = "重复投递或工单号已登记 / replayed delivery, or ticket already recorded", body = Problem),
        (status = 413, description = "请求体过大 / body too large", body = Problem),
        (status = 415, description = "须为 JSON / JSON required", body = Problem),
        (status = 422, description = "内容有误 / invalid content", body = Problem),
        (status = 404, description = "回调未启用（未配置密钥）/ hook not enabled (no secret configured)", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    )
)]
#[tracing::instrument(skip_all, fields(ticket = tracing::field::Empty))]
pub async fn hotline_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<impl IntoResponse, Problem> {
    let secret = state.settings.hotline.secret.clone().ok_or_else(|| hook_not_enabled(HOTLINE_HOOK))?;
    let limit = state.settings.http.body_limit;
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Problem::payload_too_large(limit)
        } else {
            Problem::malformed(None, "无法读取请求体", "the request body could not be read")
        }
        .with_instance(HOTLINE_HOOK)
    })?;
    // The signature first, on the raw bytes: nothing unauthenticated is parsed. The wall clock, not the platform
    // clock: the hotline signs with real time, and replay protection must not be fooled by a rehearsal clock.
    let verified = WebhookVerifier::new(secret).verify(&headers, &body, SystemTime::now()).map_err(|e| {
        tracing::warn!(reason = %e, "hotline webhook refused");
        Problem::from(e).with_instance(HOTLINE_HOOK)
    })?;
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|ct| ct.split(';').next().unwrap_or_default().trim().eq_ignore_ascii_case("application/json"))
        .unwrap_or(false);
    if !is_json {
        return Err(Problem::unsupported_media_type().with_instance(HOTLINE_HOOK));
    }
    let ticket: HotlineTicket = extract::decode(&body).map_err(|p| p.with_instance(HOTLINE_HOOK))?;
    tracing::Span::current().record("ticket", ticket.ticket_no.as_str());
    let req = HotlineDelivery { ticket, replay_keys: webhook::replay_keys(&verified) };
    let receipt: HotlineReceipt =
        state.call::<ops::ConsultationHotline>(&req).await.map_err(|e| e.with_instance(HOTLINE_HOOK))?;
    let location = format!("/api/v1/consultations/{}", receipt.consultation_id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(receipt)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_document_describes_the_hotline_hook_without_a_bearer_token() {
        let doc = serde_json::to_value(crate::openapi::document()).unwrap();
        let hook = &doc["paths"]["/api/v1/hooks/hotline"]["post"];
        assert!(hook["security"].is_null(), "the hook is signed, not bearer-authenticated: {hook}");
        let headers: Vec<&str> = hook["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["in"] == "header")
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(headers, ["X-Bangban-Timestamp", "X-Bangban-Signature", "X-Bangban-Delivery"]);
        let example = &hook["requestBody"]["content"]["application/json"]["example"];
        assert_eq!(example["ticket_no"], "12345-20261128-000042");
        let ticket = &doc["components"]["schemas"]["HotlineTicket"];
        for field in ["ticket_no", "caller_name", "area_code", "project_name", "category", "needs", "received_at"] {
            assert!(ticket["required"].as_array().unwrap().iter().any(|r| r == field), "{field}");
        }
        let list = &doc["paths"]["/api/v1/consultations"]["get"];
        let query: Vec<&str> = list["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["in"] == "query")
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(query, ["office", "channel", "intent", "limit", "offset"]);
        for path in [
            "/api/v1/consultations/{id}",
            "/api/v1/consultations/{id}/joint-meeting",
            "/api/v1/consultations/{id}/joint-meeting/minutes",
        ] {
            assert!(doc["paths"][path].is_object(), "{path}");
        }
        assert_eq!(list["security"][0]["bearer"], serde_json::json!([]));
    }
}
