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
    /// The page cache of the writer connection, in KiB (default 2,048, SQLite's own default).
    /// Claims and step writes go through it.
    pub writer_cache_kib: u32,
    /// The page cache of each reader connection, in KiB (default 256). Readers answer
    /// `schedule/{trace_id}` and the scheduler's "when is the next row due" (point and index
    /// reads); at SQLite's default of 2 MiB each, four readers held up to 8 MiB
    /// (docs/benchmarks.md, "Memory").
    pub reader_cache_kib: u32,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            full_sync: false,
            busy_timeout: Duration::from_secs(10),
            readers: 4,
            writer_cache_kib: 2048,
            reader_cache_kib: 256,
        }
    }
}

/// The `cache_size` pragma's value for `kib` KiB (a negative number is KiB, a positive one
/// pages).
fn cache_size(kib: u32) -> String {
    format!("-{}", kib.max(1))
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
            .connect_with(
                connect
                    .clone()
                    .pragma("cache_size", cache_size(options.writer_cache_kib)),
            )
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
            .connect_with(
                connect
                    .read_only(true)
                    .pragma("cache_size", cache_size(options.reader_cache_kib)),
            )
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

#[cfg(test)]
mod tests {
    use super::SqliteOptions;
    use crate::sqlite::tests::TempStore;

    #[tokio::test]
    async fn the_writer_and_the_readers_get_their_page_caches() {
        let options = SqliteOptions {
            writer_cache_kib: 1000,
            reader_cache_kib: 100,
            ..SqliteOptions::default()
        };
        let temp = TempStore::open("cache", options).await;
        let store = &temp.store;
        let pragma = |pool| async move {
            sqlx::query_scalar::<_, i64>("PRAGMA cache_size")
                .fetch_one(pool)
                .await
                .unwrap()
        };
        assert_eq!(pragma(&store.writer).await, -1000);
        assert_eq!(pragma(&store.readers).await, -100);
        store.close().await;
    }
}
