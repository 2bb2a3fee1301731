//! Deadlines (docs/engine.md, "Deadlines"): a version's `#[plugin(timeout = ..)]` and a wait's
//! `wait_callback_for`. When one passes the invocation is FAIL with an `err` naming it, the
//! finish notification is sent and a later callback is refused as for a finished invocation;
//! the deadline is in the store, so a restarted engine keeps it. Virtual clock, every store.

use std::time::Duration;

use bk_plugin_engine::testing::TestRunner;
use bk_plugin_engine::{CallbackError, new_callback_id};
use bk_plugin_kit::prelude::*;
use bk_plugin_kit::serde_json::{Value, json};
use bk_plugin_tests::rig::Rig;
use bk_plugin_tests::stores::each_store;

const HOUR: Duration = Duration::from_secs(3600);

#[derive(ContextInputs)]
pub struct Caller {
    pub plugin_callback_info: Option<PluginCallbackInfo>,
}

/// Polls every 30 minutes forever, within a 2-hour timeout; notifies its caller.
#[plugin(version = "6.0.0", timeout = "2h", enable_plugin_callback = true)]
pub struct Slow;

impl Plugin for Slow {
    type Inputs = ();
    type ContextInputs = Caller;
    type Outputs = ();

    async fn execute(&self, _: (), ctx: &mut Context<Self>) -> Result<(), PluginError> {
        let n = ctx.invoke_count();
        ctx.outputs_mut().insert("runs".into(), n.into());
        ctx.wait_poll(HOUR / 2);
        Ok(())
    }
}

#[derive(Inputs)]
pub struct WaitFor {
    /// Seconds to wait for the callback.
    pub secs: u64,
}

/// Waits `secs` for one callback, then succeeds; a 3-hour version timeout; notifies.
#[plugin(version = "6.1.0", timeout = "3h", enable_plugin_callback = true)]
pub struct Impatient;

impl Plugin for Impatient {
    type Inputs = WaitFor;
    type ContextInputs = Caller;
    type Outputs = ();

    async fn execute(&self, i: WaitFor, ctx: &mut Context<Self>) -> Result<(), PluginError> {
        if ctx.callback().is_none() {
            ctx.wait_callback_for(Duration::from_secs(i.secs));
        }
        Ok(())
    }
}

const URL: &str = "https://sops.example.invalid/callback/node/n1/";

fn context() -> Value {
    json!({"plugin_callback_info": {"url": URL, "data": {"node": "n1"}}})
}

async fn invoke(rig: &Rig, version: &str, inputs: Value) -> String {
    let first = rig.engine.invoke(version, inputs, context()).await.unwrap();
    assert!(
        matches!(first.state, State::Poll | State::Callback),
        "{first:?}"
    );
    first.trace_id
}

/// Delivers a callback for the wait entered by run 1.
async fn call_back(rig: &Rig, trace: &str) -> Result<(), CallbackError> {
    rig.engine
        .deliver_callback(trace, &new_callback_id(1), json!({"done": true}))
        .await
}

#[test]
fn a_version_timeout_fails_a_polling_invocation_at_the_deadline() {
    each_store(|_, store| async move {
        let rig = Rig::new(store);
        let trace = invoke(&rig, "6.0.0", json!({})).await;
        // Polls at 0:30, 1:00, 1:30; the one due at 2:00 is the deadline.
        for _ in 0..3 {
            rig.advance(HOUR / 2);
            assert_eq!(rig.run_due().await, 1);
            assert_eq!(rig.record(&trace).await.state, State::Poll);
        }
        rig.advance(HOUR / 2 - Duration::from_secs(1));
        assert_eq!(rig.run_due().await, 0, "not yet");
        rig.advance(Duration::from_secs(1));
        assert_eq!(rig.run_due().await, 1);
        let r = rig.record(&trace).await;
        assert_eq!(r.state, State::Fail);
        assert_eq!(
            r.err,
            "plugin schedule failed: the invocation did not finish within 2h (the version's timeout)"
        );
        assert_eq!(r.invoke_count, 4, "the deadline is not a run");
        assert_eq!(r.outputs["runs"], 4);
        assert_eq!(rig.deliver_notifications().await, 1);
        assert_eq!(rig.notifier.delivered().len(), 1);
    });
}

