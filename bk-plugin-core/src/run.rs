//! Running one step of a plugin by version, JSON in and JSON out, with panics contained.

use std::any::Any;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use serde_json::{Map, Value};

use crate::limits::{Race, RunLimits, over_limit};
use crate::{
    Callback, CallbackIssuer, Cancellation, Context, ContextInputs, Inputs, Plugin,
    PluginCallbackInfo, PluginError, State, Wait,
};

/// A boxed `Send` future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One step of an invocation to run: the caller's raw JSON plus the persisted state.
#[derive(Clone)]
#[non_exhaustive]
pub struct Invocation {
    /// The invocation id.
    pub trace_id: String,
    /// The caller's raw `inputs` (validated again on every run).
    pub inputs: Value,
    /// The caller's raw `context` (validated again on every run).
    pub context: Value,
    /// EMPTY for the first run, POLL or CALLBACK for a resume.
    pub state: State,
    /// 1 for the first run, then incremented per resume.
    pub invoke_count: u32,
    /// Storage from the previous run.
    pub storage: Map<String, Value>,
    /// Outputs from the previous run.
    pub outputs: Map<String, Value>,
    /// The callback that triggered this run, if any.
    pub callback: Option<Callback>,
    /// Issues callback URLs for `Context::prepare_callback`.
    pub issuer: Option<Arc<dyn CallbackIssuer>>,
    /// How long `execute` may take and how large its state may be.
    pub limits: RunLimits,
    /// Set when this run is a cancellation: [`Plugin::on_cancel`] runs instead of
    /// `execute`, and the run ends as FAIL whatever it returns.
    pub cancel: Option<Cancellation>,
}

impl Invocation {
    /// A first run (state EMPTY) of `trace_id` with the caller's `inputs` and `context`.
    pub fn new(trace_id: impl Into<String>, inputs: Value, context: Value) -> Self {
        Invocation {
            trace_id: trace_id.into(),
            inputs,
            context,
            state: State::Empty,
            invoke_count: 1,
            storage: Map::new(),
            outputs: Map::new(),
            callback: None,
            issuer: None,
            limits: RunLimits::default(),
            cancel: None,
        }
    }

    /// Turns this into a resume in `state` (POLL or CALLBACK) with the stored data.
    pub fn resume(
        mut self,
        state: State,
        invoke_count: u32,
        storage: Map<String, Value>,
        outputs: Map<String, Value>,
    ) -> Self {
        self.state = state;
        self.invoke_count = invoke_count;
        self.storage = storage;
        self.outputs = outputs;
        self
    }

    /// Sets the callback that triggered this run.
    pub fn with_callback(mut self, callback: Callback) -> Self {
        self.callback = Some(callback);
        self
    }

    /// Sets the callback issuer used by `Context::prepare_callback`.
    pub fn with_issuer(mut self, issuer: Arc<dyn CallbackIssuer>) -> Self {
        self.issuer = Some(issuer);
        self
    }

    /// Sets the bounds of the run.
    pub fn with_limits(mut self, limits: RunLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Makes this run a cancellation (see [`cancel`](Self::cancel)).
    pub fn with_cancel(mut self, cancel: Cancellation) -> Self {
        self.cancel = Some(cancel);
        self
    }

    fn is_first_run(&self) -> bool {
        self.state == State::Empty
    }
}

impl std::fmt::Debug for Invocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Invocation")
            .field("trace_id", &self.trace_id)
            .field("state", &self.state)
            .field("invoke_count", &self.invoke_count)
            .field("inputs", &self.inputs)
            .field("context", &self.context)
            .field("storage", &self.storage)
            .field("outputs", &self.outputs)
            .field("callback", &self.callback)
            .field("issuer", &self.issuer.is_some())
            .field("limits", &self.limits)
            .field("cancel", &self.cancel)
            .finish()
    }
}

