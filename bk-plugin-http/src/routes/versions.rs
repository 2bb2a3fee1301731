//! `GET versions/` (dev only): every served version, newest first, with its status, for the
//! debug page. `meta` lists only the versions offered to new callers; this lists the
//! deprecated ones too.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::app_state::AppState;
use crate::reply;

pub(crate) async fn versions(State(state): State<AppState>) -> Response {
    let versions: Vec<Value> = state
        .engine
        .registry()
        .plugins()
        .map(|p| json!({"version": p.version(), "deprecated": p.deprecated()}))
        .collect();
    reply::json(
        StatusCode::OK,
        &json!({"result": true, "data": {"versions": versions}, "message": ""}),
    )
}
