//! A test rig for the engine: an [`Engine`] over a store from [`stores`](crate::stores), with
//! a virtual clock, a callback key, a recording finish notifier and a spying store wrapper.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bk_plugin_engine::store::{
    Claim, Completion, Counts, Delivery, Inspection, LeaseRequest, NewNotification, Notification,
    PushOutcome, ScheduleFilter, ScheduleRecord, Store, StoreResult, Transition,
};
use bk_plugin_engine::{
    CallbackKey, CallbackSigner, Clock, Engine, EngineConfig, FinishNotifier, ManualClock,
    Timestamp,
};
use bk_plugin_kit::serde_json::Value;
use bk_plugin_kit::{BoxFuture, Cancellation, State, registry};

/// 2024-01-01T00:00:00Z: where the virtual clock of a [`Rig`] starts.
pub const EPOCH: Timestamp = Timestamp::from_millis(1_704_067_200_000);

/// The gateway host in callback URLs issued by a [`Rig`].
pub const CALLBACK_HOST: &str = "https://bkapi.example.com/api/my-plugin";

/// The app secret the callback key of a [`Rig`] is derived from.
pub const APP_SECRET: &str = "bk-plugin-tests engine secret";

/// The engine configuration of a [`Rig`]: production values, except a short callback retry
/// window (3 attempts, 20 ms apart) so that rejected callbacks do not slow the suite.
pub fn test_config() -> EngineConfig {
    let mut config = EngineConfig::default();
    config.callback_attempts = 3;
    config.callback_retry_delay = Duration::from_millis(20);
    config
}

/// One attempt of the engine to send a finish notification.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    /// The URL.
    pub url: String,
    /// The body.
    pub data: Value,
    /// The virtual time of the attempt.
    pub at: Timestamp,
    /// Whether the recording notifier accepted it.
    pub accepted: bool,
    /// The state of the watched row (see [`RecordingNotifier::watch`]) when the attempt was
    /// made.
    pub watched_state: Option<State>,
}

/// A [`FinishNotifier`] that records every attempt, and refuses the first N of them.
#[derive(Debug)]
pub struct RecordingNotifier {
    clock: Arc<dyn Clock>,
    failures_left: AtomicU32,
    attempts: Mutex<Vec<Attempt>>,
    watch: Mutex<Option<(Arc<dyn Store>, String)>>,
}

impl RecordingNotifier {
    /// A notifier that accepts everything; attempts are timed with `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        RecordingNotifier {
            clock,
            failures_left: AtomicU32::new(0),
            attempts: Mutex::new(Vec::new()),
            watch: Mutex::new(None),
        }
    }

    /// Refuses the next `n` attempts (`u32::MAX`: all of them).
    pub fn fail_next(&self, n: u32) {
        self.failures_left.store(n, Ordering::SeqCst);
    }

    /// Records the state of row `trace_id` of `store` at each attempt.
    pub fn watch(&self, store: Arc<dyn Store>, trace_id: &str) {
        *self.watch.lock().unwrap() = Some((store, trace_id.to_owned()));
    }

    /// Every attempt so far.
    pub fn attempts(&self) -> Vec<Attempt> {
        self.attempts.lock().unwrap().clone()
    }

    /// The accepted attempts so far.
    pub fn delivered(&self) -> Vec<Attempt> {
        self.attempts().into_iter().filter(|a| a.accepted).collect()
    }
}

impl FinishNotifier for RecordingNotifier {
    fn send<'a>(
        &'a self,
        _trace_id: &'a str,
        url: &'a str,
        data: &'a Value,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let accepted = self
                .failures_left
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| match n {
                    0 => None,
                    u32::MAX => Some(u32::MAX),
                    n => Some(n - 1),
                })
                .is_err();
            let watch = self.watch.lock().unwrap().clone();
            let watched_state = match watch {
                Some((store, trace_id)) => store
                    .get(&trace_id)
                    .await
                    .expect("store readable")
                    .map(|r| r.state),
                None => None,
            };
            self.attempts.lock().unwrap().push(Attempt {
                url: url.to_owned(),
                data: data.clone(),
                at: self.clock.now(),
                accepted,
                watched_state,
            });
            if accepted {
                Ok(())
            } else {
                Err("refused by the test notifier".to_owned())
            }
        })
    }
}

/// A [`Store`] that forwards to another and counts the calls of each method.
#[derive(Debug)]
pub struct SpyStore {
    inner: Arc<dyn Store>,
    calls: Mutex<HashMap<&'static str, u64>>,
}

