//! The schedule stores every engine test runs against.
//!
//! Engine tests never name a store: they run their body once per store returned by
//! [`stores`], through [`each_store`] (current-thread runtime) or [`each_store_multi_thread`].
//! Adding a store implementation to [`stores`] runs the whole engine suite against it.
//!
//! [`stores`] is `async` because real stores open asynchronously (SQLite, ...), and a store
//! must be opened inside the runtime that will use it.
//!
//! The database servers join the list when their variable is set:
//!
//! - PostgreSQL: `BK_PLUGIN_TEST_POSTGRES_URL` (e.g. `postgres://user@127.0.0.1:5432/db`; the
//!   user needs `CREATE` on the database). Each call creates a new schema and a store whose
//!   connections use it as `search_path`.
//! - MySQL / MariaDB: `BK_PLUGIN_TEST_MYSQL_URL` (e.g. `mysql://user:pw@127.0.0.1:3306/db`;
//!   the user needs `CREATE` on the server). Each call creates a new database (MySQL's
//!   schemas) and a store connected to it.
//!
//! So cases never see each other's rows. Without a variable its server is not tested, unless
//! `BK_PLUGIN_REQUIRE_POSTGRES=1` / `BK_PLUGIN_REQUIRE_MYSQL=1` (CI), which make a missing URL
//! or an unreachable server a failure instead of a silent skip. The schemas and databases are
//! left behind: point the variables at a throwaway server.

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
    if let Some(store) = mysql().await {
        all.push(("mysql", Arc::new(store) as Arc<dyn Store>));
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

/// A database server the tests can use: the variable naming it and the one requiring it.
#[derive(Debug, Clone, Copy)]
pub struct Server {
    /// Which server.
    pub kind: ServerKind,
    /// Its name in messages.
    pub name: &'static str,
    /// The variable holding its URL.
    pub url_var: &'static str,
    /// The variable that, set to `1`, makes a missing URL a failure.
    pub require_var: &'static str,
}

/// The kinds of [`Server`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerKind {
    /// PostgreSQL.
    Postgres,
    /// MySQL / MariaDB.
    MySql,
}

/// The test PostgreSQL server.
pub const POSTGRES: Server = Server {
    kind: ServerKind::Postgres,
    name: "PostgreSQL",
    url_var: "BK_PLUGIN_TEST_POSTGRES_URL",
    require_var: "BK_PLUGIN_REQUIRE_POSTGRES",
};

/// The test MySQL / MariaDB server.
pub const MYSQL: Server = Server {
    kind: ServerKind::MySql,
    name: "MySQL",
    url_var: "BK_PLUGIN_TEST_MYSQL_URL",
    require_var: "BK_PLUGIN_REQUIRE_MYSQL",
};

impl Server {
    /// The URL of a new, empty schema ([`postgres_url`]) or database ([`mysql_url`]) on the
    /// server; `None` when it is not provided.
    pub async fn fresh_url(&self) -> Option<String> {
        match self.kind {
            ServerKind::Postgres => postgres_url().await,
            ServerKind::MySql => mysql_url().await,
        }
    }

    /// The server's URL; `None` when its variable is unset (a panic instead when it is
    /// required).
    pub fn url(&self) -> Option<String> {
        let required = std::env::var(self.require_var).is_ok_and(|v| v == "1");
        match std::env::var(self.url_var) {
            Ok(url) if !url.is_empty() => Some(url),
            _ if required => panic!(
                "{}=1 but {} is not set: the tests must also run against {}",
                self.require_var, self.url_var, self.name
            ),
            _ => None,
        }
    }
}

/// A name no other test case (of this or another process) uses.
fn unique_name() -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "bk_plugin_test_{}_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_micros()),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

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
    let url = POSTGRES.url()?;
    let schema = unique_name();
    {
        use sqlx::Connection;
        let mut admin = sqlx::PgConnection::connect(&url)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {} ({url}): {e}", POSTGRES.url_var));
        sqlx::query(&format!("CREATE SCHEMA {schema}"))
            .execute(&mut admin)
            .await
            .unwrap_or_else(|e| panic!("cannot create test schema {schema}: {e}"));
        admin.close().await.ok();
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    Some(format!("{url}{sep}options[search_path]={schema}"))
}

/// A MySQL / MariaDB store in a new database of the server at `$BK_PLUGIN_TEST_MYSQL_URL`;
/// `None` when the variable is unset (a panic instead if `BK_PLUGIN_REQUIRE_MYSQL=1`).
/// Panics when the variable is set but the server cannot be used.
pub async fn mysql() -> Option<bk_plugin_store::MySqlStore> {
    let store_url = mysql_url().await?;
    Some(
        bk_plugin_store::MySqlStore::connect(&store_url)
            .await
            .unwrap_or_else(|e| panic!("cannot open a MySQL store at {store_url}: {e}")),
    )
}

/// The URL of a new, empty database on the server at `$BK_PLUGIN_TEST_MYSQL_URL` (same rules
/// as [`mysql`]): the variable's URL with its database replaced.
pub async fn mysql_url() -> Option<String> {
    let url = MYSQL.url()?;
    let database = unique_name();
    {
        use sqlx::Connection;
        let mut admin = sqlx::MySqlConnection::connect(&url)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {} ({url}): {e}", MYSQL.url_var));
        sqlx::query(&format!("CREATE DATABASE {database}"))
            .execute(&mut admin)
            .await
            .unwrap_or_else(|e| panic!("cannot create test database {database}: {e}"));
        admin.close().await.ok();
    }
    Some(with_database(&url, &database))
}

/// `scheme://authority/<database>?query` from `url` (which may name another database or
/// none).
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let authority_end = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    let mut out = format!("{}/{database}", &base[..authority_end]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
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

#[cfg(test)]
mod tests {
    #[test]
    fn with_database_replaces_the_path() {
        let f = super::with_database;
        assert_eq!(f("mysql://u:p@h:1/db", "x"), "mysql://u:p@h:1/x");
        assert_eq!(f("mysql://u@h:1", "x"), "mysql://u@h:1/x");
        assert_eq!(
            f("mysql://h/db?ssl-mode=disabled", "x"),
            "mysql://h/x?ssl-mode=disabled"
        );
    }
}
