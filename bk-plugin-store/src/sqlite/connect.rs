//! Opening a [`SqliteStore`]: the file's options, WAL, the writer and reader pools, migrations.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use bk_plugin_engine::store::{StoreError, StoreResult};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::{SqliteStore, db_err};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// How to open the SQLite file.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SqliteOptions {
    /// `synchronous` pragma: `NORMAL` (default) survives a process crash (kill -9) with no
    /// loss; `FULL` also survives power loss, at the cost of an fsync per transaction.
    pub full_sync: bool,
    /// How long to wait for another process holding the write lock (default 10 s).
    pub busy_timeout: Duration,
    /// Reader connections (default 4).
    pub readers: u32,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            full_sync: false,
            busy_timeout: Duration::from_secs(10),
            readers: 4,
        }
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path` and applies migrations.
    pub async fn open(path: impl AsRef<Path>) -> StoreResult<Self> {
        Self::open_with(path, SqliteOptions::default()).await
    }

    /// Opens a `sqlite://path` URL (or a bare path).
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        Self::open(path).await
    }

    /// Opens with explicit options.
    pub async fn open_with(path: impl AsRef<Path>, options: SqliteOptions) -> StoreResult<Self> {
        let connect = SqliteConnectOptions::from_str("sqlite://")
            .map_err(db_err("options"))?
            .filename(path.as_ref())
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(if options.full_sync {
                SqliteSynchronous::Full
            } else {
                SqliteSynchronous::Normal
            })
            .busy_timeout(options.busy_timeout)
            .foreign_keys(true);
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(60))
            .connect_with(connect.clone())
            .await
            .map_err(db_err("open"))?;
        // Migrations may be run by several processes at once; the write lock serialises them.
        MIGRATOR
            .run(&writer)
            .await
            .map_err(|e| StoreError::with_source("sqlite: migrations", e))?;
        let readers = SqlitePoolOptions::new()
            .max_connections(options.readers.max(1))
            .acquire_timeout(Duration::from_secs(60))
            .connect_with(connect.read_only(true))
            .await
            .map_err(db_err("open readers"))?;
        Ok(SqliteStore { writer, readers })
    }

    /// Closes the connections.
    pub async fn close(&self) {
        self.readers.close().await;
        self.writer.close().await;
    }
}
