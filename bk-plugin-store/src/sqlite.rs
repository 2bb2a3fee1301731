//! [`SqliteStore`]: schedules in an embedded SQLite file.
//!
//! One writer connection (SQLite allows one writer at a time; queueing writes in-process
//! avoids lock contention) and a small pool of readers (WAL lets them read while the writer
//! writes). Every multi-statement step runs in a `BEGIN IMMEDIATE` transaction, so it is
//! atomic and takes the write lock up front, also against other processes on the same file.

use crate::codec::{self, RECORD_COLUMNS, from_text, to_text, ts};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use bk_plugin_core::{BoxFuture, State};
use bk_plugin_engine::Timestamp;
use bk_plugin_engine::store::{
    Claim, Counts, Delivery, LeaseRequest, Notification, PushOutcome, QueuedCallback,
    ScheduleRecord, Store, StoreError, StoreResult, Transition,
};
use serde_json::{Map, Value};
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, Sqlite, SqliteConnection, SqlitePool};

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

/// A [`Store`] in a SQLite file (WAL mode), created and migrated on open.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    readers: SqlitePool,
}

fn db_err(what: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |e| StoreError::with_source(format!("sqlite: {what}"), e)
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

    /// Starts a `BEGIN IMMEDIATE` transaction on the writer connection.
    async fn begin(&self) -> StoreResult<PoolConnection<Sqlite>> {
        let mut conn = self.writer.acquire().await.map_err(db_err("acquire"))?;
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut *conn)
            .await
            .map_err(db_err("begin"))?;
        Ok(conn)
    }
}

impl SqliteStore {
    /// A claimed row that cannot be decoded (corrupt JSON, unknown state) can never run:
    /// FAIL it so it stops being claimed, and tell the operator.
    async fn fail_unreadable(
        &self,
        row: &SqliteRow,
        lease_id: i64,
        now: Timestamp,
        error: &StoreError,
    ) -> StoreResult<()> {
        let trace_id: String = row.try_get("trace_id").map_err(db_err("read column"))?;
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
        .execute(&self.writer)
        .await
        .map_err(db_err("fail unreadable schedule"))?;
        Ok(())
    }
}

/// Ends the transaction: COMMIT when `result` is `Ok((_, true))`, else ROLLBACK.
async fn end<T>(
    mut conn: PoolConnection<Sqlite>,
    result: StoreResult<(T, bool)>,
) -> StoreResult<T> {
    let sql = match &result {
        Ok((_, true)) => "COMMIT",
        _ => "ROLLBACK",
    };
    let ended = sqlx::query(sql).execute(&mut *conn).await;
    match (result, ended) {
        (Ok((v, _)), Ok(_)) => Ok(v),
        (Err(e), Ok(_)) => Err(e),
        (Err(e), Err(_)) => {
            conn.detach();
            Err(e)
        }
        (Ok(_), Err(e)) => {
            // The connection may be mid-transaction: do not return it to the pool.
            conn.detach();
            Err(StoreError::with_source("sqlite: commit", e))
        }
    }
}

fn json_col<T: serde::de::DeserializeOwned>(row: &SqliteRow, col: &str) -> StoreResult<T> {
    let text: String = row.try_get(col).map_err(db_err("read column"))?;
    from_text(&text, col)
}

/// Rows per multi-row UPDATE (9 parameters each; SQLite allows 32,766).
const MULTI_ROW_CHUNK: usize = 256;

fn record(row: &SqliteRow) -> StoreResult<ScheduleRecord> {
    let code: i64 = row.try_get("state").map_err(db_err("read column"))?;
    let state = codec::state(code)?;
    let trace_id: String = row.try_get("trace_id").map_err(db_err("read column"))?;
    let plugin_version: String = row
        .try_get("plugin_version")
        .map_err(db_err("read column"))?;
    let invoke_count: i64 = row.try_get("invoke_count").map_err(db_err("read column"))?;
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
    r.invoke_count = u32::try_from(invoke_count).unwrap_or(u32::MAX);
    r.err = row.try_get("err").map_err(db_err("read column"))?;
    r.finish_at = ts(row.try_get("finish_at").map_err(db_err("read column"))?);
    Ok(r)
}

