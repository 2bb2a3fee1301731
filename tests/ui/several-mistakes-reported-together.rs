use bk_plugin_kit::prelude::*;

#[derive(Inputs)]
pub struct Inputs1 {
    #[field(titel = "typo")]
    pub name: String,
    #[field(description = 1, description = "twice")]
    pub count: i64,
}

fn main() {}
