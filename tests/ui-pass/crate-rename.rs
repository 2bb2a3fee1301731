//! The kit used under another name: `crate = "..."` on `#[plugin]` and `#[model]`.
extern crate bk_plugin_kit as kit;

use kit::prelude::*;

#[derive(Inputs)]
#[model(crate = "kit")]
pub struct In {
    #[field(default = 2)]
    pub n: i64,
}

#[plugin(version = "3.1.4", crate = "kit")]
pub struct Renamed;

impl Plugin for Renamed {
    type Inputs = In;
    type ContextInputs = ();
    type Outputs = ();
    async fn execute(&self, inputs: In, ctx: &mut Context<Self>) -> Result<(), PluginError> {
        ctx.outputs_mut().insert("n".into(), inputs.n.into());
        Ok(())
    }
}

fn main() {
    assert_eq!(kit::registry().versions().collect::<Vec<_>>(), ["3.1.4"]);
    assert_eq!(kit::registry().detail("3.1.4").unwrap()["inputs"]["properties"]["n"]["default"], 2);
}
