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
use sops_exec::v1_3_0::SopsTokenExec;

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

/// Version 1.2.0: the priority is a select box (`enum` in its definition) and the task name
/// and timeout are checked before `execute`, with pydantic's texts.
#[test]
fn prioritised_version_offers_choices_and_checks_constraints() {
    let d = registry().detail("1.2.0").unwrap();
    assert_eq!(
        d["inputs"]["definitions"]["Priority"],
        json!({"title": "Priority", "description": "How urgently SOPS should run the task.",
               "enum": ["low", "normal", "high"], "type": "string"})
    );
    assert_eq!(
        d["inputs"]["properties"]["timeout_secs"],
        json!({"title": "Timeout Secs", "description": "Seconds before the task is given up.",
               "default": 600, "minimum": 1, "maximum": 86400, "type": "integer"})
    );
    let context = json!({"biz_cc_id": 2, "executor": "admin"});
    let bad = json!({"template_id": 7, "task_name": "", "priority": "urgent", "timeout_secs": 0});
    let out = block_on(registry().run(
        "1.2.0",
        Invocation::new("p".repeat(32), bad, context.clone()),
    ))
    .unwrap();
    assert_eq!(out.state, State::Fail);
    assert_eq!(
        out.err.as_deref(),
        Some(
            "inputs validation error: 3 validation errors for Inputs\n\
             task_name\n  ensure this value has at least 1 characters (type=value_error.any_str.min_length; limit_value=1)\n\
             priority\n  value is not a valid enumeration member; permitted: 'low', 'normal', 'high' (type=type_error.enum; enum_values=[<Priority.Low: 'low'>, <Priority.Normal: 'normal'>, <Priority.High: 'high'>])\n\
             timeout_secs\n  ensure this value is greater than or equal to 1 (type=value_error.number.not_ge; limit_value=1)"
        )
    );
    let good = json!({"template_id": 7, "task_name": "deploy", "priority": "high"});
    let out =
        block_on(registry().run("1.2.0", Invocation::new("q".repeat(32), good, context))).unwrap();
    assert_eq!(out.state, State::Success, "{:?}", out.err);
    assert_eq!(out.outputs["task_url"], "deploy?timeout=600");
}

/// Version 1.3.0: the API token is a password box and every input has its form widget, as the
/// Python `InputsForm` gives them; the token is sealed in the stored row while the task is
/// polled, and handed to the resumed step.
#[test]
fn token_version_has_a_password_box_form_widgets_and_seals_the_token() {
    let d = registry().detail("1.3.0").unwrap();
    let props = &d["inputs"]["properties"];
    assert_eq!(
        props["api_token"],
        json!({"title": "Api Token", "description": "Your SOPS API token: the task is created in your name.",
               "type": "string", "writeOnly": true, "format": "password", "ui:rules": ["required"]})
    );
    assert_eq!(
        props["template_id"]["ui:component"],
        json!({"name": "bk-select", "props": {"searchable": true}})
    );
    assert_eq!(
        props["priority"]["ui:component"],
        json!({"name": "bk-radio-group"})
    );
    let runner = TestRunner::<SopsTokenExec>::new();
    let inputs = json!({"template_id": 7, "task_name": "deploy", "api_token": "sops-token-123"});
    let mut run = runner.invoke(inputs, json!({"biz_cc_id": 2, "executor": "admin"}));
    assert_eq!(run.state(), State::Poll);
    let row = run.stored().expect("a polling invocation is stored");
    assert!(
        !row.inputs.to_string().contains("sops-token-123"),
        "{}",
        row.inputs
    );
    run.finish();
    assert_eq!(
        run.states(),
        [State::Poll, State::Success],
        "{:?}",
        run.err()
    );
    assert_eq!(run.outputs()["task_id"], 44);
}
