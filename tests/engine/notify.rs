//! Plugin-finish notifications (protocol.md §5, and §8 "always send the finish callback on
//! every terminal transition"): when they are sent, to whom, how often, and their retries.
//! Every case runs against every store of `bk_plugin_tests::stores`.

use std::time::Duration;

use bk_plugin_engine::store::ScheduleRecord;
use bk_plugin_engine::{EngineConfig, Timestamp, new_callback_id, new_id};
use bk_plugin_kit::Wait;
use bk_plugin_kit::prelude::*;
use bk_plugin_kit::serde_json::{Map, Value, json};
use bk_plugin_tests::rig::{Attempt, Rig, test_config};
use bk_plugin_tests::stores::each_store;

const NOTIFYING: &str = "5.0.0";
const QUIET: &str = "5.1.0";

/// What to do in each run: `steps[invoke_count - 1]` (default `success`).
#[derive(Inputs)]
pub struct Script {
    pub steps: Vec<String>,
}

#[derive(ContextInputs)]
pub struct CallerContext {
    pub executor: String,
    pub plugin_callback_info: PluginCallbackInfo,
}

#[derive(ContextInputs)]
pub struct QuietContext {
    pub executor: String,
    pub plugin_callback_info: Option<PluginCallbackInfo>,
}

/// The step for run `n`: how to wait, or finish.
fn step(steps: &[String], n: u32) -> Result<Option<Wait>, PluginError> {
    match steps.get(n as usize - 1).map_or("success", String::as_str) {
        "success" => Ok(None),
        "fail" => Err(PluginError::new(format!("failed at run {n}"))),
        "unexpected" => Err(std::io::Error::other("disk on fire").into()),
        "panic" => panic!("boom at run {n}"),
        "callback" => Ok(Some(Wait::Callback)),
        poll => {
            let secs = poll
                .strip_prefix("poll:")
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("bad step {poll:?}"));
            Ok(Some(Wait::Poll(Duration::from_secs(secs))))
        }
    }
}

fn follow<P: Plugin>(ctx: &mut Context<P>, steps: &[String]) -> Result<(), PluginError> {
    match step(steps, ctx.invoke_count())? {
        Some(Wait::Poll(d)) => ctx.wait_poll(d),
        Some(Wait::Callback) => ctx.wait_callback(),
        None => {}
    }
    Ok(())
}

/// Follows its script; reports its end to the caller.
#[plugin(version = "5.0.0", enable_plugin_callback = true)]
pub struct Notifying;

impl Plugin for Notifying {
    type Inputs = Script;
    type ContextInputs = CallerContext;
    type Outputs = ();

    async fn execute(&self, inputs: Script, ctx: &mut Context<Self>) -> Result<(), PluginError> {
        let n = ctx.invoke_count();
        ctx.outputs_mut().insert("last_run".into(), n.into());
        follow(ctx, &inputs.steps)
    }
}

/// Follows its script; accepts `plugin_callback_info` but does not enable finish callbacks.
#[plugin(version = "5.1.0")]
pub struct Quiet;

impl Plugin for Quiet {
    type Inputs = Script;
    type ContextInputs = QuietContext;
    type Outputs = ();

    async fn execute(&self, inputs: Script, ctx: &mut Context<Self>) -> Result<(), PluginError> {
        follow(ctx, &inputs.steps)
    }
}

const CALLER_URL: &str = "https://sops.example.invalid/callback/node/n1/";

fn caller_data() -> Value {
    json!({"node_id": "n1", "version": "v2", "extra": [1, {"a": null}]})
}

fn context() -> Value {
    json!({
        "executor": "admin",
        "plugin_callback_info": {"url": CALLER_URL, "data": caller_data()},
    })
}

async fn invoke(rig: &Rig, version: &str, steps: &[&str]) -> String {
    let first = rig
        .engine
        .invoke(version, json!({ "steps": steps }), context())
        .await
        .unwrap();
    assert!(
        matches!(first.state, State::Poll | State::Callback),
        "{first:?}"
    );
    first.trace_id
}

fn assert_one_notification(attempts: &[Attempt]) {
    assert_eq!(attempts.len(), 1, "{attempts:?}");
    assert_eq!(attempts[0].url, CALLER_URL);
    assert_eq!(attempts[0].data, caller_data());
    assert!(attempts[0].accepted);
}

/// Runs the due notifications twice (the second must find nothing) and returns every
/// attempt.
async fn notifications(rig: &Rig) -> Vec<Attempt> {
    let sent = rig.deliver_notifications().await;
    assert_eq!(rig.deliver_notifications().await, 0, "nothing left to send");
    let attempts = rig.notifier.attempts();
    assert_eq!(sent, attempts.len());
    attempts
}

