use bk_plugin_kit::prelude::*;

pub struct Timestamp(pub u64);

#[derive(Inputs)]
pub struct Inputs1 {
    pub name: String,
    pub at: Timestamp,
}

fn main() {}
