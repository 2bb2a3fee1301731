use bk_plugin_kit::prelude::*;

#[plugin(version = "1.0.0", timeout = 3600)]
pub struct SecondsAsANumber;

fn main() {}
