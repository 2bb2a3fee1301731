//! [`SqliteStore`]: schedules in an embedded SQLite file.
//!
//! One writer connection (SQLite allows one writer at a time; queueing writes in-process
//! avoids lock contention) and a small pool of readers (WAL lets them read while the writer
//! writes). Every multi-statement step runs in a `BEGIN IMMEDIATE` transaction, so it is
//! atomic and takes the write lock up front, also against other processes on the same file.

use std::collections::{HashMap, HashSet};

use bk_plugin_core::BoxFuture;
use bk_plugin_engine::Timestamp;
use bk_plugin_engine::store::{
    Claim, Completion, Counts, Delivery, LeaseRequest, NewNotification, Notification, PushOutcome,
    ScheduleRecord, Store, StoreError, StoreResult, Transition,
};
use serde_json::Value;
use sqlx::{Sqlite, SqliteConnection, SqlitePool};

use crate::codec::{self, CallbackRow, NotificationRow, RecordRow, ts};
use crate::held::Held;
use crate::sql;
use crate::steps::{self, Step};

mod connect;

pub use connect::SqliteOptions;

/// Rows as SQLite returns them: every integer column is an `INTEGER` (`i64`).
type Record = RecordRow<i64, String>;

/// A [`Store`] in a SQLite file (WAL mode), created and migrated on open.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    readers: SqlitePool,
}

fn db_err(what: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |e| crate::outage::db_error("sqlite", what, e)
}

/// The writer connection inside a `BEGIN IMMEDIATE` transaction, until [`end`] (closed if
/// dropped before, see [`Held`]).
type Tx = Held<Sqlite>;

impl SqliteStore {
    /// Starts a `BEGIN IMMEDIATE` transaction on the writer connection.
    async fn begin(&self) -> StoreResult<Tx> {
        let conn = self.writer.acquire().await.map_err(db_err("acquire"))?;
        let mut tx = Held::new(conn);
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut **tx)
            .await
            .map_err(db_err("begin"))?;
        Ok(tx)
    }
}

impl SqliteStore {
    /// Runs `step` on the writer connection (outside a transaction: one statement is atomic
    /// by itself); the rows it changed.
    async fn run(&self, step: Step) -> StoreResult<u64> {
        let mut conn = self.writer.acquire().await.map_err(db_err("acquire"))?;
        run(&mut conn, step).await
    }

    /// Runs `steps` in a `BEGIN IMMEDIATE` transaction, committed only when the first one
    /// (the write fenced by a lease) changed a row; `false` otherwise.
    async fn run_fenced(&self, steps: Vec<Step>) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let result = async {
            for (i, step) in steps.into_iter().enumerate() {
                if run(&mut tx, step).await? != 1 && i == 0 {
                    return Ok((false, false));
                }
            }
            Ok((true, true))
        }
        .await;
        end(tx, result).await
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
            let rows = sql::oldest_callbacks::<Sqlite>(&waiting)
                .build_query_as::<CallbackRow<String>>()
                .persistent(sql::keep_prepared(waiting.len()))
                .fetch_all(&self.writer)
                .await
                .map_err(db_err("read callback"))?;
            codec::callbacks(rows)?
        };
        Ok(steps::claims(records, lease_id, callbacks))
    }
}

/// Runs one step on `conn`; the rows it changed.
async fn run(conn: &mut SqliteConnection, step: Step) -> StoreResult<u64> {
    let done = sql::bind_all(sqlx::query(step.sql.qmark()), step.params)
        .execute(conn)
        .await
        .map_err(db_err(step.what))?;
    Ok(done.rows_affected())
}

/// Ends the transaction: COMMIT when `result` is `Ok((_, true))`, else ROLLBACK.
async fn end<T>(mut tx: Tx, result: StoreResult<(T, bool)>) -> StoreResult<T> {
    let sql = match &result {
        Ok((_, true)) => "COMMIT",
        _ => "ROLLBACK",
    };
    let ended = sqlx::query(sql).execute(&mut **tx).await;
    match (result, ended) {
        (Ok((v, _)), Ok(_)) => {
            tx.release();
            Ok(v)
        }
        (Err(e), Ok(_)) => {
            tx.release();
            Err(e)
        }
        // The connection may be mid-transaction: `tx` closes it instead of pooling it.
        (Err(e), Err(_)) => Err(e),
        (Ok(_), Err(e)) => Err(crate::outage::db_error("sqlite", "commit", e)),
    }
}

