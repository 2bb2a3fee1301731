use bk_plugin_kit::prelude::*;

#[derive(Outputs)]
pub union Bits {
    pub a: u32,
    pub b: f32,
}

fn main() {}
