//! Declares plugin version 1.0.0 (edition 2021: generated code must compile there too).
use bk_plugin_kit::prelude::*;

/// Version 1.0.0 of crate a.
#[plugin(version = "1.0.0", desc = "crate a")]
pub struct PluginA;

impl Plugin for PluginA {
    type Inputs = ();
    type ContextInputs = ();
    type Outputs = ();

    async fn execute(&self, _: (), _: &mut Context<Self>) -> Result<(), PluginError> {
        Ok(())
    }
}
