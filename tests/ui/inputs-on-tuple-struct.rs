use bk_plugin_kit::prelude::*;

#[derive(Inputs)]
pub struct Pair(pub String, pub i64);

fn main() {}
