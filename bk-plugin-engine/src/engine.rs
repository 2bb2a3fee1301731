//! [`Engine`]: runs invocations from EMPTY to SUCCESS/FAIL across resumes, durably.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::time::Duration;

use bk_plugin_core::{
    Callback, CallbackIssuer, ContextInputs, Invocation, Outcome, PluginCallbackInfo, Registry,
    RunLimits, State, UnknownVersion,
};
use serde_json::{Map, Value};
use tokio::sync::{Notify, Semaphore};
use tracing::Instrument;

use crate::clock::{Clock, SystemClock, Timestamp};
use crate::commit::Batcher;
use crate::config::EngineConfig;
use crate::deadline;
use crate::health::{Backoff, StoreHealth, within};
use crate::notify::{FinishNotifier, HttpNotifier, redact_url};
use crate::sealing::{self, SecretKey};
use crate::store::{
    Claim, Completion, Delivery, LeaseRequest, NewNotification, PushOutcome, QueuedCallback,
    ScheduleRecord, Store, StoreError, StoreResult, Transition,
};
use crate::token::{CallbackKey, CallbackSigner, TokenError, callback_round, new_id};
use crate::trace::{LocalSpans, SPAN_TARGET, SpanLinker, TraceParent};

/// The answer to an invoke: what the HTTP runtime puts in `data`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Invoked {
    /// The invocation id.
    pub trace_id: String,
    /// POLL, CALLBACK, SUCCESS or FAIL.
    pub state: State,
    /// The outputs; `None` on FAIL (the Python framework answers `outputs: null`).
    pub outputs: Option<Map<String, Value>>,
    /// The failure text on FAIL, else `None`.
    pub err: Option<String>,
    /// The storage after the run (not part of the wire response; for tests and logs).
    pub storage: Map<String, Value>,
}