/// Claims due polls, and waits for a callback whose deadline passed (`next_run_at`): `?1`–`?3`
/// the lease, `?4` now, `?5` the limit. Each UPDATE … RETURNING is atomic by itself: a row is
/// claimed by exactly one statement. Due rows come from the partial index (migration 0004).
const CLAIM_POLLS: &str = concat!(
    "UPDATE bk_plugin_schedule SET lease_id = ?1, lease_owner = ?2, lease_until = ?3
     WHERE trace_id IN (
         SELECT trace_id FROM bk_plugin_schedule
         WHERE finish_at IS NULL AND next_run_at <= ?4 AND state IN (2, 3)
           AND (lease_until IS NULL OR lease_until < ?4)
         ORDER BY next_run_at LIMIT ?5)
     RETURNING ",
    sql::record_columns!()
);

/// Claims rows in CALLBACK with a queued callback, oldest callback first; parameters as
/// [`CLAIM_POLLS`]. The rows are found from the small inbox table, each looked up by its key
/// (as a join, SQLite scanned the schedule table instead).
const CLAIM_CALLBACKS: &str = concat!(
    "UPDATE bk_plugin_schedule SET lease_id = ?1, lease_owner = ?2, lease_until = ?3
     WHERE trace_id IN (
         SELECT c.trace_id FROM bk_plugin_callback c
         WHERE EXISTS (
             SELECT 1 FROM bk_plugin_schedule s
             WHERE s.trace_id = c.trace_id AND s.finish_at IS NULL AND s.state = 3
               AND (s.lease_until IS NULL OR s.lease_until < ?4))
         GROUP BY c.trace_id ORDER BY MIN(c.seq) LIMIT ?5)
     RETURNING ",
    sql::record_columns!()
);

/// Claims due notifications: `?1` the lease expiry, `?2` now, `?3` the limit.
const CLAIM_NOTIFICATIONS: &str = concat!(
    "UPDATE bk_plugin_notification SET lease_until = ?1
     WHERE id IN (SELECT id FROM bk_plugin_notification
                  WHERE due_at <= ?2 AND (lease_until IS NULL OR lease_until < ?2)
                  ORDER BY due_at, id LIMIT ?3)
     RETURNING ",
    sql::notification_columns!()
);

