use bk_plugin_kit::prelude::*;

#[plugin(version = )]
pub struct NoValue;

fn main() {}