#[test]
fn a_resumed_invocation_ending_in_success_notifies_the_caller_once() {
    each_store(|_, store| async move {
        let rig = Rig::new(store);
        let trace = invoke(&rig, NOTIFYING, &["poll:5", "success"]).await;
        assert!(notifications(&rig).await.is_empty(), "not finished yet");
        rig.notifier.watch(rig.dyn_store.clone(), &trace);

        rig.advance(Duration::from_secs(5));
        assert_eq!(rig.run_due().await, 1);
        assert_eq!(rig.record(&trace).await.state, State::Success);
        let attempts = notifications(&rig).await;
        assert_one_notification(&attempts);
        assert_eq!(
            attempts[0].watched_state,
            Some(State::Success),
            "sent after the row was updated"
        );
        assert_eq!(rig.counts().await.notifications, 0);

        // Later scans send nothing more.
        rig.advance(Duration::from_secs(3600));
        assert_eq!(rig.run_due().await, 0);
        assert_eq!(rig.deliver_notifications().await, 0);
        assert_eq!(rig.notifier.attempts().len(), 1);
    });
}

#[test]
fn a_callback_round_ending_in_success_notifies_the_caller_once() {
    each_store(|_, store| async move {
        let rig = Rig::new(store);
        let trace = invoke(&rig, NOTIFYING, &["callback", "success"]).await;
        rig.engine
            .deliver_callback(&trace, &new_callback_id(1), json!({}))
            .await
            .unwrap();
        assert_eq!(rig.run_due().await, 1);
        assert_one_notification(&notifications(&rig).await);
    });
}

#[test]
fn a_resumed_invocation_ending_in_fail_notifies_the_caller_once() {
    each_store(|_, store| async move {
        let rig = Rig::new(store);
        for (how, err) in [
            ("fail", "plugin schedule failed: failed at run 2"),
            ("unexpected", "plugin schedule failed: disk on fire"),
            (
                "panic",
                "plugin schedule failed: plugin panicked: boom at run 2",
            ),
        ] {
            let trace = invoke(&rig, NOTIFYING, &["poll:1", how]).await;
            rig.advance(Duration::from_secs(1));
            assert_eq!(rig.run_due().await, 1);
            let row = rig.record(&trace).await;
            assert_eq!((row.state, row.err.as_str()), (State::Fail, err));
            let before = rig.notifier.attempts().len();
            assert_eq!(rig.deliver_notifications().await, 1, "{how}");
            assert_eq!(rig.deliver_notifications().await, 0, "{how}");
            assert_one_notification(&rig.notifier.attempts()[before..]);
        }
    });
}

#[test]
fn unfinished_rounds_send_no_notification() {
    each_store(|_, store| async move {
        let rig = Rig::new(store);
        let trace = invoke(
            &rig,
            NOTIFYING,
            &["poll:1", "callback", "poll:1", "success"],
        )
        .await;
        rig.advance(Duration::from_secs(1));
        assert_eq!(rig.run_due().await, 1);
        rig.engine
            .deliver_callback(&trace, &new_callback_id(2), json!({}))
            .await
            .unwrap();
        assert_eq!(rig.run_due().await, 1);
        assert!(notifications(&rig).await.is_empty());
        rig.advance(Duration::from_secs(1));
        assert_eq!(rig.run_due().await, 1);
        assert_one_notification(&notifications(&rig).await);
    });
}

#[test]
fn an_invocation_finished_in_invoke_sends_no_notification() {
    each_store(|_, store| async move {
        let rig = Rig::new(store);
        for steps in [["success"], ["fail"], ["unexpected"]] {
            let done = rig
                .engine
                .invoke(NOTIFYING, json!({ "steps": steps }), context())
                .await
                .unwrap();
            assert!(done.state.is_finished());
        }
        // Invalid inputs: FAIL in invoke, also not reported through the callback.
        let invalid = rig
            .engine
            .invoke(NOTIFYING, json!({"steps": 1}), context())
            .await
            .unwrap();
        assert_eq!(invalid.state, State::Fail);
        assert!(notifications(&rig).await.is_empty());
        assert_eq!(rig.counts().await.notifications, 0);
    });
}

