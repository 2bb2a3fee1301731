//! The plugin binary's `schedules` subcommands (docs/deployment.md, "Operating
//! invocations"), run as an operator runs them: the real binary as a child process, the store
//! named by `DATABASE_URL` and no server running. On a SQLite file always, and on PostgreSQL
//! and MariaDB when their test servers are configured (CI).

use std::process::{Command, Output};
use std::time::Duration;

use bk_plugin_engine::store::{ScheduleRecord, Store};
use bk_plugin_engine::{Timestamp, new_id};
use bk_plugin_kit::prelude::*;
use bk_plugin_kit::serde_json::{Value, json};
use bk_plugin_tests::stores::{MYSQL, POSTGRES};
use bk_plugin_tests::support::temp_dir;

/// Runs `plugin-server schedules <args>` on the store at `db`.
fn schedules(db: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_plugin-server"))
        .arg("schedules")
        .args(args)
        .env_clear()
        .env("BKPAAS_ENVIRONMENT", "dev")
        .env("DATABASE_URL", db)
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The stdout of a command that must succeed.
fn ok(db: &str, args: &[&str]) -> String {
    let out = schedules(db, args);
    assert!(out.status.success(), "schedules {args:?}: {}", text(&out));
    String::from_utf8(out.stdout).unwrap()
}

fn json_of(db: &str, args: &[&str]) -> Value {
    let out = ok(db, args);
    bk_plugin_kit::serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

fn ids(rows: &Value) -> Vec<String> {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| r["trace_id"].as_str().unwrap().to_owned())
        .collect()
}

fn now() -> Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    Timestamp::from_millis(i64::try_from(ms).unwrap())
}

/// The invoke's W3C trace context, as the engine stores it.
const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

const DAY: Duration = Duration::from_secs(86_400);

/// A row of `version` created `age` ago: the binary serves `2.0.0` (the peer's poll /
/// callback demo, which sends no finish notification), not `0.9.0` (its rows notify whoever
/// their context names).
fn row(version: &str, state: State, age: Duration) -> ScheduleRecord {
    let created = Timestamp::from_millis(now().as_millis() - age.as_millis() as i64);
    let mut r = ScheduleRecord::new(
        new_id(),
        version.into(),
        state,
        json!({"mode": "poll", "db_password": "hunter2"}),
        json!({"plugin_callback_info": {"url": "https://sops.example.invalid/cb/?token=t0k", "data": {"node": "n1"}}}),
        created,
    );
    if state.is_finished() {
        r.finish_at = Some(created);
    } else if state == State::Poll {
        r.next_run_at = Some(now().saturating_add(Duration::from_secs(3600)));
    }
    r
}

