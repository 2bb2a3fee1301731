//! `use bk_plugin_kit::prelude::*;` brings in what a plugin file needs.

pub use crate::{
    Callback, Cancellation, Choice, Context, ContextInputs, Inputs, Outputs, Plugin,
    PluginCallbackInfo, PluginError, Secret, State, plugin,
};
