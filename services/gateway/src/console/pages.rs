//! The console's pages per role (各角色工作页面). Every read and every write goes through the same handler as
//! its `/api/v1` route, with the signed-in person's own principal, so a page shows and does exactly what that
//! person may — nothing is decided here twice. A form's mistake comes back as a page with the problem's
//! fields and reasons (zh-CN, English beside it) and its HTTP status.

use std::collections::HashMap;

use axum::{
    Extension, Form, Json, Router,
    extract::{Path, Query, State},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use bangban_contracts::{
    clock,
    deadline::{AlertLevel, ClockView, ListSupervision, MonitoringQuery},
    evaluation::{AssessmentQuery, AssessmentScope, StatisticsQuery},
    intake::{CaseStatus, ListCases, ProjectCategory},
    office::OFFICES,
    routing::{ListTasks, TaskStatus, TaskView},
};
use bangban_platform::problem::Problem;
use chrono::{Duration, NaiveDate, Utc};
use maud::{Markup, PreEscaped, html};
use serde_json::{Value, json};

use super::{page, role_label, svg, urlencode};
use crate::{
    AppState,
    auth::{Principal, Role},
    extract::{ApiJson, ApiQuery, decode},
    handlers::{cases, consultations, dossier, evaluations, monitoring, plans, supervision, tasks},
    session::{CSRF_FIELD, SessionContext},
};

/// The routes of the signed-in pages.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console", get(home))
        .route("/console/cases", get(ledger).post(create_case))
        .route("/console/cases/new", get(new_case))
        .route("/console/cases/{id}", get(case_page))
        .route("/console/cases/{id}/publish", post(publish_plan))
        .route("/console/tasks", get(inbox))
        .route("/console/tasks/{id}/transition", post(transition))
        .route("/console/tasks/{id}/rating", post(rate_task))
        .route("/console/dashboard", get(dashboard))
        .route("/console/consultations/new", get(new_consultation).post(record_consultation))
}

/// Who is signed in on this page.
pub struct Ctx {
    pub p: Principal,
    pub csrf: String,
}

/// The signed-in person, or a redirect to the login page that comes back to `back`.
fn ctx(principal: Option<Principal>, session: Option<Extension<SessionContext>>, back: &str) -> Result<Ctx, Response> {
    match (principal, session) {
        (Some(p), Some(Extension(s))) => Ok(Ctx { p, csrf: s.csrf }),
        _ => Err(Redirect::to(&format!("/login?return={}", urlencode(back))).into_response()),
    }
}

type Fields = Vec<(String, String)>;

/// A form field, trimmed; `None` when empty.
fn field(form: &Fields, name: &str) -> Option<String> {
    form.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim().to_string()).filter(|v| !v.is_empty())
}

fn csrf(ctx: &Ctx) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(ctx.csrf); }
}

fn is_staff_of_cases(role: Role) -> bool {
    matches!(role, Role::Assistant | Role::Agent | Role::Expert | Role::OfficeAdmin | Role::Supervisor)
}

/// The navigation of a role.
fn nav(role: Role) -> Vec<(&'static str, &'static str)> {
    let mut out = match role {
        Role::Applicant => vec![("/console", "我的案件 My cases")],
        Role::Officer => vec![("/console", "待办事项 Task inbox")],
        Role::OfficeAdmin | Role::Supervisor => {
            vec![("/console", "监控看板 Dashboard"), ("/console/cases", "台账 Ledger")]
        }
        Role::Integrator => vec![("/console", "首页 Home")],
        _ => vec![
            ("/console", "台账 Ledger"),
            ("/console/cases/new", "新建案件 New case"),
            ("/console/consultations/new", "咨询登记 Consultation"),
        ],
    };
    out.push(("/docs", "接口文档 API"));
    out
}

/// A signed-in page: the top bar with the role's navigation, then `body`.
fn shell(ctx: &Ctx, title: &str, flash: Option<&str>, body: Markup) -> Markup {
    page(
        title,
        html! {
            header.top {
                a href="/console" { strong { "帮办代办平台" } }
                nav aria-label="主导航 Main navigation" {
                    @for (href, label) in nav(ctx.p.role) { a href=(href) { (label) } }
                }
                span.who data-sub=(ctx.p.sub) { (ctx.p.sub) " · " (role_label(ctx.p.role.as_str())) }
                form method="post" action="/auth/logout" {
                    (csrf(ctx))
                    button type="submit" { "退出 " span.en { "Sign out" } }
                }
            }
            main #main data-live="case.accepted,plan.published,task.dispatched,task.received,task.approved,task.rejected,task.result_collected,task.warning,task.overdue,evaluation.submitted" {
                @if let Some(f) = flash { p.flash role="status" { (f) } }
                (body)
            }
            div #live .live hidden role="status" aria-live="polite" {
                "有新动态，刷新页面查看 " span.en { "New updates — reload to see them" } " ("
                span data-count {} ") " span.muted data-last {}
            }
        },
    )
}

/// What a `?ok=` key says after a successful form.
fn flash_of(q: &HashMap<String, String>) -> Option<&'static str> {
    Some(match q.get("ok")?.as_str() {
        "created" => "已受理，已生成代办方案草稿。Accepted; a draft plan was generated.",
        "published" => "方案已发布，事项已推送至各审批部门。The plan is published and its items routed.",
        "done" => "已办理。Done.",
        "rated" => "感谢评价！Thank you for your rating.",
        "recorded" => "咨询已登记。The consultation is recorded.",
        _ => return None,
    })
}

/// The page of a problem a form ran into, with its HTTP status.
fn problem_page(ctx: &Ctx, p: &Problem, back: &str) -> Response {
    let status = p.status_code();
    let body = html! {
        section.card.error role="alert" {
            h1 { (p.title) " " span.en { (p.title_en) } }
            @if let Some(d) = &p.detail { p { (d) } }
            @if let Some(d) = &p.detail_en { p.en { (d) } }
            @if !p.errors.is_empty() {
                ul { @for e in &p.errors { li { code { (e.field) } "：" (e.reason) " " span.en { (e.reason_en) } } } }
            }
            p { a.button href=(back) { "返回修改 " span.en { "Go back" } } }
        }
    };
    (status, shell(ctx, "无法完成 Not done", None, body)).into_response()
}

