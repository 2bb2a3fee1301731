//! `GET schedule/{trace_id}`: the stored state of an invocation (HTTP 200; 503 while the
//! store is unavailable).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use bk_plugin_engine::new_id;
use bk_plugin_engine::store::ScheduleRecord;
use serde_json::{Value, json};

use crate::app_state::AppState;
use crate::{reply, time};

/// The `data` of a `schedule` answer (and of `cancel`'s).
pub(crate) fn data(r: &ScheduleRecord) -> Value {
    json!({
        "trace_id": r.trace_id,
        "plugin_version": r.plugin_version,
        "state": r.state.code(),
        "outputs": r.outputs,
        "err": r.err,
        "created_at": time::shanghai(r.created_at),
        "finish_at": r.finish_at.map(time::shanghai).unwrap_or_default(),
    })
}

pub(crate) async fn schedule(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let trace_id = new_id();
    match state.engine.schedule(&id).await {
        Ok(Some(r)) => reply::json(
            StatusCode::OK,
            &json!({
                "result": true,
                "data": data(&r),
                "trace_id": trace_id,
                "message": "",
            }),
        ),
        Ok(None) => reply::failure(
            StatusCode::OK,
            &format!("can not find schedule for trace_id {id}"),
            Some(&trace_id),
        ),
        Err(e) => {
            tracing::error!(trace_id, schedule = id, error = %e, "reading a schedule failed");
            reply::store_unavailable(&trace_id)
        }
    }
}
