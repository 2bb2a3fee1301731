use bk_plugin_kit::prelude::*;

#[derive(Inputs)]
pub struct Inputs1 {
    #[field(rename = bizId)]
    pub biz_id: i64,
}

fn main() {}
