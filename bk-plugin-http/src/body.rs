//! Reading request bodies with the configured size limit.

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;

use crate::reply;

/// The whole body, or 413 `{"result": false, "message": "request body is larger than N bytes"}`.
pub(crate) async fn read(
    body: Body,
    limit: usize,
    trace_id: Option<&str>,
) -> Result<Bytes, Response> {
    axum::body::to_bytes(body, limit).await.map_err(|_| {
        reply::failure(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("request body is larger than {limit} bytes"),
            trace_id,
        )
    })
}

/// 415 `{"detail": "Unsupported media type \"..\" in request."}` (DRF's answer) unless a
/// non-empty body is declared JSON (`application/json` or `application/*+json`, parameters
/// allowed). A browser page can POST `text/plain`, a form or an untyped blob to any origin
/// without asking first; it cannot send `application/json` cross-site without a CORS preflight,
/// which this server never grants.
pub(crate) fn require_json(headers: &HeaderMap, body: &[u8], en: bool) -> Result<(), Response> {
    let media_type = headers
        .get(header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    let essence = media_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let json = essence == "application/json"
        || essence
            .strip_prefix("application/")
            .is_some_and(|sub| sub.ends_with("+json"));
    if json || body.is_empty() {
        return Ok(());
    }
    let shown = media_type.trim();
    let msg = if en {
        format!("Unsupported media type \"{shown}\" in request.")
    } else {
        format!("不支持请求中的媒体类型 “{shown}”。")
    };
    Err(reply::detail(StatusCode::UNSUPPORTED_MEDIA_TYPE, &msg))
}
