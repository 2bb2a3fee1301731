//! The durable schedule store: what the engine persists between the runs of an invocation.
//!
//! A row exists only for invocations that did not finish in their first run (POLL or
//! CALLBACK), as in the Python framework. Work is distributed by **leases**: a worker claims
//! due rows by writing a lease id and expiry into them; only the holder of the current lease
//! may write the next transition ([`Store::complete`] is fenced by the lease id), and an
//! expired lease lets any worker claim the row again. Nothing relies on process-local locks,
//! so several processes can share one store.

mod inspect;
mod memory;

use std::fmt;

use bk_plugin_core::BoxFuture;
use bk_plugin_core::{Cancellation, State};
use serde_json::{Map, Value};

pub use inspect::{Inspection, PendingNotification, ScheduleFilter};
pub use memory::MemoryStore;

use crate::clock::Timestamp;

/// A store error (I/O, database, corrupt row).
///
/// [`is_unavailable`](StoreError::is_unavailable) tells an outage (the database or its disk
/// cannot be reached or written: retrying later succeeds) from an error of one statement or
/// row (retrying gives the same error).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct StoreError {
    message: String,
    unavailable: bool,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl StoreError {
    /// An error with a message.
    pub fn new(message: impl Into<String>) -> Self {
        StoreError {
            message: message.into(),
            unavailable: false,
            source: None,
        }
    }

    /// An error caused by `source`.
    pub fn with_source(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        let message = format!("{}: {source}", message.into());
        StoreError {
            message,
            unavailable: false,
            source: Some(Box::new(source)),
        }
    }

    /// Marks the error as an outage of the store (see
    /// [`is_unavailable`](StoreError::is_unavailable)).
    pub fn unavailable(mut self) -> Self {
        self.unavailable = true;
        self
    }

    /// Whether the store itself is unavailable (connection refused or lost, no answer in
    /// time, disk full or read-only) rather than this one operation failing.
    pub fn is_unavailable(&self) -> bool {
        self.unavailable
    }
}

/// Result of store operations.
pub type StoreResult<T> = Result<T, StoreError>;

/// A persisted invocation.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ScheduleRecord {
    /// The invocation id (32 hex).
    pub trace_id: String,
    /// The plugin version it runs.
    pub plugin_version: String,
    /// POLL, CALLBACK, SUCCESS or FAIL.
    pub state: State,
    /// The caller's raw inputs.
    pub inputs: Value,
    /// The caller's raw context.
    pub context: Value,
    /// Storage after the last run.
    pub storage: Map<String, Value>,
    /// Outputs after the last run.
    pub outputs: Map<String, Value>,
    /// Runs so far.
    pub invoke_count: u32,
    /// The failure text, `""` unless FAIL.
    pub err: String,
    /// When the invocation was created.
    pub created_at: Timestamp,
    /// When it reached SUCCESS or FAIL.
    pub finish_at: Option<Timestamp>,
    /// When the row is next due: the next poll of a POLL row, the deadline of a CALLBACK row
    /// (`None`: none).
    pub next_run_at: Option<Timestamp>,
    /// A cancellation requested for this waiting row ([`Store::request_cancel`]): the next
    /// run of the row is the plugin's `on_cancel`, which ends it as FAIL.
    pub cancel: Option<Cancellation>,
    /// The W3C `traceparent` of the invoke's span (the caller's trace, continued): resumes,
    /// callbacks and the finish notification join that trace. `None`: no trace context.
    pub traceparent: Option<String>,
}

impl ScheduleRecord {
    /// The row of an invocation whose first run, at `created_at`, ended in `state` (POLL or
    /// CALLBACK): one run so far, empty storage and outputs ([`with_data`](Self::with_data)),
    /// no next poll ([`poll_at`](Self::poll_at)), not finished.
    pub fn new(
        trace_id: String,
        plugin_version: String,
        state: State,
        inputs: Value,
        context: Value,
        created_at: Timestamp,
    ) -> Self {
        ScheduleRecord {
            trace_id,
            plugin_version,
            state,
            inputs,
            context,
            storage: Map::new(),
            outputs: Map::new(),
            invoke_count: 1,
            err: String::new(),
            created_at,
            finish_at: None,
            next_run_at: None,
            cancel: None,
            traceparent: None,
        }
    }

