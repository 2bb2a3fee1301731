//! Connecting a [`PostgresStore`]: pool options, migrations.

use std::str::FromStr;
use std::time::Duration;

use bk_plugin_engine::store::{StoreError, StoreResult};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use super::{PostgresStore, db_err};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// How to connect to PostgreSQL.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PostgresOptions {
    /// Most connections in the pool (default 10).
    pub max_connections: u32,
    /// How long to wait for a free connection, or for the server when connecting
    /// (default 5 s: while the server is down, work waits this long before it is retried;
    /// requests are answered sooner, see `EngineConfig::store_timeout`).
    pub acquire_timeout: Duration,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        PostgresOptions {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

impl PostgresStore {
    /// Connects to a `postgres://user:password@host:port/database` URL (any parameter
    /// libpq-style URLs accept that sqlx understands, e.g. `?sslmode=require` or
    /// `?options[search_path]=my_schema`) and applies the missing migrations.
    ///
    /// Migrations run under sqlx's migrator, which holds a PostgreSQL advisory lock (per
    /// database) while it applies them: several replicas starting at once are safe, one
    /// migrates and the others wait, then find nothing left to apply.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        Self::connect_with(url, PostgresOptions::default()).await
    }

    /// [`connect`](Self::connect) with explicit pool options.
    pub async fn connect_with(url: &str, options: PostgresOptions) -> StoreResult<Self> {
        let connect = PgConnectOptions::from_str(url).map_err(db_err("connection URL"))?;
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect)
            .await
            .map_err(db_err("connect"))?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| StoreError::with_source("postgres: migrations", e))?;
        Ok(PostgresStore { pool })
    }

    /// Closes the connections.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}
