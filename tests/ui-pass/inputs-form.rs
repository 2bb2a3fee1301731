//! `#[field(form = {..})]` merges `ui:*` keys into the field's property, after its schema
//! keys, in the order written; a nested Inputs model's fields may have one too.
use bk_plugin_kit::prelude::*;
use bk_plugin_kit::serde_json::json;

#[derive(Inputs)]
pub struct Target {
    #[field(form = {"ui:component": {"name": "bk-input"}})]
    pub host: String,
}

#[derive(Inputs)]
pub struct In {
    #[field(form = {"ui:rules": ["required"], "ui:component": {"name": "bk-input", "props": {"n": -1, "x": 2.5e0, "big": 18446744073709551615}}})]
    pub task_name: String,
    #[field(default = 3, form = {})]
    pub count: i64,
    #[field(form = {"ui:component": {"name": "bk-target"}})]
    pub target: Target,
}

fn main() {
    let schema = <In as Inputs>::schema();
    assert_eq!(
        schema["properties"]["task_name"],
        json!({
            "title": "Task Name",
            "type": "string",
            "ui:rules": ["required"],
            "ui:component": {"name": "bk-input", "props": {"n": -1, "x": 2.5, "big": 18446744073709551615u64}},
        })
    );
    let keys: Vec<_> = schema["properties"]["task_name"].as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["title", "type", "ui:rules", "ui:component"]);
    assert_eq!(schema["properties"]["count"], json!({"title": "Count", "default": 3, "type": "integer"}));
    assert_eq!(
        schema["properties"]["target"],
        json!({"$ref": "#/definitions/Target", "ui:component": {"name": "bk-target"}})
    );
    assert_eq!(
        schema["definitions"]["Target"]["properties"]["host"]["ui:component"],
        json!({"name": "bk-input"})
    );
}