    /// The same with the storage and outputs the run left.
    pub fn with_data(mut self, storage: Map<String, Value>, outputs: Map<String, Value>) -> Self {
        self.storage = storage;
        self.outputs = outputs;
        self
    }

    /// The same with the next poll due at `at`.
    pub fn poll_at(mut self, at: Timestamp) -> Self {
        self.next_run_at = Some(at);
        self
    }
}

/// One item of [`Store::complete_many`]: a transition to write if `lease_id` still holds the
/// row of `trace_id` (as [`Store::complete`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Completion {
    /// The row.
    pub trace_id: String,
    /// The lease the writer holds.
    pub lease_id: i64,
    /// What to write.
    pub transition: Transition,
}

impl Completion {
    /// The completion of `trace_id` under `lease_id`.
    pub fn new(trace_id: String, lease_id: i64, transition: Transition) -> Self {
        Completion {
            trace_id,
            lease_id,
            transition,
        }
    }
}

/// A lease to take: who takes it, its id (fencing token) and when it expires.
#[derive(Debug, Clone, Copy)]
pub struct LeaseRequest<'a> {
    /// A name of the claiming worker, for diagnostics.
    pub owner: &'a str,
    /// Unique per claim; [`Store::complete`] and [`Store::renew`] must present it.
    pub id: i64,
    /// When the lease expires unless renewed.
    pub until: Timestamp,
}

/// A callback waiting in a schedule's inbox.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedCallback {
    /// Its position in the inbox (consumed in order).
    pub seq: i64,
    /// The id from the token.
    pub callback_id: String,
    /// The JSON body delivered.
    pub data: Value,
}

/// A due schedule claimed under a lease.
#[derive(Debug, Clone)]
pub struct Claim {
    /// The row as claimed.
    pub record: ScheduleRecord,
    /// The lease id to present when completing.
    pub lease_id: i64,
    /// For a CALLBACK row: the oldest callback in its inbox, which this run consumes.
    pub callback: Option<QueuedCallback>,
}

/// A finish notification to POST: the caller's `plugin_callback_info`.
#[derive(Debug, Clone, PartialEq)]
pub struct NewNotification {
    /// The URL to POST to.
    pub url: String,
    /// The JSON body.
    pub data: Value,
    /// When to send it first.
    pub due_at: Timestamp,
}

/// The next state of a claimed schedule, written in one transaction.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Transition {
    /// The new state.
    pub state: State,
    /// Storage to persist.
    pub storage: Map<String, Value>,
    /// Outputs to persist.
    pub outputs: Map<String, Value>,
    /// Runs so far.
    pub invoke_count: u32,
    /// Failure text (`""` unless FAIL).
    pub err: String,
    /// Set when `state` is SUCCESS or FAIL.
    pub finish_at: Option<Timestamp>,
    /// Set when `state` is POLL.
    pub next_run_at: Option<Timestamp>,
    /// The state the row was claimed in (POLL or CALLBACK).
    pub previous_state: State,
    /// The inbox entry this run consumed.
    pub consumed_callback: Option<i64>,
    /// The finish notification to enqueue (terminal states only).
    pub notification: Option<NewNotification>,
}

impl Transition {
    /// The transition of `claim`'s row to `state` at the end of a run at `now`: storage and
    /// outputs as claimed, one run more, the claimed callback consumed, `finish_at` = `now`
    /// when `state` is SUCCESS or FAIL; no next poll ([`poll_at`](Self::poll_at)) and no
    /// notification ([`notify`](Self::notify)). For store tests and custom drivers; the engine
    /// builds its transitions from the run's outcome.
    pub fn after(claim: &Claim, state: State, now: Timestamp) -> Self {
        Transition {
            state,
            storage: claim.record.storage.clone(),
            outputs: claim.record.outputs.clone(),
            invoke_count: claim.record.invoke_count.saturating_add(1),
            err: String::new(),
            finish_at: state.is_finished().then_some(now),
            next_run_at: None,
            previous_state: claim.record.state,
            consumed_callback: claim.callback.as_ref().map(|c| c.seq),
            notification: None,
        }
    }

