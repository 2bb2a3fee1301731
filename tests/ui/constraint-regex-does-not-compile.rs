use bk_plugin_kit::prelude::*;

#[derive(Inputs)]
pub struct In {
    #[field(regex = "^(?!admin)[a-z]+$")]
    pub user: String,
    #[field(regex = "(a)\\1")]
    pub twice: String,
}

fn main() {}
