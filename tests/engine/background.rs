//! The engine's background loops (`Engine::start`): resuming polls on time with the real
//! clock, picking up rows written by another process, sending finish notifications, purging
//! old finished rows, and a graceful shutdown. Every case runs against every store of
//! `bk_plugin_tests::stores`.

use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use bk_plugin_engine::store::{ScheduleRecord, Store};
use bk_plugin_engine::{Engine, EngineConfig, SystemClock};
use bk_plugin_kit::prelude::*;
use bk_plugin_kit::registry;
use bk_plugin_kit::serde_json::{Value, json};
use bk_plugin_tests::rig::{RecordingNotifier, Rig, test_config};
use bk_plugin_tests::stores::each_store_multi_thread;

const BACKGROUND: &str = "11.0.0";

#[derive(Inputs)]
pub struct Script {
    /// Per run: `poll:<ms>`, `callback`, `sleep:<ms>` (sleep inside execute, then succeed)
    /// or `success`.
    pub steps: Vec<String>,
}

#[derive(ContextInputs)]
pub struct CallerContext {
    pub plugin_callback_info: Option<PluginCallbackInfo>,
}

/// Runs that entered a `sleep:` step, by trace id.
static SLEEPING: LazyLock<Mutex<Vec<String>>> = LazyLock::new(Default::default);

/// Follows its script (see [`Script`]); reports its end when the caller asks.
#[plugin(version = "11.0.0", enable_plugin_callback = true)]
pub struct Background;

impl Plugin for Background {
    type Inputs = Script;
    type ContextInputs = CallerContext;
    type Outputs = ();

    async fn execute(&self, inputs: Script, ctx: &mut Context<Self>) -> Result<(), PluginError> {
        let n = ctx.invoke_count();
        ctx.outputs_mut().insert("last_run".into(), n.into());
        let step = inputs
            .steps
            .get(n as usize - 1)
            .map_or("success", String::as_str);
        if step == "callback" {
            ctx.wait_callback();
        } else if let Some(ms) = step.strip_prefix("poll:") {
            ctx.wait_poll(Duration::from_millis(ms.parse().unwrap()));
        } else if let Some(ms) = step.strip_prefix("sleep:") {
            SLEEPING.lock().unwrap().push(ctx.trace_id().to_owned());
            tokio::time::sleep(Duration::from_millis(ms.parse().unwrap())).await;
            ctx.outputs_mut().insert("slept".into(), true.into());
        }
        Ok(())
    }
}

fn real_time_config() -> EngineConfig {
    let mut config = test_config();
    config.scan_interval = Duration::from_millis(100);
    config
}

fn engine(store: &Arc<dyn Store>, notifier: &Arc<RecordingNotifier>) -> Engine {
    Engine::builder(registry(), store.clone())
        .config(real_time_config())
        .notifier(notifier.clone())
        .build()
}

fn caller() -> Value {
    json!({"plugin_callback_info": {"url": "https://caller.invalid/done", "data": {"k": "v"}}})
}

