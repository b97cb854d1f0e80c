//! The web console (工作台): server-rendered pages (maud), zh-CN first with English beside it, a little
//! JavaScript from `/static`, nothing from elsewhere (the Content-Security-Policy forbids it).

pub mod pages;
pub mod svg;

use axum::{
    Router,
    extract::{Path, Query, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use bangban_contracts::{
    intake::{self, Actor, ApplicantQuery, ListApplicants, ListStaff},
    office::{CITY_OFFICE, OFFICES},
    routing::{self as routing_contract, ListUnits},
};
use bangban_platform::config::AuthMode;
use maud::{DOCTYPE, Markup, html};
use serde::Deserialize;

use crate::AppState;

/// The routes of the console's public pages and assets.
pub fn routes() -> Router<AppState> {
    Router::new().route("/login", get(login_page)).route("/static/{name}", get(asset)).merge(pages::routes())
}

/// Embedded static files: (name, content type, body).
const ASSETS: &[(&str, &str, &str)] = &[
    ("console.css", "text/css; charset=utf-8", include_str!("../static/console.css")),
    ("console.js", "text/javascript; charset=utf-8", include_str!("../static/console.js")),
    ("docs.css", "text/css; charset=utf-8", include_str!("../static/docs.css")),
    ("docs.js", "text/javascript; charset=utf-8", include_str!("../static/docs.js")),
    ("index.css", "text/css; charset=utf-8", include_str!("../static/index.css")),
    ("index.js", "text/javascript; charset=utf-8", include_str!("../static/index.js")),
];

async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(n, _, _)| *n == name) {
        Some((_, content_type, body)) => {
            let mut res = (*body).into_response();
            res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
            res
        }
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

/// A page: title, then the body.
pub fn page(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · 帮办代办平台" }
                link rel="stylesheet" href="/static/console.css";
                script src="/static/console.js" defer {}
            }
            body {
                a.skip href="#main" { "跳到正文 Skip to content" }
                (body)
            }
        }
    }
}

/// Query of the login page.
#[derive(Debug, Default, Deserialize)]
pub struct LoginQuery {
    /// Office whose demo identities are listed.
    pub office: Option<String>,
    #[serde(rename = "return")]
    pub return_to: Option<String>,
}

/// One demo identity on the login page.
struct Identity {
    label: String,
    detail: String,
    sub: String,
    role: &'static str,
    office: String,
    unit: Option<String>,
    applicant: Option<String>,
}

pub(crate) fn role_label(role: &str) -> &'static str {
    match role {
        "applicant" => "申请人 Applicant",
        "assistant" => "帮办员 Assistant",
        "agent" => "代办员 Agent",
        "expert" => "技术专家 Expert",
        "officer" => "审批部门人员 Unit officer",
        "office_admin" => "中心管理员 Office admin",
        "supervisor" => "督查专员 Supervisor",
        "integrator" => "对接系统 Integrator",
        _ => "其他 Other",
    }
}

fn static_role(role: &str) -> Option<&'static str> {
    ["applicant", "assistant", "agent", "expert", "officer", "office_admin", "supervisor", "integrator"]
        .into_iter()
        .find(|r| *r == role)
}

