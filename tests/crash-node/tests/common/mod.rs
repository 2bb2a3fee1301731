//! Shared by the crash and replica tests: starting and killing `crash-node` processes,
//! delivering callbacks from outside, and checking every invocation finished exactly once.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bk_plugin_kit::State;
use bk_plugin_kit::engine::{CallbackKey, CallbackSigner, Engine, store::Store, testing::token_of};
use bk_plugin_kit::serde_json::{Value, json};

/// The app secret the nodes sign callback tokens with.
pub const SECRET: &str = "crash-test-secret";

/// A running `crash-node` process.
pub struct Node {
    child: Child,
}

impl Node {
    /// Starts a node on store `db` (a SQLite path or a `postgres://` URL), logging executions
    /// to `dir/executions.log`; with `seed > 0` it first invokes that many and writes
    /// `dir/schedules.traces`. Returns once it runs.
    pub fn start(db: &str, dir: &Path, seed: usize) -> Node {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_crash-node"));
        cmd.arg("--db")
            .arg(db)
            .arg("--log")
            .arg(dir.join("executions.log"))
            .arg("--traces")
            .arg(dir.join("schedules.traces"))
            .arg("--lease-ms")
            .arg("1500")
            .stdout(Stdio::piped());
        if seed > 0 {
            cmd.arg("--seed").arg(seed.to_string());
        }
        let mut child = cmd.spawn().expect("start crash-node");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        loop {
            match lines.next() {
                Some(Ok(l)) if l == "running" => break,
                Some(Ok(_)) => {}
                other => panic!("crash-node ended early: {other:?}"),
            }
        }
        Node { child }
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL (std's `Child::kill` sends SIGKILL on Unix).
    pub fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub use bk_plugin_tests::support::temp_dir;

/// `(version, trace_id)` of every seeded invocation.
pub fn read_traces(dir: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(dir.join("schedules.traces"))
        .unwrap()
        .lines()
        .map(|l| {
            let (v, t) = l.split_once(' ').unwrap();
            (v.to_owned(), t.to_owned())
        })
        .collect()
}

/// An engine that only delivers callbacks (no loops), as an external caller would.
pub fn caller(store: Arc<dyn Store>) -> Engine {
    Engine::builder(bk_plugin_kit::registry(), store)
        .callbacks(CallbackSigner::new(
            CallbackKey::from_app_secret(SECRET),
            "",
            "dev",
        ))
        .build()
}

/// The callback-waiting traces among `traces`.
pub fn waiting(traces: &[(String, String)]) -> Vec<&String> {
    traces
        .iter()
        .filter(|(v, _)| v == "9.1.0")
        .map(|(_, t)| t)
        .collect()
}

/// Delivers `{"from": "test"}` to each trace through the token in its `callback_url` output.
pub fn deliver(rt: &tokio::runtime::Runtime, caller: &Engine, traces: &[&String]) {
    for trace in traces {
        let record = rt.block_on(caller.schedule(trace)).unwrap().unwrap();
        let url = record.outputs["callback_url"].as_str().unwrap().to_owned();
        rt.block_on(caller.callback(token_of(&url), json!({"from": "test"})))
            .unwrap_or_else(|e| panic!("callback for {trace}: {e}"));
    }
}

/// Waits until no invocation is unfinished.
pub fn wait_all_finished(rt: &tokio::runtime::Runtime, store: &Arc<dyn Store>, limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        let c = rt.block_on(store.counts()).unwrap();
        if c.polling + c.waiting_callback == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "not finished in time: {c:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Every invocation succeeded with each step committed exactly once, and a step ran more than
/// once only when a killed process was running it. Returns `(steps, reruns)`.
pub fn verify(
    rt: &tokio::runtime::Runtime,
    store: &Arc<dyn Store>,
    traces: &[(String, String)],
    dir: &Path,
    killed: &[u32],
) -> (usize, usize) {
    for (version, trace) in traces {
        let r = rt.block_on(store.get(trace)).unwrap().unwrap();
        assert_eq!(r.state, State::Success, "{trace}: {}", r.err);
        assert!(r.finish_at.is_some());
        let (expected, count): (Value, u32) = if version == "9.0.0" {
            (json!([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), 10)
        } else {
            assert_eq!(r.storage["callback_data"], json!({"from": "test"}));
            (json!([1, 2, 3, 4]), 4)
        };
        assert_eq!(r.outputs["history"], expected, "{trace}");
        assert_eq!(r.invoke_count, count, "{trace}");
    }
    let log = std::fs::read_to_string(dir.join("executions.log")).unwrap();
    let mut runs: HashMap<(&str, u32), Vec<u32>> = HashMap::new();
    for line in log.lines() {
        let mut parts = line.split(' ');
        let (trace, count, pid) = (
            parts.next().unwrap(),
            parts.next().unwrap().parse::<u32>().unwrap(),
            parts.next().unwrap().parse::<u32>().unwrap(),
        );
        runs.entry((trace, count)).or_default().push(pid);
    }
    let mut reruns = 0;
    for ((trace, count), pids) in &runs {
        for earlier in &pids[..pids.len() - 1] {
            assert!(
                killed.contains(earlier),
                "{trace} step {count} ran again although process {earlier} was not killed: {pids:?}"
            );
            reruns += 1;
        }
    }
    let steps: usize = traces
        .iter()
        .map(|(v, _)| if v == "9.0.0" { 10 } else { 4 })
        .sum();
    assert_eq!(runs.len(), steps, "every step of every invocation ran");
    (steps, reruns)
}