impl SpyStore {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn Store>) -> Self {
        SpyStore {
            inner,
            calls: Mutex::new(HashMap::new()),
        }
    }

    /// How many times `method` was called (`complete`: rows completed, through `complete` or
    /// `complete_many`).
    pub fn calls(&self, method: &str) -> u64 {
        self.calls.lock().unwrap().get(method).copied().unwrap_or(0)
    }

    fn count(&self, method: &'static str) {
        self.count_n(method, 1);
    }

    fn count_n(&self, method: &'static str, n: u64) {
        *self.calls.lock().unwrap().entry(method).or_default() += n;
    }
}

impl Store for SpyStore {
    fn create(&self, record: ScheduleRecord) -> BoxFuture<'_, StoreResult<()>> {
        self.count("create");
        self.inner.create(record)
    }

    fn get<'a>(&'a self, trace_id: &'a str) -> BoxFuture<'a, StoreResult<Option<ScheduleRecord>>> {
        self.count("get");
        self.inner.get(trace_id)
    }

    fn claim_due<'a>(
        &'a self,
        now: Timestamp,
        lease: LeaseRequest<'a>,
        limit: usize,
    ) -> BoxFuture<'a, StoreResult<Vec<Claim>>> {
        self.count("claim_due");
        self.inner.claim_due(now, lease, limit)
    }

    fn renew<'a>(
        &'a self,
        trace_id: &'a str,
        lease_id: i64,
        until: Timestamp,
    ) -> BoxFuture<'a, StoreResult<bool>> {
        self.count("renew");
        self.inner.renew(trace_id, lease_id, until)
    }

    fn complete<'a>(
        &'a self,
        trace_id: &'a str,
        lease_id: i64,
        transition: Transition,
    ) -> BoxFuture<'a, StoreResult<bool>> {
        self.count("complete");
        self.inner.complete(trace_id, lease_id, transition)
    }

    fn complete_many(&self, items: Vec<Completion>) -> BoxFuture<'_, StoreResult<Vec<bool>>> {
        // Counted per row, as `complete`: the engine may write rows one by one or in groups.
        self.count_n("complete", items.len() as u64);
        self.inner.complete_many(items)
    }

    fn push_callback<'a>(
        &'a self,
        trace_id: &'a str,
        callback_id: &'a str,
        data: Value,
        now: Timestamp,
    ) -> BoxFuture<'a, StoreResult<PushOutcome>> {
        // Counted once answered, so a test that sees the count knows what the store found.
        Box::pin(async move {
            let pushed = self
                .inner
                .push_callback(trace_id, callback_id, data, now)
                .await;
            self.count("push_callback");
            pushed
        })
    }

    fn request_cancel<'a>(
        &'a self,
        trace_id: &'a str,
        cancel: &'a Cancellation,
    ) -> BoxFuture<'a, StoreResult<Option<ScheduleRecord>>> {
        self.count("request_cancel");
        self.inner.request_cancel(trace_id, cancel)
    }

    fn lease_one<'a>(
        &'a self,
        trace_id: &'a str,
        now: Timestamp,
        lease: LeaseRequest<'a>,
    ) -> BoxFuture<'a, StoreResult<Option<ScheduleRecord>>> {
        self.count("lease_one");
        self.inner.lease_one(trace_id, now, lease)
    }

    fn next_due(&self) -> BoxFuture<'_, StoreResult<Option<Timestamp>>> {
        self.count("next_due");
        self.inner.next_due()
    }

    fn claim_notifications(
        &self,
        now: Timestamp,
        until: Timestamp,
        limit: usize,
    ) -> BoxFuture<'_, StoreResult<Vec<Notification>>> {
        self.count("claim_notifications");
        self.inner.claim_notifications(now, until, limit)
    }

    fn settle_notification(&self, id: i64, delivery: Delivery) -> BoxFuture<'_, StoreResult<()>> {
        self.count("settle_notification");
        self.inner.settle_notification(id, delivery)
    }

    fn next_notification(&self) -> BoxFuture<'_, StoreResult<Option<Timestamp>>> {
        self.count("next_notification");
        self.inner.next_notification()
    }

    fn list<'a>(
        &'a self,
        filter: &'a ScheduleFilter,
    ) -> BoxFuture<'a, StoreResult<Vec<ScheduleRecord>>> {
        self.count("list");
        self.inner.list(filter)
    }

    fn inspect<'a>(&'a self, trace_id: &'a str) -> BoxFuture<'a, StoreResult<Option<Inspection>>> {
        self.count("inspect");
        self.inner.inspect(trace_id)
    }

    fn renotify<'a>(
        &'a self,
        trace_id: &'a str,
        notification: NewNotification,
    ) -> BoxFuture<'a, StoreResult<bool>> {
        self.count("renotify");
        self.inner.renotify(trace_id, notification)
    }

    fn purge_finished(&self, before: Timestamp) -> BoxFuture<'_, StoreResult<u64>> {
        self.count("purge_finished");
        self.inner.purge_finished(before)
    }

    fn counts(&self) -> BoxFuture<'_, StoreResult<Counts>> {
        self.count("counts");
        self.inner.counts()
    }

    fn waiting_versions(&self) -> BoxFuture<'_, StoreResult<Vec<(String, u64)>>> {
        self.count("waiting_versions");
        self.inner.waiting_versions()
    }

    fn get_setting<'a>(&'a self, name: &'a str) -> BoxFuture<'a, StoreResult<Option<String>>> {
        self.count("get_setting");
        self.inner.get_setting(name)
    }

    fn put_setting<'a>(&'a self, name: &'a str, value: &'a str) -> BoxFuture<'a, StoreResult<()>> {
        self.count("put_setting");
        self.inner.put_setting(name, value)
    }
}

