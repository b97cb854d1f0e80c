//! Deadline's tables: clocks with their pauses, extensions and timelines; the alarm schedule; supervision
//! notices; problems and consultations; the task messages kept as evidence; the case categories and the
//! calendar copy.
//!
//! Instants that are compared or ordered (`due_us`, `warn_us`, `fire_us`) are microseconds since the epoch
//! (BIGINT), so SQLite and PostgreSQL order them the same way.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(Clone, Copy)]
enum Kind {
    /// VARCHAR(n)
    S(u32),
    Text,
    Int,
    Big,
    Bool,
    At,
}

fn col(name: &str, kind: Kind, null: bool) -> ColumnDef {
    let mut c = ColumnDef::new(Alias::new(name));
    match kind {
        Kind::S(n) => c.string_len(n),
        Kind::Text => c.text(),
        Kind::Int => c.integer(),
        Kind::Big => c.big_integer(),
        Kind::Bool => c.boolean(),
        Kind::At => c.timestamp_with_time_zone(),
    };
    if null {
        c.null();
    } else {
        c.not_null();
    }
    c
}

async fn table(
    manager: &SchemaManager<'_>,
    name: &str,
    pk: (&str, Kind),
    cols: &[(&str, Kind, bool)],
) -> Result<(), DbErr> {
    let mut t = Table::create();
    t.table(Alias::new(name)).col(col(pk.0, pk.1, false).primary_key());
    for (n, k, null) in cols {
        t.col(col(n, *k, *null));
    }
    manager.create_table(t.to_owned()).await
}

async fn index(manager: &SchemaManager<'_>, name: &str, table: &str, cols: &[&str], unique: bool) -> Result<(), DbErr> {
    let mut i = Index::create();
    i.name(name).table(Alias::new(table));
    for c in cols {
        i.col(Alias::new(*c));
    }
    if unique {
        i.unique();
    }
    manager.create_index(i.to_owned()).await
}

