//! Every compile error of the macros, with its exact text (`ui/*.stderr`), and programs that
//! must compile and run (`ui-pass/`).
//!
//! Regenerate after a deliberate change: `TRYBUILD=overwrite cargo test -p bk-plugin-tests
//! --test compiletest`, then review the diff. The texts are rustc's, so the test runs only on
//! the toolchain pinned in rust-toolchain.toml's channel (1.95).

#[rustversion::attr(not(stable(1.95)), ignore = "UI texts are pinned to rustc 1.95")]
#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/*.rs");
    t.pass("ui-pass/*.rs");
}
