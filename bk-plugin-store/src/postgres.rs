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

use std::collections::{HashMap, HashSet};

use bk_plugin_core::{BoxFuture, State};
use bk_plugin_engine::Timestamp;
use bk_plugin_engine::store::{
    Claim, Completion, Counts, Delivery, LeaseRequest, NewNotification, Notification, PushOutcome,
    ScheduleRecord, Store, StoreError, StoreResult, Transition,
};
use serde_json::Value;
use sqlx::{PgConnection, PgPool, Postgres};

use crate::codec::{self, CallbackRow, NotificationRow, RecordRow, ts};
use crate::held::Held;
use crate::sql;
use crate::steps::{self, Step};

mod connect;

pub use connect::PostgresOptions;

/// Rows as PostgreSQL returns them: states and counts are `integer` (`i32`).
type Record = RecordRow<i32, String>;

/// A [`Store`] in a PostgreSQL database, migrated on connect. Several processes may share
/// one database: work is distributed by the leases in the rows, claims skip rows other
/// replicas are claiming (`FOR UPDATE SKIP LOCKED`).
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

fn db_err(what: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |e| crate::outage::db_error("postgres", what, e)
}

impl PostgresStore {
    /// Runs `step` on a pooled connection (one statement is atomic by itself); the rows it
    /// changed.
    async fn run(&self, step: Step) -> StoreResult<u64> {
        let mut conn = self.pool.acquire().await.map_err(db_err("acquire"))?;
        run(&mut conn, step).await
    }

    /// Runs `steps` in a transaction, committed only when the first one (the write fenced by
    /// a lease) changed a row; `false` otherwise.
    async fn run_fenced(&self, steps: Vec<Step>) -> StoreResult<bool> {
        let mut held = self.held().await?;
        let mut tx = sqlx::Acquire::begin(&mut *held)
            .await
            .map_err(db_err("begin"))?;
        let result = async {
            for (i, step) in steps.into_iter().enumerate() {
                if run(&mut tx, step).await? != 1 && i == 0 {
                    return Ok((false, false));
                }
            }
            Ok((true, true))
        }
        .await;
        let ended = end(tx, result).await;
        held.release();
        ended
    }

    /// A connection for a transaction ([`Held`]: closed if the transaction is abandoned).
    async fn held(&self) -> StoreResult<Held<Postgres>> {
        Ok(Held::new(
            self.pool.acquire().await.map_err(db_err("acquire"))?,
        ))
    }

    /// The claims of `rows` (just leased): unreadable rows failed, callbacks attached.
    async fn claimed(
        &self,
        rows: Vec<Record>,
        lease_id: i64,
        now: Timestamp,
    ) -> StoreResult<Vec<Claim>> {
        let (records, unreadable) = codec::decode_claimed(rows)?;
        for (trace_id, e) in unreadable {
            self.run(steps::fail_unreadable(&trace_id, lease_id, now, &e))
                .await?;
        }
        // Safe outside the claim statement: while we hold the lease only we consume these
        // inboxes; others can only append to them.
        let waiting = steps::waiting(&records);
        let callbacks = if waiting.is_empty() {
            HashMap::new()
        } else {
            let rows = sql::oldest_callbacks::<Postgres>(&waiting)
                .build_query_as::<CallbackRow<String>>()
                .persistent(sql::keep_prepared(waiting.len()))
                .fetch_all(&self.pool)
                .await
                .map_err(db_err("read callback"))?;
            codec::callbacks(rows)?
        };
        Ok(steps::claims(records, lease_id, callbacks))
    }
}

/// Runs one step on `conn`; the rows it changed.
async fn run(conn: &mut PgConnection, step: Step) -> StoreResult<u64> {
    let done = sql::bind_all(sqlx::query(step.sql.numbered()), step.params)
        .execute(conn)
        .await
        .map_err(db_err(step.what))?;
    Ok(done.rows_affected())
}

