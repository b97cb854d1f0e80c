//! The audit log (审计日志): every write through the gateway — who, when, what, with what outcome.
//!
//! Records go to the JetStream stream `BANGBAN_AUDIT` (subjects `bb.audit.<office>.<role>`), created with
//! `deny_delete` and `deny_purge`: nobody, the gateway included, can remove a record through the API,
//! and the stream's `max_age` (`web.audit_retention_days`, at least 180) is the only way one leaves.
//! A write is recorded before its answer is sent; a record that cannot be stored is retried in the
//! background and counted (`bangban_gateway_audit_failures_total`). Bodies are never recorded (they may
//! hold personal data), nor the one-time codes of evaluation links.
//!
//! `GET /api/v1/audit` lets supervisors read it: a county's supervisor their own office's records, the
//! city's any office's.

use std::time::Duration;

use async_nats::jetstream::{self, consumer::DeliverPolicy, stream};
use axum::{
    Json, Router,
    extract::{ConnectInfo, MatchedPath, Request, State},
    http::{HeaderMap, Method, header},
    middleware::Next,
    response::Response,
    routing::get,
};
use bangban_platform::{
    auth::{Principal, Role},
    problem::Problem,
};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::OnceCell;
use uuid::Uuid;

use crate::{AppState, extract::ApiQuery, session::SessionContext};

/// The audit stream.
pub const STREAM: &str = "BANGBAN_AUDIT";
/// Subject prefix of audit records.
pub const SUBJECT_PREFIX: &str = "bb.audit";

/// Who wrote (操作人).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditActor {
    pub sub: String,
    pub role: String,
    pub office: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

/// One audited write (审计记录).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditRecord {
    pub id: Uuid,
    /// When the answer was given.
    pub at: DateTime<Utc>,
    /// Who, when the request carried a valid identity; absent for anonymous calls (provider hooks,
    /// ratings by one-time code).
    pub actor: Option<AuditActor>,
    /// `session` (browser), `bearer` (API client) or `anonymous`.
    pub via: String,
    pub method: String,
    /// The route, e.g. `/api/v1/tasks/{id}/approve`.
    pub route: String,
    /// The path as requested (the route where the path would carry a credential).
    pub path: String,
    pub status: u16,
    /// `success` (2xx/3xx), `refused` (4xx) or `failed` (5xx).
    pub outcome: String,
    /// The client's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    /// The W3C trace id of the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    /// Position in the log (set when read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
}

/// The audit log over JetStream. Cheap to clone.
#[derive(Clone)]
pub struct AuditLog {
    client: async_nats::Client,
    js: jetstream::Context,
    stream: std::sync::Arc<OnceCell<()>>,
    retention: Duration,
    replicas: usize,
}

fn unavailable() -> Problem {
    Problem::unavailable("审计日志暂不可用，请稍后重试", "the audit log is unavailable; try again later")
}

impl AuditLog {
    /// An audit log keeping records `retention_days`.
    pub fn new(client: async_nats::Client, retention_days: u32) -> Self {
        Self {
            js: jetstream::new(client.clone()),
            client,
            stream: Default::default(),
            retention: Duration::from_secs(u64::from(retention_days) * 86_400),
            replicas: 1,
        }
    }

    /// Creates the stream, when it is missing, with `replicas` replicas (`BANGBAN__NATS__STREAM_REPLICAS`).
    pub fn with_stream_replicas(mut self, replicas: usize) -> Self {
        self.replicas = replicas.max(1);
        self
    }

    /// Creates the stream when it does not exist (idempotent). An existing stream is never changed (an
    /// operator's retention wins); a difference from this configuration is logged as a warning.
    pub async fn ensure(&self) -> Result<(), Problem> {
        self.stream
            .get_or_try_init(|| async {
                let config = stream::Config {
                    name: STREAM.into(),
                    description: Some("Bangban audit log (审计日志): every write through the gateway".into()),
                    subjects: vec![format!("{SUBJECT_PREFIX}.>")],
                    max_age: self.retention,
                    deny_delete: true,
                    deny_purge: true,
                    storage: stream::StorageType::File,
                    duplicate_window: Duration::from_secs(120),
                    num_replicas: self.replicas,
                    ..Default::default()
                };
                bangban_platform::bus::ensure_stream(&self.js, config).await.map(|_| ()).map_err(|e| {
                    tracing::error!(error = %e, "cannot create the audit stream");
                    unavailable()
                })
            })
            .await
            .copied()
    }

    async fn publish_once(&self, subject: &str, record: &AuditRecord, payload: &[u8]) -> Result<(), String> {
        self.ensure().await.map_err(|_| "no audit stream".to_string())?;
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", record.id.to_string().as_str());
        let ack = self
            .js
            .publish_with_headers(subject.to_string(), headers, payload.to_vec().into())
            .await
            .map_err(|e| e.to_string())?;
        tokio::time::timeout(Duration::from_secs(5), ack)
            .await
            .map_err(|_| "no acknowledgement".to_string())?
            .map_err(|e| e.to_string())?;
        Ok(())
    }

