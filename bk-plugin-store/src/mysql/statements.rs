//! The statements only the MySQL store runs: claims as locking reads (no `UPDATE …
//! RETURNING`), the shared-mode state read, and the `complete_many` write as an `UPDATE …
//! JOIN` of a derived table.

use bk_plugin_engine::store::LeaseRequest;
use sqlx::{MySql, QueryBuilder};

use crate::sql::{self, Param, Sql};

/// `sql::INSERT_CALLBACK` for MySQL, which has no `ON CONFLICT`: a duplicate
/// `(trace_id, callback_id)` changes no row. `IGNORE` also turns other errors of this insert
/// into warnings; its values (two 32-character ids, JSON text for a `LONGTEXT`, an integer)
/// cannot cause any.
pub(super) static INSERT_CALLBACK_IGNORE: Sql = Sql::new(
    "INSERT IGNORE INTO bk_plugin_callback (trace_id, callback_id, data, received_at) VALUES (?, ?, ?, ?)",
);

/// Due polls, and waits for a callback whose deadline passed (`next_run_at`), to claim: `?`
/// now (twice), then the limit. SKIP LOCKED: rows another replica is claiming are skipped; the
/// lease condition is checked on the newest committed row.
pub(super) const DUE_POLLS: &str = "SELECT trace_id FROM bk_plugin_schedule
     WHERE state IN (2, 3) AND finish_at IS NULL AND next_run_at <= ?
       AND (lease_until IS NULL OR lease_until < ?)
     ORDER BY next_run_at LIMIT ?
     FOR UPDATE SKIP LOCKED";

/// Rows in CALLBACK whose inbox is not empty, oldest callback first: `?` now, the limit.
pub(super) const DUE_CALLBACKS: &str = "SELECT s.trace_id FROM bk_plugin_schedule s
     WHERE s.state = 3 AND s.finish_at IS NULL
       AND (s.lease_until IS NULL OR s.lease_until < ?)
       AND EXISTS (SELECT 1 FROM bk_plugin_callback c WHERE c.trace_id = s.trace_id)
     ORDER BY (SELECT MIN(c.seq) FROM bk_plugin_callback c WHERE c.trace_id = s.trace_id)
     LIMIT ?
     FOR UPDATE SKIP LOCKED";

/// Due notifications to claim: `?` now (twice), the limit.
pub(super) const DUE_NOTIFICATIONS: &str = "SELECT id FROM bk_plugin_notification
     WHERE due_at <= ? AND (lease_until IS NULL OR lease_until < ?)
     ORDER BY due_at, id LIMIT ?
     FOR UPDATE SKIP LOCKED";

/// The state of a row with a shared lock: a concurrent transition of this row waits for the
/// push's commit (or the push waits for its, and then reads the state it wrote).
pub(super) const STATE_IN_SHARE_MODE: &str =
    "SELECT state FROM bk_plugin_schedule WHERE trace_id = ? LOCK IN SHARE MODE";

/// Locks the rows of a `complete_many` chunk whose lease still holds; a list of
/// `(trace_id, lease_id)` tuples follows.
pub(super) const LOCK_HELD: &str =
    "SELECT trace_id FROM bk_plugin_schedule WHERE (trace_id, lease_id) IN ";

/// One row of the derived table of new values of a `complete_many` chunk, in
/// `steps::transition_values` order. The casts type the columns even when a first row holds
/// NULLs; the trace id takes the column's collation, so the join uses the primary key.
const VALUES_ROW: [&str; 9] = [
    "SELECT CAST(",
    " AS CHAR) COLLATE utf8mb4_bin AS trace_id, CAST(",
    " AS SIGNED) AS lease_id, CAST(",
    " AS SIGNED) AS state, CAST(",
    " AS CHAR) AS storage, CAST(",
    " AS CHAR) AS outputs, CAST(",
    " AS SIGNED) AS invoke_count, CAST(",
    " AS CHAR) AS err, CAST(",
    " AS SIGNED) AS finish_at, CAST(",
];

