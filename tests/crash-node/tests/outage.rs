//! Store outages, as a user meets them: the plugin binary (`crash-node` serving HTTP, served by
//! `bk_plugin_kit::run()`) with 300 POLL invocations in flight loses its database for about
//! 10 s: PostgreSQL and MariaDB stopped and started again (the commands come from CI:
//! `BK_PLUGIN_TEST_POSTGRES_STOP` / `_START`, `BK_PLUGIN_TEST_MYSQL_STOP` / `_START`), the
//! SQLite file's disk full (a 16 MiB tmpfs filled up, which needs root and `mount`).
//!
//! Meanwhile every request is answered within 2 s: invoke and schedule with 503 and the
//! error envelope (or, for an invoke that finds the outage first, FAIL with `schedule create
//! error`), meta and detail with 200. The outage is logged once, not per attempt. When the
//! store returns, every invocation finishes, each step having run exactly once.
//!
//! `BK_PLUGIN_REQUIRE_OUTAGE=1` makes a missing command, or a tmpfs that cannot be mounted, a
//! failure instead of a skip.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use bk_plugin_kit::serde_json::{Value, json};
use bk_plugin_tests::stores::{MYSQL, POSTGRES, Server};
use bk_plugin_tests::support::{temp_dir, two_worker_runtime};

/// Invocations in flight when the store goes away.
const IN_FLIGHT: usize = 300;
/// Rounds of each (100 ms apart): they are still polling when the outage ends.
const ROUNDS: u32 = 150;
/// Rounds of the invocations made during the outage.
const PROBE_ROUNDS: u32 = 2;
/// How long the store stays away.
const OUTAGE: Duration = Duration::from_secs(10);
/// The bound on every answer during the outage.
const ANSWER_WITHIN: Duration = Duration::from_secs(2);

fn required() -> bool {
    std::env::var("BK_PLUGIN_REQUIRE_OUTAGE").is_ok_and(|v| v == "1")
}

fn skip(why: &str) {
    assert!(!required(), "BK_PLUGIN_REQUIRE_OUTAGE=1 but {why}");
    eprintln!("skipped: {why}");
}

/// One at a time: each test stops a shared server or mounts a disk, and runs 300 invocations.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn postgres_stopped_for_10s_mid_run() {
    database_outage(POSTGRES, "BK_PLUGIN_TEST_POSTGRES");
}

#[test]
fn mysql_stopped_for_10s_mid_run() {
    database_outage(MYSQL, "BK_PLUGIN_TEST_MYSQL");
}

fn database_outage(server: Server, prefix: &str) {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let rt = two_worker_runtime();
    let Some(db) = rt.block_on(server.fresh_url()) else {
        return skip(&format!("{} is unset", server.url_var));
    };
    let (Ok(stop), Ok(start)) = (
        std::env::var(format!("{prefix}_STOP")),
        std::env::var(format!("{prefix}_START")),
    ) else {
        return skip(&format!("{prefix}_STOP / {prefix}_START are unset"));
    };
    let dir = temp_dir("outage");
    let fault = Fault {
        begin: Box::new(move || shell(&stop)),
        end: Box::new({
            let start = start.clone();
            move || shell(&start)
        }),
    };
    // If the test fails while the server is down, later tests still find it.
    let _restart = Restart(start);
    run_outage(&rt, &db, &dir, fault, Expect::Stopped);
}

#[test]
fn sqlite_disk_full_for_10s_mid_run() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let rt = two_worker_runtime();
    let dir = temp_dir("outage-sqlite");
    let disk = dir.join("disk");
    std::fs::create_dir_all(&disk).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=16m", "tmpfs"])
        .arg(&disk)
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        return skip("a tmpfs cannot be mounted here (needs root and mount)");
    }
    let _unmount = Unmount(disk.clone());
    let db = format!("sqlite://{}", disk.join("plugin.db").display());
    let filler = disk.join("filler");
    let fault = Fault {
        begin: Box::new({
            let filler = filler.clone();
            move || fill(&filler)
        }),
        end: Box::new(move || std::fs::remove_file(&filler).unwrap()),
    };
    run_outage(&rt, &db, &dir, fault, Expect::DiskFull);
    let check = Command::new("python3")
        .arg("-c")
        .arg("import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('PRAGMA integrity_check').fetchone()[0])")
        .arg(disk.join("plugin.db"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&check.stdout).trim(), "ok");
}

/// What the store does during the outage.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    /// Nothing answers: invoke and schedule must be refused.
    Stopped,
    /// Reads work, writes fail once the free pages run out.
    DiskFull,
}

struct Fault {
    begin: Box<dyn Fn()>,
    end: Box<dyn Fn()>,
}

