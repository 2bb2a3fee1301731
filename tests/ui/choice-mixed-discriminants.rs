use bk_plugin_kit::prelude::*;

#[derive(Choice)]
pub enum Level {
    Low = 1,
    High,
}

fn main() {}
