//! Two crates declaring the same version cannot be caught at compile time (each crate has its
//! own macro namespace); linking both into one binary must fail at startup, naming both types.

// Mentioning the crates is what links their `#[plugin]` registrations in.
use bk_plugin_test_dup_a as _;
use bk_plugin_test_dup_b as _;

use bk_plugin_kit::{Registry, RegistryError, try_registry};

#[test]
fn same_version_in_two_crates_is_a_startup_error() {
    let err = Registry::from_inventory().unwrap_err();
    assert_eq!(
        err,
        RegistryError::DuplicateVersion {
            version: "1.0.0".into(),
            first: "bk_plugin_test_dup_a::PluginA".into(),
            second: "bk_plugin_test_dup_b::PluginB".into(),
        }
    );
    assert_eq!(
        err.to_string(),
        "plugin version 1.0.0 is registered twice, by `bk_plugin_test_dup_a::PluginA` and by \
         `bk_plugin_test_dup_b::PluginB`; give each `#[plugin]` a distinct version"
    );
    assert_eq!(try_registry().unwrap_err(), &err);
}

#[test]
#[should_panic(expected = "plugin version 1.0.0 is registered twice")]
fn registry_panics_with_the_same_message() {
    bk_plugin_kit::registry();
}
