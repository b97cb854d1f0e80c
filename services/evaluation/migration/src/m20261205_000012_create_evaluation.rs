//! Evaluation's tables: what it knows of cases and tasks (from the bus), invitations with their one-time codes
//! (hashed), ratings (append-only: one per matter), rectifications, appeals.
//!
//! Instants the escalation scan compares are microseconds since the epoch (BIGINT).

use bangban_platform::migration::schema::{Kind::*, index, table};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        table(
            manager,
            "case_info",
            ("case_id", S(36)),
            &[
                ("ledger_no", S(32), false),
                ("office", S(6), false),
                ("applicant_id", S(36), false),
                ("specialist_id", S(64), false),
                ("service_type", S(16), false),
                ("category", S(32), true),
                ("terminated", Bool, false),
            ],
        )
        .await?;
        table(
            manager,
            "task_info",
            ("task_id", S(36)),
            &[
                ("case_id", S(36), false),
                ("code", S(32), false),
                ("name", S(200), false),
                ("stage", S(32), false),
                ("unit_code", S(32), false),
                ("unit_name", S(100), true),
                ("unit_office", S(6), false),
                ("promised_working_days", Int, false),
                ("received_at", At, true),
                ("concluded_at", At, true),
                ("outcome", S(16), true),
                ("overdue", Bool, false),
                ("working_days", Int, true),
            ],
        )
        .await?;
        index(manager, "task_info_concluded", "task_info", &["concluded_at"], false).await?;
        index(manager, "task_info_case", "task_info", &["case_id"], false).await?;
        table(
            manager,
            "invitation",
            ("id", S(36)),
            &[
                // `task:<id>` or `case:<id>`: one invitation and one rating per matter.
                ("matter_key", S(48), false),
                ("code_hash", S(64), false),
                ("case_id", S(36), false),
                ("ledger_no", S(32), false),
                ("task_id", S(36), true),
                ("item_name", S(200), false),
                ("unit_name", S(100), true),
                ("office", S(6), false),
                ("applicant_id", S(36), false),
                ("invited_at", At, false),
                ("invited_us", Big, false),
                ("rated_at", At, true),
                ("evaluation_id", S(36), true),
            ],
        )
        .await?;
        index(manager, "invitation_matter", "invitation", &["matter_key"], true).await?;
        index(manager, "invitation_code", "invitation", &["code_hash"], true).await?;
        index(manager, "invitation_case", "invitation", &["case_id"], false).await?;
        index(manager, "invitation_open", "invitation", &["rated_at", "invited_us"], false).await?;
        table(
            manager,
            "evaluation",
            ("id", S(36)),
            &[
                ("matter_key", S(48), false),
                ("case_id", S(36), false),
                ("task_id", S(36), true),
                ("ledger_no", S(32), false),
                ("office", S(6), false),
                ("item_name", S(200), false),
                ("unit_code", S(32), true),
                ("unit_office", S(6), true),
                ("specialist_id", S(64), false),
                ("applicant_id", S(36), false),
                ("category", S(32), true),
                ("stage", S(32), true),
                ("level", Int, false),
                ("comment", Text, true),
                ("tags", Text, false),
                ("channel", S(16), false),
                ("entered_by", S(64), true),
                ("submitted_at", At, false),
                ("bad", Bool, false),
                ("rectification_id", S(36), true),
            ],
        )
        .await?;
        index(manager, "evaluation_once", "evaluation", &["matter_key"], true).await?;
        index(manager, "evaluation_submitted", "evaluation", &["submitted_at"], false).await?;
        index(manager, "evaluation_office", "evaluation", &["office", "submitted_at"], false).await?;
        index(manager, "evaluation_applicant", "evaluation", &["applicant_id"], false).await?;
        table(
            manager,
            "rectification",
            ("id", S(36)),
            &[
                ("evaluation_id", S(36), false),
                ("case_id", S(36), false),
                ("task_id", S(36), true),
                ("item_name", S(200), false),
                ("level", Int, false),
                ("comment", Text, true),
                ("assignee", Text, false),
                ("assignee_key", S(64), false),
                ("assignee_office", S(6), false),
                ("specialist_id", S(64), false),
                ("office", S(6), false),
                ("status", S(16), false),
                ("opened_at", At, false),
                ("contact_due", S(10), false),
                ("due", S(10), false),
                // When the scan must look again (the contact or the answer falls due); null once answered.
                ("check_us", Big, true),
                ("contacted_at", At, true),
                ("contact_note", Text, true),
                ("fix", Text, true),
                ("answer", Text, true),
                ("answered_at", At, true),
                ("fix_rating", S(24), true),
                ("closed_at", At, true),
                ("escalated_at", At, true),
                ("escalation_reason", Text, true),
                ("on_time", Bool, true),
            ],
        )
        .await?;
        index(manager, "rectification_check", "rectification", &["check_us"], false).await?;
        index(manager, "rectification_office", "rectification", &["office"], false).await?;
        index(manager, "rectification_once", "rectification", &["evaluation_id"], true).await?;
        table(
            manager,
            "appeal",
            ("id", S(36)),
            &[
                ("evaluation_id", S(36), false),
                ("office", S(6), false),
                ("filed_by", S(64), false),
                ("reason", Text, false),
                ("evidence", Text, false),
                ("status", S(16), false),
                ("decided_by", S(64), true),
                ("decision_note", Text, true),
                ("filed_at", At, false),
                ("decided_at", At, true),
            ],
        )
        .await?;
        index(manager, "appeal_once", "appeal", &["evaluation_id"], true).await?;
        Ok(())
    }
}
