//! [`MySqlStore`]: schedules in a MySQL 8 / MariaDB 10.6+ database shared by several
//! replicas — the database BlueKing PaaS provides to apps.
//!
//! Same tables and semantics as the SQLite and PostgreSQL stores (`migrations/mysql/`).
//! What differs from PostgreSQL, because neither server has `UPDATE … RETURNING`:
//!
//! - Claims (`claim_due`, `claim_notifications`) are a short transaction: `SELECT key … FOR
//!   UPDATE SKIP LOCKED LIMIT n` picks and locks the candidates (rows other replicas are
//!   claiming are skipped, not waited for), an `UPDATE … WHERE key IN (…)` writes the lease,
//!   and a `SELECT` reads the claimed rows back before `COMMIT`. Sessions run at READ
//!   COMMITTED, so a locking read sees the newest committed lease and InnoDB takes no gap
//!   locks that would make claims and inserts wait for each other.
//! - `complete_many` locks the rows it may write (`SELECT … WHERE (trace_id, lease_id) IN
//!   (…) FOR UPDATE`) and then writes them with one `UPDATE … JOIN (SELECT … UNION ALL …)`:
//!   the locked rows are exactly the ones whose lease still holds.
//! - `push_callback` reads the state `LOCK IN SHARE MODE` (understood by both servers), so a
//!   concurrent transition of the row is ordered before or after the push.
//! - `create_many` inserts each chunk with one multi-row `INSERT`; only when a trace id
//!   already exists (rare: ids are random) does it redo that chunk row by row to tell which.
//!
//! A transaction InnoDB picks as a deadlock victim is retried (a few times, at once); the
//! statements above take their locks in one order, so this is a safety net, not a path the
//! store relies on.

use crate::codec::{self, RECORD_COLUMNS, from_text, to_text, ts};
use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::time::Duration;

use bk_plugin_core::{BoxFuture, State};
use bk_plugin_engine::Timestamp;
use bk_plugin_engine::store::{
    Claim, Counts, Delivery, LeaseRequest, Notification, PushOutcome, QueuedCallback,
    ScheduleRecord, Store, StoreError, StoreResult, Transition,
};
use serde_json::{Map, Value};
use sqlx::mysql::{MySqlConnectOptions, MySqlPoolOptions, MySqlRow};
use sqlx::{Executor, MySql, MySqlConnection, MySqlPool, Row};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/mysql");

/// How to connect to MySQL / MariaDB.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct MySqlOptions {
    /// Most connections in the pool (default 10).
    pub max_connections: u32,
    /// How long to wait for a free connection, or for the server when connecting
    /// (default 30 s).
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
            acquire_timeout: Duration::from_secs(30),
            max_lifetime: Duration::from_secs(180),
            idle_timeout: Duration::from_secs(30),
        }
    }
}

/// A [`Store`] in a MySQL 8 or MariaDB 10.6+ database, migrated on connect. Several
/// processes may share one database: work is distributed by the leases in the rows, and
/// claims skip rows other replicas are claiming (`FOR UPDATE SKIP LOCKED`).
#[derive(Debug, Clone)]
pub struct MySqlStore {
    pool: MySqlPool,
}

fn db_err(what: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |e| StoreError::with_source(format!("mysql: {what}"), e)
}

/// How long a replica waits for another one to finish migrating (seconds).
const MIGRATION_LOCK_WAIT_SECS: i64 = 600;

/// Applies the missing migrations while holding a named lock of the database.
///
/// sqlx's migrator takes such a lock itself, but as `GET_LOCK(name, -1)` without checking the
/// result: MariaDB reads a negative timeout as "don't wait" and returns NULL at once, so two
/// replicas starting together would both apply the migrations (and one fail on
/// `_sqlx_migrations`' primary key; `tests/store_migrations.rs` caught it). The lock here is
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

/// How many times a transaction chosen as a deadlock victim is run again.
const DEADLOCK_RETRIES: usize = 5;

/// InnoDB rolled the transaction back to break a deadlock (error 1213, SQLSTATE 40001).
fn is_deadlock(e: &StoreError) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(err) = source {
        if let Some(sqlx::Error::Database(db)) = err.downcast_ref::<sqlx::Error>() {
            return db.code().as_deref() == Some("40001");
        }
        source = err.source();
    }
    false
}