/// A mark (状态标记) for a task's status.
fn task_mark(s: TaskStatus) -> Markup {
    let class = match s {
        TaskStatus::Approved | TaskStatus::ResultCollected => "ok",
        TaskStatus::Rejected | TaskStatus::Withdrawn => "bad",
        TaskStatus::SupplementRequested => "warn",
        _ => "",
    };
    html! { span class={ "mark " (class) } data-status=(s.as_str()) { (s.label_zh()) } }
}

fn alert_mark(a: AlertLevel) -> Markup {
    let class = match a {
        AlertLevel::Normal => "ok",
        AlertLevel::Warning => "warn",
        AlertLevel::Overdue => "bad",
    };
    html! { span class={ "mark " (class) } data-alert=(a.as_str()) { (a.label_zh()) } }
}

fn case_status_label(s: CaseStatus) -> &'static str {
    match s {
        CaseStatus::Consulting => "咨询中",
        CaseStatus::Accepted => "已受理",
        CaseStatus::Planned => "已制定方案",
        CaseStatus::InProgress => "办理中",
        CaseStatus::ResultsDelivered => "已交付结果",
        CaseStatus::Archived => "已归档",
        CaseStatus::Terminated => "已终止",
    }
}

/// Today in Asia/Shanghai (UTC+8 all year) on the platform clock.
fn today() -> NaiveDate {
    (clock::now() + Duration::hours(8)).date_naive()
}

fn local_date(t: chrono::DateTime<Utc>) -> NaiveDate {
    (t + Duration::hours(8)).date_naive()
}

fn office_name(code: &str) -> &str {
    OFFICES.iter().find(|(c, _)| *c == code).map_or(code, |(_, n)| n)
}

/// Working days left, or overdue, as a person reads it.
fn countdown(c: &ClockView) -> Markup {
    match c.remaining_working_days {
        Some(d) if d < 0 => html! { span.bad { "逾期 " (-d) " 个工作日" } },
        Some(d) => html! { span { "剩余 " (d) " 个工作日" } },
        None if c.finished_at.is_some() => html! { span.muted { "已办结" } },
        None => html! { span.muted { "未开始计时" } },
    }
}

// ---------------------------------------------------------------------------------------------
// Home: each role's own first page
// ---------------------------------------------------------------------------------------------

/// The console's first page: the ledger for specialists, my cases for applicants, the task inbox for unit
/// officers, the dashboard for office admins and supervisors. Without a session: the login page.
pub async fn home(
    State(state): State<AppState>,
    principal: Option<Principal>,
    session: Option<Extension<SessionContext>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let ctx = match ctx(principal, session, "/console") {
        Ok(c) => c,
        Err(r) => return r,
    };
    match ctx.p.role {
        Role::Officer => inbox_page(&state, &ctx, &q).await,
        Role::OfficeAdmin | Role::Supervisor => dashboard_page(&state, &ctx, &q).await,
        Role::Integrator => shell(
            &ctx,
            "工作台 Console",
            None,
            html! {
                h1 { "对接系统 " span.en { "Integrator" } }
                p { "对接系统只读：请通过接口与总线事件获取数据。" span.en { "Integrators read through the API and the bus events." } }
                p { a href="/docs" { "接口文档 API documentation" } }
            },
        )
        .into_response(),
        _ => ledger_page(&state, &ctx, &q).await,
    }
}

// ---------------------------------------------------------------------------------------------
// The ledger (台账) and my cases
// ---------------------------------------------------------------------------------------------

async fn ledger(
    State(state): State<AppState>,
    principal: Option<Principal>,
    session: Option<Extension<SessionContext>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match ctx(principal, session, "/console/cases") {
        Ok(ctx) => ledger_page(&state, &ctx, &q).await,
        Err(r) => r,
    }
}

async fn ledger_page(state: &AppState, ctx: &Ctx, q: &HashMap<String, String>) -> Response {
    let get = |k: &str| q.get(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let filter = ListCases {
        q: get("q"),
        status: get("status").and_then(|s| CaseStatus::parse(&s)),
        category: get("category").and_then(|c| ProjectCategory::parse(&c)),
        limit: Some(100),
        ..Default::default()
    };
    let applicant = ctx.p.role == Role::Applicant;
    let title = if applicant { "我的案件 My cases" } else { "台账 Ledger" };
    let page = match cases::list_cases(State(state.clone()), ctx.p.clone(), ApiQuery(filter)).await {
        Ok(Json(p)) => p,
        Err(p) => return problem_page(ctx, &p, "/console"),
    };
    let body = html! {
        h1 { (title) }
        @if !applicant {
            form.inline method="get" action="/console/cases" role="search" {
                div { label for="q" { "搜索 " span.en { "Search" } } input #q type="search" name="q" value=[get("q")] placeholder="台账编号、项目、申请人"; }
                div {
                    label for="status" { "状态 " span.en { "Status" } }
                    select #status name="status" {
                        option value="" { "全部 All" }
                        @for s in [CaseStatus::Accepted, CaseStatus::Planned, CaseStatus::InProgress, CaseStatus::ResultsDelivered, CaseStatus::Archived, CaseStatus::Terminated] {
                            option value=(s.as_str()) selected[get("status").as_deref() == Some(s.as_str())] { (case_status_label(s)) }
                        }
                    }
                }
                div {
                    label for="category" { "类别 " span.en { "Category" } }
                    select #category name="category" {
                        option value="" { "全部 All" }
                        @for c in ProjectCategory::ALL {
                            option value=(c.as_str()) selected[get("category").as_deref() == Some(c.as_str())] { (c.label_zh()) }
                        }
                    }
                }
                button type="submit" { "筛选 " span.en { "Filter" } }
            }
        }
        p.muted { "共 " (page.total) " 件 " span.en { (page.total) " cases" } }
        div.table-wrap {
            table {
                thead { tr {
                    th { "台账编号 Ledger no." } th { "项目 Project" }
                    @if !applicant { th { "申请人 Applicant" } }
                    th { "类别 Category" } th { "状态 Status" } th { "受理日期 Accepted" }
                } }
                tbody {
                    @for c in &page.items {
                        tr data-case=(c.id) {
                            td { a href={ "/console/cases/" (c.id) } { (c.ledger_no) } }
                            td { (c.project_name) }
                            @if !applicant { td { (c.applicant_name) } }
                            td { (c.category.label_zh()) }
                            td { span.mark { (case_status_label(c.status)) } }
                            td { (local_date(c.created_at)) }
                        }
                    }
                }
            }
        }
    };
    shell(ctx, title, flash_of(q), body).into_response()
}

