//! [`Context`]: what `execute` sees of its invocation, and how it asks to be resumed.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::{Outputs, Plugin, PluginError, State};

/// Data delivered by an external callback (`POST callback/<token>/`).
#[derive(Debug, Clone, PartialEq)]
pub struct Callback {
    /// The id returned by [`Context::prepare_callback`].
    pub id: String,
    /// The JSON body the external system posted.
    pub data: Value,
}

/// What `execute` asked for at the end of a run; the last call wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// Resume after the interval ([`Context::wait_poll`]).
    Poll(Duration),
    /// Resume when the callback arrives ([`Context::wait_callback`]).
    Callback,
}

/// A callback URL prepared for this invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedCallback {
    /// 32-hex id, reported back in [`Callback::id`].
    pub id: String,
    /// The URL the external system must POST to.
    pub url: String,
}

/// Issues callback URLs; provided by the runtime (the engine signs tokens like the Python
/// framework). Implement it to test plugins with your own URLs.
pub trait CallbackIssuer: Send + Sync {
    /// A new callback id and URL for invocation `trace_id`, issued by its run number `round`
    /// ([`Context::invoke_count`]). The engine accepts a callback only for the wait the run
    /// that issued it entered, so its ids record the round.
    fn prepare(&self, trace_id: &str, round: u32) -> Result<PreparedCallback, PluginError>;
}

/// The invocation as `execute` sees it: identity, caller data, state, storage and outputs.
///
/// Storage and outputs persist across resumes. Calling [`wait_poll`](Context::wait_poll) or
/// [`wait_callback`](Context::wait_callback) makes the run end in POLL or CALLBACK instead of
/// SUCCESS; the last call wins.
pub struct Context<P: Plugin> {
    pub(crate) trace_id: String,
    pub(crate) data: P::ContextInputs,
    pub(crate) state: State,
    pub(crate) invoke_count: u32,
    pub(crate) callback: Option<Callback>,
    pub(crate) storage: Map<String, Value>,
    pub(crate) outputs: Map<String, Value>,
    pub(crate) wait: Option<Wait>,
    /// The deadline of a `wait_callback_for`.
    pub(crate) callback_timeout: Option<Duration>,
    pub(crate) issuer: Option<Arc<dyn CallbackIssuer>>,
}

impl<P: Plugin> Context<P> {
    /// A context for a first run (state EMPTY, `invoke_count` 1, empty storage and outputs).
    /// The runtime builds contexts; this is for tests and custom runners.
    pub fn new(trace_id: impl Into<String>, data: P::ContextInputs) -> Self {
        Context {
            trace_id: trace_id.into(),
            data,
            state: State::Empty,
            invoke_count: 1,
            callback: None,
            storage: Map::new(),
            outputs: Map::new(),
            wait: None,
            callback_timeout: None,
            issuer: None,
        }
    }

    /// The invocation id (32 lowercase hex), the same across resumes.
    pub fn trace_id(&self) -> &str {
        &self.trace_id
    }

    /// The validated ContextInputs.
    pub fn data(&self) -> &P::ContextInputs {
        &self.data
    }

    /// EMPTY on the first run, POLL or CALLBACK on a resume.
    pub fn state(&self) -> State {
        self.state
    }

    /// How many times `execute` has run for this invocation, this run included (starts at 1).
    pub fn invoke_count(&self) -> u32 {
        self.invoke_count
    }

    /// The callback that triggered this run; `None` on the first run and on poll rounds.
    pub fn callback(&self) -> Option<&Callback> {
        self.callback.as_ref()
    }

    /// Data kept across runs.
    pub fn storage(&self) -> &Map<String, Value> {
        &self.storage
    }

    /// Data kept across runs, mutable.
    pub fn storage_mut(&mut self) -> &mut Map<String, Value> {
        &mut self.storage
    }

    /// The outputs so far (returned to the caller and kept across runs).
    pub fn outputs(&self) -> &Map<String, Value> {
        &self.outputs
    }

    /// The outputs, mutable and untyped (not validated, as in the Python framework).
    pub fn outputs_mut(&mut self) -> &mut Map<String, Value> {
        &mut self.outputs
    }

    /// Writes every field of `outputs` into the outputs map, replacing those keys and keeping
    /// any other key set through [`outputs_mut`](Context::outputs_mut).
    pub fn set_outputs(&mut self, outputs: P::Outputs) -> Result<(), PluginError> {
        self.outputs.extend(outputs.to_object());
        Ok(())
    }

    /// Ends this run in POLL: resume after `interval` (zero allowed). Replaces an earlier
    /// `wait_callback` in the same run.
    pub fn wait_poll(&mut self, interval: Duration) {
        self.wait = Some(Wait::Poll(interval));
    }

    /// Ends this run in CALLBACK: resume when the prepared callback arrives. Replaces an
    /// earlier `wait_poll` in the same run.
    pub fn wait_callback(&mut self) {
        self.wait = Some(Wait::Callback);
        self.callback_timeout = None;
    }

    /// [`wait_callback`](Context::wait_callback), for at most `timeout`: if no callback has
    /// arrived by then, the invocation is FAIL with `err` `no callback within <timeout>`
    /// (e.g. `no callback within 2h`), its finish notification is sent, and a callback
    /// arriving later is refused as for a finished invocation.
    pub fn wait_callback_for(&mut self, timeout: Duration) {
        self.wait = Some(Wait::Callback);
        self.callback_timeout = Some(timeout);
    }

    /// The deadline set by [`wait_callback_for`](Context::wait_callback_for) in this run.
    pub fn callback_timeout(&self) -> Option<Duration> {
        self.callback_timeout
            .filter(|_| self.wait == Some(Wait::Callback))
    }

    /// What this run asked for so far.
    pub fn waiting(&self) -> Option<Wait> {
        self.wait
    }

    /// Prepares a callback URL for an external system; pair it with
    /// [`wait_callback`](Context::wait_callback) in the same run: a URL resumes only the wait
    /// of the run that prepared it (a URL of an earlier wait is refused). Posting the same
    /// URL again while its callback is queued is harmless (accepted, queued once). Fails when
    /// the runtime has no callback issuer configured.
    pub fn prepare_callback(&self) -> Result<PreparedCallback, PluginError> {
        match &self.issuer {
            Some(issuer) => issuer.prepare(&self.trace_id, self.invoke_count),
            None => Err(PluginError::new(
                "prepare_callback: no callback issuer is configured in this runtime",
            )),
        }
    }
}

impl<P: Plugin> fmt::Debug for Context<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("plugin", &P::TYPE_NAME)
            .field("trace_id", &self.trace_id)
            .field("state", &self.state)
            .field("invoke_count", &self.invoke_count)
            .field("callback", &self.callback)
            .field("storage", &self.storage)
            .field("outputs", &self.outputs)
            .field("wait", &self.wait)
            .finish_non_exhaustive()
    }
}
