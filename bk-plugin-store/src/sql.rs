//! The statements every SQL backend runs unchanged, and how their parameters are bound.
//!
//! A statement is written once, with `?` placeholders, each used once and in order: SQLite
//! and MySQL take that text as it is, PostgreSQL the `$1, $2, …` form [`Sql::numbered`]
//! derives from it. Parameters travel as [`Param`] lists built by the shared code
//! (`steps.rs`), so a backend binds them without knowing which column each fills. Statements
//! with a variable number of rows are built with sqlx's `QueryBuilder` ([`values`],
//! [`in_list`]), which writes each dialect's placeholders itself.

use std::sync::OnceLock;

use bk_plugin_engine::store::ScheduleFilter;
use sqlx::query::Query;
use sqlx::query_builder::Separated;
use sqlx::{Database, Encode, QueryBuilder, Type};

/// A statement shared by every backend (see the module docs).
#[derive(Debug)]
pub(crate) struct Sql {
    text: &'static str,
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    numbered: OnceLock<String>,
}

impl Sql {
    pub(crate) const fn new(text: &'static str) -> Sql {
        Sql {
            text,
            numbered: OnceLock::new(),
        }
    }

    /// With `?` placeholders (SQLite, MySQL).
    #[cfg_attr(not(any(feature = "sqlite", feature = "mysql")), allow(dead_code))]
    pub(crate) fn qmark(&self) -> &'static str {
        self.text
    }

    /// With `$1, $2, …` placeholders (PostgreSQL), derived once.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub(crate) fn numbered(&'static self) -> &'static str {
        self.numbered.get_or_init(|| {
            let mut out = String::with_capacity(self.text.len() + 16);
            let mut n = 0;
            for c in self.text.chars() {
                if c == '?' {
                    n += 1;
                    out.push('$');
                    out.push_str(&n.to_string());
                } else {
                    out.push(c);
                }
            }
            out
        })
    }
}

/// One bound value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Param {
    /// An integer (state code, count, id, millisecond timestamp).
    Int(i64),
    /// A nullable millisecond timestamp.
    MaybeInt(Option<i64>),
    /// Text (ids, JSON).
    Text(String),
    /// Nullable text.
    MaybeText(Option<String>),
}

/// Binds `params` in order.
pub(crate) fn bind_all<'q, DB: Database>(
    mut q: Query<'q, DB, DB::Arguments<'q>>,
    params: Vec<Param>,
) -> Query<'q, DB, DB::Arguments<'q>>
where
    i64: Encode<'q, DB> + Type<DB>,
    Option<i64>: Encode<'q, DB> + Type<DB>,
    String: Encode<'q, DB> + Type<DB>,
    Option<String>: Encode<'q, DB> + Type<DB>,
{
    for p in params {
        q = match p {
            Param::Int(v) => q.bind(v),
            Param::MaybeInt(v) => q.bind(v),
            Param::Text(v) => q.bind(v),
            Param::MaybeText(v) => q.bind(v),
        };
    }
    q
}

/// Pushes `p` as the next item of a separated list.
fn push<'args, DB: Database>(list: &mut Separated<'_, 'args, DB, &'static str>, p: Param)
where
    i64: Encode<'args, DB> + Type<DB>,
    Option<i64>: Encode<'args, DB> + Type<DB>,
    String: Encode<'args, DB> + Type<DB>,
    Option<String>: Encode<'args, DB> + Type<DB>,
{
    match p {
        Param::Int(v) => list.push_bind(v),
        Param::MaybeInt(v) => list.push_bind(v),
        Param::Text(v) => list.push_bind(v),
        Param::MaybeText(v) => list.push_bind(v),
    };
}

/// Appends `VALUES (…), (…)`, one tuple per row (sqlx's `push_values`).
pub(crate) fn values<'args, DB: Database>(b: &mut QueryBuilder<'args, DB>, rows: Vec<Vec<Param>>)
where
    i64: Encode<'args, DB> + Type<DB>,
    Option<i64>: Encode<'args, DB> + Type<DB>,
    String: Encode<'args, DB> + Type<DB>,
    Option<String>: Encode<'args, DB> + Type<DB>,
{
    b.push_values(rows, |mut tuple, row| {
        for p in row {
            push(&mut tuple, p);
        }
    });
}