    /// Stores a record; on failure retries in the background for about twelve minutes.
    pub async fn record(&self, record: AuditRecord) {
        let office = record.actor.as_ref().map_or("anonymous", |a| a.office.as_str()).to_string();
        let role = record.actor.as_ref().map_or("anonymous", |a| a.role.as_str()).to_string();
        let subject = format!("{SUBJECT_PREFIX}.{office}.{role}");
        let Ok(payload) = serde_json::to_vec(&record) else { return };
        // The answer waits for the record at most 2 s, and not at all while the bus is unreachable: then the
        // record is kept in memory and stored when the bus is back.
        if bangban_platform::bus::is_connected(&self.client)
            && tokio::time::timeout(Duration::from_secs(2), self.publish_once(&subject, &record, &payload))
                .await
                .is_ok_and(|r| r.is_ok())
        {
            return;
        }
        metrics::counter!("bangban_gateway_audit_failures_total").increment(1);
        let this = self.clone();
        tokio::spawn(async move {
            let mut wait = Duration::from_secs(1);
            for _ in 0..12 {
                tokio::time::sleep(wait).await;
                match this.publish_once(&subject, &record, &payload).await {
                    Ok(()) => return,
                    Err(e) => tracing::warn!(error = %e, id = %record.id, "audit record not stored yet"),
                }
                wait = (wait * 2).min(Duration::from_secs(120));
            }
            tracing::error!(id = %record.id, method = %record.method, route = %record.route, "audit record lost");
        });
    }

    /// Records in `filter` from `deliver`, at most `limit`, scanning at most `scan` records.
    async fn read(
        &self,
        filter: String,
        deliver: DeliverPolicy,
        limit: usize,
        scan: usize,
        keep: impl Fn(&AuditRecord) -> bool,
    ) -> Result<(Vec<AuditRecord>, Option<u64>), Problem> {
        self.ensure().await?;
        let stream = self.js.get_stream(STREAM).await.map_err(|_| unavailable())?;
        let consumer = stream
            .create_consumer(jetstream::consumer::pull::OrderedConfig {
                filter_subject: filter,
                deliver_policy: deliver,
                ..Default::default()
            })
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "cannot read the audit log");
                unavailable()
            })?;
        let mut pending = consumer.cached_info().num_pending;
        let mut out = Vec::new();
        let mut last = None;
        if pending == 0 {
            return Ok((out, None));
        }
        let mut messages = consumer.messages().await.map_err(|_| unavailable())?;
        let mut scanned = 0;
        while pending > 0 && out.len() < limit && scanned < scan {
            let Ok(Some(Ok(msg))) = tokio::time::timeout(Duration::from_secs(3), messages.next()).await else {
                break;
            };
            scanned += 1;
            let Ok(info) = msg.info() else { break };
            pending = info.pending;
            last = Some(info.stream_sequence);
            if let Ok(mut record) = serde_json::from_slice::<AuditRecord>(&msg.payload) {
                record.seq = Some(info.stream_sequence);
                if keep(&record) {
                    out.push(record);
                }
            }
        }
        Ok((out, if pending > 0 { last } else { None }))
    }
}

fn actor_of(principal: &Principal) -> AuditActor {
    AuditActor {
        sub: principal.sub.clone(),
        role: principal.role.as_str().to_string(),
        office: principal.office.clone(),
        unit: principal.unit.clone(),
    }
}

/// The request's trace id: its span's, else the one it was sent with.
fn trace_id(headers: &HeaderMap) -> Option<String> {
    bangban_telemetry::current_trace_id().or_else(|| {
        let traceparent = headers.get("traceparent")?.to_str().ok()?;
        bangban_telemetry::propagation::trace_id_of_traceparent(traceparent).map(str::to_string)
    })
}

/// Records every write (a route layer: it knows the matched route).
pub async fn audit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let method = req.method().to_string();
    let route = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_string());
    let path = req.uri().path().to_string();
    let via = if req.extensions().get::<SessionContext>().is_some() {
        "session"
    } else if req.headers().contains_key(header::AUTHORIZATION) {
        "bearer"
    } else {
        "anonymous"
    };
    let actor = match bangban_platform::auth::bearer_token(req.headers()) {
        Ok(Some(token)) => state.auth.verify(token).await.ok().map(|p| actor_of(&p)),
        _ => None,
    };
    let peer = req.extensions().get::<ConnectInfo<std::net::SocketAddr>>().map(|c| c.0);
    let client = crate::security::client_ip(req.headers(), peer, &state.trusted_proxies).map(|ip| ip.to_string());
    let trace = trace_id(req.headers());
    let res = next.run(req).await;
    let status = res.status().as_u16();
    let route = route.unwrap_or_else(|| path.clone());
    let record = AuditRecord {
        id: Uuid::now_v7(),
        at: Utc::now(),
        via: if actor.is_none() { "anonymous".into() } else { via.into() },
        actor,
        method,
        path: if route.contains("{code}") { route.clone() } else { path },
        route,
        status,
        outcome: match status {
            0..400 => "success",
            400..500 => "refused",
            _ => "failed",
        }
        .into(),
        client,
        trace_id: trace,
        seq: None,
    };
    state.audit.record(record).await;
    res
}

