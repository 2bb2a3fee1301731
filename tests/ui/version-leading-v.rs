use bk_plugin_kit::prelude::*;

#[plugin(version = "v1.0.0")]
pub struct LeadingV;

fn main() {}
