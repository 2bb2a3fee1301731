//! Concurrency (protocol.md §8: the Python poll task takes no lock, so duplicate deliveries
//! can run `execute` twice at once): two engines (as two processes) share one store, run
//! their background loops on a multi-thread runtime with the real clock, while many tasks
//! fire callbacks and extra `run_due` resumes at the same invocations. No invocation may ever
//! run twice at once, and every step must run exactly once. Runs against every store of
//! `bk_plugin_tests::stores`.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use bk_plugin_engine::testing::token_of;
use bk_plugin_engine::{CallbackError, CallbackKey, CallbackSigner, Engine, EngineConfig};
use bk_plugin_kit::prelude::*;
use bk_plugin_kit::registry;
use bk_plugin_kit::serde_json::json;
use bk_plugin_tests::stores::each_store_multi_thread;

const STRESS: &str = "7.0.0";
const INVOCATIONS: usize = 200;
const HAMMERS: usize = 16;
const LIMIT: Duration = Duration::from_secs(30);

/// Runs of `execute`, by (trace id, invoke_count).
static EXECUTIONS: LazyLock<Mutex<HashMap<(String, u32), u32>>> = LazyLock::new(Default::default);
/// Traces whose `execute` is running right now.
static RUNNING: LazyLock<Mutex<HashSet<String>>> = LazyLock::new(Default::default);
/// Traces found running twice at once, with the run that found it.
static OVERLAPS: LazyLock<Mutex<Vec<(String, u32)>>> = LazyLock::new(Default::default);

/// Four steps: EMPTY → CALLBACK, callback → POLL(0), poll → CALLBACK (with a new callback
/// URL: a URL resumes only the wait its run entered), callback → SUCCESS. Each run records
/// itself and sleeps a little inside `execute` to widen the race window.
#[plugin(version = "7.0.0")]
pub struct Stress;

impl Plugin for Stress {
    type Inputs = ();
    type ContextInputs = ();
    type Outputs = ();

    async fn execute(&self, _: (), ctx: &mut Context<Self>) -> Result<(), PluginError> {
        let trace = ctx.trace_id().to_owned();
        let n = ctx.invoke_count();
        *EXECUTIONS
            .lock()
            .unwrap()
            .entry((trace.clone(), n))
            .or_default() += 1;
        if !RUNNING.lock().unwrap().insert(trace.clone()) {
            OVERLAPS.lock().unwrap().push((trace.clone(), n));
        }
        tokio::time::sleep(Duration::from_millis(3)).await;
        let runs = ctx.storage_mut().entry("runs").or_insert_with(|| json!([]));
        runs.as_array_mut().unwrap().push(n.into());
        match n {
            1 | 3 => {
                let prepared = ctx.prepare_callback()?;
                ctx.outputs_mut()
                    .insert("callback_url".into(), prepared.url.into());
                ctx.wait_callback();
            }
            2 => ctx.wait_poll(Duration::ZERO),
            _ => {}
        }
        RUNNING.lock().unwrap().remove(&trace);
        Ok(())
    }
}

fn config() -> EngineConfig {
    let mut config = EngineConfig::default();
    config.callback_attempts = 2;
    config.callback_retry_delay = Duration::from_millis(5);
    config.scan_interval = Duration::from_millis(50);
    config.max_concurrency = 32;
    config.claim_batch = 16;
    config
}

