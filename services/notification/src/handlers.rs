//! Notification's service operations on the bus, one per operation of [`ops`].

use bangban_contracts::notification::ops;
use bangban_platform::rpc::Endpoints;

use crate::NotificationService;

/// Registers every operation of notification.
pub(crate) async fn endpoints(ep: &mut Endpoints<'_, NotificationService>) -> Result<(), async_nats::Error> {
    ep.add::<ops::InboxList, _, _, _>(|n, q| async move { n.list_inbox(q).await }).await?;
    ep.add::<ops::InboxMarkRead, _, _, _>(|n, q| async move { n.mark_read(q).await }).await?;
    ep.add::<ops::MessageList, _, _, _>(|n, q| async move { n.list_messages(q).await }).await?;
    ep.add::<ops::ReceiptRecord, _, _, _>(|n, q| async move { n.record_receipts(q).await }).await?;
    Ok(())
}