/// Query of `GET /api/v1/audit`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// From this instant (RFC 3339); default: 7 days ago.
    pub from: Option<DateTime<Utc>>,
    /// Up to this instant (RFC 3339).
    pub to: Option<DateTime<Utc>>,
    /// Records after this position (`next_after` of the previous page).
    pub after: Option<u64>,
    /// Only this office's actors (city supervisors; a county's are always their own).
    pub office: Option<String>,
    /// Only this actor (`sub`).
    pub actor: Option<String>,
    /// `success`, `refused` or `failed`.
    pub outcome: Option<String>,
    /// Page size, 1–500 (default 100).
    pub limit: Option<usize>,
}

/// A page of the audit log.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    /// Oldest first.
    pub items: Vec<AuditRecord>,
    /// Pass as `after` for the next page; absent at the end.
    pub next_after: Option<u64>,
}

/// The audit log (审计日志), for supervisors.
#[utoipa::path(
    get, path = "/api/v1/audit", tag = "audit",
    params(AuditQuery),
    responses(
        (status = 200, description = "审计记录 / audit records", body = AuditPage,
         example = json!({"items": [{"id": "0193c0de-0000-7000-8000-000000000001", "at": "2026-03-02T09:15:00Z",
             "actor": {"sub": "staff-371600-assistant-1", "role": "assistant", "office": "371600"}, "via": "session",
             "method": "POST", "route": "/api/v1/cases", "path": "/api/v1/cases", "status": 201, "outcome": "success",
             "client": "10.1.2.3", "seq": 42}], "next_after": null})),
        (status = 400, description = "参数错误 / bad query", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "仅督查人员可查阅 / supervisors only", body = Problem),
        (status = 503, description = "暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn list_audit(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<AuditPage>, Problem> {
    principal.require_role(&[Role::Supervisor])?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(Problem::invalid_field("limit", "须在 1 到 500 之间", "must be between 1 and 500"));
    }
    if let Some(o) = &q.outcome
        && !["success", "refused", "failed"].contains(&o.as_str())
    {
        return Err(Problem::invalid_field(
            "outcome",
            "可选值：success、refused、failed",
            "expected success, refused or failed",
        ));
    }
    let city = principal.office == bangban_contracts::office::CITY_OFFICE;
    let office = match (&q.office, city) {
        (Some(o), _) if !bangban_contracts::office::is_known_office(o) && o != "anonymous" => {
            return Err(Problem::invalid_field(
                "office",
                format!("未知的机构代码 {o:?}"),
                format!("unknown office code {o:?}"),
            ));
        }
        (Some(o), false) if *o != principal.office => {
            return Err(Problem::forbidden(
                "只能查阅本机构的审计记录",
                "a county's supervisors read their own office's records only",
            ));
        }
        (Some(o), _) => Some(o.clone()),
        (None, true) => None,
        (None, false) => Some(principal.office.clone()),
    };
    let filter = match &office {
        Some(o) => format!("{SUBJECT_PREFIX}.{o}.>"),
        None => format!("{SUBJECT_PREFIX}.>"),
    };
    let deliver = match (q.after, q.from) {
        (Some(after), _) => DeliverPolicy::ByStartSequence { start_sequence: after + 1 },
        (None, from) => {
            let from = from.unwrap_or_else(|| Utc::now() - chrono::Duration::days(7));
            let start_time = async_nats::datetime::parse_rfc3339(&from.to_rfc3339())
                .map_err(|_| Problem::invalid_field("from", "时间格式无效", "not an RFC 3339 instant"))?;
            DeliverPolicy::ByStartTime { start_time }
        }
    };
    let (to, actor, outcome) = (q.to, q.actor.clone(), q.outcome.clone());
    let (items, next_after) = state
        .audit
        .read(filter, deliver, limit, 10_000, |r| {
            to.is_none_or(|t| r.at <= t)
                && actor.as_ref().is_none_or(|a| r.actor.as_ref().is_some_and(|x| &x.sub == a))
                && outcome.as_ref().is_none_or(|o| &r.outcome == o)
        })
        .await?;
    Ok(Json(AuditPage { items, next_after }))
}

/// The routes of the audit log.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/audit", get(list_audit))
}

/// The OpenAPI of the audit log.
#[derive(utoipa::OpenApi)]
#[openapi(paths(list_audit), components(schemas(AuditPage, AuditRecord, AuditActor)))]
pub struct Api;
