use bk_plugin_kit::prelude::*;

#[derive(Choice)]
pub enum Nothing {}

fn main() {}
