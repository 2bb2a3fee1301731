//! Unit-testing plugins: run an invocation to its end with a virtual clock, deliver callbacks,
//! and assert the states, storage, outputs and finish notifications.
//!
//! [`TestRunner`] runs the real engine (same validation, state machine, callback tokens and
//! finish notifications as in production) on an in-memory store with a [`ManualClock`]: a
//! `wait_poll(Duration::from_secs(3600))` resumes at once. Its methods are blocking; call them
//! from a plain `#[test]` (not from inside an async runtime).
//!
//! ```rust,standalone_crate
//! # extern crate bk_plugin_core as bk_plugin_kit;
//! use std::time::Duration;
//! use bk_plugin_core::{Context, Plugin, PluginError, State};
//! use bk_plugin_engine::testing::TestRunner;
//! use serde_json::json;
//!
//! /// Polls three times, then succeeds.
//! #[derive(Default)]
//! #[bk_plugin_core::plugin(version = "1.0.0")]
//! pub struct Countdown;
//!
//! impl Plugin for Countdown {
//!     type Inputs = ();
//!     type ContextInputs = ();
//!     type Outputs = ();
//!     async fn execute(&self, _: (), ctx: &mut Context<Self>) -> Result<(), PluginError> {
//!         if ctx.invoke_count() < 4 {
//!             ctx.wait_poll(Duration::from_secs(60));
//!         }
//!         let runs = ctx.invoke_count();
//!         ctx.outputs_mut().insert("runs".into(), runs.into());
//!         Ok(())
//!     }
//! }
//!
//! let runner = TestRunner::<Countdown>::new();
//! let mut run = runner.invoke(json!({}), json!({}));
//! assert_eq!(run.state(), State::Poll);
//! run.finish();
//! assert_eq!(run.states(), [State::Poll, State::Poll, State::Poll, State::Success]);
//! assert_eq!(run.outputs()["runs"], 4);
//! ```

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bk_plugin_core::{
    BoxFuture, CallbackIssuer, Cancellation, Plugin, PluginError, PreparedCallback, Registry, State,
};
use serde_json::{Map, Value};

use crate::clock::{Clock, ManualClock, Timestamp};
use crate::config::EngineConfig;
use crate::engine::{CallbackError, Engine};
use crate::notify::FinishNotifier;
use crate::store::{LeaseRequest, MemoryStore, ScheduleRecord};
use crate::token::{CallbackKey, CallbackSigner};

/// 2024-01-01T00:00:00Z, where the virtual clock starts.
const EPOCH: Timestamp = Timestamp::from_millis(1_704_067_200_000);

/// The state after one run of `execute`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Step {
    /// The state the run ended in.
    pub state: State,
    /// Which run this was (1 = the invoke).
    pub invoke_count: u32,
    /// Outputs after the run (`None` when the invoke FAILed: the caller sees `null`).
    pub outputs: Option<Map<String, Value>>,
    /// Storage after the run.
    pub storage: Map<String, Value>,
    /// The failure text on FAIL.
    pub err: Option<String>,
    /// The interval requested with `wait_poll` (POLL only).
    pub poll_interval: Option<Duration>,
}

/// A finish notification the engine would POST to the caller.
#[derive(Debug, Clone, PartialEq)]
pub struct SentNotification {
    /// The invocation.
    pub trace_id: String,
    /// `plugin_callback_info.url`.
    pub url: String,
    /// `plugin_callback_info.data`.
    pub data: Value,
}

#[derive(Debug, Default)]
struct Recorder {
    prepared: Mutex<HashMap<String, Vec<PreparedCallback>>>,
    sent: Mutex<Vec<SentNotification>>,
}

#[derive(Debug)]
struct RecordingIssuer {
    signer: CallbackSigner,
    recorder: Arc<Recorder>,
}

impl CallbackIssuer for RecordingIssuer {
    fn prepare(&self, trace_id: &str, round: u32) -> Result<PreparedCallback, PluginError> {
        let p = self.signer.prepare(trace_id, round)?;
        self.recorder
            .prepared
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(trace_id.to_owned())
            .or_default()
            .push(p.clone());
        Ok(p)
    }
}

