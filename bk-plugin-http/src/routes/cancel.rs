//! `POST cancel/{trace_id}` (an addition to the Python protocol): a caller ends a waiting
//! invocation as FAIL. Gateway authentication and `allow_scope` as for invoke; allowed per
//! version (`#[plugin(cancellable)]`) or for all (`BK_PLUGIN_ALLOW_CANCEL`).

use axum::body::Body;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use bk_plugin_core::Cancellation;
use bk_plugin_engine::{CancelError, Cancelled, new_id};
use serde_json::{Value, json};

use super::{english, require_scoped_caller, schedule};
use crate::app_state::AppState;
use crate::auth::Caller;
use crate::{body, reply};

/// The message of a cancellation that waits for a running step.
const PENDING: &str =
    "cancel requested: a step is running; the invocation ends as FAIL once it is stored";

/// The message of a body that is not `{}` or `{"reason": "<text>"}`.
const BAD_BODY: &str = "the body must be empty or a JSON object {\"reason\": \"<text>\"}";

pub(crate) async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    req_body: Body,
) -> Response {
    if let Err(r) = require_scoped_caller(&state, &caller, &headers) {
        return r;
    }
    let trace_id = new_id();
    let bytes = match body::read(req_body, &state.config, Some(&trace_id)).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let reason = if bytes.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        if let Err(r) = body::require_json(&headers, &bytes, english(&headers)) {
            return r;
        }
        match reason(&bytes) {
            Ok(reason) => reason,
            Err(()) => {
                return reply::failure(StatusCode::BAD_REQUEST, BAD_BODY, Some(&trace_id));
            }
        }
    };
    let cancellation = Cancellation::new(who(&caller), reason);
    let answer = |status, message: &str, r: &_| {
        reply::json(
            status,
            &json!({
                "result": true,
                "data": schedule::data(r),
                "message": message,
                "trace_id": trace_id,
            }),
        )
    };
    match state.engine.cancel(&id, cancellation).await {
        Ok(Cancelled::Finished(r)) => answer(StatusCode::OK, "success", &r),
        Ok(Cancelled::Pending(r)) => answer(StatusCode::ACCEPTED, PENDING, &r),
        Ok(other) => answer(StatusCode::OK, "success", other.record()),
        Err(e @ CancelError::NotFound(_)) => {
            reply::failure(StatusCode::NOT_FOUND, &e.to_string(), Some(&trace_id))
        }
        Err(e @ CancelError::NotAllowed(_)) => {
            reply::failure(StatusCode::FORBIDDEN, &e.to_string(), Some(&trace_id))
        }
        Err(CancelError::Store(e)) => {
            tracing::error!(trace_id, schedule = id, error = %e, "cancel: the store failed");
            reply::store_unavailable(&trace_id)
        }
        Err(e) => reply::failure(StatusCode::CONFLICT, &e.to_string(), Some(&trace_id)),
    }
}

/// `reason` of a `{"reason": ..}` body (`null` or absent: none); `Err` for anything else.
fn reason(bytes: &[u8]) -> Result<Option<String>, ()> {
    match serde_json::from_slice::<Value>(bytes).map_err(|_| ())? {
        Value::Object(o) => match o.get("reason") {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(()),
        },
        _ => Err(()),
    }
}

/// Who is cancelling, as `err` names them: the calling app and the user from the gateway's
/// JWT (`bk_sops (user admin)`).
fn who(caller: &Caller) -> String {
    match (caller.app_code.as_deref(), caller.username.as_deref()) {
        (Some(app), Some(user)) => format!("{app} (user {user})"),
        (Some(app), None) => app.to_owned(),
        (None, Some(user)) => format!("user {user}"),
        (None, None) => "an unidentified caller".to_owned(),
    }
}
