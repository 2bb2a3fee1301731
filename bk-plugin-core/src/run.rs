//! Running one step of a plugin by version, JSON in and JSON out, with panics contained.

use std::any::Any;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use serde_json::{Map, Value};

use crate::{
    Callback, CallbackIssuer, Context, ContextInputs, Inputs, Plugin, PluginCallbackInfo, State,
    Wait,
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
}

impl Outcome {
    fn fail<P: Plugin>(inv: Invocation, kind: FailureKind, err: String) -> Outcome {
        // Even when validation fails, the caller should hear that the invocation ended: read
        // the callback target from the raw context.
        let plugin_callback_info = raw_callback_info::<P>(&inv.context);
        Outcome {
            state: State::Fail,
            poll_interval: None,
            storage: inv.storage,
            outputs: inv.outputs,
            err: Some(err),
            failure: Some(kind),
            plugin_callback_info,
        }
    }
}

fn raw_callback_info<P: Plugin>(context: &Value) -> Option<PluginCallbackInfo> {
    if !P::ENABLE_PLUGIN_CALLBACK {
        return None;
    }
    <PluginCallbackInfo as ContextInputs>::from_json(context.get("plugin_callback_info")?).ok()
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
    let mut ctx = Context::<P> {
        trace_id: inv.trace_id,
        data,
        state: inv.state,
        invoke_count: inv.invoke_count,
        callback: inv.callback,
        storage: inv.storage,
        outputs: inv.outputs,
        wait: None,
        issuer: inv.issuer,
    };
    let result = CatchUnwind(Box::pin(plugin.execute(inputs, &mut ctx))).await;
    let (prefix_plugin, prefix_unexpected) = if first {
        (
            "plugin execute failed: ",
            "plugin execute raise unexpected error: ",
        )
    } else {
        ("plugin schedule failed: ", "plugin schedule failed: ")
    };
    let failure = match result {
        Ok(Ok(())) => None,
        Ok(Err(e)) if !e.is_unexpected() => {
            Some((FailureKind::Plugin, format!("{prefix_plugin}{e}"), false))
        }
        Ok(Err(e)) => Some((
            FailureKind::Unexpected,
            format!("{prefix_unexpected}{e}"),
            true,
        )),
        Err(payload) => Some((
            FailureKind::Panic,
            format!(
                "{prefix_unexpected}plugin panicked: {}",
                panic_message(&*payload)
            ),
            true,
        )),
    };
    let (storage, outputs) = match (&failure, before) {
        (Some((_, _, true)), Some(before)) => before,
        _ => (ctx.storage, ctx.outputs),
    };
    let (state, poll_interval, err, failure) = match failure {
        Some((kind, err, _)) => (State::Fail, None, Some(err), Some(kind)),
        None => match ctx.wait {
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
    }
}
