use bk_plugin_kit::prelude::*;

#[derive(Inputs)]
pub struct Inputs1 {
    #[field(title = "one", title = "two")]
    pub name: String,
}

fn main() {}
