//! Scale-out: three replica processes on one PostgreSQL database with 3,000 in-flight POLL and
//! CALLBACK invocations, one replica SIGKILLed mid-run: every invocation finishes, every step
//! is committed exactly once, none is lost. Runs when CI provides PostgreSQL
//! (`BK_PLUGIN_TEST_POSTGRES_URL`; `BK_PLUGIN_REQUIRE_POSTGRES=1` makes its absence a failure).

mod common;

use std::sync::Arc;
use std::time::Duration;

use bk_plugin_kit::engine::{PostgresStore, store::Store};
use common::{Node, caller, deliver, read_traces, temp_dir, verify, wait_all_finished, waiting};

const SEED: usize = 3000;

/// A URL of a new schema in the test database, or `None` when PostgreSQL is not provided.
fn postgres_url(rt: &tokio::runtime::Runtime) -> Option<String> {
    let required = std::env::var("BK_PLUGIN_REQUIRE_POSTGRES").is_ok_and(|v| v == "1");
    let url = match std::env::var("BK_PLUGIN_TEST_POSTGRES_URL") {
        Ok(u) if !u.is_empty() => u,
        _ if required => {
            panic!("BK_PLUGIN_REQUIRE_POSTGRES=1 but BK_PLUGIN_TEST_POSTGRES_URL is not set")
        }
        _ => return None,
    };
    let schema = format!("bk_plugin_replicas_{}", std::process::id());
    rt.block_on(async {
        use sqlx::Connection;
        let mut admin = sqlx::PgConnection::connect(&url)
            .await
            .expect("connect to PostgreSQL");
        sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
            .execute(&mut admin)
            .await
            .unwrap();
        sqlx::query(&format!("CREATE SCHEMA {schema}"))
            .execute(&mut admin)
            .await
            .unwrap();
    });
    let sep = if url.contains('?') { '&' } else { '?' };
    Some(format!("{url}{sep}options[search_path]={schema}"))
}

#[test]
fn three_replicas_one_killed_every_invocation_finishes_exactly_once() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let Some(db) = postgres_url(&rt) else {
        eprintln!("PostgreSQL not provided: BK_PLUGIN_TEST_POSTGRES_URL is unset");
        return;
    };
    let dir = temp_dir("replicas");

    // Replica 1 seeds 3,000 invocations; replicas 2 and 3 join.
    let r1 = Node::start(&db, &dir, SEED);
    let r2 = Node::start(&db, &dir, 0);
    let r3 = Node::start(&db, &dir, 0);
    let traces = read_traces(&dir);
    assert_eq!(traces.len(), SEED);
    let store: Arc<dyn Store> = Arc::new(rt.block_on(PostgresStore::connect(&db)).unwrap());
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
        "replica test: {SEED} invocations on 3 replicas, {in_flight} in flight, one replica killed, {steps} steps, {reruns} re-run after the kill"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
