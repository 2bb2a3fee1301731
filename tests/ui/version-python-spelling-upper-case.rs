use bk_plugin_kit::prelude::*;

#[plugin(version = "1.0.0RC1")]
pub struct UpperCase;

fn main() {}
