use bk_plugin_kit::prelude::*;

#[plugin(version = "1.0.0", cancellable = "yes")]
pub struct StringFlag;

fn main() {}
