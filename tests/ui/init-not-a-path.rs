use bk_plugin_kit::prelude::*;

#[plugin(version = "1.0.0", init = "Self::from_env")]
pub struct QuotedInit {
    pub endpoint: String,
}

fn main() {}
