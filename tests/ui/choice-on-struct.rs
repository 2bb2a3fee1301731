use bk_plugin_kit::prelude::*;

#[derive(Choice)]
pub struct Action {
    pub name: String,
}

fn main() {}
