//! `GET meta`: app code, versions (newest first), framework versions, allow_scope.

use axum::extract::State;
use axum::response::Response;

use crate::app_state::AppState;
use crate::reply;

pub(crate) async fn meta(State(state): State<AppState>) -> Response {
    reply::json_bytes(state.meta.clone())
}