/// Seeds four rows (POLL 1 day old, CALLBACK 2 days, SUCCESS 40 days, FAIL 50 days) and
/// drives every subcommand against `db`.
async fn operate(store: &dyn Store, db: &str) {
    let mut rows = [
        row("2.0.0", State::Poll, DAY),
        row("0.9.0", State::Callback, 2 * DAY),
        row("0.9.0", State::Success, 40 * DAY),
        row("2.0.0", State::Fail, 50 * DAY),
    ];
    rows[0].traceparent = Some(TRACEPARENT.into());
    let [poll, callback, success, failed] = rows.clone().map(|r| r.trace_id);
    for r in rows {
        store.create(r).await.unwrap();
    }

    // list: newest first, filters, the table.
    let all = json_of(db, &["list", "--json"]);
    assert_eq!(
        ids(&all),
        [
            poll.clone(),
            callback.clone(),
            success.clone(),
            failed.clone()
        ]
    );
    assert_eq!(all[0]["state"], 2);
    assert_eq!(all[0]["state_name"], "POLL");
    assert_eq!(all[0]["plugin_version"], "2.0.0");
    let waiting = json_of(db, &["list", "--state", "waiting", "--json"]);
    assert_eq!(ids(&waiting), [poll.clone(), callback.clone()]);
    let old = json_of(
        db,
        &["list", "--older-than", "30d", "--state", "fail", "--json"],
    );
    assert_eq!(ids(&old), std::slice::from_ref(&failed));
    let v2 = json_of(db, &["list", "--version", "2.0.0", "--json"]);
    assert_eq!(ids(&v2), [poll.clone(), failed.clone()]);
    let none = json_of(db, &["list", "--version", "1.0.0", "--json"]);
    assert_eq!(ids(&none), Vec::<String>::new());
    assert_eq!(
        ids(&json_of(db, &["list", "--limit", "1", "--json"])),
        std::slice::from_ref(&poll)
    );
    let table = ok(db, &["list"]);
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("TRACE_ID"), "{table}");
    assert!(
        lines[1].starts_with(&poll) && lines[1].contains("POLL (2)"),
        "{table}"
    );
    assert_eq!(lines.last().unwrap(), &"4 invocation(s)");

    // show: every part, secrets redacted.
    let shown = json_of(db, &["show", &poll, "--json"]);
    assert_eq!(shown["trace_id"], poll.as_str());
    assert_eq!(
        shown["inputs"],
        json!({"mode": "poll", "db_password": "***"})
    );
    assert_eq!(shown["lease"], Value::Null);
    assert_eq!(shown["traceparent"], TRACEPARENT);
    assert_eq!(shown["notifications"], json!([]));
    let shown = ok(db, &["show", &poll]);
    assert!(shown.contains("state         POLL (2)"), "{shown}");
    assert!(
        shown.contains(&format!("traceparent   {TRACEPARENT}")),
        "{shown}"
    );
    assert!(shown.contains("(in "), "the next poll: {shown}");
    assert!(!shown.contains("hunter2"), "{shown}");
    let missing = schedules(db, &["show", &"0".repeat(32)]);
    assert_eq!(missing.status.code(), Some(1), "{}", text(&missing));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("can not find schedule"));

    // fail: the waiting invocation is FAIL, naming the operator and the reason.
    let failed_now = ok(db, &["fail", &callback, "--reason", "stuck since Monday"]);
    let err = "plugin schedule failed: cancelled by operator: stuck since Monday";
    assert_eq!(failed_now.trim(), format!("{callback}: FAIL (5) ({err})"));
    let r = store.get(&callback).await.unwrap().unwrap();
    assert_eq!((r.state, r.err.as_str()), (State::Fail, err));
    // ... and its finish notification is enqueued (the context asks for one).
    let i = store.inspect(&callback).await.unwrap().unwrap();
    assert_eq!(i.notifications.len(), 1);

    // retry-notify: a finished invocation's notification, again; not for a waiting one.
    let again = ok(db, &["retry-notify", &success]);
    assert!(again.contains("enqueued anew"), "{again}");
    let i = store.inspect(&success).await.unwrap().unwrap();
    assert_eq!(i.notifications.len(), 1);
    assert_eq!(
        i.notifications[0].url,
        "https://sops.example.invalid/cb/?token=t0k"
    );
    let shown = ok(db, &["show", &success]);
    assert!(shown.contains("1 pending"), "{shown}");
    assert!(
        !shown.contains("t0k"),
        "notification URLs are redacted: {shown}"
    );
    for (trace, why) in [(&poll, "not finished"), (&failed, "no finish notification")] {
        let refused = schedules(db, &["retry-notify", trace]);
        assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(stderr.contains(why), "{}", text(&refused));
    }

    // purge: the two finished more than 30 days ago.
    assert_eq!(
        ok(db, &["purge", "--older-than", "30d"]).trim(),
        "purged 2 finished invocations"
    );
    assert_eq!(
        ids(&json_of(db, &["list", "--json"])),
        [poll.clone(), callback.clone()]
    );

    // Usage errors are clap's, exit 2.
    let bad = schedules(db, &["frobnicate"]);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
    let bad = schedules(db, &["list", "--older-than", "soon"]);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_list_show_fail_renotify_and_purge_on_sqlite() {
    let db = format!(
        "sqlite://{}",
        temp_dir("schedules-cli").join("app.db").display()
    );
    let store = bk_plugin_store::SqliteStore::connect(&db).await.unwrap();
    operate(&store, &db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_list_show_fail_renotify_and_purge_on_postgres() {
    let Some(db) = POSTGRES.fresh_url().await else {
        return eprintln!("BK_PLUGIN_TEST_POSTGRES_URL is not set: skipped");
    };
    let store = bk_plugin_store::PostgresStore::connect(&db).await.unwrap();
    operate(&store, &db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_list_show_fail_renotify_and_purge_on_mysql() {
    let Some(db) = MYSQL.fresh_url().await else {
        return eprintln!("BK_PLUGIN_TEST_MYSQL_URL is not set: skipped");
    };
    let store = bk_plugin_store::MySqlStore::connect(&db).await.unwrap();
    operate(&store, &db).await;
}
