//! Work that falls due at instants of the platform clock (到期任务): a clock's alarms, messages waiting to be sent.
//! One loop runs any of it the same way: do what is due in batches, then sleep until the next instant something
//! waits for, a local wake-up (new work committed here), a change of the platform clock, or the poll interval
//! (work scheduled by another replica).

use std::{future::Future, sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::clock;

/// A chore done now and then beside the due work (sweeping stuck rows, pruning old keys).
pub struct Chore<W: ?Sized> {
    /// How often, at most.
    pub every: Duration,
    pub run: for<'a> fn(&'a W) -> BoxFuture<'a, ()>,
}

/// What one due-work loop drives.
pub trait DueWork: Send + Sync + 'static {
    /// Names the loop in logs (`deadline engine`, `notification sender`).
    const NAME: &'static str;
    /// Why reading or doing the work failed.
    type Error: std::fmt::Display + Send;

    /// The earliest instant something waits for, if any.
    fn next_due(&self) -> impl Future<Output = Result<Option<DateTime<Utc>>, Self::Error>> + Send;

    /// Does one batch of what is due now; returns how many rows it took (0: nothing, or rows another replica holds).
    fn run_due(&self) -> impl Future<Output = Result<usize, Self::Error>> + Send;

    /// Notified when work is committed here, so the loop looks again at once.
    fn wake(&self) -> &Notify;

    /// Chores done beside the work.
    fn chores() -> Vec<Chore<Self>> {
        Vec::new()
    }
}

/// Runs `work` until shutdown. Failures are logged and retried with a growing pause (0.2 s × failures, at most 2 s).
pub async fn run<W: DueWork>(work: Arc<W>, poll: Duration, shutdown: CancellationToken) {
    let chores = W::chores();
    let mut last: Vec<Option<tokio::time::Instant>> = vec![None; chores.len()];
    let mut failures = 0u32;
    loop {
        if shutdown.is_cancelled() {
            break;
        }
        for (chore, last) in chores.iter().zip(last.iter_mut()) {
            if last.is_none_or(|t| t.elapsed() >= chore.every) {
                *last = Some(tokio::time::Instant::now());
                (chore.run)(&work).await;
            }
        }
        let next = match work.next_due().await {
            Ok(next) => next,
            Err(e) => {
                tracing::warn!(error = %e, "{}: reading what is due failed", W::NAME);
                None
            }
        };
        if next.is_some_and(|n| n <= clock::now()) {
            let pause = match work.run_due().await {
                Ok(n) => {
                    failures = 0;
                    if n > 0 {
                        continue;
                    }
                    // Due rows locked by another replica: let it finish its batch instead of spinning.
                    poll.min(Duration::from_millis(50))
                }
                Err(e) => {
                    failures += 1;
                    tracing::warn!(error = %e, failures, "{}: failed; retrying", W::NAME);
                    Duration::from_millis(200 * u64::from(failures.min(10)))
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = shutdown.cancelled() => break,
            }
            continue;
        }
        let until = next.unwrap_or_else(|| clock::now() + chrono::Duration::days(1));
        tokio::select! {
            _ = clock::sleep_until(until, poll) => {}
            _ = work.wake().notified() => {}
            _ = shutdown.cancelled() => break,
        }
    }
    tracing::info!("{} stopped", W::NAME);
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// Three batches due now, one failing once; a chore that counts.
    struct Work {
        left: AtomicUsize,
        fail_once: AtomicUsize,
        chores: AtomicUsize,
        wake: Notify,
    }

    impl DueWork for Work {
        const NAME: &'static str = "test work";
        type Error = String;

        async fn next_due(&self) -> Result<Option<DateTime<Utc>>, String> {
            Ok((self.left.load(Ordering::SeqCst) > 0).then(|| clock::now() - chrono::Duration::seconds(1)))
        }

        async fn run_due(&self) -> Result<usize, String> {
            if self.fail_once.swap(0, Ordering::SeqCst) == 1 {
                return Err("down".into());
            }
            self.left.fetch_sub(1, Ordering::SeqCst);
            Ok(1)
        }

        fn wake(&self) -> &Notify {
            &self.wake
        }

        fn chores() -> Vec<Chore<Self>> {
            vec![Chore {
                every: Duration::from_secs(3600),
                run: |w| {
                    Box::pin(async move {
                        w.chores.fetch_add(1, Ordering::SeqCst);
                    })
                },
            }]
        }
    }

    #[tokio::test]
    async fn does_what_is_due_through_a_failure_runs_its_chores_and_stops_at_shutdown() {
        let work = Arc::new(Work {
            left: AtomicUsize::new(3),
            fail_once: AtomicUsize::new(1),
            chores: AtomicUsize::new(0),
            wake: Notify::new(),
        });
        let shutdown = CancellationToken::new();
        let running = tokio::spawn(run(work.clone(), Duration::from_millis(10), shutdown.clone()));
        let drained = async {
            while work.left.load(Ordering::SeqCst) > 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(30), drained).await.expect("every due batch done");
        assert_eq!(work.fail_once.load(Ordering::SeqCst), 0, "the failed batch was retried");
        shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(10), running).await.expect("stops at shutdown").unwrap();
        assert_eq!(work.chores.load(Ordering::SeqCst), 1, "an hourly chore ran once");
    }
}