/// A multi-row transition write: `FROM (VALUES …)` (columns `column1`… in
/// `steps::transition_values` order) follows.
const COMPLETE_MANY: &str = "UPDATE bk_plugin_schedule AS s
     SET state = v.column3, storage = v.column4, outputs = v.column5,
         invoke_count = v.column6, err = v.column7, finish_at = v.column8,
         next_run_at = CASE WHEN s.cancel IS NULL OR v.column8 IS NOT NULL
                            THEN v.column9 ELSE s.created_at END,
         lease_id = NULL, lease_owner = NULL, lease_until = NULL
     FROM (";

impl Store for SqliteStore {
    fn create(&self, r: ScheduleRecord) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move {
            sql::insert_schedules::<Sqlite>(vec![steps::record_params(&r)?])
                .build()
                .execute(&self.writer)
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
                let mut b = sql::insert_schedules::<Sqlite>(rows);
                b.push(" ON CONFLICT (trace_id) DO NOTHING RETURNING trace_id");
                created.extend(
                    b.build_query_scalar::<String>()
                        .persistent(sql::keep_prepared(chunk.len()))
                        .fetch_all(&self.writer)
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
            let row: Option<Record> = sqlx::query_as(sql::GET.qmark())
                .bind(trace_id)
                .fetch_optional(&self.readers)
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
                    .fetch_all(&self.writer)
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
                let mut b = sqlx::QueryBuilder::<Sqlite>::new(COMPLETE_MANY);
                sql::values(&mut b, steps::chunk_values(chunk)?);
                b.push(
                    ") AS v WHERE s.trace_id = v.column1 AND s.lease_id = v.column2
                     RETURNING bk_plugin_schedule.trace_id",
                );
                let written: HashSet<String> = b
                    .build_query_scalar()
                    .persistent(sql::keep_prepared(chunk.len()))
                    .fetch_all(&self.writer)
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
            // BEGIN IMMEDIATE holds the write lock: no transition interleaves.
            let mut tx = self.begin().await?;
            let result = async {
                let code: Option<i64> = sqlx::query_scalar(STATE)
                    .bind(trace_id)
                    .fetch_optional(&mut **tx)
                    .await
                    .map_err(db_err("read state"))?;
                match steps::read_state(code) {
                    Some(bk_plugin_core::State::Callback) => {
                        Ok(steps::pushed(run(&mut tx, queue).await?))
                    }
                    other => Ok((PushOutcome::NotWaiting(other), false)),
                }
            }
            .await;
            end(tx, result).await
        })
    }

    fn next_due(&self) -> BoxFuture<'_, StoreResult<Option<Timestamp>>> {
        Box::pin(async move {
            let next: Option<i64> = sqlx::query_scalar(sql::NEXT_DUE)
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
            let rows: Vec<NotificationRow<i64, String>> = sqlx::query_as(CLAIM_NOTIFICATIONS)
                .bind(until.as_millis())
                .bind(now.as_millis())
                .bind(i64::try_from(limit).unwrap_or(i64::MAX))
                .fetch_all(&self.writer)
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
                .fetch_one(&self.readers)
                .await
                .map_err(db_err("next notification"))?;
            Ok(ts(next))
        })
    }

    crate::inspection::store_operations!(sqlite, readers, writer);

    fn purge_finished(&self, before: Timestamp) -> BoxFuture<'_, StoreResult<u64>> {
        Box::pin(async move { self.run(steps::purge(before)).await })
    }

    fn counts(&self) -> BoxFuture<'_, StoreResult<Counts>> {
        Box::pin(async move {
            let counts: (i64, i64, i64) = sqlx::query_as(sql::COUNTS)
                .fetch_one(&self.readers)
                .await
                .map_err(db_err("counts"))?;
            Ok(codec::counts(counts))
        })
    }

    fn waiting_versions(&self) -> BoxFuture<'_, StoreResult<Vec<(String, u64)>>> {
        Box::pin(async move {
            let rows: Vec<(String, i64)> = sqlx::query_as(sql::WAITING_VERSIONS)
                .fetch_all(&self.readers)
                .await
                .map_err(db_err("waiting versions"))?;
            Ok(codec::waiting_versions(rows))
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

/// The state of a row (inside `push_callback`'s transaction).
const STATE: &str = "SELECT state FROM bk_plugin_schedule WHERE trace_id = ?";

#[cfg(test)]
mod tests {
    use bk_plugin_core::State;
    use bk_plugin_engine::Timestamp;
    use bk_plugin_engine::store::{ScheduleRecord, Store};
    use serde_json::json;
    use sqlx::Connection as _;

    use super::{SqliteOptions, SqliteStore};
    use crate::sql;

    /// A store on a fresh file in a directory of its own under the system temp dir; the
    /// directory is removed when this is dropped, also when the test fails.
    pub(super) struct TempStore {
        pub(super) store: SqliteStore,
        dir: std::path::PathBuf,
    }

    impl TempStore {
        /// Opens `options` on `<temp>/bk-plugin-<name>-<pid>/s.db`.
        pub(super) async fn open(name: &str, options: SqliteOptions) -> TempStore {
            let dir = std::env::temp_dir().join(format!("bk-plugin-{name}-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let store = SqliteStore::open_with(dir.join("s.db"), options)
                .await
                .unwrap();
            TempStore { store, dir }
        }
    }

    impl Drop for TempStore {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    /// The query plan of `statement`, one line per step (`?N` and `?` bound to 0).
    async fn plan(store: &SqliteStore, statement: &str) -> Vec<String> {
        let numbered = (1..10).rev().find(|n| statement.contains(&format!("?{n}")));
        let params = numbered.unwrap_or_else(|| statement.matches('?').count());
        let explain = format!("EXPLAIN QUERY PLAN {statement}");
        let mut query = sqlx::query_as::<_, (i64, i64, i64, String)>(&explain);
        for _ in 0..params {
            query = query.bind(0_i64);
        }
        let rows = query.fetch_all(&store.writer).await.unwrap();
        rows.into_iter().map(|(.., detail)| detail).collect()
    }

    /// No statement the scheduler, the metrics or the start-up run reads the whole schedule
    /// table: it holds every finished row of the retention period. (SQLite has no statistics
    /// here, so the plans are those of a full file too.)
    #[tokio::test]
    async fn no_statement_scans_the_schedule_table() {
        let temp = TempStore::open("plans", SqliteOptions::default()).await;
        let store = &temp.store;
        let statements = [
            ("claim polls", super::CLAIM_POLLS),
            ("claim callbacks", super::CLAIM_CALLBACKS),
            ("claim notifications", super::CLAIM_NOTIFICATIONS),
            ("next due", sql::NEXT_DUE),
            ("next notification", sql::NEXT_NOTIFICATION),
            ("counts", sql::COUNTS),
            ("waiting versions", sql::WAITING_VERSIONS),
            ("get", sql::GET.qmark()),
            ("renew", sql::RENEW.qmark()),
            ("complete", sql::COMPLETE.qmark()),
            ("lease one", sql::LEASE_ONE.qmark()),
            ("purge", sql::PURGE.qmark()),
            ("state", super::STATE),
        ];
        for (name, statement) in statements {
            let plan = plan(store, statement).await;
            // Reading the index of unfinished rows whole reads no finished row.
            let scans = |d: &String| {
                (d.starts_with("SCAN bk_plugin_schedule")
                    || d.starts_with("SCAN s ")
                    || d == "SCAN s")
                    && !d.ends_with("USING INDEX bk_plugin_schedule_unfinished")
            };
            assert!(
                !plan.iter().any(scans),
                "{name} scans the schedule table: {plan:?}"
            );
        }
        // Due rows come from the due index, in its order: read through the index of unfinished
        // rows instead, every waiting row would be read and sorted.
        for (name, statement) in [
            ("claim polls", super::CLAIM_POLLS),
            ("next due", sql::NEXT_DUE),
        ] {
            let plan = plan(store, statement).await;
            assert!(
                plan.iter()
                    .any(|d| d.contains("USING INDEX bk_plugin_schedule_due ")),
                "{name} does not read the due index: {plan:?}"
            );
            assert!(
                !plan
                    .iter()
                    .any(|d| d.contains("bk_plugin_schedule_unfinished")),
                "{name} reads every unfinished row: {plan:?}"
            );
        }
        store.close().await;
    }

    #[tokio::test]
    async fn large_batches_are_not_kept_prepared() {
        let temp = TempStore::open("prepared", SqliteOptions::default()).await;
        let store = &temp.store;
        let cached = || async {
            store
                .writer
                .acquire()
                .await
                .unwrap()
                .cached_statements_size()
        };
        let record = |n: usize| {
            let now = Timestamp::from_millis(1);
            ScheduleRecord::new(
                format!("t{n}"),
                "1.0.0".into(),
                State::Poll,
                json!({}),
                json!({}),
                now,
            )
        };
        let mut next = 0;
        let mut batch = |rows: usize| {
            let records: Vec<_> = (next..next + rows).map(record).collect();
            next += rows;
            records
        };
        let before = cached().await;
        // 24 batches of distinct sizes, each a statement of its own: none is kept.
        for rows in 9..33 {
            assert!(
                store
                    .create_many(batch(rows))
                    .await
                    .unwrap()
                    .iter()
                    .all(|c| *c)
            );
        }
        assert_eq!(cached().await, before);
        // A small one is.
        store.create_many(batch(2)).await.unwrap();
        assert_eq!(cached().await, before + 1);
        store.close().await;
    }
}
