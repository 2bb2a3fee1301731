//! The first run of an invocation gives what the Python peer answered in `data` of
//! `fixtures/peer/invoke_*.json`: state, outputs and the exact `err` text.

use std::sync::Arc;

use bk_plugin_kit::serde_json::{Value, json};
use bk_plugin_kit::{CallbackIssuer, Invocation, PluginError, PreparedCallback, State, registry};
use bk_plugin_tests::support::{block_on, fixture};

/// The invoke response `data` the HTTP layer builds from an outcome: outputs are `null` when a
/// first run fails, `err` is `null` unless it failed.
fn invoke_data(version: &str, request: &Value) -> Value {
    struct Issuer;
    impl CallbackIssuer for Issuer {
        fn prepare(&self, trace_id: &str, _round: u32) -> Result<PreparedCallback, PluginError> {
            Ok(PreparedCallback {
                id: "c".repeat(32),
                url: format!("/dev/callback/{trace_id}/"),
            })
        }
    }
    let inv = Invocation::new(
        "a".repeat(32),
        request["inputs"].clone(),
        request["context"].clone(),
    )
    .with_issuer(Arc::new(Issuer));
    let outcome = block_on(registry().run(version, inv)).expect("version registered");
    let outputs = if outcome.state == State::Fail {
        Value::Null
    } else {
        Value::Object(outcome.outputs)
    };
    json!({"outputs": outputs, "state": outcome.state, "err": outcome.err})
}

fn check(case: &str, version: &str) {
    let request = fixture(&format!("peer/{case}_request.json"));
    let expected = &fixture(&format!("peer/{case}.json"))["data"];
    assert_eq!(&invoke_data(version, &request), expected, "case {case}");
}

#[test]
fn ok() {
    check("invoke_ok", "1.0.0");
}

#[test]
fn ok_defaults() {
    check("invoke_ok_defaults", "1.0.0");
}

#[test]
fn ok_typed() {
    check("invoke_ok_1.1.0", "1.1.0");
}

#[test]
fn ok_coerced_like_pydantic() {
    check("invoke_ok_1.1.0_coerced", "1.1.0");
}

#[test]
fn bad_inputs_report_every_error_with_its_path() {
    check("invoke_bad_inputs", "1.1.0");
}

#[test]
fn bad_inputs_missing() {
    check("invoke_bad_inputs_missing", "1.1.0");
}

#[test]
fn bad_inputs_type() {
    check("invoke_bad_inputs_type", "1.1.0");
}

#[test]
fn bad_context() {
    check("invoke_bad_context", "1.1.0");
}

#[test]
fn plugin_error() {
    check("invoke_plugin_error", "1.1.0");
}

#[test]
fn plugin_fail() {
    check("invoke_plugin_fail_2.0.0", "2.0.0");
}

#[test]
fn poll_first_run() {
    check("invoke_poll", "2.0.0");
}

#[test]
fn callback_first_run() {
    let request = fixture("peer/invoke_callback_request.json");
    let expected = &fixture("peer/invoke_callback.json")["data"];
    let mut data = invoke_data("2.0.0", &request);
    // The URL embeds a per-run token; compare its shape, then the rest exactly.
    let url = data["outputs"]["callback_url"].as_str().unwrap().to_owned();
    assert!(url.starts_with("/dev/callback/") && url.ends_with('/'));
    data["outputs"]["callback_url"] = expected["outputs"]["callback_url"].clone();
    assert_eq!(&data, expected);
}