#[test]
fn a_poll_due_after_the_version_deadline_is_moved_to_it() {
    each_store(|_, store| async move {
        let rig = Rig::new(store);
        let trace = invoke(&rig, "6.0.0", json!({})).await;
        let created = rig.record(&trace).await.created_at;
        for _ in 0..3 {
            rig.advance(HOUR / 2);
            rig.run_due().await;
        }
        // The next poll would be at 2:00 anyway; the deadline is exactly then.
        let r = rig.record(&trace).await;
        assert_eq!(r.next_run_at, Some(created.saturating_add(2 * HOUR)));
    });
}

#[test]
fn no_callback_within_the_wait_fails_the_invocation_and_a_late_callback_is_refused() {
    each_store(|_, store| async move {
        let rig = Rig::new(store);
        let trace = invoke(&rig, "6.1.0", json!({"secs": 3600})).await;
        // The schedule answer shows no err while waiting.
        let waiting = rig.engine.schedule(&trace).await.unwrap().unwrap();
        assert_eq!((waiting.state, waiting.err.as_str()), (State::Callback, ""));
        rig.advance(HOUR - Duration::from_secs(1));
        assert_eq!(rig.run_due().await, 0);
        rig.advance(Duration::from_secs(1));
        // A callback exactly at the deadline is too late.
        let late = call_back(&rig, &trace).await.unwrap_err();
        assert_eq!(
            late.to_string(),
            "callback fail,schedule plugin state[5]: is not callback"
        );
        assert_eq!(rig.run_due().await, 1);
        let r = rig.record(&trace).await;
        assert_eq!(r.state, State::Fail);
        assert_eq!(r.err, "plugin schedule failed: no callback within 1h");
        assert_eq!(rig.deliver_notifications().await, 1);
        // And after the FAIL, as for any finished invocation.
        let later = call_back(&rig, &trace).await.unwrap_err();
        assert!(matches!(
            later,
            CallbackError::NotWaiting {
                state: Some(State::Fail)
            }
        ));
    });
}

#[test]
fn a_callback_before_the_deadline_resumes_as_usual() {
    each_store(|_, store| async move {
        let rig = Rig::new(store);
        let trace = invoke(&rig, "6.1.0", json!({"secs": 3600})).await;
        rig.advance(HOUR / 2);
        call_back(&rig, &trace).await.unwrap();
        assert_eq!(rig.run_due().await, 1);
        assert_eq!(rig.record(&trace).await.state, State::Success);
        rig.advance(2 * HOUR);
        assert_eq!(rig.run_due().await, 0, "no deadline left behind");
    });
}

#[test]
fn the_version_timeout_wins_when_it_comes_before_the_wait_deadline() {
    each_store(|_, store| async move {
        let rig = Rig::new(store);
        let trace = invoke(&rig, "6.1.0", json!({"secs": 5 * 3600})).await;
        rig.advance(3 * HOUR);
        assert_eq!(rig.run_due().await, 1);
        let r = rig.record(&trace).await;
        assert_eq!(
            r.err,
            "plugin schedule failed: the invocation did not finish within 3h (the version's timeout)"
        );
    });
}

#[test]
fn a_deadline_survives_a_new_engine_on_the_same_store() {
    each_store(|_, store| async move {
        let rig = Rig::new(store);
        let trace = invoke(&rig, "6.1.0", json!({"secs": 60})).await;
        // Another engine (a restarted process) on the same store and clock.
        let other = rig.another_engine();
        rig.advance(Duration::from_secs(60));
        assert_eq!(other.run_due().await.unwrap(), 1);
        let r = rig.record(&trace).await;
        assert_eq!(r.state, State::Fail);
        assert_eq!(r.err, "plugin schedule failed: no callback within 1m");
    });
}

#[test]
fn the_test_runner_passes_deadlines_on_its_virtual_clock() {
    let runner = TestRunner::<Impatient>::new();
    let mut run = runner.invoke(json!({"secs": 7200}), context());
    assert_eq!(run.state(), State::Callback);
    let step = run.pass_deadline();
    assert_eq!(step.state, State::Fail);
    assert_eq!(
        run.err(),
        Some("plugin schedule failed: no callback within 2h")
    );
    assert_eq!(run.notifications().len(), 1);

    let runner = TestRunner::<Slow>::new();
    let mut run = runner.invoke(json!({}), context());
    run.finish();
    assert_eq!(run.states().last(), Some(&State::Fail));
    assert_eq!(
        run.err(),
        Some(
            "plugin schedule failed: the invocation did not finish within 2h (the version's timeout)"
        )
    );
}
