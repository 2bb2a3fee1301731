use bk_plugin_kit::prelude::*;

#[plugin(version = "1.0.0")]
pub struct Generic<T>(T);

fn main() {}
