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

use std::collections::{HashMap, HashSet};

use bk_plugin_core::{BoxFuture, State};
use bk_plugin_engine::Timestamp;
use bk_plugin_engine::store::{
    Claim, Completion, Counts, Delivery, LeaseRequest, NewNotification, Notification, PushOutcome,
    ScheduleRecord, Store, StoreError, StoreResult, Transition,
};
use serde_json::Value;
use sqlx::{MySql, MySqlConnection, MySqlPool, QueryBuilder};

use crate::codec::{self, CallbackRow, NotificationRow, RecordRow, Text, ts};
use crate::held::Held;
use crate::sql::{self, Param};
use crate::steps::{self, Step};

mod connect;
mod statements;

pub use connect::MySqlOptions;
use statements::{
    DUE_CALLBACKS, DUE_NOTIFICATIONS, DUE_POLLS, INSERT_CALLBACK_IGNORE, LOCK_HELD,
    STATE_IN_SHARE_MODE, complete_many, lease_notifications, lease_rows, read_notifications,
    read_rows,
};

/// Rows as MySQL returns them: states and counts are `INT` (`i32`); trace ids, whose
/// `utf8mb4_bin` collation makes the server describe them as binary, are bytes.
type Record = RecordRow<i32, Vec<u8>>;

/// A [`Store`] in a MySQL 8 or MariaDB 10.6+ database, migrated on connect. Several
/// processes may share one database: work is distributed by the leases in the rows, and
/// claims skip rows other replicas are claiming (`FOR UPDATE SKIP LOCKED`).
#[derive(Debug, Clone)]
pub struct MySqlStore {
    pool: MySqlPool,
}

fn db_err(what: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |e| crate::outage::db_error("mysql", what, e)
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

/// Ends a transaction: COMMIT when `result` is `Ok((_, true))`, else ROLLBACK, awaited (so no
/// row lock outlives the step). `None` when the step must run again: InnoDB chose it as a
/// deadlock victim and `attempt` is below [`DEADLOCK_RETRIES`].
async fn end<T>(
    tx: sqlx::Transaction<'_, MySql>,
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
            // Held: a transaction abandoned at any `.await` closes its connection.
            let mut held = Held::new($store.pool.acquire().await.map_err(db_err("acquire"))?);
            let mut tx = sqlx::Acquire::begin(&mut *held)
                .await
                .map_err(db_err("begin"))?;
            let result = async {
                let $conn: &mut MySqlConnection = &mut tx;
                $body
            }
            .await;
            let ended = end(tx, result, $what, &mut attempt).await;
            held.release();
            if let Some(done) = ended {
                break done;
            }
        }
    }};
}

impl MySqlStore {
    /// Runs `step` on a pooled connection (one statement is atomic by itself); the rows it
    /// changed.
    async fn run(&self, step: &Step) -> StoreResult<u64> {
        let mut conn = self.pool.acquire().await.map_err(db_err("acquire"))?;
        run(&mut conn, step).await
    }

    /// Runs `steps` in a transaction, committed only when the first one (the write fenced by
    /// a lease) changed a row; `false` otherwise.
    async fn run_fenced(&self, steps: &[Step]) -> StoreResult<bool> {
        transaction!(self, "complete", |conn| {
            for (i, step) in steps.iter().enumerate() {
                if run(conn, step).await? != 1 && i == 0 {
                    return Ok((false, false));
                }
            }
            Ok((true, true))
        })
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
            self.run(&steps::fail_unreadable(&trace_id, lease_id, now, &e))
                .await?;
        }
        // Safe outside the claim's transaction: while we hold the lease only we consume these
        // inboxes; others can only append to them.
        let waiting = steps::waiting(&records);
        let callbacks = if waiting.is_empty() {
            HashMap::new()
        } else {
            let rows = sql::oldest_callbacks::<MySql>(&waiting)
                .build_query_as::<CallbackRow<Vec<u8>>>()
                .persistent(sql::keep_prepared(waiting.len()))
                .fetch_all(&self.pool)
                .await
                .map_err(db_err("read callback"))?;
            codec::callbacks(rows)?
        };
        Ok(steps::claims(records, lease_id, callbacks))
    }

    /// Inserts `rows` one at a time; `false` for a trace id that exists.
    async fn create_one_by_one(&self, rows: Vec<Vec<Param>>) -> StoreResult<Vec<bool>> {
        let mut created = Vec::with_capacity(rows.len());
        for row in rows {
            match sql::insert_schedules::<MySql>(vec![row])
                .build()
                .execute(&self.pool)
                .await
            {
                Ok(_) => created.push(true),
                Err(e) if is_unique_violation(&e) => created.push(false),
                Err(e) => return Err(db_err("insert schedule")(e)),
            }
        }
        Ok(created)
    }
}