/// Rows per multi-row statement (at most 12 parameters each; MySQL allows 65,535).
const MULTI_ROW_CHUNK: usize = 256;

/// `?, ?, …` (`n` times).
fn marks(n: usize) -> String {
    let mut s = String::with_capacity(n * 3);
    for i in 0..n {
        if i > 0 {
            s.push_str(", ");
        }
        s.push('?');
    }
    s
}

/// Ends a transaction: COMMIT when `result` is `Ok((_, true))`, else ROLLBACK, awaited (so no
/// row lock outlives the step). `None` when the step must run again: InnoDB chose it as a
/// deadlock victim and `attempt` is below [`DEADLOCK_RETRIES`].
async fn end<T>(
    tx: sqlx::Transaction<'static, MySql>,
    result: StoreResult<(T, bool)>,
    what: &'static str,
    attempt: &mut usize,
) -> Option<StoreResult<T>> {
    let outcome = match result {
        Ok((v, true)) => tx.commit().await.map_err(db_err("commit")).map(|()| v),
        Ok((v, false)) => tx.rollback().await.map_err(db_err("rollback")).map(|()| v),
        Err(e) => {
            // The error is what matters; a failed rollback closes the connection anyway.
            let _ = tx.rollback().await;
            Err(e)
        }
    };
    match outcome {
        Err(e) if is_deadlock(&e) && *attempt < DEADLOCK_RETRIES => {
            *attempt += 1;
            tracing::debug!(what, attempt = *attempt, "mysql: deadlock victim, retrying");
            None
        }
        other => Some(other),
    }
}

/// `transaction!(store, "what", |conn| { … })`: runs the block (which uses `conn: &mut
/// MySqlConnection` and evaluates to `StoreResult<(T, bool)>`) in a transaction ended by
/// [`end`], again while it is a deadlock victim; evaluates to `StoreResult<T>`. A macro, not a
/// function taking a closure: the block borrows the caller's locals, which an async closure
/// could not do and still give a `Send` future.
macro_rules! transaction {
    ($store:expr, $what:literal, |$conn:ident| $body:block) => {{
        let mut attempt = 0;
        loop {
            let mut tx = $store.pool.begin().await.map_err(db_err("begin"))?;
            let result = async {
                let $conn: &mut MySqlConnection = &mut tx;
                $body
            }
            .await;
            if let Some(done) = end(tx, result, $what, &mut attempt).await {
                break done;
            }
        }
    }};
}

/// A trace id column. Its `utf8mb4_bin` collation makes the server describe it as binary, so
/// it is read as bytes.
fn id_col(row: &MySqlRow, col: &str) -> StoreResult<String> {
    let bytes: Vec<u8> = row.try_get(col).map_err(db_err("read column"))?;
    id_text(bytes)
}

fn id_text(bytes: Vec<u8>) -> StoreResult<String> {
    String::from_utf8(bytes).map_err(|e| StoreError::with_source("mysql: trace id is not UTF-8", e))
}

fn ids_text(ids: Vec<Vec<u8>>) -> StoreResult<Vec<String>> {
    ids.into_iter().map(id_text).collect()
}

fn json_col<T: serde::de::DeserializeOwned>(row: &MySqlRow, col: &str) -> StoreResult<T> {
    let text: String = row.try_get(col).map_err(db_err("read column"))?;
    from_text(&text, col)
}

fn state_code(s: State) -> i32 {
    i32::from(s.code())
}

