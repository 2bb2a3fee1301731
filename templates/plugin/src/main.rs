//! The plugin server: `cargo run`.

use std::process::ExitCode;

// Link the library so its `#[plugin]` registrations are in this binary.
use {{crate_name}} as _;

fn main() -> ExitCode {
    bk_plugin_kit::run()
}
