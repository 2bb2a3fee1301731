use bk_plugin_kit::prelude::*;

#[plugin(version = "1.0.0", deprecated = "")]
pub struct RetiredWithABlank;

fn main() {}
