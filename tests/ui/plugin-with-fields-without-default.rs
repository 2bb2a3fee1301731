use bk_plugin_kit::prelude::*;

#[plugin(version = "1.0.0")]
pub struct Configured {
    pub endpoint: String,
}

impl Plugin for Configured {
    type Inputs = ();
    type ContextInputs = ();
    type Outputs = ();
    async fn execute(&self, _: (), _: &mut Context<Self>) -> Result<(), PluginError> {
        Ok(())
    }
}

fn main() {}
