//! Reading request bodies with the configured size limit.

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;

use crate::config::Config;
use crate::reply;

/// The whole body within the configured size and time: else 413 `{"result": false, "message":
/// "request body is larger than N bytes"}`, or 408 when it did not arrive within
/// `body_timeout`.
pub(crate) async fn read(
    body: Body,
    config: &Config,
    trace_id: Option<&str>,
) -> Result<Bytes, Response> {
    read_within(body, config.body_limit, config, trace_id).await
}

/// [`read`] with `limit` instead of `body_limit` (the upload limit of a multipart body).
pub(crate) async fn read_within(
    body: Body,
    limit: usize,
    config: &Config,
    trace_id: Option<&str>,
) -> Result<Bytes, Response> {
    match tokio::time::timeout(config.body_timeout, axum::body::to_bytes(body, limit)).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(_)) => Err(reply::failure(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("request body is larger than {limit} bytes"),
            trace_id,
        )),
        Err(_) => Err(reply::failure(
            StatusCode::REQUEST_TIMEOUT,
            &format!(
                "request body not received within {} s",
                config.body_timeout.as_secs_f64()
            ),
            trace_id,
        )),
    }
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
