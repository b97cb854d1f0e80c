//! The OpenAPI description (`/openapi.json`) and the self-contained docs page (`/docs`).

use axum::{Json, response::Html};
use bangban_contracts::{deadline, intake, notification, planning, routing};
use utoipa::{
    Modify, OpenApi,
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
};

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
        );
    }
}

/// The document's own parts: its description, tags and security scheme, and the schemas no operation refers to
/// (the payloads of the events, for integrators reading the stream). The operations and the schemas they use
/// come from the routes ([`crate::api`]).
#[derive(OpenApi)]
#[openapi(
    info(
        title = "帮办代办平台 Bangban API",
        description = "工程建设项目帮办代办服务（DB3716/T 2—2022）。错误均为 RFC 9457 问题详情（application/problem+json），含中英文说明。\n\nAssistance and commission services for construction-project approvals. Every error is an RFC 9457 problem with Chinese and English text.",
        version = env!("CARGO_PKG_VERSION"),
    ),
    components(schemas(
        bangban_platform::problem::Problem,
        bangban_platform::problem::FieldError,
        // The path parameter of the SMS receipt hooks.
        notification::ReceiptProvider,
        // The payloads of the events the live stream carries.
        intake::consultation::ConsultationRecorded,
        intake::consultation::JointMeetingScheduled,
        intake::consultation::JointMeetingRecorded,
        intake::consultation::FollowUpDue,
        intake::results::CaseResultsDelivered,
        intake::results::DeliveredDocument,
        intake::results::DeliveryMethod,
        intake::results::CaseArchived,
        intake::results::ArchivedDocumentRef,
        planning::PlanPublished,
        planning::PlanRevised,
        planning::PublishedItem,
        planning::RevisedItem,
        routing::PlanCompleted,
        routing::TaskEvent,
        deadline::ClockAlarm,
        deadline::SupervisionEvent,
        deadline::ProblemEvent,
        deadline::ConsultationEvent,
        // Two contracts name a schema `ResultDocument` (intake's results and routing's task results): the
        // document has one, intake's, as it always had. Last, so that it replaces routing's, which the events
        // above bring in.
        intake::results::ResultDocument,
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "cases", description = "案件与台账 / cases and the ledger"),
        (name = "auth", description = "身份 / identity"),
        (name = "directory", description = "机构与人员 / offices and staff"),
        (name = "registry", description = "服务对象与项目 / applicants and projects"),
        (name = "consultations", description = "对接需求与联席会议（§7.1）/ needs intake and joint meetings"),
        (name = "hooks", description = "入站回调（HMAC-SHA256 签名或回调令牌，无需登录令牌）/ inbound webhooks, signed or with a callback token, no bearer token"),
        (name = "results", description = "告知结果与代管材料 / results delivery and materials in custody (§7.6)"),
        (name = "archive", description = "资料归档 / the case archive (§7.7)"),
        (name = "calendar", description = "工作日历（法定节假日与调休）/ the working-day calendar"),
        (name = "catalog", description = "审批事项库（按阶段、类别筛选，编辑即生成新版本）/ the approval-item catalog"),
        (name = "plans", description = "代办方案（办理事项清单）与预排工期（§7.3）/ service plans and schedules"),
        (name = "tasks", description = "责任单位、推送事项与状态标注（§7.4、§7.5.1）/ responsible units, routed tasks and their status marks"),
        (name = "clock", description = "平台时钟 / the platform clock"),
        (name = "clocks", description = "事项计时、暂停计时与延期（§4.3 限时办结）/ task clocks, pauses and extensions"),
        (name = "dossier", description = "案件全景（并行汇集各服务数据）/ the case dossier, gathered from every service"),
        (name = "supervision", description = "督办单、反馈、移送与处理（§7.5.4）/ supervision notices, answers, escalation and outcomes"),
        (name = "problems", description = "问题协调（§7.5.2）/ problems on tasks"),
        (name = "stream", description = "实时推送（服务器发送事件）/ live updates, server-sent events"),
        (name = "meetings", description = "问题会商与联席会议（§7.5.3）/ consultations and joint meetings on problems"),
        (name = "monitoring", description = "业务监控（§6.2）/ business monitoring"),
        (name = "notifications", description = "站内通知与短信记录 / in-app notices and SMS messages"),
        (name = "evaluations", description = "评价（一事一评）、差评整改、申诉与考核（§8.2）/ ratings, rectification of bad reviews, appeals and the staff assessment"),
    )
)]
pub struct ApiDoc;

/// The whole document: [`ApiDoc`] and every documented route's operation.
pub fn document() -> utoipa::openapi::OpenApi {
    query_parameters(crate::api().into_openapi())
}

/// The query structs of the contracts derive `IntoParams` without `parameter_in = Query`, which utoipa
/// documents as required path parameters. A parameter that is not in its path's template is a query
/// parameter, and optional when its value may be null (an `Option`).
fn query_parameters(mut doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    use utoipa::openapi::{
        RefOr, Required,
        path::{Parameter, ParameterIn},
    };
    let nullable = |p: &Parameter| {
        let schema = serde_json::to_value(&p.schema).unwrap_or_default();
        schema["type"].as_array().is_some_and(|t| t.iter().any(|t| t == "null"))
            || schema["oneOf"].as_array().is_some_and(|o| o.iter().any(|s| s["type"] == "null"))
    };
    for (path, item) in doc.paths.paths.iter_mut() {
        let ops = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
        for op in ops.into_iter().flatten() {
            for p in op.parameters.iter_mut().flatten() {
                let RefOr::T(p) = p else { continue };
                if p.parameter_in == ParameterIn::Path && !path.contains(&format!("{{{}}}", p.name)) {
                    p.parameter_in = ParameterIn::Query;
                    if nullable(p) {
                        p.required = Required::False;
                    }
                }
            }
        }
    }
    doc
}

pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(document())
}

pub async fn docs() -> Html<&'static str> {
    Html(include_str!("docs.html"))
}

/// The start page: links to the docs and the platform's state.
pub async fn index() -> Html<&'static str> {
    Html(include_str!("index.html"))
}