/// Ends the transaction: COMMIT when `result` is `Ok((_, true))`, else ROLLBACK, awaited.
/// (Dropping a sqlx transaction only queues the ROLLBACK until the connection's next use, so
/// its row locks, e.g. `push_callback`'s `FOR SHARE`, would make claims skip the row.)
async fn end<T>(
    tx: sqlx::Transaction<'_, Postgres>,
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

/// Claims due polls, and waits for a callback whose deadline passed (`next_run_at`): `$1`–`$3`
/// the lease, `$4` now, `$5` the limit. Each statement is atomic and its candidates are locked
/// with SKIP LOCKED: rows another replica is claiming are skipped, rows it claimed meanwhile
/// fail the re-checked lease condition. Due rows come from the partial index (migration 0004).
const CLAIM_POLLS: &str = concat!(
    "UPDATE bk_plugin_schedule SET lease_id = $1, lease_owner = $2, lease_until = $3
     WHERE trace_id IN (
         SELECT trace_id FROM bk_plugin_schedule
         WHERE finish_at IS NULL AND next_run_at <= $4 AND state IN (2, 3)
           AND (lease_until IS NULL OR lease_until < $4)
         ORDER BY next_run_at LIMIT $5
         FOR UPDATE SKIP LOCKED)
     RETURNING ",
    sql::record_columns!()
);

/// Claims rows in CALLBACK whose inbox is not empty, oldest callback first; parameters as
/// [`CLAIM_POLLS`].
const CLAIM_CALLBACKS: &str = concat!(
    "UPDATE bk_plugin_schedule SET lease_id = $1, lease_owner = $2, lease_until = $3
     WHERE trace_id IN (
         SELECT s.trace_id FROM bk_plugin_schedule s
         WHERE s.finish_at IS NULL AND s.state = 3
           AND (s.lease_until IS NULL OR s.lease_until < $4)
           AND EXISTS (SELECT 1 FROM bk_plugin_callback c WHERE c.trace_id = s.trace_id)
         ORDER BY (SELECT MIN(c.seq) FROM bk_plugin_callback c WHERE c.trace_id = s.trace_id)
         LIMIT $5
         FOR UPDATE OF s SKIP LOCKED)
     RETURNING ",
    sql::record_columns!()
);

/// Claims due notifications: `$1` the lease expiry, `$2` now, `$3` the limit.
const CLAIM_NOTIFICATIONS: &str = concat!(
    "UPDATE bk_plugin_notification SET lease_until = $1
     WHERE id IN (SELECT id FROM bk_plugin_notification
                  WHERE due_at <= $2 AND (lease_until IS NULL OR lease_until < $2)
                  ORDER BY due_at, id LIMIT $3
                  FOR UPDATE SKIP LOCKED)
     RETURNING ",
    sql::notification_columns!()
);

/// A multi-row transition write; `VALUES …` in `steps::transition_values` order follows.
/// Parameters carry their types (text, int8), so the columns are typed even when a first row
/// holds NULLs.
const COMPLETE_MANY: &str = "UPDATE bk_plugin_schedule AS s
     SET state = v.state, storage = v.storage, outputs = v.outputs,
         invoke_count = v.invoke_count, err = v.err, finish_at = v.finish_at,
         next_run_at = CASE WHEN s.cancel IS NULL OR v.finish_at IS NOT NULL
                            THEN v.next_run_at ELSE s.created_at END,
         lease_id = NULL, lease_owner = NULL, lease_until = NULL
     FROM (";

/// The end of [`COMPLETE_MANY`], after its values.
const COMPLETE_MANY_END: &str = ")
         AS v (trace_id, lease_id, state, storage, outputs, invoke_count, err, finish_at, next_run_at)
     WHERE s.trace_id = v.trace_id AND s.lease_id = v.lease_id
     RETURNING s.trace_id";

/// The state of a row, `FOR SHARE`: a concurrent transition of this row waits for the
/// push's commit (or the push waits for its, and then reads the state it wrote).
const STATE_FOR_SHARE: &str = "SELECT state FROM bk_plugin_schedule WHERE trace_id = $1 FOR SHARE";

impl Store for PostgresStore {
    fn create(&self, r: ScheduleRecord) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move {
            sql::insert_schedules::<Postgres>(vec![steps::record_params(&r)?])
                .build()
                .execute(&self.pool)
                .await
                .map_err(db_err("insert schedule"))?;
            Ok(())
        })
    }

    fn create_many(&self, records: Vec<ScheduleRecord>) -> BoxFuture<'_, StoreResult<Vec<bool>>> {
        Box::pin(async move {
            let mut created = HashSet::new();
            for chunk in records.chunks(sql::MULTI_ROW_CHUNK) {
                let rows = chunk
                    .iter()
                    .map(steps::record_params)
                    .collect::<StoreResult<_>>()?;
                let mut b = sql::insert_schedules::<Postgres>(rows);
                b.push(" ON CONFLICT (trace_id) DO NOTHING RETURNING trace_id");
                created.extend(
                    b.build_query_scalar::<String>()
                        .persistent(sql::keep_prepared(chunk.len()))
                        .fetch_all(&self.pool)
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
            let row: Option<Record> = sqlx::query_as(sql::GET.numbered())
                .bind(trace_id)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err("read schedule"))?;
            row.map(Record::record).transpose()
        })
    }

    fn claim_due<'a>(
        &'a self,
        now: Timestamp,
        lease: LeaseRequest<'a>,
        limit: usize,
    ) -> BoxFuture<'a, StoreResult<Vec<Claim>>> {
        Box::pin(async move {
            let mut rows: Vec<Record> = Vec::new();
            for claim in [CLAIM_POLLS, CLAIM_CALLBACKS] {
                let left = limit.saturating_sub(rows.len());
                if left == 0 {
                    break;
                }
                let claimed: Vec<Record> = sqlx::query_as(claim)
                    .bind(lease.id)
                    .bind(lease.owner)
                    .bind(lease.until.as_millis())
                    .bind(now.as_millis())
                    .bind(i64::try_from(left).unwrap_or(i64::MAX))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err("claim"))?;
                rows.extend(claimed);
            }
            self.claimed(rows, lease.id, now).await
        })
    }

    fn renew<'a>(
        &'a self,
        trace_id: &'a str,
        lease_id: i64,
        until: Timestamp,
    ) -> BoxFuture<'a, StoreResult<bool>> {
        Box::pin(async move { Ok(self.run(steps::renew(trace_id, lease_id, until)).await? == 1) })
    }

    fn complete<'a>(
        &'a self,
        trace_id: &'a str,
        lease_id: i64,
        t: Transition,
    ) -> BoxFuture<'a, StoreResult<bool>> {
        Box::pin(async move {
            let mut steps = steps::complete(trace_id, lease_id, &t)?;
            if steps.len() == 1 {
                // A single statement is atomic by itself: the common POLL -> POLL step needs
                // no explicit transaction.
                return Ok(self.run(steps.remove(0)).await? == 1);
            }
            self.run_fenced(steps).await
        })
    }

    fn complete_many(&self, items: Vec<Completion>) -> BoxFuture<'_, StoreResult<Vec<bool>>> {
        Box::pin(async move {
            let mut batch = steps::partition(items);
            for (i, trace_id, lease_id, t) in batch.singles {
                batch.results[i] = self.complete(&trace_id, lease_id, t).await?;
            }
            for chunk in &batch.chunks {
                let mut b = sqlx::QueryBuilder::<Postgres>::new(COMPLETE_MANY);
                sql::values(&mut b, steps::chunk_values(chunk)?);
                b.push(COMPLETE_MANY_END);
                let written: HashSet<String> = b
                    .build_query_scalar()
                    .persistent(sql::keep_prepared(chunk.len()))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err("complete many"))?
                    .into_iter()
                    .collect();
                steps::scatter(&mut batch.results, chunk, &written);
            }
            Ok(batch.results)
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
            let queue = steps::queue_callback(trace_id, callback_id, &data, now)?;
            let mut held = self.held().await?;
            let mut tx = sqlx::Acquire::begin(&mut *held)
                .await
                .map_err(db_err("begin"))?;
            let result = async {
                let code: Option<i32> = sqlx::query_scalar(STATE_FOR_SHARE)
                    .bind(trace_id)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db_err("read state"))?;
                match steps::read_state(code.map(i64::from)) {
                    Some(State::Callback) => Ok(steps::pushed(run(&mut tx, queue).await?)),
                    other => Ok((PushOutcome::NotWaiting(other), false)),
                }
            }
            .await;
            let ended = end(tx, result).await;
            held.release();
            ended
        })
    }

    fn next_due(&self) -> BoxFuture<'_, StoreResult<Option<Timestamp>>> {
        Box::pin(async move {
            let next: Option<i64> = sqlx::query_scalar(sql::NEXT_DUE)
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
            let rows: Vec<NotificationRow<i32, String>> = sqlx::query_as(CLAIM_NOTIFICATIONS)
                .bind(until.as_millis())
                .bind(now.as_millis())
                .bind(i64::try_from(limit).unwrap_or(i64::MAX))
                .fetch_all(&self.pool)
                .await
                .map_err(db_err("claim notifications"))?;
            codec::notifications(rows)
        })
    }

    fn settle_notification(&self, id: i64, delivery: Delivery) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move {
            self.run(steps::settle(id, delivery)).await?;
            Ok(())
        })
    }

    fn next_notification(&self) -> BoxFuture<'_, StoreResult<Option<Timestamp>>> {
        Box::pin(async move {
            let next: Option<i64> = sqlx::query_scalar(sql::NEXT_NOTIFICATION)
                .fetch_one(&self.pool)
                .await
                .map_err(db_err("next notification"))?;
            Ok(ts(next))
        })
    }

    crate::inspection::store_operations!(postgres, pool, pool);

    fn purge_finished(&self, before: Timestamp) -> BoxFuture<'_, StoreResult<u64>> {
        Box::pin(async move { self.run(steps::purge(before)).await })
    }

    fn counts(&self) -> BoxFuture<'_, StoreResult<Counts>> {
        Box::pin(async move {
            let counts: (i64, i64, i64) = sqlx::query_as(sql::COUNTS)
                .fetch_one(&self.pool)
                .await
                .map_err(db_err("counts"))?;
            Ok(codec::counts(counts))
        })
    }

    fn waiting_versions(&self) -> BoxFuture<'_, StoreResult<Vec<(String, u64)>>> {
        Box::pin(async move {
            let rows: Vec<(String, i64)> = sqlx::query_as(sql::WAITING_VERSIONS)
                .fetch_all(&self.pool)
                .await
                .map_err(db_err("waiting versions"))?;
            Ok(codec::waiting_versions(rows))
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