/// Appends `(p1, p2, …)`, for `IN` lists; `items` must not be empty.
pub(crate) fn in_list<'args, DB: Database>(b: &mut QueryBuilder<'args, DB>, items: Vec<Param>)
where
    i64: Encode<'args, DB> + Type<DB>,
    Option<i64>: Encode<'args, DB> + Type<DB>,
    String: Encode<'args, DB> + Type<DB>,
    Option<String>: Encode<'args, DB> + Type<DB>,
{
    b.push("(");
    let mut list = b.separated(", ");
    for p in items {
        push(&mut list, p);
    }
    b.push(")");
}

/// Whether a multi-row statement (`VALUES` tuples, an `IN` list) of `rows` rows is kept
/// prepared in the connection's statement cache.
///
/// Every row count is a statement of its own, and sqlx keeps up to 100 per connection: with
/// batches of up to [`MULTI_ROW_CHUNK`] rows, a busy writer ended up holding dozens of large
/// prepared statements (about 6 MiB on SQLite, docs/benchmarks.md, "Memory"). Small batches,
/// the common case, stay prepared; a larger one is prepared for its one use, a cost shared by
/// its rows.
pub(crate) fn keep_prepared(rows: usize) -> bool {
    rows <= PREPARED_ROWS
}

/// The largest multi-row statement [`keep_prepared`] keeps.
const PREPARED_ROWS: usize = 8;

/// Rows per multi-row statement (at most 14 parameters each; SQLite allows 32,766, PostgreSQL
/// and MySQL 65,535).
pub(crate) const MULTI_ROW_CHUNK: usize = 256;

/// The columns a `ScheduleRecord` is read from (`codec::RecordRow`), as a literal for
/// `concat!`.
macro_rules! record_columns {
    () => {
        "trace_id, plugin_version, state, inputs, context, storage, outputs, invoke_count, err, created_at, finish_at, next_run_at, cancel, traceparent"
    };
}

pub(crate) use record_columns;

/// The columns a `Notification` is read from (`codec::NotificationRow`: and `due_at`, its
/// order), as a literal for `concat!`.
macro_rules! notification_columns {
    () => {
        "id, trace_id, url, data, attempts, due_at"
    };
}
pub(crate) use notification_columns;

/// `INSERT … (columns) ` of schedule rows, followed by [`values`] (see [`insert_schedules`]).
const INSERT_SCHEDULES: &str = concat!("INSERT INTO bk_plugin_schedule (", record_columns!(), ") ");

/// The row of a trace id.
pub(crate) static GET: Sql = Sql::new(concat!(
    "SELECT ",
    record_columns!(),
    " FROM bk_plugin_schedule WHERE trace_id = ?"
));

/// Extends a lease: `lease_until`, trace id, lease id.
pub(crate) static RENEW: Sql =
    Sql::new("UPDATE bk_plugin_schedule SET lease_until = ? WHERE trace_id = ? AND lease_id = ?");

/// The fenced write of a transition (`steps::complete`), releasing the lease. A row with a
/// cancellation that stays waiting is due at once (`created_at`): the second `finish_at`
/// decides it.
pub(crate) static COMPLETE: Sql = Sql::new(
    "UPDATE bk_plugin_schedule
     SET state = ?, storage = ?, outputs = ?, invoke_count = ?, err = ?,
         finish_at = ?,
         next_run_at = CASE WHEN cancel IS NULL OR ? IS NOT NULL THEN ? ELSE created_at END,
         lease_id = NULL, lease_owner = NULL, lease_until = NULL
     WHERE trace_id = ? AND lease_id = ?",
);

/// Records a cancellation on a waiting row (the first stands) and makes it due at once:
/// cancellation JSON, trace id.
pub(crate) static REQUEST_CANCEL: Sql = Sql::new(
    "UPDATE bk_plugin_schedule
     SET cancel = COALESCE(cancel, ?), next_run_at = created_at
     WHERE trace_id = ? AND finish_at IS NULL AND state IN (2, 3)",
);

/// Leases one waiting row that nobody else holds: lease id, owner, until, trace id, now.
pub(crate) static LEASE_ONE: Sql = Sql::new(
    "UPDATE bk_plugin_schedule SET lease_id = ?, lease_owner = ?, lease_until = ?
     WHERE trace_id = ? AND finish_at IS NULL AND state IN (2, 3)
       AND (lease_until IS NULL OR lease_until < ?)",
);

/// Deletes one inbox entry by its `seq`.
pub(crate) static CONSUME_CALLBACK: Sql = Sql::new("DELETE FROM bk_plugin_callback WHERE seq = ?");

