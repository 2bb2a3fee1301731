use bk_plugin_kit::prelude::*;

#[plugin(desc = "no version")]
pub struct NoVersion;

fn main() {}
