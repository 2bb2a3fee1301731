use bk_plugin_kit::prelude::*;

#[derive(Choice)]
pub enum Level {
    Low = 1,
    High = 2,
}

#[derive(Inputs)]
pub struct In {
    #[field(ge = 1)]
    pub level: Level,
}

fn main() {}
