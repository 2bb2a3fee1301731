use bk_plugin_kit::prelude::*;

#[derive(ContextInputs)]
pub struct Ctx {
    pub executor: String,
}

#[plugin(version = "1.0.0", enable_plugin_callback = true)]
pub struct NeedsCallback;

impl Plugin for NeedsCallback {
    type Inputs = ();
    type ContextInputs = Ctx;
    type Outputs = ();
    async fn execute(&self, _: (), _: &mut Context<Self>) -> Result<(), PluginError> {
        Ok(())
    }
}

fn main() {}
