//! The example plugin driven through the registry the way the runtime drives it: schemas
//! equal pydantic's for the same models, forms are picked up, and invocations move through
//! POLL and CALLBACK to SUCCESS.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bk_plugin_kit::serde_json::{self, Value, json};
use bk_plugin_kit::testing::{self, TestRunner};
use bk_plugin_kit::{Callback, Invocation, State, registry};
use sops_exec::v1_0_0::SopsExec;
use sops_exec::v1_1_0::SopsCallbackExec;

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
    // The testing harness runs the real engine with a virtual clock: the 5 s poll is instant.
    let runner = TestRunner::<SopsExec>::new();
    let mut run = runner.invoke(inputs(), json!({"biz_cc_id": "2", "executor": "admin"}));
    assert_eq!(run.state(), State::Poll);
    assert_eq!(run.last().poll_interval, Some(Duration::from_secs(5)));
    assert_eq!(run.storage()["task_id"], 42);

    run.finish();
    assert_eq!(run.states(), [State::Poll, State::Success]);
    assert_eq!(
        Value::Object(run.outputs()),
        json!({"task_id": 42, "task_url": "deploy"})
    );
}

#[test]
fn callback_version_waits_then_succeeds_and_reports_its_caller() {
    let runner = TestRunner::<SopsCallbackExec>::new();
    let context = json!({
        "biz_cc_id": 2, "executor": "admin",
        "plugin_callback_info": {"url": "http://sops.invalid/callback/1/", "data": {"k": 1}},
    });
    let mut run = runner.invoke(inputs(), context);
    assert_eq!(run.state(), State::Callback);
    // The URL handed to SOPS carries a Fernet token, as the Python framework's.
    let prepared = run.prepared_callbacks();
    assert_eq!(prepared.len(), 1);
    assert_eq!(run.outputs()["callback_url"], prepared[0].url);
    assert!(prepared[0].url.starts_with("/test/callback/gAAAAA"));
    assert!(run.notifications().is_empty(), "not finished yet");

    // SOPS calls back through that URL; the plugin resumes with the data.
    run.callback(json!({"task_id": 7}));
    assert_eq!(run.states(), [State::Callback, State::Success]);
    assert_eq!(
        run.outputs()["task_url"],
        "https://sops.example.invalid/taskflow/execute/7/?name=deploy"
    );
    // ... and the plugin's own caller is told it finished.
    let sent = run.notifications();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].url, "http://sops.invalid/callback/1/");
    assert_eq!(sent[0].data, json!({"k": 1}));
}

#[test]
fn callback_version_rejects_a_forged_token() {
    let runner = TestRunner::<SopsCallbackExec>::new();
    let run = runner.invoke(inputs(), json!({"biz_cc_id": 2, "executor": "admin"}));
    let token = testing::token_of(&run.prepared_callbacks()[0].url).to_owned();
    let mut forged = token.clone();
    forged.replace_range(20..21, if &token[20..21] == "A" { "B" } else { "A" });
    assert!(run.deliver(&forged, json!({"task_id": 1})).is_err());
    assert_eq!(run.state(), State::Callback);
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

/// Released versions keep their schemas: `plugin.lock.json` holds them, and this fails with
/// the version, field, rule and fix when one changes. New versions are recorded with
/// `BK_PLUGIN_UPDATE_LOCK=1 cargo test`.
#[test]
fn schema_lock_is_current() {
    testing::check_schema_lock(
        registry(),
        concat!(env!("CARGO_MANIFEST_DIR"), "/plugin.lock.json"),
    );
}
