//! Orphans at startup: a store holding unfinished invocations of a version the binary no
//! longer has (here written through the store API, as an older binary would have left them).
//! The real plugin binary lists them and refuses to start, saying how to override; with
//! `--allow-orphans` or `BK_PLUGIN_ALLOW_ORPHANS=1` it starts and warns.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use bk_plugin_engine::Timestamp;
use bk_plugin_engine::store::{ScheduleRecord, Store};
use bk_plugin_kit::prelude::State;
use bk_plugin_kit::serde_json::json;
use bk_plugin_store::SqliteStore;
use bk_plugin_tests::support::temp_dir;

/// The test binary in dev on a free loopback port over the SQLite file `db`.
fn plugin_server(db: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_plugin-server"));
    cmd.env_clear()
        .env("BKPAAS_ENVIRONMENT", "dev")
        .env("BKPAAS_APP_ID", "my-plugin")
        .env("BKPAAS_APP_SECRET", "s")
        .env("BK_PLUGIN_LISTEN", "127.0.0.1:0")
        .env("DATABASE_URL", db);
    cmd
}

/// Starts the server; returns it, its address and the stderr lines before the startup line.
fn start(cmd: &mut Command) -> (Child, String, Vec<String>) {
    let mut child = cmd.stderr(Stdio::piped()).spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let mut before = Vec::new();
    loop {
        match lines.next() {
            Some(Ok(l)) if l.contains(" on http://") => {
                let addr = l.split(" on http://").nth(1).unwrap();
                let addr = addr.split('/').next().unwrap().to_owned();
                std::thread::spawn(move || lines.for_each(drop));
                return (child, addr, before);
            }
            Some(Ok(l)) => before.push(l),
            other => panic!(
                "the server did not start: {other:?}, {before:?}, {:?}",
                child.wait()
            ),
        }
    }
}

fn row(version: &str, state: State) -> ScheduleRecord {
    let mut r = ScheduleRecord::new(
        bk_plugin_engine::new_id(),
        version.to_owned(),
        state,
        json!({}),
        json!({}),
        Timestamp::from_millis(1_700_000_000_000),
    );
    r.next_run_at = Some(Timestamp::from_millis(1_700_000_000_000));
    r
}

async fn meta_ok(addr: &str) {
    let r = reqwest::get(format!("http://{addr}/bk_plugin/meta/"))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("\"result\":true"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_invocations_of_a_removed_version_stop_the_start_unless_allowed() {
    let db = format!(
        "sqlite://{}",
        temp_dir("orphans").join("orphans.db").display()
    );
    {
        let store = SqliteStore::connect(&db).await.unwrap();
        // Two waiting on a version this binary does not have, one on a served version.
        store.create(row("0.0.1", State::Poll)).await.unwrap();
        store.create(row("0.0.1", State::Callback)).await.unwrap();
        store.create(row("1.0.0", State::Poll)).await.unwrap();
        store.close().await;
    }

    let out = plugin_server(&db).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "unfinished invocations of versions this binary does not serve: 0.0.1 (2 waiting)."
        ) && stderr.contains("--allow-orphans")
            && stderr.contains("BK_PLUGIN_ALLOW_ORPHANS=1")
            && !stderr.contains("1.0.0 ("),
        "{stderr}"
    );

    // The flag: it starts, and warns with the same list.
    let (mut child, addr, before) = start(plugin_server(&db).arg("--allow-orphans"));
    assert!(
        before
            .iter()
            .any(|l| l.contains("warning") && l.contains("0.0.1 (2 waiting)")),
        "{before:?}"
    );
    meta_ok(&addr).await;
    child.kill().unwrap();
    child.wait().unwrap();

    // The variable, as `serve --allow-orphans` would.
    let (mut child, addr, _) = start(plugin_server(&db).env("BK_PLUGIN_ALLOW_ORPHANS", "true"));
    meta_ok(&addr).await;
    child.kill().unwrap();
    child.wait().unwrap();

    // A value that is neither: refused, saying what it takes.
    let out = plugin_server(&db)
        .env("BK_PLUGIN_ALLOW_ORPHANS", "yes")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("BK_PLUGIN_ALLOW_ORPHANS") && stderr.contains("write 1 or true"),
        "{stderr}"
    );
}
