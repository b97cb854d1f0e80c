//! The alarm engine (预警引擎): a schedule of pending alarms indexed by instant; the engine reads only its
//! head, so neither time nor memory grows with the number of open clocks.
//!
//! Exactly once: an alarm row is deleted in the same transaction as its effect and its event (outbox), and
//! it acts only when the clock is still in the state (generation) it was scheduled for. Replicas take due rows
//! with `FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite serializes writers. A crash before the commit leaves
//! the row to fire after the restart; after the commit the row is gone.

use std::{sync::Arc, time::Duration};

use bangban_contracts::{
    deadline::{AlertLevel, ClockStatus, ProblemStatus, StartBasis, SupervisionKind, SupervisionStatus},
    events::{TaskOverdue, TaskWarning},
};
use bangban_platform::{clock, db, due};
use bangban_workdays::Calendar;
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, LockBehavior, LockType},
};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{
    DeadlineService,
    clocks::alarm_data,
    emit,
    entity::{alarm, clock as clock_e, problem, supervision},
    error::Result,
    from_us, timeline, us,
};

bangban_contracts::labelled_enum! {
    /// What an alarm is for (提醒类别). The `alarm.kind` column stays text, read with [`AlarmKind::parse`], so a
    /// kind this version does not know is dropped by the engine instead of failing every batch it is in: typed,
    /// the one query that reads a batch would fail as `Corrupt` and the row, still due, would fail every batch
    /// after it.
    pub enum AlarmKind {
        /// The warning threshold of a clock state.
        Warning = "warning", "预警";
        /// The due instant of a clock state.
        Overdue = "overdue", "逾期";
        /// The unit has not received the task in time.
        Receipt = "receipt", "接收超时";
        /// The linked office has not acknowledged in time.
        LinkAck = "link_ack", "联动响应超时";
        /// A supervision notice not answered by its response date.
        SupervisionResponse = "supervision_response", "督办反馈期限";
        /// A supervision notice still unresolved on its escalation date.
        SupervisionEscalation = "supervision_escalation", "督办移送期限";
        /// A problem not solved in time goes to the office.
        Problem = "problem", "问题协调期限";
    }
}

impl AlarmKind {
    /// The alarms of a clock.
    pub const CLOCK: [AlarmKind; 4] = [Self::Warning, Self::Overdue, Self::Receipt, Self::LinkAck];
}

