//! Cancel (docs/engine.md, "Cancel"): a caller or an operator ends a waiting invocation as
//! FAIL with `err` naming who cancelled; the plugin's `on_cancel` cleans up first, bounded in
//! time; the finish notification is sent; a later callback is refused as for a finished
//! invocation. Cancelling is idempotent, refused for versions that do not allow it, and
//! durable: recorded before it is carried out, and carried out after a step that was running
//! meanwhile. Virtual clock, every store.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bk_plugin_engine::testing::TestRunner;
use bk_plugin_engine::{CallbackError, CancelError, Cancelled, new_callback_id};
use bk_plugin_kit::prelude::*;
use bk_plugin_kit::serde_json::{Value, json};
use bk_plugin_tests::rig::{Rig, test_config};
use bk_plugin_tests::stores::{each_store, each_store_multi_thread};
use tokio::sync::Semaphore;

#[derive(ContextInputs)]
pub struct Caller {
    pub plugin_callback_info: Option<PluginCallbackInfo>,
}

#[derive(Inputs)]
pub struct Job {
    /// What the job waits with: `poll` or `callback`.
    #[field(default = "poll")]
    pub wait: String,
    /// What `on_cancel` does: `revoke`, `fail`, `panic` or `hang`.
    #[field(default = "revoke")]
    pub on_cancel: String,
    /// Whether resumes wait on [`GATE`] (to cancel while a step runs).
    #[field(default = false)]
    pub gated: bool,
}

/// Resumes wait here when `gated`: a test adds permits to let them end.
static GATE: Semaphore = Semaphore::const_new(0);

/// Gated resumes that reached the gate.
static AT_GATE: AtomicUsize = AtomicUsize::new(0);

/// Starts a "task" and waits for it forever; `on_cancel` revokes it. Cancellable.
#[plugin(version = "7.0.0", cancellable, enable_plugin_callback = true)]
pub struct Job7;

impl Plugin for Job7 {
    type Inputs = Job;
    type ContextInputs = Caller;
    type Outputs = ();

    async fn execute(&self, job: Job, ctx: &mut Context<Self>) -> Result<(), PluginError> {
        if ctx.invoke_count() == 1 {
            ctx.storage_mut().insert("task_id".into(), 42.into());
        } else if job.gated {
            AT_GATE.fetch_add(1, Ordering::SeqCst);
            GATE.acquire().await.expect("open").forget();
        }
        let runs = ctx.invoke_count();
        ctx.outputs_mut().insert("runs".into(), runs.into());
        match job.wait.as_str() {
            "callback" => ctx.wait_callback(),
            _ => ctx.wait_poll(Duration::from_secs(60)),
        }
        Ok(())
    }

    async fn on_cancel(
        &self,
        job: Job,
        cancel: &Cancellation,
        ctx: &mut Context<Self>,
    ) -> Result<(), PluginError> {
        match job.on_cancel.as_str() {
            "fail" => return Err(PluginError::new("the task service said no")),
            "panic" => panic!("revoke exploded"),
            "hang" => tokio::time::sleep(Duration::from_secs(30)).await,
            _ => {}
        }
        let task = ctx.storage()["task_id"].clone();
        let revoked = json!({"task": task, "because": cancel.to_string()});
        ctx.storage_mut().insert("revoked".into(), revoked);
        Ok(())
    }
}

/// Polls forever; not cancellable by callers.
#[plugin(version = "7.1.0")]
pub struct Locked;

impl Plugin for Locked {
    type Inputs = ();
    type ContextInputs = ();
    type Outputs = ();

    async fn execute(&self, _: (), ctx: &mut Context<Self>) -> Result<(), PluginError> {
        ctx.wait_poll(Duration::from_secs(60));
        Ok(())
    }
}

const URL: &str = "https://sops.example.invalid/callback/node/n1/";

fn context() -> Value {
    json!({"plugin_callback_info": {"url": URL, "data": {"node": "n1"}}})
}

fn by_sops() -> Cancellation {
    Cancellation::new("bk_sops (user admin)", Some("task revoked in SOPS".into()))
}

const SOPS_ERR: &str =
    "plugin schedule failed: cancelled by bk_sops (user admin): task revoked in SOPS";

async fn invoke(rig: &Rig, version: &str, inputs: Value) -> String {
    let first = rig.engine.invoke(version, inputs, context()).await.unwrap();
    assert!(
        matches!(first.state, State::Poll | State::Callback),
        "{first:?}"
    );
    first.trace_id
}

fn finished(c: Cancelled) -> bk_plugin_engine::store::ScheduleRecord {
    match c {
        Cancelled::Finished(r) => r,
        other => panic!("expected the invocation finished: {other:?}"),
    }
}

