//! Cancelling a waiting invocation ([`Engine::cancel`], [`Engine::fail_waiting`]): the
//! cancellation is recorded on the row first (durable: a crash before it is carried out
//! leaves a row due at once, which any worker then cancels), then carried out here if no one
//! else holds the row, or by the worker whose step is running once that step is stored.
//! Carrying it out is a run like a resume, under a lease: the plugin's `on_cancel`, then
//! FAIL, the finish notification, the inbox dropped.

use std::time::Duration;

use bk_plugin_core::{Cancellation, Invocation};

use crate::deadline;
use crate::engine::{Engine, transition, unserved_fail};
use crate::store::{LeaseRequest, ScheduleRecord, StoreError};

/// How long a cancellation waits for a step running elsewhere to end before it answers
/// [`Cancelled::Pending`].
const SETTLE_WAIT: Duration = Duration::from_secs(3);

/// How often it looks meanwhile.
const SETTLE_POLL: Duration = Duration::from_millis(50);

/// What [`Engine::cancel`] found or did.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Cancelled {
    /// The invocation is finished, by this cancellation (FAIL) or before it (SUCCESS or FAIL):
    /// its stored row.
    Finished(ScheduleRecord),
    /// A step of the invocation is running in another worker; the invocation ends as FAIL as
    /// soon as that step is stored (the cancellation is recorded). Its row as it is now.
    Pending(ScheduleRecord),
}

impl Cancelled {
    /// The row.
    pub fn record(&self) -> &ScheduleRecord {
        match self {
            Cancelled::Finished(r) | Cancelled::Pending(r) => r,
        }
    }
}

/// Why [`Engine::cancel`] did nothing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CancelError {
    /// No invocation has this trace id (or it finished inside invoke, never stored).
    #[error("can not find schedule for trace_id {0}")]
    NotFound(String),
    /// Neither the version nor the server allows callers to cancel.
    #[error(
        "plugin version {0} does not allow cancel; declare it `#[plugin(.., cancellable)]` or set BK_PLUGIN_ALLOW_CANCEL=true"
    )]
    NotAllowed(String),
    /// The store failed or is unavailable.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Engine {
    /// Whether callers may cancel invocations of `version`:
    /// [`allow_cancel`](crate::EngineConfig::allow_cancel), or the version is
    /// `#[plugin(cancellable)]`.
    pub fn may_cancel(&self, version: &str) -> bool {
        self.inner.config.allow_cancel
            || self
                .inner
                .registry
                .get(version)
                .is_some_and(|p| p.cancellable())
    }

    /// Cancels the invocation `trace_id` for a caller: if it is waiting (POLL or CALLBACK)
    /// and its version allows it ([`may_cancel`](Self::may_cancel)), runs the plugin's
    /// `on_cancel` and ends it as FAIL with `err` naming `cancel`'s author. Idempotent: a
    /// finished invocation is answered as it ended, whoever ended it.
    pub async fn cancel(
        &self,
        trace_id: &str,
        cancel: Cancellation,
    ) -> Result<Cancelled, CancelError> {
        let record = self
            .schedule(trace_id)
            .await?
            .ok_or_else(|| CancelError::NotFound(trace_id.to_owned()))?;
        if record.state.is_finished() {
            return Ok(Cancelled::Finished(record));
        }
        if !self.may_cancel(&record.plugin_version) {
            return Err(CancelError::NotAllowed(record.plugin_version));
        }
        self.fail_waiting(trace_id, cancel).await
    }

    /// As [`cancel`](Self::cancel), whatever the version allows: for operators (`schedules
    /// fail`).
    pub async fn fail_waiting(
        &self,
        trace_id: &str,
        cancel: Cancellation,
    ) -> Result<Cancelled, CancelError> {
        let inner = &self.inner;
        let not_found = || CancelError::NotFound(trace_id.to_owned());
        let requested = inner.store.request_cancel(trace_id, &cancel);
        let record = self
            .request("request cancel", requested)
            .await?
            .ok_or_else(not_found)?;
        if record.state.is_finished() {
            // Finished rows show `err` only on FAIL already.
            return Ok(Cancelled::Finished(record));
        }
        let now = inner.clock.now();
        let lease = LeaseRequest {
            owner: &inner.owner,
            id: self.lease_id(),
            until: now.saturating_add(inner.config.lease),
        };
        let leased = inner.store.lease_one(trace_id, now, lease);
        match self.request("lease schedule", leased).await? {
            Some(record) => self.run_cancel(record, lease.id).await,
            // A step is running (here or in another replica): its worker cancels the row
            // once the step is stored, as the row stays due.
            None => inner.wake.notify_one(),
        }
        let started = tokio::time::Instant::now();
        loop {
            let record = self.schedule(trace_id).await?.ok_or_else(not_found)?;
            if record.state.is_finished() {
                return Ok(Cancelled::Finished(record));
            }
            if started.elapsed() >= SETTLE_WAIT {
                return Ok(Cancelled::Pending(record));
            }
            tokio::time::sleep(SETTLE_POLL).await;
        }
    }

    /// Carries out the cancellation recorded on `record`, leased under `lease_id`: the
    /// plugin's `on_cancel` (bounded by [`cancel_timeout`](crate::EngineConfig::cancel_timeout)),
    /// then FAIL.
    pub(crate) async fn run_cancel(&self, record: ScheduleRecord, lease_id: i64) {
        let inner = &self.inner;
        let Some(cancel) = record.cancel.clone() else {
            return;
        };
        let trace_id = record.trace_id.clone();
        tracing::warn!(trace_id, by = cancel.by, "cancelling a waiting invocation");
        let plugin = inner.registry.get(&record.plugin_version);
        let timeout = plugin.and_then(|p| p.timeout());
        let version_deadline = deadline::version_deadline(record.created_at, timeout);
        let invoke_count = record.invoke_count.saturating_add(1);
        let previous_state = record.state;
        let (inputs, context) = match self.open_data(plugin, &record) {
            Ok(data) => data,
            Err(err) => {
                let t = unserved_fail(record, err, invoke_count, None, inner.clock.now());
                return self.store_step(trace_id, lease_id, t).await;
            }
        };
        let transition = match plugin {
            Some(plugin) => {
                let mut inv = Invocation::new(trace_id.clone(), inputs, context)
                    .resume(record.state, invoke_count, record.storage, record.outputs)
                    .with_limits(inner.cancel_limits.clone())
                    .with_cancel(cancel);
                if let Some(issuer) = &inner.issuer {
                    inv = inv.with_issuer(issuer.clone());
                }
                let outcome = self
                    .with_heartbeat(&trace_id, lease_id, plugin.run(inv))
                    .await;
                let now = inner.clock.now();
                transition(
                    outcome,
                    previous_state,
                    invoke_count,
                    None,
                    now,
                    version_deadline,
                )
            }
            None => {
                let err = format!("plugin schedule failed: {cancel}");
                unserved_fail(record, err, invoke_count, None, inner.clock.now())
            }
        };
        self.store_step(trace_id, lease_id, transition).await;
    }
}
