use bk_plugin_kit::prelude::*;

#[plugin(version = "1.0.0", form = forms::main)]
pub struct UnquotedForm;

fn main() {}
