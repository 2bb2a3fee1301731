use bk_plugin_kit::prelude::*;

#[derive(Default)]
#[plugin(version = "1.0.0", timeout = "1d2h3m4s")]
pub struct Patient;

impl Plugin for Patient {
    type Inputs = ();
    type ContextInputs = ();
    type Outputs = ();

    async fn execute(&self, _: (), _: &mut Context<Self>) -> Result<(), PluginError> {
        Ok(())
    }
}

fn main() {
    let t = <Patient as bk_plugin_kit::PluginInfo>::TIMEOUT.unwrap();
    assert_eq!(t.duration(), std::time::Duration::from_secs(93_784));
    assert_eq!(t.text(), "1d2h3m4s");
}
