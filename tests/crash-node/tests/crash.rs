//! Crash safety: ≥ 1,000 in-flight POLL and CALLBACK invocations on a SQLite file, the server
//! process SIGKILLed twice mid-run and restarted; every invocation must finish, every step
//! committed exactly once, and a step may re-run only if a killed process was running it.

mod common;

use std::sync::Arc;
use std::time::Duration;

use bk_plugin_kit::engine::{SqliteStore, store::Store};
use common::{Node, caller, deliver, read_traces, temp_dir, verify, wait_all_finished, waiting};

const SEED: usize = 1200;

#[test]
fn sigkill_twice_loses_nothing_and_commits_every_step_once() {
    let dir = temp_dir("crash");
    let db = dir.join("schedules.db").display().to_string();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    // 1. Seed 1,200 invocations (half POLL x10 rounds, half waiting for a callback).
    let node1 = Node::start(&db, &dir, SEED);
    let mut killed = vec![node1.pid()];
    let traces = read_traces(&dir);
    assert_eq!(traces.len(), SEED);
    let store: Arc<dyn Store> = Arc::new(rt.block_on(SqliteStore::open(&db)).unwrap());
    let counts = rt.block_on(store.counts()).unwrap();
    let in_flight = counts.polling + counts.waiting_callback;
    assert!(in_flight >= 1000, "only {in_flight} in flight: {counts:?}");
    std::thread::sleep(Duration::from_millis(300));
    node1.kill9();

    // 2. While no server runs, the callback schedules still accept their callbacks.
    let caller = caller(store.clone());
    let waiting = waiting(&traces);
    let (first_half, second_half) = waiting.split_at(waiting.len() / 2);
    deliver(&rt, &caller, first_half);

    // 3. Restart, deliver the rest while it runs, kill it again mid-run.
    let node2 = Node::start(&db, &dir, 0);
    killed.push(node2.pid());
    deliver(&rt, &caller, second_half);
    std::thread::sleep(Duration::from_millis(400));
    node2.kill9();

    // 4. Restart and let everything finish.
    let node3 = Node::start(&db, &dir, 0);
    wait_all_finished(&rt, &store, Duration::from_secs(90));
    drop(node3);

    // 5. Each step committed exactly once; re-runs only after a kill.
    let (steps, reruns) = verify(&rt, &store, &traces, &dir, &killed);
    eprintln!(
        "crash test: {SEED} invocations, {in_flight} in flight at the first kill, {steps} steps, {reruns} re-run after a kill"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