/// Runs one step on `conn`; the rows it changed. (sqlx asks for CLIENT_FOUND_ROWS: an UPDATE
/// counts the rows it matched, also those set to the values they had.)
async fn run(conn: &mut MySqlConnection, step: &Step) -> StoreResult<u64> {
    let done = sql::bind_all(sqlx::query(step.sql.qmark()), step.params.clone())
        .execute(conn)
        .await
        .map_err(db_err(step.what))?;
    Ok(done.rows_affected())
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

impl Store for MySqlStore {
    fn create(&self, r: ScheduleRecord) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move {
            sql::insert_schedules::<MySql>(vec![steps::record_params(&r)?])
                .build()
                .execute(&self.pool)
                .await
                .map_err(db_err("insert schedule"))?;
            Ok(())
        })
    }

    fn create_many(&self, records: Vec<ScheduleRecord>) -> BoxFuture<'_, StoreResult<Vec<bool>>> {
        Box::pin(async move {
            // Each chunk with one multi-row INSERT; only when a trace id already exists (rare:
            // ids are random) is the chunk redone row by row to tell which.
            let mut created = Vec::with_capacity(records.len());
            for chunk in records.chunks(sql::MULTI_ROW_CHUNK) {
                let rows: Vec<Vec<Param>> = chunk
                    .iter()
                    .map(steps::record_params)
                    .collect::<StoreResult<_>>()?;
                let inserted = sql::insert_schedules::<MySql>(rows.clone())
                    .build()
                    .persistent(sql::keep_prepared(chunk.len()))
                    .execute(&self.pool)
                    .await;
                match inserted {
                    Ok(_) => created.extend(std::iter::repeat_n(true, chunk.len())),
                    // The statement inserted nothing: find out row by row which exist (a
                    // trace id twice in the batch: only its first row is created).
                    Err(e) if is_unique_violation(&e) => {
                        created.extend(self.create_one_by_one(rows).await?);
                    }
                    Err(e) => return Err(db_err("insert schedules")(e)),
                }
            }
            Ok(created)
        })
    }

    fn get<'a>(&'a self, trace_id: &'a str) -> BoxFuture<'a, StoreResult<Option<ScheduleRecord>>> {
        Box::pin(async move {
            let row: Option<Record> = sqlx::query_as(sql::GET.qmark())
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
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let rows = transaction!(self, "claim", |conn| {
                let mut ids: Vec<Vec<u8>> = sqlx::query_scalar(DUE_POLLS)
                    .bind(now.as_millis())
                    .bind(now.as_millis())
                    .bind(limit)
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(db_err("claim"))?;
                let left = limit - ids.len() as i64;
                if left > 0 {
                    let waiting: Vec<Vec<u8>> = sqlx::query_scalar(DUE_CALLBACKS)
                        .bind(now.as_millis())
                        .bind(left)
                        .fetch_all(&mut *conn)
                        .await
                        .map_err(db_err("claim"))?;
                    ids.extend(waiting);
                }
                if ids.is_empty() {
                    return Ok((Vec::new(), false));
                }
                let ids = ids
                    .into_iter()
                    .map(|id| Ok(Param::Text(id.into_text()?)))
                    .collect::<StoreResult<Vec<_>>>()?;
                // Lease the locked rows, then read them back.
                let prepared = sql::keep_prepared(ids.len());
                lease_rows(ids.clone(), &lease)
                    .build()
                    .persistent(prepared)
                    .execute(&mut *conn)
                    .await
                    .map_err(db_err("claim"))?;
                let rows: Vec<Record> = read_rows(ids)
                    .build_query_as()
                    .persistent(prepared)
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(db_err("claim"))?;
                Ok((rows, true))
            })?;
            self.claimed(rows, lease.id, now).await
        })
    }

    fn renew<'a>(
        &'a self,
        trace_id: &'a str,
        lease_id: i64,
        until: Timestamp,
    ) -> BoxFuture<'a, StoreResult<bool>> {
        Box::pin(async move { Ok(self.run(&steps::renew(trace_id, lease_id, until)).await? == 1) })
    }

    fn complete<'a>(
        &'a self,
        trace_id: &'a str,
        lease_id: i64,
        t: Transition,
    ) -> BoxFuture<'a, StoreResult<bool>> {
        Box::pin(async move {
            let steps = steps::complete(trace_id, lease_id, &t)?;
            if let [only] = &steps[..] {
                // A single statement is atomic by itself: the common POLL -> POLL step needs
                // no explicit transaction.
                return Ok(self.run(only).await? == 1);
            }
            self.run_fenced(&steps).await
        })
    }

    fn complete_many(&self, items: Vec<Completion>) -> BoxFuture<'_, StoreResult<Vec<bool>>> {
        Box::pin(async move {
            let mut batch = steps::partition(items);
            for (i, trace_id, lease_id, t) in batch.singles {
                batch.results[i] = self.complete(&trace_id, lease_id, t).await?;
            }
            for chunk in &batch.chunks {
                let values = steps::chunk_values(chunk)?;
                let written: HashSet<String> = transaction!(self, "complete many", |conn| {
                    // Lock the rows whose lease still holds: exactly these are written.
                    let mut b = QueryBuilder::<MySql>::new(LOCK_HELD);
                    b.push_tuples(chunk, |mut t, (_, trace_id, lease_id, _)| {
                        t.push_bind(trace_id).push_bind(*lease_id);
                    });
                    b.push(" FOR UPDATE");
                    let held = b
                        .build_query_scalar::<Vec<u8>>()
                        .persistent(sql::keep_prepared(chunk.len()))
                        .fetch_all(&mut *conn)
                        .await
                        .map_err(db_err("complete many"))?
                        .into_iter()
                        .map(Text::into_text)
                        .collect::<StoreResult<HashSet<String>>>()?;
                    if held.is_empty() {
                        return Ok((held, false));
                    }
                    complete_many(values.clone())
                        .build()
                        .persistent(sql::keep_prepared(chunk.len()))
                        .execute(&mut *conn)
                        .await
                        .map_err(db_err("complete many"))?;
                    Ok((held, true))
                })?;
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
            let mut queue = steps::queue_callback(trace_id, callback_id, &data, now)?;
            queue.sql = &INSERT_CALLBACK_IGNORE;
            let queue = &queue;
            transaction!(self, "push callback", |conn| {
                let code: Option<i32> = sqlx::query_scalar(STATE_IN_SHARE_MODE)
                    .bind(trace_id)
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(db_err("read state"))?;
                match steps::read_state(code.map(i64::from)) {
                    Some(State::Callback) => Ok(steps::pushed(run(conn, queue).await?)),
                    other => Ok((PushOutcome::NotWaiting(other), false)),
                }
            })
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
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let rows = transaction!(self, "claim notifications", |conn| {
                let ids: Vec<i64> = sqlx::query_scalar(DUE_NOTIFICATIONS)
                    .bind(now.as_millis())
                    .bind(now.as_millis())
                    .bind(limit)
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(db_err("claim notifications"))?;
                if ids.is_empty() {
                    return Ok((Vec::new(), false));
                }
                let ids: Vec<Param> = ids.into_iter().map(Param::Int).collect();
                let prepared = sql::keep_prepared(ids.len());
                lease_notifications(ids.clone(), until.as_millis())
                    .build()
                    .persistent(prepared)
                    .execute(&mut *conn)
                    .await
                    .map_err(db_err("claim notifications"))?;
                let rows: Vec<NotificationRow<i32, Vec<u8>>> = read_notifications(ids)
                    .build_query_as()
                    .persistent(prepared)
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(db_err("claim notifications"))?;
                Ok((rows, true))
            })?;
            codec::notifications(rows)
        })
    }

    fn settle_notification(&self, id: i64, delivery: Delivery) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move {
            self.run(&steps::settle(id, delivery)).await?;
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

    crate::inspection::store_operations!(mysql, pool, pool);

    fn purge_finished(&self, before: Timestamp) -> BoxFuture<'_, StoreResult<u64>> {
        Box::pin(async move { self.run(&steps::purge(before)).await })
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
