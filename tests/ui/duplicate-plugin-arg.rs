use bk_plugin_kit::prelude::*;

#[plugin(version = "1.0.0", version = "1.0.1")]
pub struct TwoVersions;

fn main() {}
