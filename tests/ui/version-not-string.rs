use bk_plugin_kit::prelude::*;

#[plugin(version = 1.0)]
pub struct NumericVersion;

fn main() {}
