//! Intake on the platform's service skeleton (服务接线): its state built from the settings, its operations on
//! the bus by operation type (cases and the register, consultations, results and the archive) and the
//! consumers that follow planning and routing.

use std::sync::Arc;

use bangban_contracts::intake::{SERVICE, consultation, ops, results};
use bangban_platform::{
    objects::DocumentStore,
    rpc::Endpoints,
    service::{Context, Service},
};

use crate::{IntakeService, Migrator, case_ops::LifecycleFollower, pii_cipher, seed};

impl Service for IntakeService {
    const NAME: &'static str = SERVICE;
    const DESCRIPTION: &'static str = "受理：案件与台账 / intake: cases and the ledger";
    const KEEPS_PERSONAL_DATA: bool = true;
    type Migrator = Migrator;
    /// Intake has no settings section of its own: the PII key and the document store are platform settings.
    type Settings = ();

    /// Loads the offices (reference data), the key for personal data and the archive's document store (the
    /// settings' `[storage]`, by default `<data_dir>/objects`).
    async fn build(ctx: &Context<'_>, _settings: ()) -> anyhow::Result<Arc<Self>> {
        seed::seed_offices(&ctx.db).await?;
        let store = DocumentStore::from_settings(&ctx.settings.storage, &ctx.settings.data_dir)?;
        tracing::info!(store = ?store, "intake: archive document store");
        let service = IntakeService::new(ctx.db.clone(), ctx.notifier.clone(), pii_cipher(ctx.settings)?);
        Ok(Arc::new(service.with_store(store)))
    }

    async fn endpoints(ep: &mut Endpoints<'_, Self>) -> Result<(), async_nats::Error> {
        // Cases, the register, offices and staff.
        ep.add::<ops::CaseCreate, _, _, _>(|i, r| async move { i.create_case(r).await }).await?;
        ep.add::<ops::CaseGet, _, _, _>(|i, r| async move { i.get_case(r.id).await }).await?;
        ep.add::<ops::CaseList, _, _, _>(|i, r| async move { i.list_cases(r).await }).await?;
        ep.add::<ops::CaseTerminate, _, _, _>(|i, r| async move { i.terminate_case(r).await }).await?;
        ep.add::<ops::CaseChangeSpecialist, _, _, _>(|i, r| async move { i.change_specialist(r).await }).await?;
        ep.add::<ops::ApplicantReveal, _, _, _>(|i, r| async move { i.reveal_applicant(r).await }).await?;
        ep.add::<ops::ApplicantRegister, _, _, _>(|i, r| async move { i.register_applicant(r).await }).await?;
        ep.add::<ops::ApplicantList, _, _, _>(|i, r| async move { i.list_applicants(r).await }).await?;
        ep.add::<ops::ProjectRegister, _, _, _>(|i, r| async move { i.register_project(r).await }).await?;
        ep.add::<ops::ProjectList, _, _, _>(|i, r| async move { i.list_projects(r).await }).await?;
        ep.add::<ops::OfficeList, _, _, _>(|i, _| async move { i.list_offices().await }).await?;
        ep.add::<ops::ContactResolve, _, _, _>(|i, r| async move { i.resolve_contacts(r).await }).await?;
        ep.add::<ops::StaffList, _, _, _>(|i, r| async move { i.list_staff(r).await }).await?;

        // Consultations and joint meetings (对接需求).
        use consultation::ops as c;
        ep.add::<c::ConsultationRecord, _, _, _>(|i, r| async move { i.record_consultation(r).await }).await?;
        ep.add::<c::ConsultationHotline, _, _, _>(|i, r| async move { i.record_hotline(r).await }).await?;
        ep.add::<c::ConsultationList, _, _, _>(|i, r| async move { i.list_consultations(r).await }).await?;
        ep.add::<c::ConsultationGet, _, _, _>(|i, r| async move { i.get_consultation(r.id).await }).await?;
        ep.add::<c::JointMeetingSchedule, _, _, _>(|i, r| async move { i.schedule_joint_meeting(r).await }).await?;
        ep.add::<c::JointMeetingMinutes, _, _, _>(|i, r| async move { i.record_joint_meeting_minutes(r).await })
            .await?;

        // Results and the archive (告知结果、资料归档).
        use results::ops as r;
        ep.add::<r::ResultsGet, _, _, _>(|i, q| async move { i.results(q.case_id).await }).await?;
        ep.add::<r::ResultsRecord, _, _, _>(|i, q| async move { i.record_deliveries(q).await }).await?;
        ep.add::<r::ResultsDelivered, _, _, _>(|i, q| async move { i.declare_delivered(q).await }).await?;
        ep.add::<r::CustodyReceive, _, _, _>(|i, q| async move { i.receive_custody(q).await }).await?;
        ep.add::<r::CustodyReturn, _, _, _>(|i, q| async move { i.return_custody(q).await }).await?;
        ep.add::<r::ArchiveList, _, _, _>(|i, q| async move { i.archive(q.case_id).await }).await?;
        ep.add::<r::ArchiveChunk, _, _, _>(|i, q| async move { i.stage_chunk(q).await }).await?;
        ep.add::<r::ArchiveFile, _, _, _>(|i, q| async move { i.file_document(q).await }).await?;
        ep.add::<r::ArchiveRead, _, _, _>(|i, q| async move { i.read_document(q).await }).await?;
        ep.add::<r::ArchiveComplete, _, _, _>(|i, q| async move { i.complete_archive(q).await }).await?;
        Ok(())
    }

    /// Follows planning and routing: `plan.published` → planned, the first `task.dispatched` → in progress
    /// (and the unit may read the archive), `plan.completed` → ready for results.
    fn run(self: &Arc<Self>, ctx: &Context<'_>) -> anyhow::Result<()> {
        for (name, filter) in LifecycleFollower::consumers() {
            ctx.consume(name, filter, Arc::new(LifecycleFollower { intake: self.clone() }));
        }
        Ok(())
    }
}
