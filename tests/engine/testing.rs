//! The plugin-testing harness `bk_plugin_engine::testing::TestRunner`: it drives the real
//! engine (in-memory store, virtual clock) and reports every step of an invocation.

use std::time::Duration;

use bk_plugin_engine::CallbackError;
use bk_plugin_engine::testing::{TestRunner, token_of};
use bk_plugin_kit::prelude::*;
use bk_plugin_kit::serde_json::{Value, json};

#[derive(Inputs)]
pub struct Script {
    /// `poll:N` (seconds), `callback`, `fail` or `success`, one per run.
    pub steps: Vec<String>,
}

#[derive(ContextInputs)]
pub struct CallerContext {
    pub plugin_callback_info: Option<PluginCallbackInfo>,
}

/// Follows its script; every run appends its count to `storage.runs` and records a callback
/// it was given in `outputs.callback`.
#[plugin(version = "8.0.0", enable_plugin_callback = true)]
pub struct Scripted;

impl Plugin for Scripted {
    type Inputs = Script;
    type ContextInputs = CallerContext;
    type Outputs = ();

    async fn execute(&self, inputs: Script, ctx: &mut Context<Self>) -> Result<(), PluginError> {
        let n = ctx.invoke_count();
        let runs = ctx.storage_mut().entry("runs").or_insert_with(|| json!([]));
        runs.as_array_mut().unwrap().push(n.into());
        if let Some(cb) = ctx.callback().cloned() {
            ctx.outputs_mut()
                .insert("callback".into(), json!({"id": cb.id, "data": cb.data}));
        }
        match inputs
            .steps
            .get(n as usize - 1)
            .map_or("success", String::as_str)
        {
            "success" => {}
            "fail" => return Err(PluginError::new(format!("failed at run {n}"))),
            "callback" => {
                let prepared = ctx.prepare_callback()?;
                ctx.outputs_mut()
                    .insert("callback_url".into(), prepared.url.into());
                ctx.wait_callback();
            }
            poll => ctx.wait_poll(Duration::from_secs(poll[5..].parse().unwrap())),
        }
        Ok(())
    }
}

fn inputs(steps: &[&str]) -> Value {
    json!({ "steps": steps })
}

#[test]
fn the_runner_resumes_long_polls_at_once_and_reports_every_step() {
    let runner = TestRunner::<Scripted>::new();
    let mut run = runner.invoke(inputs(&["poll:3600", "poll:60", "success"]), json!({}));
    assert_eq!(run.state(), State::Poll);
    assert_eq!(run.last().poll_interval, Some(Duration::from_secs(3600)));
    run.poll();
    assert_eq!(run.last().poll_interval, Some(Duration::from_secs(60)));
    run.finish();
    assert_eq!(run.states(), [State::Poll, State::Poll, State::Success]);
    let counts: Vec<u32> = run.steps().iter().map(|s| s.invoke_count).collect();
    assert_eq!(counts, [1, 2, 3]);
    assert_eq!(run.storage()["runs"], json!([1, 2, 3]));
}

#[test]
fn the_runner_reports_every_step_of_zero_interval_polls() {
    let runner = TestRunner::<Scripted>::new();
    let mut run = runner.invoke(
        inputs(&["poll:0", "poll:0", "poll:0", "success"]),
        json!({}),
    );
    run.finish();
    assert_eq!(
        run.states(),
        [State::Poll, State::Poll, State::Poll, State::Success]
    );
    let counts: Vec<u32> = run.steps().iter().map(|s| s.invoke_count).collect();
    assert_eq!(counts, [1, 2, 3, 4], "one step per run");
}

#[test]
fn the_runner_keeps_interleaved_invocations_apart() {
    let runner = TestRunner::<Scripted>::new();
    let mut a = runner.invoke(inputs(&["poll:10", "poll:10", "success"]), json!({}));
    let mut b = runner.invoke(inputs(&["poll:10", "poll:10", "success"]), json!({}));
    a.finish();
    assert_eq!(a.states(), [State::Poll, State::Poll, State::Success]);
    b.finish();
    assert_eq!(b.states(), [State::Poll, State::Poll, State::Success]);
    let counts: Vec<u32> = b.steps().iter().map(|s| s.invoke_count).collect();
    assert_eq!(counts, [1, 2, 3]);
}

#[test]
fn the_runner_delivers_callbacks_through_the_prepared_url() {
    let runner = TestRunner::<Scripted>::new();
    let mut run = runner.invoke(inputs(&["callback", "callback", "success"]), json!({}));
    assert_eq!(run.state(), State::Callback);
    let prepared = run.prepared_callbacks();
    assert_eq!(prepared.len(), 1);
    assert!(
        prepared[0].url.starts_with("/test/callback/"),
        "{}",
        prepared[0].url
    );
    assert_eq!(run.outputs()["callback_url"], prepared[0].url.as_str());

    run.callback(json!({"n": 1}));
    assert_eq!(run.state(), State::Callback);
    assert_eq!(
        run.outputs()["callback"],
        json!({"id": prepared[0].id, "data": {"n": 1}})
    );
    let second = run.prepared_callbacks();
    assert_eq!(second.len(), 2);
    run.callback(json!({"n": 2}));
    assert_eq!(
        run.states(),
        [State::Callback, State::Callback, State::Success]
    );
    assert_eq!(
        run.outputs()["callback"],
        json!({"id": second[1].id, "data": {"n": 2}})
    );
}

#[test]
fn the_runner_refuses_forged_and_replayed_tokens() {
    let runner = TestRunner::<Scripted>::new();
    let mut run = runner.invoke(inputs(&["callback", "success"]), json!({}));
    let url = run.prepared_callbacks()[0].url.clone();
    let token = token_of(&url);
    assert!(matches!(
        run.deliver("forged", json!({})),
        Err(CallbackError::Token(_))
    ));
    let mut altered = token.to_owned().into_bytes();
    altered[20] = if altered[20] == b'A' { b'B' } else { b'A' };
    let altered = String::from_utf8(altered).unwrap();
    assert!(matches!(
        run.deliver(&altered, json!({})),
        Err(CallbackError::Token(_))
    ));
    assert_eq!(run.state(), State::Callback);

    run.callback(json!({}));
    assert_eq!(run.state(), State::Success);
    assert!(matches!(
        run.deliver(token, json!({})),
        Err(CallbackError::NotWaiting {
            state: Some(State::Success)
        })
    ));
}

#[test]
fn the_runner_reports_failures_and_finish_notifications() {
    let runner = TestRunner::<Scripted>::new();
    let context =
        json!({"plugin_callback_info": {"url": "https://caller.invalid/cb", "data": {"node": 1}}});

    let sync = runner.invoke(inputs(&["fail"]), context.clone());
    assert_eq!(sync.state(), State::Fail);
    assert_eq!(sync.err(), Some("plugin execute failed: failed at run 1"));
    assert_eq!(sync.last().outputs, None);
    assert!(
        sync.notifications().is_empty(),
        "no notification from invoke"
    );

    let mut resumed = runner.invoke(inputs(&["poll:5", "fail"]), context);
    assert!(resumed.notifications().is_empty(), "not finished");
    resumed.finish();
    assert_eq!(resumed.state(), State::Fail);
    assert_eq!(
        resumed.err(),
        Some("plugin schedule failed: failed at run 2")
    );
    let sent = resumed.notifications();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].trace_id, resumed.trace_id());
    assert_eq!(sent[0].url, "https://caller.invalid/cb");
    assert_eq!(sent[0].data, json!({"node": 1}));
}
