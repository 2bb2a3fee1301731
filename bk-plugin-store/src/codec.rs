//! How rows are encoded, the same for every SQL backend: JSON values as text (key order kept),
//! timestamps as integer milliseconds, states as their codes.

use bk_plugin_core::State;
use bk_plugin_engine::Timestamp;
use bk_plugin_engine::store::{PushOutcome, StoreError, StoreResult};

/// The columns a `ScheduleRecord` is read from, in `SELECT` / `RETURNING` lists.
pub(crate) const RECORD_COLUMNS: &str = "trace_id, plugin_version, state, inputs, context, storage, outputs, invoke_count, err, created_at, finish_at, next_run_at";

/// Whether a row in CALLBACK, not leased, has a queued callback (due at once). Only the
/// presence of a row matters: callers `fetch_optional` it without decoding.
pub(crate) const PENDING_CALLBACK: &str =
    "SELECT c.seq FROM bk_plugin_callback c JOIN bk_plugin_schedule s ON s.trace_id = c.trace_id
     WHERE s.finish_at IS NULL AND s.state = 3 AND s.lease_id IS NULL LIMIT 1";

/// The earliest time a poll row may become due (a `BIGINT` or NULL).
pub(crate) const NEXT_DUE: &str = "SELECT MIN(t) FROM (
         SELECT MIN(next_run_at) AS t FROM bk_plugin_schedule
         WHERE finish_at IS NULL AND state = 2 AND lease_id IS NULL
         UNION ALL
         -- A leased row may be due again when its lease expires.
         SELECT MIN(lease_until) + 1 FROM bk_plugin_schedule
         WHERE lease_id IS NOT NULL AND finish_at IS NULL) AS due";

/// The earliest time a notification may be claimed (a `BIGINT` or NULL).
pub(crate) const NEXT_NOTIFICATION: &str = "SELECT MIN(CASE WHEN lease_until IS NOT NULL AND lease_until >= due_at THEN lease_until + 1 ELSE due_at END)
     FROM bk_plugin_notification";

/// Row counts as columns `polling`, `waiting`, `notifications`.
pub(crate) const COUNTS: &str = "SELECT
       (SELECT COUNT(*) FROM bk_plugin_schedule WHERE finish_at IS NULL AND state = 2) AS polling,
       (SELECT COUNT(*) FROM bk_plugin_schedule WHERE finish_at IS NULL AND state = 3) AS waiting,
       (SELECT COUNT(*) FROM bk_plugin_notification) AS notifications";

/// A JSON value as column text.
pub(crate) fn to_text(v: &impl serde::Serialize) -> StoreResult<String> {
    serde_json::to_string(v).map_err(|e| StoreError::with_source("encoding JSON", e))
}

/// Column text as a JSON value; `col` names the column in the error.
pub(crate) fn from_text<T: serde::de::DeserializeOwned>(text: &str, col: &str) -> StoreResult<T> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::with_source(format!("corrupt JSON in column {col}"), e))
}

/// A nullable millisecond column.
pub(crate) fn ts(v: Option<i64>) -> Option<Timestamp> {
    v.map(Timestamp::from_millis)
}

/// A stored state code.
pub(crate) fn state(code: i64) -> StoreResult<State> {
    u8::try_from(code)
        .ok()
        .and_then(State::from_code)
        .ok_or_else(|| StoreError::new(format!("corrupt state {code}")))
}

/// The end of `push_callback` from its INSERT's result: queued (commit), or already queued
/// (the unique `(trace_id, callback_id)` index refused a second entry; roll back).
pub(crate) fn queued(
    inserted: Result<impl Sized, sqlx::Error>,
    err: impl FnOnce(sqlx::Error) -> StoreError,
) -> StoreResult<(PushOutcome, bool)> {
    match inserted {
        Ok(_) => Ok((PushOutcome::Queued, true)),
        Err(e)
            if e.as_database_error()
                .is_some_and(|d| d.is_unique_violation()) =>
        {
            Ok((PushOutcome::AlreadyQueued, false))
        }
        Err(e) => Err(err(e)),
    }
}
