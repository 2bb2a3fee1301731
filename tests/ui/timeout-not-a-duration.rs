use bk_plugin_kit::prelude::*;

#[plugin(version = "1.0.0", timeout = "1w")]
pub struct UnknownUnit;

#[plugin(version = "1.0.1", timeout = "30m1h")]
pub struct UnitsOutOfOrder;

#[plugin(version = "1.0.2", timeout = "0s")]
pub struct Zero;

fn main() {}
