//! `GET detail/{version}`: the version's schemas and form; 404 with no body if unknown.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use crate::reply;
use crate::state::AppState;

pub(crate) async fn detail(State(state): State<AppState>, Path(version): Path<String>) -> Response {
    match state.engine.registry().detail(&version) {
        Some(d) => reply::json(
            StatusCode::OK,
            &json!({"result": true, "data": d, "message": ""}),
        ),
        None => reply::not_found_empty(),
    }
}
