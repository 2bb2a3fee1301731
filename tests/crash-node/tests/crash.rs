//! Crash safety: ≥ 1,000 in-flight POLL and CALLBACK invocations on a SQLite file, the server
//! process SIGKILLed twice mid-run and restarted; every invocation must finish, every step
//! committed exactly once, and a step may re-run only if a killed process was running it.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bk_plugin_kit::State;
use bk_plugin_kit::engine::{
    CallbackKey, CallbackSigner, Engine, SqliteStore, store::Store, testing::token_of,
};
use bk_plugin_kit::serde_json::{Value, json};

const SEED: usize = 1200;
const SECRET: &str = "crash-test-secret";

struct Node {
    child: Child,
}

impl Node {
    fn start(dir: &Path, seed: usize) -> Node {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_crash-node"));
        cmd.arg("--db")
            .arg(dir.join("schedules.db"))
            .arg("--log")
            .arg(dir.join("executions.log"))
            .arg("--lease-ms")
            .arg("1500")
            .stdout(Stdio::piped());
        if seed > 0 {
            cmd.arg("--seed").arg(seed.to_string());
        }
        let mut child = cmd.spawn().expect("start crash-node");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        // Wait until it is running (after seeding, if asked to seed).
        loop {
            match lines.next() {
                Some(Ok(l)) if l == "running" => break,
                Some(Ok(_)) => {}
                other => panic!("crash-node ended early: {other:?}"),
            }
        }
        Node { child }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL (std's `Child::kill` sends SIGKILL on Unix).
    fn kill9(mut self) {
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

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bk-plugin-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn sigkill_twice_loses_nothing_and_commits_every_step_once() {
    let dir = temp_dir();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    // 1. Seed 1,200 invocations (half POLL x10 rounds, half waiting for a callback).
    let node1 = Node::start(&dir, SEED);
    let killed = vec![node1.pid()];
    let traces: Vec<(String, String)> = std::fs::read_to_string(dir.join("schedules.traces"))
        .unwrap()
        .lines()
        .map(|l| {
            let (v, t) = l.split_once(' ').unwrap();
            (v.to_owned(), t.to_owned())
        })
        .collect();
    assert_eq!(traces.len(), SEED);

    let store = rt
        .block_on(SqliteStore::open(dir.join("schedules.db")))
        .unwrap();
    let store: Arc<dyn Store> = Arc::new(store);
    let counts = rt.block_on(store.counts()).unwrap();
    let in_flight = counts.polling + counts.waiting_callback;
    assert!(in_flight >= 1000, "only {in_flight} in flight: {counts:?}");

    std::thread::sleep(Duration::from_millis(300));
    node1.kill9();

    // 2. While no server runs, the callback schedules still accept their callbacks.
    let caller = Engine::builder(bk_plugin_kit::registry(), store.clone())
        .callbacks(CallbackSigner::new(
            CallbackKey::from_app_secret(SECRET),
            "",
            "dev",
        ))
        .build();
    let waiting: Vec<&String> = traces
        .iter()
        .filter(|(v, _)| v == "9.1.0")
        .map(|(_, t)| t)
        .collect();
    let deliver = |traces: &[&String]| {
        for trace in traces {
            let record = rt.block_on(caller.schedule(trace)).unwrap().unwrap();
            let url = record.outputs["callback_url"].as_str().unwrap().to_owned();
            rt.block_on(caller.callback(token_of(&url), json!({"from": "test"})))
                .unwrap_or_else(|e| panic!("callback for {trace}: {e}"));
        }
    };
    let (first_half, second_half) = waiting.split_at(waiting.len() / 2);
    deliver(first_half);

    // 3. Restart, deliver the rest while it runs, kill it again mid-run.
    let node2 = Node::start(&dir, 0);
    let killed = [killed, vec![node2.pid()]].concat();
    deliver(second_half);
    std::thread::sleep(Duration::from_millis(400));
    node2.kill9();

    // 4. Restart and let everything finish.
    let node3 = Node::start(&dir, 0);
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let c = rt.block_on(store.counts()).unwrap();
        if c.polling + c.waiting_callback == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "not finished in time: {c:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(node3);

    // 5. Every invocation succeeded, with each step committed exactly once.
    for (version, trace) in &traces {
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

    // 6. A step ran more than once only when a killed process was running it.
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
    eprintln!(
        "crash test: {SEED} invocations, {in_flight} in flight at the first kill, {steps} steps, {reruns} re-run after a kill"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
