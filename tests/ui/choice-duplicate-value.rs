use bk_plugin_kit::prelude::*;

#[derive(Choice)]
pub enum Action {
    #[choice(rename = "Stop")]
    Start,
    Stop,
}

fn main() {}
