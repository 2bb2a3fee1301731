//! Group commit: steps that finish at about the same time are written to the store together.
//!
//! The first step to find no write in progress becomes the leader: it writes everything queued
//! with one [`Store::complete_many`] call, then whatever queued up meanwhile, until the queue
//! is empty. The others wait for their result. Under load this turns N single-row writes into
//! a few multi-row ones; with one step at a time it is a plain `complete`.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::oneshot;

use crate::store::{Store, StoreError, StoreResult, Transition};

type Waiter = oneshot::Sender<StoreResult<bool>>;

/// A step to write: trace id, lease id, transition; and who waits for the result.
type Queued = ((String, i64, Transition), Waiter);

/// Most rows written in one call.
const MAX_BATCH: usize = 512;

#[derive(Debug, Default)]
pub(crate) struct Committer {
    queue: Mutex<Vec<Queued>>,
    flushing: AtomicBool,
}

impl Committer {
    /// Writes `transition` for `trace_id` under `lease_id`; `Ok(false)` if the lease was lost.
    pub(crate) async fn commit(
        &self,
        store: &dyn Store,
        trace_id: String,
        lease_id: i64,
        transition: Transition,
    ) -> StoreResult<bool> {
        let (tx, rx) = oneshot::channel();
        self.lock().push(((trace_id, lease_id, transition), tx));
        while !self.flushing.swap(true, Ordering::AcqRel) {
            self.flush(store).await;
            self.flushing.store(false, Ordering::Release);
            // Someone may have queued after the last take and seen `flushing` still set.
            if self.lock().is_empty() {
                break;
            }
        }
        rx.await
            .unwrap_or_else(|_| Err(StoreError::new("the group commit was dropped")))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Queued>> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn flush(&self, store: &dyn Store) {
        loop {
            let batch: Vec<_> = {
                let mut q = self.lock();
                let n = q.len().min(MAX_BATCH);
                q.drain(..n).collect()
            };
            if batch.is_empty() {
                return;
            }
            let (items, waiters): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
            let n = items.len();
            match store.complete_many(items).await {
                Ok(results) if results.len() == n => {
                    for (w, r) in waiters.into_iter().zip(results) {
                        let _ = w.send(Ok(r));
                    }
                }
                Ok(results) => {
                    let msg = format!("complete_many returned {} results for {n}", results.len());
                    for w in waiters {
                        let _ = w.send(Err(StoreError::new(msg.clone())));
                    }
                }
                Err(e) => {
                    let msg = e.to_string();
                    for w in waiters {
                        let _ = w.send(Err(StoreError::new(msg.clone())));
                    }
                }
            }
        }
    }
}
