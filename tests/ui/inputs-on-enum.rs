use bk_plugin_kit::prelude::*;

#[derive(Inputs)]
pub enum Mode {
    Poll,
    Callback,
}

fn main() {}