    /// The same with the next poll due at `at`.
    pub fn poll_at(mut self, at: Timestamp) -> Self {
        self.next_run_at = Some(at);
        self
    }

    /// The same, enqueuing `notification`.
    pub fn notify(mut self, notification: NewNotification) -> Self {
        self.notification = Some(notification);
        self
    }

    /// `true` when the schedule leaves CALLBACK: its remaining inbox is dropped, as the Python
    /// framework drops callbacks that find the schedule in another state. (Inbox entries only
    /// exist while a row is in CALLBACK.)
    pub fn drops_inbox(&self) -> bool {
        self.previous_state == State::Callback && self.state != State::Callback
    }

    /// `true` for a step that changes only the row itself (no inbox entry consumed or dropped,
    /// no notification): a single UPDATE writes it, and stores may batch such steps.
    pub fn is_plain(&self) -> bool {
        self.consumed_callback.is_none() && self.notification.is_none() && !self.drops_inbox()
    }
}

/// What happened to a delivered callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushOutcome {
    /// Queued: the schedule is in CALLBACK and will run with it.
    Queued,
    /// Not queued again: a callback with this id is already in the schedule's inbox.
    AlreadyQueued,
    /// Not queued: there is no schedule (`None`) or it is in another state.
    NotWaiting(Option<State>),
}

/// A finish notification claimed for sending.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    /// Its id.
    pub id: i64,
    /// The invocation it reports.
    pub trace_id: String,
    /// The URL to POST to.
    pub url: String,
    /// The JSON body.
    pub data: Value,
    /// Attempts made before this one.
    pub attempts: u32,
}

/// How a notification attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// The caller accepted it: delete it.
    Delivered,
    /// Failed: try again at the given time.
    RetryAt(Timestamp),
    /// Failed for the last time: delete it (the failure is logged).
    GaveUp,
}

/// Row counts, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Unfinished rows in POLL.
    pub polling: u64,
    /// Unfinished rows in CALLBACK.
    pub waiting_callback: u64,
    /// Notifications not yet delivered.
    pub notifications: u64,
}