#[test]
fn concurrent_callbacks_and_resumes_never_run_an_invocation_twice_at_once() {
    each_store_multi_thread(4, |name, store| async move {
        let started = Instant::now();
        let key = CallbackKey::from_app_secret("concurrency");
        let engine = || {
            Engine::builder(registry(), store.clone())
                .config(config())
                .callbacks(CallbackSigner::new(key.clone(), "", "dev"))
                .build()
        };
        let engines = [engine(), engine()];
        let handles = [engines[0].start(), engines[1].start()];

        // Invoke everything at once, half through each engine.
        let mut invoking = Vec::new();
        for i in 0..INVOCATIONS {
            let e = engines[i % 2].clone();
            invoking.push(tokio::spawn(async move {
                e.invoke(STRESS, json!({}), json!({})).await.unwrap()
            }));
        }
        let mut traces = Vec::new();
        for task in invoking {
            let first = task.await.unwrap();
            assert_eq!(first.state, State::Callback);
            traces.push(first.trace_id);
        }
        let traces = Arc::new(traces);

        // Hammer every invocation with callbacks and extra resumes from many tasks.
        let stop = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(AtomicUsize::new(0));
        let mut hammers = Vec::new();
        for h in 0..HAMMERS {
            let (traces, stop, accepted) = (traces.clone(), stop.clone(), accepted.clone());
            let engines = engines.clone();
            hammers.push(tokio::spawn(async move {
                let mut i = h * 7;
                while !stop.load(Ordering::Relaxed) {
                    let trace = &traces[i % traces.len()];
                    let e = &engines[i % 2];
                    i += 1;
                    let row = e.schedule(trace).await.unwrap().unwrap();
                    if row.state.is_finished() {
                        tokio::task::yield_now().await;
                        continue;
                    }
                    // The URL of the newest wait the row shows (it may move on meanwhile).
                    let url = row.outputs["callback_url"].as_str().unwrap();
                    match e.callback(token_of(url), json!({ "from": h })).await {
                        Ok(()) => {
                            accepted.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(CallbackError::NotWaiting { .. } | CallbackError::OtherWait) => {}
                        Err(other) => panic!("callback for {trace}: {other}"),
                    }
                    if i % 5 == 0 {
                        e.run_due().await.unwrap();
                    }
                }
            }));
        }

        // Wait until every invocation finished.
        loop {
            let mut unfinished = 0;
            for trace in traces.iter() {
                let row = engines[0].schedule(trace).await.unwrap().unwrap();
                if !row.state.is_finished() {
                    unfinished += 1;
                }
            }
            if unfinished == 0 {
                break;
            }
            assert!(
                started.elapsed() < LIMIT,
                "{unfinished} invocations still unfinished after {LIMIT:?} (store {name})"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        stop.store(true, Ordering::Relaxed);
        for h in hammers {
            h.await.unwrap();
        }
        for handle in handles {
            handle.shutdown().await;
        }

        let ours: HashSet<&str> = traces.iter().map(String::as_str).collect();
        let overlaps: Vec<_> = OVERLAPS
            .lock()
            .unwrap()
            .iter()
            .filter(|(t, _)| ours.contains(t.as_str()))
            .cloned()
            .collect();
        assert!(overlaps.is_empty(), "ran concurrently: {overlaps:?}");
        assert!(
            RUNNING
                .lock()
                .unwrap()
                .iter()
                .all(|t| !ours.contains(t.as_str())),
            "a run never ended"
        );

        let executions = EXECUTIONS.lock().unwrap().clone();
        for trace in traces.iter() {
            for n in 1..=4u32 {
                assert_eq!(
                    executions.get(&(trace.clone(), n)).copied(),
                    Some(1),
                    "run {n} of {trace}"
                );
            }
            assert_eq!(
                executions.get(&(trace.clone(), 5)),
                None,
                "{trace} ran a 5th time"
            );
            let row = engines[1].schedule(trace).await.unwrap().unwrap();
            assert_eq!(row.state, State::Success, "{trace}: {}", row.err);
            assert_eq!(row.invoke_count, 4);
            assert_eq!(row.storage["runs"], json!([1, 2, 3, 4]));
        }
        let counts = store.counts().await.unwrap();
        assert_eq!((counts.polling, counts.waiting_callback), (0, 0));
        assert!(
            accepted.load(Ordering::Relaxed) >= 2 * INVOCATIONS,
            "every invocation took two callbacks"
        );
        eprintln!(
            "store {name}: {INVOCATIONS} invocations, {} callbacks accepted, {:?}",
            accepted.load(Ordering::Relaxed),
            started.elapsed()
        );
    });
}
