//! Connecting a [`MySqlStore`]: pool options, session settings, migrations under a checked
//! lock.

use std::str::FromStr;
use std::time::Duration;

use bk_plugin_engine::store::{StoreError, StoreResult};
use sqlx::mysql::{MySqlConnectOptions, MySqlPoolOptions};
use sqlx::{Executor, MySqlPool};

use super::{MySqlStore, db_err};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/mysql");

/// How to connect to MySQL / MariaDB.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct MySqlOptions {
    /// Most connections in the pool (default 10).
    pub max_connections: u32,
    /// How long to wait for a free connection, or for the server when connecting
    /// (default 5 s: while the server is down, work waits this long before it is retried;
    /// requests are answered sooner, see `EngineConfig::store_timeout`).
    pub acquire_timeout: Duration,
    /// A connection is closed after this long (default 3 min), and after
    /// [`idle_timeout`](Self::idle_timeout) unused (default 30 s): MySQL servers and the
    /// proxies in front of them drop connections they find idle (`wait_timeout`), and a
    /// dropped pooled connection would fail the next step that picks it.
    pub max_lifetime: Duration,
    /// See [`max_lifetime`](Self::max_lifetime).
    pub idle_timeout: Duration,
}

impl Default for MySqlOptions {
    fn default() -> Self {
        MySqlOptions {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(5),
            max_lifetime: Duration::from_secs(180),
            idle_timeout: Duration::from_secs(30),
        }
    }
}

/// How long a replica waits for another one to finish migrating (seconds).
const MIGRATION_LOCK_WAIT_SECS: i64 = 600;

/// Applies the missing migrations while holding a named lock of the database.
///
/// sqlx's migrator takes such a lock itself, but as `GET_LOCK(name, -1)` without checking the
/// result: MariaDB reads a negative timeout as "don't wait" and returns NULL at once, so two
/// replicas starting together would both apply the migrations (and one fail on
/// `_sqlx_migrations`' primary key; `tests/store/migrations.rs` caught it). The lock here is
/// taken with a positive timeout and checked; the migrator runs on the same connection.
async fn migrate(pool: &MySqlPool) -> StoreResult<()> {
    const LOCK: &str = "CONCAT('bk_plugin_migrate_', MD5(DATABASE()))";
    let mut conn = pool.acquire().await.map_err(db_err("connect"))?;
    let got: Option<i64> = sqlx::query_scalar(&format!("SELECT GET_LOCK({LOCK}, ?)"))
        .bind(MIGRATION_LOCK_WAIT_SECS)
        .fetch_one(&mut *conn)
        .await
        .map_err(db_err("migration lock"))?;
    if got != Some(1) {
        return Err(StoreError::new(format!(
            "mysql: migrations: another process held the migration lock for {MIGRATION_LOCK_WAIT_SECS} s"
        )));
    }
    let result = MIGRATOR.run_direct(&mut *conn).await;
    // Released with the connection anyway if this fails.
    let _ = sqlx::query(&format!("SELECT RELEASE_LOCK({LOCK})"))
        .execute(&mut *conn)
        .await;
    result.map_err(|e| StoreError::with_source("mysql: migrations", e))
}

impl MySqlStore {
    /// Connects to a `mysql://user:password@host:port/database` URL (`mariadb://` is
    /// accepted as a synonym; parameters as sqlx reads them, e.g. `?ssl-mode=required`) and
    /// applies the missing migrations.
    ///
    /// Migrations run under a named lock (`GET_LOCK`, per database) held while they are
    /// applied: several replicas starting at once are safe, one migrates and the others wait,
    /// then find nothing left to apply.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        Self::connect_with(url, MySqlOptions::default()).await
    }

    /// [`connect`](Self::connect) with explicit pool options.
    pub async fn connect_with(url: &str, options: MySqlOptions) -> StoreResult<Self> {
        let url = match url.strip_prefix("mariadb://") {
            Some(rest) => format!("mysql://{rest}"),
            None => url.to_owned(),
        };
        let connect = MySqlConnectOptions::from_str(&url).map_err(db_err("connection URL"))?;
        let pool = MySqlPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.acquire_timeout)
            .max_lifetime(options.max_lifetime)
            .idle_timeout(options.idle_timeout)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    // Locking reads see the newest committed rows; no gap locks.
                    conn.execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
                        .await?;
                    Ok(())
                })
            })
            .connect_with(connect)
            .await
            .map_err(db_err("connect"))?;
        migrate(&pool).await?;
        Ok(MySqlStore { pool })
    }

    /// Closes the connections.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}
