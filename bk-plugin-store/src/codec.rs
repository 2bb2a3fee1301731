//! How rows are encoded and decoded, the same for every SQL backend: JSON values as text (key
//! order kept), timestamps as integer milliseconds, states as their codes.
//!
//! A backend reads rows into the generic row types here, naming only its column types
//! (`RecordRow<i32, String>` for PostgreSQL, …); everything else about a row (JSON, state
//! codes, counts) is decoded by the one function of each type.

use std::collections::HashMap;

use bk_plugin_core::{Cancellation, State};
use bk_plugin_engine::Timestamp;
use bk_plugin_engine::store::{
    Counts, Notification, PendingNotification, QueuedCallback, ScheduleRecord, StoreError,
    StoreResult,
};

/// A JSON value as column text.
pub(crate) fn to_text(v: &impl serde::Serialize) -> StoreResult<String> {
    serde_json::to_string(v).map_err(|e| StoreError::with_source("encoding JSON", e))
}

/// Column text as a JSON value; `col` names the column in the error.
pub(crate) fn from_text<T: serde::de::DeserializeOwned>(text: &str, col: &str) -> StoreResult<T> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::with_source(format!("corrupt JSON in column {col}"), e))
}

/// A cancellation as its column's JSON text: `{"by": .., "reason": ..}`.
pub(crate) fn cancel_text(c: &Cancellation) -> String {
    serde_json::json!({"by": c.by, "reason": c.reason}).to_string()
}

/// A cancellation column. Text that is not the JSON [`cancel_text`] writes (a hand-edited
/// row) still cancels: by `operator`, the text as the reason.
pub(crate) fn cancel(text: &str) -> Cancellation {
    let v: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
    match v.get("by").and_then(|b| b.as_str()) {
        Some(by) => Cancellation::new(
            by,
            v.get("reason").and_then(|r| r.as_str()).map(str::to_owned),
        ),
        None => Cancellation::new("operator", Some(text.to_owned())),
    }
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

/// A stored count (`invoke_count`, `attempts`). A value out of `u32`'s range (only a hand-edited
/// row holds one) is clamped: negative to 0, too large to `u32::MAX`.
pub(crate) fn count(v: i64) -> u32 {
    u32::try_from(v.max(0)).unwrap_or(u32::MAX)
}

/// Row counts read as `(polling, waiting, notifications)` (`sql::COUNTS`).
pub(crate) fn counts((polling, waiting, notifications): (i64, i64, i64)) -> Counts {
    let n = |v: i64| u64::try_from(v).unwrap_or(0);
    Counts {
        polling: n(polling),
        waiting_callback: n(waiting),
        notifications: n(notifications),
    }
}

/// The rows of `sql::WAITING_VERSIONS`, counts as `u64`.
pub(crate) fn waiting_versions(rows: Vec<(String, i64)>) -> Vec<(String, u64)> {
    rows.into_iter()
        .map(|(version, n)| (version, u64::try_from(n).unwrap_or(0)))
        .collect()
}

/// A text column that some dialects return as bytes (MySQL describes `utf8mb4_bin` columns
/// as binary).
pub(crate) trait Text {
    /// The column's text.
    fn into_text(self) -> StoreResult<String>;
}

impl Text for String {
    fn into_text(self) -> StoreResult<String> {
        Ok(self)
    }
}

impl Text for Vec<u8> {
    fn into_text(self) -> StoreResult<String> {
        String::from_utf8(self).map_err(|e| StoreError::with_source("trace id is not UTF-8", e))
    }
}

/// A `bk_plugin_schedule` row as read (`sql::RECORD_COLUMNS`): `I` is the dialect's integer
/// column type, `T` its trace id type.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct RecordRow<I, T> {
    trace_id: T,
    plugin_version: String,
    state: I,
    inputs: String,
    context: String,
    storage: String,
    outputs: String,
    invoke_count: I,
    err: String,
    created_at: i64,
    finish_at: Option<i64>,
    next_run_at: Option<i64>,
    cancel: Option<String>,
    traceparent: String,
}

impl<I: Into<i64>, T: Text> RecordRow<I, T> {
    /// The record; `Err` for a row that cannot be read (corrupt JSON, unknown state), with its
    /// trace id (which must be text).
    pub(crate) fn decode(self) -> StoreResult<Result<ScheduleRecord, (String, StoreError)>> {
        let trace_id = self.trace_id.into_text()?;
        let decoded = (|| {
            let mut r = ScheduleRecord::new(
                trace_id.clone(),
                self.plugin_version,
                state(self.state.into())?,
                from_text(&self.inputs, "inputs")?,
                from_text(&self.context, "context")?,
                Timestamp::from_millis(self.created_at),
            )
            .with_data(
                from_text(&self.storage, "storage")?,
                from_text(&self.outputs, "outputs")?,
            );
            r.next_run_at = ts(self.next_run_at);
            r.invoke_count = count(self.invoke_count.into());
            r.err = self.err;
            r.finish_at = ts(self.finish_at);
            r.cancel = self.cancel.as_deref().map(cancel);
            r.traceparent = Some(self.traceparent).filter(|t| !t.is_empty());
            Ok(r)
        })();
        Ok(decoded.map_err(|e| (trace_id, e)))
    }