fn count(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn record(row: &MySqlRow) -> StoreResult<ScheduleRecord> {
    let code: i32 = row.try_get("state").map_err(db_err("read column"))?;
    let state = codec::state(i64::from(code))?;
    let trace_id = id_col(row, "trace_id")?;
    let plugin_version: String = row
        .try_get("plugin_version")
        .map_err(db_err("read column"))?;
    let invoke_count: i32 = row.try_get("invoke_count").map_err(db_err("read column"))?;
    let created_at: i64 = row.try_get("created_at").map_err(db_err("read column"))?;
    let mut r = ScheduleRecord::new(
        trace_id,
        plugin_version,
        state,
        json_col::<Value>(row, "inputs")?,
        json_col::<Value>(row, "context")?,
        json_col::<Map<String, Value>>(row, "storage")?,
        json_col::<Map<String, Value>>(row, "outputs")?,
        Timestamp::from_millis(created_at),
        ts(row.try_get("next_run_at").map_err(db_err("read column"))?),
    );
    r.invoke_count = u32::try_from(invoke_count).unwrap_or(0);
    r.err = row.try_get("err").map_err(db_err("read column"))?;
    r.finish_at = ts(row.try_get("finish_at").map_err(db_err("read column"))?);
    Ok(r)
}

const INSERT_SCHEDULE: &str = "INSERT INTO bk_plugin_schedule (trace_id, plugin_version, state, inputs, context, storage, outputs, invoke_count, err, created_at, finish_at, next_run_at) VALUES ";

/// Binds the 12 values of `r` in [`INSERT_SCHEDULE`]'s column order.
fn bind_record<'q>(
    q: sqlx::query::Query<'q, MySql, sqlx::mysql::MySqlArguments>,
    r: &'q ScheduleRecord,
) -> StoreResult<sqlx::query::Query<'q, MySql, sqlx::mysql::MySqlArguments>> {
    Ok(q.bind(&r.trace_id)
        .bind(&r.plugin_version)
        .bind(state_code(r.state))
        .bind(to_text(&r.inputs)?)
        .bind(to_text(&r.context)?)
        .bind(to_text(&r.storage)?)
        .bind(to_text(&r.outputs)?)
        .bind(count(r.invoke_count))
        .bind(&r.err)
        .bind(r.created_at.as_millis())
        .bind(r.finish_at.map(Timestamp::as_millis))
        .bind(r.next_run_at.map(Timestamp::as_millis)))
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
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

    /// Inserts `chunk` one row at a time; `false` for a trace id that exists.
    async fn create_one_by_one(&self, chunk: &[ScheduleRecord]) -> StoreResult<Vec<bool>> {
        let sql = format!("{INSERT_SCHEDULE}({})", marks(12));
        let mut created = Vec::with_capacity(chunk.len());
        for r in chunk {
            match bind_record(sqlx::query(&sql), r)?.execute(&self.pool).await {
                Ok(_) => created.push(true),
                Err(e) if is_unique_violation(&e) => created.push(false),
                Err(e) => return Err(db_err("insert schedule")(e)),
            }
        }
        Ok(created)
    }
}

/// Leases the rows `ids` (locked by the caller), then reads them back, with the oldest queued
/// callback of those among them that are in CALLBACK (`waiting`, the tail of `ids`). Runs
/// inside the claim's transaction.
async fn lease_and_read(
    conn: &mut MySqlConnection,
    ids: &[String],
    waiting: usize,
    lease: &LeaseRequest<'_>,
) -> StoreResult<(Vec<MySqlRow>, HashMap<String, QueuedCallback>)> {
    let sql = format!(
        "UPDATE bk_plugin_schedule SET lease_id = ?, lease_owner = ?, lease_until = ?
         WHERE trace_id IN ({})",
        marks(ids.len())
    );
    let mut q = sqlx::query(&sql)
        .bind(lease.id)
        .bind(lease.owner)
        .bind(lease.until.as_millis());
    for id in ids {
        q = q.bind(id);
    }
    q.execute(&mut *conn).await.map_err(db_err("claim"))?;
    let sql = format!(
        "SELECT {RECORD_COLUMNS} FROM bk_plugin_schedule WHERE trace_id IN ({})",
        marks(ids.len())
    );
    let mut q = sqlx::query(&sql);
    for id in ids {
        q = q.bind(id);
    }
    let rows = q.fetch_all(&mut *conn).await.map_err(db_err("claim"))?;
    let waiting = &ids[ids.len() - waiting..];
    if waiting.is_empty() {
        return Ok((rows, HashMap::new()));
    }
    // The oldest callback of each claimed row (rows without an inbox have none). While the
    // lease is held only its holder consumes the inbox; others can only append.
    let sql = format!(
        "SELECT seq, trace_id, callback_id, data FROM bk_plugin_callback
         WHERE seq IN (SELECT MIN(seq) FROM bk_plugin_callback WHERE trace_id IN ({}) GROUP BY trace_id)",
        marks(waiting.len())
    );
    let mut q = sqlx::query(&sql);
    for id in waiting {
        q = q.bind(id);
    }
    let mut callbacks = HashMap::new();
    for row in q
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err("read callback"))?
    {
        let trace_id = id_col(&row, "trace_id")?;
        callbacks.insert(
            trace_id,
            QueuedCallback {
                seq: row.try_get("seq").map_err(db_err("read column"))?,
                callback_id: row.try_get("callback_id").map_err(db_err("read column"))?,
                data: json_col(&row, "data")?,
            },
        );
    }
    Ok((rows, callbacks))
}