/// Why a run failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailureKind {
    /// The inputs did not validate.
    InvalidInputs,
    /// The context did not validate.
    InvalidContext,
    /// `execute` returned [`PluginError::new`](crate::PluginError::new).
    Plugin,
    /// `execute` returned another error.
    Unexpected,
    /// `execute` panicked.
    Panic,
    /// `execute` did not return within its time limit.
    TimedOut,
    /// Storage and outputs were larger than allowed.
    TooLarge,
    /// The invocation was cancelled ([`Invocation::with_cancel`]).
    Cancelled,
}

/// The result of one run.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Outcome {
    /// POLL, CALLBACK, SUCCESS or FAIL.
    pub state: State,
    /// The interval requested with `wait_poll` (only for POLL).
    pub poll_interval: Option<Duration>,
    /// Storage to persist. On an unexpected failure of a resume this is the storage the run
    /// started with (its changes are discarded, as in the Python framework).
    pub storage: Map<String, Value>,
    /// Outputs to persist and report. Same rule as `storage`.
    pub outputs: Map<String, Value>,
    /// The error text shown to the caller (`err`), with the Python framework's prefixes.
    pub err: Option<String>,
    /// Why the run failed, for metrics and logs.
    pub failure: Option<FailureKind>,
    /// The caller's finish-callback target (when the plugin enables it and the context carries it).
    pub plugin_callback_info: Option<PluginCallbackInfo>,
    /// For CALLBACK: how long to wait at most ([`Context::wait_callback_for`]).
    pub callback_timeout: Option<Duration>,
}

impl Outcome {
    fn fail<P: Plugin>(inv: Invocation, kind: FailureKind, err: String) -> Outcome {
        // Even when validation fails, the caller should hear that the invocation ended: read
        // the callback target from the raw context.
        let plugin_callback_info = raw_callback_info::<P>(&inv.context);
        let (kind, err) = match &inv.cancel {
            Some(c) => (
                FailureKind::Cancelled,
                cancelled_err(c, Some(&format!("not run: {err}"))),
            ),
            None => (kind, err),
        };
        Outcome {
            state: State::Fail,
            poll_interval: None,
            storage: inv.storage,
            outputs: inv.outputs,
            err: Some(err),
            failure: Some(kind),
            plugin_callback_info,
            callback_timeout: None,
        }
    }
}

fn raw_callback_info<P: Plugin>(context: &Value) -> Option<PluginCallbackInfo> {
    if !P::ENABLE_PLUGIN_CALLBACK {
        return None;
    }
    <PluginCallbackInfo as ContextInputs>::from_json(context.get("plugin_callback_info")?).ok()
}

/// The `err` of a cancelled invocation: who cancelled, and why `on_cancel` failed if it did.
fn cancelled_err(cancel: &Cancellation, on_cancel_failure: Option<&str>) -> String {
    match on_cancel_failure {
        None => format!("plugin schedule failed: {cancel}"),
        Some(why) => format!("plugin schedule failed: {cancel} (on_cancel {why})"),
    }
}

/// Polls a boxed future, turning a panic into `Err(payload)`.
struct CatchUnwind<'a, T>(BoxFuture<'a, T>);

impl<T> Future for CatchUnwind<'_, T> {
    type Output = Result<T, Box<dyn Any + Send>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let fut = &mut self.0;
        match catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Err(payload) => Poll::Ready(Err(payload)),
        }
    }
}

/// The text of a panic payload.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_owned()
    }
}

