use bk_plugin_kit::prelude::*;

#[derive(Inputs)]
pub struct In {
    #[field(form = {"ui:component": {"name": "bk-input"}, "ui:component": {"name": "bk-select"}})]
    pub task_name: String,
    #[field(form = {"ui:props": {"max": 1, "max": 2}})]
    pub count: i64,
    #[field(form = {"ui:rules": ["required"]}, form = {"ui:rules": []})]
    pub note: String,
}

fn main() {}
