use bk_plugin_kit::prelude::*;

#[plugin(version = "1.0.0+build.5")]
pub struct WithBuild;

fn main() {}