use Kind::*;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        table(
            manager,
            "clock",
            ("task_id", S(36)),
            &[
                ("case_id", S(36), false),
                ("ledger_no", S(32), false),
                ("office", S(6), false),
                ("code", S(32), false),
                ("name", S(200), false),
                ("stage", S(32), false),
                ("category", S(32), true),
                ("unit_code", S(32), false),
                ("unit_name", S(100), true),
                ("unit_office", S(6), false),
                ("specialist_id", S(64), false),
                ("applicant_id", S(36), false),
                ("status", S(20), false),
                ("alert", S(10), false),
                ("promised_working_days", Int, false),
                ("extension_working_days", Int, false),
                ("paused_working_days", Int, false),
                ("dispatched_at", At, true),
                ("started_at", At, true),
                ("start_basis", S(32), true),
                ("due_date", S(10), true),
                ("due_us", Big, true),
                ("warn_us", Big, true),
                ("provisional", Bool, false),
                ("generation", Int, false),
                ("linked", Bool, false),
                ("acknowledge_by", At, true),
                ("acknowledged_at", At, true),
                ("finished_at", At, true),
                ("finished_date", S(10), true),
                ("on_time", Bool, true),
                ("used_working_days", Int, true),
                ("last_event_at", At, true),
                ("created_at", At, false),
                ("updated_at", At, false),
            ],
        )
        .await?;
        index(manager, "clock_by_case", "clock", &["case_id"], false).await?;
        index(manager, "clock_by_unit_office", "clock", &["unit_office", "status", "alert"], false).await?;
        index(manager, "clock_by_office", "clock", &["office", "status", "alert"], false).await?;
        index(manager, "clock_by_unit", "clock", &["unit_code", "status"], false).await?;
        index(manager, "clock_by_due", "clock", &["status", "due_us"], false).await?;
        index(manager, "clock_by_finished", "clock", &["finished_date"], false).await?;

        table(
            manager,
            "clock_pause",
            ("id", S(36)),
            &[
                ("task_id", S(36), false),
                ("kind", S(20), false),
                ("reason", Text, false),
                ("started_at", At, false),
                ("ended_at", At, true),
                ("started_by", S(128), false),
                ("ended_by", S(128), true),
            ],
        )
        .await?;
        index(manager, "clock_pause_by_task", "clock_pause", &["task_id"], false).await?;

        table(
            manager,
            "clock_extension",
            ("id", S(36)),
            &[
                ("task_id", S(36), false),
                ("working_days", Int, false),
                ("reason", Text, false),
                ("approved_by", S(128), false),
                ("requested_by", S(128), true),
                ("at", At, false),
            ],
        )
        .await?;
        index(manager, "clock_extension_by_task", "clock_extension", &["task_id"], false).await?;

        // Append-only: rows are inserted, never updated or deleted.
        table(
            manager,
            "clock_timeline",
            ("id", S(36)),
            &[
                ("task_id", S(36), false),
                ("at", At, false),
                ("kind", S(32), false),
                ("actor", S(128), false),
                ("note", Text, false),
                ("due_at", At, true),
            ],
        )
        .await?;
        index(manager, "clock_timeline_by_task", "clock_timeline", &["task_id", "id"], false).await?;

        // The alarm schedule: one row per pending alarm, deleted when it fires or is superseded. The engine
        // reads only the head of `alarm_due` (never every clock).
        table(
            manager,
            "alarm",
            ("id", S(36)),
            &[
                ("subject_id", S(36), false),
                ("kind", S(32), false),
                ("generation", Int, false),
                ("fire_us", Big, false),
            ],
        )
        .await?;
        index(manager, "alarm_due", "alarm", &["fire_us"], false).await?;
        index(manager, "alarm_once", "alarm", &["subject_id", "kind", "generation"], true).await?;

        table(
            manager,
            "case_info",
            ("case_id", S(36)),
            &[("category", S(32), false), ("office", S(6), false), ("updated_at", At, false)],
        )
        .await?;

        table(
            manager,
            "task_message",
            ("event_id", S(64)),
            &[
                ("task_id", S(36), false),
                ("event_type", S(100), false),
                ("action", S(32), false),
                ("actor", S(128), false),
                ("at", At, false),
                ("note", Text, true),
            ],
        )
        .await?;
        index(manager, "task_message_by_task", "task_message", &["task_id", "at"], false).await?;

        table(
            manager,
            "supervision",
            ("id", S(36)),
            &[
                ("number", S(64), false),
                ("kind", S(16), false),
                ("status", S(16), false),
                ("task_id", S(36), false),
                ("case_id", S(36), false),
                ("ledger_no", S(32), false),
                ("office", S(6), false),
                ("task_code", S(32), false),
                ("task_name", S(200), false),
                ("unit_code", S(32), false),
                ("unit_name", S(100), true),
                ("unit_office", S(6), false),
                ("reason", Text, false),
                ("due_at", At, true),
                ("days_overdue", Int, false),
                ("issued_at", At, false),
                ("response_due", S(10), false),
                ("escalate_on", S(10), false),
                ("answer", Text, true),
                ("resolved_at", At, true),
                ("escalation", Text, true),
                ("evidence", Text, true),
                ("decision", Text, true),
                ("applicant_id", S(36), false),
                ("specialist_id", S(64), false),
                ("updated_at", At, false),
            ],
        )
        .await?;
        index(manager, "supervision_number", "supervision", &["number"], true).await?;
        index(manager, "supervision_by_task", "supervision", &["task_id"], false).await?;
        index(manager, "supervision_by_unit_office", "supervision", &["unit_office", "status"], false).await?;
        index(manager, "supervision_by_office", "supervision", &["office", "status"], false).await?;

        // Notice numbers per office and year (督办单编号).
        table(manager, "supervision_seq", ("key", S(16)), &[("next", Big, false)]).await?;

        table(
            manager,
            "problem",
            ("id", S(36)),
            &[
                ("task_id", S(36), false),
                ("case_id", S(36), false),
                ("office", S(6), false),
                ("unit_office", S(6), false),
                ("unit_code", S(32), false),
                ("description", Text, false),
                ("status", S(16), false),
                ("recorded_by", S(128), false),
                ("recorded_at", At, false),
                ("solve_by", S(10), false),
                ("referred_at", At, true),
                ("referral_reason", Text, true),
                ("solved_at", At, true),
                ("solution", Text, true),
                ("consultation_id", S(36), true),
            ],
        )
        .await?;
        index(manager, "problem_by_task", "problem", &["task_id"], false).await?;
        index(manager, "problem_by_office", "problem", &["office", "status"], false).await?;
        index(manager, "problem_by_case", "problem", &["case_id"], false).await?;

        table(
            manager,
            "consultation",
            ("id", S(36)),
            &[
                ("kind", S(16), false),
                ("office", S(6), false),
                ("topic", Text, false),
                ("held_at", At, false),
                ("problem_ids", Text, false),
                ("case_ids", Text, false),
                ("attendees", Text, false),
                ("decisions", Text, false),
                ("follow_ups", Text, false),
                ("recorded_by", S(128), false),
                ("recorded_at", At, false),
            ],
        )
        .await?;
        index(manager, "consultation_by_office", "consultation", &["office", "held_at"], false).await?;

        // Deadline's copy of the working-day calendar, from `calendar.changed`.
        table(manager, "calendar_year", ("year", Int), &[("schedule", Text, false)]).await?;
        table(manager, "calendar_override", ("date", S(10)), &[("day", Text, false)]).await?;
        // Planning's calendar revision this copy is at; replicas reload when it moves.
        table(manager, "calendar_state", ("id", Int), &[("revision", Big, false)]).await?;
        Ok(())
    }
}
