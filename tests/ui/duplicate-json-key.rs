use bk_plugin_kit::prelude::*;

#[derive(Inputs)]
pub struct Inputs1 {
    pub biz_id: i64,
    #[field(rename = "biz_id")]
    pub business: i64,
}

fn main() {}
