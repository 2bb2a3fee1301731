use bk_plugin_kit::prelude::*;

#[derive(Inputs)]
#[model(rename = "Options")]
#[model(rename = "Settings")]
pub struct Inputs1 {
    pub name: String,
}

fn main() {}
