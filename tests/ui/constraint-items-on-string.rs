use bk_plugin_kit::prelude::*;

#[derive(Inputs)]
pub struct In {
    #[field(min_items = 1)]
    pub name: String,
}

fn main() {}
