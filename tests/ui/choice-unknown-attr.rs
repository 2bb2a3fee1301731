use bk_plugin_kit::prelude::*;

#[derive(Choice)]
#[choice(rename_all = "lowercase")]
pub enum Action {
    #[choice(alias = "go")]
    Start,
    Stop,
}

fn main() {}
