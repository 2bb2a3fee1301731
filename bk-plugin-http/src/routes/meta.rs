//! `GET meta`: app code, versions (newest first), framework versions, allow_scope.

use axum::extract::State;
use axum::response::Response;

use crate::reply;
use crate::state::AppState;

pub(crate) async fn meta(State(state): State<AppState>) -> Response {
    reply::json_bytes(state.meta.clone())
}
