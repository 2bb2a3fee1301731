//! Replicas starting at the same moment on a fresh database: every one opens its store, the
//! migrations are applied exactly once, and the stores work. On PostgreSQL and MySQL /
//! MariaDB when their test servers are provided (`tests/support/stores.rs`); SQLite is opened by one
//! process per file.

use std::future::Future;
use std::sync::Arc;

use bk_plugin_engine::store::Store;
use bk_plugin_tests::stores;

const REPLICAS: usize = 8;

/// Opens `REPLICAS` stores on `url` concurrently; checks the migration table and that each
/// store can read.
async fn start_together<S, F>(url: &str, open: fn(String) -> F, applied: impl Future<Output = i64>)
where
    S: Store,
    F: Future<Output = Result<S, bk_plugin_engine::store::StoreError>> + Send + 'static,
{
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..REPLICAS {
        tasks.spawn(open(url.to_owned()));
    }
    let mut opened: Vec<Arc<dyn Store>> = Vec::new();
    while let Some(r) = tasks.join_next().await {
        let store = r
            .unwrap()
            .unwrap_or_else(|e| panic!("a replica failed to start: {e}"));
        opened.push(Arc::new(store));
    }
    assert_eq!(opened.len(), REPLICAS);
    for store in &opened {
        assert!(
            store
                .get("0123456789abcdef0123456789abcdef")
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(store.counts().await.unwrap().polling, 0);
    }
    let migrations = std::fs::read_dir(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../bk-plugin-store/migrations/postgres"
    ))
    .unwrap()
    .count() as i64;
    assert_eq!(applied.await, migrations, "each migration applied once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_starting_together_on_postgres_migrate_once() {
    let Some(url) = stores::postgres_url().await else {
        return;
    };
    let check = {
        let url = url.clone();
        async move {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
                .fetch_one(&mut conn)
                .await
                .unwrap()
        }
    };
    start_together(
        &url,
        |u| async move { bk_plugin_store::PostgresStore::connect(&u).await },
        check,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_starting_together_on_mysql_migrate_once() {
    let Some(url) = stores::mysql_url().await else {
        return;
    };
    let check = {
        let url = url.clone();
        async move {
            use sqlx::Connection;
            let mut conn = sqlx::MySqlConnection::connect(&url).await.unwrap();
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
                .fetch_one(&mut conn)
                .await
                .unwrap()
        }
    };
    start_together(
        &url,
        |u| async move { bk_plugin_store::MySqlStore::connect(&u).await },
        check,
    )
    .await;
}
