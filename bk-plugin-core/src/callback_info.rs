//! The caller's plugin-finish callback target (`plugin_callback_info` in the context).

use bk_plugin_macros::ContextInputs;
use serde_json::{Map, Value};

/// Where to report that an invocation finished: the Python framework's `PluginCallbackModel`.
///
/// A caller that reads `enable_plugin_callback: true` in `detail` (SOPS does) sends
/// `"plugin_callback_info": {"url": ..., "data": {...}}` in the context; after a resumed
/// invocation reaches SUCCESS or FAIL the runtime POSTs `data` to `url`. Declare the field in
/// your ContextInputs to receive it:
///
/// ```rust,standalone_crate
/// # extern crate bk_plugin_core as bk_plugin_kit;
/// use bk_plugin_core::{ContextInputs, PluginCallbackInfo};
///
/// #[derive(ContextInputs)]
/// pub struct Ctx {
///     pub executor: String,
///     pub plugin_callback_info: PluginCallbackInfo,
/// }
/// ```
#[derive(Debug, Clone, PartialEq, ContextInputs)]
#[model(crate = "crate", rename = "PluginCallbackModel", description = "")]
pub struct PluginCallbackInfo {
    /// URL to POST to.
    #[field(description = "")] // keep the schema equal to Python's `PluginCallbackModel`
    pub url: String,
    /// JSON body to send.
    #[field(description = "")]
    pub data: Map<String, Value>,
}

/// Reads `plugin_callback_info` from a `PluginCallbackInfo` or `Option<PluginCallbackInfo>`.
#[doc(hidden)]
pub trait PluginCallbackField {
    fn plugin_callback_info(&self) -> Option<PluginCallbackInfo>;
}

impl PluginCallbackField for PluginCallbackInfo {
    fn plugin_callback_info(&self) -> Option<PluginCallbackInfo> {
        Some(self.clone())
    }
}

impl PluginCallbackField for Option<PluginCallbackInfo> {
    fn plugin_callback_info(&self) -> Option<PluginCallbackInfo> {
        self.clone()
    }
}

/// Implemented by the derive for ContextInputs that declare `plugin_callback_info`.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`enable_plugin_callback = true` needs a `plugin_callback_info` field in the ContextInputs `{Self}`",
    note = "add `pub plugin_callback_info: bk_plugin_kit::PluginCallbackInfo` to `{Self}` (the caller sends its finish-callback URL there)"
)]
pub trait HasPluginCallbackInfo {}
