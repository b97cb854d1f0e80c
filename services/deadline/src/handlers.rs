//! Deadline's service operations on the bus, registered by operation type (`deadline::ops`).

use bangban_contracts::deadline::ops;
use bangban_platform::rpc::Endpoints;

use crate::DeadlineService;

/// Registers every operation of deadline.
pub async fn register(ep: &mut Endpoints<'_, DeadlineService>) -> Result<(), async_nats::Error> {
    ep.add::<ops::ClockGet, _, _, _>(|d, q| async move { d.get_clock(q.task_id).await }).await?;
    ep.add::<ops::ClockCase, _, _, _>(|d, q| async move { d.case_clocks(q).await }).await?;
    ep.add::<ops::ClockList, _, _, _>(|d, q| async move { d.list_clocks(q).await }).await?;
    ep.add::<ops::ClockPause, _, _, _>(|d, q| async move { d.pause(q).await }).await?;
    ep.add::<ops::ClockResume, _, _, _>(|d, q| async move { d.resume(q).await }).await?;
    ep.add::<ops::ClockExtend, _, _, _>(|d, q| async move { d.extend(q).await }).await?;
    ep.add::<ops::SupervisionList, _, _, _>(|d, q| async move { d.list_notices(q).await }).await?;
    ep.add::<ops::SupervisionGet, _, _, _>(|d, q| async move { d.get_notice(q).await }).await?;
    ep.add::<ops::SupervisionAnswer, _, _, _>(|d, q| async move { d.answer(q).await }).await?;
    ep.add::<ops::SupervisionDecide, _, _, _>(|d, q| async move { d.decide(q).await }).await?;
    ep.add::<ops::ProblemRecord, _, _, _>(|d, q| async move { d.record_problem(q).await }).await?;
    ep.add::<ops::ProblemSolve, _, _, _>(|d, q| async move { d.solve_problem(q).await }).await?;
    ep.add::<ops::ProblemRefer, _, _, _>(|d, q| async move { d.refer(q).await }).await?;
    ep.add::<ops::ProblemGet, _, _, _>(|d, q| async move { d.get_problem(q.id).await }).await?;
    ep.add::<ops::ProblemList, _, _, _>(|d, q| async move { d.list_problems(q).await }).await?;
    ep.add::<ops::ConsultationRecord, _, _, _>(|d, q| async move { d.record_consultation(q).await }).await?;
    ep.add::<ops::ConsultationList, _, _, _>(|d, q| async move { d.list_consultations(q).await }).await?;
    ep.add::<ops::Monitoring, _, _, _>(|d, q| async move { d.monitoring(q).await }).await?;
    Ok(())
}