fn run_outage(rt: &tokio::runtime::Runtime, db: &str, dir: &Path, fault: Fault, expect: Expect) {
    let server = PluginServer::start(db, dir);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let base = server.base.clone();
    let mut traces: Vec<(String, u32)> = rt.block_on(invoke_many(&http, &base, IN_FLIGHT));

    (fault.begin)();
    let began = Instant::now();
    let mut seen: HashMap<&'static str, usize> = HashMap::new();
    while began.elapsed() < OUTAGE {
        let probe_trace = traces[seen.len() % traces.len()].0.clone();
        let answers = rt.block_on(during_outage(&http, &base, &probe_trace));
        for (kind, trace) in answers {
            *seen.entry(kind).or_default() += 1;
            if let Some(t) = trace {
                traces.push((t, PROBE_ROUNDS));
            }
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    (fault.end)();
    eprintln!("answers during the outage: {seen:?}");
    assert!(
        seen.get("invoke refused").copied().unwrap_or(0)
            + seen.get("invoke failed").copied().unwrap_or(0)
            > 0,
        "no invoke saw the outage: {seen:?}"
    );
    if expect == Expect::Stopped {
        assert!(
            seen.get("schedule refused").copied().unwrap_or(0) > 0,
            "{seen:?}"
        );
    }

    rt.block_on(wait_finished(
        &http,
        &base,
        &traces,
        Duration::from_secs(180),
    ));
    let log = std::fs::read_to_string(dir.join("server.log")).unwrap();
    let down = log.matches("the schedule store is unavailable;").count();
    let up = log.matches("the schedule store answers again").count();
    eprintln!("outage logged {down} time(s), recovery {up} time(s)");
    // On a failure, the lines themselves: when, during what, and the error.
    let changes: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("the schedule store is unavailable;") || l.contains("answers again"))
        .collect();
    assert!(down >= 1 && up >= 1, "{down} / {up}: {changes:#?}");
    if expect == Expect::Stopped {
        assert_eq!(
            down, 1,
            "logged once per state change, not per attempt: {changes:#?}"
        );
    }
    assert_eq!(log.matches("claiming due schedules failed").count(), 0);
    drop(server);
    verify_once(dir, &traces);
}

/// `crash-node` serving HTTP on a free port.
struct PluginServer {
    child: Child,
    base: String,
}

impl PluginServer {
    fn start(db: &str, dir: &Path) -> PluginServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = std::fs::File::create(dir.join("server.log")).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_crash-node"))
            .env("CRASH_NODE_LOG", dir.join("executions.log"))
            .env("BKPAAS_ENVIRONMENT", "dev")
            .env("BK_PLUGIN_LISTEN", format!("127.0.0.1:{port}"))
            .env("DATABASE_URL", db)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}/bk_plugin");
        let started = Instant::now();
        while !answers(&format!("{base}/meta/")) {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the server did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        PluginServer { child, base }
    }
}

impl Drop for PluginServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether something answers a GET of `url` (HTTP/1.0 over a std socket), for the start-up
/// wait.
fn answers(url: &str) -> bool {
    use std::io::Read;
    let Some((host, path)) = url.strip_prefix("http://").and_then(|r| r.split_once('/')) else {
        return false;
    };
    let Ok(mut s) = std::net::TcpStream::connect(host) else {
        return false;
    };
    let mut head = [0u8; 12];
    write!(s, "GET /{path} HTTP/1.0\r\nHost: {host}\r\n\r\n").is_ok()
        && s.read_exact(&mut head).is_ok()
        && &head[9..12] == b"200"
}

async fn invoke(http: &reqwest::Client, base: &str, rounds: u32) -> reqwest::Result<(u16, Value)> {
    let r = http
        .post(format!("{base}/invoke/9.0.0"))
        .json(&json!({"inputs": {"rounds": rounds}, "context": {}}))
        .send()
        .await?;
    let status = r.status().as_u16();
    Ok((status, r.json().await?))
}

/// Invokes `n` (32 at a time); every one must be polling.
async fn invoke_many(http: &reqwest::Client, base: &str, n: usize) -> Vec<(String, u32)> {
    let mut traces = Vec::new();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..n {
        let (http, base) = (http.clone(), base.to_owned());
        tasks.spawn(async move { invoke(&http, &base, ROUNDS).await.unwrap() });
        if tasks.len() >= 32 || traces.len() + tasks.len() == n {
            while let Some(done) = tasks.join_next().await {
                let (status, body) = done.unwrap();
                assert_eq!((status, &body["data"]["state"]), (200, &json!(2)), "{body}");
                traces.push((body["trace_id"].as_str().unwrap().to_owned(), ROUNDS));
            }
        }
    }
    traces
}

