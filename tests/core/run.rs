//! Running a version by its string: state decisions, failures, panics, and what a failed
//! resume keeps — the contract the execution engine builds on.

use std::time::Duration;

use bk_plugin_kit::prelude::*;
use bk_plugin_kit::serde_json::{Value, json};
use bk_plugin_kit::{FailureKind, Invocation, Outcome, registry};
use bk_plugin_tests::support::block_on;

#[derive(Inputs)]
pub struct Step {
    /// What to do in this run.
    pub action: String,
}

/// Does what `inputs.action` says, after touching storage and outputs.
#[plugin(version = "9.0.0")]
pub struct Scripted;

#[derive(Debug)]
struct Broken;
impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("disk on fire")
    }
}
impl std::error::Error for Broken {}

fn fails_unexpectedly() -> Result<(), Broken> {
    Err(Broken)
}

impl Plugin for Scripted {
    type Inputs = Step;
    type ContextInputs = ();
    type Outputs = ();

    async fn execute(&self, inputs: Step, ctx: &mut Context<Self>) -> Result<(), PluginError> {
        let n = ctx.invoke_count();
        ctx.storage_mut().insert("touched".into(), n.into());
        ctx.outputs_mut().insert("touched".into(), n.into());
        match inputs.action.as_str() {
            "poll_then_callback" => {
                ctx.wait_poll(Duration::from_millis(10));
                ctx.wait_callback();
            }
            "callback_then_poll" => {
                ctx.wait_callback();
                ctx.wait_poll(Duration::ZERO);
            }
            "fail" => return Err(PluginError::new("controlled")),
            "unexpected" => fails_unexpectedly()?,
            "panic" => panic!("index out of range: {}", n + 40),
            "panic_after_await" => {
                std::future::ready(()).await;
                std::panic::panic_any(7_u8);
            }
            _ => {}
        }
        Ok(())
    }
}

fn first(action: &str) -> Outcome {
    block_on(registry().run(
        "9.0.0",
        Invocation::new("f".repeat(32), json!({"action": action}), json!({})),
    ))
    .unwrap()
}

fn resume(action: &str) -> Outcome {
    let before = json!({"kept": true}).as_object().unwrap().clone();
    let inv = Invocation::new("f".repeat(32), json!({"action": action}), json!({})).resume(
        State::Poll,
        3,
        before.clone(),
        before,
    );
    block_on(registry().run("9.0.0", inv)).unwrap()
}

#[test]
fn no_wait_is_success() {
    let out = first("done");
    assert_eq!(out.state, State::Success);
    assert_eq!(out.err, None);
    assert_eq!(out.outputs["touched"], 1);
}

#[test]
fn last_wait_call_wins() {
    let out = first("poll_then_callback");
    assert_eq!((out.state, out.poll_interval), (State::Callback, None));
    let out = first("callback_then_poll");
    assert_eq!(
        (out.state, out.poll_interval),
        (State::Poll, Some(Duration::ZERO))
    );
}

#[test]
fn first_run_failures_use_the_invoke_prefixes() {
    let out = first("fail");
    assert_eq!(
        (out.state, out.failure),
        (State::Fail, Some(FailureKind::Plugin))
    );
    assert_eq!(
        out.err.as_deref(),
        Some("plugin execute failed: controlled")
    );

    let out = first("unexpected");
    assert_eq!(out.failure, Some(FailureKind::Unexpected));
    assert_eq!(
        out.err.as_deref(),
        Some("plugin execute raise unexpected error: disk on fire")
    );
}

#[test]
fn a_panic_is_a_failure_with_its_message_and_the_process_goes_on() {
    let out = first("panic");
    assert_eq!(
        (out.state, out.failure),
        (State::Fail, Some(FailureKind::Panic))
    );
    assert_eq!(
        out.err.as_deref(),
        Some("plugin execute raise unexpected error: plugin panicked: index out of range: 41")
    );
    let out = first("panic_after_await");
    assert_eq!(
        out.err.as_deref(),
        Some(
            "plugin execute raise unexpected error: plugin panicked: panic with a non-string payload"
        )
    );
    // Still serving.
    assert_eq!(first("done").state, State::Success);
}

#[test]
fn resume_failures_use_the_schedule_prefix() {
    let out = resume("fail");
    assert_eq!(
        out.err.as_deref(),
        Some("plugin schedule failed: controlled")
    );
    let out = resume("unexpected");
    assert_eq!(
        out.err.as_deref(),
        Some("plugin schedule failed: disk on fire")
    );
}

#[test]
fn a_controlled_failure_keeps_the_runs_changes() {
    let out = resume("fail");
    assert_eq!(out.storage["touched"], 3);
    assert_eq!(out.outputs["touched"], 3);
}

#[test]
fn an_unexpected_failure_or_panic_of_a_resume_discards_the_runs_changes() {
    for action in ["unexpected", "panic"] {
        let out = resume(action);
        assert_eq!(out.state, State::Fail);
        assert_eq!(
            Value::Object(out.storage),
            json!({"kept": true}),
            "{action}"
        );
        assert_eq!(
            Value::Object(out.outputs),
            json!({"kept": true}),
            "{action}"
        );
    }
}

#[test]
fn a_resume_sees_its_state_and_count() {
    let out = resume("done");
    assert_eq!(out.state, State::Success);
    assert_eq!(out.storage["touched"], 3);
    assert_eq!(out.storage["kept"], true);
}

#[test]
fn invalid_inputs_fail_before_execute() {
    let out = block_on(registry().run(
        "9.0.0",
        Invocation::new("x", json!({"action": ["no"]}), json!({})),
    ))
    .unwrap();
    assert_eq!(out.failure, Some(FailureKind::InvalidInputs));
    assert_eq!(
        out.err.as_deref(),
        Some(
            "inputs validation error: 1 validation error for Inputs\naction\n  str type expected (type=type_error.str)"
        )
    );
    assert!(out.outputs.is_empty());
}
