//! Service operations over NATS (服务调用): `bb.svc.<service>.<operation>` endpoints of the NATS
//! service API with queue groups, JSON in and out, errors as problems in the
//! `Nats-Service-Error`/`Nats-Service-Error-Code` headers with the problem document as the body.

use std::{future::Future, sync::Arc, time::Duration};

use async_nats::{
    Client, HeaderMap,
    service::{Service, ServiceExt},
};
use bangban_contracts::{Operation, subjects::SERVICE_PREFIX};
use bangban_telemetry::{propagation, spans};
use bytes::Bytes;
use futures::StreamExt;
use serde::{Serialize, de::DeserializeOwned};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::{bus, problem::Problem};

pub const SERVICE_ERROR: &str = "Nats-Service-Error";
pub const SERVICE_ERROR_CODE: &str = "Nats-Service-Error-Code";

/// Starts the NATS service `name` (discoverable with `$SRV.PING`); endpoints are added with [`Endpoints`].
pub async fn start_service(client: &Client, name: &str, description: &str) -> Result<Service, async_nats::Error> {
    client
        .service_builder()
        .description(description)
        .queue_group("bangban")
        .start(name, env!("CARGO_PKG_VERSION"))
        .await
}

/// A service's endpoints on the bus (服务端点), registered by operation type: each handler gets the service's
/// state and the decoded request of its operation, and returns its reply or an error that becomes the problem
/// the caller receives.
///
/// ```ignore
/// let mut ep = Endpoints::new(&nats_service, state, shutdown.token());
/// ep.add::<ops::ClockGet, _, _, _>(|d, q| async move { d.get_clock(q.task_id).await }).await?;
/// ```
pub struct Endpoints<'a, S> {
    service: &'a Service,
    state: Arc<S>,
    shutdown: CancellationToken,
    handles: Vec<tokio::task::JoinHandle<()>>,
    names: Vec<&'static str>,
}

impl<'a, S: Send + Sync + 'static> Endpoints<'a, S> {
    pub fn new(service: &'a Service, state: Arc<S>, shutdown: CancellationToken) -> Self {
        Self { service, state, shutdown, handles: Vec::new(), names: Vec::new() }
    }

    /// Serves operation `O` with `f` until shutdown.
    pub async fn add<O, E, F, Fut>(&mut self, f: F) -> Result<&mut Self, async_nats::Error>
    where
        O: Operation,
        E: Into<Problem> + Send + 'static,
        F: Fn(Arc<S>, O::Request) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O::Response, E>> + Send + 'static,
    {
        let state = self.state.clone();
        let handle = serve(
            self.service,
            O::SERVICE,
            O::NAME,
            move |req: O::Request| {
                let fut = f(state.clone(), req);
                async move { fut.await.map_err(Into::into) }
            },
            self.shutdown.clone(),
        )
        .await?;
        self.handles.push(handle);
        self.names.push(O::NAME);
        Ok(self)
    }

    /// The operations registered so far (`clock.get`, …).
    pub fn names(&self) -> &[&'static str] {
        &self.names
    }

    /// The tasks serving the endpoints; each ends at shutdown.
    pub fn into_handles(self) -> Vec<tokio::task::JoinHandle<()>> {
        self.handles
    }
}

/// Serves `operation` of `service` (`bb.svc.<service>.<operation>`) until shutdown. Each request runs
/// in its own task; the handler gets the decoded request and returns the reply or a problem.
pub async fn serve<Req, Resp, F, Fut>(
    service: &Service,
    service_name: &str,
    operation: &str,
    handler: F,
    shutdown: CancellationToken,
) -> Result<tokio::task::JoinHandle<()>, async_nats::Error>
where
    Req: DeserializeOwned + Send + 'static,
    Resp: Serialize + Send + 'static,
    F: Fn(Req) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Resp, Problem>> + Send + 'static,
{
    let group = service.group(format!("{SERVICE_PREFIX}.{service_name}"));
    let mut endpoint = group.endpoint(operation).await?;
    let handler = Arc::new(handler);
    let subject = format!("{SERVICE_PREFIX}.{service_name}.{operation}");
    let tasks = tokio_util::task::TaskTracker::new();
    Ok(tokio::spawn(async move {
        loop {
            let request = tokio::select! {
                _ = shutdown.cancelled() => break,
                r = endpoint.next() => r,
            };
            let Some(request) = request else { break };
            let handler = handler.clone();
            let subject = subject.clone();
            tasks.spawn(async move {
                let span = spans::service_span(&subject, propagation::extract_nats(request.message.headers.as_ref()));
                let reply = async {
                    match serde_json::from_slice::<Req>(&request.message.payload) {
                        Ok(req) => handler(req).await,
                        Err(e) => Err(Problem::malformed(
                            None,
                            format!("服务请求无法解析：{e}"),
                            format!("service request could not be decoded: {e}"),
                        )),
                    }
                }
                .instrument(span.clone())
                .await;
                let (headers, body) = match reply {
                    Ok(resp) => match serde_json::to_vec(&resp) {
                        Ok(body) => (HeaderMap::new(), body),
                        Err(e) => {
                            tracing::error!(parent: &span, error = %e, "reply could not be encoded");
                            problem_reply(&Problem::internal())
                        }
                    },
                    Err(problem) => {
                        if problem.status >= 500 {
                            spans::mark_error(&span);
                        }
                        problem_reply(&problem)
                    }
                };
                // Success and problem replies both go as a payload, so the problem's body travels.
                if let Err(e) = request.respond_with_headers(Ok(Bytes::from(body)), headers).await {
                    tracing::warn!(parent: &span, error = %e, "could not send reply");
                }
            });
        }
        tasks.close();
        tasks.wait().await;
    }))
}