// ---------------------------------------------------------------------------------------------
// New case (受理)
// ---------------------------------------------------------------------------------------------

async fn new_case(principal: Option<Principal>, session: Option<Extension<SessionContext>>) -> Response {
    let ctx = match ctx(principal, session, "/console/cases/new") {
        Ok(c) => c,
        Err(r) => return r,
    };
    let office_select = |name: &str, id: &str| {
        html! {
            select id=(id) name=(name) required {
                @for (code, n) in OFFICES { option value=(code) selected[*code == ctx.p.office] { (n) " " (code) } }
            }
        }
    };
    let body = html! {
        h1 { "新建案件 " span.en { "New case" } }
        form.card method="post" action="/console/cases" {
            (csrf(&ctx))
            fieldset {
                legend { "服务 " span.en { "Service" } }
                label for="service_type" { "服务类型 " span.en { "Service type" } }
                select #service_type name="service_type" {
                    option value="assist" { "帮办 Assistance" }
                    option value="commission" { "代办 Commission (需签订委托协议 needs an agreement)" }
                }
                label for="office" { "受理机构 " span.en { "Accepting office" } }
                (office_select("office", "office"))
            }
            fieldset {
                legend { "申请人 " span.en { "Applicant" } }
                label for="applicant_kind" { "类型 " span.en { "Kind" } }
                select #applicant_kind name="applicant.kind" {
                    option value="legal_person" { "法人 Legal person" }
                    option value="natural_person" { "自然人 Natural person" }
                    option value="other_organisation" { "其他组织 Other organisation" }
                }
                label for="applicant_name" { "名称 " span.en { "Name" } }
                input #applicant_name name="applicant.name" required maxlength="200";
                label for="credit_code" { "统一社会信用代码 " span.en { "Credit code (legal persons)" } }
                input #credit_code name="applicant.credit_code" maxlength="18" autocomplete="off";
                label for="id_number" { "身份证号 " span.en { "ID number (natural persons)" } }
                input #id_number name="applicant.id_number" maxlength="18" autocomplete="off";
                label for="phone" { "手机号码 " span.en { "Mobile" } }
                input #phone name="applicant.phone" type="tel" inputmode="numeric" maxlength="11";
                label for="contact_person" { "联系人 " span.en { "Contact person" } }
                input #contact_person name="applicant.contact_person" maxlength="100";
            }
            fieldset {
                legend { "项目 " span.en { "Project" } }
                label for="project_name" { "项目名称 " span.en { "Project name" } }
                input #project_name name="project.name" required maxlength="200";
                label for="category" { "项目类别 " span.en { "Category" } }
                select #category name="project.category" {
                    @for c in ProjectCategory::ALL { option value=(c.as_str()) { (c.label_zh()) } }
                }
                label for="project_office" { "项目所在地 " span.en { "Location" } }
                (office_select("project.office", "project_office"))
            }
            p { button.primary type="submit" { "受理 " span.en { "Accept" } } }
        }
    };
    shell(&ctx, "新建案件 New case", None, body).into_response()
}

/// The form of a new case as the JSON of `POST /api/v1/cases`.
fn new_case_json(form: &Fields) -> Value {
    let mut applicant = serde_json::Map::new();
    let mut project = serde_json::Map::new();
    for (k, _) in form {
        if let Some(name) = k.strip_prefix("applicant.") {
            if let Some(v) = field(form, k) {
                applicant.insert(name.to_string(), json!(v));
            }
        } else if let Some(name) = k.strip_prefix("project.")
            && let Some(v) = field(form, k)
        {
            project.insert(name.to_string(), json!(v));
        }
    }
    json!({
        "service_type": field(form, "service_type"),
        "office": field(form, "office"),
        "applicant": applicant,
        "project": project,
    })
}

async fn create_case(
    State(state): State<AppState>,
    principal: Option<Principal>,
    session: Option<Extension<SessionContext>>,
    Form(form): Form<Fields>,
) -> Response {
    let ctx = match ctx(principal, session, "/console/cases/new") {
        Ok(c) => c,
        Err(r) => return r,
    };
    let body = match decode(&serde_json::to_vec(&new_case_json(&form)).unwrap_or_default()) {
        Ok(b) => b,
        Err(p) => return problem_page(&ctx, &p, "/console/cases/new"),
    };
    match cases::create_case(State(state), ctx.p.clone(), ApiJson(body)).await {
        Ok(res) => {
            let res = res.into_response();
            let location = res.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or("/api/v1/cases/");
            let id = location.rsplit('/').next().unwrap_or_default();
            Redirect::to(&format!("/console/cases/{id}?ok=created")).into_response()
        }
        Err(p) => problem_page(&ctx, &p, "/console/cases/new"),
    }
}

// ---------------------------------------------------------------------------------------------
// The case page: the dossier with the Gantt chart
// ---------------------------------------------------------------------------------------------

