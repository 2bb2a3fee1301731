//! [`EngineConfig`]: concurrency, leases, retry windows and retention.

use std::sync::Arc;
use std::time::Duration;

use bk_plugin_core::{RunLimits, Sleep};

use crate::notify::NotifyPolicy;

/// Tuning of the engine. `Default` gives production values.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct EngineConfig {
    /// Resumed runs executing at once in this process (default 256).
    pub max_concurrency: usize,
    /// Rows claimed per store query (default 128).
    pub claim_batch: usize,
    /// How long a claim is held without renewal (default 60 s). A running step renews it
    /// every third of this; if the process dies, another worker (or this one restarted)
    /// takes the row over once it expires.
    pub lease: Duration,
    /// Longest sleep between store scans (default 1 s). Rows created by this process wake the
    /// scheduler at once; this bounds the delay for rows written by other processes.
    pub scan_interval: Duration,
    /// Attempts to find the schedule in CALLBACK when a callback arrives (default 3, as the
    /// Python framework), ...
    pub callback_attempts: u32,
    /// ... waiting this long between attempts (default 500 ms).
    pub callback_retry_delay: Duration,
    /// Finish notifications: timeout per attempt (default 10 s).
    pub notify_timeout: Duration,
    /// Finish notifications sent at once by this process (default 64); more wait their turn,
    /// so slow receivers cannot grow memory or connections without bound.
    pub notify_concurrency: usize,
    /// Where finish notifications may be sent ([`NotifyPolicy`]; default: anywhere except
    /// link-local, cloud metadata and loopback addresses).
    pub notify_policy: NotifyPolicy,
    /// Finish notifications: attempts before giving up (default 8).
    pub notify_attempts: u32,
    /// Finish notifications: delay after the first failure, doubled each time (default 1 s) ...
    pub notify_backoff: Duration,
    /// ... up to this (default 60 s).
    pub notify_backoff_max: Duration,
    /// Finished rows are deleted this long after `finish_at` (default 30 days, as the Python
    /// framework's `SCHEDULE_PERSISTENT_DAYS`).
    pub retention: Duration,
    /// The longest a request waits for the store (default 1.5 s): past it, or at once while
    /// the store is known to be unavailable, the request is answered with an error instead
    /// of hanging. Background work waits longer and retries.
    pub store_timeout: Duration,
    /// How long the first step, run inside `invoke`, may take (default 50 s, under the API
    /// gateway's 60 s): then it is FAIL and the caller is answered, instead of a gateway
    /// timeout that SOPS would retry as a new invocation.
    pub invoke_timeout: Duration,
    /// How long a resumed step may take (default 10 min); then it is FAIL.
    pub step_timeout: Duration,
    /// Largest storage plus outputs of a step, in bytes of JSON (default 4 MiB); a step that
    /// ends larger is FAIL and the data it wrote is dropped.
    pub max_state_bytes: usize,
    /// Whether callers may cancel waiting invocations of every version (`POST
    /// cancel/{trace_id}`; default `false`: only versions declared
    /// `#[plugin(cancellable)]`). Operators' `schedules fail` needs neither.
    pub allow_cancel: bool,
    /// How long a plugin's `on_cancel` may take (default 30 s); the invocation ends as FAIL
    /// either way.
    pub cancel_timeout: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            max_concurrency: 256,
            claim_batch: 128,
            lease: Duration::from_secs(60),
            scan_interval: Duration::from_secs(1),
            callback_attempts: 3,
            callback_retry_delay: Duration::from_millis(500),
            notify_timeout: Duration::from_secs(10),
            notify_concurrency: 64,
            notify_policy: NotifyPolicy::new(),
            notify_attempts: 8,
            notify_backoff: Duration::from_secs(1),
            notify_backoff_max: Duration::from_secs(60),
            retention: Duration::from_secs(30 * 24 * 3600),
            store_timeout: Duration::from_millis(1500),
            invoke_timeout: Duration::from_secs(50),
            step_timeout: Duration::from_secs(600),
            max_state_bytes: 4 * 1024 * 1024,
            allow_cancel: false,
            cancel_timeout: Duration::from_secs(30),
        }
    }
}

impl EngineConfig {
    /// The bounds of a run that may take `limit`: the first one (inside `invoke`,
    /// [`invoke_timeout`](Self::invoke_timeout)), a resume
    /// ([`step_timeout`](Self::step_timeout)) or a cancellation
    /// ([`cancel_timeout`](Self::cancel_timeout)).
    pub(crate) fn run_limits(&self, limit: Duration) -> RunLimits {
        let sleep: Sleep = Arc::new(|d| Box::pin(tokio::time::sleep(d)));
        RunLimits::default()
            .time_limit(limit, sleep)
            .max_state_bytes(self.max_state_bytes)
    }

    /// The delay before attempt `attempts + 1` of a notification, or `None` to give up.
    pub(crate) fn notify_delay(&self, attempts_made: u32) -> Option<Duration> {
        if attempts_made >= self.notify_attempts {
            return None;
        }
        let factor = 1u32
            .checked_shl(attempts_made.saturating_sub(1))
            .unwrap_or(u32::MAX);
        Some(
            self.notify_backoff
                .saturating_mul(factor)
                .min(self.notify_backoff_max),
        )
    }
}