#[derive(Debug)]
struct RecordingNotifier(Arc<Recorder>);

impl FinishNotifier for RecordingNotifier {
    fn send<'a>(
        &'a self,
        trace_id: &'a str,
        url: &'a str,
        data: &'a Value,
    ) -> BoxFuture<'a, Result<(), String>> {
        self.0
            .sent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(SentNotification {
                trace_id: trace_id.to_owned(),
                url: url.to_owned(),
                data: data.clone(),
            });
        Box::pin(std::future::ready(Ok(())))
    }
}

/// Runs invocations of plugin `P` on the real engine with a virtual clock. See the
/// [module docs](self).
pub struct TestRunner<P: Plugin> {
    rt: tokio::runtime::Runtime,
    engine: Engine,
    store: Arc<MemoryStore>,
    clock: Arc<ManualClock>,
    recorder: Arc<Recorder>,
    _plugin: PhantomData<fn() -> P>,
}

impl<P: Plugin> std::fmt::Debug for TestRunner<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestRunner")
            .field("plugin", &P::TYPE_NAME)
            .field("now", &self.clock.now())
            .finish_non_exhaustive()
    }
}

impl<P: Plugin> Default for TestRunner<P> {
    fn default() -> Self {
        Self::new()
    }
}

impl<P: Plugin> TestRunner<P> {
    /// A runner for `P` alone.
    ///
    /// # Panics
    ///
    /// If `P` cannot be constructed (its `init` fails).
    pub fn new() -> Self {
        let registry = Registry::of::<P>().unwrap_or_else(|e| panic!("{e}"));
        // A registry must outlive the engine's tasks; test registries are small.
        let registry: &'static Registry = Box::leak(Box::new(registry));
        let clock = Arc::new(ManualClock::new(EPOCH));
        let recorder = Arc::new(Recorder::default());
        let signer = CallbackSigner::new(
            CallbackKey::from_app_secret("bk-plugin-kit testing"),
            "",
            "test",
        );
        let config = EngineConfig {
            callback_attempts: 1,
            ..EngineConfig::default()
        };
        let store = Arc::new(MemoryStore::new());
        let engine = Engine::builder(registry, store.clone())
            .clock(clock.clone())
            .config(config)
            .issuer(Arc::new(RecordingIssuer {
                signer: signer.clone(),
                recorder: recorder.clone(),
            }))
            .callbacks(signer)
            .notifier(Arc::new(RecordingNotifier(recorder.clone())))
            .build();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a current-thread tokio runtime");
        TestRunner {
            rt,
            engine,
            store,
            clock,
            recorder,
            _plugin: PhantomData,
        }
    }

    /// The engine (in-memory store, virtual clock).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The virtual clock.
    pub fn clock(&self) -> &ManualClock {
        &self.clock
    }

    /// Invokes `P` as a caller would, with raw `inputs` and `context` JSON; runs the first
    /// step.
    pub fn invoke(&self, inputs: Value, context: Value) -> TestRun<'_, P> {
        let invoked = self
            .rt
            .block_on(self.engine.invoke(P::VERSION, inputs, context))
            .expect("the runner serves P");
        let poll_interval = if invoked.state == State::Poll {
            self.record(&invoked.trace_id)
                .and_then(|r| r.next_run_at)
                .map(|t| t.since(self.clock.now()))
        } else {
            None
        };
        let step = Step {
            state: invoked.state,
            invoke_count: 1,
            outputs: invoked.outputs,
            storage: invoked.storage,
            err: invoked.err,
            poll_interval,
        };
        TestRun {
            runner: self,
            trace_id: invoked.trace_id,
            steps: vec![step],
        }
    }

    fn record(&self, trace_id: &str) -> Option<crate::store::ScheduleRecord> {
        self.rt
            .block_on(self.engine.schedule(trace_id))
            .expect("the memory store does not fail")
    }
}

