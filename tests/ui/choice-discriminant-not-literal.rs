use bk_plugin_kit::prelude::*;

const BASE: isize = 10;

#[derive(Choice)]
pub enum Level {
    Low = BASE,
    High = 20,
}

fn main() {}