async fn demo_identities(state: &AppState, office: &str) -> Vec<Identity> {
    let staff_q = ListStaff { office: Some(office.to_string()), role: None };
    let units_q = ListUnits { office: Some(office.to_string()), unit_type: None };
    // The office's applicants, as an admin of the office would list them.
    let applicants_q = ApplicantQuery {
        actor: Actor { sub: "console-demo".into(), role: "office_admin".into(), office: office.to_string() },
        filter: ListApplicants { limit: Some(20), ..Default::default() },
    };
    let staff = state.call::<intake::ops::StaffList>(&staff_q);
    let units = state.call::<routing_contract::ops::UnitList>(&units_q);
    let applicants = state.call::<intake::ops::ApplicantList>(&applicants_q);
    let (staff, units, applicants) = tokio::join!(staff, units, applicants);
    let mut out = Vec::new();
    for s in staff.unwrap_or_default() {
        let Some(role) = static_role(&s.role) else { continue };
        out.push(Identity {
            label: s.name.clone(),
            detail: role_label(role).into(),
            sub: s.id,
            role,
            office: s.office,
            unit: None,
            applicant: None,
        });
    }
    for u in units.unwrap_or_default() {
        out.push(Identity {
            label: u.name.clone(),
            detail: role_label("officer").into(),
            sub: format!("officer-{}", u.code),
            role: "officer",
            office: u.office,
            unit: Some(u.code),
            applicant: None,
        });
    }
    if let Ok(page) = applicants {
        for a in page.items {
            out.push(Identity {
                label: a.name.clone(),
                detail: role_label("applicant").into(),
                sub: format!("applicant-{}", a.id),
                role: "applicant",
                office: office.to_string(),
                unit: None,
                applicant: Some(a.id.to_string()),
            });
        }
    }
    out.push(Identity {
        label: "对接系统（演示）".into(),
        detail: role_label("integrator").into(),
        sub: "integrator-demo".into(),
        role: "integrator",
        office: office.to_string(),
        unit: None,
        applicant: None,
    });
    out
}

/// The login page (登录): the city's identity provider, and in development the demo identities.
pub async fn login_page(State(state): State<AppState>, Query(q): Query<LoginQuery>) -> Markup {
    let return_to = crate::session::safe_return(q.return_to.as_deref());
    let office = q.office.filter(|o| OFFICES.iter().any(|(c, _)| c == o)).unwrap_or_else(|| CITY_OFFICE.to_string());
    let dev = state.auth.mode() == AuthMode::Development;
    let oidc = state.auth.mode() == AuthMode::Oidc && state.web.oidc_client_id.is_some();
    let identities = if dev { demo_identities(&state, &office).await } else { Vec::new() };
    page(
        "登录 Sign in",
        html! {
            main #main .narrow {
                h1 { "帮办代办平台" }
                p.en { "Bangban — assistance and commission services for construction-project approvals" }
                @if oidc {
                    section.card {
                        h2 { "登录 " span.en { "Sign in" } }
                        a.button.primary href={ "/auth/oidc/start?return=" (urlencode(&return_to)) } {
                            "统一身份认证登录 " span.en { "Sign in with the city's identity provider" }
                        }
                    }
                }
                @if dev {
                    section.card {
                        h2 { "演示身份 " span.en { "Demo identities (development only)" } }
                        form.inline method="get" action="/login" {
                            input type="hidden" name="return" value=(return_to);
                            label for="office" { "机构 " span.en { "Office" } }
                            select #office name="office" {
                                @for (code, name) in OFFICES {
                                    option value=(code) selected[*code == office] { (name) " " (code) }
                                }
                            }
                            button type="submit" { "切换 " span.en { "Show" } }
                        }
                        ul.identities {
                            @for id in &identities {
                                li {
                                    form method="post" action="/auth/dev-login" {
                                        input type="hidden" name="sub" value=(id.sub);
                                        input type="hidden" name="role" value=(id.role);
                                        input type="hidden" name="office" value=(id.office);
                                        @if let Some(u) = &id.unit { input type="hidden" name="unit" value=(u); }
                                        @if let Some(a) = &id.applicant { input type="hidden" name="applicant" value=(a); }
                                        input type="hidden" name="return" value=(return_to);
                                        button type="submit" data-role=(id.role) data-sub=(id.sub) {
                                            strong { (id.label) } " " span.muted { (id.detail) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                @if !dev && !oidc {
                    p.warn { "未配置登录方式（web.oidc_client_id）。" span.en { "No login is configured (web.oidc_client_id)." } }
                }
                p.muted { a href="/docs" { "接口文档 API documentation" } }
            }
        },
    )
}

/// Percent-encodes a query value.
pub fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
