//! The [`Plugin`] trait authors implement, and [`PluginInfo`], which `#[plugin]` implements.

use std::future::Future;

use crate::{Context, ContextInputs, Inputs, Outputs, PluginError};

/// The declaration `#[plugin(..)]` generates for a plugin struct. Do not implement by hand.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not declared as a plugin version",
    note = "add `#[plugin(version = \"1.0.0\")]` (from `bk_plugin_kit::prelude`) to the declaration of `{Self}`"
)]
pub trait PluginInfo: Sized {
    /// The version, a semantic version checked at compile time.
    const VERSION: &'static str;
    /// `desc` of `#[plugin]` (`""` when absent), served in `detail`.
    const DESC: &'static str;
    /// `enable_plugin_callback` of `#[plugin]`.
    const ENABLE_PLUGIN_CALLBACK: bool;
    /// The form text (`forms/{version}/form.js` or `form = "..."`), served as `forms.renderform`.
    const FORM: Option<&'static str>;
    /// The Rust path of the struct, for error messages.
    const TYPE_NAME: &'static str;
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
}