async fn oldest_callback(
    conn: &mut SqliteConnection,
    trace_id: &str,
) -> StoreResult<Option<QueuedCallback>> {
    let row = sqlx::query(
        "SELECT seq, callback_id, data FROM bk_plugin_callback WHERE trace_id = ? ORDER BY seq LIMIT 1",
    )
    .bind(trace_id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_err("read callback"))?;
    row.map(|row| {
        Ok(QueuedCallback {
            seq: row.try_get("seq").map_err(db_err("read column"))?,
            callback_id: row.try_get("callback_id").map_err(db_err("read column"))?,
            data: json_col(&row, "data")?,
        })
    })
    .transpose()
}

impl Store for SqliteStore {
    fn create(&self, r: ScheduleRecord) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move {
            let (inputs, context) = (to_text(&r.inputs)?, to_text(&r.context)?);
            let (storage, outputs) = (to_text(&r.storage)?, to_text(&r.outputs)?);
            sqlx::query(
                "INSERT INTO bk_plugin_schedule (trace_id, plugin_version, state, inputs, context, storage, outputs, invoke_count, err, created_at, finish_at, next_run_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&r.trace_id)
            .bind(&r.plugin_version)
            .bind(i64::from(r.state.code()))
            .bind(inputs)
            .bind(context)
            .bind(storage)
            .bind(outputs)
            .bind(i64::from(r.invoke_count))
            .bind(&r.err)
            .bind(r.created_at.as_millis())
            .bind(r.finish_at.map(Timestamp::as_millis))
            .bind(r.next_run_at.map(Timestamp::as_millis))
            .execute(&self.writer)
            .await
            .map_err(db_err("insert schedule"))?;
            Ok(())
        })
    }

    fn create_many(&self, records: Vec<ScheduleRecord>) -> BoxFuture<'_, StoreResult<Vec<bool>>> {
        Box::pin(async move {
            let mut created = std::collections::HashSet::new();
            for chunk in records.chunks(MULTI_ROW_CHUNK) {
                let rows = vec!["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"; chunk.len()].join(", ");
                let sql = format!(
                    "INSERT INTO bk_plugin_schedule (trace_id, plugin_version, state, inputs, context, storage, outputs, invoke_count, err, created_at, finish_at, next_run_at)
                     VALUES {rows} ON CONFLICT (trace_id) DO NOTHING RETURNING trace_id"
                );
                let mut q = sqlx::query_scalar::<_, String>(&sql);
                for r in chunk {
                    q = q
                        .bind(&r.trace_id)
                        .bind(&r.plugin_version)
                        .bind(i64::from(r.state.code()))
                        .bind(to_text(&r.inputs)?)
                        .bind(to_text(&r.context)?)
                        .bind(to_text(&r.storage)?)
                        .bind(to_text(&r.outputs)?)
                        .bind(i64::from(r.invoke_count))
                        .bind(&r.err)
                        .bind(r.created_at.as_millis())
                        .bind(r.finish_at.map(Timestamp::as_millis))
                        .bind(r.next_run_at.map(Timestamp::as_millis));
                }
                created.extend(
                    q.fetch_all(&self.writer)
                        .await
                        .map_err(db_err("insert schedules"))?,
                );
            }
            Ok(records
                .iter()
                .map(|r| created.remove(&r.trace_id))
                .collect())
        })
    }

    fn get<'a>(&'a self, trace_id: &'a str) -> BoxFuture<'a, StoreResult<Option<ScheduleRecord>>> {
        Box::pin(async move {
            let sql = format!("SELECT {RECORD_COLUMNS} FROM bk_plugin_schedule WHERE trace_id = ?");
            let row = sqlx::query(&sql)
                .bind(trace_id)
                .fetch_optional(&self.readers)
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
            // Each UPDATE ... RETURNING is atomic by itself: a row is claimed by exactly one
            // statement. Due polls come from the partial index; pending callbacks from the
            // (small) inbox table.
            let polls = format!(
                "UPDATE bk_plugin_schedule SET lease_id = ?1, lease_owner = ?2, lease_until = ?3
                 WHERE trace_id IN (
                     SELECT trace_id FROM bk_plugin_schedule
                     WHERE finish_at IS NULL AND state = 2 AND next_run_at <= ?4
                       AND (lease_until IS NULL OR lease_until < ?4)
                     ORDER BY next_run_at LIMIT ?5)
                 RETURNING {RECORD_COLUMNS}"
            );
            let callbacks = format!(
                "UPDATE bk_plugin_schedule SET lease_id = ?1, lease_owner = ?2, lease_until = ?3
                 WHERE trace_id IN (
                     SELECT s.trace_id FROM bk_plugin_callback c
                     JOIN bk_plugin_schedule s ON s.trace_id = c.trace_id
                     WHERE s.finish_at IS NULL AND s.state = 3
                       AND (s.lease_until IS NULL OR s.lease_until < ?4)
                     GROUP BY s.trace_id ORDER BY MIN(c.seq) LIMIT ?5)
                 RETURNING {RECORD_COLUMNS}"
            );
            let mut claims = Vec::new();
            for sql in [&polls, &callbacks] {
                let left = limit - claims.len() as i64;
                if left <= 0 {
                    break;
                }
                let rows = sqlx::query(sql)
                    .bind(lease.id)
                    .bind(lease.owner)
                    .bind(lease.until.as_millis())
                    .bind(now.as_millis())
                    .bind(left)
                    .fetch_all(&self.writer)
                    .await
                    .map_err(db_err("claim"))?;
                for row in rows {
                    let record = match record(&row) {
                        Ok(r) => r,
                        Err(e) => {
                            self.fail_unreadable(&row, lease.id, now, &e).await?;
                            continue;
                        }
                    };
                    // Safe outside the claim statement: while we hold the lease only we
                    // consume this inbox; others can only append to it.
                    let callback = if record.state == State::Callback {
                        let mut conn = self.writer.acquire().await.map_err(db_err("acquire"))?;
                        oldest_callback(&mut conn, &record.trace_id).await?
                    } else {
                        None
                    };
                    claims.push(Claim {
                        record,
                        lease_id: lease.id,
                        callback,
                    });
                }
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
            let done = sqlx::query(
                "UPDATE bk_plugin_schedule SET lease_until = ? WHERE trace_id = ? AND lease_id = ?",
            )
            .bind(until.as_millis())
            .bind(trace_id)
            .bind(lease_id)
            .execute(&self.writer)
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
            let drop_inbox = t.drops_inbox();
            let update = sqlx::query(
                "UPDATE bk_plugin_schedule
                 SET state = ?, storage = ?, outputs = ?, invoke_count = ?, err = ?,
                     finish_at = ?, next_run_at = ?,
                     lease_id = NULL, lease_owner = NULL, lease_until = NULL
                 WHERE trace_id = ? AND lease_id = ?",
            )
            .bind(i64::from(t.state.code()))
            .bind(storage)
            .bind(outputs)
            .bind(i64::from(t.invoke_count))
            .bind(&t.err)
            .bind(t.finish_at.map(Timestamp::as_millis))
            .bind(t.next_run_at.map(Timestamp::as_millis))
            .bind(trace_id)
            .bind(lease_id);
            if t.is_plain() {
                // A single statement is atomic by itself: the common POLL -> POLL step
                // needs no explicit transaction.
                let updated = update
                    .execute(&self.writer)
                    .await
                    .map_err(db_err("complete"))?;
                return Ok(updated.rows_affected() == 1);
            }
            let mut conn = self.begin().await?;
            let result = async {
                let conn = &mut *conn;
                {
                    let updated = update
                        .execute(&mut *conn)
                    .await
                    .map_err(db_err("complete"))?;
                    if updated.rows_affected() != 1 {
                        return Ok((false, false));
                    }
                    if let Some(seq) = t.consumed_callback {
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
                    if let Some((url, data, due_at)) = notification {
                        sqlx::query(
                            "INSERT INTO bk_plugin_notification (trace_id, url, data, due_at) VALUES (?, ?, ?, ?)",
                        )
                        .bind(trace_id)
                        .bind(url)
                        .bind(data)
                        .bind(due_at.as_millis())
                        .execute(&mut *conn)
                        .await
                        .map_err(db_err("enqueue notification"))?;
                    }
                    Ok((true, true))
                }
            }
            .await;
            end(conn, result).await
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
                let rows = vec!["(?, ?, ?, ?, ?, ?, ?, ?, ?)"; chunk.len()].join(", ");
                let sql = format!(
                    "UPDATE bk_plugin_schedule AS s
                     SET state = v.column3, storage = v.column4, outputs = v.column5,
                         invoke_count = v.column6, err = v.column7, finish_at = v.column8,
                         next_run_at = v.column9,
                         lease_id = NULL, lease_owner = NULL, lease_until = NULL
                     FROM (VALUES {rows}) AS v
                     WHERE s.trace_id = v.column1 AND s.lease_id = v.column2
                     RETURNING bk_plugin_schedule.trace_id"
                );
                let mut q = sqlx::query_scalar::<_, String>(&sql);
                for (_, trace_id, lease_id, t) in chunk {
                    q = q
                        .bind(trace_id)
                        .bind(*lease_id)
                        .bind(i64::from(t.state.code()))
                        .bind(to_text(&t.storage)?)
                        .bind(to_text(&t.outputs)?)
                        .bind(i64::from(t.invoke_count))
                        .bind(&t.err)
                        .bind(t.finish_at.map(Timestamp::as_millis))
                        .bind(t.next_run_at.map(Timestamp::as_millis));
                }
                let updated: std::collections::HashSet<String> = q
                    .fetch_all(&self.writer)
                    .await
                    .map_err(db_err("complete many"))?
                    .into_iter()
                    .collect();
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
            let data = to_text(&data)?;
            let mut conn = self.begin().await?;
            let result = async {
                let conn = &mut *conn;
                {
                    let state: Option<i64> =
                        sqlx::query_scalar("SELECT state FROM bk_plugin_schedule WHERE trace_id = ?")
                            .bind(trace_id)
                            .fetch_optional(&mut *conn)
                            .await
                            .map_err(db_err("read state"))?;
                    let state = state.and_then(|c| u8::try_from(c).ok()).and_then(State::from_code);
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
                }
            }
            .await;
            end(conn, result).await
        })
    }

    fn next_due(&self) -> BoxFuture<'_, StoreResult<Option<Timestamp>>> {
        Box::pin(async move {
            let pending_callback = sqlx::query(codec::PENDING_CALLBACK)
                .fetch_optional(&self.readers)
                .await
                .map_err(db_err("next due"))?;
            if pending_callback.is_some() {
                return Ok(Some(Timestamp::from_millis(0)));
            }
            let next: Option<i64> = sqlx::query_scalar(codec::NEXT_DUE)
                .fetch_one(&self.readers)
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
            let rows = sqlx::query(
                "UPDATE bk_plugin_notification SET lease_until = ?1
                 WHERE id IN (SELECT id FROM bk_plugin_notification
                              WHERE due_at <= ?2 AND (lease_until IS NULL OR lease_until < ?2)
                              ORDER BY due_at LIMIT ?3)
                 RETURNING id, trace_id, url, data, attempts",
            )
            .bind(until.as_millis())
            .bind(now.as_millis())
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&self.writer)
            .await
            .map_err(db_err("claim notifications"))?;
            rows.iter()
                .map(|row| {
                    let attempts: i64 = row.try_get("attempts").map_err(db_err("read column"))?;
                    Ok(Notification {
                        id: row.try_get("id").map_err(db_err("read column"))?,
                        trace_id: row.try_get("trace_id").map_err(db_err("read column"))?,
                        url: row.try_get("url").map_err(db_err("read column"))?,
                        data: json_col(row, "data")?,
                        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
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
            q.execute(&self.writer)
                .await
                .map_err(db_err("settle notification"))?;
            Ok(())
        })
    }

    fn next_notification(&self) -> BoxFuture<'_, StoreResult<Option<Timestamp>>> {
        Box::pin(async move {
            let next: Option<i64> = sqlx::query_scalar(codec::NEXT_NOTIFICATION)
                .fetch_one(&self.readers)
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
            .execute(&self.writer)
            .await
            .map_err(db_err("purge"))?;
            Ok(done.rows_affected())
        })
    }

    fn counts(&self) -> BoxFuture<'_, StoreResult<Counts>> {
        Box::pin(async move {
            let row = sqlx::query(codec::COUNTS)
                .fetch_one(&self.readers)
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
            crate::settings::sqlite::get(&self.readers, name)
                .await
                .map_err(db_err("read setting"))
        })
    }

    fn put_setting<'a>(&'a self, name: &'a str, value: &'a str) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            crate::settings::sqlite::put(&self.writer, name, value)
                .await
                .map_err(db_err("write setting"))
        })
    }
}
