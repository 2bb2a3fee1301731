use bk_plugin_kit::prelude::*;

#[plugin(version = "1.0.0", crate = bk_plugin_kit)]
pub struct UnquotedCrate;

fn main() {}
