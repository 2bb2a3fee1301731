use bk_plugin_kit::prelude::*;

pub struct PlainInputs {
    pub name: String,
}

#[plugin(version = "1.0.0")]
pub struct UsesPlain;

impl Plugin for UsesPlain {
    type Inputs = PlainInputs;
    type ContextInputs = ();
    type Outputs = ();
    async fn execute(&self, _: PlainInputs, _: &mut Context<Self>) -> Result<(), PluginError> {
        Ok(())
    }
}

fn main() {}
