//! Reading request bodies with the configured size limit.

use axum::body::{Body, Bytes};
use axum::http::StatusCode;
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
