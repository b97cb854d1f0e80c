//! Notification's service operations on the bus (`bb.svc.notification.*`).

use std::{future::Future, sync::Arc};

use async_nats::service::Service;
use bangban_contracts::notification::{ListInbox, ListMessages, MarkRead, RecordReceipts, SERVICE, ops};
use bangban_platform::{problem::Problem, rpc};
use serde::{Serialize, de::DeserializeOwned};
use tokio_util::sync::CancellationToken;

use crate::NotificationService;

type Handle = tokio::task::JoinHandle<()>;

async fn serve_op<Req, Resp, E, F, Fut>(
    service: &Service,
    state: &Arc<NotificationService>,
    operation: &str,
    f: F,
    shutdown: &CancellationToken,
) -> Result<Handle, async_nats::Error>
where
    Req: DeserializeOwned + Send + 'static,
    Resp: Serialize + Send + 'static,
    E: Into<Problem> + Send + 'static,
    F: Fn(Arc<NotificationService>, Req) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Resp, E>> + Send + 'static,
{
    rpc::serve_with_state(service, SERVICE, state, operation, f, shutdown).await
}

/// Serves every operation of notification until shutdown.
pub async fn serve_all(
    service: &Service,
    notification: Arc<NotificationService>,
    shutdown: CancellationToken,
) -> Result<Vec<Handle>, async_nats::Error> {
    let (n, s) = (&notification, &shutdown);
    Ok(vec![
        serve_op(service, n, ops::INBOX_LIST, |n, q: ListInbox| async move { n.list_inbox(q).await }, s).await?,
        serve_op(service, n, ops::INBOX_MARK_READ, |n, q: MarkRead| async move { n.mark_read(q).await }, s).await?,
        serve_op(service, n, ops::MESSAGE_LIST, |n, q: ListMessages| async move { n.list_messages(q).await }, s)
            .await?,
        serve_op(service, n, ops::RECEIPT_RECORD, |n, q: RecordReceipts| async move { n.record_receipts(q).await }, s)
            .await?,
    ])
}