async fn case_page(
    State(state): State<AppState>,
    principal: Option<Principal>,
    session: Option<Extension<SessionContext>>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let back = format!("/console/cases/{id}");
    let ctx = match ctx(principal, session, &back) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let d = match dossier::get_dossier(State(state.clone()), ctx.p.clone(), Path(id.clone())).await {
        Ok(Json(d)) => d,
        Err(p) => return problem_page(&ctx, &p, "/console"),
    };
    let staff = is_staff_of_cases(ctx.p.role);
    let applicant = ctx.p.role == Role::Applicant;
    let c = &d.case;
    let mut tasks: Vec<TaskView> = d.tasks.clone().unwrap_or_default();
    // In plan order: by planned start, then code.
    tasks.sort_by(|a, b| (a.planned_start, &a.code).cmp(&(b.planned_start, &b.code)));
    let clocks: HashMap<_, _> = d.clocks.iter().flatten().map(|c| (c.task_id, c)).collect();
    let mut rated: std::collections::HashSet<_> =
        d.evaluations.iter().flat_map(|p| &p.items).filter_map(|e| e.task_id).collect();
    // An applicant rates an item once evaluation has invited them (it learns of the conclusion from the bus).
    let mut invited = std::collections::HashSet::new();
    if applicant
        && let Ok(Json(list)) =
            evaluations::case_invitations(State(state.clone()), ctx.p.clone(), Path(id.clone())).await
    {
        for i in list {
            if let bangban_contracts::evaluation::Matter::Task { task_id } = i.matter {
                if i.rated_at.is_some() {
                    rated.insert(task_id);
                }
                invited.insert(task_id);
            }
        }
    }
    let gantt = d.schedule.as_ref().map(|s| {
        let rows = s
            .items
            .iter()
            .map(|i| {
                let task = tasks.iter().find(|t| t.code == i.code);
                let clock = task.and_then(|t| clocks.get(&t.id));
                svg::GanttRow {
                    code: i.code.clone(),
                    name: i.name.clone(),
                    stage_label: i.stage.label_zh().to_string(),
                    planned_start: i.start,
                    planned_end: i.end,
                    actual_start: task.and_then(|t| t.received_at.or(t.dispatched_at)).map(local_date),
                    actual_end: clock.and_then(|c| c.finished_at).map(local_date),
                    critical: i.critical,
                    status_label: task.map_or("未推送", |t| t.status.label_zh()).to_string(),
                    overdue: clock.is_some_and(|c| c.alert == AlertLevel::Overdue),
                }
            })
            .collect();
        svg::gantt(&svg::GanttInput { start: s.start, end: s.end, today: today(), rows })
    });
    let body = html! {
        h1 { (c.project.name) " " span.muted { (c.ledger_no) } }
        p {
            span.mark data-case-status=(c.status.as_str()) { (case_status_label(c.status)) } " "
            (if c.service_type.as_str() == "commission" { "代办 Commission" } else { "帮办 Assistance" }) " · "
            (office_name(&c.office)) " · " (c.project.category.label_zh())
        }
        div.grid {
            section.card aria-labelledby="card-h" {
                h2 #card-h { "专员联系卡 " span.en { "Your specialist" } }
                p { strong { (c.contact_card.name) } " " span.muted { (c.contact_card.position) " · 工号 " (c.contact_card.number) } }
                p { "电话 Phone: " a href={ "tel:" (c.contact_card.phone) } { (c.contact_card.phone) } }
                p.muted { (c.contact_card.service_items.join("、")) }
            }
            section.card aria-labelledby="applicant-h" {
                h2 #applicant-h { "申请人 " span.en { "Applicant" } }
                p { (c.applicant.name) }
                @if let Some(code) = &c.applicant.credit_code { p.muted { "信用代码 " (code) } }
                @if let Some(phone) = &c.applicant.phone { p.muted { "电话 " (phone) } }
            }
        }
        section.card aria-labelledby="plan-h" {
            h2 #plan-h { "代办方案 " span.en { "Plan" } }
            @match &d.plan {
                Some(plan) => {
                    p { "第 " (plan.version) " 版 · " span.mark data-plan-status=(plan.status.as_str()) { (plan.status.as_str()) }
                        " · " (plan.items.len()) " 个事项 items" }
                    @if staff && plan.status.as_str() == "draft" {
                        form method="post" action={ "/console/cases/" (c.id) "/publish" } data-confirm="发布后将向各审批部门推送事项，确定发布？" {
                            (csrf(&ctx))
                            label for="note" { "发布说明 " span.en { "Note (optional)" } }
                            input #note name="note" maxlength="500";
                            p { button.primary type="submit" { "发布方案 " span.en { "Publish the plan" } } }
                        }
                    }
                }
                None => p.muted { "尚无方案 No plan yet" }
            }
            @if let Some(g) = &gantt {
                h3 { "甘特图 " span.en { "Gantt chart (planned against actual)" } }
                div.gantt { (PreEscaped(g)) }
            }
        }
        section.card aria-labelledby="tasks-h" {
            h2 #tasks-h { "办理事项 " span.en { "Items" } }
            div.table-wrap { table {
                thead { tr { th { "事项 Item" } th { "审批部门 Unit" } th { "状态 Status" } th { "计时 Time" } th { "操作 Action" } } }
                tbody { @for t in &tasks {
                    @let clock = clocks.get(&t.id);
                    tr data-task=(t.id) data-code=(t.code) {
                        td { (t.name) }
                        td { (t.unit_name) }
                        td { (task_mark(t.status)) }
                        td { @if let Some(c) = clock { (alert_mark(c.alert)) " " (countdown(c)) @if let Some(due) = c.due_date { br; span.muted { "期限 " (due) } } } }
                        td {
                            @if let Some(s) = &t.supplement && t.status == TaskStatus::SupplementRequested {
                                div.warn { "需补正（" (s.due_on) " 前）：" @for i in &s.items { (i.material) "（" (i.reason) "）；" } }
                            }
                            @if let Some(r) = &t.result { div.muted { "结果：" (r.kind) " " (r.number) } }
                            @if staff && t.status == TaskStatus::Approved {
                                form method="post" action={ "/console/tasks/" (t.id) "/transition" } {
                                    (csrf(&ctx))
                                    input type="hidden" name="action" value="collect_result";
                                    input type="hidden" name="back" value={ "/console/cases/" (c.id) };
                                    label for={ "by-" (t.id) } { "领取方式 Collected by" }
                                    select id={ "by-" (t.id) } name="by" {
                                        option value="assistant" { "帮办员代领 assistant" }
                                        option value="applicant" { "申请人自取 applicant" }
                                        option value="mail" { "邮寄 mail" }
                                    }
                                    button type="submit" { "登记领取 " span.en { "Record collection" } }
                                }
                            }
                            @if applicant && matches!(t.status, TaskStatus::ResultCollected | TaskStatus::Rejected) {
                                @if rated.contains(&t.id) {
                                    span.mark.ok { "已评价 Rated" }
                                } @else if !invited.contains(&t.id) {
                                    span.muted { "评价即将开放，请稍后刷新 Rating opens shortly" }
                                } @else {
                                    form.rating method="post" action={ "/console/tasks/" (t.id) "/rating" } {
                                        (csrf(&ctx))
                                        input type="hidden" name="case" value=(c.id);
                                        fieldset {
                                            legend { "评价此事项 " span.en { "Rate this item" } }
                                            @for (level, label) in [(5, "非常满意"), (4, "满意"), (3, "基本满意"), (2, "不满意"), (1, "非常不满意")] {
                                                label.inline-choice {
                                                    input type="radio" name="level" value=(level) required checked[level == 5];
                                                    " " (label)
                                                }
                                            }
                                            label for={ "comment-" (t.id) } { "意见 " span.en { "Comment" } }
                                            input id={ "comment-" (t.id) } name="comment" maxlength="500";
                                            button.primary type="submit" { "提交评价 " span.en { "Submit" } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                } }
            } }
        }
        @if applicant {
            section.card aria-labelledby="timeline-h" {
                h2 #timeline-h { "办理进度 " span.en { "Progress" } }
                ol.timeline {
                    li { (local_date(c.created_at)) " 受理 Accepted" }
                    @for t in &tasks {
                        @if let Some(at) = t.dispatched_at { li { (local_date(at)) " " (t.name) "：" (task_mark(t.status)) } }
                    }
                }
            }
        }
        @if let Some(s) = &d.supervision && !s.items.is_empty() {
            section.card aria-labelledby="sup-h" {
                h2 #sup-h { "督办 " span.en { "Supervision notices" } }
                ul { @for n in &s.items { li { (n.number) " · " (n.task_name) " · " (n.unit_name.as_deref().unwrap_or(&n.unit_code)) " · " (n.status.as_str()) } } }
            }
        }
        @if !d.missing.is_empty() {
            p.muted { "部分信息暂缺 Some parts are missing: "
                @for m in &d.missing { (m.part) "（" (m.reason) "） " } }
        }
    };
    shell(&ctx, &c.project.name, flash_of(&q), body).into_response()
}

async fn publish_plan(
    State(state): State<AppState>,
    principal: Option<Principal>,
    session: Option<Extension<SessionContext>>,
    Path(id): Path<String>,
    Form(form): Form<Fields>,
) -> Response {
    let back = format!("/console/cases/{id}");
    let ctx = match ctx(principal, session, &back) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let body = match decode(&serde_json::to_vec(&json!({ "note": field(&form, "note") })).unwrap_or_default()) {
        Ok(b) => b,
        Err(p) => return problem_page(&ctx, &p, &back),
    };
    match plans::publish_plan(State(state), ctx.p.clone(), Path(id), ApiJson(body)).await {
        Ok(_) => Redirect::to(&format!("{back}?ok=published")).into_response(),
        Err(p) => problem_page(&ctx, &p, &back),
    }
}

// ---------------------------------------------------------------------------------------------
// A unit officer's inbox (待办事项) and the transitions
// ---------------------------------------------------------------------------------------------

async fn inbox(
    State(state): State<AppState>,
    principal: Option<Principal>,
    session: Option<Extension<SessionContext>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match ctx(principal, session, "/console/tasks") {
        Ok(ctx) => inbox_page(&state, &ctx, &q).await,
        Err(r) => r,
    }
}

async fn inbox_page(state: &AppState, ctx: &Ctx, q: &HashMap<String, String>) -> Response {
    let filter = ListTasks { limit: Some(200), ..Default::default() };
    let mut items = match tasks::list_tasks(State(state.clone()), ctx.p.clone(), ApiQuery(filter)).await {
        Ok(Json(p)) => p.items,
        Err(p) => return problem_page(ctx, &p, "/console"),
    };
    let open = |t: &TaskView| {
        !matches!(
            t.status,
            TaskStatus::Approved
                | TaskStatus::Rejected
                | TaskStatus::ResultCollected
                | TaskStatus::Withdrawn
                | TaskStatus::Pending
        )
    };
    // Open tasks first, the nearest due first.
    items.sort_by_key(|t| (!open(t), t.planned_end));
    let today = today();
    let body = html! {
        h1 { "待办事项 " span.en { "Task inbox" } }
        p.muted { "按办理期限排序 Sorted by due date" }
        @for t in &items {
            article.card data-task=(t.id) data-code=(t.code) {
                h2 { (t.name) " " (task_mark(t.status)) }
                p.muted {
                    (t.ledger_no) " · " (t.stage.label_zh()) " · 承诺 " (t.promised_working_days) " 个工作日 · 计划完成 " (t.planned_end)
                    @if open(t) && t.planned_end < today { " " span.bad { "已超计划 past plan" } }
                }
                @if !t.materials.is_empty() {
                    details { summary { "申请材料 Materials (" (t.materials.len()) ")" }
                        ul { @for m in &t.materials { li { (m.name) } } } }
                }
                @if open(t) {
                    div.actions {
                        @if t.status == TaskStatus::Dispatched {
                            (transition_form(ctx, t, "receive", "签收 Receive", html! {}))
                        } @else if t.status == TaskStatus::Received {
                            (transition_form(ctx, t, "start_review", "开始审查 Start review", html! {}))
                        } @else if t.status == TaskStatus::SupplementRequested {
                            p.warn { "等待申请人补正 Waiting for the applicant's supplement" }
                        } @else {
                            (transition_form(ctx, t, "approve", "准予许可 Approve", html! {
                                label for={ "kind-" (t.id) } { "结果文书 " span.en { "Result document" } }
                                input id={ "kind-" (t.id) } name="kind" required value={ (t.name) "批复" };
                                label for={ "number-" (t.id) } { "文号 " span.en { "Number" } }
                                input id={ "number-" (t.id) } name="number" required;
                                label for={ "issued-" (t.id) } { "出具日期 " span.en { "Issued on" } }
                                input id={ "issued-" (t.id) } name="issued_on" type="date" required value=(today);
                            }))
                            (transition_form(ctx, t, "request_supplement", "一次性告知补正 Request supplement", html! {
                                label for={ "material-" (t.id) } { "需补正材料 " span.en { "Material" } }
                                input id={ "material-" (t.id) } name="material" required;
                                label for={ "reason-" (t.id) } { "原因 " span.en { "Reason" } }
                                input id={ "reason-" (t.id) } name="reason" required;
                                label for={ "due-" (t.id) } { "补正期限 " span.en { "Due on" } }
                                input id={ "due-" (t.id) } name="due_on" type="date" required value=(today + Duration::days(7));
                            }))
                            (transition_form(ctx, t, "reject", "不予许可 Reject", html! {
                                label for={ "rreason-" (t.id) } { "理由 " span.en { "Reason" } }
                                input id={ "rreason-" (t.id) } name="reason" required;
                                label for={ "basis-" (t.id) } { "法律依据 " span.en { "Legal basis" } }
                                input id={ "basis-" (t.id) } name="legal_basis" required;
                            }))
                        }
                    }
                }
            }
        }
        @if items.is_empty() { p.muted { "暂无事项 No tasks" } }
    };
    shell(ctx, "待办事项 Task inbox", flash_of(q), body).into_response()
}

fn transition_form(ctx: &Ctx, t: &TaskView, action: &str, label: &str, fields: Markup) -> Markup {
    html! {
        details.transition data-action=(action) {
            summary { (label) }
            form method="post" action={ "/console/tasks/" (t.id) "/transition" } {
                (csrf(ctx))
                input type="hidden" name="action" value=(action);
                (fields)
                button.primary type="submit" { (label) }
            }
        }
    }
}

/// A transition form as the JSON of `POST /api/v1/tasks/{id}/transitions`.
fn transition_json(form: &Fields) -> Value {
    let action = field(form, "action").unwrap_or_default();
    match action.as_str() {
        "approve" => json!({ "action": action, "document": {
            "kind": field(form, "kind"), "number": field(form, "number"), "issued_on": field(form, "issued_on") } }),
        "request_supplement" => json!({ "action": action, "due_on": field(form, "due_on"),
            "items": [{ "material": field(form, "material"), "reason": field(form, "reason") }] }),
        "reject" => {
            json!({ "action": action, "reason": field(form, "reason"), "legal_basis": field(form, "legal_basis") })
        }
        "collect_result" => json!({ "action": action, "by": field(form, "by") }),
        _ => json!({ "action": action }),
    }
}

async fn transition(
    State(state): State<AppState>,
    principal: Option<Principal>,
    session: Option<Extension<SessionContext>>,
    Path(id): Path<String>,
    Form(form): Form<Fields>,
) -> Response {
    let back = field(&form, "back")
        .filter(|b| b.starts_with("/console/") && !b.contains("//"))
        .unwrap_or_else(|| "/console".into());
    let ctx = match ctx(principal, session, &back) {
        Ok(c) => c,
        Err(r) => return r,
    };
    match tasks::transition_task(State(state), ctx.p.clone(), Path(id), ApiJson(transition_json(&form))).await {
        Ok(_) => Redirect::to(&format!("{back}?ok=done")).into_response(),
        Err(p) => problem_page(&ctx, &p, &back),
    }
}

async fn rate_task(
    State(state): State<AppState>,
    principal: Option<Principal>,
    session: Option<Extension<SessionContext>>,
    Path(id): Path<String>,
    Form(form): Form<Fields>,
) -> Response {
    let back =
        field(&form, "case").map_or_else(|| "/console".to_string(), |c| format!("/console/cases/{}", urlencode(&c)));
    let ctx = match ctx(principal, session, &back) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let level = field(&form, "level").and_then(|l| l.parse::<u8>().ok());
    let rating = json!({ "level": level, "comment": field(&form, "comment"), "tags": [] });
    let rating = match decode(&serde_json::to_vec(&rating).unwrap_or_default()) {
        Ok(r) => r,
        Err(p) => return problem_page(&ctx, &p, &back),
    };
    match evaluations::rate_task(State(state), ctx.p.clone(), Path(id), ApiJson(rating)).await {
        Ok(_) => Redirect::to(&format!("{back}?ok=rated")).into_response(),
        Err(p) => problem_page(&ctx, &p, &back),
    }
}

// ---------------------------------------------------------------------------------------------
// Office admins' and supervisors' dashboard (监控看板)
// ---------------------------------------------------------------------------------------------

async fn dashboard(
    State(state): State<AppState>,
    principal: Option<Principal>,
    session: Option<Extension<SessionContext>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match ctx(principal, session, "/console/dashboard") {
        Ok(ctx) => dashboard_page(&state, &ctx, &q).await,
        Err(r) => r,
    }
}

fn unavailable(p: &Problem) -> Markup {
    html! { p.muted { "暂不可用 Unavailable: " (p.title) } }
}

async fn dashboard_page(state: &AppState, ctx: &Ctx, q: &HashMap<String, String>) -> Response {
    let s = || State(state.clone());
    let to = today();
    let from = to - Duration::days(365);
    // Cases (案件) by category and by stage of the service: the total of each, counted by the ledger itself.
    let count = |category: Option<ProjectCategory>, status: Option<CaseStatus>| {
        let filter = ListCases { category, status, limit: Some(1), ..Default::default() };
        let (state, p) = (state.clone(), ctx.p.clone());
        async move { cases::list_cases(State(state), p, ApiQuery(filter)).await.map(|Json(page)| page.total) }
    };
    let by_category = futures::future::join_all(ProjectCategory::ALL.iter().map(|&c| count(Some(c), None)));
    let statuses = [
        CaseStatus::Accepted,
        CaseStatus::Planned,
        CaseStatus::InProgress,
        CaseStatus::ResultsDelivered,
        CaseStatus::Archived,
    ];
    let by_status = futures::future::join_all(statuses.map(|st| count(None, Some(st))));
    let (by_category, by_status) = tokio::join!(by_category, by_status);
    let cases_by_category: Vec<(String, f64)> = ProjectCategory::ALL
        .iter()
        .zip(&by_category)
        .filter_map(|(c, n)| n.as_ref().ok().map(|n| (c.label_zh().to_string(), *n as f64)))
        .collect();
    let cases_by_status: Vec<(String, f64)> = statuses
        .iter()
        .zip(&by_status)
        .filter_map(|(st, n)| n.as_ref().ok().map(|n| (case_status_label(*st).to_string(), *n as f64)))
        .collect();
    let (mon, stats, notices, assessment) = tokio::join!(
        monitoring::monitoring(
            s(),
            ctx.p.clone(),
            ApiQuery(MonitoringQuery { from: Some(from), to: Some(to), ..Default::default() })
        ),
        evaluations::evaluation_statistics(
            s(),
            ctx.p.clone(),
            ApiQuery(StatisticsQuery { from: Some(from), to: Some(to), ..Default::default() })
        ),
        supervision::list_supervision(
            s(),
            ctx.p.clone(),
            ApiQuery(ListSupervision { limit: Some(20), ..Default::default() })
        ),
        evaluations::assessment(
            s(),
            ctx.p.clone(),
            ApiQuery(AssessmentQuery { by: AssessmentScope::Specialist, office: None, from, to })
        ),
    );
    let body = html! {
        h1 { "监控看板 " span.en { "Dashboard" } }
        p.muted { (from) " — " (to) }
        div.grid {
            section.card.chart { h2 { "案件（按类别）" span.en { " Cases by category" } }
                (PreEscaped(svg::bar_chart("案件 cases", &cases_by_category, "件"))) }
            section.card.chart { h2 { "案件（按办理阶段）" span.en { " Cases by stage of the service" } }
                (PreEscaped(svg::bar_chart("案件 cases", &cases_by_status, "件"))) }
            @match &mon {
                Ok(Json(m)) => {
                    section.card.chart { h2 { "在办事项（按审批阶段）" span.en { " Open items by approval stage" } }
                        (PreEscaped(svg::bar_chart("在办事项 open items", &m.by_stage.iter().map(|f| (f.label.clone().unwrap_or_else(|| f.key.clone()), f.open as f64)).collect::<Vec<_>>(), "件"))) }
                    section.card.chart { h2 { "在办事项（按类别）" span.en { " Open items by category" } }
                        (PreEscaped(svg::bar_chart("在办事项 open items", &m.by_category.iter().map(|f| (f.label.clone().unwrap_or_else(|| f.key.clone()), f.open as f64)).collect::<Vec<_>>(), "件"))) }
                    section.card.chart { h2 { "按时办结率（按部门）" span.en { " On-time rate by unit" } }
                        (PreEscaped(svg::rate_chart("按时办结率 on-time rate", &m.by_unit.iter().map(|f| (f.label.clone().unwrap_or_else(|| f.key.clone()), f.on_time_rate.map(|r| r * 100.0))).collect::<Vec<_>>()))) }
                    section.card.chart { h2 { "逾期事项（按部门）" span.en { " Overdue by unit" } }
                        (PreEscaped(svg::bar_chart("逾期 overdue", &m.by_unit.iter().map(|f| (f.label.clone().unwrap_or_else(|| f.key.clone()), f.overdue as f64)).collect::<Vec<_>>(), "件"))) }
                    section.card { h2 { "概况 " span.en { "Totals" } }
                        p { "在办 " (m.total.open) " · 预警 " (m.total.warning) " · 逾期 " (m.total.overdue) " · 办结 " (m.total.concluded) }
                        p { "督办中 " (m.supervision_open) " · 已升级 " (m.supervision_escalated) " · 待协调问题 " (m.problems_open) } }
                }
                Err(p) => { section.card { h2 { "业务监控 Monitoring" } (unavailable(p)) } }
            }
            @match &stats {
                Ok(Json(st)) => {
                    section.card.chart { h2 { "满意度（按类别）" span.en { " Satisfaction by category" } }
                        (PreEscaped(svg::rate_chart("满意度 satisfaction", &st.by_category.iter().map(|r| (ProjectCategory::parse(&r.key).map_or_else(|| r.key.clone(), |c| c.label_zh().to_string()), r.satisfaction_rate.map(|x| x * 100.0))).collect::<Vec<_>>()))) }
                }
                Err(p) => { section.card { h2 { "满意度 Satisfaction" } (unavailable(p)) } }
            }
        }
        section.card { h2 { "督办单 " span.en { "Supervision notices" } }
            @match &notices {
                Ok(Json(n)) if !n.items.is_empty() => {
                    div.table-wrap { table { thead { tr { th { "编号 No." } th { "事项 Item" } th { "部门 Unit" } th { "状态 Status" } } }
                        tbody { @for x in &n.items { tr { td { (x.number) } td { (x.task_name) } td { (x.unit_name.as_deref().unwrap_or(&x.unit_code)) } td { (x.status.as_str()) } } } } } }
                }
                Ok(_) => p.muted { "暂无督办单 None" },
                Err(p) => (unavailable(p)),
            }
        }
        section.card { h2 { "人员考核 " span.en { "Staff assessment" } }
            @match &assessment {
                Ok(Json(a)) if !a.rows.is_empty() => {
                    div.table-wrap { table { thead { tr { th { "帮办代办员 Specialist" } th { "评价数 Ratings" } th { "满意率 Satisfaction" } th { "差评 Bad" } th { "办结 Concluded" } th { "按时率 On time" } } }
                        tbody { @for r in &a.rows { tr {
                            td { (r.key) } td { (r.ratings) }
                            td { (r.satisfaction_rate.map_or("—".to_string(), |x| format!("{:.1}%", x * 100.0))) }
                            td { (r.bad_reviews) } td { (r.items_concluded) }
                            td { (r.on_time_rate.map_or("—".to_string(), |x| format!("{:.1}%", x * 100.0))) }
                        } } } } }
                    p { a href="/api/v1/assessments.csv?by=specialist" { "下载 CSV Download" } }
                }
                Ok(_) => p.muted { "暂无数据 No data" },
                Err(p) => (unavailable(p)),
            }
        }
    };
    shell(ctx, "监控看板 Dashboard", flash_of(q), body).into_response()
}

// ---------------------------------------------------------------------------------------------
// Window and hotline staff: a fast consultation form (咨询登记)
// ---------------------------------------------------------------------------------------------

async fn new_consultation(
    principal: Option<Principal>,
    session: Option<Extension<SessionContext>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let ctx = match ctx(principal, session, "/console/consultations/new") {
        Ok(c) => c,
        Err(r) => return r,
    };
    let body = html! {
        h1 { "咨询登记 " span.en { "Record a consultation" } }
        form.card method="post" action="/console/consultations/new" {
            (csrf(&ctx))
            input type="hidden" name="office" value=(ctx.p.office);
            label for="channel" { "渠道 " span.en { "Channel" } }
            select #channel name="channel" autofocus {
                option value="window" { "服务窗口 Window" } option value="hotline" { "12345热线 Hotline" } option value="platform" { "平台 Platform" }
            }
            label for="name" { "咨询人 " span.en { "Name" } } input #name name="applicant.name" required maxlength="100";
            label for="org" { "单位 " span.en { "Organisation" } } input #org name="applicant.organisation" maxlength="200";
            label for="cphone" { "手机 " span.en { "Mobile" } } input #cphone name="applicant.phone" type="tel" maxlength="11";
            label for="pname" { "项目名称 " span.en { "Project" } } input #pname name="project.name" required maxlength="200";
            label for="pcat" { "类别 " span.en { "Category" } }
            select #pcat name="project.category" { @for c in ProjectCategory::ALL { option value=(c.as_str()) { (c.label_zh()) } } }
            label for="poffice" { "所在地 " span.en { "Location" } }
            select #poffice name="project.office" { @for (code, n) in OFFICES { option value=(code) selected[*code == ctx.p.office] { (n) } } }
            label for="needs" { "服务需求 " span.en { "Needs" } } textarea #needs name="needs" required rows="3" {}
            label for="state" { "项目现状 " span.en { "Current state" } } textarea #state name="project_state" required rows="2" {}
            label for="intent" { "初步意向 " span.en { "Intent" } }
            select #intent name="intent" { option value="assist" { "帮办 Assistance" } option value="commission" { "代办 Commission" } option value="none" { "暂无 None" } }
            p { button.primary type="submit" { "登记 " span.en { "Record" } } }
        }
    };
    shell(&ctx, "咨询登记 Consultation", flash_of(&q), body).into_response()
}

async fn record_consultation(
    State(state): State<AppState>,
    principal: Option<Principal>,
    session: Option<Extension<SessionContext>>,
    Form(form): Form<Fields>,
) -> Response {
    let back = "/console/consultations/new";
    let ctx = match ctx(principal, session, back) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let value = json!({
        "office": field(&form, "office"), "channel": field(&form, "channel"), "intent": field(&form, "intent"),
        "needs": field(&form, "needs"), "project_state": field(&form, "project_state"),
        "applicant": { "name": field(&form, "applicant.name"), "organisation": field(&form, "applicant.organisation"), "phone": field(&form, "applicant.phone") },
        "project": { "name": field(&form, "project.name"), "category": field(&form, "project.category"), "office": field(&form, "project.office") },
    });
    let body = match decode(&serde_json::to_vec(&value).unwrap_or_default()) {
        Ok(b) => b,
        Err(p) => return problem_page(&ctx, &p, back),
    };
    match consultations::record_consultation(State(state), ctx.p.clone(), ApiJson(body)).await {
        Ok(_) => Redirect::to(&format!("{back}?ok=recorded")).into_response(),
        Err(p) => problem_page(&ctx, &p, back),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Fields {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn a_new_case_form_becomes_the_api_body() {
        let f = form(&[
            ("_csrf", "x"),
            ("service_type", "assist"),
            ("office", "371600"),
            ("applicant.kind", "legal_person"),
            ("applicant.name", " 某公司 "),
            ("applicant.id_number", ""),
            ("project.name", "项目"),
            ("project.category", "industrial"),
            ("project.office", "371625"),
        ]);
        let v = new_case_json(&f);
        assert_eq!(v["applicant"], json!({"kind": "legal_person", "name": "某公司"}), "empty fields are left out");
        assert_eq!(v["project"]["office"], "371625");
        assert!(decode::<bangban_contracts::intake::NewCase>(&serde_json::to_vec(&v).unwrap()).is_ok());
    }

    #[test]
    fn transition_forms_become_task_actions() {
        let approve = transition_json(&form(&[
            ("action", "approve"),
            ("kind", "批复"),
            ("number", "A-1"),
            ("issued_on", "2026-03-02"),
        ]));
        assert!(decode::<bangban_contracts::routing::TaskAction>(&serde_json::to_vec(&approve).unwrap()).is_ok());
        let supplement = transition_json(&form(&[
            ("action", "request_supplement"),
            ("material", "图纸"),
            ("reason", "缺页"),
            ("due_on", "2026-03-09"),
        ]));
        assert!(decode::<bangban_contracts::routing::TaskAction>(&serde_json::to_vec(&supplement).unwrap()).is_ok());
        let missing = transition_json(&form(&[("action", "reject"), ("reason", "不符合")]));
        let p = decode::<bangban_contracts::routing::TaskAction>(&serde_json::to_vec(&missing).unwrap()).unwrap_err();
        assert_eq!(p.status, 422);
    }
}
