//! Group commit: writes that arrive at about the same time go to the store together.
//!
//! The first writer to find no write in progress becomes the leader: it writes everything
//! queued with one batched store call (`complete_many`, `create_many`), then whatever queued
//! up meanwhile, until the queue is empty. The others wait for their result. Under load this
//! turns N single-row writes into a few multi-row ones; alone, a write is a batch of one.

use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::oneshot;

use crate::store::{StoreError, StoreResult};

type Waiter = oneshot::Sender<StoreResult<bool>>;

/// Most items written in one call.
const MAX_BATCH: usize = 512;

/// A queue of writes of type `I`, each answered with `Ok(bool)` or an error.
#[derive(Debug)]
pub(crate) struct Batcher<I> {
    queue: Mutex<Vec<(I, Waiter)>>,
    flushing: AtomicBool,
}

impl<I> Default for Batcher<I> {
    fn default() -> Self {
        Batcher {
            queue: Mutex::new(Vec::new()),
            flushing: AtomicBool::new(false),
        }
    }
}

impl<I> Batcher<I> {
    /// Queues `item` and waits for its result; `write` writes a batch and returns one result
    /// per item, in order.
    pub(crate) async fn submit<F, Fut>(&self, item: I, write: F) -> StoreResult<bool>
    where
        F: Fn(Vec<I>) -> Fut,
        Fut: Future<Output = StoreResult<Vec<bool>>>,
    {
        let (tx, rx) = oneshot::channel();
        self.lock().push((item, tx));
        while !self.flushing.swap(true, Ordering::AcqRel) {
            self.flush(&write).await;
            self.flushing.store(false, Ordering::Release);
            // Someone may have queued after the last take and seen `flushing` still set.
            if self.lock().is_empty() {
                break;
            }
        }
        rx.await
            .unwrap_or_else(|_| Err(StoreError::new("the group commit was dropped")))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(I, Waiter)>> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn flush<F, Fut>(&self, write: &F)
    where
        F: Fn(Vec<I>) -> Fut,
        Fut: Future<Output = StoreResult<Vec<bool>>>,
    {
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
            let results = match write(items).await {
                Ok(r) if r.len() == n => Ok(r),
                Ok(r) => Err(format!(
                    "a batched write returned {} results for {n}",
                    r.len()
                )),
                Err(e) => Err(e.to_string()),
            };
            match results {
                Ok(results) => {
                    for (w, r) in waiters.into_iter().zip(results) {
                        let _ = w.send(Ok(r));
                    }
                }
                Err(msg) => {
                    for w in waiters {
                        let _ = w.send(Err(StoreError::new(msg.clone())));
                    }
                }
            }
        }
    }
}
