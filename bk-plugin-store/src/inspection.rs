//! The store operations that are the same code in every SQL dialect: a cancellation and the
//! lease of one row (`Store::request_cancel`, `lease_one`) and the operator's reads and
//! `renotify` (`list`, `inspect`, `renotify`). The shared statements of `sql.rs`, run the
//! same way everywhere; only the row types and PostgreSQL's placeholders differ. The
//! functions of each dialect come from [`inspection_fns`], the `Store` methods that call them
//! from [`store_operations`].

/// The functions of one dialect: `$name` names it in errors, `$db` is its sqlx database,
/// `$text` how a shared statement is written for it (`qmark` / `numbered`), `$int` its
/// integer column type and `$tid` its trace id type.
macro_rules! inspection_fns {
    ($name:literal, $db:ty, $text:ident, $int:ty, $tid:ty) => {
        use bk_plugin_core::Cancellation;
        use bk_plugin_engine::Timestamp;
        use bk_plugin_engine::store::{
            Inspection, LeaseRequest, NewNotification, ScheduleFilter, ScheduleRecord, StoreError,
            StoreResult,
        };

        use crate::codec::{self, CallbackRow, NotificationRow, RecordRow};
        use crate::sql;
        use crate::steps::{self, Step};

        type Pool = sqlx::Pool<$db>;

        fn err(what: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
            move |e| crate::outage::db_error($name, what, e)
        }

        async fn run(pool: &Pool, step: Step) -> StoreResult<u64> {
            let done = sql::bind_all(sqlx::query(step.sql.$text()), step.params)
                .execute(pool)
                .await
                .map_err(err(step.what))?;
            Ok(done.rows_affected())
        }

        pub(crate) async fn request_cancel(
            pool: &Pool,
            trace_id: &str,
            cancel: &Cancellation,
        ) -> StoreResult<()> {
            run(pool, steps::request_cancel(trace_id, cancel))
                .await
                .map(drop)
        }

        /// `true` when the lease was taken.
        pub(crate) async fn lease_one(
            pool: &Pool,
            trace_id: &str,
            now: Timestamp,
            lease: LeaseRequest<'_>,
        ) -> StoreResult<bool> {
            Ok(run(pool, steps::lease_one(trace_id, now, lease)).await? == 1)
        }

        pub(crate) async fn list(
            pool: &Pool,
            filter: &ScheduleFilter,
        ) -> StoreResult<Vec<ScheduleRecord>> {
            let rows: Vec<RecordRow<$int, $tid>> = sql::list::<$db>(filter)
                .build_query_as()
                .fetch_all(pool)
                .await
                .map_err(err("list schedules"))?;
            rows.into_iter().map(RecordRow::record).collect()
        }

        pub(crate) async fn inspect(
            pool: &Pool,
            record: Option<ScheduleRecord>,
        ) -> StoreResult<Option<Inspection>> {
            let Some(record) = record else {
                return Ok(None);
            };
            let id = record.trace_id.clone();
            let lease: Option<(Option<String>, Option<i64>)> =
                sqlx::query_as(sql::LEASE_OF.$text())
                    .bind(&id)
                    .fetch_optional(pool)
                    .await
                    .map_err(err("read lease"))?;
            let inbox: Vec<CallbackRow<$tid>> = sqlx::query_as(sql::INBOX_OF.$text())
                .bind(&id)
                .fetch_all(pool)
                .await
                .map_err(err("read inbox"))?;
            let notifications: Vec<NotificationRow<$int, $tid>> =
                sqlx::query_as(sql::NOTIFICATIONS_OF.$text())
                    .bind(&id)
                    .fetch_all(pool)
                    .await
                    .map_err(err("read notifications"))?;
            let lease = lease.and_then(|(owner, until)| {
                Some((owner.unwrap_or_default(), Timestamp::from_millis(until?)))
            });
            Ok(Some(Inspection::new(record).with(
                lease,
                codec::inbox(inbox)?,
                codec::pending_notifications(notifications),
            )))
        }

        pub(crate) async fn renotify(
            pool: &Pool,
            trace_id: &str,
            n: NewNotification,
        ) -> StoreResult<bool> {
            let reset = sqlx::query(sql::RESET_NOTIFICATIONS.$text())
                .bind(n.due_at.as_millis())
                .bind(trace_id)
                .execute(pool)
                .await
                .map_err(err("reset notifications"))?;
            if reset.rows_affected() > 0 {
                return Ok(false);
            }
            sqlx::query(sql::INSERT_NOTIFICATION.$text())
                .bind(trace_id)
                .bind(n.url)
                .bind(codec::to_text(&n.data)?)
                .bind(n.due_at.as_millis())
                .execute(pool)
                .await
                .map_err(err("enqueue notification"))?;
            Ok(true)
        }
    };
}

/// The `Store` methods of [`inspection_fns`]' operations, inside an `impl Store`: `$module`
/// names the dialect's functions, `$read` / `$write` the store's pools for reads and writes.
macro_rules! store_operations {
    ($module:ident, $read:ident, $write:ident) => {
        fn request_cancel<'a>(
            &'a self,
            trace_id: &'a str,
            cancel: &'a bk_plugin_core::Cancellation,
        ) -> BoxFuture<'a, StoreResult<Option<ScheduleRecord>>> {
            Box::pin(async move {
                crate::inspection::$module::request_cancel(&self.$write, trace_id, cancel).await?;
                self.get(trace_id).await
            })
        }

        fn lease_one<'a>(
            &'a self,
            trace_id: &'a str,
            now: Timestamp,
            lease: LeaseRequest<'a>,
        ) -> BoxFuture<'a, StoreResult<Option<ScheduleRecord>>> {
            Box::pin(async move {
                let pool = &self.$write;
                if !crate::inspection::$module::lease_one(pool, trace_id, now, lease).await? {
                    return Ok(None);
                }
                self.get(trace_id).await
            })
        }

        fn list<'a>(
            &'a self,
            filter: &'a bk_plugin_engine::store::ScheduleFilter,
        ) -> BoxFuture<'a, StoreResult<Vec<ScheduleRecord>>> {
            Box::pin(crate::inspection::$module::list(&self.$read, filter))
        }

        fn inspect<'a>(
            &'a self,
            trace_id: &'a str,
        ) -> BoxFuture<'a, StoreResult<Option<bk_plugin_engine::store::Inspection>>> {
            Box::pin(async move {
                let record = self.get(trace_id).await?;
                crate::inspection::$module::inspect(&self.$read, record).await
            })
        }

        fn renotify<'a>(
            &'a self,
            trace_id: &'a str,
            notification: NewNotification,
        ) -> BoxFuture<'a, StoreResult<bool>> {
            let pool = &self.$write;
            Box::pin(crate::inspection::$module::renotify(
                pool,
                trace_id,
                notification,
            ))
        }
    };
}

pub(crate) use store_operations;

#[cfg(feature = "sqlite")]
pub(crate) mod sqlite {
    inspection_fns!("sqlite", sqlx::Sqlite, qmark, i64, String);
}

#[cfg(feature = "postgres")]
pub(crate) mod postgres {
    inspection_fns!("postgres", sqlx::Postgres, numbered, i32, String);
}

#[cfg(feature = "mysql")]
pub(crate) mod mysql {
    inspection_fns!("mysql", sqlx::MySql, qmark, i32, Vec<u8>);
}
