use bk_plugin_kit::prelude::*;

#[derive(Choice)]
#[choice(literal, rename = "Mode")]
pub enum Mode {
    Fast,
    Slow,
}

fn main() {}