#[test]
fn a_plugin_without_enable_plugin_callback_sends_no_notification() {
    each_store(|_, store| async move {
        let rig = Rig::new(store);
        let ok = invoke(&rig, QUIET, &["poll:1", "success"]).await;
        let failed = invoke(&rig, QUIET, &["poll:1", "fail"]).await;
        rig.advance(Duration::from_secs(1));
        assert_eq!(rig.run_due().await, 2);
        assert_eq!(rig.record(&ok).await.state, State::Success);
        assert_eq!(rig.record(&failed).await.state, State::Fail);
        assert!(notifications(&rig).await.is_empty());
    });
}

fn retry_config(attempts: u32) -> EngineConfig {
    let mut config = test_config();
    config.notify_attempts = attempts;
    config.notify_backoff = Duration::from_secs(1);
    config.notify_backoff_max = Duration::from_secs(4);
    config
}

/// Finishes one invocation at the rig's current time; returns when it finished.
async fn finish_one(rig: &Rig) -> Timestamp {
    invoke(rig, NOTIFYING, &["poll:0", "success"]).await;
    assert_eq!(rig.run_due().await, 1);
    rig.now()
}

/// Sends due notifications until `deadline`, moving the clock in 100 ms steps; returns the
/// attempt times relative to `start`, in ms.
async fn attempts_until(rig: &Rig, start: Timestamp, deadline: Duration) -> Vec<i64> {
    while rig.now() <= start.saturating_add(deadline) {
        rig.deliver_notifications().await;
        rig.advance(Duration::from_millis(100));
    }
    rig.notifier
        .attempts()
        .iter()
        .map(|a| a.at.as_millis() - start.as_millis())
        .collect()
}

#[test]
fn a_refused_notification_is_retried_with_backoff_until_accepted() {
    each_store(|_, store| async move {
        let rig = Rig::with_config(store, retry_config(8));
        rig.notifier.fail_next(3);
        let finished = finish_one(&rig).await;
        let at = attempts_until(&rig, finished, Duration::from_secs(60)).await;
        // Refused at 0, +1 s, +2 s (backoff 1 s, 2 s, 4 s): accepted at 7 s.
        assert_eq!(at, [0, 1000, 3000, 7000]);
        let accepted: Vec<bool> = rig.notifier.attempts().iter().map(|a| a.accepted).collect();
        assert_eq!(accepted, [false, false, false, true]);
        assert_eq!(rig.notifier.delivered().len(), 1);
        assert_eq!(rig.counts().await.notifications, 0);
    });
}

#[test]
fn a_refused_notification_is_not_resent_before_its_retry_time() {
    each_store(|_, store| async move {
        let rig = Rig::with_config(store, retry_config(8));
        rig.notifier.fail_next(1);
        finish_one(&rig).await;
        assert_eq!(rig.deliver_notifications().await, 1);
        assert_eq!(rig.deliver_notifications().await, 0, "not due yet");
        assert_eq!(rig.counts().await.notifications, 1, "kept for a retry");
        rig.advance(Duration::from_millis(999));
        assert_eq!(rig.deliver_notifications().await, 0, "not due yet");
        rig.advance(Duration::from_millis(1));
        assert_eq!(rig.deliver_notifications().await, 1);
        assert_eq!(rig.notifier.delivered().len(), 1);
    });
}

#[test]
fn a_notification_refused_every_time_gives_up_after_notify_attempts() {
    each_store(|_, store| async move {
        let rig = Rig::with_config(store, retry_config(6));
        rig.notifier.fail_next(u32::MAX);
        let finished = finish_one(&rig).await;
        let at = attempts_until(&rig, finished, Duration::from_secs(120)).await;
        // Backoff 1, 2, 4, then capped at notify_backoff_max = 4 s; 6 attempts in all.
        assert_eq!(at, [0, 1000, 3000, 7000, 11000, 15000]);
        assert!(rig.notifier.delivered().is_empty());
        assert_eq!(rig.counts().await.notifications, 0, "given up: dropped");
        rig.advance(Duration::from_secs(24 * 3600));
        assert_eq!(rig.deliver_notifications().await, 0);
        // The invocation's own state is not affected.
        assert_eq!(rig.counts().await.polling, 0);
    });
}

async fn create_row(rig: &Rig, version: &str, inputs: Value, context: Value) -> String {
    let trace = new_id();
    let now = rig.now();
    let record = ScheduleRecord::new(
        trace.clone(),
        version.to_owned(),
        State::Poll,
        inputs,
        context,
        now,
    )
    .with_data(
        Map::new(),
        json!({"before": 1}).as_object().unwrap().clone(),
    )
    .poll_at(now);
    rig.dyn_store.create(record).await.unwrap();
    trace
}