/// Deletes the inbox of a trace id.
pub(crate) static DROP_INBOX: Sql = Sql::new("DELETE FROM bk_plugin_callback WHERE trace_id = ?");

/// Enqueues a finish notification: trace id, url, data, due_at.
pub(crate) static INSERT_NOTIFICATION: Sql = Sql::new(
    "INSERT INTO bk_plugin_notification (trace_id, url, data, due_at) VALUES (?, ?, ?, ?)",
);

/// Queues a callback: trace id, callback id, data, received_at. Nothing (no row changed) when
/// the inbox already holds this `(trace_id, callback_id)` (the unique index of migration
/// 0003; a concurrent push waits for the first and then does nothing). SQLite and PostgreSQL;
/// MySQL has no `ON CONFLICT` and runs its own `INSERT IGNORE`.
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) static INSERT_CALLBACK: Sql = Sql::new(
    "INSERT INTO bk_plugin_callback (trace_id, callback_id, data, received_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (trace_id, callback_id) DO NOTHING",
);

/// FAILs a claimed row that cannot be decoded: err, finish_at, trace id, lease id.
pub(crate) static FAIL_UNREADABLE: Sql = Sql::new(
    "UPDATE bk_plugin_schedule SET state = 5, err = ?, finish_at = ?,
         lease_id = NULL, lease_owner = NULL, lease_until = NULL
     WHERE trace_id = ? AND lease_id = ?",
);

/// Deletes a notification (delivered, or given up).
pub(crate) static DELETE_NOTIFICATION: Sql =
    Sql::new("DELETE FROM bk_plugin_notification WHERE id = ?");

/// Schedules another attempt of a notification: due_at, id.
pub(crate) static RETRY_NOTIFICATION: Sql = Sql::new(
    "UPDATE bk_plugin_notification SET attempts = attempts + 1, due_at = ?, lease_until = NULL
     WHERE id = ?",
);

/// Deletes finished rows that finished before the parameter.
pub(crate) static PURGE: Sql =
    Sql::new("DELETE FROM bk_plugin_schedule WHERE finish_at IS NOT NULL AND finish_at < ?");

/// Who holds the lease of a trace id, and until when (no row: no lease).
pub(crate) static LEASE_OF: Sql = Sql::new(
    "SELECT lease_owner, lease_until FROM bk_plugin_schedule
     WHERE trace_id = ? AND lease_id IS NOT NULL",
);

/// The inbox of a trace id, oldest first (`codec::CallbackRow`s).
pub(crate) static INBOX_OF: Sql = Sql::new(
    "SELECT seq, trace_id, callback_id, data FROM bk_plugin_callback WHERE trace_id = ? ORDER BY seq",
);

/// The pending notifications of a trace id (`codec::NotificationRow`s).
pub(crate) static NOTIFICATIONS_OF: Sql = Sql::new(concat!(
    "SELECT ",
    notification_columns!(),
    " FROM bk_plugin_notification WHERE trace_id = ? ORDER BY id"
));

/// Starts the pending notifications of a trace id over: due_at, trace id.
pub(crate) static RESET_NOTIFICATIONS: Sql = Sql::new(
    "UPDATE bk_plugin_notification SET attempts = 0, due_at = ?, lease_until = NULL
     WHERE trace_id = ?",
);

/// The rows `filter` matches, newest first (`codec::RecordRow`s).
pub(crate) fn list<'args, DB: Database>(filter: &ScheduleFilter) -> QueryBuilder<'args, DB>
where
    DB::Arguments<'args>: Default,
    i64: Encode<'args, DB> + Type<DB>,
    Option<i64>: Encode<'args, DB> + Type<DB>,
    String: Encode<'args, DB> + Type<DB>,
    Option<String>: Encode<'args, DB> + Type<DB>,
{
    let mut b = QueryBuilder::new(concat!(
        "SELECT ",
        record_columns!(),
        " FROM bk_plugin_schedule WHERE 1 = 1"
    ));
    if !filter.states.is_empty() {
        b.push(" AND state IN ");
        let codes = filter
            .states
            .iter()
            .map(|s| Param::Int(i64::from(s.code())));
        in_list(&mut b, codes.collect());
    }
    if let Some(v) = &filter.version {
        b.push(" AND plugin_version = ").push_bind(v.clone());
    }
    if let Some(t) = filter.created_before {
        b.push(" AND created_at < ").push_bind(t.as_millis());
    }
    let limit = i64::try_from(filter.limit).unwrap_or(i64::MAX);
    b.push(" ORDER BY created_at DESC, trace_id LIMIT ")
        .push_bind(limit);
    b
}

