//! Declares plugin version 1.0.0.
use bk_plugin_kit::prelude::*;

/// Version 1.0.0 of crate b.
#[plugin(version = "1.0.0", desc = "crate b")]
pub struct PluginB;

impl Plugin for PluginB {
    type Inputs = ();
    type ContextInputs = ();
    type Outputs = ();

    async fn execute(&self, _: (), _: &mut Context<Self>) -> Result<(), PluginError> {
        Ok(())
    }
}