/// One invocation under test: its steps so far, and methods to move it on.
#[derive(Debug)]
pub struct TestRun<'r, P: Plugin> {
    runner: &'r TestRunner<P>,
    trace_id: String,
    steps: Vec<Step>,
}

/// Most steps [`TestRun::finish`] runs before giving up (a plugin that polls forever).
pub const MAX_STEPS: usize = 10_000;

impl<P: Plugin> TestRun<'_, P> {
    /// The invocation id.
    pub fn trace_id(&self) -> &str {
        &self.trace_id
    }

    /// Every step so far, the invoke first.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// The states of every step so far.
    pub fn states(&self) -> Vec<State> {
        self.steps.iter().map(|s| s.state).collect()
    }

    /// The last step.
    pub fn last(&self) -> &Step {
        self.steps.last().expect("invoke made the first step")
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.last().state
    }

    /// The row as the store holds it (`None` when the invoke ended in its first step, which
    /// stores nothing): [`Secret`](bk_plugin_core::Secret) inputs appear sealed.
    pub fn stored(&self) -> Option<ScheduleRecord> {
        self.runner
            .rt
            .block_on(self.runner.engine.schedule(&self.trace_id))
            .expect("the in-memory store answers")
    }

    /// The current outputs (empty when the invoke FAILed).
    pub fn outputs(&self) -> Map<String, Value> {
        self.last().outputs.clone().unwrap_or_default()
    }

    /// The current storage.
    pub fn storage(&self) -> &Map<String, Value> {
        &self.last().storage
    }

    /// The failure text, if FAILed.
    pub fn err(&self) -> Option<&str> {
        self.last().err.as_deref()
    }

    /// Callbacks the plugin prepared (`ctx.prepare_callback()`), oldest first.
    pub fn prepared_callbacks(&self) -> Vec<PreparedCallback> {
        self.runner
            .recorder
            .prepared
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&self.trace_id)
            .cloned()
            .unwrap_or_default()
    }

    /// Finish notifications sent for this invocation (URL and body).
    pub fn notifications(&self) -> Vec<SentNotification> {
        let runner = self.runner;
        runner
            .rt
            .block_on(runner.engine.deliver_notifications())
            .expect("the memory store does not fail");
        let sent = runner
            .recorder
            .sent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        sent.into_iter()
            .filter(|n| n.trace_id == self.trace_id)
            .collect()
    }

    /// Resumes a POLL invocation: moves the virtual clock to its due time and runs its next
    /// step (only this invocation's, and only one, even when it polls with a zero interval).
    ///
    /// # Panics
    ///
    /// If the invocation is not in POLL.
    pub fn poll(&mut self) -> &Step {
        assert_eq!(
            self.state(),
            State::Poll,
            "poll(): the invocation is in {:?}, not POLL (steps so far: {:?})",
            self.state(),
            self.states()
        );
        let runner = self.runner;
        if let Some(at) = runner.record(&self.trace_id).and_then(|r| r.next_run_at) {
            runner.clock.advance_to(at);
        }
        self.run_step()
    }

    /// Delivers `data` to the last callback the plugin prepared (through its signed URL, as an
    /// external system would) and runs the resumed step.
    ///
    /// # Panics
    ///
    /// If the invocation is not in CALLBACK, or the callback is rejected.
    pub fn callback(&mut self, data: Value) -> &Step {
        assert_eq!(
            self.state(),
            State::Callback,
            "callback(): the invocation is in {:?}, not CALLBACK (steps so far: {:?})",
            self.state(),
            self.states()
        );
        let runner = self.runner;
        let result = match self.prepared_callbacks().last() {
            Some(p) => {
                let token = token_of(&p.url);
                runner.rt.block_on(runner.engine.callback(token, data))
            }
            None => {
                let id = crate::token::new_id();
                runner
                    .rt
                    .block_on(runner.engine.deliver_callback(&self.trace_id, &id, data))
            }
        };
        if let Err(e) = result {
            panic!("callback(): rejected: {e}");
        }
        self.run_step()
    }

    /// Moves the virtual clock to the deadline of the current wait (a
    /// [`wait_callback_for`](bk_plugin_core::Context::wait_callback_for), or the version's
    /// `#[plugin(timeout = ..)]`) and lets the engine act on it: the invocation ends FAIL
    /// with the deadline's `err`, and its finish notification is sent.
    ///
    /// # Panics
    ///
    /// If the invocation is not waiting in CALLBACK with a deadline (a POLL reaches the
    /// version's deadline through [`poll`](TestRun::poll)).
    pub fn pass_deadline(&mut self) -> &Step {
        let runner = self.runner;
        let deadline = runner
            .record(&self.trace_id)
            .filter(|r| r.state == State::Callback)
            .and_then(|r| r.next_run_at)
            .unwrap_or_else(|| {
                panic!(
                    "pass_deadline(): the invocation is in {:?} without a deadline (steps so far: {:?})",
                    self.state(),
                    self.states()
                )
            });
        runner.clock.advance_to(deadline);
        self.run_step()
    }

    /// Cancels the waiting invocation as a caller would (`POST cancel/{trace_id}`): runs the
    /// plugin's [`on_cancel`](bk_plugin_core::Plugin::on_cancel) and stores it as FAIL with
    /// `err` naming `cancel`'s author.
    ///
    /// # Panics
    ///
    /// If the invocation is finished, or `P` is not `#[plugin(.., cancellable)]`.
    pub fn cancel(&mut self, cancel: Cancellation) -> &Step {
        assert!(
            !self.state().is_finished(),
            "cancel(): the invocation is already {:?} (steps so far: {:?})",
            self.state(),
            self.states()
        );
        let runner = self.runner;
        let result = runner
            .rt
            .block_on(runner.engine.cancel(&self.trace_id, cancel));
        if let Err(e) = result {
            panic!("cancel(): refused: {e}");
        }
        self.record_step()
    }

    /// Delivers a callback through `token` (e.g. a forged one) without running anything.
    pub fn deliver(&self, token: &str, data: Value) -> Result<(), CallbackError> {
        let runner = self.runner;
        runner.rt.block_on(runner.engine.callback(token, data))
    }

    /// Resumes POLL steps until the invocation is SUCCESS, FAIL or CALLBACK; returns the last
    /// step.
    ///
    /// # Panics
    ///
    /// After [`MAX_STEPS`] steps.
    pub fn finish(&mut self) -> &Step {
        while self.state() == State::Poll {
            assert!(
                self.steps.len() < MAX_STEPS,
                "finish(): still polling after {MAX_STEPS} steps"
            );
            self.poll();
        }
        self.last()
    }

    /// Runs the next step of this invocation alone, and records it.
    fn run_step(&mut self) -> &Step {
        let runner = self.runner;
        let engine = &runner.engine;
        let now = runner.clock.now();
        let lease = LeaseRequest {
            owner: &engine.inner.owner,
            id: engine.lease_id(),
            until: now.saturating_add(engine.inner.config.lease),
        };
        let claim = runner
            .store
            .claim_trace(&self.trace_id, now, lease)
            .unwrap_or_else(|| {
                panic!(
                    "invocation {} has no step to run (was it resumed through `engine()` directly?)",
                    self.trace_id
                )
            });
        runner.rt.block_on(engine.run_claim(claim));
        self.record_step()
    }

    /// Records the stored row as the next step.
    fn record_step(&mut self) -> &Step {
        let runner = self.runner;
        let record = runner
            .record(&self.trace_id)
            .expect("a resumed invocation has a schedule row");
        let now = runner.clock.now();
        self.steps.push(Step {
            state: record.state,
            invoke_count: record.invoke_count,
            outputs: Some(record.outputs),
            storage: record.storage,
            err: (record.state == State::Fail).then_some(record.err),
            poll_interval: record
                .next_run_at
                .filter(|_| record.state == State::Poll)
                .map(|t| t.since(now)),
        });
        self.last()
    }
}

/// The token in a callback URL `.../callback/<token>/`.
pub fn token_of(url: &str) -> &str {
    url.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
}
