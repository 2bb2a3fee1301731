//! `POST callback/{token}/`: a third party resumes an invocation waiting in CALLBACK.

use axum::body::Body;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use bk_plugin_engine::CallbackError;
use serde_json::{Value, json};

use super::require_gateway;
use crate::app_state::AppState;
use crate::auth::Caller;
use crate::trace_context::TraceContext;
use crate::{body, reply};

fn answer(status: StatusCode, result: bool, message: &str) -> Response {
    reply::json(status, &json!({"result": result, "message": message}))
}

pub(crate) async fn callback(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Extension(caller): Extension<Caller>,
    Extension(trace): Extension<TraceContext>,
    headers: HeaderMap,
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
    let bytes = match body::read(req_body, &state.config, None).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    // Without the gateway's JWT (an exempt dev or stag server) a web page could post here
    // cross-site: only JSON, as for invoke. Through the gateway the body is parsed whatever
    // its Content-Type, as the Python framework does.
    if caller.jwt.is_none()
        && let Err(r) = body::require_json(&headers, &bytes, super::english(&headers))
    {
        return r;
    }
    let Ok(data) = serde_json::from_slice::<Value>(&bytes) else {
        return answer(StatusCode::BAD_REQUEST, false, "invalid request body");
    };
    match engine
        .deliver_callback_traced(&trace_id, &callback_id, data, trace.traceparent())
        .await
    {
        Ok(()) => {
            tracing::info!(trace_id = %trace_id, callback_id = %callback_id, "callback accepted");
            answer(StatusCode::OK, true, "callback success")
        }
        Err(CallbackError::Store(e)) => {
            let id = bk_plugin_engine::new_id();
            tracing::error!(trace_id = %trace_id, answer_trace_id = id, error = %e, "callback: the store failed");
            reply::store_unavailable(&id)
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
