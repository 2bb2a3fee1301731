//! A server of the Python peer's three plugin versions (`tests/support/peer.rs`): the same plugins the
//! peer runs, for load comparisons with `../shared/compare.sh` (`benches/http-compare.sh`).

use bk_plugin_tests as _;

fn main() -> std::process::ExitCode {
    bk_plugin_kit::run()
}
