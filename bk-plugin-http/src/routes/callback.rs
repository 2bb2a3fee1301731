//! `POST callback/{token}/`: a third party resumes an invocation waiting in CALLBACK.

use axum::body::Body;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use bk_plugin_engine::CallbackError;
use serde_json::{Value, json};

use super::require_gateway;
use crate::app_state::AppState;
use crate::auth::Caller;
use crate::{body, reply};

fn answer(status: StatusCode, result: bool, message: &str) -> Response {
    reply::json(status, &json!({"result": result, "message": message}))
}

pub(crate) async fn callback(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Extension(caller): Extension<Caller>,
    req_body: Body,
) -> Response {
    if let Err(r) = require_gateway(&state, &caller) {
        return r;
    }
    let engine = &state.engine;
    let (callback_id, trace_id) = match engine.open_token(&token) {
        Ok(ids) => ids,
        Err(e) => return answer(StatusCode::BAD_REQUEST, false, &e.to_string()),
    };
    let bytes = match body::read(req_body, state.config.body_limit, None).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Ok(data) = serde_json::from_slice::<Value>(&bytes) else {
        return answer(StatusCode::BAD_REQUEST, false, "invalid request body");
    };
    match engine.deliver_callback(&trace_id, &callback_id, data).await {
        Ok(()) => {
            tracing::info!(trace_id = %trace_id, callback_id = %callback_id, "callback accepted");
            answer(StatusCode::OK, true, "callback success")
        }
        Err(e @ CallbackError::NotConfigured) => {
            answer(StatusCode::SERVICE_UNAVAILABLE, false, &e.to_string())
        }
        Err(e) => {
            tracing::warn!(trace_id = %trace_id, error = %e, "callback refused");
            answer(StatusCode::BAD_REQUEST, false, &e.to_string())
        }
    }
}