/// An engine serving every plugin of the test binary ([`registry`]) over a store, with a
/// virtual clock at [`EPOCH`], callbacks signed with a key derived from [`APP_SECRET`], and
/// a [`RecordingNotifier`].
pub struct Rig {
    /// The engine.
    pub engine: Engine,
    /// The store, wrapped to count calls.
    pub store: Arc<SpyStore>,
    /// The store as the engine sees it.
    pub dyn_store: Arc<dyn Store>,
    /// The virtual clock.
    pub clock: Arc<ManualClock>,
    /// The finish notifier.
    pub notifier: Arc<RecordingNotifier>,
    /// The callback key.
    pub key: CallbackKey,
    config: EngineConfig,
}

impl Rig {
    /// A rig over `store` with [`test_config`].
    pub fn new(store: Arc<dyn Store>) -> Rig {
        Rig::with_config(store, test_config())
    }

    /// A rig over `store` with `config`.
    pub fn with_config(store: Arc<dyn Store>, config: EngineConfig) -> Rig {
        let clock = Arc::new(ManualClock::new(EPOCH));
        let store = Arc::new(SpyStore::new(store));
        let dyn_store: Arc<dyn Store> = store.clone();
        let notifier = Arc::new(RecordingNotifier::new(clock.clone()));
        let key = CallbackKey::from_app_secret(APP_SECRET);
        let engine = build_engine(&dyn_store, &clock, &config, &key, &notifier);
        Rig {
            engine,
            store,
            dyn_store,
            clock,
            notifier,
            key,
            config,
        }
    }

    /// Another engine (as in another process) over the same store, clock, key and notifier.
    pub fn another_engine(&self) -> Engine {
        build_engine(
            &self.dyn_store,
            &self.clock,
            &self.config,
            &self.key,
            &self.notifier,
        )
    }

    /// Moves the virtual clock forward.
    pub fn advance(&self, d: Duration) {
        self.clock.advance(d);
    }

    /// The current virtual time.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// The schedule row of `trace_id`, which must exist.
    pub async fn record(&self, trace_id: &str) -> ScheduleRecord {
        self.engine
            .schedule(trace_id)
            .await
            .expect("store readable")
            .unwrap_or_else(|| panic!("no schedule row for {trace_id}"))
    }

    /// The schedule row of `trace_id`, if any.
    pub async fn try_record(&self, trace_id: &str) -> Option<ScheduleRecord> {
        self.engine
            .schedule(trace_id)
            .await
            .expect("store readable")
    }

    /// Runs every due schedule; returns how many runs happened.
    pub async fn run_due(&self) -> usize {
        self.engine.run_due().await.expect("store works")
    }

    /// Sends every due finish notification once; returns how many were attempted.
    pub async fn deliver_notifications(&self) -> usize {
        self.engine
            .deliver_notifications()
            .await
            .expect("store works")
    }

    /// Row counts of the store.
    pub async fn counts(&self) -> Counts {
        self.store.counts().await.expect("store works")
    }
}

fn build_engine(
    store: &Arc<dyn Store>,
    clock: &Arc<ManualClock>,
    config: &EngineConfig,
    key: &CallbackKey,
    notifier: &Arc<RecordingNotifier>,
) -> Engine {
    Engine::builder(registry(), store.clone())
        .clock(clock.clone())
        .config(config.clone())
        .callbacks(CallbackSigner::new(key.clone(), CALLBACK_HOST, "prod"))
        .notifier(notifier.clone())
        .build()
}