    /// [`decode`](Self::decode), an unreadable row being an error.
    pub(crate) fn record(self) -> StoreResult<ScheduleRecord> {
        self.decode()?.map_err(|(_, e)| e)
    }
}

/// The rows of a claim that cannot be read: trace id and why.
pub(crate) type Unreadable = Vec<(String, StoreError)>;

/// Claimed rows decoded: the readable records, and the others.
pub(crate) fn decode_claimed<I: Into<i64>, T: Text>(
    rows: Vec<RecordRow<I, T>>,
) -> StoreResult<(Vec<ScheduleRecord>, Unreadable)> {
    let (mut records, mut unreadable) = (Vec::with_capacity(rows.len()), Vec::new());
    for row in rows {
        match row.decode()? {
            Ok(r) => records.push(r),
            Err(bad) => unreadable.push(bad),
        }
    }
    Ok((records, unreadable))
}

/// A `bk_plugin_notification` row as read (`sql::NOTIFICATION_COLUMNS`).
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct NotificationRow<I, T> {
    id: i64,
    trace_id: T,
    url: String,
    data: String,
    attempts: I,
    due_at: i64,
}

/// Claimed notifications decoded, oldest due first (ties by id): RETURNING and `IN` reads
/// have no defined order.
pub(crate) fn notifications<I: Into<i64>, T: Text>(
    rows: Vec<NotificationRow<I, T>>,
) -> StoreResult<Vec<Notification>> {
    let mut rows = rows;
    rows.sort_by_key(|r| (r.due_at, r.id));
    rows.into_iter()
        .map(|r| {
            Ok(Notification {
                id: r.id,
                trace_id: r.trace_id.into_text()?,
                data: from_text(&r.data, "data")?,
                url: r.url,
                attempts: count(r.attempts.into()),
            })
        })
        .collect()
}

/// Notifications read for an inspection, by id.
pub(crate) fn pending_notifications<I: Into<i64>, T>(
    rows: Vec<NotificationRow<I, T>>,
) -> Vec<PendingNotification> {
    let mut out: Vec<PendingNotification> = rows
        .into_iter()
        .map(|r| {
            let due = Timestamp::from_millis(r.due_at);
            PendingNotification::new(r.id, r.url, count(r.attempts.into()), due)
        })
        .collect();
    out.sort_by_key(|n| n.id);
    out
}

/// An inbox in order.
pub(crate) fn inbox<T>(rows: Vec<CallbackRow<T>>) -> StoreResult<Vec<QueuedCallback>> {
    let mut out = rows
        .into_iter()
        .map(|r| {
            Ok(QueuedCallback {
                seq: r.seq,
                callback_id: r.callback_id,
                data: from_text(&r.data, "data")?,
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    out.sort_by_key(|c| c.seq);
    Ok(out)
}

/// A `bk_plugin_callback` row as read by `sql::oldest_callbacks`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct CallbackRow<T> {
    seq: i64,
    trace_id: T,
    callback_id: String,
    data: String,
}

/// Callbacks by trace id.
pub(crate) fn callbacks<T: Text>(
    rows: Vec<CallbackRow<T>>,
) -> StoreResult<HashMap<String, QueuedCallback>> {
    rows.into_iter()
        .map(|r| {
            let callback = QueuedCallback {
                seq: r.seq,
                callback_id: r.callback_id,
                data: from_text(&r.data, "data")?,
            };
            Ok((r.trace_id.into_text()?, callback))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancellations_read_back_and_hand_edits_still_cancel() {
        let c = Cancellation::new("bk_sops (user admin)", Some("revoked".into()));
        assert_eq!(cancel(&cancel_text(&c)), c);
        let c = Cancellation::new("operator", None);
        assert_eq!(cancel(&cancel_text(&c)), c);
        assert_eq!(
            cancel("stop it"),
            Cancellation::new("operator", Some("stop it".into()))
        );
    }

    #[test]
    fn counts_out_of_range_are_clamped() {
        assert_eq!(count(-1), 0);
        assert_eq!(count(7), 7);
        assert_eq!(count(i64::from(u32::MAX) + 1), u32::MAX);
    }
}
