//! SQLite-specific behaviour (the engine suite in `tests/engine/*.rs` runs on this store too):
//! data survives reopening, migrations are recorded once, an unreadable row is failed instead
//! of being claimed forever.

use std::path::PathBuf;

use bk_plugin_core::State;
use bk_plugin_engine::Timestamp;
use bk_plugin_engine::store::{LeaseRequest, ScheduleRecord, Store};
use bk_plugin_store::SqliteStore;
use serde_json::json;

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("bk-plugin-store-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn row(trace_id: &str, due: i64) -> ScheduleRecord {
    ScheduleRecord::new(
        trace_id.to_owned(),
        "1.0.0".to_owned(),
        State::Poll,
        json!({"a": 1}),
        json!({"executor": "admin"}),
        Timestamp::from_millis(0),
    )
    .poll_at(Timestamp::from_millis(due))
}

fn lease(id: i64) -> LeaseRequest<'static> {
    LeaseRequest {
        owner: "test",
        id,
        until: Timestamp::from_millis(1_000_000),
    }
}

#[tokio::test]
async fn rows_survive_reopening_and_migrations_run_once() {
    let d = dir("reopen");
    let path = d.join("s.db");
    let store = SqliteStore::open(&path).await.unwrap();
    store.create(row(&"a".repeat(32), 5)).await.unwrap();
    store.close().await;

    let store = SqliteStore::open(&path).await.unwrap();
    let r = store.get(&"a".repeat(32)).await.unwrap().unwrap();
    assert_eq!(r, row(&"a".repeat(32), 5));
    store.close().await;

    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let versions: Vec<i64> = sqlx::query_scalar("SELECT version FROM _sqlx_migrations")
        .fetch_all(&pool)
        .await
        .unwrap();
    // Each migration file applied once, in order (`NNNN_name.sql`: the number is the version).
    let mut files: Vec<i64> =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite"))
            .unwrap()
            .map(|e| {
                let name = e.unwrap().file_name().into_string().unwrap();
                name.split('_').next().unwrap().parse().unwrap()
            })
            .collect();
    files.sort();
    assert_eq!(versions, files);
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    let _ = std::fs::remove_dir_all(&d);
}

#[tokio::test]
async fn an_unreadable_row_is_failed_instead_of_claimed_forever() {
    let d = dir("corrupt");
    let path = d.join("s.db");
    let store = SqliteStore::open(&path).await.unwrap();
    store.create(row(&"b".repeat(32), 5)).await.unwrap();
    store.create(row(&"c".repeat(32), 5)).await.unwrap();

    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    sqlx::query("UPDATE bk_plugin_schedule SET storage = '{not json' WHERE trace_id = ?")
        .bind("b".repeat(32))
        .execute(&pool)
        .await
        .unwrap();

    // The healthy row is claimed; the corrupt one is failed with a clear error.
    let claims = store
        .claim_due(Timestamp::from_millis(10), lease(1), 10)
        .await
        .unwrap();
    assert_eq!(claims.len(), 1);
    assert_eq!(claims[0].record.trace_id, "c".repeat(32));
    let bad = store.get(&"b".repeat(32)).await;
    assert!(bad.is_err(), "the row stays unreadable: {bad:?}");
    let (state, err): (i64, String) =
        sqlx::query_as("SELECT state, err FROM bk_plugin_schedule WHERE trace_id = ?")
            .bind("b".repeat(32))
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(state, 5);
    assert!(
        err.starts_with(
            "plugin schedule failed: stored schedule cannot be read: corrupt JSON in column storage"
        ),
        "{err}"
    );
    // Never claimed again.
    let again = store
        .claim_due(Timestamp::from_millis(2_000_000), lease(2), 10)
        .await
        .unwrap();
    assert!(again.iter().all(|c| c.record.trace_id != "b".repeat(32)));
    let _ = std::fs::remove_dir_all(&d);
}
