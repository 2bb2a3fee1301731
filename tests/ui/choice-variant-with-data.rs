use bk_plugin_kit::prelude::*;

#[derive(Choice)]
pub enum Action {
    Start,
    Stop(String),
}

fn main() {}
