use bk_plugin_kit::prelude::*;

#[derive(Outputs)]
pub struct Out {
    #[field(form = {"ui:component": {"name": "bk-input"}})]
    pub task_id: i64,
}

#[derive(ContextInputs)]
pub struct Ctx {
    #[field(form = {"ui:component": {"name": "bk-input"}})]
    pub executor: String,
}

fn main() {}
