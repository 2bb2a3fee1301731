use bk_plugin_kit::prelude::*;

#[derive(Inputs)]
pub struct In {
    // The Python InputsForm attribute is a dict: the form of a field is one JSON object.
    #[field(form = ["required"])]
    pub task_name: String,
}

fn main() {}