#[test]
fn cancelling_a_polling_invocation_runs_on_cancel_then_fails_it_and_notifies() {
    each_store(|_, store| async move {
        let rig = Rig::new(store);
        let trace = invoke(&rig, "7.0.0", json!({})).await;
        let r = finished(rig.engine.cancel(&trace, by_sops()).await.unwrap());
        assert_eq!(r.state, State::Fail);
        assert_eq!(r.err, SOPS_ERR);
        assert_eq!(r.invoke_count, 2, "on_cancel is a run");
        assert_eq!(
            r.storage["revoked"],
            json!({"task": 42, "because": "cancelled by bk_sops (user admin): task revoked in SOPS"})
        );
        assert_eq!(r.cancel, Some(by_sops()), "who cancelled stays on the row");
        assert_eq!(rig.record(&trace).await.state, State::Fail);
        assert_eq!(rig.deliver_notifications().await, 1);
        let sent = rig.notifier.delivered();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].url, URL);
        // Nothing left to run.
        rig.advance(Duration::from_secs(3600));
        assert_eq!(rig.run_due().await, 0);
    });
}

#[test]
fn a_cancelled_callback_wait_refuses_its_callback_and_drops_the_inbox() {
    each_store(|_, store| async move {
        let rig = Rig::new(store);
        let trace = invoke(&rig, "7.0.0", json!({"wait": "callback"})).await;
        let r = finished(rig.engine.cancel(&trace, by_sops()).await.unwrap());
        assert_eq!((r.state, r.err.as_str()), (State::Fail, SOPS_ERR));
        let late = rig
            .engine
            .deliver_callback(&trace, &new_callback_id(1), json!({"ok": true}))
            .await;
        assert!(
            matches!(
                late,
                Err(CallbackError::NotWaiting {
                    state: Some(State::Fail)
                })
            ),
            "{late:?}"
        );
        assert_eq!(rig.run_due().await, 0);
    });
}

#[test]
fn cancelling_again_or_after_the_end_answers_how_it_ended() {
    each_store(|_, store| async move {
        let rig = Rig::new(store);
        let trace = invoke(&rig, "7.0.0", json!({})).await;
        finished(rig.engine.cancel(&trace, by_sops()).await.unwrap());
        let again = Cancellation::new("bk_itsm (user bob)", None);
        let r = finished(rig.engine.cancel(&trace, again).await.unwrap());
        assert_eq!(r.err, SOPS_ERR, "the first cancellation stands");
        assert_eq!(rig.deliver_notifications().await, 1, "one notification");
        let missing = rig.engine.cancel(&"0".repeat(32), by_sops()).await;
        assert!(
            matches!(missing, Err(CancelError::NotFound(_))),
            "{missing:?}"
        );
    });
}

#[test]
fn versions_that_do_not_allow_cancel_refuse_callers_but_not_operators() {
    each_store(|_, store| async move {
        let rig = Rig::new(store.clone());
        let trace = invoke(&rig, "7.1.0", json!({})).await;
        let refused = rig.engine.cancel(&trace, by_sops()).await;
        match refused {
            Err(e @ CancelError::NotAllowed(_)) => assert_eq!(
                e.to_string(),
                "plugin version 7.1.0 does not allow cancel; declare it `#[plugin(.., cancellable)]` or set BK_PLUGIN_ALLOW_CANCEL=true"
            ),
            other => panic!("{other:?}"),
        }
        assert_eq!(rig.record(&trace).await.state, State::Poll, "untouched");
        assert_eq!(rig.record(&trace).await.cancel, None);

        // Allowed for every version by the server's configuration.
        let mut config = test_config();
        config.allow_cancel = true;
        let open = Rig::with_config(store, config);
        assert!(open.engine.may_cancel("7.1.0"));
        let other = invoke(&open, "7.1.0", json!({})).await;
        let r = finished(open.engine.cancel(&other, by_sops()).await.unwrap());
        assert_eq!(r.err, SOPS_ERR);

        // An operator needs no permission.
        let op = Cancellation::new("operator", Some("stuck since Monday".into()));
        let r = finished(rig.engine.fail_waiting(&trace, op).await.unwrap());
        assert_eq!(
            r.err,
            "plugin schedule failed: cancelled by operator: stuck since Monday"
        );
    });
}

