//! The process-wide registry: versions, details, meta, running by version string.

use bk_plugin_kit::serde_json::json;
use bk_plugin_kit::{Invocation, Registry, State, registry, try_registry};
use bk_plugin_tests::support::block_on;

#[test]
fn versions_are_newest_first() {
    assert_eq!(
        registry().versions().collect::<Vec<_>>(),
        ["2.0.0", "1.1.0", "1.0.0"]
    );
    assert_eq!(registry().len(), 3);
    assert!(!registry().is_empty());
    assert!(try_registry().is_ok());
}

#[test]
fn from_inventory_builds_an_equal_registry() {
    let fresh = Registry::from_inventory().unwrap();
    assert_eq!(
        fresh.versions().collect::<Vec<_>>(),
        registry().versions().collect::<Vec<_>>()
    );
    for p in fresh.plugins() {
        assert_eq!(Some(p.detail()), registry().detail(p.version()));
        assert!(p.type_name().ends_with("Plugin"), "{}", p.type_name());
    }
}

#[test]
fn unknown_version_is_a_distinct_error() {
    let err =
        block_on(registry().run("9.9.9", Invocation::new("x", json!({}), json!({})))).unwrap_err();
    assert_eq!(err.requested, "9.9.9");
    assert_eq!(
        err.to_string(),
        "no plugin version 9.9.9; available: 2.0.0, 1.1.0, 1.0.0"
    );
    assert!(registry().detail("9.9.9").is_none());
    assert!(registry().get("1.0").is_none());
}

#[test]
fn meta_defaults_to_the_crate() {
    let meta = registry().meta();
    assert_eq!(meta["language"], "rust");
    assert_eq!(meta["versions"], json!(["2.0.0", "1.1.0", "1.0.0"]));
    assert_eq!(meta["framework_version"], bk_plugin_kit::FRAMEWORK_VERSION);
    if std::env::var_os("BKPAAS_APP_ID").is_none() {
        assert_eq!(meta["code"], "bk-plugin-tests");
        assert_eq!(
            meta["description"],
            "Integration and UI tests of bk-plugin-kit"
        );
    }
}

#[test]
fn poll_rounds_carry_storage_until_success() {
    let p = registry().get("2.0.0").unwrap();
    let first = block_on(p.run(Invocation::new(
        "t",
        json!({"polls": 2, "interval": 0}),
        json!({}),
    )));
    assert_eq!(first.state, State::Poll);
    assert_eq!(first.poll_interval, Some(std::time::Duration::ZERO));
    let mut storage = first.storage;
    let mut outputs = first.outputs;
    let mut states = vec![first.state];
    for count in 2..=3 {
        let inv = Invocation::new("t", json!({"polls": 2, "interval": 0}), json!({})).resume(
            State::Poll,
            count,
            storage,
            outputs,
        );
        let out = block_on(p.run(inv));
        states.push(out.state);
        storage = out.storage;
        outputs = out.outputs;
    }
    assert_eq!(states, [State::Poll, State::Poll, State::Success]);
    assert_eq!(outputs["invoke_count"], 3);
    assert_eq!(outputs["phase"], "done");
    assert_eq!(storage["remaining"], 0);
}
