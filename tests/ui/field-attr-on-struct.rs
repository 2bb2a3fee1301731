use bk_plugin_kit::prelude::*;

#[derive(Inputs)]
#[field(title = "Inputs")]
pub struct Inputs1 {
    pub name: String,
}

fn main() {}