#[test]
fn a_failing_panicking_or_hanging_on_cancel_still_fails_the_invocation() {
    let mut config = test_config();
    config.cancel_timeout = Duration::from_millis(100);
    each_store(move |_, store| {
        let config = config.clone();
        async move {
            let rig = Rig::with_config(store, config);
            for (mode, why) in [
                ("fail", "on_cancel failed: the task service said no"),
                (
                    "panic",
                    "on_cancel failed: plugin panicked: revoke exploded",
                ),
                (
                    "hang",
                    "on_cancel failed: on_cancel did not return within 0.1 s",
                ),
            ] {
                let trace = invoke(&rig, "7.0.0", json!({"on_cancel": mode})).await;
                let r = finished(rig.engine.cancel(&trace, by_sops()).await.unwrap());
                assert_eq!(r.state, State::Fail, "{mode}");
                assert_eq!(r.err, format!("{SOPS_ERR} ({why})"), "{mode}");
                assert!(
                    !r.storage.contains_key("revoked"),
                    "{mode}: a failed on_cancel keeps nothing"
                );
                assert_eq!(r.storage["task_id"], 42, "{mode}: the data it started with");
            }
        }
    });
}

#[test]
fn a_cancellation_recorded_before_a_crash_is_carried_out_by_the_next_engine() {
    each_store(|_, store| async move {
        let rig = Rig::new(store.clone());
        let trace = invoke(&rig, "7.0.0", json!({})).await;
        // What a crash right after recording leaves: the row, cancelled and due.
        let r = store
            .request_cancel(&trace, &by_sops())
            .await
            .unwrap()
            .unwrap();
        assert_eq!((r.state, r.cancel.clone()), (State::Poll, Some(by_sops())));
        assert_eq!(r.next_run_at, Some(r.created_at), "due at once");
        let restarted = rig.another_engine();
        assert_eq!(restarted.run_due().await.unwrap(), 1);
        let r = rig.record(&trace).await;
        assert_eq!((r.state, r.err.as_str()), (State::Fail, SOPS_ERR));
        assert_eq!(r.storage["revoked"]["task"], 42);
    });
}

#[test]
fn a_cancellation_during_a_running_step_follows_that_step() {
    each_store_multi_thread(2, |_, store| async move {
        let rig = Rig::new(store.clone());
        let trace = invoke(&rig, "7.0.0", json!({"gated": true})).await;
        rig.advance(Duration::from_secs(60));
        // The resume runs (and blocks at the gate) in one engine ...
        let arrived = AT_GATE.load(Ordering::SeqCst);
        let worker = rig.engine.clone();
        let step = tokio::spawn(async move { worker.run_due().await.unwrap() });
        while AT_GATE.load(Ordering::SeqCst) == arrived {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // ... while a caller cancels through another (a second replica).
        let other = rig.another_engine();
        let r = match other.cancel(&trace, by_sops()).await.unwrap() {
            Cancelled::Pending(r) => r,
            done => panic!("the step is still running: {done:?}"),
        };
        assert_eq!((r.state, r.cancel.clone()), (State::Poll, Some(by_sops())));
        // The step ends (POLL in 60 s) and is stored, and the row stays due at once: the
        // same worker carries out the cancellation next.
        GATE.add_permits(1);
        assert_eq!(step.await.unwrap(), 2, "the step, then the cancellation");
        let r = rig.record(&trace).await;
        assert_eq!((r.state, r.err.as_str()), (State::Fail, SOPS_ERR));
        assert_eq!(r.outputs["runs"], 2, "the step that ran is kept");
        assert_eq!(r.invoke_count, 3);
        assert_eq!(r.storage["revoked"]["task"], 42);
    });
}

#[test]
fn the_test_runner_cancels_like_a_caller() {
    let runner = TestRunner::<Job7>::new();
    let mut run = runner.invoke(json!({}), context());
    assert_eq!(run.state(), State::Poll);
    let step = run.cancel(by_sops()).clone();
    assert_eq!(step.state, State::Fail);
    assert_eq!(step.err.as_deref(), Some(SOPS_ERR));
    assert_eq!(run.storage()["revoked"]["task"], 42);
    assert_eq!(run.notifications().len(), 1);
}

#[test]
fn the_store_keeps_the_first_cancellation_and_leaves_finished_rows_alone() {
    each_store(|_, store| async move {
        let rig = Rig::new(store.clone());
        let trace = invoke(&rig, "7.0.0", json!({})).await;
        let second = Cancellation::new("someone else", None);
        store.request_cancel(&trace, &by_sops()).await.unwrap();
        let r = store
            .request_cancel(&trace, &second)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(r.cancel, Some(by_sops()));
        assert!(
            store
                .request_cancel("nope", &second)
                .await
                .unwrap()
                .is_none()
        );
        rig.run_due().await;
        let done = store
            .request_cancel(&trace, &second)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(done.state, State::Fail);
        assert!(
            done.next_run_at.is_none(),
            "a finished row is left as it is"
        );
    });
}
