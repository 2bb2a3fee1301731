use bk_plugin_kit::prelude::*;

#[derive(Choice)]
pub enum Level {
    #[choice(rename = "low")]
    Low = 1,
    High = 2,
}

fn main() {}