/// The multi-row write of the rows [`LOCK_HELD`] locked, joined to the values.
const COMPLETE_MANY: [&str; 2] = [
    "UPDATE bk_plugin_schedule AS s JOIN (",
    ") AS v ON s.trace_id = v.trace_id AND s.lease_id = v.lease_id
     SET s.state = v.state, s.storage = v.storage, s.outputs = v.outputs,
         s.invoke_count = v.invoke_count, s.err = v.err,
         s.finish_at = v.finish_at,
         s.next_run_at = CASE WHEN s.cancel IS NULL OR v.finish_at IS NOT NULL
                              THEN v.next_run_at ELSE s.created_at END,
         s.lease_id = NULL, s.lease_owner = NULL, s.lease_until = NULL",
];

/// `UPDATE … JOIN (SELECT … UNION ALL SELECT …)` writing `rows` (`steps::transition_values`).
pub(super) fn complete_many(rows: Vec<Vec<Param>>) -> QueryBuilder<'static, MySql> {
    let mut b = QueryBuilder::new(COMPLETE_MANY[0]);
    for (i, row) in rows.into_iter().enumerate() {
        if i > 0 {
            b.push(" UNION ALL ");
        }
        for (part, p) in VALUES_ROW.iter().zip(row) {
            b.push(part);
            match p {
                Param::Int(v) => b.push_bind(v),
                Param::MaybeInt(v) => b.push_bind(v),
                Param::Text(v) => b.push_bind(v),
                Param::MaybeText(v) => b.push_bind(v),
            };
        }
        b.push(" AS SIGNED) AS next_run_at");
    }
    b.push(COMPLETE_MANY[1]);
    b
}

/// `UPDATE … SET <set> WHERE <key> IN (ids)` / `SELECT … WHERE <key> IN (ids)`: `head` then the
/// list.
fn where_in(head: &str, ids: Vec<Param>) -> QueryBuilder<'static, MySql> {
    let mut b = QueryBuilder::new(head);
    sql::in_list(&mut b, ids);
    b
}

/// Writes `lease` into the rows `ids` (locked by the claim).
pub(super) fn lease_rows<'a>(ids: Vec<Param>, lease: &LeaseRequest<'a>) -> QueryBuilder<'a, MySql> {
    let mut b = QueryBuilder::new("UPDATE bk_plugin_schedule SET lease_id = ");
    b.push_bind(lease.id);
    b.push(", lease_owner = ").push_bind(lease.owner);
    b.push(", lease_until = ")
        .push_bind(lease.until.as_millis());
    b.push(" WHERE trace_id IN ");
    sql::in_list(&mut b, ids);
    b
}

/// Reads the rows `ids` back (`codec::RecordRow`).
pub(super) fn read_rows(ids: Vec<Param>) -> QueryBuilder<'static, MySql> {
    where_in(
        concat!(
            "SELECT ",
            sql::record_columns!(),
            " FROM bk_plugin_schedule WHERE trace_id IN "
        ),
        ids,
    )
}

/// Writes the lease expiry `until` into the notifications `ids` (locked by the claim).
pub(super) fn lease_notifications(ids: Vec<Param>, until: i64) -> QueryBuilder<'static, MySql> {
    let mut b = QueryBuilder::new("UPDATE bk_plugin_notification SET lease_until = ");
    b.push_bind(until).push(" WHERE id IN ");
    sql::in_list(&mut b, ids);
    b
}

/// Reads the notifications `ids` back (`codec::NotificationRow`).
pub(super) fn read_notifications(ids: Vec<Param>) -> QueryBuilder<'static, MySql> {
    where_in(
        concat!(
            "SELECT ",
            sql::notification_columns!(),
            " FROM bk_plugin_notification WHERE id IN "
        ),
        ids,
    )
}
