//! Whether the schedule store answers: a deadline on every store call, one log line per change
//! between reachable and unavailable (not one per failed attempt, and not for a call that was
//! already under way when the store was seen back: its failure belongs to the outage already
//! logged), and the back-off the background loops sleep while it is unavailable.

use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::store::{StoreError, StoreResult};

/// The store counts as available again once writes succeed and none has failed for this long
/// (a full disk lets some writes through: the outage is not over at the first success).
const RECOVERED_AFTER: Duration = Duration::from_secs(1);

/// The store's availability as this process last saw it.
#[derive(Debug, Default)]
pub(crate) struct StoreHealth {
    down: AtomicBool,
    /// A probe is in flight (one at a time; meanwhile callers are refused at once).
    probing: AtomicBool,
    seen: Mutex<Seen>,
}

/// What the process saw of the store's outages.
#[derive(Debug, Default)]
struct Seen {
    /// When the current outage was first seen, and its last failure.
    outage: Option<(Instant, Instant)>,
    /// When the last outage ended.
    recovered_at: Option<Instant>,
}

impl StoreHealth {
    /// Whether the last store call failed with an outage.
    pub(crate) fn is_down(&self) -> bool {
        self.down.load(Ordering::Relaxed)
    }

    /// Claims the one probe slot; `None` while another caller probes.
    pub(crate) fn begin_probe(&self) -> Option<Probing<'_>> {
        (!self.probing.swap(true, Ordering::AcqRel)).then_some(Probing(&self.probing))
    }

    /// Records the result of a store call made for `what` (a read when it starts with
    /// `read `: reads that succeed do not end an outage, a disk that is full still reads),
    /// begun at `started`.
    pub(crate) fn record<T>(&self, what: &str, started: Instant, result: &StoreResult<T>) {
        match result {
            Ok(_) if !what.starts_with("read ") => self.written(),
            Ok(_) => {}
            Err(e) if e.is_unavailable() => self.unavailable(what, started, e),
            Err(_) => {}
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn written(&self) {
        if !self.down.load(Ordering::Relaxed) {
            return;
        }
        let mut seen = self.lock();
        let Some((since, last_failure)) = seen.outage else {
            return;
        };
        if last_failure.elapsed() < RECOVERED_AFTER {
            return;
        }
        seen.outage = None;
        seen.recovered_at = Some(Instant::now());
        self.down.store(false, Ordering::Relaxed);
        drop(seen);
        tracing::warn!(
            outage_secs = format!("{:.1}", since.elapsed().as_secs_f64()),
            "the schedule store answers again; waiting work resumes"
        );
    }

    fn unavailable(&self, what: &str, started: Instant, e: &StoreError) {
        let now = Instant::now();
        let mut seen = self.lock();
        if let Some((_, last_failure)) = seen.outage.as_mut() {
            *last_failure = now;
            return;
        }
        if seen.recovered_at.is_some_and(|back| started < back) {
            // Under way since the outage (waiting for a connection, or past its deadline
            // while the store restarted): not a new outage.
            return;
        }
        seen.outage = Some((now, now));
        self.down.store(true, Ordering::Relaxed);
        drop(seen);
        tracing::error!(
            during = what,
            error = %e,
            "the schedule store is unavailable; requests that need it are answered 503 and \
             background work retries with back-off until it answers again"
        );
    }
}

/// The probe slot, released when dropped.
pub(crate) struct Probing<'a>(&'a AtomicBool);

impl Drop for Probing<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// `fut` with a deadline of `limit`: past it, an unavailable [`StoreError`].
pub(crate) async fn within<T>(
    what: &str,
    limit: Duration,
    fut: impl Future<Output = StoreResult<T>>,
) -> StoreResult<T> {
    match tokio::time::timeout(limit, fut).await {
        Ok(result) => result,
        Err(_) => Err(StoreError::new(format!(
            "{what}: the store did not answer within {} ms",
            limit.as_millis()
        ))
        .unavailable()),
    }
}

/// Exponential back-off between retries while the store is unavailable.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Backoff {
    next: Duration,
}

/// The first retry's delay.
const BACKOFF_FIRST: Duration = Duration::from_millis(100);
/// The longest delay between retries.
pub(crate) const BACKOFF_MAX: Duration = Duration::from_secs(2);

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            next: BACKOFF_FIRST,
        }
    }
}

impl Backoff {
    /// The delay before the next retry (doubling up to [`BACKOFF_MAX`]).
    pub(crate) fn delay(&mut self) -> Duration {
        let d = self.next;
        self.next = (self.next * 2).min(BACKOFF_MAX);
        d
    }

    /// Starts over after a success.
    pub(crate) fn reset(&mut self) {
        self.next = BACKOFF_FIRST;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_and_resets() {
        let mut b = Backoff::default();
        let delays: Vec<_> = (0..7).map(|_| b.delay().as_millis()).collect();
        assert_eq!(delays, [100, 200, 400, 800, 1600, 2000, 2000]);
        b.reset();
        assert_eq!(b.delay(), BACKOFF_FIRST);
    }

    #[test]
    fn only_outages_mark_the_store_down_and_only_writes_a_while_later_clear_it() {
        let h = StoreHealth::default();
        let now = Instant::now;
        h.record::<()>("x", now(), &Err(StoreError::new("constraint")));
        assert!(!h.is_down());
        h.record::<()>("x", now(), &Err(StoreError::new("refused").unavailable()));
        assert!(h.is_down());
        h.record("x", now(), &Ok(()));
        assert!(h.is_down(), "a write right after a failure");
        // As if the last failure was long ago.
        let long_ago = Instant::now() - RECOVERED_AFTER;
        h.lock().outage = Some((long_ago, long_ago));
        h.record("read schedule", now(), &Ok(()));
        assert!(h.is_down(), "a read");
        h.record("x", now(), &Ok(()));
        assert!(!h.is_down());
    }

    #[test]
    fn a_call_under_way_since_the_outage_does_not_start_a_new_one() {
        let h = StoreHealth::default();
        let refused = || Err::<(), _>(StoreError::new("refused").unavailable());
        let long_ago = Instant::now() - 2 * RECOVERED_AFTER;
        h.record("x", long_ago, &refused());
        h.lock().outage = Some((long_ago, long_ago));
        let began_during_the_outage = Instant::now();
        h.record("x", Instant::now(), &Ok(()));
        assert!(!h.is_down());
        h.record("x", began_during_the_outage, &refused());
        assert!(!h.is_down(), "it began before the store was seen back");
        h.record("x", Instant::now(), &refused());
        assert!(h.is_down(), "a call begun afterwards is a new outage");
    }

    #[tokio::test]
    async fn a_call_past_its_deadline_is_an_outage() {
        let slow = async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok(())
        };
        let e = within("get", Duration::from_millis(10), slow)
            .await
            .unwrap_err();
        assert!(e.is_unavailable());
        assert!(e.to_string().contains("within 10 ms"), "{e}");
    }
}
