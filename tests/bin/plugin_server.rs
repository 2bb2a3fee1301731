//! A plugin binary for the tests: the peer's plugin versions served by `bk_plugin_kit::run()`,
//! subcommands included (`apigw sync`, ...), configured from the environment like any plugin.

use bk_plugin_tests as _;

fn main() -> std::process::ExitCode {
    bk_plugin_kit::run()
}
