//! Tests of the plugin: each version runs on the real engine with a virtual clock, and the
//! released schemas stay as `plugin.lock.json` records them.

use std::time::Duration;

use bk_plugin_kit::serde_json::{Value, json};
use bk_plugin_kit::testing::{self, TestRunner};
use bk_plugin_kit::{State, registry};
use {{crate_name}}::v1_0_0::Hello;

#[test]
fn v1_0_0_polls_then_greets() {
    // The 5 s poll is instant: the runner moves its virtual clock instead of sleeping.
    let runner = TestRunner::<Hello>::new();
    let mut run = runner.invoke(json!({"name": "BlueKing"}), json!({"executor": "admin"}));
    assert_eq!(run.state(), State::Poll);
    assert_eq!(run.last().poll_interval, Some(Duration::from_secs(5)));

    run.finish();
    assert_eq!(run.states(), [State::Poll, State::Success]);
    assert_eq!(
        Value::Object(run.outputs()),
        json!({"greeting": "Hello, BlueKing!", "greeted_by": "admin"})
    );
}

#[test]
fn v1_0_0_rejects_missing_inputs() {
    let runner = TestRunner::<Hello>::new();
    let run = runner.invoke(json!({"delay": "soon"}), json!({"executor": "admin"}));
    assert_eq!(run.state(), State::Fail);
    assert!(
        run.err()
            .unwrap()
            .starts_with("inputs validation error: 2 validation errors for Inputs\nname\n"),
        "{:?}",
        run.err()
    );
}

/// Released versions keep their schemas: `plugin.lock.json` holds them, and this fails with
/// the version, field, rule and fix when one changes. New versions are recorded with
/// `BK_PLUGIN_UPDATE_LOCK=1 cargo test`.
#[test]
fn schema_lock() {
    testing::check_schema_lock(
        registry(),
        concat!(env!("CARGO_MANIFEST_DIR"), "/plugin.lock.json"),
    );
}
