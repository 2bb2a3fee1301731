//! [`PostgresStore`]: schedules in a PostgreSQL database shared by several replicas.
//!
//! Same tables and semantics as the SQLite store (`migrations/postgres/`). Differences that
//! come from PostgreSQL being a concurrent server:
//!
//! - Claims (`claim_due`, `claim_notifications`) are one `UPDATE … WHERE key IN (SELECT …
//!   FOR UPDATE SKIP LOCKED LIMIT n) RETURNING …`: replicas claiming at the same time skip
//!   each other's candidate rows instead of waiting for them, and a row whose lease another
//!   replica committed meanwhile is re-checked (READ COMMITTED re-evaluates the condition on
//!   the newest version), so no row is ever claimed twice.
//! - `push_callback` reads the schedule's state `FOR SHARE`, so a concurrent `complete` that
//!   moves the row out of CALLBACK (and drops its inbox) is ordered before or after the push,
//!   never interleaved with it.
//! - JSON values are stored as `TEXT`, not `JSONB`: JSONB reorders object keys and the key
//!   order of outputs and storage is visible to callers (see the migration).

use crate::codec::{self, RECORD_COLUMNS, from_text, to_text, ts};
use std::collections::HashSet;
use std::str::FromStr;
use std::time::Duration;

use bk_plugin_core::{BoxFuture, State};
use bk_plugin_engine::Timestamp;
use bk_plugin_engine::store::{
    Claim, Counts, Delivery, LeaseRequest, Notification, PushOutcome, QueuedCallback,
    ScheduleRecord, Store, StoreError, StoreResult, Transition,
};
use serde_json::{Map, Value};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::{PgPool, Row};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// How to connect to PostgreSQL.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PostgresOptions {
    /// Most connections in the pool (default 10).
    pub max_connections: u32,
    /// How long to wait for a free connection, or for the server when connecting
    /// (default 30 s).
    pub acquire_timeout: Duration,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        PostgresOptions {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(30),
        }
    }
}

/// A [`Store`] in a PostgreSQL database, migrated on connect. Several processes may share
/// one database: work is distributed by the leases in the rows, claims skip rows other
/// replicas are claiming (`FOR UPDATE SKIP LOCKED`).
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

