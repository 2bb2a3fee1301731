//! Pre-release versions are fine; `init` builds a configured plugin once at startup.
use bk_plugin_kit::prelude::*;

#[plugin(version = "1.0.0-rc.1", init = Self::from_env)]
pub struct Configured {
    endpoint: String,
}

impl Configured {
    fn from_env() -> Result<Self, PluginError> {
        Ok(Configured { endpoint: std::env::var("SOPS_ENDPOINT").unwrap_or_else(|_| "http://sops.invalid".into()) })
    }
}

impl Plugin for Configured {
    type Inputs = ();
    type ContextInputs = ();
    type Outputs = ();
    async fn execute(&self, _: (), ctx: &mut Context<Self>) -> Result<(), PluginError> {
        ctx.outputs_mut().insert("endpoint".into(), self.endpoint.clone().into());
        Ok(())
    }
}

#[derive(Default)]
#[plugin(version = "1.0.0")]
pub struct Defaulted {
    retries: u32,
}

impl Plugin for Defaulted {
    type Inputs = ();
    type ContextInputs = ();
    type Outputs = ();
    async fn execute(&self, _: (), _: &mut Context<Self>) -> Result<(), PluginError> {
        let _ = self.retries;
        Ok(())
    }
}

fn main() {
    let versions: Vec<_> = bk_plugin_kit::registry().versions().collect();
    assert_eq!(versions, ["1.0.0", "1.0.0-rc.1"]);
}
