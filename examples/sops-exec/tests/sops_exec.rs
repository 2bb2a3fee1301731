//! The example plugin driven through the registry the way the runtime drives it: schemas
//! equal pydantic's for the same models, forms are picked up, and invocations move through
//! POLL and CALLBACK to SUCCESS.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bk_plugin_kit::serde_json::{self, Value, json};
use bk_plugin_kit::{
    Callback, CallbackIssuer, Invocation, PluginError, PreparedCallback, State, registry,
};
use sops_exec as _;

fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = future.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

/// pydantic 1.10.21's schemas of the same models, from tests/fixtures/pydantic/gen.py.
fn pydantic(name: &str) -> Value {
    let text = include_str!("../../../tests/fixtures/pydantic/schemas.json");
    serde_json::from_str::<Value>(text).unwrap()[name].clone()
}

fn inputs() -> Value {
    json!({"template_id": "7", "task_name": "deploy", "options": {"name": "n", "value": "v"}, "ignored": 1})
}

#[test]
fn detail_equals_pydantic_for_the_same_models() {
    let d = registry().detail("1.0.0").unwrap();
    assert_eq!(d["inputs"], pydantic("sops_exec_inputs"));
    assert_eq!(d["context_inputs"], pydantic("sops_exec_context"));
    assert_eq!(d["outputs"], pydantic("sops_exec_outputs"));
    assert_eq!(d["desc"], "Run a SOPS task");
    assert_eq!(d["enable_plugin_callback"], false);

    let d = registry().detail("1.1.0").unwrap();
    assert_eq!(d["context_inputs"], pydantic("sops_exec_callback_context"));
    assert_eq!(d["enable_plugin_callback"], true);
}

#[test]
fn forms_by_convention_and_by_path() {
    let by_convention = &registry().detail("1.0.0").unwrap()["forms"]["renderform"];
    assert_eq!(
        by_convention.as_str(),
        Some(include_str!("../forms/1.0.0/form.js"))
    );
    let by_path = &registry().detail("1.1.0").unwrap()["forms"]["renderform"];
    assert_eq!(
        by_path.as_str(),
        Some(include_str!("../forms/callback/form.js"))
    );
}

#[test]
fn poll_version_runs_to_success() {
    let context = json!({"biz_cc_id": "2", "executor": "admin"});
    let first = block_on(registry().run(
        "1.0.0",
        Invocation::new("t".repeat(32), inputs(), context.clone()),
    ))
    .unwrap();
    assert_eq!(first.state, State::Poll);
    assert_eq!(first.poll_interval, Some(Duration::from_secs(5)));
    assert_eq!(first.storage["task_id"], 42);

    let resume = Invocation::new("t".repeat(32), inputs(), context).resume(
        State::Poll,
        2,
        first.storage,
        first.outputs,
    );
    let done = block_on(registry().run("1.0.0", resume)).unwrap();
    assert_eq!(done.state, State::Success);
    assert_eq!(
        Value::Object(done.outputs),
        json!({"task_id": 42, "task_url": "deploy"})
    );
}

struct Issuer;

impl CallbackIssuer for Issuer {
    fn prepare(&self, trace_id: &str) -> Result<PreparedCallback, PluginError> {
        Ok(PreparedCallback {
            id: "c".repeat(32),
            url: format!("/dev/callback/token-of-{trace_id}/"),
        })
    }
}

#[test]
fn callback_version_waits_then_succeeds_and_reports_its_caller() {
    let context = json!({
        "biz_cc_id": 2, "executor": "admin",
        "plugin_callback_info": {"url": "http://sops.invalid/callback/1/", "data": {"k": 1}},
    });
    let trace = "a".repeat(32);
    let first = block_on(registry().run(
        "1.1.0",
        Invocation::new(trace.clone(), inputs(), context.clone()).with_issuer(Arc::new(Issuer)),
    ))
    .unwrap();
    assert_eq!(first.state, State::Callback);
    assert_eq!(
        first.outputs["callback_url"],
        format!("/dev/callback/token-of-{trace}/")
    );
    let info = first.plugin_callback_info.clone().unwrap();
    assert_eq!(info.url, "http://sops.invalid/callback/1/");
    assert_eq!(Value::Object(info.data), json!({"k": 1}));

    let resume = Invocation::new(trace, inputs(), context)
        .resume(State::Callback, 2, first.storage, first.outputs)
        .with_callback(Callback {
            id: "c".repeat(32),
            data: json!({"task_id": 7}),
        });
    let done = block_on(registry().run("1.1.0", resume)).unwrap();
    assert_eq!(done.state, State::Success);
    assert_eq!(done.outputs["task_id"], 7);
    assert_eq!(
        done.outputs["task_url"],
        "https://sops.example.invalid/taskflow/execute/7/?name=deploy"
    );
    assert!(done.plugin_callback_info.is_some());
}

#[test]
fn bad_callback_data_fails_with_the_plugin_message() {
    let context = json!({"biz_cc_id": 2, "executor": "admin"});
    let resume = Invocation::new("b".repeat(32), inputs(), context)
        .resume(State::Callback, 2, Default::default(), Default::default())
        .with_callback(Callback {
            id: "c".repeat(32),
            data: json!({"task_id": "seven"}),
        });
    let out = block_on(registry().run("1.1.0", resume)).unwrap();
    assert_eq!(out.state, State::Fail);
    assert_eq!(
        out.err.as_deref(),
        Some("plugin schedule failed: callback data has no integer task_id")
    );
}

#[test]
fn invalid_context_still_names_the_callback_target() {
    // The caller must hear that the invocation ended even when its context is invalid.
    let context = json!({"plugin_callback_info": {"url": "http://sops.invalid/cb/", "data": {}}});
    let out = block_on(registry().run("1.1.0", Invocation::new("c".repeat(32), inputs(), context)))
        .unwrap();
    assert_eq!(out.state, State::Fail);
    assert!(out.err.unwrap().starts_with(
        "context validation error: 2 validation errors for ContextInputs\nbiz_cc_id\n"
    ));
    assert_eq!(
        out.plugin_callback_info.unwrap().url,
        "http://sops.invalid/cb/"
    );
}
