//! The Python peer's three plugin versions (`tests/support/peer.rs`, the same file the parity
//! tests use) served by `bk_plugin_kit::run()`, in a crate whose dependency line is the
//! cargo-generate template's: what `benches/memory.sh`, `benches/soak.sh` and
//! `benches/http-compare.sh` measure is the binary a plugin author deploys.

// The plugins are `pub` for the test crate that shares the file.
#[allow(unreachable_pub)]
#[path = "../../../tests/support/peer.rs"]
mod peer;

#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    bk_plugin_kit::run()
}
