//! The engine's background loops: the scheduler (resumes due schedules) and the notifier
//! (sends finish notifications), plus periodic cleanup of finished rows.

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::clock::Timestamp;
use crate::engine::Engine;
use crate::health::Backoff;

/// The running background loops of an [`Engine`]; stop them with
/// [`shutdown`](EngineHandle::shutdown).
#[derive(Debug)]
pub struct EngineHandle {
    stop: watch::Sender<bool>,
    loops: JoinSet<()>,
}

impl EngineHandle {
    /// Stops claiming work and waits for the runs in progress to be stored. Unfinished
    /// schedules stay in the store and resume at the next start.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        while self.loops.join_next().await.is_some() {}
    }
}

const PURGE_EVERY: Duration = Duration::from_secs(3600);

/// How long the scheduler waits after a wake-up before claiming (bounds claim queries to a
/// few hundred per second while adding at most this much to a resume's lag).
const CLAIM_COALESCE: Duration = Duration::from_millis(2);

impl Engine {
    /// Starts the scheduler and notifier loops on the current tokio runtime.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub fn start(&self) -> EngineHandle {
        let (stop, rx) = watch::channel(false);
        let mut loops = JoinSet::new();
        loops.spawn(self.clone().scheduler(rx.clone()));
        loops.spawn(self.clone().notifier(rx));
        EngineHandle { stop, loops }
    }

    /// How long to sleep until `next` (capped by the scan interval).
    fn sleep_for(&self, next: Option<Timestamp>) -> Duration {
        let scan = self.inner.config.scan_interval;
        match next {
            Some(t) => {
                let now = self.inner.clock.now();
                if t <= now {
                    Duration::ZERO
                } else {
                    t.since(now).min(scan)
                }
            }
            None => scan,
        }
    }

    async fn scheduler(self, mut stop: watch::Receiver<bool>) {
        let inner = self.inner.clone();
        let mut running = JoinSet::new();
        let mut last_purge: Option<tokio::time::Instant> = None;
        let mut backoff = Backoff::default();
        loop {
            if *stop.borrow() {
                break;
            }
            while running.try_join_next().is_some() {}
            // Steps whose result waits for the store go first (see `Inner::unstored`).
            if inner.unstored.load(std::sync::atomic::Ordering::Relaxed) > 0 {
                pause(&mut stop, backoff.delay()).await;
                continue;
            }
            if last_purge.is_none_or(|t| t.elapsed() >= PURGE_EVERY) {
                last_purge = Some(tokio::time::Instant::now());
                let before = Timestamp::from_millis(
                    inner.clock.now().as_millis()
                        - i64::try_from(inner.config.retention.as_millis()).unwrap_or(i64::MAX),
                );
                match self
                    .background("purge", inner.store.purge_finished(before))
                    .await
                {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(rows = n, "purged finished schedules"),
                    Err(e) => tracing::warn!(error = %e, "purging finished schedules failed"),
                }
            }
            let free = inner.permits.available_permits();
            if free == 0 {
                // Wait for a run to finish.
                tokio::select! {
                    p = inner.permits.clone().acquire_owned() => drop(p),
                    _ = stop.changed() => {}
                }
                continue;
            }
            let limit = free.min(inner.config.claim_batch);
            let claims = match self.claim(limit).await {
                Ok(c) => {
                    backoff.reset();
                    c
                }
                Err(e) => {
                    // An outage is logged once by the store's health; back off meanwhile.
                    if !e.is_unavailable() {
                        tracing::error!(error = %e, "claiming due schedules failed");
                    }
                    pause(&mut stop, backoff.delay()).await;
                    continue;
                }
            };
            let full = claims.len() == limit;
            for claim in claims {
                let permit = inner
                    .permits
                    .clone()
                    .try_acquire_owned()
                    .expect("only the scheduler takes permits");
                let engine = self.clone();
                running.spawn(async move {
                    engine.run_claim(claim).await;
                    drop(permit);
                });
            }
            if full {
                continue;
            }
            let next = match self
                .background("read next due", inner.store.next_due())
                .await
            {
                Ok(next) => next,
                Err(e) => {
                    if !e.is_unavailable() {
                        tracing::error!(error = %e, "reading the next due time failed");
                    }
                    pause(&mut stop, backoff.delay()).await;
                    continue;
                }
            };
            let sleep = self.sleep_for(next);
            if sleep.is_zero() {
                tokio::task::yield_now().await;
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep(sleep) => {}
                _ = inner.wake.notified() => {
                    // Every stored step wakes the scheduler; gather a few before claiming so
                    // claims come in batches instead of one query per step.
                    tokio::time::sleep(CLAIM_COALESCE).await;
                }
                _ = stop.changed() => {}
            }
        }
        // Graceful shutdown: let the runs in progress store their result.
        while running.join_next().await.is_some() {}
    }

    async fn notifier(self, mut stop: watch::Receiver<bool>) {
        let inner = self.inner.clone();
        let mut running = JoinSet::new();
        let mut backoff = Backoff::default();
        loop {
            if *stop.borrow() {
                break;
            }
            while running.try_join_next().is_some() {}
            // At most `notify_concurrency` in flight: a full house waits for one to finish
            // (claimed rows are leased, so nothing is claimed that cannot be sent at once).
            let room = inner
                .config
                .notify_concurrency
                .max(1)
                .saturating_sub(running.len());
            if room == 0 {
                tokio::select! {
                    _ = running.join_next() => {}
                    _ = stop.changed() => {}
                }
                continue;
            }
            let limit = room.min(inner.config.claim_batch);
            let now = inner.clock.now();
            let until = now.saturating_add(inner.config.notify_timeout * 2);
            let claimed = inner.store.claim_notifications(now, until, limit);
            let batch = match self.background("claim notifications", claimed).await {
                Ok(batch) => {
                    backoff.reset();
                    batch
                }
                Err(e) => {
                    if !e.is_unavailable() {
                        tracing::error!(error = %e, "claiming finish notifications failed");
                    }
                    pause(&mut stop, backoff.delay()).await;
                    continue;
                }
            };
            let full = batch.len() == limit;
            for n in batch {
                let engine = self.clone();
                running.spawn(async move { engine.send_notification(n).await });
            }
            if full {
                continue;
            }
            let next = self
                .background("read next notification", inner.store.next_notification())
                .await
                .unwrap_or(None);
            let sleep = self.sleep_for(next);
            if sleep.is_zero() {
                tokio::task::yield_now().await;
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep(sleep) => {}
                _ = inner.wake_notify.notified() => {}
                _ = stop.changed() => {}
            }
        }
        while running.join_next().await.is_some() {}
    }
}

/// Sleeps `delay`, or until asked to stop.
async fn pause(stop: &mut watch::Receiver<bool>, delay: Duration) {
    tokio::select! {
        _ = tokio::time::sleep(delay) => {}
        _ = stop.changed() => {}
    }
}
