//! A plugin server process for the crash test (`tests/crash.rs`).
//!
//! `crash-node --db FILE|postgres://URL|mysql://URL --log FILE [--seed N] [--lease-ms MS] [--traces FILE]`
//!
//! With `CRASH_NODE_LOG=FILE` in the environment (and no arguments) it instead serves the same
//! plugins over HTTP like any plugin binary (`bk_plugin_kit::run()`, configured from the
//! environment: `DATABASE_URL`, `BK_PLUGIN_LISTEN`, ...), for the store outage test
//! (`tests/outage.rs`).
//!
//! Serves two plugins on the SQLite file (or the shared database): `9.0.0` polls `rounds` times, `9.1.0` waits for a
//! callback then polls twice. Every execution appends `<trace> <invoke_count> <pid>` to the
//! log file before doing anything else, so the test can count executions per step. With
//! `--seed N` it first invokes N/2 of each, writes `<version> <trace>` lines to `FILE.traces`
//! and prints `seeded`; then it runs the scheduler until killed.

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bk_plugin_kit::engine::{
    CallbackKey, CallbackSigner, Engine, EngineConfig, MySqlStore, PostgresStore, SqliteStore,
    store::Store,
};
use bk_plugin_kit::prelude::*;
use bk_plugin_kit::serde_json::{Value, json};

static LOG: OnceLock<std::sync::Mutex<std::fs::File>> = OnceLock::new();

fn log_execution(trace_id: &str, invoke_count: u32) {
    let line = format!("{trace_id} {invoke_count} {}\n", std::process::id());
    let mut f = LOG.get().expect("log opened").lock().unwrap();
    f.write_all(line.as_bytes()).unwrap();
}

fn record_history<P: Plugin>(ctx: &mut Context<P>) -> Vec<Value> {
    let count = ctx.invoke_count();
    let history = ctx
        .storage_mut()
        .entry("history")
        .or_insert_with(|| json!([]));
    history.as_array_mut().unwrap().push(count.into());
    history.as_array().unwrap().clone()
}

#[derive(Inputs)]
pub struct PollInputs {
    pub rounds: u32,
}

/// Polls `rounds` times, 100 ms apart.
#[derive(Default)]
#[plugin(version = "9.0.0")]
pub struct Poller;

impl Plugin for Poller {
    type Inputs = PollInputs;
    type ContextInputs = ();
    type Outputs = ();

    async fn execute(
        &self,
        inputs: PollInputs,
        ctx: &mut Context<Self>,
    ) -> Result<(), PluginError> {
        log_execution(ctx.trace_id(), ctx.invoke_count());
        let history = record_history(ctx);
        if ctx.invoke_count() < inputs.rounds {
            ctx.wait_poll(Duration::from_millis(100));
        } else {
            ctx.outputs_mut().insert("history".into(), history.into());
        }
        Ok(())
    }
}

/// Waits for a callback, then polls twice.
#[derive(Default)]
#[plugin(version = "9.1.0")]
pub struct Waiter;

impl Plugin for Waiter {
    type Inputs = ();
    type ContextInputs = ();
    type Outputs = ();

    async fn execute(&self, _: (), ctx: &mut Context<Self>) -> Result<(), PluginError> {
        log_execution(ctx.trace_id(), ctx.invoke_count());
        let history = record_history(ctx);
        match ctx.state() {
            State::Empty => {
                let cb = ctx.prepare_callback()?;
                ctx.outputs_mut()
                    .insert("callback_url".into(), cb.url.into());
                ctx.wait_callback();
            }
            State::Callback => {
                let data = ctx.callback().map(|c| c.data.clone()).unwrap_or_default();
                ctx.storage_mut().insert("callback_data".into(), data);
                ctx.wait_poll(Duration::from_millis(100));
            }
            _ if ctx.invoke_count() < 4 => ctx.wait_poll(Duration::from_millis(100)),
            _ => {
                ctx.outputs_mut().insert("history".into(), history.into());
            }
        }
        Ok(())
    }
}

/// The key both the node and the test use.
pub const SECRET: &str = "crash-test-secret";

fn arg(name: &str) -> Option<String> {
    let mut args = std::env::args();
    while let Some(a) = args.next() {
        if a == name {
            return args.next();
        }
    }
    None
}

fn main() -> std::process::ExitCode {
    let serve = std::env::var_os("CRASH_NODE_LOG");
    let log = serve
        .clone()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(arg("--log").expect("--log FILE")));
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .unwrap();
    LOG.set(std::sync::Mutex::new(file)).unwrap();
    if serve.is_some() {
        return bk_plugin_kit::run();
    }
    tokio::runtime::Runtime::new().unwrap().block_on(node());
    std::process::ExitCode::SUCCESS
}

async fn node() {
    let db_arg = arg("--db").expect("--db FILE|URL");
    let db = PathBuf::from(&db_arg);
    let seed: usize = arg("--seed").map_or(0, |s| s.parse().unwrap());
    let lease_ms: u64 = arg("--lease-ms").map_or(1500, |s| s.parse().unwrap());

    // Several replicas share one PostgreSQL or MySQL database; a SQLite file serves one
    // process.
    let store: Arc<dyn Store> = if db_arg.starts_with("postgres://") {
        Arc::new(PostgresStore::connect(&db_arg).await.unwrap())
    } else if db_arg.starts_with("mysql://") {
        Arc::new(MySqlStore::connect(&db_arg).await.unwrap())
    } else {
        Arc::new(SqliteStore::open(&db).await.unwrap())
    };
    let mut config = EngineConfig::default();
    config.lease = Duration::from_millis(lease_ms);
    config.scan_interval = Duration::from_millis(200);
    config.max_concurrency = 64;
    let engine = Engine::builder(bk_plugin_kit::registry(), store)
        .config(config)
        .callbacks(CallbackSigner::new(
            CallbackKey::from_app_secret(SECRET),
            "",
            "dev",
        ))
        .build();

    if seed > 0 {
        let mut traces = String::new();
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..seed {
            let engine = engine.clone();
            tasks.spawn(async move {
                let (version, inputs) = if i % 2 == 0 {
                    ("9.0.0", json!({"rounds": 10}))
                } else {
                    ("9.1.0", json!({}))
                };
                let done = engine.invoke(version, inputs, json!({})).await.unwrap();
                assert!(done.err.is_none(), "{:?}", done.err);
                (version, done.trace_id)
            });
            if tasks.len() >= 32 {
                let (v, t) = tasks.join_next().await.unwrap().unwrap();
                traces.push_str(&format!("{v} {t}\n"));
            }
        }
        while let Some(r) = tasks.join_next().await {
            let (v, t) = r.unwrap();
            traces.push_str(&format!("{v} {t}\n"));
        }
        let traces_path =
            arg("--traces").map_or_else(|| db.with_extension("traces"), PathBuf::from);
        std::fs::write(traces_path, traces).unwrap();
        println!("seeded");
    }
    let _handle = engine.start();
    println!("running");
    std::io::stdout().flush().unwrap();
    loop {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
}