/// Why an invoke was not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InvokeError {
    /// The version is not served.
    #[error(transparent)]
    UnknownVersion(#[from] UnknownVersion),
    /// The store is unavailable, so a run that waits could not be stored: the plugin was not
    /// run (nothing happened; the caller may retry).
    #[error("the schedule store is unavailable: {0}")]
    StoreUnavailable(#[source] StoreError),
}

/// How long background work (claims, step writes, notifications) waits for the store before
/// the attempt counts as failed and is retried.
const BACKGROUND_STORE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a step's result whose write failed because the store is unavailable is retried
/// before it is given up (the step then runs again once its lease expires).
const STEP_WRITE_RETRY_FOR: Duration = Duration::from_secs(600);

/// The setting a store probe writes (the store is writable again, not only readable).
const PROBE_SETTING: &str = "bk_plugin.store_probe";

/// Why a callback was not accepted. The texts are the Python framework's messages.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CallbackError {
    /// The token is forged, altered, truncated or malformed.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The schedule was not in CALLBACK during the whole retry window.
    #[error("callback fail,schedule plugin state[{}]: is not callback", state.map_or("None".to_owned(), |s| s.code().to_string()))]
    NotWaiting {
        /// The state found (`None`: no schedule).
        state: Option<State>,
    },
    /// The token was issued for another wait of the invocation than the one it is in (a URL
    /// of an earlier wait replayed, or not issued by this runtime's signer).
    #[error("callback fail,schedule plugin state[3]: the token is not for the current wait")]
    OtherWait,
    /// The store failed.
    #[error("callback fail,unknown error,exception:{0}")]
    Store(#[from] StoreError),
    /// The engine has no callback key configured.
    #[error("callbacks are not configured in this runtime (no app secret or callback key)")]
    NotConfigured,
}

pub(crate) struct Inner {
    pub(crate) registry: &'static Registry,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) config: EngineConfig,
    pub(crate) key: Option<CallbackKey>,
    pub(crate) secret_key: SecretKey,
    pub(crate) issuer: Option<Arc<dyn CallbackIssuer>>,
    pub(crate) notifier: Arc<dyn FinishNotifier>,
    pub(crate) spans: Arc<dyn SpanLinker>,
    pub(crate) owner: String,
    pub(crate) next_lease: AtomicI64,
    pub(crate) wake: Notify,
    pub(crate) wake_notify: Notify,
    pub(crate) permits: Arc<Semaphore>,
    pub(crate) completes: Batcher<Completion>,
    pub(crate) creates: Batcher<ScheduleRecord>,
    pub(crate) health: StoreHealth,
    /// The bounds of first runs and of resumes (from the config).
    pub(crate) invoke_limits: RunLimits,
    pub(crate) step_limits: RunLimits,
    pub(crate) cancel_limits: RunLimits,
    /// Step results waiting to be written again after an outage; no new claims meanwhile
    /// (the scheduler would otherwise take back its own rows once their lease expires and
    /// run those steps a second time).
    pub(crate) unstored: AtomicUsize,
}

/// The execution engine: invoke, resume (poll and callback), finish notifications.
///
/// Cheap to clone (an `Arc`). Build it with [`Engine::builder`]; run its background loops
/// with [`Engine::start`](crate::Engine::start), or drive them by hand with
/// [`run_due`](Engine::run_due) and [`deliver_notifications`](Engine::deliver_notifications).
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("owner", &self.inner.owner)
            .field("store", &self.inner.store)
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// Builds an [`Engine`].
pub struct EngineBuilder {
    registry: &'static Registry,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    config: EngineConfig,
    signer: Option<CallbackSigner>,
    issuer: Option<Arc<dyn CallbackIssuer>>,
    notifier: Option<Arc<dyn FinishNotifier>>,
    spans: Option<Arc<dyn SpanLinker>>,
    secret_key: Option<SecretKey>,
}

impl std::fmt::Debug for EngineBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineBuilder")
            .field("store", &self.store)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl EngineBuilder {
    /// Uses `clock` instead of the system clock.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Sets the tuning.
    pub fn config(mut self, config: EngineConfig) -> Self {
        self.config = config;
        self
    }

    /// Enables `prepare_callback` and the callback endpoint with this signer.
    pub fn callbacks(mut self, signer: CallbackSigner) -> Self {
        self.signer = Some(signer);
        self
    }

    /// Uses `issuer` for `prepare_callback` (tokens are still verified with the signer's key).
    pub fn issuer(mut self, issuer: Arc<dyn CallbackIssuer>) -> Self {
        self.issuer = Some(issuer);
        self
    }

    /// Sends finish notifications with `notifier` instead of HTTP.
    pub fn notifier(mut self, notifier: Arc<dyn FinishNotifier>) -> Self {
        self.notifier = Some(notifier);
        self
    }

    /// Links the engine's trace spans with `spans` instead of [`LocalSpans`] (the HTTP
    /// runtime's `otel` feature exports them).
    pub fn spans(mut self, spans: Arc<dyn SpanLinker>) -> Self {
        self.spans = Some(spans);
        self
    }

    /// Seals [`Secret`](bk_plugin_core::Secret) inputs at rest with `key` (engine.md,
    /// "Secrets"). Without it, the key is derived from the callback signer's key, or, with no
    /// signer either, a fixed development key (logged as a warning when a version has secrets).
    pub fn secret_key(mut self, key: SecretKey) -> Self {
        self.secret_key = Some(key);
        self
    }

    /// Builds the engine.
    pub fn build(self) -> Engine {
        let secret_key = self
            .secret_key
            .unwrap_or_else(|| sealing::default_key(self.registry, self.signer.as_ref()));
        let issuer = self.issuer.or_else(|| {
            self.signer
                .clone()
                .map(|s| Arc::new(s) as Arc<dyn CallbackIssuer>)
        });
        let notifier = self.notifier.unwrap_or_else(|| {
            Arc::new(HttpNotifier::with_policy(
                self.config.notify_timeout,
                self.config.notify_policy.clone(),
            ))
        });
        let permits = Arc::new(Semaphore::new(self.config.max_concurrency.max(1)));
        let c = &self.config;
        let (invoke_limits, step_limits, cancel_limits) = (
            c.run_limits(c.invoke_timeout),
            c.run_limits(c.step_timeout),
            c.run_limits(c.cancel_timeout),
        );
        Engine {
            inner: Arc::new(Inner {
                registry: self.registry,
                store: self.store,
                clock: self.clock,
                key: self.signer.map(|s| s.key().clone()),
                secret_key,
                issuer,
                notifier,
                spans: self.spans.unwrap_or_else(|| Arc::new(LocalSpans)),
                owner: format!("{}-{}", std::process::id(), &new_id()[..8]),
                // Lease ids only need to be unique per claim across processes: start from a
                // random point and count up.
                next_lease: AtomicI64::new(
                    i64::from_le_bytes(uuid::Uuid::new_v4().as_bytes()[..8].try_into().unwrap())
                        & (i64::MAX >> 1),
                ),
                config: self.config,
                wake: Notify::new(),
                wake_notify: Notify::new(),
                permits,
                completes: Batcher::default(),
                creates: Batcher::default(),
                health: StoreHealth::default(),
                invoke_limits,
                step_limits,
                cancel_limits,
                unstored: AtomicUsize::new(0),
            }),
        }
    }
}

impl Engine {
    /// A builder serving the plugins of `registry` with schedules in `store`.
    pub fn builder(registry: &'static Registry, store: Arc<dyn Store>) -> EngineBuilder {
        EngineBuilder {
            registry,
            store,
            clock: Arc::new(SystemClock),
            config: EngineConfig::default(),
            signer: None,
            issuer: None,
            notifier: None,
            spans: None,
            secret_key: None,
        }
    }

    /// The plugins served.
    pub fn registry(&self) -> &'static Registry {
        self.inner.registry
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// The tuning.
    pub fn config(&self) -> &EngineConfig {
        &self.inner.config
    }

    /// Invokes `version` with a new trace id; see [`invoke_with_id`](Engine::invoke_with_id).
    pub async fn invoke(
        &self,
        version: &str,
        inputs: Value,
        context: Value,
    ) -> Result<Invoked, InvokeError> {
        self.invoke_with_id(new_id(), version, inputs, context)
            .await
    }

    /// Runs the first step of an invocation with id `trace_id` (the HTTP request's id).
    ///
    /// SUCCESS and FAIL are answered without writing anything. POLL and CALLBACK create the
    /// schedule row (and wake the scheduler); if that fails the invocation FAILs with
    /// `schedule create error: ...`.
    ///
    /// While the store is known to be unavailable (a store call failed with an outage and
    /// none succeeded since), the store is probed first and, if it still fails, the plugin is
    /// not run: [`InvokeError::StoreUnavailable`], within
    /// [`store_timeout`](EngineConfig::store_timeout).
    pub async fn invoke_with_id(
        &self,
        trace_id: String,
        version: &str,
        inputs: Value,
        context: Value,
    ) -> Result<Invoked, InvokeError> {
        self.invoke_traced(trace_id, version, inputs, context, None)
            .await
    }

    /// [`invoke_with_id`](Engine::invoke_with_id) continuing the caller's W3C trace
    /// `parent` (its `traceparent` header): the first run happens in an `invoke` span under
    /// it, and the span's context is stored with the row, so that every resume, callback and
    /// the finish notification of the invocation join the same trace.
    pub async fn invoke_traced(
        &self,
        trace_id: String,
        version: &str,
        inputs: Value,
        context: Value,
        parent: Option<TraceParent>,
    ) -> Result<Invoked, InvokeError> {
        let span = tracing::info_span!(
            target: SPAN_TARGET,
            "invoke",
            bk_plugin.trace_id = %trace_id,
            version,
            state = tracing::field::Empty,
            w3c_trace_id = tracing::field::Empty,
        );
        let own = self.link(&span, parent.as_ref());
        let result = self
            .first_run(trace_id, version, inputs, context, own)
            .instrument(span.clone())
            .await;
        if let Ok(done) = &result {
            span.record("state", tracing::field::display(done.state));
        }
        result
    }

    /// Links `span` under `parent` and records its W3C trace id (for the logs).
    fn link(&self, span: &tracing::Span, parent: Option<&TraceParent>) -> Option<TraceParent> {
        let own = self.inner.spans.link(span, parent);
        if let Some(t) = &own {
            span.record("w3c_trace_id", t.trace_id_hex());
        }
        own
    }

    async fn first_run(
        &self,
        trace_id: String,
        version: &str,
        inputs: Value,
        context: Value,
        own: Option<TraceParent>,
    ) -> Result<Invoked, InvokeError> {
        let inner = &self.inner;
        let plugin = inner
            .registry
            .get(version)
            .ok_or_else(|| inner.registry.unknown(version))?;
        if inner.health.is_down() {
            self.probe().await.map_err(InvokeError::StoreUnavailable)?;
        }
        let mut inv = Invocation::new(trace_id.clone(), inputs.clone(), context.clone())
            .with_limits(inner.invoke_limits.clone());
        if let Some(issuer) = &inner.issuer {
            inv = inv.with_issuer(issuer.clone());
        }
        // Every log line emitted while the plugin runs carries the trace id (the BK PaaS log
        // search filters on it); the span name is the Python framework's `[execute]`.
        let span = tracing::info_span!("execute", trace_id = %trace_id, version);
        let outcome = async {
            tracing::debug!("plugin start execute");
            let outcome = plugin.run(inv).await;
            log_outcome(&outcome);
            outcome
        }
        .instrument(span)
        .await;
        let Outcome {
            state,
            poll_interval,
            callback_timeout,
            storage,
            outputs,
            err,
            ..
        } = outcome;
        if !matches!(state, State::Poll | State::Callback) {
            let failed = state == State::Fail;
            return Ok(Invoked {
                trace_id,
                state,
                outputs: (!failed).then_some(outputs),
                err,
                storage,
            });
        }
        let now = inner.clock.now();
        let version_deadline = deadline::version_deadline(now, plugin.timeout());
        let (next_run_at, pending_err) = deadline::wait_fields(
            state,
            poll_interval,
            callback_timeout,
            now,
            version_deadline,
        );
        let (inputs, context) = self.seal_data(plugin, &inputs, &context);
        let mut record = ScheduleRecord::new(
            trace_id.clone(),
            version.to_owned(),
            state,
            inputs,
            context,
            now,
        )
        .with_data(storage.clone(), outputs.clone());
        record.next_run_at = next_run_at;
        record.err = pending_err;
        record.traceparent = own.map(|t| t.to_string());
        let store = &inner.store;
        let started = std::time::Instant::now();
        let submitted = inner
            .creates
            .submit(record, inner.config.store_timeout, |records| {
                store.create_many(records)
            })
            .await;
        let created = self
            .noted("create", started, submitted)
            .and_then(|created| {
                if created {
                    Ok(())
                } else {
                    Err(StoreError::new(format!(
                        "schedule {trace_id} already exists"
                    )))
                }
            });
        if let Err(e) = created {
            tracing::error!(trace_id, error = %e, "schedule create failed");
            // The store's own text stays in the log: it can name hosts and tables.
            let err = format!(
                "schedule create error: the schedule store failed (logged with trace_id {trace_id})"
            );
            return Ok(Invoked {
                trace_id,
                state: State::Fail,
                outputs: None,
                err: Some(err),
                storage,
            });
        }
        if state == State::Poll {
            inner.wake.notify_one();
        }
        Ok(Invoked {
            trace_id,
            state,
            outputs: Some(outputs),
            err: None,
            storage,
        })
    }

    /// The stored schedule of `trace_id` (`None`: no row, e.g. it finished in invoke).
    ///
    /// Answers within [`store_timeout`](EngineConfig::store_timeout).
    ///
    /// `err` is empty unless the state is FAIL (a waiting row keeps there the text it FAILs
    /// with when its deadline passes).
    pub async fn schedule(&self, trace_id: &str) -> StoreResult<Option<ScheduleRecord>> {
        let mut record = self
            .request("read schedule", self.inner.store.get(trace_id))
            .await?;
        if let Some(r) = record.as_mut().filter(|r| r.state != State::Fail) {
            r.err.clear();
        }
        Ok(record)
    }

    /// A store call made for a request: bounded by
    /// [`store_timeout`](EngineConfig::store_timeout), its outcome recorded.
    pub(crate) async fn request<T>(
        &self,
        what: &str,
        fut: impl Future<Output = StoreResult<T>>,
    ) -> StoreResult<T> {
        self.call(what, self.inner.config.store_timeout, fut).await
    }

    /// A store call made by background work (bounded by [`BACKGROUND_STORE_TIMEOUT`]).
    pub(crate) async fn background<T>(
        &self,
        what: &str,
        fut: impl Future<Output = StoreResult<T>>,
    ) -> StoreResult<T> {
        self.call(what, BACKGROUND_STORE_TIMEOUT, fut).await
    }

    async fn call<T>(
        &self,
        what: &str,
        limit: Duration,
        fut: impl Future<Output = StoreResult<T>>,
    ) -> StoreResult<T> {
        let started = std::time::Instant::now();
        self.noted(what, started, within(what, limit, fut).await)
    }

    /// `result` of a store call made for `what` begun at `started`, recorded in the store's
    /// health.
    fn noted<T>(
        &self,
        what: &str,
        started: std::time::Instant,
        result: StoreResult<T>,
    ) -> StoreResult<T> {
        self.inner.health.record(what, started, &result);
        result
    }

    /// Whether the store can be written again (a setting written). One caller probes at a
    /// time; the others are answered at once.
    async fn probe(&self) -> StoreResult<()> {
        let Some(_probing) = self.inner.health.begin_probe() else {
            return Err(StoreError::new("the store is unavailable (being probed)").unavailable());
        };
        let now = self.inner.clock.now().as_millis().to_string();
        self.request("probe", self.inner.store.put_setting(PROBE_SETTING, &now))
            .await
    }

    /// Accepts a callback posted to `callback/<token>/`: verifies the token, then queues
    /// `data` for the schedule if it is in CALLBACK, trying
    /// [`callback_attempts`](EngineConfig::callback_attempts) times (the caller may call back
    /// before invoke stored the row). The run itself happens in the scheduler; callbacks of
    /// one trace run one at a time, in arrival order.
    pub async fn callback(&self, token: &str, data: Value) -> Result<(), CallbackError> {
        let (callback_id, trace_id) = self.open_token(token)?;
        self.deliver_callback(&trace_id, &callback_id, data).await
    }

    /// Verifies a callback token and returns its `(callback_id, trace_id)`.
    pub fn open_token(&self, token: &str) -> Result<(String, String), CallbackError> {
        let key = self
            .inner
            .key
            .as_ref()
            .ok_or(CallbackError::NotConfigured)?;
        Ok(key.open(token)?)
    }

    /// Queues a callback for `trace_id` whose token was already verified.
    pub async fn deliver_callback(
        &self,
        trace_id: &str,
        callback_id: &str,
        data: Value,
    ) -> Result<(), CallbackError> {
        self.deliver_callback_traced(trace_id, callback_id, data, None)
            .await
    }

    /// [`deliver_callback`](Engine::deliver_callback) in a `callback` span of the
    /// invocation's trace (stored by [`invoke_traced`](Engine::invoke_traced)), or of
    /// `caller`'s (the callback request's `traceparent`) when the invocation has none.
    pub async fn deliver_callback_traced(
        &self,
        trace_id: &str,
        callback_id: &str,
        data: Value,
        caller: Option<TraceParent>,
    ) -> Result<(), CallbackError> {
        let inner = &self.inner;
        // Refused before any read, as without a trace.
        callback_round(callback_id).ok_or(CallbackError::OtherWait)?;
        let first = self
            .request("read schedule", inner.store.get(trace_id))
            .await?;
        let stored = first
            .as_ref()
            .and_then(|r| r.traceparent.as_deref())
            .and_then(TraceParent::parse);
        let span = tracing::info_span!(
            target: SPAN_TARGET,
            "callback",
            bk_plugin.trace_id = %trace_id,
            callback_id,
            outcome = tracing::field::Empty,
            w3c_trace_id = tracing::field::Empty,
        );
        self.link(&span, stored.or(caller).as_ref());
        let result = self
            .deliver(trace_id, callback_id, data, first)
            .instrument(span.clone())
            .await;
        match &result {
            Ok(()) => span.record("outcome", "queued"),
            Err(e) => span.record("outcome", tracing::field::display(e)),
        };
        result
    }

    /// The attempts of a delivery; `first` is the row read for the first one.
    async fn deliver(
        &self,
        trace_id: &str,
        callback_id: &str,
        data: Value,
        first: Option<ScheduleRecord>,
    ) -> Result<(), CallbackError> {
        let inner = &self.inner;
        let round = callback_round(callback_id).ok_or(CallbackError::OtherWait)?;
        let attempts = inner.config.callback_attempts.max(1);
        let mut last = None;
        let mut first = Some(first);
        for attempt in 0..attempts {
            if attempt > 0 {
                tokio::time::sleep(inner.config.callback_retry_delay).await;
            }
            let row = match first.take() {
                Some(row) => row,
                None => {
                    self.request("read schedule", inner.store.get(trace_id))
                        .await?
                }
            };
            // Ids of run `round` are for the wait that run enters: the row's current wait
            // (`invoke_count == round`), or the run still in progress (`round` one ahead; if
            // it ends in another state its inbox is dropped, as every callback that finds the
            // schedule elsewhere). An earlier wait's id is refused at once. This check is
            // advisory (the row may move on meanwhile); the claim side checks again and
            // discards what slipped through.
            if let Some(r) = row {
                let timeout = inner
                    .registry
                    .get(&r.plugin_version)
                    .and_then(|p| p.timeout());
                if deadline::too_late(&r, timeout, inner.clock.now()) {
                    return Err(CallbackError::NotWaiting {
                        state: Some(State::Fail),
                    });
                }
                // A finished invocation never waits again: refused at once, without a write
                // or the retry window (a flood of late callbacks costs one read each).
                if r.state.is_finished() {
                    return Err(CallbackError::NotWaiting {
                        state: Some(r.state),
                    });
                }
                if r.state == State::Callback && round < r.invoke_count {
                    return Err(CallbackError::OtherWait);
                }
                if round > r.invoke_count.saturating_add(1) {
                    return Err(CallbackError::OtherWait);
                }
            }
            let now = inner.clock.now();
            let pushed = inner
                .store
                .push_callback(trace_id, callback_id, data.clone(), now);
            match self.request("push callback", pushed).await? {
                PushOutcome::Queued => {
                    inner.wake.notify_one();
                    return Ok(());
                }
                // The same URL posted again while its callback waits: a network retry.
                PushOutcome::AlreadyQueued => return Ok(()),
                PushOutcome::NotWaiting(state) => last = state,
            }
        }
        Err(CallbackError::NotWaiting { state: last })
    }

    /// Claims and runs every due schedule, one after another, until none is due; returns how
    /// many runs happened. The background loop does this concurrently; tests and the testing
    /// harness call it directly.
    pub async fn run_due(&self) -> StoreResult<usize> {
        let mut ran = 0;
        loop {
            let claims = self.claim(self.inner.config.claim_batch).await?;
            if claims.is_empty() {
                return Ok(ran);
            }
            for claim in claims {
                self.run_claim(claim).await;
                ran += 1;
            }
        }
    }

    pub(crate) fn lease_id(&self) -> i64 {
        self.inner.next_lease.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) async fn claim(&self, limit: usize) -> StoreResult<Vec<Claim>> {
        let inner = &self.inner;
        let now = inner.clock.now();
        let lease = LeaseRequest {
            owner: &inner.owner,
            id: self.lease_id(),
            until: now.saturating_add(inner.config.lease),
        };
        self.background("claim", inner.store.claim_due(now, lease, limit))
            .await
    }

    /// Runs one claimed schedule and writes its transition (fenced by the lease), in a
    /// `resume` span of the invocation's trace.
    pub(crate) async fn run_claim(&self, claim: Claim) {
        let record = &claim.record;
        let span = tracing::info_span!(
            target: SPAN_TARGET,
            "resume",
            bk_plugin.trace_id = %record.trace_id,
            version = %record.plugin_version,
            from_state = %record.state,
            state = tracing::field::Empty,
            invoke_count = tracing::field::Empty,
            w3c_trace_id = tracing::field::Empty,
        );
        let parent = record.traceparent.as_deref().and_then(TraceParent::parse);
        self.link(&span, parent.as_ref());
        self.resume(claim).instrument(span).await;
    }

    async fn resume(&self, claim: Claim) {
        let inner = &self.inner;
        let Claim {
            record,
            lease_id,
            callback,
        } = claim;
        let trace_id = record.trace_id.clone();
        if record.cancel.is_some() {
            // Cancelled while waiting (or while a step ran): `on_cancel`, then FAIL; the
            // inbox is dropped with the wait.
            return self.run_cancel(record, lease_id).await;
        }
        if let Some(c) = callback.as_ref().filter(|c| !for_current_wait(&record, c)) {
            // Queued for an earlier wait (a replayed URL that raced the step which ended that
            // wait): consumed without running the plugin.
            tracing::warn!(trace_id, "a callback of an earlier wait was discarded");
            let transition = Transition {
                state: State::Callback,
                storage: record.storage,
                outputs: record.outputs,
                invoke_count: record.invoke_count,
                // The wait goes on, with its deadline.
                err: record.err,
                finish_at: None,
                next_run_at: record.next_run_at,
                previous_state: State::Callback,
                consumed_callback: Some(c.seq),
                notification: None,
            };
            return self.store_step(trace_id, lease_id, transition).await;
        }
        let plugin = inner.registry.get(&record.plugin_version);
        let timeout = plugin.and_then(|p| p.timeout());
        let now = inner.clock.now();
        if let Some(err) = deadline::passed(&record, timeout, callback.is_some(), now) {
            tracing::warn!(trace_id, "{err}");
            let notifies = plugin.is_some_and(|p| p.detail()["enable_plugin_callback"] == true);
            let transition = Transition {
                state: State::Fail,
                err,
                notification: raw_callback_info(&record.context)
                    .filter(|_| notifies)
                    .map(|i| notification(i, now)),
                storage: record.storage,
                outputs: record.outputs,
                invoke_count: record.invoke_count,
                finish_at: Some(now),
                next_run_at: None,
                previous_state: record.state,
                consumed_callback: callback.map(|c| c.seq),
            };
            return self.store_step(trace_id, lease_id, transition).await;
        }
        let version_deadline = deadline::version_deadline(record.created_at, timeout);
        let invoke_count = record.invoke_count.saturating_add(1);
        let consumed = callback.as_ref().map(|c| c.seq);
        let previous_state = record.state;
        let (inputs, context) = match self.open_data(plugin, &record) {
            Ok(data) => data,
            Err(err) => {
                let now = inner.clock.now();
                let t = unserved_fail(record, err, invoke_count, consumed, now);
                return self.store_step(trace_id, lease_id, t).await;
            }
        };
        let now_or = |o: Option<Outcome>| (o, inner.clock.now());
        let (outcome, now) = match plugin {
            None => now_or(None),
            Some(plugin) => {
                let mut inv = Invocation::new(trace_id.clone(), inputs, context)
                    .resume(
                        record.state,
                        invoke_count,
                        record.storage.clone(),
                        record.outputs.clone(),
                    )
                    .with_limits(inner.step_limits.clone());
                if let Some(c) = callback {
                    inv = inv.with_callback(Callback {
                        id: c.callback_id,
                        data: c.data,
                    });
                }
                if let Some(issuer) = &inner.issuer {
                    inv = inv.with_issuer(issuer.clone());
                }
                now_or(Some(
                    self.with_heartbeat(
                        &trace_id,
                        lease_id,
                        async {
                            tracing::debug!(invoke_count, "plugin start schedule");
                            let outcome = plugin.run(inv).await;
                            log_outcome(&outcome);
                            outcome
                        }
                        .instrument(tracing::info_span!(
                            "schedule",
                            trace_id = %trace_id,
                            version = %record.plugin_version
                        )),
                    )
                    .await,
                ))
            }
        };
        let transition = match outcome {
            Some(o) => transition(
                o,
                previous_state,
                invoke_count,
                consumed,
                now,
                version_deadline,
            ),
            None => {
                let err = format!(
                    "plugin schedule failed: plugin version {} is not served by this binary",
                    record.plugin_version
                );
                unserved_fail(record, err, invoke_count, consumed, now)
            }
        };
        self.store_step(trace_id, lease_id, transition).await;
    }

    /// Writes the transition of a claimed schedule (group-committed, fenced by the lease).
    pub(crate) async fn store_step(&self, trace_id: String, lease_id: i64, transition: Transition) {
        let inner = &self.inner;
        let state = transition.state;
        let invoke_count = transition.invoke_count;
        let notifies = transition.notification.is_some();
        // The `resume` span this step runs in.
        let span = tracing::Span::current();
        span.record("state", tracing::field::display(state));
        // Signed: an OpenTelemetry integer (an unsigned one would be text).
        span.record("invoke_count", i64::from(invoke_count));
        match self.write_step(&trace_id, lease_id, transition).await {
            Ok(true) => {
                tracing::debug!(
                    trace_id,
                    state = state.code(),
                    invoke_count,
                    "schedule step stored"
                );
                if notifies {
                    inner.wake_notify.notify_one();
                }
                if state == State::Poll || state == State::Callback {
                    inner.wake.notify_one();
                }
            }
            Ok(false) => tracing::warn!(
                trace_id,
                "lease lost while the step ran (it ran longer than the lease and another worker took it over); result discarded"
            ),
            Err(e) => {
                tracing::error!(trace_id, error = %e, "storing the step failed; it will run again when the lease expires")
            }
        }
    }

    /// The fenced, group-committed write of a step's transition. While the store is
    /// unavailable the same write is retried with back-off (for up to
    /// [`STEP_WRITE_RETRY_FOR`]), so a step that ran is stored once the store answers
    /// again instead of running a second time.
    async fn write_step(
        &self,
        trace_id: &str,
        lease_id: i64,
        transition: Transition,
    ) -> StoreResult<bool> {
        let inner = &self.inner;
        let store = &inner.store;
        let started = tokio::time::Instant::now();
        let mut backoff = Backoff::default();
        let mut waiting = false;
        let result = loop {
            let completion = Completion::new(trace_id.to_owned(), lease_id, transition.clone());
            let attempt = std::time::Instant::now();
            let submitted = inner
                .completes
                .submit(completion, BACKGROUND_STORE_TIMEOUT, |items| {
                    store.complete_many(items)
                })
                .await;
            match self.noted("store step", attempt, submitted) {
                Err(e) if e.is_unavailable() && started.elapsed() < STEP_WRITE_RETRY_FOR => {
                    if !waiting {
                        waiting = true;
                        inner.unstored.fetch_add(1, Ordering::Relaxed);
                    }
                    tokio::time::sleep(backoff.delay()).await;
                }
                other => break other,
            }
        };
        if waiting {
            inner.unstored.fetch_sub(1, Ordering::Relaxed);
        }
        result
    }

    /// Polls `fut`, renewing the lease every third of its length.
    pub(crate) async fn with_heartbeat<F: Future<Output = Outcome>>(
        &self,
        trace_id: &str,
        lease_id: i64,
        fut: F,
    ) -> Outcome {
        let inner = &self.inner;
        let period = (inner.config.lease / 3).max(std::time::Duration::from_millis(10));
        let mut fut = std::pin::pin!(fut);
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        loop {
            tokio::select! {
                out = &mut fut => return out,
                _ = tick.tick() => {
                    let until = inner.clock.now().saturating_add(inner.config.lease);
                    match self.background("renew lease", inner.store.renew(trace_id, lease_id, until)).await {
                        Ok(true) => {}
                        Ok(false) => tracing::warn!(trace_id, "lease lost during a long step"),
                        Err(e) => tracing::warn!(trace_id, error = %e, "lease renewal failed"),
                    }
                }
            }
        }
    }

    /// Sends every due finish notification once (retries are rescheduled, not awaited);
    /// returns how many were attempted.
    pub async fn deliver_notifications(&self) -> StoreResult<usize> {
        let inner = &self.inner;
        let mut sent = 0;
        loop {
            let now = inner.clock.now();
            let until = now.saturating_add(inner.config.notify_timeout * 2);
            let batch = self
                .background(
                    "claim notifications",
                    inner
                        .store
                        .claim_notifications(now, until, inner.config.claim_batch),
                )
                .await?;
            if batch.is_empty() {
                return Ok(sent);
            }
            for n in batch {
                self.send_notification(n).await;
                sent += 1;
            }
        }
    }

    pub(crate) async fn send_notification(&self, n: crate::store::Notification) {
        let inner = &self.inner;
        let attempts = n.attempts + 1;
        // The invocation's trace: its row is kept until `retention` after it finished.
        let parent = match self
            .background("read schedule", inner.store.get(&n.trace_id))
            .await
        {
            Ok(row) => row
                .and_then(|r| r.traceparent)
                .and_then(|t| TraceParent::parse(&t)),
            Err(_) => None,
        };
        let span = tracing::info_span!(
            target: SPAN_TARGET,
            "notification",
            bk_plugin.trace_id = %n.trace_id,
            url = redact_url(&n.url),
            attempt = i64::from(attempts),
            status = tracing::field::Empty,
            w3c_trace_id = tracing::field::Empty,
        );
        let own = self.link(&span, parent.as_ref());
        let traceparent = own.map(|t| t.to_string());
        let result = inner
            .notifier
            .send_traced(&n.trace_id, &n.url, &n.data, traceparent.as_deref())
            .instrument(span.clone())
            .await;
        match &result {
            Ok(()) => span.record("status", "delivered"),
            Err(reason) => span.record("status", reason.as_str()),
        };
        let delivery = match &result {
            Ok(()) => {
                tracing::info!(
                    trace_id = n.trace_id,
                    url = redact_url(&n.url),
                    "finish notification delivered"
                );
                Delivery::Delivered
            }
            Err(reason) => match inner.config.notify_delay(attempts) {
                Some(delay) => {
                    tracing::warn!(
                        trace_id = n.trace_id,
                        url = redact_url(&n.url),
                        attempts,
                        reason,
                        "finish notification failed; will retry"
                    );
                    Delivery::RetryAt(inner.clock.now().saturating_add(delay))
                }
                None => {
                    tracing::error!(
                        trace_id = n.trace_id,
                        url = redact_url(&n.url),
                        attempts,
                        reason,
                        "finish notification failed; giving up"
                    );
                    Delivery::GaveUp
                }
            },
        };
        let mut backoff = Backoff::default();
        let started = tokio::time::Instant::now();
        loop {
            let settled = inner.store.settle_notification(n.id, delivery);
            match self.background("settle notification", settled).await {
                Ok(()) => break,
                // Retried while the claim holds (after it the notification is claimed and
                // sent again: at least once).
                Err(e) if e.is_unavailable() && started.elapsed() < inner.config.notify_timeout => {
                    tokio::time::sleep(backoff.delay()).await;
                }
                Err(e) => {
                    tracing::error!(trace_id = n.trace_id, error = %e, "recording a notification attempt failed");
                    break;
                }
            }
        }
    }
}

/// Whether `callback` (queued for `record`, which is in CALLBACK) was issued by the run that
/// entered the current wait.
fn for_current_wait(record: &ScheduleRecord, callback: &QueuedCallback) -> bool {
    callback_round(&callback.callback_id) == Some(record.invoke_count)
}

/// One log line per step, as the Python framework's executor logs it.
fn log_outcome(o: &Outcome) {
    match (o.state, &o.err) {
        (State::Fail, Some(err)) => tracing::warn!(state = o.state.code(), "plugin failed: {err}"),
        (State::Poll, _) => tracing::info!(
            state = o.state.code(),
            "plugin wait poll {} ms",
            o.poll_interval.unwrap_or_default().as_millis()
        ),
        (State::Callback, _) => tracing::info!(state = o.state.code(), "plugin wait callback"),
        _ => tracing::info!(state = o.state.code(), "plugin execute success"),
    }
}

/// The FAIL of a waiting row whose version this binary does not serve: `err`, the data as
/// stored, the finish notification to whoever its context names (no plugin says otherwise).
pub(crate) fn unserved_fail(
    record: ScheduleRecord,
    err: String,
    invoke_count: u32,
    consumed_callback: Option<i64>,
    now: Timestamp,
) -> Transition {
    Transition {
        state: State::Fail,
        err,
        notification: raw_callback_info(&record.context).map(|i| notification(i, now)),
        storage: record.storage,
        outputs: record.outputs,
        invoke_count,
        finish_at: Some(now),
        next_run_at: None,
        previous_state: record.state,
        consumed_callback,
    }
}

pub(crate) fn raw_callback_info(context: &Value) -> Option<PluginCallbackInfo> {
    <PluginCallbackInfo as ContextInputs>::from_json(context.get("plugin_callback_info")?).ok()
}

pub(crate) fn notification(info: PluginCallbackInfo, now: Timestamp) -> NewNotification {
    NewNotification {
        url: info.url,
        data: Value::Object(info.data),
        due_at: now,
    }
}

pub(crate) fn transition(
    o: Outcome,
    previous_state: State,
    invoke_count: u32,
    consumed: Option<i64>,
    now: Timestamp,
    version_deadline: Option<Timestamp>,
) -> Transition {
    let finished = o.state.is_finished();
    let (next_run_at, pending_err) = deadline::wait_fields(
        o.state,
        o.poll_interval,
        o.callback_timeout,
        now,
        version_deadline,
    );
    Transition {
        state: o.state,
        storage: o.storage,
        outputs: o.outputs,
        invoke_count,
        err: o.err.unwrap_or(pending_err),
        finish_at: finished.then_some(now),
        next_run_at,
        previous_state,
        consumed_callback: consumed,
        notification: if finished {
            o.plugin_callback_info.map(|i| notification(i, now))
        } else {
            None
        },
    }
}
