use bk_plugin_kit::prelude::*;

#[derive(Inputs)]
pub struct Wrapper<T> {
    pub value: T,
}

fn main() {}
