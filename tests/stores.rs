//! The schedule stores every engine test runs against.
//!
//! Engine tests never name a store: they run their body once per store returned by
//! [`stores`], through [`each_store`] (current-thread runtime) or [`each_store_multi_thread`].
//! Adding a store implementation to [`stores`] runs the whole engine suite against it.
//!
//! [`stores`] is `async` because real stores open asynchronously (SQLite, ...), and a store
//! must be opened inside the runtime that will use it.
//!
//! PostgreSQL joins the list when `BK_PLUGIN_TEST_POSTGRES_URL` is set (e.g.
//! `postgres://user@127.0.0.1:5432/db`; the user needs `CREATE` on the database): each call
//! then creates a new schema and a store whose connections use it as `search_path`, so cases
//! never see each other's rows. Without the variable the suite runs on memory and SQLite,
//! unless `BK_PLUGIN_REQUIRE_POSTGRES=1` (CI), which makes a missing URL or an unreachable
//! server a failure instead of a silent skip. The schemas are left behind: point the
//! variable at a throwaway database.

use std::future::Future;
use std::sync::Arc;

use bk_plugin_engine::store::{MemoryStore, Store};

/// A fresh, empty instance of every store implementation, with its name. Each call creates
/// new stores: a test case never sees rows of another case.
pub async fn stores() -> Vec<(&'static str, Arc<dyn Store>)> {
    let mut all = vec![
        ("memory", Arc::new(MemoryStore::new()) as Arc<dyn Store>),
        ("sqlite", Arc::new(sqlite().await) as Arc<dyn Store>),
    ];
    if let Some(store) = postgres().await {
        all.push(("postgres", Arc::new(store) as Arc<dyn Store>));
    }
    all
}

/// A SQLite store in a new file under the system temp dir (a real file: WAL needs one).
pub async fn sqlite() -> bk_plugin_store::SqliteStore {
    let dir = crate::support::temp_dir("tests");
    bk_plugin_store::SqliteStore::open(dir.join("schedules.db"))
        .await
        .expect("open SQLite store")
}

/// The variable naming the test PostgreSQL server.
pub const POSTGRES_URL_VAR: &str = "BK_PLUGIN_TEST_POSTGRES_URL";

/// A PostgreSQL store in a new schema of the database at `$BK_PLUGIN_TEST_POSTGRES_URL`;
/// `None` when the variable is unset (a panic instead if `BK_PLUGIN_REQUIRE_POSTGRES=1`).
/// Panics when the variable is set but the server cannot be used.
pub async fn postgres() -> Option<bk_plugin_store::PostgresStore> {
    let store_url = postgres_url().await?;
    Some(
        bk_plugin_store::PostgresStore::connect(&store_url)
            .await
            .unwrap_or_else(|e| panic!("cannot open a PostgreSQL store at {store_url}: {e}")),
    )
}

/// The URL of a new, empty schema of the database at `$BK_PLUGIN_TEST_POSTGRES_URL` (same
/// rules as [`postgres`]).
pub async fn postgres_url() -> Option<String> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let required = std::env::var("BK_PLUGIN_REQUIRE_POSTGRES").is_ok_and(|v| v == "1");
    let url = match std::env::var(POSTGRES_URL_VAR) {
        Ok(url) if !url.is_empty() => url,
        _ if required => panic!(
            "BK_PLUGIN_REQUIRE_POSTGRES=1 but {POSTGRES_URL_VAR} is not set: \
             the engine tests must also run against PostgreSQL"
        ),
        _ => return None,
    };
    let schema = format!(
        "bk_plugin_test_{}_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_micros()),
        N.fetch_add(1, Ordering::Relaxed)
    );
    {
        use sqlx::Connection;
        let mut admin = sqlx::PgConnection::connect(&url)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {POSTGRES_URL_VAR} ({url}): {e}"));
        sqlx::query(&format!("CREATE SCHEMA {schema}"))
            .execute(&mut admin)
            .await
            .unwrap_or_else(|e| panic!("cannot create test schema {schema}: {e}"));
        admin.close().await.ok();
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    Some(format!("{url}{sep}options[search_path]={schema}"))
}

/// Prints which store a failing case ran against.
struct Announce(&'static str);

impl Drop for Announce {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("^^^ this engine test case failed with store `{}`", self.0);
        }
    }
}

/// Runs `case` once per store of [`stores`] (each fresh), one after another, on a tokio
/// current-thread runtime with time enabled.
pub fn each_store<F, Fut>(case: F)
where
    F: FnMut(&'static str, Arc<dyn Store>) -> Fut,
    Fut: Future<Output = ()>,
{
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread tokio runtime");
    rt.block_on(run_all(case));
}

/// Like [`each_store`], on a multi-thread runtime with `workers` worker threads.
pub fn each_store_multi_thread<F, Fut>(workers: usize, case: F)
where
    F: FnMut(&'static str, Arc<dyn Store>) -> Fut,
    Fut: Future<Output = ()>,
{
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .expect("a multi-thread tokio runtime");
    rt.block_on(run_all(case));
}

async fn run_all<F, Fut>(mut case: F)
where
    F: FnMut(&'static str, Arc<dyn Store>) -> Fut,
    Fut: Future<Output = ()>,
{
    let all = stores().await;
    assert!(!all.is_empty(), "no store to test");
    for (name, store) in all {
        let _announce = Announce(name);
        case(name, store).await;
    }
}
