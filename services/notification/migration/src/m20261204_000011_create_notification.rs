//! Notification's tables: messages (one per event, recipient and template, the number encrypted), the
//! in-app inbox, and the replay keys of signed receipts.
//!
//! Instants the sender orders or compares (`next_us`, `released_us`) are microseconds since the epoch
//! (BIGINT), so SQLite and PostgreSQL order them the same way.

use bangban_platform::migration::schema::{Kind::*, index, table};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        table(
            manager,
            "message",
            ("id", S(36)),
            &[
                // event id | inbox owner | template: the exactly-once key.
                ("dedupe_key", S(200), false),
                ("event_id", S(64), false),
                ("event_type", S(64), false),
                ("recipient", Text, false),
                ("owner", S(120), false),
                ("phone_enc", Text, true),
                // HMAC blind index of the number: the rate limits count per number without decrypting.
                ("phone_index", S(64), true),
                ("phone_masked", S(32), false),
                ("template_id", S(40), false),
                ("template_version", Int, false),
                ("params", Text, false),
                ("text", Text, false),
                ("chars", Int, false),
                ("segments", Int, false),
                ("urgent", Bool, false),
                ("state", S(20), false),
                ("provider", S(16), false),
                ("provider_message_id", S(128), true),
                ("attempts", Int, false),
                // When the sender looks at it next (created, or waiting for a retry); null otherwise.
                ("next_us", Big, true),
                // When the limiter released it (counts against the number's limits from then on).
                ("released_us", Big, true),
                ("send_after", At, true),
                ("defer_reason", S(20), true),
                ("last_error", Text, true),
                ("case_id", S(36), true),
                ("task_id", S(36), true),
                ("office", S(6), false),
                ("created_at", At, false),
                ("first_attempt_at", At, true),
                ("sending_since", At, true),
                ("sent_at", At, true),
                ("delivered_at", At, true),
                ("failed_at", At, true),
                ("updated_at", At, false),
            ],
        )
        .await?;
        index(manager, "message_once", "message", &["dedupe_key"], true).await?;
        index(manager, "message_next", "message", &["next_us"], false).await?;
        index(manager, "message_phone", "message", &["phone_index", "released_us"], false).await?;
        index(manager, "message_provider_id", "message", &["provider_message_id"], false).await?;
        index(manager, "message_state", "message", &["state", "sending_since"], false).await?;
        index(manager, "message_office", "message", &["office", "created_at"], false).await?;
        index(manager, "message_case", "message", &["case_id"], false).await?;

        table(
            manager,
            "inbox_notice",
            ("id", S(36)),
            &[
                ("dedupe_key", S(200), false),
                ("owner", S(120), false),
                ("template_id", S(40), false),
                ("title", S(100), false),
                ("text", Text, false),
                ("case_id", S(36), true),
                ("task_id", S(36), true),
                ("created_at", At, false),
                ("read_at", At, true),
            ],
        )
        .await?;
        index(manager, "inbox_notice_once", "inbox_notice", &["dedupe_key"], true).await?;
        index(manager, "inbox_notice_owner", "inbox_notice", &["owner", "created_at"], false).await?;

        table(manager, "receipt_replay", ("key", S(200)), &[("at", At, false)]).await?;
        // A case's service type (帮办 or 代办), from `case.accepted`: it decides how results reach the applicant.
        table(manager, "case_info", ("case_id", S(36)), &[("service_type", S(16), false)]).await?;
        Ok(())
    }
}
