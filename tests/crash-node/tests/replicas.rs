//! Scale-out: three replica processes on one shared database with 3,000 in-flight POLL and
//! CALLBACK invocations, one replica SIGKILLed mid-run: every invocation finishes, every step
//! is committed exactly once, none is lost. Once on PostgreSQL, once on MySQL / MariaDB; each
//! runs when CI provides its server (`BK_PLUGIN_TEST_POSTGRES_URL` / `BK_PLUGIN_TEST_MYSQL_URL`;
//! `BK_PLUGIN_REQUIRE_POSTGRES=1` / `BK_PLUGIN_REQUIRE_MYSQL=1` make their absence a failure).

mod common;

use std::sync::Arc;
use std::time::Duration;

use bk_plugin_kit::engine::{MySqlStore, PostgresStore, store::Store};
use bk_plugin_tests::stores::{MYSQL, POSTGRES, Server};
use common::{Node, caller, deliver, read_traces, temp_dir, verify, wait_all_finished, waiting};

const SEED: usize = 3000;

#[test]
fn three_replicas_on_postgres_one_killed_every_invocation_finishes_exactly_once() {
    three_replicas(POSTGRES);
}

#[test]
fn three_replicas_on_mysql_one_killed_every_invocation_finishes_exactly_once() {
    three_replicas(MYSQL);
}

fn three_replicas(server: Server) {
    // One at a time: each starts three server processes on this 2-core budget.
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // A new, empty schema (PostgreSQL) or database (MySQL) on the test server.
    let Some(db) = rt.block_on(server.fresh_url()) else {
        eprintln!("{} not provided: {} is unset", server.name, server.url_var);
        return;
    };
    let dir = temp_dir("replicas");

    // Replica 1 seeds 3,000 invocations; replicas 2 and 3 join.
    let r1 = Node::start(&db, &dir, SEED);
    let r2 = Node::start(&db, &dir, 0);
    let r3 = Node::start(&db, &dir, 0);
    let traces = read_traces(&dir);
    assert_eq!(traces.len(), SEED);
    let store: Arc<dyn Store> = rt.block_on(async {
        if db.starts_with("postgres://") {
            Arc::new(PostgresStore::connect(&db).await.unwrap()) as Arc<dyn Store>
        } else {
            Arc::new(MySqlStore::connect(&db).await.unwrap()) as Arc<dyn Store>
        }
    });
    let counts = rt.block_on(store.counts()).unwrap();
    let in_flight = counts.polling + counts.waiting_callback;
    assert!(in_flight >= 2500, "only {in_flight} in flight: {counts:?}");

    // Callbacks arrive (at whichever replica: they go through the shared store), and replica 2
    // dies mid-run.
    let caller = caller(store.clone());
    let waiting = waiting(&traces);
    let (first_half, second_half) = waiting.split_at(waiting.len() / 2);
    deliver(&rt, &caller, first_half);
    let killed = vec![r2.pid()];
    r2.kill9();
    deliver(&rt, &caller, second_half);

    wait_all_finished(&rt, &store, Duration::from_secs(120));
    drop((r1, r3));
    let (steps, reruns) = verify(&rt, &store, &traces, &dir, &killed);
    eprintln!(
        "replica test ({}): {SEED} invocations on 3 replicas, {in_flight} in flight, one replica killed, {steps} steps, {reruns} re-run after the kill",
        server.name
    );
    let _ = std::fs::remove_dir_all(&dir);
}