fn problem_reply(problem: &Problem) -> (HeaderMap, Vec<u8>) {
    let mut h = HeaderMap::new();
    h.insert(SERVICE_ERROR, problem.title_en.as_str());
    h.insert(SERVICE_ERROR_CODE, problem.status.to_string().as_str());
    h.insert("content-type", crate::problem::PROBLEM_JSON);
    (h, serde_json::to_vec(problem).unwrap_or_default())
}

/// Why a call to another service failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The service answered with a problem (validation, not found, forbidden…).
    #[error("{0}")]
    Problem(Box<Problem>),
    /// No connection to NATS, nobody serving the subject, or no answer in time.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// The answer was not what the contract says.
    #[error("bad reply: {0}")]
    BadReply(String),
}

impl From<CallError> for Problem {
    fn from(e: CallError) -> Self {
        match e {
            CallError::Problem(p) => *p,
            CallError::Unavailable(why) => {
                tracing::warn!(%why, "dependency unavailable");
                Problem::unavailable(
                    "后台服务暂不可用，请稍后重试",
                    "a backend service is unavailable; try again later",
                )
            }
            CallError::BadReply(why) => {
                tracing::error!(%why, "bad reply from a service");
                Problem::internal()
            }
        }
    }
}

/// Calls the operation `O` with `req`, continuing the current trace: the request and the reply are the types
/// the contract pairs (`rpc::call::<deadline::ops::ClockGet>(&client, &GetClock { task_id }, timeout)`).
pub async fn call<O: Operation>(
    client: &Client,
    req: &O::Request,
    timeout: Duration,
) -> Result<O::Response, CallError> {
    call_subject(client, O::subject(), req, timeout).await
}

/// Calls a subject no contract names, for tests that probe what the bus refuses (permissions, unknown
/// operations). Services and the gateway use [`call`].
pub async fn call_subject<Req: Serialize, Resp: DeserializeOwned>(
    client: &Client,
    subject: String,
    req: &Req,
    timeout: Duration,
) -> Result<Resp, CallError> {
    let span = spans::client_span(&subject);
    async {
        // Fail fast rather than queue a request behind a dead connection.
        if !bus::is_connected(client) {
            return Err(CallError::Unavailable("NATS is not connected".into()));
        }
        let payload = serde_json::to_vec(req).map_err(|e| CallError::BadReply(e.to_string()))?;
        let mut headers = HeaderMap::new();
        propagation::inject_nats(&mut headers);
        let request = async_nats::Request::new().payload(payload.into()).headers(headers).timeout(Some(timeout));
        let msg = client.send_request(subject.clone(), request).await.map_err(|e| {
            use async_nats::RequestErrorKind::*;
            match e.kind() {
                NoResponders => CallError::Unavailable(format!("no service answers {subject}")),
                TimedOut => CallError::Unavailable(format!("{subject} did not answer within {timeout:?}")),
                MaxPayloadExceeded | InvalidSubject => CallError::BadReply(e.to_string()),
                Other => CallError::Unavailable(e.to_string()),
            }
        })?;
        if let Some(code) = msg.headers.as_ref().and_then(|h| h.get(SERVICE_ERROR_CODE)) {
            let problem = serde_json::from_slice::<Problem>(&msg.payload).unwrap_or_else(|_| {
                let status = code.as_str().parse::<u16>().unwrap_or(500);
                let mut p = Problem::internal();
                p.status = status;
                p
            });
            return Err(CallError::Problem(Box::new(problem)));
        }
        serde_json::from_slice(&msg.payload).map_err(|e| CallError::BadReply(e.to_string()))
    }
    .instrument(span)
    .await
}
