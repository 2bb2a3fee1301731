//! `GET logs/{trace_id}` (dev only): the log lines of an invocation, as the Python
//! framework's dev endpoint (`"<LEVEL> [<function>] <message>"` joined by `\n`).

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use crate::{logging, reply};

pub(crate) async fn logs(Path(trace_id): Path<String>) -> Response {
    let log = logging::log_store()
        .map(|s| s.get(&trace_id))
        .unwrap_or_default();
    reply::json(
        StatusCode::OK,
        &json!({"result": true, "data": {"log": log}, "message": ""}),
    )
}
