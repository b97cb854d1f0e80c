//! Evaluation's service operations on the bus, one per operation of [`ops`].

use bangban_contracts::evaluation::ops;
use bangban_platform::rpc::Endpoints;

use crate::EvaluationService;

/// Registers every operation of evaluation.
pub(crate) async fn endpoints(ep: &mut Endpoints<'_, EvaluationService>) -> Result<(), async_nats::Error> {
    ep.add::<ops::Submit, _, _, _>(|e, q| async move { e.submit(q).await }).await?;
    ep.add::<ops::InvitationByCode, _, _, _>(|e, q| async move { e.invitation_by_code(q).await }).await?;
    ep.add::<ops::SubmitByCode, _, _, _>(|e, q| async move { e.submit_by_code(q).await }).await?;
    ep.add::<ops::List, _, _, _>(|e, q| async move { e.list(q).await }).await?;
    ep.add::<ops::Get, _, _, _>(|e, q| async move { e.get(q).await }).await?;
    ep.add::<ops::InvitationList, _, _, _>(|e, q| async move { e.case_invitations(q).await }).await?;
    ep.add::<ops::RectificationList, _, _, _>(|e, q| async move { e.list_rectifications(q).await }).await?;
    ep.add::<ops::RectificationGet, _, _, _>(|e, q| async move { e.get_rectification(q).await }).await?;
    ep.add::<ops::RectificationStep, _, _, _>(|e, q| async move { e.rectification_step(q).await }).await?;
    ep.add::<ops::AppealFile, _, _, _>(|e, q| async move { e.file_appeal(q).await }).await?;
    ep.add::<ops::AppealDecide, _, _, _>(|e, q| async move { e.decide_appeal(q).await }).await?;
    ep.add::<ops::AppealList, _, _, _>(|e, q| async move { e.list_appeals(q).await }).await?;
    ep.add::<ops::Assessment, _, _, _>(|e, q| async move { e.assessment(q).await }).await?;
    ep.add::<ops::Statistics, _, _, _>(|e, q| async move { e.statistics(q).await }).await?;
    Ok(())
}
