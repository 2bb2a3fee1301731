//! Scale-out figures (not a test): durable transitions/s and resume lag with 1 and 3 replica
//! processes on one shared database.
//!
//! ```sh
//! BENCH_POSTGRES_URL=postgres://... BENCH_MYSQL_URL=mysql://... \
//!     cargo bench -p bk-plugin-kit --features postgres,mysql --bench replicas
//! ```
//!
//! Each URL must point at an empty schema / database (the bench leaves it empty again). Either
//! may be omitted. For each database and each replica count it runs:
//!
//! 1. **Throughput**: 2,000 invocations, each resumed 10 times with interval 0, all first due at
//!    one instant after seeding; time from that instant until none is unfinished.
//! 2. **Resume lag**: 10,000 invocations polling every 1 s, 3 resumes each, their due times
//!    spread over the first second (a steady 10,000 resumes/s); how late each resume starts
//!    after its due time, p50 / p99 / max.
//!
//! The replicas are this binary started again with `--replica URL` (a scheduler only: the
//! engine's claim loop on the shared store, like the plugin server's). This process seeds the
//! invocations through `Engine::invoke` (the first run happens here), so the replicas do only
//! resumes; they report every resume's lag on their stdout when told to stop.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{engine, now_ms, percentile, wait_idle};

use bk_plugin_kit::engine::store::Store;
use bk_plugin_kit::engine::{Engine, MySqlStore, PostgresStore, Timestamp};
use bk_plugin_kit::prelude::*;
use bk_plugin_kit::serde_json::json;

#[derive(Debug, Inputs)]
pub struct PollInputs {
    /// How many resumes.
    pub rounds: u32,
    /// Wait between resumes.
    pub interval_ms: u64,
    /// When the first resume is due (ms since the Unix epoch).
    pub start_at: i64,
}

/// Lags (ms late) of the resumes this process ran.
static LAGS: Mutex<Vec<i64>> = Mutex::new(Vec::new());

/// Waits until `start_at`, then polls `rounds - 1` more times; records how late each resume
/// is.
#[derive(Debug, Default)]
#[plugin(version = "1.0.0")]
pub struct Poller;

impl Plugin for Poller {
    type Inputs = PollInputs;
    type ContextInputs = ();
    type Outputs = ();
    async fn execute(&self, i: PollInputs, ctx: &mut Context<Self>) -> Result<(), PluginError> {
        let now = now_ms();
        if let Some(due) = ctx.storage().get("due").and_then(|v| v.as_i64()) {
            LAGS.lock().unwrap().push(now - due);
        }
        let count = ctx.invoke_count();
        if count <= i.rounds {
            let due = if count == 1 {
                i.start_at
            } else {
                now + i.interval_ms as i64
            };
            ctx.storage_mut().insert("due".into(), due.into());
            ctx.wait_poll(Duration::from_millis(u64::try_from(due - now).unwrap_or(0)));
        }
        Ok(())
    }
}

async fn connect(url: &str) -> Arc<dyn Store> {
    if url.starts_with("postgres") {
        Arc::new(PostgresStore::connect(url).await.unwrap())
    } else {
        Arc::new(MySqlStore::connect(url).await.unwrap())
    }
}

/// `--replica URL`: run the scheduler until a line `stop` arrives on stdin, then print one
/// `lag MS` line per resume run here and `done`.
fn replica(url: &str) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = connect(url).await;
        let handle = engine(store).start();
        println!("ready");
        std::io::stdout().flush().unwrap();
        let stop = tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            while std::io::stdin().read_line(&mut line).unwrap_or(0) > 0 {
                if line.trim() == "stop" {
                    return;
                }
                line.clear();
            }
        });
        stop.await.unwrap();
        handle.shutdown().await;
    });
    let mut out = std::io::stdout().lock();
    for lag in LAGS.lock().unwrap().iter() {
        writeln!(out, "lag {lag}").unwrap();
    }
    writeln!(out, "done").unwrap();
}

struct Replica {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Replica {
    fn start(url: &str) -> Replica {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--replica", url])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "ready", "replica did not start");
        Replica {
            child,
            stdin,
            stdout,
        }
    }

