use bk_plugin_kit::prelude::*;

#[derive(Inputs)]
pub struct In {
    // A title belongs to the schema (`#[field(title)]`), a typo to nowhere.
    #[field(form = {"title": "业务", "ui_component": {"name": "bk-select"}, "ui:": 1})]
    pub biz_id: i64,
}

fn main() {}
