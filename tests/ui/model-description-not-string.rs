use bk_plugin_kit::prelude::*;

#[derive(Inputs)]
#[model(description = None)]
pub struct Inputs1 {
    pub name: String,
}

fn main() {}
