//! `GET detail/{version}`: the version's schemas and form; 404 with no body if unknown.

use axum::extract::{Path, State};
use axum::response::Response;

use crate::app_state::AppState;
use crate::reply;

pub(crate) async fn detail(State(state): State<AppState>, Path(version): Path<String>) -> Response {
    match state.details.get(version.as_str()) {
        // Serialised once at startup, like `meta`.
        Some(body) => reply::json_bytes(body.clone()),
        None => reply::not_found_empty(),
    }
}