/// `INSERT` of new schedule rows (`steps::record_params` each; not empty).
pub(crate) fn insert_schedules<'args, DB: Database>(
    rows: Vec<Vec<Param>>,
) -> QueryBuilder<'args, DB>
where
    DB::Arguments<'args>: Default,
    i64: Encode<'args, DB> + Type<DB>,
    Option<i64>: Encode<'args, DB> + Type<DB>,
    String: Encode<'args, DB> + Type<DB>,
    Option<String>: Encode<'args, DB> + Type<DB>,
{
    let mut b = QueryBuilder::new(INSERT_SCHEDULES);
    values(&mut b, rows);
    b
}

/// The oldest queued callback of each of `trace_ids` (not empty) that has one, as
/// `codec::CallbackRow`s.
pub(crate) fn oldest_callbacks<'args, DB: Database>(trace_ids: &[String]) -> QueryBuilder<'args, DB>
where
    DB::Arguments<'args>: Default,
    i64: Encode<'args, DB> + Type<DB>,
    Option<i64>: Encode<'args, DB> + Type<DB>,
    String: Encode<'args, DB> + Type<DB>,
    Option<String>: Encode<'args, DB> + Type<DB>,
{
    let mut b = QueryBuilder::new(
        "SELECT seq, trace_id, callback_id, data FROM bk_plugin_callback
         WHERE seq IN (SELECT MIN(seq) FROM bk_plugin_callback WHERE trace_id IN ",
    );
    in_list(&mut b, trace_ids.iter().cloned().map(Param::Text).collect());
    b.push(" GROUP BY trace_id)");
    b
}

/// The earliest time a row may become due (a `BIGINT` or NULL): at once (0) when a row in
/// CALLBACK, not leased, has a queued callback; else the earliest poll or callback deadline,
/// or lease expiry.
///
/// The callback test starts from the inbox, which is small, and looks each row up by its key:
/// written as a join, SQLite scanned the schedule table instead, finished rows included.
pub(crate) const NEXT_DUE: &str = "SELECT CASE
     WHEN EXISTS (
         SELECT 1 FROM bk_plugin_callback c
         WHERE EXISTS (
             SELECT 1 FROM bk_plugin_schedule s
             WHERE s.trace_id = c.trace_id
               AND s.finish_at IS NULL AND s.state = 3 AND s.lease_id IS NULL))
     THEN 0
     ELSE (SELECT MIN(t) FROM (
         SELECT MIN(next_run_at) AS t FROM bk_plugin_schedule
         WHERE finish_at IS NULL AND next_run_at IS NOT NULL AND state IN (2, 3)
           AND lease_id IS NULL
         UNION ALL
         -- A leased row may be due again when its lease expires.
         SELECT MIN(lease_until) + 1 FROM bk_plugin_schedule
         WHERE lease_id IS NOT NULL AND finish_at IS NULL) AS due)
     END";

/// The earliest time a notification may be claimed (a `BIGINT` or NULL).
pub(crate) const NEXT_NOTIFICATION: &str = "SELECT MIN(CASE WHEN lease_until IS NOT NULL AND lease_until >= due_at THEN lease_until + 1 ELSE due_at END)
     FROM bk_plugin_notification";

/// Row counts as columns `polling`, `waiting`, `notifications`.
pub(crate) const COUNTS: &str = "SELECT
       (SELECT COUNT(*) FROM bk_plugin_schedule WHERE finish_at IS NULL AND state = 2) AS polling,
       (SELECT COUNT(*) FROM bk_plugin_schedule WHERE finish_at IS NULL AND state = 3) AS waiting,
       (SELECT COUNT(*) FROM bk_plugin_notification) AS notifications";

/// The versions unfinished invocations wait on, with how many: columns `plugin_version` and
/// the count, ordered by version text.
pub(crate) const WAITING_VERSIONS: &str = "SELECT plugin_version, COUNT(*) FROM bk_plugin_schedule
     WHERE finish_at IS NULL AND state IN (2, 3)
     GROUP BY plugin_version ORDER BY plugin_version";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_placeholders_count_in_order() {
        assert_eq!(
            RENEW.numbered(),
            "UPDATE bk_plugin_schedule SET lease_until = $1 WHERE trace_id = $2 AND lease_id = $3"
        );
        assert_eq!(RENEW.qmark().matches('?').count(), 3);
        assert_eq!(COMPLETE.numbered().matches('$').count(), 10);
    }
}
