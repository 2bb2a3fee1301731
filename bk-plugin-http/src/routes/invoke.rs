//! `POST invoke/{version}`: validate the envelope, run the first step, answer its state.

use axum::extract::{Extension, Path, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use bk_plugin_engine::{InvokeError, new_id};
use serde::Serialize;
use serde_json::{Map, Value};

use super::{english, require_scoped_caller};
use crate::app_state::AppState;
use crate::auth::Caller;
use crate::trace_context::TraceContext;
use crate::{body, reply};

pub(crate) async fn invoke(
    State(state): State<AppState>,
    Path(version): Path<String>,
    Extension(caller): Extension<Caller>,
    Extension(trace): Extension<TraceContext>,
    req: Request,
) -> Response {
    // The headers are read in place (a `HeaderMap` extractor would copy them).
    let (parts, req_body) = req.into_parts();
    let headers = &parts.headers;
    if let Err(r) = require_scoped_caller(&state, &caller, headers) {
        return r;
    }
    let Some(version) = state.engine.registry().get(&version).map(|p| p.version()) else {
        return reply::not_found_empty();
    };
    let trace_id = new_id();
    let bytes = match body::read(req_body, &state.config, None).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let en = english(headers);
    if let Err(r) = body::require_json(headers, &bytes, en) {
        return r;
    }
    let (inputs, context) = match envelope(&bytes, en) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let started = std::time::Instant::now();
    match state
        .engine
        .invoke_traced(
            trace_id.clone(),
            version,
            inputs,
            context,
            trace.traceparent(),
        )
        .await
    {
        Ok(done) => {
            let code = done.state.code();
            state.metrics.invoked(version, code, started.elapsed());
            reply::json(
                StatusCode::OK,
                &Answer {
                    result: true,
                    data: AnswerData {
                        outputs: done.outputs.as_ref(),
                        state: code,
                        err: done.err.as_deref(),
                    },
                    message: "success",
                    trace_id: &trace_id,
                },
            )
        }
        Err(InvokeError::StoreUnavailable(e)) => {
            tracing::error!(trace_id, error = %e, "invoke refused: the schedule store is unavailable");
            reply::store_unavailable(&trace_id)
        }
        // Unregistered between the check and here: impossible, registries are fixed.
        Err(_) => reply::not_found_empty(),
    }
}

/// The answer of an invoke that ran: `{"result", "data": {"outputs", "state", "err"},
/// "message", "trace_id"}`, serialised without building a `Value`.
#[derive(Serialize)]
struct Answer<'a> {
    result: bool,
    data: AnswerData<'a>,
    message: &'static str,
    trace_id: &'a str,
}

#[derive(Serialize)]
struct AnswerData<'a> {
    outputs: Option<&'a Map<String, Value>>,
    state: u8,
    err: Option<&'a str>,
}

/// Python type names, as DRF prints them.
fn py_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

fn error_detail(string: &str, code: &str) -> String {
    format!("[ErrorDetail(string='{string}', code='{code}')]")
}

/// `{"inputs": {..}, "context": {..}}`, or the Python framework's 400 answers.
pub(crate) fn envelope(bytes: &[u8], en: bool) -> Result<(Value, Value), Response> {
    // An empty body is an empty form to DRF: every field is missing.
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        bytes
    };
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| reply::detail(StatusCode::BAD_REQUEST, &format!("JSON parse error - {e}")))?;
    let invalid = |errors: String| {
        reply::failure(
            StatusCode::BAD_REQUEST,
            &format!("输入不合法: {{{errors}}}"),
            None,
        )
    };
    let Value::Object(mut obj) = value else {
        let t = py_type(&value);
        let msg = if en {
            format!("Invalid data. Expected a dictionary, but got {t}.")
        } else {
            format!("无效数据。期待为字典类型，得到的是 {t} 。")
        };
        return Err(invalid(format!(
            "'non_field_errors': {}",
            error_detail(&msg, "invalid")
        )));
    };
    let mut errors = Vec::new();
    let mut take = |key: &str, obj: &mut Map<String, Value>| -> Option<Value> {
        let err = match obj.remove(key) {
            Some(v @ Value::Object(_)) => return Some(v),
            None => {
                let m = if en {
                    "This field is required."
                } else {
                    "该字段是必填项。"
                };
                error_detail(m, "required")
            }
            Some(Value::Null) => {
                let m = if en {
                    "This field may not be null."
                } else {
                    "该字段不能为 null。"
                };
                error_detail(m, "null")
            }
            Some(other) => {
                let t = py_type(&other);
                let m = if en {
                    format!("Expected a dictionary of items but got type \"{t}\".")
                } else {
                    format!("期望是包含类目的字典，得到类型为 “{t}”。")
                };
                error_detail(&m, "not_a_dict")
            }
        };
        errors.push(format!("'{key}': {err}"));
        None
    };
    let inputs = take("inputs", &mut obj);
    let context = take("context", &mut obj);
    match (inputs, context) {
        (Some(i), Some(c)) => Ok((i, c)),
        _ => Err(invalid(errors.join(", "))),
    }
}
