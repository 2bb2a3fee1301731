use bk_plugin_kit::prelude::*;

#[plugin(version = "1.0.0", enable_plugin_callback = "yes")]
pub struct StringFlag;

fn main() {}