/// A durable schedule store. Implementations: [`MemoryStore`] (tests and the harness), and in
/// `bk-plugin-store` SQLite, PostgreSQL and MySQL / MariaDB.
///
/// The contract every implementation keeps (the shared store suite, `tests/support/stores.rs`, runs
/// the engine tests and `tests/store/contract.rs` against each one):
///
/// - **Atomicity.** Every method is one atomic step: another process sharing the store sees
///   all of its writes or none. Batch methods ([`create_many`](Store::create_many),
///   [`complete_many`](Store::complete_many)) are atomic per item, not as a whole.
/// - **Fencing.** A claimed row is written only by the holder of its current lease
///   ([`complete`](Store::complete), [`renew`](Store::renew)); a row is never held by two
///   live leases, and a claim never returns a row twice.
/// - **Order.** [`claim_due`](Store::claim_due) returns due POLL rows, earliest `next_run_at`
///   first, then CALLBACK rows, oldest queued callback first;
///   [`claim_notifications`](Store::claim_notifications) returns the oldest due first (ties by
///   id). An inbox is consumed in the order its callbacks arrived. Batch methods answer one
///   result per item, in the order of the items.
///
/// See the module docs for the lease protocol.
pub trait Store: Send + Sync + fmt::Debug + 'static {
    /// Inserts the row of an invocation whose first run ended in POLL or CALLBACK.
    fn create(&self, record: ScheduleRecord) -> BoxFuture<'_, StoreResult<()>>;

    /// [`create`](Store::create) for several rows (group commit): `true` per created row,
    /// `false` when a row with that trace id already exists. Stores override this to insert
    /// many rows in one statement; the default creates them one by one and fails the batch
    /// on the first error.
    fn create_many(&self, records: Vec<ScheduleRecord>) -> BoxFuture<'_, StoreResult<Vec<bool>>> {
        Box::pin(async move {
            let mut done = Vec::with_capacity(records.len());
            for r in records {
                self.create(r).await?;
                done.push(true);
            }
            Ok(done)
        })
    }

    /// The row of `trace_id`.
    fn get<'a>(&'a self, trace_id: &'a str) -> BoxFuture<'a, StoreResult<Option<ScheduleRecord>>>;

    /// Claims up to `limit` due rows that no live lease holds: POLL rows whose `next_run_at`
    /// has passed, earliest first, then (while fewer than `limit` are claimed) CALLBACK rows
    /// with a queued callback, the row with the oldest callback first. Returned in that order,
    /// each CALLBACK claim with its oldest callback.
    fn claim_due<'a>(
        &'a self,
        now: Timestamp,
        lease: LeaseRequest<'a>,
        limit: usize,
    ) -> BoxFuture<'a, StoreResult<Vec<Claim>>>;

    /// Extends the lease `lease_id` on `trace_id`; `false` if it is no longer held.
    fn renew<'a>(
        &'a self,
        trace_id: &'a str,
        lease_id: i64,
        until: Timestamp,
    ) -> BoxFuture<'a, StoreResult<bool>>;

    /// Writes `transition` and releases the lease, atomically, if `lease_id` still holds the
    /// row; `false` (nothing written) otherwise. In the same transaction: consumes the inbox
    /// entry, drops the rest of the inbox unless the new state is CALLBACK (the Python
    /// framework drops callbacks that find the schedule in another state), and enqueues the
    /// notification. A row with a cancellation ([`request_cancel`](Store::request_cancel))
    /// that stays waiting is due at once (`next_run_at` = `created_at`), whatever the
    /// transition says.
    fn complete<'a>(
        &'a self,
        trace_id: &'a str,
        lease_id: i64,
        transition: Transition,
    ) -> BoxFuture<'a, StoreResult<bool>>;

    /// [`complete`](Store::complete) for several rows (group commit); one result per item,
    /// in order. Each item is fenced by its own lease. Stores override this to write many
    /// rows in one statement; the default completes them one by one.
    fn complete_many(&self, items: Vec<Completion>) -> BoxFuture<'_, StoreResult<Vec<bool>>> {
        Box::pin(async move {
            let mut done = Vec::with_capacity(items.len());
            for c in items {
                done.push(self.complete(&c.trace_id, c.lease_id, c.transition).await?);
            }
            Ok(done)
        })
    }

    /// Queues a callback for `trace_id` if, in the same transaction, it is in CALLBACK: a
    /// concurrent [`complete`](Store::complete) moving the row out of CALLBACK happens wholly
    /// before (the push answers [`PushOutcome::NotWaiting`]) or after (the queued callback is
    /// dropped with the inbox, or consumed by a later round). Callbacks are consumed in the
    /// order they were queued. At most one inbox entry exists per `(trace_id, callback_id)`,
    /// even for concurrent pushes: a push of a queued id writes nothing and answers
    /// [`AlreadyQueued`](PushOutcome::AlreadyQueued).
    fn push_callback<'a>(
        &'a self,
        trace_id: &'a str,
        callback_id: &'a str,
        data: Value,
        now: Timestamp,
    ) -> BoxFuture<'a, StoreResult<PushOutcome>>;

    /// Records `cancel` on the row of `trace_id` if it is waiting (POLL or CALLBACK), unless
    /// a cancellation is already recorded (the first one stands), and makes the row due at
    /// once (`next_run_at` = `created_at`). A transition written for a row with a cancellation
    /// keeps it due (see [`complete`](Store::complete)), so a step running meanwhile is
    /// followed at once by the cancellation. Answers the row as it is afterwards (`None`: no
    /// row); a finished row is left as it is.
    fn request_cancel<'a>(
        &'a self,
        trace_id: &'a str,
        cancel: &'a Cancellation,
    ) -> BoxFuture<'a, StoreResult<Option<ScheduleRecord>>>;

    /// Leases the row of `trace_id` if it is waiting (POLL or CALLBACK, due or not) and not
    /// leased by anyone else (no lease, or one expired before `now`); answers it as leased
    /// (`None`: finished, leased, or no row). For work on one chosen row: a cancellation, an
    /// operator's command. Complete it with [`complete`](Store::complete) as a claim.
    fn lease_one<'a>(
        &'a self,
        trace_id: &'a str,
        now: Timestamp,
        lease: LeaseRequest<'a>,
    ) -> BoxFuture<'a, StoreResult<Option<ScheduleRecord>>>;

    /// The rows `filter` matches ([`ScheduleFilter::matches`]), newest `created_at` first
    /// (ties by trace id), at most `filter.limit`. A plain read: safe beside running workers.
    fn list<'a>(
        &'a self,
        filter: &'a ScheduleFilter,
    ) -> BoxFuture<'a, StoreResult<Vec<ScheduleRecord>>>;

    /// The row of `trace_id` with its lease, inbox and pending notifications (`None`: no row).
    fn inspect<'a>(&'a self, trace_id: &'a str) -> BoxFuture<'a, StoreResult<Option<Inspection>>>;

    /// Makes the finish notification of `trace_id` due at `notification.due_at` again: a
    /// pending one starts over (no attempts made); when none is pending (delivered, or given
    /// up), `notification` is enqueued. `true` when it enqueued one.
    fn renotify<'a>(
        &'a self,
        trace_id: &'a str,
        notification: NewNotification,
    ) -> BoxFuture<'a, StoreResult<bool>>;

    /// The earliest time a row may become due (`None`: nothing pending). Leased rows count at
    /// their lease expiry.
    fn next_due(&self) -> BoxFuture<'_, StoreResult<Option<Timestamp>>>;

    /// Claims up to `limit` notifications due at `now` that no live lease holds, under a lease
    /// until `until`: the oldest `due_at` first (ties: the first enqueued first), returned in
    /// that order.
    fn claim_notifications(
        &self,
        now: Timestamp,
        until: Timestamp,
        limit: usize,
    ) -> BoxFuture<'_, StoreResult<Vec<Notification>>>;

    /// Records the result of a notification attempt.
    fn settle_notification(&self, id: i64, delivery: Delivery) -> BoxFuture<'_, StoreResult<()>>;

    /// The earliest due notification (`None`: none pending).
    fn next_notification(&self) -> BoxFuture<'_, StoreResult<Option<Timestamp>>>;

    /// Deletes finished rows with `finish_at` before `before`; returns how many.
    fn purge_finished(&self, before: Timestamp) -> BoxFuture<'_, StoreResult<u64>>;

    /// Row counts.
    fn counts(&self) -> BoxFuture<'_, StoreResult<Counts>>;

    /// The versions that unfinished invocations wait on (rows in POLL or CALLBACK with no
    /// `finish_at`), each with how many, ordered by version text. The HTTP runtime checks them
    /// at startup against the versions it serves: a version removed from the binary would
    /// fail its waiting invocations at their next resume.
    fn waiting_versions(&self) -> BoxFuture<'_, StoreResult<Vec<(String, u64)>>>;

    /// The value of the setting `name`, if set: small values the runtime keeps beside the
    /// schedules so every process of the app sees them (the gateway's public key, the hash
    /// of the last gateway sync).
    fn get_setting<'a>(&'a self, name: &'a str) -> BoxFuture<'a, StoreResult<Option<String>>>;

    /// Sets the setting `name` to `value` (insert or replace).
    fn put_setting<'a>(&'a self, name: &'a str, value: &'a str) -> BoxFuture<'a, StoreResult<()>>;
}
