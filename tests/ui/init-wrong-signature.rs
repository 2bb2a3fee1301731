use bk_plugin_kit::prelude::*;

#[plugin(version = "1.0.0", init = Self::from_env)]
pub struct Configured {
    pub endpoint: String,
}

impl Configured {
    fn from_env() -> Self {
        Configured { endpoint: String::new() }
    }
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
