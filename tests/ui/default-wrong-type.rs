use bk_plugin_kit::prelude::*;

#[derive(Inputs)]
pub struct Inputs1 {
    #[field(default = 5)]
    pub name: String,
}

fn main() {}
