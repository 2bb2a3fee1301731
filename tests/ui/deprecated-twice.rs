use bk_plugin_kit::prelude::*;

#[plugin(version = "1.0.0", deprecated = "use 2.0.0", deprecated = "use 3.0.0")]
pub struct RetiredTwice;

fn main() {}
