//! The [`Plugin`] trait authors implement, and [`PluginInfo`], which `#[plugin]` implements.

use std::future::Future;

use crate::{Cancellation, Context, ContextInputs, Inputs, Outputs, PluginError};

/// The declaration `#[plugin(..)]` generates for a plugin struct. Do not implement by hand.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not declared as a plugin version",
    note = "add `#[plugin(version = \"1.0.0\")]` (from `bk_plugin_kit::prelude`) to the declaration of `{Self}`"
)]
pub trait PluginInfo: Sized {
    /// The version text as written in `#[plugin(version)]`: a semantic version, or the Python
    /// framework's spelling of a pre-release (`1.0.0rc1`), checked at compile time.
    const VERSION: &'static str;
    /// `desc` of `#[plugin]` (`""` when absent), served in `detail`.
    const DESC: &'static str;
    /// `enable_plugin_callback` of `#[plugin]`.
    const ENABLE_PLUGIN_CALLBACK: bool;
    /// The form text (`forms/{version}/form.js` or `form = "..."`), served as `forms.renderform`.
    const FORM: Option<&'static str>;
    /// The Rust path of the struct, for error messages.
    const TYPE_NAME: &'static str;
    /// `timeout` of `#[plugin]`: an invocation of this version that has not finished this
    /// long after it was invoked is FAIL (`None`: no limit).
    const TIMEOUT: Option<crate::TimeLimit> = None;
    /// `cancellable` of `#[plugin]`: callers may cancel a waiting invocation of this version
    /// (`POST cancel/{trace_id}`) even when the server does not allow it for every version.
    const CANCELLABLE: bool = false;
    /// `deprecated` of `#[plugin]`: the message of a retired version (`None`: released). A
    /// deprecated version keeps serving `detail`, invoke and resumes for the callers pinned to
    /// it, but `meta` no longer lists it for new ones.
    const DEPRECATED: Option<&'static str> = None;
    /// Builds the plugin value once at startup: the struct itself for unit structs, the
    /// `init` function, or `Default::default()`.
    #[doc(hidden)]
    fn __construct() -> Result<Self, PluginError>;
}

/// A plugin version: its models and its `execute` function.
///
/// `execute` is called on the first run (state [`Empty`](crate::State::Empty)) and on every
/// resume ([`Poll`](crate::State::Poll) / [`Callback`](crate::State::Callback)). It ends the
/// invocation with SUCCESS by returning `Ok(())`, with FAIL by returning an error (or
/// panicking), or asks to be resumed with [`Context::wait_poll`] / [`Context::wait_callback`].
///
/// Write it as an `async fn`; the returned future must be `Send` because runs happen on a
/// multi-threaded runtime.
///
/// ```rust,standalone_crate
/// # extern crate bk_plugin_core as bk_plugin_kit;
/// use bk_plugin_core::prelude::*;
///
/// #[derive(Inputs)]
/// pub struct Hello { #[field(default = "world")] pub hello: String }
///
/// #[derive(Outputs)]
/// pub struct World { pub world: String }
///
/// #[plugin(version = "0.1.0", desc = "echoes inputs.hello into outputs.world")]
/// pub struct Echo;
///
/// impl Plugin for Echo {
///     type Inputs = Hello;
///     type ContextInputs = ();
///     type Outputs = World;
///
///     async fn execute(&self, inputs: Hello, ctx: &mut Context<Self>) -> Result<(), PluginError> {
///         ctx.set_outputs(World { world: inputs.hello })
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not implement `Plugin`",
    note = "write `impl Plugin for {Self} {{ type Inputs = ..; type ContextInputs = ..; type Outputs = ..; async fn execute(..) }}`"
)]
pub trait Plugin: PluginInfo + Send + Sync + 'static {
    /// What the end user fills in (`()` for none).
    type Inputs: Inputs;
    /// What the calling system supplies (`()` for none).
    type ContextInputs: ContextInputs;
    /// What the plugin produces (`()` for none).
    type Outputs: Outputs;

    /// Runs one step of an invocation.
    fn execute(
        &self,
        inputs: Self::Inputs,
        ctx: &mut Context<Self>,
    ) -> impl Future<Output = Result<(), PluginError>> + Send;

    /// Cleans up when a waiting invocation is cancelled (e.g. revokes the task `execute`
    /// started; its id is in `ctx.storage()`). Runs once, instead of a resume, within the
    /// engine's `cancel_timeout`; whatever it returns, the invocation ends as FAIL with `err`
    /// naming who cancelled (and, if it failed, why). Storage and outputs it sets are kept
    /// when it returns `Ok`. The default does nothing.
    ///
    /// ```rust,ignore
    /// async fn on_cancel(
    ///     &self,
    ///     _inputs: Self::Inputs,
    ///     cancel: &Cancellation,
    ///     ctx: &mut Context<Self>,
    /// ) -> Result<(), PluginError> {
    ///     if let Some(task_id) = ctx.storage().get("task_id").and_then(|v| v.as_i64()) {
    ///         revoke_task(task_id, &cancel.to_string()).await?;
    ///     }
    ///     Ok(())
    /// }
    /// ```
    fn on_cancel(
        &self,
        inputs: Self::Inputs,
        cancel: &Cancellation,
        ctx: &mut Context<Self>,
    ) -> impl Future<Output = Result<(), PluginError>> + Send {
        let _ = (inputs, cancel, ctx);
        async { Ok(()) }
    }
}
