//! `POST plugin_api_dispatch/`: SOPS proxies form data-source calls to the author's
//! `plugin_api` routes through this endpoint (protocol.md §3.6).

use axum::body::Body;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::response::Response;
use bk_plugin_engine::new_id;
use serde_json::{Map, Value, json};
use tower::ServiceExt;

use super::dispatch_request::DispatchRequest;
use super::require_scoped_caller;
use crate::app_state::AppState;
use crate::auth::Caller;
use crate::trace_context::TraceContext;
use crate::{body, multipart, reply};

/// Before multer's message, for a multipart body that does not parse.
const MALFORMED_FORM: &str = "multipart form parse error - ";

pub(crate) async fn dispatch(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Extension(trace): Extension<TraceContext>,
    headers: HeaderMap,
    req_body: Body,
) -> Response {
    if let Err(r) = require_scoped_caller(&state, &caller, &headers) {
        return r;
    }
    let trace_id = new_id();
    let bad = |msg: &str| {
        reply::failure(
            StatusCode::BAD_REQUEST,
            &format!("输入不合法: {msg}"),
            Some(&trace_id),
        )
    };
    let upload = multipart::is_form_data(&headers);
    let limit = if upload {
        state.config.upload_limit
    } else {
        state.config.body_limit
    };
    let bytes = match body::read_within(req_body, limit, &state.config, Some(&trace_id)).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let parsed = if upload {
        match multipart::parse(&headers, bytes).await {
            Ok(form) => DispatchRequest::from_form(form),
            Err(e) => return bad(&format!("{MALFORMED_FORM}{e}")),
        }
    } else {
        DispatchRequest::from_json(&bytes)
    };
    let req = match parsed {
        Ok(r) => r,
        Err(msg) => return bad(msg),
    };
    let url = req.url.as_str();
    let (content_type, inner_body) = inner_body(&req);
    let mut inner = Request::builder()
        .method(req.method.clone())
        .uri(inner_uri(&req));
    for (name, value) in &headers {
        let n = name.as_str();
        if n.starts_with("bk-plugin") || n.starts_with("bk_plugin") || n == "x-bkapi-jwt" {
            inner = inner.header(name, value);
        }
    }
    inner = inner.header("content-type", content_type);
    let Ok(mut inner) = inner.body(inner_body) else {
        return bad(&format!("url {url} is not a valid URI"));
    };
    inner
        .extensions_mut()
        .insert(caller.acting_for(&req.username));
    // The handler sees the caller's trace context as a direct call would: in its headers and
    // as `Extension<TraceContext>`.
    trace.apply(inner.headers_mut());
    inner.extensions_mut().insert(trace);
    let resp = match state.dispatch_target.clone().oneshot(inner).await {
        Ok(r) => r,
        Err(e) => match e {},
    };
    let status = resp.status();
    // Our own handler's answer: no size limit applies.
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap_or_default();
    if status == StatusCode::NOT_FOUND && bytes.is_empty() {
        return reply::failure(
            StatusCode::NOT_FOUND,
            &format!("404 error: {url}"),
            Some(&trace_id),
        );
    }
    let parsed = serde_json::from_slice::<Value>(&bytes);
    let parsed = match parsed {
        // A rejection by the route itself (wrong method, a path parameter of the wrong type):
        // the caller's mistake, reported as DRF reports it, `{"detail": ...}` in `data`.
        Err(_) if status.is_client_error() => {
            let text = String::from_utf8_lossy(&bytes);
            let detail = if text.trim().is_empty() {
                status
                    .canonical_reason()
                    .unwrap_or("client error")
                    .to_owned()
            } else {
                text.into_owned()
            };
            Ok(json!({ "detail": detail }))
        }
        other => other,
    };
    match parsed {
        // As the Python framework: the inner status is not passed on.
        Ok(data) => reply::json(
            StatusCode::OK,
            &json!({"result": true, "data": data, "message": "success", "trace_id": trace_id}),
        ),
        Err(e) => reply::failure(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!(
                "unknow error, please contact plugin developers: plugin_api {url} answered HTTP {status} with a body that is not JSON: {e}"
            ),
            Some(&trace_id),
        ),
    }
}

/// The inner request's path and query: the url after `/bk_plugin/plugin_api` (where the
/// author's routes are mounted); for a GET with `data`, `data` as the query instead of the
/// url's.
fn inner_uri(req: &DispatchRequest) -> String {
    let path = &req.url["/bk_plugin/plugin_api".len()..];
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let query = if req.method == Method::GET && !req.data.is_empty() {
        urlencode(&req.data)
    } else {
        query.to_owned()
    };
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    }
}

/// The inner request's `Content-Type` and body. With files: a multipart body of the files,
/// after `data` as text fields for a POST (a GET has `data` in its query), as the Python view's
/// `RequestFactory` request with `FILES`. Without: `data` as JSON for a POST, nothing for a GET.
fn inner_body(req: &DispatchRequest) -> (String, Body) {
    let post = req.method == Method::POST;
    if !req.files.is_empty() {
        let fields = if post { req.data_fields() } else { Vec::new() };
        let (content_type, body) = multipart::encode(&fields, &req.files);
        return (content_type, Body::from(body));
    }
    let body = if post {
        Body::from(serde_json::to_vec(&req.data).unwrap_or_default())
    } else {
        Body::empty()
    };
    ("application/json".to_owned(), body)
}

fn urlencode(data: &Map<String, Value>) -> String {
    fn enc(s: &str) -> String {
        let mut out = String::new();
        for b in s.bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    out.push(b as char)
                }
                b' ' => out.push('+'),
                _ => out.push_str(&format!("%{b:02X}")),
            }
        }
        out
    }
    data.iter()
        .map(|(k, v)| {
            let v = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            format!("{}={}", enc(k), enc(&v))
        })
        .collect::<Vec<_>>()
        .join("&")
}