    /// Stops it; its lags.
    fn stop(mut self) -> Vec<i64> {
        writeln!(self.stdin, "stop").unwrap();
        let mut lags = Vec::new();
        for line in (&mut self.stdout).lines() {
            let line = line.unwrap();
            match line.strip_prefix("lag ") {
                Some(ms) => lags.push(ms.parse().unwrap()),
                None if line == "done" => break,
                None => panic!("unexpected replica output: {line}"),
            }
        }
        self.child.wait().unwrap();
        lags
    }
}

/// Invokes `n` pollers; the i-th is first due at `start_at(i)`.
async fn seed(
    engine: &Engine,
    n: usize,
    rounds: u32,
    interval_ms: u64,
    start_at: impl Fn(usize) -> i64,
) {
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..n {
        let (e, inputs) = (
            engine.clone(),
            json!({"rounds": rounds, "interval_ms": interval_ms, "start_at": start_at(i)}),
        );
        tasks.spawn(async move { e.invoke("1.0.0", inputs, json!({})).await.unwrap() });
        // Bounded in flight: the pool has 10 connections.
        while tasks.len() >= 256 {
            assert_eq!(tasks.join_next().await.unwrap().unwrap().state, State::Poll);
        }
    }
    while let Some(r) = tasks.join_next().await {
        assert_eq!(r.unwrap().state, State::Poll);
    }
}

fn run(rt: &tokio::runtime::Runtime, name: &str, url: &str, replicas: usize) {
    let store = rt.block_on(connect(url));
    rt.block_on(store.purge_finished(Timestamp::from_millis(i64::MAX)))
        .unwrap();
    let seeder = engine(store.clone());

    // 1. Throughput: all first due at one instant, then interval 0.
    let (n, rounds) = (2_000, 10);
    let nodes: Vec<Replica> = (0..replicas).map(|_| Replica::start(url)).collect();
    // Late enough for seeding to finish first (checked below).
    let start_at = now_ms() + 5_000;
    let seeded = Instant::now();
    rt.block_on(seed(&seeder, n, rounds, 0, |_| start_at));
    let seed_secs = seeded.elapsed().as_secs_f64();
    assert!(now_ms() < start_at, "seeding took longer than 5 s");
    while now_ms() < start_at {
        std::thread::sleep(Duration::from_millis(1));
    }
    let t = Instant::now();
    rt.block_on(wait_idle(&store));
    let secs = t.elapsed().as_secs_f64();
    for node in nodes {
        node.stop();
    }
    let transitions = n * rounds as usize;
    println!(
        "{name}, {replicas} replica(s): durable POLL transitions {transitions} in {secs:.2} s = {:.0}/s (seeding {n} invocations took {seed_secs:.2} s)",
        transitions as f64 / secs
    );
    rt.block_on(store.purge_finished(Timestamp::from_millis(i64::MAX)))
        .unwrap();

    // 2. Resume lag: 10,000 polling every second, due times spread over the first second.
    let (n, rounds, interval) = (10_000usize, 3, 1_000i64);
    let nodes: Vec<Replica> = (0..replicas).map(|_| Replica::start(url)).collect();
    // Late enough for seeding to finish first (checked below).
    let base = now_ms() + 8_000;
    rt.block_on(seed(&seeder, n, rounds, interval as u64, |i| {
        base + (i as i64 * interval) / n as i64
    }));
    assert!(
        now_ms() < base,
        "seeding took longer than 8 s: first resumes are late"
    );
    rt.block_on(wait_idle(&store));
    let mut lags: Vec<i64> = nodes.into_iter().flat_map(Replica::stop).collect();
    lags.sort_unstable();
    assert_eq!(lags.len(), n * rounds as usize, "every resume reported");
    println!(
        "{name}, {replicas} replica(s): resume lag, {n} invocations polling every {interval} ms ({} resumes): p50 {} ms, p99 {} ms, max {} ms",
        lags.len(),
        percentile(&lags, 0.5),
        percentile(&lags, 0.99),
        lags.last().unwrap()
    );
    rt.block_on(store.purge_finished(Timestamp::from_millis(i64::MAX)))
        .unwrap();
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list") {
        return; // `cargo test --benches` asks for the list of benchmarks.
    }
    if let Some(i) = args.iter().position(|a| a == "--replica") {
        return replica(&args[i + 1]);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut ran = false;
    for (name, var) in [
        ("PostgreSQL", "BENCH_POSTGRES_URL"),
        ("MySQL", "BENCH_MYSQL_URL"),
    ] {
        let Ok(url) = std::env::var(var) else {
            continue;
        };
        ran = true;
        for replicas in [1, 3] {
            run(&rt, name, &url, replicas);
        }
    }
    if !ran {
        eprintln!(
            "set BENCH_POSTGRES_URL and/or BENCH_MYSQL_URL (see the header of benches/replicas.rs)"
        );
    }
}
