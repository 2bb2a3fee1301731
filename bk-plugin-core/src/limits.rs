//! The bounds of one run, set by whoever runs it (the engine): how long `execute` may take, and
//! how large its storage and outputs may be.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use serde_json::{Map, Value};

use crate::run::BoxFuture;

/// A timer: a future that completes after the given duration (the runtime's sleep).
pub type Sleep = Arc<dyn Fn(Duration) -> BoxFuture<'static, ()> + Send + Sync>;

/// The bounds of one run ([`Invocation::with_limits`](crate::Invocation::with_limits)). The
/// default has none.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct RunLimits {
    /// `execute` not returned after this long ends the run as FAIL (the future is dropped),
    /// timed with `sleep`.
    pub time_limit: Option<(Duration, Sleep)>,
    /// Storage and outputs larger than this many bytes of JSON end the run as FAIL.
    pub max_state_bytes: Option<usize>,
}

impl RunLimits {
    /// Bounds `execute` to `limit`, timed by `sleep`.
    pub fn time_limit(mut self, limit: Duration, sleep: Sleep) -> Self {
        self.time_limit = Some((limit, sleep));
        self
    }

    /// Bounds storage plus outputs to `bytes` of JSON.
    pub fn max_state_bytes(mut self, bytes: usize) -> Self {
        self.max_state_bytes = Some(bytes);
        self
    }
}

impl std::fmt::Debug for RunLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunLimits")
            .field("time_limit", &self.time_limit.as_ref().map(|(d, _)| d))
            .field("max_state_bytes", &self.max_state_bytes)
            .finish()
    }
}

/// `work` or, if `timer` completes first, `None`.
pub(crate) struct Race<W, T> {
    pub(crate) work: W,
    pub(crate) timer: Option<T>,
}

impl<W, T> Future for Race<W, T>
where
    W: Future + Unpin,
    T: Future<Output = ()> + Unpin,
{
    type Output = Option<W::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        if let Poll::Ready(v) = Pin::new(&mut self.work).poll(cx) {
            return Poll::Ready(Some(v));
        }
        let timed_out = self
            .timer
            .as_mut()
            .is_some_and(|t| Pin::new(t).poll(cx).is_ready());
        if timed_out {
            Poll::Ready(None)
        } else {
            Poll::Pending
        }
    }
}

/// Whether `storage` and `outputs` together are more than `limit` bytes of JSON (counting,
/// without building the text, stops at the limit).
pub(crate) fn over_limit(
    storage: &Map<String, Value>,
    outputs: &Map<String, Value>,
    limit: usize,
) -> bool {
    let mut counter = Counter { bytes: 0, limit };
    serde_json::to_writer(&mut counter, storage).is_err()
        || serde_json::to_writer(&mut counter, outputs).is_err()
}

/// Counts what is written; fails once past `limit`.
struct Counter {
    bytes: usize,
    limit: usize,
}

impl std::io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.bytes += buf.len();
        if self.bytes > self.limit {
            return Err(std::io::Error::other("over the limit"));
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn storage_and_outputs_count_together() {
        let small = json!({"a": 1}).as_object().unwrap().clone();
        let big = json!({"s": "x".repeat(10_000)})
            .as_object()
            .unwrap()
            .clone();
        assert!(!over_limit(&small, &small, 100));
        assert!(over_limit(&small, &big, 1000));
        assert!(over_limit(&big, &small, 1000));
        assert!(!over_limit(&big, &small, 20_000));
    }
}
