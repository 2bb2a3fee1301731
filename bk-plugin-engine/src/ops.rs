//! What operators do to invocations, beside cancelling ([`Engine::fail_waiting`]): list,
//! inspect, send a finish notification again, purge. The plugin binary's `schedules`
//! subcommands and the debug page call these.

use crate::engine::{Engine, notification, raw_callback_info};
use crate::store::{Inspection, ScheduleFilter, ScheduleRecord, StoreError, StoreResult};

/// Why [`Engine::retry_notify`] did nothing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RetryNotifyError {
    /// No invocation has this trace id.
    #[error("can not find schedule for trace_id {0}")]
    NotFound(String),
    /// The invocation is still running: it is notified when it finishes.
    #[error("the invocation is not finished (state {0}): it is notified when it finishes")]
    NotFinished(u8),
    /// No notification is sent for it: its version does not enable `plugin_callback_info`,
    /// or its caller sent none.
    #[error(
        "no finish notification is sent for this invocation (its version does not enable plugin_callback_info, or its context has none)"
    )]
    NoTarget,
    /// The store failed or is unavailable.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Engine {
    /// The invocations `filter` matches, newest first.
    pub async fn list_schedules(
        &self,
        filter: &ScheduleFilter,
    ) -> StoreResult<Vec<ScheduleRecord>> {
        self.background("list schedules", self.inner.store.list(filter))
            .await
    }

    /// The invocation `trace_id` with its lease, inbox and pending notifications.
    pub async fn inspect(&self, trace_id: &str) -> StoreResult<Option<Inspection>> {
        self.background("inspect schedule", self.inner.store.inspect(trace_id))
            .await
    }

    /// Sends the finish notification of the finished invocation `trace_id` again, from the
    /// first attempt: a pending one starts over, a delivered or abandoned one is enqueued
    /// anew. The serving replicas send it (at once if this is one). `true` when one was
    /// enqueued anew.
    pub async fn retry_notify(&self, trace_id: &str) -> Result<bool, RetryNotifyError> {
        let inner = &self.inner;
        let record = self
            .background("read schedule", inner.store.get(trace_id))
            .await?
            .ok_or_else(|| RetryNotifyError::NotFound(trace_id.to_owned()))?;
        if !record.state.is_finished() {
            return Err(RetryNotifyError::NotFinished(record.state.code()));
        }
        // As when it finished: a served version notifies only if it enables the callback; a
        // version no longer served notifies whoever its context names.
        let enabled = inner
            .registry
            .get(&record.plugin_version)
            .is_none_or(|p| p.detail()["enable_plugin_callback"] == true);
        let info = raw_callback_info(&record.context)
            .filter(|_| enabled)
            .ok_or(RetryNotifyError::NoTarget)?;
        let n = notification(info, inner.clock.now());
        let enqueued = self
            .background("renotify", inner.store.renotify(trace_id, n))
            .await?;
        inner.wake_notify.notify_one();
        Ok(enqueued)
    }

    /// Deletes the invocations that finished more than `age` ago (as the background loop
    /// does after [`retention`](crate::EngineConfig::retention)); how many.
    pub async fn purge_older_than(&self, age: std::time::Duration) -> StoreResult<u64> {
        let before = self.inner.clock.now().saturating_sub(age);
        self.background("purge", self.inner.store.purge_finished(before))
            .await
    }
}