/// The store-outage envelope: 503, `result: false`, `data: null`, a message, a trace id.
fn assert_refused(status: u16, body: &Value) {
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["result"], json!(false), "{body}");
    assert_eq!(body["data"], Value::Null, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("store is unavailable"),
        "{body}"
    );
    assert_eq!(body["trace_id"].as_str().unwrap().len(), 32, "{body}");
}

/// One request of each kind, each timed; what they answered, and the trace id of an invoke
/// that was accepted (it must finish too).
async fn during_outage(
    http: &reqwest::Client,
    base: &str,
    trace: &str,
) -> Vec<(&'static str, Option<String>)> {
    let mut out = Vec::new();
    let t = Instant::now();
    let (status, body) = invoke(http, base, PROBE_ROUNDS)
        .await
        .expect("invoke answered");
    assert!(
        t.elapsed() <= ANSWER_WITHIN,
        "invoke took {:?}",
        t.elapsed()
    );
    out.push(match (status, body["data"]["state"].as_u64()) {
        (200, Some(2)) => (
            "invoke accepted",
            Some(body["trace_id"].as_str().unwrap().to_owned()),
        ),
        (200, Some(5)) => {
            let err = body["data"]["err"].as_str().unwrap();
            assert!(err.starts_with("schedule create error: "), "{body}");
            ("invoke failed", None)
        }
        _ => {
            assert_refused(status, &body);
            ("invoke refused", None)
        }
    });
    let t = Instant::now();
    let r = http
        .get(format!("{base}/schedule/{trace}"))
        .send()
        .await
        .expect("schedule answered");
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap();
    assert!(
        t.elapsed() <= ANSWER_WITHIN,
        "schedule took {:?}",
        t.elapsed()
    );
    out.push(if status == 200 {
        assert_eq!(body["result"], json!(true), "{body}");
        ("schedule answered", None)
    } else {
        assert_refused(status, &body);
        ("schedule refused", None)
    });
    for path in ["meta/", "detail/9.0.0"] {
        let t = Instant::now();
        let r = http
            .get(format!("{base}/{path}"))
            .send()
            .await
            .expect("answered");
        assert_eq!(r.status().as_u16(), 200, "{path}");
        assert!(
            t.elapsed() <= ANSWER_WITHIN,
            "{path} took {:?}",
            t.elapsed()
        );
    }
    out
}

/// Waits until every trace is SUCCESS.
async fn wait_finished(
    http: &reqwest::Client,
    base: &str,
    traces: &[(String, u32)],
    limit: Duration,
) {
    let started = Instant::now();
    let mut left: Vec<&String> = traces.iter().map(|(t, _)| t).collect();
    while !left.is_empty() {
        assert!(
            started.elapsed() < limit,
            "{} not finished, e.g. {}",
            left.len(),
            left[0]
        );
        let mut still = Vec::new();
        for t in left {
            let body: Value = match http.get(format!("{base}/schedule/{t}")).send().await {
                Ok(r) => r.json().await.unwrap_or(Value::Null),
                Err(_) => Value::Null,
            };
            match body["data"]["state"].as_u64() {
                Some(4) => {}
                Some(5) => panic!("{t} failed: {body}"),
                _ => still.push(t),
            }
        }
        left = still;
        if !left.is_empty() {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

/// Every step of every invocation ran exactly once.
fn verify_once(dir: &Path, traces: &[(String, u32)]) {
    let log = std::fs::read_to_string(dir.join("executions.log")).unwrap();
    let mut runs: HashMap<(String, u32), usize> = HashMap::new();
    for line in log.lines() {
        let mut parts = line.split(' ');
        let trace = parts.next().unwrap().to_owned();
        let count: u32 = parts.next().unwrap().parse().unwrap();
        *runs.entry((trace, count)).or_default() += 1;
    }
    let mut steps = 0;
    for (trace, rounds) in traces {
        for count in 1..=*rounds {
            let n = runs.get(&(trace.clone(), count)).copied().unwrap_or(0);
            assert_eq!(n, 1, "{trace} step {count} ran {n} times");
            steps += 1;
        }
    }
    eprintln!(
        "{} invocations, {steps} steps, each run exactly once",
        traces.len()
    );
}

fn shell(cmd: &str) {
    let status = Command::new("sh").arg("-c").arg(cmd).status().unwrap();
    assert!(status.success(), "`{cmd}` failed: {status}");
}

/// Starts the database server again when the test ends, however it ends.
struct Restart(String);

impl Drop for Restart {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let _ = Command::new("sh").arg("-c").arg(&self.0).status();
        }
    }
}

/// Writes zeros to `path` until the disk is full.
fn fill(path: &PathBuf) {
    let mut f = std::fs::File::create(path).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    while f.write_all(&chunk).is_ok() {}
    let _ = f.sync_all();
}

struct Unmount(PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}
