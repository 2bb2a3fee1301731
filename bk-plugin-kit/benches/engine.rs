//! Engine figures (not a test): `cargo bench -p bk-plugin-kit --bench engine`.
//!
//! 1. In-process invokes/s of a trivial plugin through `Engine::invoke` (SUCCESS: no store).
//! 2. Durable POLL transitions/s on SQLite: invocations polling with interval 0, run by the
//!    engine's scheduler; every transition is a committed claim + complete.
//! 3. Resume lag with 10,000 concurrent polling invocations (interval 1 s): how late each
//!    resume starts after its due time, p50 / p99 / max.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{engine, now_ms, percentile, wait_idle};

use bk_plugin_kit::engine::store::{MemoryStore, Store};
use bk_plugin_kit::engine::{Engine, SqliteStore};
use bk_plugin_kit::prelude::*;
use bk_plugin_kit::serde_json::json;

#[derive(Debug, Default)]
#[plugin(version = "1.0.0")]
pub struct Trivial;

impl Plugin for Trivial {
    type Inputs = ();
    type ContextInputs = ();
    type Outputs = ();
    async fn execute(&self, _: (), _: &mut Context<Self>) -> Result<(), PluginError> {
        Ok(())
    }
}

#[derive(Debug, Inputs)]
pub struct PollInputs {
    pub rounds: u32,
    pub interval_ms: u64,
}

/// (invoke_count of the resume, ms late).
static LAGS: Mutex<Vec<(u32, i64)>> = Mutex::new(Vec::new());

/// Polls `rounds` times; records how late each resume is.
#[derive(Debug, Default)]
#[plugin(version = "2.0.0")]
pub struct Poller;

impl Plugin for Poller {
    type Inputs = PollInputs;
    type ContextInputs = ();
    type Outputs = ();
    async fn execute(&self, i: PollInputs, ctx: &mut Context<Self>) -> Result<(), PluginError> {
        let now = now_ms();
        if let Some(due) = ctx.storage().get("due").and_then(|v| v.as_i64()) {
            LAGS.lock().unwrap().push((ctx.invoke_count(), now - due));
        }
        if ctx.invoke_count() <= i.rounds {
            ctx.storage_mut()
                .insert("due".into(), (now + i.interval_ms as i64).into());
            ctx.wait_poll(Duration::from_millis(i.interval_ms));
        }
        Ok(())
    }
}

async fn invoke_all(engine: &Engine, n: usize, inputs: bk_plugin_kit::serde_json::Value) {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..n {
        let (e, i) = (engine.clone(), inputs.clone());
        tasks.spawn(async move { e.invoke("2.0.0", i, json!({})).await.unwrap() });
    }
    while let Some(r) = tasks.join_next().await {
        assert_eq!(r.unwrap().state, State::Poll);
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` asks for the list of benchmarks.
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // 1. Trivial in-process invokes.
        let e = engine(Arc::new(MemoryStore::new()));
        let n = 1_000_000;
        let t = Instant::now();
        for _ in 0..n {
            let done = e.invoke("1.0.0", json!({}), json!({})).await.unwrap();
            debug_assert_eq!(done.state, State::Success);
        }
        let secs = t.elapsed().as_secs_f64();
        println!(
            "in-process trivial invokes: {n} in {secs:.2} s = {:.0}/s ({:.0} ns each), one task",
            n as f64 / secs,
            secs * 1e9 / n as f64
        );

        // 2. Durable POLL transitions on SQLite.
        let dir = std::env::temp_dir().join(format!("bk-plugin-bench-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.join("a.db")).await.unwrap());
        let e = engine(store.clone());
        let (n, rounds) = (2_000, 10);
        invoke_all(&e, n, json!({"rounds": rounds, "interval_ms": 0})).await;
        let t = Instant::now();
        let handle = e.start();
        wait_idle(&store).await;
        let secs = t.elapsed().as_secs_f64();
        handle.shutdown().await;
        let transitions = n * rounds as usize;
        println!(
            "durable POLL transitions on SQLite: {transitions} in {secs:.2} s = {:.0}/s ({n} invocations x {rounds} resumes, interval 0)",
            transitions as f64 / secs
        );
        LAGS.lock().unwrap().clear();

        // 2b. The same on PostgreSQL, when given one (`--features postgres`,
        // BENCH_POSTGRES_URL=postgres://...; the schema it points at must be empty).
        #[cfg(feature = "postgres")]
        if let Ok(url) = std::env::var("BENCH_POSTGRES_URL") {
            let store: Arc<dyn Store> =
                Arc::new(bk_plugin_kit::engine::PostgresStore::connect(&url).await.unwrap());
            let e = engine(store.clone());
            invoke_all(&e, n, json!({"rounds": rounds, "interval_ms": 0})).await;
            let t = Instant::now();
            let handle = e.start();
            wait_idle(&store).await;
            let secs = t.elapsed().as_secs_f64();
            handle.shutdown().await;
            println!(
                "durable POLL transitions on PostgreSQL (one process): {transitions} in {secs:.2} s = {:.0}/s",
                transitions as f64 / secs
            );
            LAGS.lock().unwrap().clear();
        }

        // 3. Resume lag, 10,000 concurrent polling invocations, 3 resumes each.
        let interval_ms: u64 = std::env::var("BENCH_LAG_INTERVAL_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1000);
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.join("b.db")).await.unwrap());
        let e = engine(store.clone());
        let handle = e.start();
        let n = 10_000;
        invoke_all(&e, n, json!({"rounds": 3, "interval_ms": interval_ms})).await;
        wait_idle(&store).await;
        handle.shutdown().await;
        let all = std::mem::take(&mut *LAGS.lock().unwrap());
        for round in 2..=4 {
            let mut lags: Vec<i64> = all.iter().filter(|(c, _)| *c == round).map(|(_, l)| *l).collect();
            lags.sort_unstable();
            println!(
                "  resume {}: p50 {} ms, p99 {} ms, max {} ms",
                round - 1,
                percentile(&lags, 0.5),
                percentile(&lags, 0.99),
                lags.last().unwrap()
            );
        }
        let mut lags: Vec<i64> = all.iter().map(|(_, l)| *l).collect();
        lags.sort_unstable();
        println!(
            "resume lag, {n} concurrent polling invocations (interval {interval_ms} ms, {} resumes): p50 {} ms, p99 {} ms, max {} ms",
            lags.len(),
            percentile(&lags, 0.5),
            percentile(&lags, 0.99),
            lags.last().unwrap()
        );
        let _ = std::fs::remove_dir_all(&dir);
    });
}
