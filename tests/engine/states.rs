//! The engine's state machine (protocol.md §4): every transition, what a resume sees and
//! keeps, validation, and the stored schedule after each step. Every case runs against every
//! store of `bk_plugin_tests::stores`.

use std::time::Duration;

use bk_plugin_engine::store::{PushOutcome, Store};
use bk_plugin_engine::{CallbackError, Invoked, new_callback_id, new_id};
use bk_plugin_kit::prelude::*;
use bk_plugin_kit::serde_json::{Value, json};
use bk_plugin_tests::rig::{EPOCH, Rig};
use bk_plugin_tests::stores::each_store;

const SCRIPTED: &str = "3.0.0";
const TYPED: &str = "3.1.0";

/// What to do in each run: `steps[invoke_count - 1]` (default `success`).
#[derive(Inputs)]
pub struct Script {
    pub steps: Vec<String>,
}

/// Follows its script. Every run appends its `invoke_count` to `storage.runs`, the state it
/// was given to `outputs.states`, the callback it was given to `outputs.callbacks`, and sets
/// `outputs.last_run`.
#[plugin(version = "3.0.0")]
pub struct Scripted;

impl Plugin for Scripted {
    type Inputs = Script;
    type ContextInputs = ();
    type Outputs = ();

    async fn execute(&self, inputs: Script, ctx: &mut Context<Self>) -> Result<(), PluginError> {
        let n = ctx.invoke_count();
        let state = ctx.state().code();
        let callback = ctx.callback().map(|c| json!({"id": c.id, "data": c.data}));
        push(ctx.storage_mut(), "runs", n.into());
        push(ctx.outputs_mut(), "states", state.into());
        if let Some(c) = callback {
            push(ctx.outputs_mut(), "callbacks", c);
        }
        ctx.outputs_mut().insert("last_run".into(), n.into());
        let step = inputs
            .steps
            .get(n as usize - 1)
            .map_or("success", String::as_str);
        match step {
            "success" => {}
            "fail" => return Err(PluginError::new(format!("failed at run {n}"))),
            "unexpected" => {
                return Err(std::io::Error::other(format!("disk on fire at run {n}")).into());
            }
            "panic" => panic!("boom at run {n}"),
            "callback" => ctx.wait_callback(),
            "poll_then_callback" => {
                ctx.wait_poll(Duration::from_secs(5));
                ctx.wait_callback();
            }
            "callback_then_poll" => {
                ctx.wait_callback();
                ctx.wait_poll(Duration::from_secs(7));
            }
            poll => {
                let secs = poll
                    .strip_prefix("poll:")
                    .and_then(|s| s.parse().ok())
                    .unwrap_or_else(|| panic!("bad step {poll:?}"));
                ctx.wait_poll(Duration::from_secs(secs));
            }
        }
        Ok(())
    }
}

fn push(map: &mut bk_plugin_kit::serde_json::Map<String, Value>, key: &str, v: Value) {
    match map.entry(key).or_insert_with(|| json!([])) {
        Value::Array(a) => a.push(v),
        other => panic!("{key} is not a list: {other}"),
    }
}

#[derive(Inputs)]
pub struct Options {
    pub name: String,
    pub value: String,
}

#[derive(Inputs)]
pub struct TypedInputs {
    pub count: i64,
    pub title: String,
    pub options: Options,
    #[field(default)]
    pub tags: Vec<i64>,
}

#[derive(ContextInputs)]
pub struct TypedContext {
    pub executor: String,
    pub biz_cc_id: i64,
}

/// Validates typed inputs and context, then succeeds.
#[plugin(version = "3.1.0")]
pub struct Typed;

impl Plugin for Typed {
    type Inputs = TypedInputs;
    type ContextInputs = TypedContext;
    type Outputs = ();

    async fn execute(&self, i: TypedInputs, ctx: &mut Context<Self>) -> Result<(), PluginError> {
        let executor = ctx.data().executor.clone();
        ctx.outputs_mut().insert("count".into(), i.count.into());
        ctx.outputs_mut().insert("executor".into(), executor.into());
        Ok(())
    }
}

