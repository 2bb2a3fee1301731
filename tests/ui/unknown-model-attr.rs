use bk_plugin_kit::prelude::*;

#[derive(Outputs)]
#[model(name = "Result")]
pub struct Outputs1 {
    pub ok: bool,
}

fn main() {}
