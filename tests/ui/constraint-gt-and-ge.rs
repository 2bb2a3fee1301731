use bk_plugin_kit::prelude::*;

#[derive(Inputs)]
pub struct In {
    #[field(gt = 0, ge = 1)]
    pub count: i64,
    #[field(le = 9, lt = 10)]
    pub other: i64,
}

fn main() {}
