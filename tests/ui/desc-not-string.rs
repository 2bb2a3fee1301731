use bk_plugin_kit::prelude::*;

#[plugin(version = "1.0.0", desc = 42)]
pub struct NumericDesc;

fn main() {}
