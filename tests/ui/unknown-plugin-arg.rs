use bk_plugin_kit::prelude::*;

#[plugin(version = "1.0.0", description = "desc is the key")]
pub struct UnknownArg;

fn main() {}