fn db_err(what: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |e| StoreError::with_source(format!("postgres: {what}"), e)
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

    /// A claimed row that cannot be decoded (corrupt JSON, unknown state) can never run:
    /// FAIL it so it stops being claimed, and tell the operator.
    async fn fail_unreadable(
        &self,
        row: &PgRow,
        lease_id: i64,
        now: Timestamp,
        error: &StoreError,
    ) -> StoreResult<()> {
        let trace_id: String = row.try_get("trace_id").map_err(db_err("read column"))?;
        tracing::error!(trace_id, %error, "stored schedule cannot be read; failing it");
        sqlx::query(
            "UPDATE bk_plugin_schedule SET state = 5, err = $1, finish_at = $2,
                 lease_id = NULL, lease_owner = NULL, lease_until = NULL
             WHERE trace_id = $3 AND lease_id = $4",
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

/// Ends the transaction: COMMIT when `result` is `Ok((_, true))`, else ROLLBACK, awaited.
/// (Dropping a sqlx transaction only queues the ROLLBACK until the connection's next use, so
/// its row locks, e.g. `push_callback`'s `FOR SHARE`, would make claims skip the row.)
async fn end<T>(
    tx: sqlx::Transaction<'static, sqlx::Postgres>,
    result: StoreResult<(T, bool)>,
) -> StoreResult<T> {
    match result {
        Ok((v, true)) => {
            tx.commit().await.map_err(db_err("commit"))?;
            Ok(v)
        }
        Ok((v, false)) => {
            tx.rollback().await.map_err(db_err("rollback"))?;
            Ok(v)
        }
        Err(e) => {
            // The error is what matters; a failed rollback closes the connection anyway.
            let _ = tx.rollback().await;
            Err(e)
        }
    }
}

fn json_col<T: serde::de::DeserializeOwned>(row: &PgRow, col: &str) -> StoreResult<T> {
    let text: String = row.try_get(col).map_err(db_err("read column"))?;
    from_text(&text, col)
}

fn state_code(s: State) -> i32 {
    i32::from(s.code())
}

fn count(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// Rows per multi-row statement (at most 12 parameters each; PostgreSQL allows 65,535).
const MULTI_ROW_CHUNK: usize = 256;

fn record(row: &PgRow) -> StoreResult<ScheduleRecord> {
    let code: i32 = row.try_get("state").map_err(db_err("read column"))?;
    let state = codec::state(i64::from(code))?;
    let trace_id: String = row.try_get("trace_id").map_err(db_err("read column"))?;
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

impl Store for PostgresStore {
    fn create(&self, r: ScheduleRecord) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move {
            let (inputs, context) = (to_text(&r.inputs)?, to_text(&r.context)?);
            let (storage, outputs) = (to_text(&r.storage)?, to_text(&r.outputs)?);
            sqlx::query(
                "INSERT INTO bk_plugin_schedule (trace_id, plugin_version, state, inputs, context, storage, outputs, invoke_count, err, created_at, finish_at, next_run_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(&r.trace_id)
            .bind(&r.plugin_version)
            .bind(state_code(r.state))
            .bind(inputs)
            .bind(context)
            .bind(storage)
            .bind(outputs)
            .bind(count(r.invoke_count))
            .bind(&r.err)
            .bind(r.created_at.as_millis())
            .bind(r.finish_at.map(Timestamp::as_millis))
            .bind(r.next_run_at.map(Timestamp::as_millis))
            .execute(&self.pool)
            .await
            .map_err(db_err("insert schedule"))?;
            Ok(())
        })
    }

    fn create_many(&self, records: Vec<ScheduleRecord>) -> BoxFuture<'_, StoreResult<Vec<bool>>> {
        Box::pin(async move {
            let mut created = HashSet::new();
            for chunk in records.chunks(MULTI_ROW_CHUNK) {
                let rows = (0..chunk.len())
                    .map(|i| {
                        let p = (1..=12)
                            .map(|c| format!("${}", i * 12 + c))
                            .collect::<Vec<_>>()
                            .join(", ");
                        format!("({p})")
                    })
                    .collect::<Vec<_>>()
                    .join(", ");
                let sql = format!(
                    "INSERT INTO bk_plugin_schedule (trace_id, plugin_version, state, inputs, context, storage, outputs, invoke_count, err, created_at, finish_at, next_run_at)
                     VALUES {rows} ON CONFLICT (trace_id) DO NOTHING RETURNING trace_id"
                );
                let mut q = sqlx::query_scalar::<_, String>(&sql);
                for r in chunk {
                    q = q
                        .bind(&r.trace_id)
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
                        .bind(r.next_run_at.map(Timestamp::as_millis));
                }
                created.extend(
                    q.fetch_all(&self.pool)
                        .await
                        .map_err(db_err("insert schedules"))?,
                );
            }
            // A trace id twice in the batch: only its first row was created.
            Ok(records
                .iter()
                .map(|r| created.remove(&r.trace_id))
                .collect())
        })
    }

    fn get<'a>(&'a self, trace_id: &'a str) -> BoxFuture<'a, StoreResult<Option<ScheduleRecord>>> {
        Box::pin(async move {
            let sql =
                format!("SELECT {RECORD_COLUMNS} FROM bk_plugin_schedule WHERE trace_id = $1");
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
            // Each statement is atomic and its candidates are locked with SKIP LOCKED: rows
            // another replica is claiming are skipped, rows it claimed meanwhile fail the
            // re-checked lease condition. Due polls come from the partial index; rows in
            // CALLBACK are due when their inbox is not empty, oldest callback first.
            let polls = format!(
                "UPDATE bk_plugin_schedule SET lease_id = $1, lease_owner = $2, lease_until = $3
                 WHERE trace_id IN (
                     SELECT trace_id FROM bk_plugin_schedule
                     WHERE finish_at IS NULL AND state = 2 AND next_run_at <= $4
                       AND (lease_until IS NULL OR lease_until < $4)
                     ORDER BY next_run_at LIMIT $5
                     FOR UPDATE SKIP LOCKED)
                 RETURNING {RECORD_COLUMNS}"
            );
            let callbacks = format!(
                "UPDATE bk_plugin_schedule SET lease_id = $1, lease_owner = $2, lease_until = $3
                 WHERE trace_id IN (
                     SELECT s.trace_id FROM bk_plugin_schedule s
                     WHERE s.finish_at IS NULL AND s.state = 3
                       AND (s.lease_until IS NULL OR s.lease_until < $4)
                       AND EXISTS (SELECT 1 FROM bk_plugin_callback c WHERE c.trace_id = s.trace_id)
                     ORDER BY (SELECT MIN(c.seq) FROM bk_plugin_callback c WHERE c.trace_id = s.trace_id)
                     LIMIT $5
                     FOR UPDATE OF s SKIP LOCKED)
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
                    .fetch_all(&self.pool)
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
                        self.oldest_callback(&record.trace_id).await?
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
                "UPDATE bk_plugin_schedule SET lease_until = $1 WHERE trace_id = $2 AND lease_id = $3",
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
            let plain = t.is_plain();
            let storage = to_text(&t.storage)?;
            let outputs = to_text(&t.outputs)?;
            let notification = match &t.notification {
                Some(n) => Some((n.url.clone(), to_text(&n.data)?, n.due_at)),
                None => None,
            };
            // Inbox entries exist only while a row is in CALLBACK.
            let drop_inbox = t.drops_inbox();
            let update = sqlx::query(
                "UPDATE bk_plugin_schedule
                 SET state = $1, storage = $2, outputs = $3, invoke_count = $4, err = $5,
                     finish_at = $6, next_run_at = $7,
                     lease_id = NULL, lease_owner = NULL, lease_until = NULL
                 WHERE trace_id = $8 AND lease_id = $9",
            )
            .bind(state_code(t.state))
            .bind(storage)
            .bind(outputs)
            .bind(count(t.invoke_count))
            .bind(&t.err)
            .bind(t.finish_at.map(Timestamp::as_millis))
            .bind(t.next_run_at.map(Timestamp::as_millis))
            .bind(trace_id)
            .bind(lease_id);
            if plain {
                // A single statement is atomic by itself: the common POLL -> POLL step
                // needs no explicit transaction.
                let updated = update
                    .execute(&self.pool)
                    .await
                    .map_err(db_err("complete"))?;
                return Ok(updated.rows_affected() == 1);
            }
            let mut tx = self.pool.begin().await.map_err(db_err("begin"))?;
            let result = async {
                let updated = update
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err("complete"))?;
                if updated.rows_affected() != 1 {
                    return Ok((false, false));
                }
                if let Some(seq) = t.consumed_callback {
                    sqlx::query("DELETE FROM bk_plugin_callback WHERE seq = $1")
                        .bind(seq)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err("consume callback"))?;
                }
                if drop_inbox {
                    sqlx::query("DELETE FROM bk_plugin_callback WHERE trace_id = $1")
                        .bind(trace_id)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err("drop callbacks"))?;
                }
                if let Some((url, data, due_at)) = notification {
                    sqlx::query(
                        "INSERT INTO bk_plugin_notification (trace_id, url, data, due_at) VALUES ($1, $2, $3, $4)",
                    )
                    .bind(trace_id)
                    .bind(url)
                    .bind(data)
                    .bind(due_at.as_millis())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err("enqueue notification"))?;
                }
                Ok((true, true))
            }
            .await;
            end(tx, result).await
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
                let rows = (0..chunk.len())
                    .map(|i| {
                        let p = (1..=9)
                            .map(|c| format!("${}", i * 9 + c))
                            .collect::<Vec<_>>()
                            .join(", ");
                        format!("({p})")
                    })
                    .collect::<Vec<_>>()
                    .join(", ");
                // Parameters carry their types (text, int8, int4), so the VALUES columns are
                // typed even when a first row holds NULLs.
                let sql = format!(
                    "UPDATE bk_plugin_schedule AS s
                     SET state = v.state, storage = v.storage, outputs = v.outputs,
                         invoke_count = v.invoke_count, err = v.err, finish_at = v.finish_at,
                         next_run_at = v.next_run_at,
                         lease_id = NULL, lease_owner = NULL, lease_until = NULL
                     FROM (VALUES {rows})
                         AS v (trace_id, lease_id, state, storage, outputs, invoke_count, err, finish_at, next_run_at)
                     WHERE s.trace_id = v.trace_id AND s.lease_id = v.lease_id
                     RETURNING s.trace_id"
                );
                let mut q = sqlx::query_scalar::<_, String>(&sql);
                for (_, trace_id, lease_id, t) in chunk {
                    q = q
                        .bind(trace_id)
                        .bind(*lease_id)
                        .bind(state_code(t.state))
                        .bind(to_text(&t.storage)?)
                        .bind(to_text(&t.outputs)?)
                        .bind(count(t.invoke_count))
                        .bind(&t.err)
                        .bind(t.finish_at.map(Timestamp::as_millis))
                        .bind(t.next_run_at.map(Timestamp::as_millis));
                }
                let updated: HashSet<String> = q
                    .fetch_all(&self.pool)
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
            let mut tx = self.pool.begin().await.map_err(db_err("begin"))?;
            let result = async {
                // FOR SHARE: a concurrent transition of this row waits for our commit (or we
                // wait for its, and then read the state it wrote).
                let state: Option<i32> = sqlx::query_scalar(
                    "SELECT state FROM bk_plugin_schedule WHERE trace_id = $1 FOR SHARE",
                )
                .bind(trace_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err("read state"))?;
                let state = state
                    .and_then(|c| u8::try_from(c).ok())
                    .and_then(State::from_code);
                if state != Some(State::Callback) {
                    return Ok((PushOutcome::NotWaiting(state), false));
                }
                sqlx::query(
                    "INSERT INTO bk_plugin_callback (trace_id, callback_id, data, received_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(trace_id)
                .bind(callback_id)
                .bind(data)
                .bind(now.as_millis())
                .execute(&mut *tx)
                .await
                .map_err(db_err("queue callback"))?;
                Ok((PushOutcome::Queued, true))
            }
            .await;
            end(tx, result).await
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
            let rows = sqlx::query(
                "UPDATE bk_plugin_notification SET lease_until = $1
                 WHERE id IN (SELECT id FROM bk_plugin_notification
                              WHERE due_at <= $2 AND (lease_until IS NULL OR lease_until < $2)
                              ORDER BY due_at LIMIT $3
                              FOR UPDATE SKIP LOCKED)
                 RETURNING id, trace_id, url, data, attempts, due_at",
            )
            .bind(until.as_millis())
            .bind(now.as_millis())
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await
            .map_err(db_err("claim notifications"))?;
            let mut claimed = rows
                .iter()
                .map(|row| {
                    let attempts: i32 = row.try_get("attempts").map_err(db_err("read column"))?;
                    let due_at: i64 = row.try_get("due_at").map_err(db_err("read column"))?;
                    Ok((
                        due_at,
                        Notification {
                            id: row.try_get("id").map_err(db_err("read column"))?,
                            trace_id: row.try_get("trace_id").map_err(db_err("read column"))?,
                            url: row.try_get("url").map_err(db_err("read column"))?,
                            data: json_col(row, "data")?,
                            attempts: u32::try_from(attempts).unwrap_or(0),
                        },
                    ))
                })
                .collect::<StoreResult<Vec<_>>>()?;
            // RETURNING has no defined order: oldest due first.
            claimed.sort_by_key(|(due_at, n)| (*due_at, n.id));
            Ok(claimed.into_iter().map(|(_, n)| n).collect())
        })
    }

    fn settle_notification(&self, id: i64, delivery: Delivery) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move {
            let q = match delivery {
                Delivery::Delivered | Delivery::GaveUp => {
                    sqlx::query("DELETE FROM bk_plugin_notification WHERE id = $1").bind(id)
                }
                Delivery::RetryAt(at) => sqlx::query(
                    "UPDATE bk_plugin_notification SET attempts = attempts + 1, due_at = $1, lease_until = NULL WHERE id = $2",
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
                "DELETE FROM bk_plugin_schedule WHERE finish_at IS NOT NULL AND finish_at < $1",
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
            crate::settings::postgres::get(&self.pool, name)
                .await
                .map_err(db_err("read setting"))
        })
    }

    fn put_setting<'a>(&'a self, name: &'a str, value: &'a str) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            crate::settings::postgres::put(&self.pool, name, value)
                .await
                .map_err(db_err("write setting"))
        })
    }
}

impl PostgresStore {
    async fn oldest_callback(&self, trace_id: &str) -> StoreResult<Option<QueuedCallback>> {
        let row = sqlx::query(
            "SELECT seq, callback_id, data FROM bk_plugin_callback WHERE trace_id = $1 ORDER BY seq LIMIT 1",
        )
        .bind(trace_id)
        .fetch_optional(&self.pool)
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
}