async fn invoke(rig: &Rig, steps: &[&str]) -> Invoked {
    rig.engine
        .invoke(SCRIPTED, json!({ "steps": steps }), json!({}))
        .await
        .expect("served")
}

/// A callback id as the run that put `trace_id` in its current state would have issued it.
async fn current_callback_id(rig: &Rig, trace_id: &str) -> String {
    new_callback_id(rig.record(trace_id).await.invoke_count)
}

async fn callback(rig: &Rig, trace_id: &str, data: Value) -> String {
    let id = current_callback_id(rig, trace_id).await;
    deliver(rig, trace_id, id, data).await
}

/// Delivers a callback issued by run `round` (a later wait's callback may arrive before the
/// run that prepares it has stored its step: it is queued for that wait).
async fn callback_for(rig: &Rig, trace_id: &str, round: u32, data: Value) -> String {
    deliver(rig, trace_id, new_callback_id(round), data).await
}

async fn deliver(rig: &Rig, trace_id: &str, id: String, data: Value) -> String {
    rig.engine
        .deliver_callback(trace_id, &id, data)
        .await
        .expect("the schedule waits for a callback");
    id
}

fn obj(v: Value) -> bk_plugin_kit::serde_json::Map<String, Value> {
    match v {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

async fn assert_no_row(rig: &Rig, trace_id: &str) {
    assert_eq!(rig.try_record(trace_id).await, None);
}

// ---- 1. transitions ----

#[test]
fn empty_to_success_answers_the_outputs_and_stores_nothing() {
    each_store(|_, store| async move {
        let rig = Rig::new(store);
        let done = invoke(&rig, &["success"]).await;
        assert_eq!(done.state, State::Success);
        assert_eq!(done.err, None);
        assert_eq!(
            done.outputs,
            Some(obj(json!({"states": [1], "last_run": 1})))
        );
        assert_eq!(done.storage, obj(json!({"runs": [1]})));
        assert_eq!(done.trace_id.len(), 32);
        assert_no_row(&rig, &done.trace_id).await;
        assert_eq!(rig.store.calls("create"), 0);
    });
}

#[test]
fn empty_to_fail_answers_the_error_and_stores_nothing_and_the_engine_keeps_working() {
    // (step, the caller's `err`): a plugin error, an unexpected error, a panic.
    const CASES: [(&str, &str); 3] = [
        ("fail", "plugin execute failed: failed at run 1"),
        (
            "unexpected",
            "plugin execute raise unexpected error: disk on fire at run 1",
        ),
        (
            "panic",
            "plugin execute raise unexpected error: plugin panicked: boom at run 1",
        ),
    ];
    each_store(|_, store| async move {
        let rig = Rig::new(store);
        for (step, err) in CASES {
            let done = invoke(&rig, &[step]).await;
            assert_eq!(done.state, State::Fail, "{step}");
            assert_eq!(done.err.as_deref(), Some(err), "{step}");
            assert_eq!(done.outputs, None, "{step}");
            assert_no_row(&rig, &done.trace_id).await;

            // Still serving: a synchronous success, then a resumed invocation.
            assert_eq!(invoke(&rig, &["success"]).await.state, State::Success);
            let again = invoke(&rig, &["poll:0", "success"]).await;
            assert_eq!(again.state, State::Poll);
            assert_eq!(rig.run_due().await, 1, "{step}");
            assert_eq!(rig.record(&again.trace_id).await.state, State::Success);
        }
    });
}

#[test]
fn empty_to_poll_to_success_resumes_when_the_interval_has_passed() {
    each_store(|_, store| async move {
        let rig = Rig::new(store);
        let first = invoke(&rig, &["poll:60", "success"]).await;
        assert_eq!(first.state, State::Poll);
        assert_eq!(first.err, None);
        assert_eq!(
            first.outputs,
            Some(obj(json!({"states": [1], "last_run": 1})))
        );
        let row = rig.record(&first.trace_id).await;
        assert_eq!(row.state, State::Poll);
        assert_eq!(
            row.next_run_at,
            Some(EPOCH.saturating_add(Duration::from_secs(60)))
        );

        assert_eq!(rig.run_due().await, 0, "not due yet");
        rig.advance(Duration::from_secs(59));
        assert_eq!(rig.run_due().await, 0, "not due yet");
        rig.advance(Duration::from_secs(1));
        assert_eq!(rig.run_due().await, 1);

        let row = rig.record(&first.trace_id).await;
        assert_eq!(row.state, State::Success);
        assert_eq!(row.invoke_count, 2);
        assert_eq!(row.outputs["states"], json!([1, 2]), "resumed in POLL");
        assert_eq!(row.err, "");
        assert_eq!(rig.run_due().await, 0, "finished rows never run again");
    });
}

#[test]
fn empty_to_poll_to_fail_uses_the_schedule_prefix() {
    each_store(|_, store| async move {
        let rig = Rig::new(store);
        let first = invoke(&rig, &["poll:1", "fail"]).await;
        assert_eq!(first.state, State::Poll);
        rig.advance(Duration::from_secs(1));
        assert_eq!(rig.run_due().await, 1);
        let row = rig.record(&first.trace_id).await;
        assert_eq!(row.state, State::Fail);
        assert_eq!(row.err, "plugin schedule failed: failed at run 2");
        assert_eq!(row.invoke_count, 2);
        assert!(row.finish_at.is_some());
    });
}

#[test]
fn empty_to_callback_to_success_gives_the_run_the_callback() {
    each_store(|_, store| async move {
        let rig = Rig::new(store);
        let first = invoke(&rig, &["callback", "success"]).await;
        assert_eq!(first.state, State::Callback);
        assert_eq!(
            first.outputs,
            Some(obj(json!({"states": [1], "last_run": 1})))
        );
        let row = rig.record(&first.trace_id).await;
        assert_eq!((row.state, row.next_run_at), (State::Callback, None));

        rig.advance(Duration::from_secs(24 * 3600));
        assert_eq!(
            rig.run_due().await,
            0,
            "a CALLBACK row waits for its callback"
        );

        let id = callback(&rig, &first.trace_id, json!({"task_id": 7})).await;
        assert_eq!(rig.run_due().await, 1);
        let row = rig.record(&first.trace_id).await;
        assert_eq!(row.state, State::Success);
        assert_eq!(row.invoke_count, 2);
        assert_eq!(row.outputs["states"], json!([1, 3]), "resumed in CALLBACK");
        assert_eq!(
            row.outputs["callbacks"],
            json!([{"id": id, "data": {"task_id": 7}}])
        );
    });
}

#[test]
fn poll_callback_poll_success_chain() {
    each_store(|_, store| async move {
        let rig = Rig::new(store);
        let first = invoke(&rig, &["poll:10", "callback", "poll:10", "success"]).await;
        let trace = first.trace_id.as_str();
        assert_eq!(first.state, State::Poll);

        rig.advance(Duration::from_secs(10));
        assert_eq!(rig.run_due().await, 1);
        assert_eq!(rig.record(trace).await.state, State::Callback);
        rig.advance(Duration::from_secs(3600));
        assert_eq!(rig.run_due().await, 0);

        let id = callback(&rig, trace, json!({"n": 1})).await;
        assert_eq!(rig.run_due().await, 1);
        let row = rig.record(trace).await;
        assert_eq!(row.state, State::Poll);
        assert_eq!(
            row.next_run_at,
            Some(rig.now().saturating_add(Duration::from_secs(10)))
        );

        // A callback now finds the schedule polling.
        let late = rig
            .engine
            .deliver_callback(
                trace,
                &current_callback_id(&rig, trace).await,
                json!({"n": 2}),
            )
            .await;
        assert!(
            matches!(
                late,
                Err(CallbackError::NotWaiting {
                    state: Some(State::Poll)
                })
            ),
            "{late:?}"
        );

        rig.advance(Duration::from_secs(10));
        assert_eq!(rig.run_due().await, 1);
        let row = rig.record(trace).await;
        assert_eq!(row.state, State::Success);
        assert_eq!(row.invoke_count, 4);
        assert_eq!(row.outputs["states"], json!([1, 2, 3, 2]));
        assert_eq!(row.storage["runs"], json!([1, 2, 3, 4]));
        assert_eq!(
            row.outputs["callbacks"],
            json!([{"id": id, "data": {"n": 1}}])
        );
    });
}

#[test]
fn two_callbacks_are_processed_one_at_a_time_in_arrival_order() {
    each_store(|_, store| async move {
        let rig = Rig::new(store);
        let first = invoke(&rig, &["callback", "callback", "success"]).await;
        let trace = first.trace_id.as_str();
        // `a` for the first wait, `b` for the one the next run enters.
        let a = callback_for(&rig, trace, 1, json!({"which": "a"})).await;
        let b = callback_for(&rig, trace, 2, json!({"which": "b"})).await;
        assert_eq!(rig.counts().await.waiting_callback, 1);

        assert_eq!(rig.run_due().await, 2, "one run per callback");
        let row = rig.record(trace).await;
        assert_eq!(row.state, State::Success);
        assert_eq!(row.invoke_count, 3);
        assert_eq!(row.outputs["states"], json!([1, 3, 3]));
        assert_eq!(
            row.outputs["callbacks"],
            json!([
                {"id": a, "data": {"which": "a"}},
                {"id": b, "data": {"which": "b"}},
            ]),
            "each run got exactly one callback, oldest first"
        );
    });
}

#[test]
fn callbacks_queued_beyond_the_last_callback_round_are_dropped() {
    each_store(|_, store| async move {
        let rig = Rig::new(store);
        let first = invoke(&rig, &["callback", "callback", "success"]).await;
        let trace = first.trace_id.as_str();
        for (round, which) in [(1, "a"), (2, "b"), (2, "c")] {
            callback_for(&rig, trace, round, json!({ "which": which })).await;
        }
        assert_eq!(
            rig.run_due().await,
            2,
            "the third callback finds the run finished"
        );
        let row = rig.record(trace).await;
        assert_eq!((row.state, row.invoke_count), (State::Success, 3));
        assert_eq!(row.outputs["callbacks"].as_array().unwrap().len(), 2);
        assert_eq!(rig.run_due().await, 0);
    });
}

#[test]
fn wait_poll_then_wait_callback_in_one_run_ends_in_callback() {
    each_store(|_, store| async move {
        let rig = Rig::new(store);
        let first = invoke(
            &rig,
            &["poll_then_callback", "poll_then_callback", "success"],
        )
        .await;
        let trace = first.trace_id.as_str();
        assert_eq!(first.state, State::Callback);
        assert_eq!(rig.record(trace).await.next_run_at, None);
        rig.advance(Duration::from_secs(3600));
        assert_eq!(rig.run_due().await, 0, "the poll request was replaced");

        // Same on a resume.
        callback(&rig, trace, json!({})).await;
        assert_eq!(rig.run_due().await, 1);
        let row = rig.record(trace).await;
        assert_eq!((row.state, row.next_run_at), (State::Callback, None));
        rig.advance(Duration::from_secs(3600));
        assert_eq!(rig.run_due().await, 0);

        callback(&rig, trace, json!({})).await;
        assert_eq!(rig.run_due().await, 1);
        assert_eq!(rig.record(trace).await.state, State::Success);
    });
}

#[test]
fn wait_callback_then_wait_poll_in_one_run_ends_in_poll() {
    each_store(|_, store| async move {
        let rig = Rig::new(store);
        let first = invoke(
            &rig,
            &["callback_then_poll", "callback_then_poll", "success"],
        )
        .await;
        let trace = first.trace_id.as_str();
        assert_eq!(first.state, State::Poll);
        let row = rig.record(trace).await;
        assert_eq!(
            row.next_run_at,
            Some(EPOCH.saturating_add(Duration::from_secs(7)))
        );
        let refused = rig
            .engine
            .deliver_callback(trace, &current_callback_id(&rig, trace).await, json!({}))
            .await;
        assert!(
            matches!(
                refused,
                Err(CallbackError::NotWaiting {
                    state: Some(State::Poll)
                })
            ),
            "{refused:?}"
        );

        rig.advance(Duration::from_secs(7));
        assert_eq!(rig.run_due().await, 1);
        let row = rig.record(trace).await;
        assert_eq!(row.state, State::Poll, "same on a resume");
        assert_eq!(
            row.next_run_at,
            Some(rig.now().saturating_add(Duration::from_secs(7)))
        );

        rig.advance(Duration::from_secs(7));
        assert_eq!(rig.run_due().await, 1);
        let row = rig.record(trace).await;
        assert_eq!(row.state, State::Success);
        assert_eq!(row.outputs["states"], json!([1, 2, 2]));
    });
}

#[test]
fn wait_poll_zero_is_due_at_once() {
    each_store(|_, store| async move {
        let rig = Rig::new(store);
        let first = invoke(&rig, &["poll:0", "poll:0", "poll:0", "success"]).await;
        let trace = first.trace_id.as_str();
        assert_eq!(first.state, State::Poll);
        let row = rig.record(trace).await;
        assert_eq!(row.next_run_at, Some(EPOCH));
        // No time passes at all.
        assert_eq!(rig.run_due().await, 3);
        let row = rig.record(trace).await;
        assert_eq!((row.state, row.invoke_count), (State::Success, 4));
        assert_eq!(rig.now(), EPOCH);
    });
}

// ---- 2. what resumes see and keep ----

#[test]
fn invoke_count_increments_and_storage_and_outputs_carry_across_resumes() {
    each_store(|_, store| async move {
        let rig = Rig::new(store);
        let first = invoke(&rig, &["poll:1", "poll:1", "poll:1", "success"]).await;
        let trace = first.trace_id.as_str();
        assert_eq!(first.storage, obj(json!({"runs": [1]})));
        for n in 2..=4u32 {
            rig.advance(Duration::from_secs(1));
            assert_eq!(rig.run_due().await, 1);
            let row = rig.record(trace).await;
            assert_eq!(row.invoke_count, n);
            let runs: Vec<u32> = (1..=n).collect();
            assert_eq!(row.storage, obj(json!({ "runs": runs })), "run {n}");
            assert_eq!(row.outputs["last_run"], n, "run {n}");
            assert_eq!(row.outputs["states"].as_array().unwrap().len(), n as usize);
        }
        assert_eq!(rig.record(trace).await.state, State::Success);
    });
}

#[test]
fn an_unexpected_error_in_a_resume_discards_that_runs_changes() {
    each_store(|_, store| async move {
        let rig = Rig::new(store);
        let first = invoke(&rig, &["poll:1", "poll:1", "unexpected"]).await;
        let trace = first.trace_id.as_str();
        rig.advance(Duration::from_secs(1));
        rig.run_due().await;
        rig.advance(Duration::from_secs(1));
        assert_eq!(rig.run_due().await, 1);
        let row = rig.record(trace).await;
        assert_eq!(row.state, State::Fail);
        assert_eq!(row.err, "plugin schedule failed: disk on fire at run 3");
        assert_eq!(row.invoke_count, 3, "the count is saved in every case");
        assert_eq!(
            row.storage,
            obj(json!({"runs": [1, 2]})),
            "run 3's storage dropped"
        );
        assert_eq!(row.outputs["last_run"], 2, "run 3's outputs dropped");
        assert_eq!(row.outputs["states"], json!([1, 2]));
    });
}

#[test]
fn a_panic_in_a_resume_discards_that_runs_changes_and_the_engine_keeps_working() {
    each_store(|_, store| async move {
        let rig = Rig::new(store);
        let first = invoke(&rig, &["poll:1", "panic"]).await;
        let other = invoke(&rig, &["poll:1", "success"]).await;
        rig.advance(Duration::from_secs(1));
        assert_eq!(
            rig.run_due().await,
            2,
            "the panic does not stop the other run"
        );
        let row = rig.record(&first.trace_id).await;
        assert_eq!(row.state, State::Fail);
        assert_eq!(
            row.err,
            "plugin schedule failed: plugin panicked: boom at run 2"
        );
        assert_eq!(row.invoke_count, 2);
        assert_eq!(row.storage, obj(json!({"runs": [1]})));
        assert_eq!(row.outputs, obj(json!({"states": [1], "last_run": 1})));
        assert!(row.finish_at.is_some());
        assert_eq!(rig.record(&other.trace_id).await.state, State::Success);

        let later = invoke(&rig, &["poll:0", "success"]).await;
        assert_eq!(rig.run_due().await, 1);
        assert_eq!(rig.record(&later.trace_id).await.state, State::Success);
    });
}

#[test]
fn a_plugin_error_in_a_resume_keeps_that_runs_changes() {
    each_store(|_, store| async move {
        let rig = Rig::new(store);
        let first = invoke(&rig, &["poll:1", "fail"]).await;
        rig.advance(Duration::from_secs(1));
        assert_eq!(rig.run_due().await, 1);
        let row = rig.record(&first.trace_id).await;
        assert_eq!(row.state, State::Fail);
        assert_eq!(row.err, "plugin schedule failed: failed at run 2");
        assert_eq!(row.storage, obj(json!({"runs": [1, 2]})));
        assert_eq!(row.outputs, obj(json!({"states": [1, 2], "last_run": 2})));
    });
}

// ---- 3. validation and what invoke stores ----

#[test]
fn invalid_inputs_fail_with_every_field_error_and_its_path() {
    each_store(|_, store| async move {
        let rig = Rig::new(store);
        let done = rig
            .engine
            .invoke(
                TYPED,
                json!({"count": "abc", "options": {"name": ["x"]}, "tags": [1, "two"]}),
                json!({"executor": "admin", "biz_cc_id": 2}),
            )
            .await
            .unwrap();
        assert_eq!(done.state, State::Fail);
        assert_eq!(done.outputs, None);
        assert_eq!(
            done.err.as_deref(),
            Some(
                "inputs validation error: 5 validation errors for Inputs\n\
                 count\n  value is not a valid integer (type=type_error.integer)\n\
                 title\n  field required (type=value_error.missing)\n\
                 options -> name\n  str type expected (type=type_error.str)\n\
                 options -> value\n  field required (type=value_error.missing)\n\
                 tags -> 1\n  value is not a valid integer (type=type_error.integer)"
            )
        );
        assert_no_row(&rig, &done.trace_id).await;
    });
}

#[test]
fn invalid_context_fails_with_a_context_validation_error() {
    each_store(|_, store| async move {
        let rig = Rig::new(store);
        let inputs = json!({"count": "5", "title": "t", "options": {"name": "n", "value": "v"}});
        let done = rig
            .engine
            .invoke(TYPED, inputs.clone(), json!({"biz_cc_id": "x"}))
            .await
            .unwrap();
        assert_eq!(done.state, State::Fail);
        assert_eq!(done.outputs, None);
        assert_eq!(
            done.err.as_deref(),
            Some(
                "context validation error: 2 validation errors for ContextInputs\n\
                 executor\n  field required (type=value_error.missing)\n\
                 biz_cc_id\n  value is not a valid integer (type=type_error.integer)"
            )
        );
        assert_no_row(&rig, &done.trace_id).await;

        // The same inputs with a valid context (and lax coercion of "5").
        let ok = rig
            .engine
            .invoke(TYPED, inputs, json!({"executor": "admin", "biz_cc_id": 2}))
            .await
            .unwrap();
        assert_eq!(ok.state, State::Success);
        assert_eq!(
            ok.outputs,
            Some(obj(json!({"count": 5, "executor": "admin"})))
        );
    });
}

#[test]
fn an_unknown_version_is_an_error_and_stores_nothing() {
    each_store(|_, store| async move {
        let rig = Rig::new(store);
        let trace = new_id();
        let err = rig
            .engine
            .invoke_with_id(trace.clone(), "0.0.404", json!({}), json!({}))
            .await
            .unwrap_err();
        let bk_plugin_kit::engine::InvokeError::UnknownVersion(err) = err else {
            panic!("{err:?}");
        };
        assert_eq!(err.requested, "0.0.404");
        assert!(err.available.iter().any(|v| v == SCRIPTED), "{err}");
        assert_no_row(&rig, &trace).await;
        assert_eq!(rig.store.calls("create"), 0);
    });
}

#[test]
fn invocations_finished_in_invoke_create_no_schedule_row() {
    each_store(|_, store| async move {
        let rig = Rig::new(store);
        for steps in [["success"], ["fail"], ["unexpected"], ["panic"]] {
            let trace = new_id();
            let done = rig
                .engine
                .invoke_with_id(
                    trace.clone(),
                    SCRIPTED,
                    json!({ "steps": steps }),
                    json!({}),
                )
                .await
                .unwrap();
            assert_eq!(done.trace_id, trace);
            assert!(done.state.is_finished(), "{steps:?}");
            assert_no_row(&rig, &trace).await;
        }
        let invalid = rig
            .engine
            .invoke(SCRIPTED, json!({"steps": "nope"}), json!({}))
            .await
            .unwrap();
        assert_eq!(invalid.state, State::Fail);
        assert_no_row(&rig, &invalid.trace_id).await;
        assert_eq!(rig.store.calls("create"), 0);
        let counts = rig.counts().await;
        assert_eq!((counts.polling, counts.waiting_callback), (0, 0));
    });
}

#[test]
fn invoke_with_an_existing_trace_id_fails_without_touching_the_row() {
    each_store(|_, store| async move {
        let rig = Rig::new(store);
        let trace = new_id();
        let first = rig
            .engine
            .invoke_with_id(
                trace.clone(),
                SCRIPTED,
                json!({"steps": ["callback"]}),
                json!({}),
            )
            .await
            .unwrap();
        assert_eq!(first.state, State::Callback);
        let before = rig.record(&trace).await;
        let again = rig
            .engine
            .invoke_with_id(
                trace.clone(),
                SCRIPTED,
                json!({"steps": ["poll:1"]}),
                json!({}),
            )
            .await
            .unwrap();
        assert_eq!(again.state, State::Fail);
        assert_eq!(again.outputs, None);
        assert!(
            again
                .err
                .as_deref()
                .unwrap()
                .starts_with("schedule create error: "),
            "{:?}",
            again.err
        );
        assert_eq!(rig.record(&trace).await, before);
    });
}

// ---- 4. the schedule row after each step ----

#[test]
fn schedule_fields_after_each_step_until_fail() {
    each_store(|_, store| async move {
        let rig = Rig::new(store);
        let inputs = json!({"steps": ["poll:30", "callback", "fail"], "extra": "kept raw"});
        let context = json!({"executor": "admin"});
        let first = rig
            .engine
            .invoke(SCRIPTED, inputs.clone(), context.clone())
            .await
            .unwrap();
        let trace = first.trace_id.as_str();

        let row = rig.record(trace).await;
        assert_eq!(row.trace_id, trace);
        assert_eq!(row.plugin_version, SCRIPTED);
        assert_eq!(row.state, State::Poll);
        assert_eq!(row.outputs, obj(json!({"states": [1], "last_run": 1})));
        assert_eq!(row.storage, obj(json!({"runs": [1]})));
        assert_eq!(row.err, "");
        assert_eq!(row.created_at, EPOCH);
        assert_eq!(row.finish_at, None);
        assert_eq!(row.invoke_count, 1);
        assert_eq!(
            row.next_run_at,
            Some(EPOCH.saturating_add(Duration::from_secs(30)))
        );
        assert_eq!(row.inputs, inputs, "the caller's raw inputs");
        assert_eq!(row.context, context, "the caller's raw context");

        rig.advance(Duration::from_secs(30));
        rig.run_due().await;
        let row = rig.record(trace).await;
        assert_eq!(row.state, State::Callback);
        assert_eq!(row.outputs, obj(json!({"states": [1, 2], "last_run": 2})));
        assert_eq!(row.err, "");
        assert_eq!(row.created_at, EPOCH);
        assert_eq!(row.finish_at, None);
        assert_eq!(row.invoke_count, 2);
        assert_eq!(row.next_run_at, None);
        assert_eq!(row.plugin_version, SCRIPTED);

        rig.advance(Duration::from_secs(5));
        let id = callback(&rig, trace, json!({"ok": false})).await;
        rig.run_due().await;
        let row = rig.record(trace).await;
        assert_eq!(row.state, State::Fail);
        assert_eq!(row.err, "plugin schedule failed: failed at run 3");
        assert_eq!(
            row.outputs,
            obj(json!({
                "states": [1, 2, 3],
                "callbacks": [{"id": id, "data": {"ok": false}}],
                "last_run": 3,
            }))
        );
        assert_eq!(row.created_at, EPOCH);
        assert_eq!(
            row.finish_at,
            Some(EPOCH.saturating_add(Duration::from_secs(35)))
        );
        assert_eq!(row.invoke_count, 3);
        assert_eq!(row.next_run_at, None);
        assert_eq!((row.inputs, row.context), (inputs, context));
    });
}

#[test]
fn schedule_fields_after_success() {
    each_store(|_, store| async move {
        let rig = Rig::new(store);
        let first = invoke(&rig, &["callback", "success"]).await;
        let trace = first.trace_id.as_str();
        rig.advance(Duration::from_millis(1500));
        // Queued through the store itself (what the callback endpoint does after the token).
        let pushed = rig
            .store
            .push_callback(trace, &new_callback_id(1), json!(1), rig.now())
            .await;
        assert_eq!(pushed.unwrap(), PushOutcome::Queued);
        rig.run_due().await;
        let row = rig.record(trace).await;
        assert_eq!(row.state, State::Success);
        assert_eq!(row.err, "");
        assert_eq!(row.created_at, EPOCH);
        assert_eq!(
            row.finish_at,
            Some(EPOCH.saturating_add(Duration::from_millis(1500)))
        );
        assert_eq!(row.invoke_count, 2);
        assert_eq!(row.outputs["last_run"], 2);
        assert_eq!(row.next_run_at, None);
        let counts = rig.counts().await;
        assert_eq!((counts.polling, counts.waiting_callback), (0, 0));
    });
}

#[test]
fn finished_rows_are_purged_once_they_finished_before_the_cutoff() {
    each_store(|_, store| async move {
        let rig = Rig::new(store);
        let done = invoke(&rig, &["poll:1", "success"]).await;
        let waiting = invoke(&rig, &["callback"]).await;
        rig.advance(Duration::from_secs(1));
        assert_eq!(rig.run_due().await, 1);
        let finish_at = rig.record(&done.trace_id).await.finish_at.unwrap();

        assert_eq!(rig.dyn_store.purge_finished(EPOCH).await.unwrap(), 0);
        assert_eq!(rig.dyn_store.purge_finished(finish_at).await.unwrap(), 0);
        assert!(rig.try_record(&done.trace_id).await.is_some());
        let after = finish_at.saturating_add(Duration::from_millis(1));
        assert_eq!(rig.dyn_store.purge_finished(after).await.unwrap(), 1);
        assert_no_row(&rig, &done.trace_id).await;

        let far = finish_at.saturating_add(Duration::from_secs(10 * 365 * 24 * 3600));
        assert_eq!(rig.dyn_store.purge_finished(far).await.unwrap(), 0);
        assert_eq!(rig.record(&waiting.trace_id).await.state, State::Callback);
    });
}