impl Store for MySqlStore {
    fn create(&self, r: ScheduleRecord) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move {
            let sql = format!("{INSERT_SCHEDULE}({})", marks(12));
            bind_record(sqlx::query(&sql), &r)?
                .execute(&self.pool)
                .await
                .map_err(db_err("insert schedule"))?;
            Ok(())
        })
    }

    fn create_many(&self, records: Vec<ScheduleRecord>) -> BoxFuture<'_, StoreResult<Vec<bool>>> {
        Box::pin(async move {
            let mut created = Vec::with_capacity(records.len());
            for chunk in records.chunks(MULTI_ROW_CHUNK) {
                let rows = vec![format!("({})", marks(12)); chunk.len()].join(", ");
                let sql = format!("{INSERT_SCHEDULE}{rows}");
                let mut q = sqlx::query(&sql);
                for r in chunk {
                    q = bind_record(q, r)?;
                }
                match q.execute(&self.pool).await {
                    Ok(_) => created.extend(std::iter::repeat_n(true, chunk.len())),
                    // The statement inserted nothing: find out row by row which exist (a
                    // trace id twice in the batch: only its first row is created).
                    Err(e) if is_unique_violation(&e) => {
                        created.extend(self.create_one_by_one(chunk).await?);
                    }
                    Err(e) => return Err(db_err("insert schedules")(e)),
                }
            }
            Ok(created)
        })
    }

    fn get<'a>(&'a self, trace_id: &'a str) -> BoxFuture<'a, StoreResult<Option<ScheduleRecord>>> {
        Box::pin(async move {
            let sql = format!("SELECT {RECORD_COLUMNS} FROM bk_plugin_schedule WHERE trace_id = ?");
            let row = sqlx::query(&sql)
                .bind(trace_id)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err("read schedule"))?;
            row.as_ref().map(record).transpose()
        })
    }

    fn claim_due<'a>(
        &'a self,
        now: Timestamp,
        lease: LeaseRequest<'a>,
        limit: usize,
    ) -> BoxFuture<'a, StoreResult<Vec<Claim>>> {
        Box::pin(async move {
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let (rows, mut callbacks) = transaction!(self, "claim", |conn| {
                // Due polls, then rows in CALLBACK whose inbox is not empty (oldest
                // callback first). SKIP LOCKED: rows another replica is claiming are
                // skipped; the lease condition is checked on the newest committed row.
                let mut ids: Vec<Vec<u8>> = sqlx::query_scalar(
                    "SELECT trace_id FROM bk_plugin_schedule
                     WHERE state = 2 AND finish_at IS NULL AND next_run_at <= ?
                       AND (lease_until IS NULL OR lease_until < ?)
                     ORDER BY next_run_at LIMIT ?
                     FOR UPDATE SKIP LOCKED",
                )
                .bind(now.as_millis())
                .bind(now.as_millis())
                .bind(limit)
                .fetch_all(&mut *conn)
                .await
                .map_err(db_err("claim"))?;
                let left = limit - ids.len() as i64;
                let mut waiting_count = 0;
                if left > 0 {
                    let waiting: Vec<Vec<u8>> = sqlx::query_scalar(
                        "SELECT s.trace_id FROM bk_plugin_schedule s
                         WHERE s.state = 3 AND s.finish_at IS NULL
                           AND (s.lease_until IS NULL OR s.lease_until < ?)
                           AND EXISTS (SELECT 1 FROM bk_plugin_callback c WHERE c.trace_id = s.trace_id)
                         ORDER BY (SELECT MIN(c.seq) FROM bk_plugin_callback c WHERE c.trace_id = s.trace_id)
                         LIMIT ?
                         FOR UPDATE SKIP LOCKED",
                    )
                    .bind(now.as_millis())
                    .bind(left)
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(db_err("claim"))?;
                    waiting_count = waiting.len();
                    ids.extend(waiting);
                }
                if ids.is_empty() {
                    return Ok(((Vec::new(), HashMap::new()), false));
                }
                let ids = ids_text(ids)?;
                Ok((
                    lease_and_read(conn, &ids, waiting_count, &lease).await?,
                    true,
                ))
            })?;
            let mut claims = Vec::with_capacity(rows.len());
            for row in rows {
                let record = match record(&row) {
                    Ok(r) => r,
                    Err(e) => {
                        self.fail_unreadable(&row, lease.id, now, &e).await?;
                        continue;
                    }
                };
                let callback = if record.state == State::Callback {
                    callbacks.remove(&record.trace_id)
                } else {
                    None
                };
                claims.push(Claim {
                    record,
                    lease_id: lease.id,
                    callback,
                });
            }
            claims.sort_by_key(|c| c.record.next_run_at);
            Ok(claims)
        })
    }

    fn renew<'a>(
        &'a self,
        trace_id: &'a str,
        lease_id: i64,
        until: Timestamp,
    ) -> BoxFuture<'a, StoreResult<bool>> {
        Box::pin(async move {
            // sqlx asks for CLIENT_FOUND_ROWS: rows_affected counts matched rows, also when a
            // row is set to the values it already has.
            let done = sqlx::query(
                "UPDATE bk_plugin_schedule SET lease_until = ? WHERE trace_id = ? AND lease_id = ?",
            )
            .bind(until.as_millis())
            .bind(trace_id)
            .bind(lease_id)
            .execute(&self.pool)
            .await
            .map_err(db_err("renew lease"))?;
            Ok(done.rows_affected() == 1)
        })
    }

    fn complete<'a>(
        &'a self,
        trace_id: &'a str,
        lease_id: i64,
        t: Transition,
    ) -> BoxFuture<'a, StoreResult<bool>> {
        Box::pin(async move {
            let storage = to_text(&t.storage)?;
            let outputs = to_text(&t.outputs)?;
            let notification = match &t.notification {
                Some(n) => Some((n.url.clone(), to_text(&n.data)?, n.due_at)),
                None => None,
            };
            const UPDATE: &str = "UPDATE bk_plugin_schedule
                 SET state = ?, storage = ?, outputs = ?, invoke_count = ?, err = ?,
                     finish_at = ?, next_run_at = ?,
                     lease_id = NULL, lease_owner = NULL, lease_until = NULL
                 WHERE trace_id = ? AND lease_id = ?";
            let update = || {
                sqlx::query(UPDATE)
                    .bind(state_code(t.state))
                    .bind(&storage)
                    .bind(&outputs)
                    .bind(count(t.invoke_count))
                    .bind(&t.err)
                    .bind(t.finish_at.map(Timestamp::as_millis))
                    .bind(t.next_run_at.map(Timestamp::as_millis))
                    .bind(trace_id)
                    .bind(lease_id)
            };
            if t.is_plain() {
                // A single statement is atomic by itself: the common POLL -> POLL step
                // needs no explicit transaction.
                let updated = update()
                    .execute(&self.pool)
                    .await
                    .map_err(db_err("complete"))?;
                return Ok(updated.rows_affected() == 1);
            }
            // Inbox entries exist only while a row is in CALLBACK.
            let drop_inbox = t.drops_inbox();
            let consumed = t.consumed_callback;
            transaction!(self, "complete", |conn| {
                let updated = update()
                    .execute(&mut *conn)
                    .await
                    .map_err(db_err("complete"))?;
                if updated.rows_affected() != 1 {
                    return Ok((false, false));
                }
                if let Some(seq) = consumed {
                    sqlx::query("DELETE FROM bk_plugin_callback WHERE seq = ?")
                        .bind(seq)
                        .execute(&mut *conn)
                        .await
                        .map_err(db_err("consume callback"))?;
                }
                if drop_inbox {
                    sqlx::query("DELETE FROM bk_plugin_callback WHERE trace_id = ?")
                        .bind(trace_id)
                        .execute(&mut *conn)
                        .await
                        .map_err(db_err("drop callbacks"))?;
                }
                if let Some((url, data, due_at)) = &notification {
                    const INSERT: &str = "INSERT INTO bk_plugin_notification (trace_id, url, data, due_at) VALUES (?, ?, ?, ?)";
                    sqlx::query(INSERT)
                        .bind(trace_id)
                        .bind(url)
                        .bind(data)
                        .bind(due_at.as_millis())
                        .execute(&mut *conn)
                        .await
                        .map_err(db_err("enqueue notification"))?;
                }
                Ok((true, true))
            })
        })
    }

    fn complete_many(
        &self,
        items: Vec<(String, i64, Transition)>,
    ) -> BoxFuture<'_, StoreResult<Vec<bool>>> {
        Box::pin(async move {
            let mut results = vec![false; items.len()];
            // Plain steps (no inbox or outbox change) are written with one multi-row UPDATE
            // per chunk; the others one by one in their own transaction.
            let mut simple = Vec::new();
            for (i, (trace_id, lease_id, t)) in items.into_iter().enumerate() {
                if t.is_plain() {
                    simple.push((i, trace_id, lease_id, t));
                } else {
                    results[i] = self.complete(&trace_id, lease_id, t).await?;
                }
            }
            for chunk in simple.chunks(MULTI_ROW_CHUNK) {
                if chunk.len() == 1 {
                    let (i, trace_id, lease_id, t) = &chunk[0];
                    results[*i] = self.complete(trace_id, *lease_id, t.clone()).await?;
                    continue;
                }
                let values = chunk
                    .iter()
                    .map(|(_, _, _, t)| Ok((to_text(&t.storage)?, to_text(&t.outputs)?)))
                    .collect::<StoreResult<Vec<_>>>()?;
                let updated: HashSet<String> = transaction!(self, "complete many", |conn| {
                    // Lock the rows whose lease still holds: exactly these are written.
                    let sql = format!(
                        "SELECT trace_id FROM bk_plugin_schedule
                         WHERE (trace_id, lease_id) IN ({}) FOR UPDATE",
                        vec!["(?, ?)"; chunk.len()].join(", ")
                    );
                    let mut q = sqlx::query_scalar::<_, Vec<u8>>(&sql);
                    for (_, trace_id, lease_id, _) in chunk {
                        q = q.bind(trace_id).bind(*lease_id);
                    }
                    let held: HashSet<String> = ids_text(
                        q.fetch_all(&mut *conn)
                            .await
                            .map_err(db_err("complete many"))?,
                    )?
                    .into_iter()
                    .collect();
                    if held.is_empty() {
                        return Ok((held, false));
                    }
                    // A derived table of the new values, one SELECT per row. The casts type
                    // the columns even when a first row holds NULLs; the trace id takes the
                    // column's collation, so the join uses the primary key.
                    let row = "SELECT CAST(? AS CHAR) COLLATE utf8mb4_bin AS trace_id, \
                               CAST(? AS SIGNED) AS lease_id, CAST(? AS SIGNED) AS state, \
                               CAST(? AS CHAR) AS storage, CAST(? AS CHAR) AS outputs, \
                               CAST(? AS SIGNED) AS invoke_count, CAST(? AS CHAR) AS err, \
                               CAST(? AS SIGNED) AS finish_at, CAST(? AS SIGNED) AS next_run_at";
                    let sql = format!(
                        "UPDATE bk_plugin_schedule AS s
                         JOIN ({}) AS v ON s.trace_id = v.trace_id AND s.lease_id = v.lease_id
                         SET s.state = v.state, s.storage = v.storage, s.outputs = v.outputs,
                             s.invoke_count = v.invoke_count, s.err = v.err,
                             s.finish_at = v.finish_at, s.next_run_at = v.next_run_at,
                             s.lease_id = NULL, s.lease_owner = NULL, s.lease_until = NULL",
                        vec![row; chunk.len()].join(" UNION ALL ")
                    );
                    let mut q = sqlx::query(&sql);
                    for ((_, trace_id, lease_id, t), (storage, outputs)) in
                        chunk.iter().zip(&values)
                    {
                        q = q
                            .bind(trace_id)
                            .bind(*lease_id)
                            .bind(state_code(t.state))
                            .bind(storage)
                            .bind(outputs)
                            .bind(count(t.invoke_count))
                            .bind(&t.err)
                            .bind(t.finish_at.map(Timestamp::as_millis))
                            .bind(t.next_run_at.map(Timestamp::as_millis));
                    }
                    q.execute(&mut *conn)
                        .await
                        .map_err(db_err("complete many"))?;
                    Ok((held, true))
                })?;
                for (i, trace_id, _, _) in chunk {
                    results[*i] = updated.contains(trace_id);
                }
            }
            Ok(results)
        })
    }

    fn push_callback<'a>(
        &'a self,
        trace_id: &'a str,
        callback_id: &'a str,
        data: Value,
        now: Timestamp,
    ) -> BoxFuture<'a, StoreResult<PushOutcome>> {
        Box::pin(async move {
            let data = &to_text(&data)?;
            transaction!(self, "push callback", |conn| {
                // A shared lock: a concurrent transition of this row waits for our
                // commit (or we wait for its, and then read the state it wrote).
                let state: Option<i32> = sqlx::query_scalar(
                    "SELECT state FROM bk_plugin_schedule WHERE trace_id = ? LOCK IN SHARE MODE",
                )
                .bind(trace_id)
                .fetch_optional(&mut *conn)
                .await
                .map_err(db_err("read state"))?;
                let state = state
                    .and_then(|c| u8::try_from(c).ok())
                    .and_then(State::from_code);
                if state != Some(State::Callback) {
                    return Ok((PushOutcome::NotWaiting(state), false));
                }
                sqlx::query(
                        "INSERT INTO bk_plugin_callback (trace_id, callback_id, data, received_at) VALUES (?, ?, ?, ?)",
                    )
                    .bind(trace_id)
                    .bind(callback_id)
                    .bind(data)
                    .bind(now.as_millis())
                    .execute(&mut *conn)
                    .await
                    .map_err(db_err("queue callback"))?;
                Ok((PushOutcome::Queued, true))
            })
        })
    }

    fn next_due(&self) -> BoxFuture<'_, StoreResult<Option<Timestamp>>> {
        Box::pin(async move {
            let pending_callback = sqlx::query(codec::PENDING_CALLBACK)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err("next due"))?;
            if pending_callback.is_some() {
                return Ok(Some(Timestamp::from_millis(0)));
            }
            let next: Option<i64> = sqlx::query_scalar(codec::NEXT_DUE)
                .fetch_one(&self.pool)
                .await
                .map_err(db_err("next due"))?;
            Ok(ts(next))
        })
    }

    fn claim_notifications(
        &self,
        now: Timestamp,
        until: Timestamp,
        limit: usize,
    ) -> BoxFuture<'_, StoreResult<Vec<Notification>>> {
        Box::pin(async move {
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let rows = transaction!(self, "claim notifications", |conn| {
                let ids: Vec<i64> = sqlx::query_scalar(
                    "SELECT id FROM bk_plugin_notification
                             WHERE due_at <= ? AND (lease_until IS NULL OR lease_until < ?)
                             ORDER BY due_at LIMIT ?
                             FOR UPDATE SKIP LOCKED",
                )
                .bind(now.as_millis())
                .bind(now.as_millis())
                .bind(limit)
                .fetch_all(&mut *conn)
                .await
                .map_err(db_err("claim notifications"))?;
                if ids.is_empty() {
                    return Ok((Vec::new(), false));
                }
                let sql = format!(
                    "UPDATE bk_plugin_notification SET lease_until = ? WHERE id IN ({})",
                    marks(ids.len())
                );
                let mut q = sqlx::query(&sql).bind(until.as_millis());
                for id in &ids {
                    q = q.bind(*id);
                }
                q.execute(&mut *conn)
                    .await
                    .map_err(db_err("claim notifications"))?;
                let sql = format!(
                    "SELECT id, trace_id, url, data, attempts FROM bk_plugin_notification
                             WHERE id IN ({}) ORDER BY due_at, id",
                    marks(ids.len())
                );
                let mut q = sqlx::query(&sql);
                for id in &ids {
                    q = q.bind(*id);
                }
                let rows = q
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(db_err("claim notifications"))?;
                Ok((rows, true))
            })?;
            rows.iter()
                .map(|row| {
                    let attempts: i32 = row.try_get("attempts").map_err(db_err("read column"))?;
                    Ok(Notification {
                        id: row.try_get("id").map_err(db_err("read column"))?,
                        trace_id: id_col(row, "trace_id")?,
                        url: row.try_get("url").map_err(db_err("read column"))?,
                        data: json_col(row, "data")?,
                        attempts: u32::try_from(attempts).unwrap_or(0),
                    })
                })
                .collect()
        })
    }

    fn settle_notification(&self, id: i64, delivery: Delivery) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move {
            let q = match delivery {
                Delivery::Delivered | Delivery::GaveUp => {
                    sqlx::query("DELETE FROM bk_plugin_notification WHERE id = ?").bind(id)
                }
                Delivery::RetryAt(at) => sqlx::query(
                    "UPDATE bk_plugin_notification SET attempts = attempts + 1, due_at = ?, lease_until = NULL WHERE id = ?",
                )
                .bind(at.as_millis())
                .bind(id),
            };
            q.execute(&self.pool)
                .await
                .map_err(db_err("settle notification"))?;
            Ok(())
        })
    }

    fn next_notification(&self) -> BoxFuture<'_, StoreResult<Option<Timestamp>>> {
        Box::pin(async move {
            let next: Option<i64> = sqlx::query_scalar(codec::NEXT_NOTIFICATION)
                .fetch_one(&self.pool)
                .await
                .map_err(db_err("next notification"))?;
            Ok(ts(next))
        })
    }

    fn purge_finished(&self, before: Timestamp) -> BoxFuture<'_, StoreResult<u64>> {
        Box::pin(async move {
            let done = sqlx::query(
                "DELETE FROM bk_plugin_schedule WHERE finish_at IS NOT NULL AND finish_at < ?",
            )
            .bind(before.as_millis())
            .execute(&self.pool)
            .await
            .map_err(db_err("purge"))?;
            Ok(done.rows_affected())
        })
    }

    fn counts(&self) -> BoxFuture<'_, StoreResult<Counts>> {
        Box::pin(async move {
            let row = sqlx::query(codec::COUNTS)
                .fetch_one(&self.pool)
                .await
                .map_err(db_err("counts"))?;
            let get = |c: &str| -> StoreResult<u64> {
                let v: i64 = row.try_get(c).map_err(db_err("read column"))?;
                Ok(u64::try_from(v).unwrap_or(0))
            };
            Ok(Counts {
                polling: get("polling")?,
                waiting_callback: get("waiting")?,
                notifications: get("notifications")?,
            })
        })
    }

    fn get_setting<'a>(&'a self, name: &'a str) -> BoxFuture<'a, StoreResult<Option<String>>> {
        Box::pin(async move {
            crate::settings::mysql::get(&self.pool, name)
                .await
                .map_err(db_err("read setting"))
        })
    }

    fn put_setting<'a>(&'a self, name: &'a str, value: &'a str) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            crate::settings::mysql::put(&self.pool, name, value)
                .await
                .map_err(db_err("write setting"))
        })
    }
}

impl MySqlStore {
    /// A claimed row that cannot be decoded (corrupt JSON, unknown state) can never run:
    /// FAIL it so it stops being claimed, and tell the operator.
    async fn fail_unreadable(
        &self,
        row: &MySqlRow,
        lease_id: i64,
        now: Timestamp,
        error: &StoreError,
    ) -> StoreResult<()> {
        let trace_id = id_col(row, "trace_id")?;
        tracing::error!(trace_id, %error, "stored schedule cannot be read; failing it");
        sqlx::query(
            "UPDATE bk_plugin_schedule SET state = 5, err = ?, finish_at = ?,
                 lease_id = NULL, lease_owner = NULL, lease_until = NULL
             WHERE trace_id = ? AND lease_id = ?",
        )
        .bind(format!(
            "plugin schedule failed: stored schedule cannot be read: {error}"
        ))
        .bind(now.as_millis())
        .bind(&trace_id)
        .bind(lease_id)
        .execute(&self.pool)
        .await
        .map_err(db_err("fail unreadable schedule"))?;
        Ok(())
    }
}