#[test]
fn stored_inputs_that_no_longer_validate_fail_the_resume_and_still_notify() {
    each_store(|_, store| async move {
        let rig = Rig::new(store);
        let trace = create_row(&rig, NOTIFYING, json!({"steps": "not a list"}), context()).await;
        assert_eq!(rig.run_due().await, 1);
        let row = rig.record(&trace).await;
        assert_eq!(row.state, State::Fail);
        assert_eq!(
            row.err,
            "inputs validation error: 1 validation error for Inputs\nsteps\n  value is not a valid list (type=type_error.list)"
        );
        assert_eq!(row.finish_at, Some(rig.now()));
        assert_eq!(row.invoke_count, 2);
        assert_eq!(row.outputs, *json!({"before": 1}).as_object().unwrap());
        assert_one_notification(&notifications(&rig).await);
    });
}

#[test]
fn a_stored_context_that_no_longer_validates_fails_the_resume_and_still_notifies() {
    each_store(|_, store| async move {
        let rig = Rig::new(store);
        let mut bad = context();
        bad.as_object_mut().unwrap().remove("executor");
        let trace = create_row(&rig, NOTIFYING, json!({"steps": []}), bad).await;
        assert_eq!(rig.run_due().await, 1);
        let row = rig.record(&trace).await;
        assert_eq!(row.state, State::Fail);
        assert!(
            row.err.starts_with("context validation error: "),
            "{}",
            row.err
        );
        assert!(row.finish_at.is_some());
        assert_one_notification(&notifications(&rig).await);
    });
}

#[test]
fn a_row_of_a_version_not_served_fails_and_notifies() {
    each_store(|_, store| async move {
        let rig = Rig::new(store);
        let trace = create_row(&rig, "99.0.0", json!({}), context()).await;
        rig.advance(Duration::from_secs(2));
        assert_eq!(rig.run_due().await, 1);
        let row = rig.record(&trace).await;
        assert_eq!(row.state, State::Fail);
        assert_eq!(
            row.err,
            "plugin schedule failed: plugin version 99.0.0 is not served by this binary"
        );
        assert_eq!(row.finish_at, Some(rig.now()));
        assert_eq!(row.invoke_count, 2);
        assert_eq!(row.outputs, *json!({"before": 1}).as_object().unwrap());
        assert_one_notification(&notifications(&rig).await);
        assert_eq!(rig.run_due().await, 0);
    });
}

#[test]
fn a_callback_row_of_a_version_not_served_fails_and_notifies() {
    each_store(|_, store| async move {
        let rig = Rig::new(store);
        let trace = new_id();
        let now = rig.now();
        let record = ScheduleRecord::new(
            trace.clone(),
            "99.0.1".to_owned(),
            State::Callback,
            json!({}),
            context(),
            now,
        );
        rig.dyn_store.create(record).await.unwrap();
        assert_eq!(rig.run_due().await, 0, "waits for its callback");
        rig.engine
            .deliver_callback(&trace, &new_callback_id(1), json!({}))
            .await
            .unwrap();
        assert_eq!(rig.run_due().await, 1);
        let row = rig.record(&trace).await;
        assert_eq!(row.state, State::Fail);
        assert!(row.finish_at.is_some());
        assert_one_notification(&notifications(&rig).await);
    });
}

#[test]
fn a_pending_notification_survives_a_restart_on_the_same_sqlite_file() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir =
            std::env::temp_dir().join(format!("bk-plugin-notify-restart-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.db");

        // First process: the invocation finishes, the caller refuses the notification.
        let store = bk_plugin_store::SqliteStore::open(&path).await.unwrap();
        let rig = Rig::new(std::sync::Arc::new(store.clone()));
        rig.notifier.fail_next(1);
        let trace = invoke(&rig, NOTIFYING, &["poll:5", "success"]).await;
        rig.advance(Duration::from_secs(5));
        assert_eq!(rig.run_due().await, 1);
        assert_eq!(rig.deliver_notifications().await, 1);
        assert!(!rig.notifier.attempts()[0].accepted);
        drop(rig);
        store.close().await;

        // Second process on the same file, after the retry time: it is delivered.
        let store = bk_plugin_store::SqliteStore::open(&path).await.unwrap();
        let rig = Rig::new(std::sync::Arc::new(store));
        assert_eq!(rig.record(&trace).await.state, State::Success);
        rig.advance(Duration::from_secs(3600));
        assert_one_notification(&notifications(&rig).await);
        let _ = std::fs::remove_dir_all(&dir);
    });
}
