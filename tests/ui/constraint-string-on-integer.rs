use bk_plugin_kit::prelude::*;

#[derive(Inputs)]
pub struct In {
    #[field(max_length = 3)]
    pub count: i64,
}

fn main() {}
