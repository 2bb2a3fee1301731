//! Group commit: writes that arrive at about the same time go to the store together.
//!
//! The first writer to find no write in progress becomes the leader: it writes everything
//! queued with one batched store call (`complete_many`, `create_many`), then whatever queued
//! up meanwhile, until the queue is empty. The others wait for their result. Under load this
//! turns N single-row writes into a few multi-row ones; alone, a write is a batch of one.

use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::store::{StoreError, StoreResult};

type Waiter = oneshot::Sender<StoreResult<bool>>;

/// Most items written in one call.
const MAX_BATCH: usize = 512;

/// How often a waiter checks that a leader is flushing (one whose request was dropped
/// mid-write leaves the queue to the next writer).
const TAKE_OVER_EVERY: Duration = Duration::from_millis(50);

/// A queued write: written only while its deadline has not passed.
#[derive(Debug)]
struct Queued<I> {
    item: I,
    deadline: Instant,
    waiter: Waiter,
}

/// A queue of writes of type `I`, each answered with `Ok(bool)` or an error.
///
/// Every write has a deadline. One still queued when its deadline passes is answered as
/// timed out and never written; a batch being written is abandoned when the earliest
/// deadline in it passes (the store rolls back a transaction that was not committed). So a
/// caller told that its write timed out can rely on it not having been written later, except
/// when the deadline passed while the store was committing.
#[derive(Debug)]
pub(crate) struct Batcher<I> {
    queue: Mutex<Vec<Queued<I>>>,
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

/// Clears the leader flag when the leader is done, or its future is dropped mid-write.
struct Leading<'a>(&'a AtomicBool);

impl Drop for Leading<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// The answer to a write that missed its deadline.
fn timed_out() -> StoreError {
    StoreError::new("the store did not answer before the write's deadline").unavailable()
}

impl<I> Batcher<I> {
    /// Queues `item` and waits for its result, at most `limit`; `write` writes a batch and
    /// returns one result per item, in order.
    pub(crate) async fn submit<F, Fut>(
        &self,
        item: I,
        limit: Duration,
        write: F,
    ) -> StoreResult<bool>
    where
        F: Fn(Vec<I>) -> Fut,
        Fut: Future<Output = StoreResult<Vec<bool>>>,
    {
        let deadline = Instant::now() + limit;
        let (waiter, mut rx) = oneshot::channel();
        self.lock().push(Queued {
            item,
            deadline,
            waiter,
        });
        loop {
            self.lead(&write).await;
            tokio::select! {
                answer = &mut rx => {
                    return answer.unwrap_or_else(|_| Err(timed_out()));
                }
                _ = tokio::time::sleep(TAKE_OVER_EVERY) => {}
            }
        }
    }

    /// Writes the queue until it is empty, unless another writer is doing so.
    async fn lead<F, Fut>(&self, write: &F)
    where
        F: Fn(Vec<I>) -> Fut,
        Fut: Future<Output = StoreResult<Vec<bool>>>,
    {
        while !self.flushing.swap(true, Ordering::AcqRel) {
            let leading = Leading(&self.flushing);
            self.flush(write).await;
            drop(leading);
            // Someone may have queued after the last take and seen `flushing` still set.
            if self.lock().is_empty() {
                break;
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Queued<I>>> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The next batch to write; queued writes past their deadline are answered instead.
    fn take(&self) -> Vec<Queued<I>> {
        let now = Instant::now();
        let mut q = self.lock();
        let (expired, live): (Vec<_>, Vec<_>) = q.drain(..).partition(|w| w.deadline <= now);
        *q = live;
        drop(q);
        for w in expired {
            let _ = w.waiter.send(Err(timed_out()));
        }
        let mut q = self.lock();
        let n = q.len().min(MAX_BATCH);
        q.drain(..n).collect()
    }

    async fn flush<F, Fut>(&self, write: &F)
    where
        F: Fn(Vec<I>) -> Fut,
        Fut: Future<Output = StoreResult<Vec<bool>>>,
    {
        loop {
            let batch = self.take();
            let Some(deadline) = batch.iter().map(|w| w.deadline).min() else {
                return;
            };
            let (items, waiters): (Vec<_>, Vec<_>) =
                batch.into_iter().map(|w| (w.item, w.waiter)).unzip();
            let n = items.len();
            let results = match tokio::time::timeout_at(deadline, write(items)).await {
                Ok(Ok(r)) if r.len() == n => Ok(r),
                Ok(Ok(r)) => Err((
                    format!("a batched write returned {} results for {n}", r.len()),
                    false,
                )),
                Ok(Err(e)) => Err((e.to_string(), e.is_unavailable())),
                Err(_) => Err((timed_out().to_string(), true)),
            };
            match results {
                Ok(results) => {
                    for (w, r) in waiters.into_iter().zip(results) {
                        let _ = w.send(Ok(r));
                    }
                }
                Err((msg, unavailable)) => {
                    for w in waiters {
                        let e = StoreError::new(msg.clone());
                        let _ = w.send(Err(if unavailable { e.unavailable() } else { e }));
                    }
                }
            }
        }
    }
}
