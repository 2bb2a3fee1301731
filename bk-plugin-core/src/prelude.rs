//! `use bk_plugin_kit::prelude::*;` brings in what a plugin file needs.

pub use crate::{
    Callback, Context, ContextInputs, Inputs, Outputs, Plugin, PluginCallbackInfo, PluginError,
    State, plugin,
};
