//! The settings table (`bk_plugin_setting`, migration 0002): `Store::get_setting` /
//! `put_setting` of each SQL store. One read and one upsert per dialect; the upsert differs
//! (`ON CONFLICT` in SQLite and PostgreSQL, `ON DUPLICATE KEY` in MySQL).

use std::time::{SystemTime, UNIX_EPOCH};

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Reading a setting is the same statement in every dialect but PostgreSQL's placeholder.
macro_rules! setting_fns {
    ($db:ty, $get:literal, $put:literal) => {
        pub(crate) async fn get(
            pool: &sqlx::Pool<$db>,
            name: &str,
        ) -> Result<Option<String>, sqlx::Error> {
            sqlx::query_scalar($get)
                .bind(name)
                .fetch_optional(pool)
                .await
        }

        pub(crate) async fn put(
            pool: &sqlx::Pool<$db>,
            name: &str,
            value: &str,
        ) -> Result<(), sqlx::Error> {
            sqlx::query($put)
                .bind(name)
                .bind(value)
                .bind(super::now_millis())
                .execute(pool)
                .await
                .map(drop)
        }
    };
}

#[cfg(feature = "sqlite")]
pub(crate) mod sqlite {
    setting_fns!(
        sqlx::Sqlite,
        "SELECT value FROM bk_plugin_setting WHERE name = ?",
        "INSERT INTO bk_plugin_setting (name, value, updated_at) VALUES (?, ?, ?) \
         ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at"
    );
}

#[cfg(feature = "postgres")]
pub(crate) mod postgres {
    setting_fns!(
        sqlx::Postgres,
        "SELECT value FROM bk_plugin_setting WHERE name = $1",
        "INSERT INTO bk_plugin_setting (name, value, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at"
    );
}

#[cfg(feature = "mysql")]
pub(crate) mod mysql {
    setting_fns!(
        sqlx::MySql,
        "SELECT value FROM bk_plugin_setting WHERE name = ?",
        "INSERT INTO bk_plugin_setting (name, value, updated_at) VALUES (?, ?, ?) \
         ON DUPLICATE KEY UPDATE value = VALUES(value), updated_at = VALUES(updated_at)"
    );
}
