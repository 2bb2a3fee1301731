use std::rc::Rc;

use bk_plugin_kit::prelude::*;

#[plugin(version = "1.0.0")]
pub struct HoldsRc;

impl Plugin for HoldsRc {
    type Inputs = ();
    type ContextInputs = ();
    type Outputs = ();
    async fn execute(&self, _: (), _: &mut Context<Self>) -> Result<(), PluginError> {
        let shared = Rc::new(1);
        std::future::ready(()).await;
        drop(shared);
        Ok(())
    }
}

fn main() {}