/// Waits until `trace_id` is finished; panics after `limit`.
async fn until_finished(engine: &Engine, trace_id: &str, limit: Duration) -> ScheduleRecord {
    let started = Instant::now();
    loop {
        let row = engine.schedule(trace_id).await.unwrap().expect("a row");
        if row.state.is_finished() {
            return row;
        }
        assert!(
            started.elapsed() < limit,
            "{trace_id} unfinished after {limit:?}: {row:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn until<F: FnMut() -> bool>(what: &str, limit: Duration, mut done: F) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "{what}: not after {limit:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[test]
fn a_started_engine_resumes_polls_on_time_and_sends_the_finish_notification() {
    each_store_multi_thread(2, |_, store| async move {
        let notifier = Arc::new(RecordingNotifier::new(Arc::new(SystemClock)));
        let engine = engine(&store, &notifier);
        let handle = engine.start();

        let started = Instant::now();
        let first = engine
            .invoke(
                BACKGROUND,
                json!({"steps": ["poll:300", "poll:0", "success"]}),
                caller(),
            )
            .await
            .unwrap();
        assert_eq!(first.state, State::Poll);
        let row = until_finished(&engine, &first.trace_id, Duration::from_secs(5)).await;
        assert!(
            started.elapsed() >= Duration::from_millis(300),
            "resumed early"
        );
        assert_eq!((row.state, row.invoke_count), (State::Success, 3));

        until("the notification", Duration::from_secs(5), || {
            !notifier.attempts().is_empty()
        })
        .await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let attempts = notifier.attempts();
        assert_eq!(attempts.len(), 1, "{attempts:?}");
        assert_eq!(attempts[0].url, "https://caller.invalid/done");
        assert_eq!(attempts[0].data, json!({"k": "v"}));
        handle.shutdown().await;
    });
}

#[test]
fn a_started_engine_picks_up_rows_written_by_another_process() {
    each_store_multi_thread(2, |_, store| async move {
        let notifier = Arc::new(RecordingNotifier::new(Arc::new(SystemClock)));
        let worker = engine(&store, &notifier);
        let handle = worker.start();
        // Give the loop time to go to sleep with nothing to do.
        tokio::time::sleep(Duration::from_millis(150)).await;

        // Another process (an engine without loops) invokes: nothing wakes `worker`.
        let web = engine(&store, &notifier);
        let first = web
            .invoke(
                BACKGROUND,
                json!({"steps": ["poll:0", "success"]}),
                json!({}),
            )
            .await
            .unwrap();
        let row = until_finished(&web, &first.trace_id, Duration::from_secs(3)).await;
        assert_eq!((row.state, row.invoke_count), (State::Success, 2));
        handle.shutdown().await;
    });
}

#[test]
fn shutdown_waits_for_the_runs_in_progress_to_be_stored() {
    each_store_multi_thread(2, |_, store| async move {
        let notifier = Arc::new(RecordingNotifier::new(Arc::new(SystemClock)));
        let engine = engine(&store, &notifier);
        let handle = engine.start();
        let first = engine
            .invoke(
                BACKGROUND,
                json!({"steps": ["poll:0", "sleep:300"]}),
                json!({}),
            )
            .await
            .unwrap();
        let trace = first.trace_id.clone();
        until("the step to start", Duration::from_secs(3), || {
            SLEEPING.lock().unwrap().contains(&trace)
        })
        .await;

        let started = Instant::now();
        handle.shutdown().await;
        assert!(
            started.elapsed() >= Duration::from_millis(100),
            "did not wait"
        );
        let row = engine.schedule(&trace).await.unwrap().unwrap();
        assert_eq!((row.state, row.invoke_count), (State::Success, 2));
        assert_eq!(row.outputs["slept"], true);
    });
}

#[test]
fn a_started_engine_purges_finished_rows_after_the_retention() {
    each_store_multi_thread(2, |_, store| async move {
        let rig = Rig::new(store);
        let retention = rig.engine.config().retention;
        let finished = rig
            .engine
            .invoke(
                BACKGROUND,
                json!({"steps": ["poll:0", "success"]}),
                json!({}),
            )
            .await
            .unwrap();
        let waiting = rig
            .engine
            .invoke(BACKGROUND, json!({"steps": ["callback"]}), json!({}))
            .await
            .unwrap();
        assert_eq!(rig.run_due().await, 1);
        assert!(rig.record(&finished.trace_id).await.state.is_finished());

        rig.advance(retention + Duration::from_secs(1));
        let handle = rig.engine.start();
        let started = Instant::now();
        while rig.try_record(&finished.trace_id).await.is_some() {
            assert!(started.elapsed() < Duration::from_secs(3), "not purged");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        handle.shutdown().await;
        let kept = rig.record(&waiting.trace_id).await;
        assert_eq!(
            kept.state,
            State::Callback,
            "unfinished rows are never purged"
        );
    });
}
