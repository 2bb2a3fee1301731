//! The schedule stores every engine test runs against.
//!
//! Engine tests never name a store: they run their body once per store returned by
//! [`stores`], through [`each_store`] (current-thread runtime) or [`each_store_multi_thread`].
//! Adding a store implementation to [`stores`] runs the whole engine suite against it.
//!
//! [`stores`] is `async` because real stores open asynchronously (SQLite, ...), and a store
//! must be opened inside the runtime that will use it.

use std::future::Future;
use std::sync::Arc;

use bk_plugin_engine::store::{MemoryStore, Store};

/// A fresh, empty instance of every store implementation, with its name. Each call creates
/// new stores: a test case never sees rows of another case.
pub async fn stores() -> Vec<(&'static str, Arc<dyn Store>)> {
    vec![
        ("memory", Arc::new(MemoryStore::new()) as Arc<dyn Store>),
        ("sqlite", Arc::new(sqlite().await) as Arc<dyn Store>),
    ]
}

/// A SQLite store in a new file under the system temp dir (a real file: WAL needs one).
pub async fn sqlite() -> bk_plugin_store::SqliteStore {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "bk-plugin-tests-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    bk_plugin_store::SqliteStore::open(dir.join("schedules.db"))
        .await
        .expect("open SQLite store")
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