/// Schedules one alarm.
pub(crate) async fn schedule<C: ConnectionTrait>(
    conn: &C,
    subject_id: &str,
    kind: AlarmKind,
    generation: i32,
    at: DateTime<Utc>,
) -> Result<()> {
    alarm::ActiveModel {
        id: Set(Uuid::now_v7().to_string()),
        subject_id: Set(subject_id.to_string()),
        kind: Set(kind.as_str().into()),
        generation: Set(generation),
        fire_us: Set(us(at)),
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// Removes the pending alarms of these kinds for a subject.
pub(crate) async fn cancel<C: ConnectionTrait>(conn: &C, subject_id: &str, kinds: &[AlarmKind]) -> Result<()> {
    alarm::Entity::delete_many()
        .filter(alarm::Column::SubjectId.eq(subject_id.to_string()))
        .filter(alarm::Column::Kind.is_in(kinds.iter().map(|k| k.as_str())))
        .exec(conn)
        .await?;
    Ok(())
}

/// The instant of the earliest pending alarm.
pub async fn next_due<C: ConnectionTrait>(conn: &C) -> Result<Option<DateTime<Utc>>> {
    let row = alarm::Entity::find()
        .select_only()
        .expr(sea_orm::sea_query::ExprTrait::min(Expr::col(alarm::Column::FireUs)))
        .into_tuple::<Option<i64>>()
        .one(conn)
        .await?;
    Ok(row.flatten().map(from_us))
}

/// The alarm engine (提醒引擎) on the platform's due-work loop: fires what is due, then sleeps until the next alarm,
/// a local wake-up, a change of the platform clock, or the poll interval (alarms scheduled by other replicas).
impl due::DueWork for DeadlineService {
    const NAME: &'static str = "deadline engine";
    type Error = crate::error::DeadlineError;

    async fn next_due(&self) -> Result<Option<DateTime<Utc>>> {
        next_due(&self.db).await
    }

    async fn run_due(&self) -> Result<usize> {
        self.fire_due().await
    }

    fn wake(&self) -> &tokio::sync::Notify {
        &self.wake
    }
}

/// Runs the engine until shutdown.
pub async fn run(service: Arc<DeadlineService>, shutdown: CancellationToken) {
    let poll = Duration::from_millis(service.settings.poll_interval_ms.max(10));
    due::run(service, poll, shutdown).await;
}

impl DeadlineService {
    /// Fires one batch of due alarms in one transaction; returns how many rows it took.
    pub async fn fire_due(&self) -> Result<usize> {
        let now = clock::now();
        let txn = db::begin_write(&self.db).await?;
        let mut q = alarm::Entity::find()
            .filter(alarm::Column::FireUs.lte(us(now)))
            .order_by_asc(alarm::Column::FireUs)
            .limit(self.settings.batch_size.max(1));
        if db::supports_skip_locked(&txn) {
            q = q.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
        }
        let mut due = q.all(&txn).await?;
        if due.is_empty() {
            txn.rollback().await?;
            return Ok(0);
        }
        // One lock order in every replica: a notice issued while firing takes its office's number row
        // (`supervision_seq`, key `<unit office>-<year>`) until the commit; firing the batch in unit-office order
        // makes concurrent batches take those rows in the same order, so they queue instead of deadlocking.
        let subjects: Vec<String> = due.iter().map(|a| a.subject_id.clone()).collect();
        let offices: std::collections::HashMap<String, String> = clock_e::Entity::find()
            .select_only()
            .column(clock_e::Column::TaskId)
            .column(clock_e::Column::UnitOffice)
            .filter(clock_e::Column::TaskId.is_in(subjects))
            .into_tuple::<(String, String)>()
            .all(&txn)
            .await?
            .into_iter()
            .collect();
        due.sort_by(|a, b| (offices.get(&a.subject_id), a.fire_us).cmp(&(offices.get(&b.subject_id), b.fire_us)));
        let calendar = self.calendar(&txn).await?;
        let ids: Vec<String> = due.iter().map(|a| a.id.clone()).collect();
        let deleted = alarm::Entity::delete_many().filter(alarm::Column::Id.is_in(ids)).exec(&txn).await?;
        if deleted.rows_affected as usize != due.len() {
            // Another replica took some of them (SQLite without row locks cannot get here: writers are serial).
            txn.rollback().await?;
            return Ok(0);
        }
        let mut fired = 0;
        for a in &due {
            match self.fire(&txn, &calendar, a, now).await {
                Ok(true) => {
                    fired += 1;
                    metrics::counter!("bangban_deadline_alarms_fired_total", "kind" => a.kind.clone()).increment(1);
                    // How late after its instant (platform time) the alarm fired.
                    metrics::histogram!("bangban_deadline_alarm_lag_seconds")
                        .record((us(now) - a.fire_us).max(0) as f64 / 1e6);
                }
                Ok(false) => {}
                Err(crate::error::DeadlineError::Db(e)) => return Err(e.into()),
                // A row that cannot be understood must not hold up every alarm behind it.
                Err(e) => tracing::error!(alarm = %a.id, kind = %a.kind, error = %e, "alarm dropped"),
            }
        }
        txn.commit().await?;
        self.committed();
        let lag = due.iter().map(|a| us(now) - a.fire_us).max().unwrap_or(0);
        tracing::debug!(taken = due.len(), fired, max_lag_ms = lag / 1000, "alarms fired");
        Ok(due.len())
    }

    /// One alarm's effect; false when the state it was scheduled for has passed.
    async fn fire(
        &self,
        txn: &DatabaseTransaction,
        calendar: &Calendar,
        a: &alarm::Model,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let Some(kind) = AlarmKind::parse(&a.kind) else {
            tracing::warn!(kind = %a.kind, "unknown alarm kind dropped");
            return Ok(false);
        };
        let scheduled = from_us(a.fire_us);
        match kind {
            AlarmKind::Warning | AlarmKind::Overdue => {
                let Some(c) = clock_e::Entity::find_by_id(a.subject_id.clone()).one(txn).await? else {
                    return Ok(false);
                };
                let level = if kind == AlarmKind::Warning { AlertLevel::Warning } else { AlertLevel::Overdue };
                if c.generation != a.generation || c.status != ClockStatus::Running || c.alert >= level {
                    return Ok(false);
                }
                let mut active: clock_e::ActiveModel = c.into();
                active.alert = Set(level);
                active.updated_at = Set(now);
                let c = active.update(txn).await?;
                let data = alarm_data(calendar, &c, kind.as_str(), Some(scheduled), now)?;
                let note = match level {
                    AlertLevel::Overdue => "已超过承诺时限（逾期）".to_string(),
                    _ => format!(
                        "临近办结期限（预警），剩余 {} 个工作日",
                        data.remaining_working_days.unwrap_or(0).max(0)
                    ),
                };
                timeline(txn, &c.task_id, now, kind.as_str(), "deadline", note, c.due_us.map(from_us)).await?;
                let (office, unit) = (&c.unit_office, Some(c.unit_code.as_str()));
                match level {
                    AlertLevel::Overdue => emit::<TaskOverdue, _>(txn, office, unit, &c.task_id, &data).await?,
                    _ => emit::<TaskWarning, _>(txn, office, unit, &c.task_id, &data).await?,
                }
                if level == AlertLevel::Overdue && self.settings.supervise {
                    let reason = format!(
                        "“{}”超过承诺时限 {} 个工作日未办结",
                        c.name,
                        c.promised_working_days + c.extension_working_days
                    );
                    self.issue(txn, calendar, &c, SupervisionKind::Overdue, reason, now).await?;
                }
                Ok(true)
            }
            AlarmKind::Receipt => {
                let Some(c) = clock_e::Entity::find_by_id(a.subject_id.clone()).one(txn).await? else {
                    return Ok(false);
                };
                if c.status != ClockStatus::AwaitingReceipt {
                    return Ok(false);
                }
                let at = c.dispatched_at.unwrap_or(now);
                let c = self.start(txn, calendar, c, at, StartBasis::DispatchedUnacknowledged, "deadline", now).await?;
                self.announce(txn, calendar, &c, "started", now).await?;
                if self.settings.supervise {
                    let reason = format!(
                        "“{}”推送后超过 {} 个工作小时未接收（逾期未反馈）",
                        c.name, self.settings.receipt_working_hours
                    );
                    self.issue(txn, calendar, &c, SupervisionKind::Feedback, reason, now).await?;
                }
                Ok(true)
            }
            AlarmKind::LinkAck => {
                let Some(c) = clock_e::Entity::find_by_id(a.subject_id.clone()).one(txn).await? else {
                    return Ok(false);
                };
                if !c.linked || c.acknowledged_at.is_some() || !c.status.is_open() {
                    return Ok(false);
                }
                timeline(txn, &c.task_id, now, "link_late", "deadline", "联动机构未在规定时间内响应", None).await?;
                if self.settings.supervise {
                    let reason = format!("联动事项“{}”未在规定时间内响应（逾期未反馈）", c.name);
                    self.issue(txn, calendar, &c, SupervisionKind::Feedback, reason, now).await?;
                }
                Ok(true)
            }
            AlarmKind::SupervisionResponse | AlarmKind::SupervisionEscalation => {
                let Some(n) = supervision::Entity::find_by_id(a.subject_id.clone()).one(txn).await? else {
                    return Ok(false);
                };
                let escalate = match kind {
                    AlarmKind::SupervisionResponse => n.status == SupervisionStatus::Issued,
                    _ => n.status.is_open(),
                };
                if !escalate {
                    return Ok(false);
                }
                let reason = if kind == AlarmKind::SupervisionResponse {
                    "督办单下发后，责任单位未在反馈期限内反馈".to_string()
                } else {
                    format!("督办后 {} 个工作日仍未办结", self.settings.escalate_after_working_days)
                };
                self.escalate(txn, calendar, n, reason, now).await?;
                Ok(true)
            }
            AlarmKind::Problem => {
                let Some(p) = problem::Entity::find_by_id(a.subject_id.clone()).one(txn).await? else {
                    return Ok(false);
                };
                if p.status != ProblemStatus::Open {
                    return Ok(false);
                }
                let reason = format!(
                    "超过 {} 个工作日未协调解决，自动提报帮办代办工作机构会商",
                    self.settings.problem_working_days
                );
                self.refer_problem(txn, p, &reason, "deadline", now).await?;
                Ok(true)
            }
        }
    }
}
