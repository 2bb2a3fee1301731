use bk_plugin_kit::prelude::*;

#[plugin(version = "")]
pub struct EmptyVersion;

fn main() {}
