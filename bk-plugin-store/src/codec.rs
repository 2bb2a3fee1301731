//! How rows are encoded, the same for every SQL backend: JSON values as text (key order kept),
//! timestamps as integer milliseconds, states as their codes.

use bk_plugin_core::State;
use bk_plugin_engine::Timestamp;
use bk_plugin_engine::store::{StoreError, StoreResult};

/// The columns a `ScheduleRecord` is read from, in `SELECT` / `RETURNING` lists.
pub(crate) const RECORD_COLUMNS: &str = "trace_id, plugin_version, state, inputs, context, storage, outputs, invoke_count, err, created_at, finish_at, next_run_at";

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
