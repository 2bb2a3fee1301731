use bk_plugin_kit::prelude::*;

const PLACEHOLDER: &str = "name";

#[derive(Inputs)]
pub struct In {
    #[field(form = {"ui:props": {"placeholder": PLACEHOLDER}})]
    pub a: String,
    #[field(form = {"ui:props": {"clearable": True}})]
    pub b: String,
    #[field(form = {"ui:props": {"max": 10u8}})]
    pub c: i64,
    #[field(form = {ui_props: {}})]
    pub d: String,
    #[field(form = {"ui:props" {}})]
    pub e: String,
    #[field(form = {"ui:props": {} "ui:rules": []})]
    pub f: String,
}

fn main() {}
