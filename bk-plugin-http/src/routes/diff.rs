//! `GET diff/{old}/{new}` (dev only): the `diff` subcommand's report for the debug page.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use crate::app_state::AppState;
use crate::{cli, reply};

pub(crate) async fn diff(
    State(state): State<AppState>,
    Path((old, new)): Path<(String, String)>,
) -> Response {
    match cli::diff_report(state.engine.registry(), &old, &new) {
        Ok(report) => reply::json(
            StatusCode::OK,
            &json!({"result": true, "data": {"report": report}, "message": ""}),
        ),
        Err(_) => reply::not_found_empty(),
    }
}
