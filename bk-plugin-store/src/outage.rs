//! Which database errors mean the store is unavailable ([`StoreError::is_unavailable`]): the
//! server cannot be reached, went away, or its disk is full or read-only. Retrying those
//! later succeeds; the engine answers callers at once and backs off meanwhile. Every other
//! error (a constraint, a corrupt row, a statement the server rejects) is not an outage.

use bk_plugin_engine::store::StoreError;

/// The [`StoreError`] for `e`, which `backend` gave while doing `what`.
pub(crate) fn db_error(backend: &str, what: &str, e: sqlx::Error) -> StoreError {
    let outage = is_outage(&e);
    let err = StoreError::with_source(format!("{backend}: {what}"), e);
    if outage { err.unavailable() } else { err }
}

fn is_outage(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => database_outage(db.as_ref()),
        _ => false,
    }
}

/// MySQL / MariaDB error numbers of an outage: disk full (1021), server shutdown (1053),
/// table full (1114), read-only (1290, 1792, 1836), too many connections (1040), and the
/// client's connection errors (2002, 2003, 2006, 2013).
#[cfg(feature = "mysql")]
const MYSQL_OUTAGE: [u16; 11] = [
    1021, 1040, 1053, 1114, 1290, 1792, 1836, 2002, 2003, 2006, 2013,
];

/// SQLite primary result codes of an outage: BUSY (5, another process holds the write lock
/// past the busy timeout), LOCKED (6), READONLY (8), IOERR (10), FULL (13), CANTOPEN (14).
#[cfg(feature = "sqlite")]
const SQLITE_OUTAGE: [i64; 6] = [5, 6, 8, 10, 13, 14];

fn database_outage(db: &dyn sqlx::error::DatabaseError) -> bool {
    #[cfg(feature = "mysql")]
    if let Some(my) = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
        return MYSQL_OUTAGE.contains(&my.number());
    }
    #[cfg(feature = "sqlite")]
    if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
        // The extended result code: its low byte is the primary code.
        let code = db.code().and_then(|c| c.parse::<i64>().ok()).unwrap_or(0);
        return SQLITE_OUTAGE.contains(&(code & 0xff));
    }
    #[cfg(feature = "postgres")]
    if db
        .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
        .is_some()
    {
        return postgres_outage(&db.code().unwrap_or_default());
    }
    let _ = db;
    false
}

/// PostgreSQL SQLSTATEs of an outage: connection exceptions (class 08), insufficient
/// resources such as a full disk (class 53), operator intervention: shutdown, crash
/// recovery, cannot connect now (57P01–57P03), and a read-only transaction (25006, a
/// replica promoted the other way).
#[cfg(feature = "postgres")]
fn postgres_outage(code: &str) -> bool {
    code.starts_with("08")
        || code.starts_with("53")
        || matches!(code, "57P01" | "57P02" | "57P03" | "25006")
}
