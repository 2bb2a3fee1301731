use bk_plugin_kit::prelude::*;

#[derive(ContextInputs)]
pub struct Ctx {
    #[field(title = 3)]
    pub executor: String,
}

fn main() {}
