use bk_plugin_kit::prelude::*;

#[derive(Inputs)]
pub struct In {
    #[field(ge = "1", min_length = -1, regex = 5, multiple_of = 0)]
    pub count: i64,
}

fn main() {}
