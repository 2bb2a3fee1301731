//! `POST plugin_api_dispatch/`: SOPS proxies form data-source calls to the author's
//! `plugin_api` routes through this endpoint (protocol.md §3.6).

use axum::body::Body;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::response::Response;
use bk_plugin_engine::new_id;
use serde_json::{Map, Value, json};
use tower::ServiceExt;

use super::{require_gateway, require_scope};
use crate::app_state::AppState;
use crate::auth::Caller;
use crate::{body, reply};

const PREFIX: &str = "/bk_plugin/plugin_api/";

pub(crate) async fn dispatch(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    req_body: Body,
) -> Response {
    if let Err(r) = require_gateway(&state, &caller) {
        return r;
    }
    if let Err(r) = require_scope(&state, &caller, &headers) {
        return r;
    }
    let trace_id = new_id();
    let bad = |msg: String| {
        reply::failure(
            StatusCode::BAD_REQUEST,
            &format!("输入不合法: {msg}"),
            Some(&trace_id),
        )
    };
    let bytes = match body::read(req_body, &state.config, Some(&trace_id)).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Ok(Value::Object(req)) = serde_json::from_slice::<Value>(&bytes) else {
        return bad("body must be a JSON object".into());
    };
    let s = |k: &str| req.get(k).and_then(Value::as_str);
    let Some(url) = s("url").filter(|u| u.starts_with(PREFIX)) else {
        return bad(format!("url must start with {PREFIX}"));
    };
    let method = match s("method").map(str::to_ascii_uppercase).as_deref() {
        Some("GET") => Method::GET,
        Some("POST") => Method::POST,
        _ => return bad("method must be GET or POST".into()),
    };
    let Some(username) = s("username") else {
        return bad("username is required".into());
    };
    let mut data = match req.get("data") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return bad("data must be an object".into()),
    };
    if let Some(dumped) = s("dumped_data") {
        match serde_json::from_str::<Value>(dumped) {
            Ok(Value::Object(m)) => data.extend(m),
            _ => return bad("dumped_data must be a JSON object string".into()),
        }
    }
    // The author's routes are mounted under /bk_plugin/plugin_api.
    let path = &url["/bk_plugin/plugin_api".len()..];
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let (uri, inner_body) = if method == Method::GET {
        let q = if data.is_empty() {
            query.to_owned()
        } else {
            urlencode(&data)
        };
        let uri = if q.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{q}")
        };
        (uri, Body::empty())
    } else {
        let uri = if query.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{query}")
        };
        (
            uri,
            Body::from(serde_json::to_vec(&data).unwrap_or_default()),
        )
    };
    let mut inner = Request::builder().method(method).uri(&uri);
    for (name, value) in &headers {
        let n = name.as_str();
        if n.starts_with("bk-plugin") || n.starts_with("bk_plugin") || n == "x-bkapi-jwt" {
            inner = inner.header(name, value);
        }
    }
    inner = inner.header("content-type", "application/json");
    let Ok(mut inner) = inner.body(inner_body) else {
        return bad(format!("url {url} is not a valid URI"));
    };
    inner.extensions_mut().insert(caller.acting_for(username));
    let resp = match state.plugin_api.clone().oneshot(inner).await {
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