/// Runs one step of `plugin`: validate, execute (panics contained), decide the next state.
pub(crate) async fn run<P: Plugin>(plugin: &P, inv: Invocation) -> Outcome {
    let first = inv.is_first_run();
    let inputs = match P::Inputs::from_json(&inv.inputs) {
        Ok(v) => v,
        Err(e) => {
            let err = format!("inputs validation error: {e}");
            return Outcome::fail::<P>(inv, FailureKind::InvalidInputs, err);
        }
    };
    let data = match P::ContextInputs::from_json(&inv.context) {
        Ok(v) => v,
        Err(e) => {
            let err = format!("context validation error: {e}");
            return Outcome::fail::<P>(inv, FailureKind::InvalidContext, err);
        }
    };
    let plugin_callback_info = if P::ENABLE_PLUGIN_CALLBACK {
        data.plugin_callback_info()
    } else {
        None
    };
    // A resume that fails unexpectedly keeps the data it started with.
    let before = (!first).then(|| (inv.storage.clone(), inv.outputs.clone()));
    let limits = inv.limits;
    let mut ctx = Context::<P> {
        trace_id: inv.trace_id,
        data,
        state: inv.state,
        invoke_count: inv.invoke_count,
        callback: inv.callback,
        storage: inv.storage,
        outputs: inv.outputs,
        wait: None,
        callback_timeout: None,
        issuer: inv.issuer,
    };
    let timer = limits.time_limit.as_ref().map(|(d, sleep)| sleep(*d));
    let cancel = inv.cancel;
    let work: BoxFuture<'_, Result<(), PluginError>> = match &cancel {
        Some(c) => Box::pin(plugin.on_cancel(inputs, c, &mut ctx)),
        None => Box::pin(plugin.execute(inputs, &mut ctx)),
    };
    let result = Race {
        work: CatchUnwind(work),
        timer,
    }
    .await;
    let function = if cancel.is_some() {
        "on_cancel"
    } else {
        "execute"
    };
    let (prefix_plugin, prefix_unexpected) = if first {
        (
            "plugin execute failed: ",
            "plugin execute raise unexpected error: ",
        )
    } else {
        ("plugin schedule failed: ", "plugin schedule failed: ")
    };
    let failure = match result {
        None => Some((
            FailureKind::TimedOut,
            format!(
                "{prefix_unexpected}{function} did not return within {} s",
                limits.time_limit.map_or(0.0, |(d, _)| d.as_secs_f64())
            ),
            true,
        )),
        Some(Ok(Ok(()))) => None,
        Some(Ok(Err(e))) if !e.is_unexpected() => {
            Some((FailureKind::Plugin, format!("{prefix_plugin}{e}"), false))
        }
        Some(Ok(Err(e))) => Some((
            FailureKind::Unexpected,
            format!("{prefix_unexpected}{e}"),
            true,
        )),
        Some(Err(payload)) => Some((
            FailureKind::Panic,
            format!(
                "{prefix_unexpected}plugin panicked: {}",
                panic_message(&*payload)
            ),
            true,
        )),
    };
    let failure = failure.or_else(|| {
        let limit = limits.max_state_bytes?;
        over_limit(&ctx.storage, &ctx.outputs, limit).then(|| {
            let err = format!(
                "{prefix_unexpected}storage and outputs are more than {limit} bytes of JSON"
            );
            (FailureKind::TooLarge, err, true)
        })
    });
    let callback_timeout = ctx
        .callback_timeout()
        .filter(|_| failure.is_none() && cancel.is_none());
    // A failed cancellation hook keeps nothing it changed either.
    let (storage, outputs) = match (&failure, before) {
        (Some((_, _, unexpected)), Some(before)) if *unexpected || cancel.is_some() => before,
        _ => (ctx.storage, ctx.outputs),
    };
    let (state, poll_interval, err, failure) = match (&cancel, failure) {
        (Some(c), failure) => {
            // The hook's own failure, without the resume prefix.
            let why = failure.map(|(_, err, _)| {
                let detail = err.strip_prefix(prefix_unexpected).unwrap_or(&err);
                format!("failed: {detail}")
            });
            let err = cancelled_err(c, why.as_deref());
            (State::Fail, None, Some(err), Some(FailureKind::Cancelled))
        }
        (None, Some((kind, err, _))) => (State::Fail, None, Some(err), Some(kind)),
        (None, None) => match ctx.wait {
            Some(Wait::Poll(d)) => (State::Poll, Some(d), None, None),
            Some(Wait::Callback) => (State::Callback, None, None, None),
            None => (State::Success, None, None, None),
        },
    };
    Outcome {
        state,
        poll_interval,
        storage,
        outputs,
        err,
        failure,
        plugin_callback_info,
        callback_timeout,
    }
}
