//! Prints what a caller sees of this plugin crate: `meta` and each version's `detail`.
//!
//! The HTTP runtime (serving these over the Python framework's protocol) is not part of the
//! kit yet; until then this binary shows the registry and fails if it cannot be built.

use std::process::ExitCode;

use bk_plugin_kit::serde_json::{self, json};

// Link the plugin library so its `#[plugin]` registrations are in this binary.
use sops_exec as _;

fn main() -> ExitCode {
    let registry = match bk_plugin_kit::try_registry() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let details: serde_json::Map<_, _> = registry
        .plugins()
        .map(|p| (p.version().to_owned(), p.detail().clone()))
        .collect();
    let out = json!({"meta": registry.meta(), "detail": details});
    println!(
        "{}",
        serde_json::to_string_pretty(&out).expect("JSON values serialize")
    );
    ExitCode::SUCCESS
}
