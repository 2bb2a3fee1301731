//! Responses in the Python framework's shapes: flat JSON envelopes, empty 404s, plain-text 403.

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// What a caller is told when the schedule store fails; the store's own error (which can name
/// hosts, users and tables) is logged with the answer's `trace_id` instead.
pub(crate) const STORE_FAILED: &str =
    "the schedule store is unavailable; the plugin's log has the details under this id";

/// 503 `{"result": false, "data": null, "message": STORE_FAILED, "trace_id": id}` with
/// `Retry-After: 1`: the store is unavailable and nothing was done (safe to retry).
pub(crate) fn store_unavailable(trace_id: &str) -> Response {
    let mut r = failure(
        StatusCode::SERVICE_UNAVAILABLE,
        STORE_FAILED,
        Some(trace_id),
    );
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    r
}

/// A JSON response with `status`, serialised compactly (UTF-8, no `\u` escapes).
pub(crate) fn json<T: serde::Serialize + ?Sized>(status: StatusCode, body: &T) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    let mut r = Response::new(Body::from(bytes));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// A JSON body already serialised.
pub(crate) fn json_bytes(bytes: Bytes) -> Response {
    let mut r = Response::new(Body::from(bytes));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// 404 with no body (unknown version), as the Python framework.
pub(crate) fn not_found_empty() -> Response {
    StatusCode::NOT_FOUND.into_response()
}

/// 403 `This API can only be accessed through API gateway` (plain text).
pub(crate) fn gateway_required() -> Response {
    (
        StatusCode::FORBIDDEN,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        "This API can only be accessed through API gateway",
    )
        .into_response()
}

const PERMISSION_DENIED_EN: &str = "You do not have permission to perform this action.";
const PERMISSION_DENIED_ZH: &str = "您没有执行该操作的权限。";

/// DRF's default `PermissionDenied`: 403 `{"detail": "您没有执行该操作的权限。"}` (`en`:
/// `You do not have permission to perform this action.`).
pub(crate) fn permission_denied(en: bool) -> Response {
    let msg = if en {
        PERMISSION_DENIED_EN
    } else {
        PERMISSION_DENIED_ZH
    };
    detail(StatusCode::FORBIDDEN, msg)
}

/// `{"detail": msg}` (DRF's shape for parse, permission and method errors).
pub(crate) fn detail(status: StatusCode, msg: &str) -> Response {
    json(status, &json!({ "detail": msg }))
}

/// `{"result": false, "data": null, "message": msg}` (+ `trace_id` when given).
pub(crate) fn failure(status: StatusCode, msg: &str, trace_id: Option<&str>) -> Response {
    let mut body = json!({"result": false, "data": null, "message": msg});
    if let Some(t) = trace_id {
        body["trace_id"] = Value::from(t);
    }
    json(status, &body)
}
