//! Durable schedule stores of [bk-plugin-kit](https://docs.rs/bk-plugin-kit): implementations
//! of [`bk_plugin_engine::store::Store`].
//!
//! - [`SqliteStore`] (feature `sqlite`, default): an embedded SQLite file in WAL mode, so a
//!   single binary needs no other service.
//! - `PostgresStore` (feature `postgres`): a PostgreSQL database that several replicas
//!   share; claims use `FOR UPDATE SKIP LOCKED`, so replicas never claim the same row.
//! - `MySqlStore` (feature `mysql`): the same for MySQL 8 / MariaDB 10.6+, the database
//!   BlueKing PaaS provides.
//!
//! Schema migrations are versioned SQL files (`migrations/<backend>/NNNN_name.sql`) embedded in
//! the binary and applied at startup by `SqliteStore::open` / `PostgresStore::connect` / `MySqlStore::connect`; the
//! applied versions are recorded in `_sqlx_migrations`.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use bk_plugin_engine::store::Store;
//! use bk_plugin_store::SqliteStore;
//!
//! let dir = std::env::temp_dir().join(format!("bk-plugin-store-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let store = SqliteStore::open(dir.join("schedules.db")).await.unwrap();
//! assert!(store.get("0123456789abcdef0123456789abcdef").await.unwrap().is_none());
//! # std::fs::remove_dir_all(&dir).ok();
//! # });
//! ```
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
mod codec;
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
mod held;
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
mod inspection;
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
mod outage;
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
mod settings;
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
mod sql;
#[cfg(feature = "sqlite")]
mod sqlite;
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
mod steps;

#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use sqlite::{SqliteOptions, SqliteStore};

#[cfg(feature = "postgres")]
mod postgres;

#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use postgres::{PostgresOptions, PostgresStore};

#[cfg(feature = "mysql")]
mod mysql;

#[cfg(feature = "mysql")]
#[cfg_attr(docsrs, doc(cfg(feature = "mysql")))]
pub use mysql::{MySqlOptions, MySqlStore};
