//! The schemas, parameters and responses shared by the operations: the envelopes of
//! `reply.rs` and the routes, each exactly as sent (every key, `null` where `null` is sent,
//! the literal `result` and `message` values), so that a response the document does not allow
//! is a bug in one or the other.

use serde_json::{Map, Value, json};

/// `{"$ref": "#/components/schemas/<name>"}`.
pub(super) fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// `{"$ref": "#/components/parameters/<name>"}`.
pub(super) fn parameter_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/parameters/{name}")})
}

/// An object with exactly the keys of `properties`, `required` among them.
pub(super) fn strict(required: &[&str], properties: Value) -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": required,
        "properties": properties,
    })
}

/// `schema` with a `description`.
pub(super) fn described(mut schema: Value, description: &str) -> Value {
    schema["description"] = description.into();
    schema
}

/// Any string.
pub(super) fn string() -> Value {
    json!({"type": "string"})
}

/// An integer state code among `codes`.
fn state(codes: &[u8], description: &str) -> Value {
    described(json!({"type": "integer", "enum": codes}), description)
}

/// A boolean that is always `value`.
pub(super) fn always_bool(value: bool) -> Value {
    json!({"type": "boolean", "enum": [value]})
}

/// A string that is always `value`.
pub(super) fn always_str(value: &str) -> Value {
    json!({"type": "string", "enum": [value]})
}

/// A value that is always `null`.
pub(super) fn always_null() -> Value {
    json!({"nullable": true, "enum": [null]})
}

/// One of the served versions.
pub(super) fn version(versions: &[&str]) -> Value {
    json!({"type": "string", "enum": versions})
}

/// A JSON body of `schema`.
pub(super) fn json_content(schema: Value) -> Value {
    json!({"application/json": {"schema": schema}})
}

/// A response described by `description` with `content` (a map of media types).
pub(super) fn response(description: &str, content: Value) -> Value {
    json!({"description": description, "content": content})
}

/// A response with no body.
pub(super) fn empty(description: &str) -> Value {
    json!({"description": description})
}

/// axum's answer when a path parameter is not valid UTF-8 once percent-decoded:
/// `Invalid URL: Invalid UTF-8 in `<name>`` as `text/plain`.
pub(super) fn invalid_path() -> Value {
    json!({ "text/plain": invalid_url_text() })
}

/// The `text/plain` media type of [`invalid_path`].
pub(super) fn invalid_url_text() -> Value {
    json!({"schema": {"type": "string", "pattern": "^Invalid URL: "}})
}

/// The schemas every document has, by name.
pub(super) fn schemas() -> Map<String, Value> {
    let mut m = Map::new();
    let mut put = |name: &str, schema: Value| {
        m.insert(name.to_owned(), schema);
    };
    put("TraceId", trace_id());
    put("ShanghaiTime", shanghai_time());
    put("DrfError", drf_error());
    put("Failure", failure(false));
    put("TracedFailure", failure(true));
    put("StoreUnavailable", store_unavailable());
    put("PydanticSchema", pydantic_schema());
    put("InvokeRan", invoke_ran());
    put("InvokeFailed", invoke_failed());
    put("Invoked", invoked());
    put("ScheduleRecord", schedule_record());
    put("ScheduleFound", schedule_found());
    put("Cancelled", cancelled());
    put("ScheduleSummary", schedule_summary());
    put("CancelRequest", cancel_request());
    put("CallbackAccepted", callback_answer(true));
    put("CallbackRefused", callback_answer(false));
    put("DispatchRequest", dispatch_request());
    put("DispatchUpload", dispatch_upload());
    put("DispatchAnswer", dispatch_answer());
    m
}

fn trace_id() -> Value {
    described(
        json!({"type": "string", "pattern": "^[0-9a-f]{32}$"}),
        "32 lowercase hex digits, fresh for each invoke, schedule and dispatch request; the id \
         of an invocation is the trace_id its invoke answered",
    )
}

/// `%Y-%m-%d %H:%M:%S`, as a regular expression.
const TIME: &str = "[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}";

fn shanghai_time() -> Value {
    described(
        json!({"type": "string", "pattern": format!("^{TIME}$")}),
        "%Y-%m-%d %H:%M:%S in Asia/Shanghai (UTC+8)",
    )
}

/// DRF's error shape: a malformed JSON body (400), an unsupported media type (415), a scope
/// refusal or a dev server asked for another host (403), a wrong method (405).
fn drf_error() -> Value {
    described(
        strict(&["detail"], json!({"detail": string()})),
        "DRF's error shape; the text is Chinese unless Accept-Language starts with en",
    )
}

/// `reply::failure`: `{"result": false, "data": null, "message": ..}`, with or without a
/// `trace_id`.
fn failure(traced: bool) -> Value {
    let mut required = vec!["result", "data", "message"];
    let mut properties = json!({
        "result": always_bool(false),
        "data": always_null(),
        "message": string(),
    });
    if traced {
        required.push("trace_id");
        properties["trace_id"] = schema_ref("TraceId");
    }
    strict(&required, properties)
}

/// 503 while the schedule store is unreachable: `{"result": false, "data": null, "message":
/// .., "trace_id": ..}` (`trace_id` where the request has one; `data` absent in callback's
/// older `{"result", "message"}` answer, which this shape also allows).
fn store_unavailable() -> Value {
    let schema = strict(
        &["result", "message"],
        json!({
            "result": always_bool(false),
            "data": always_null(),
            "message": string(),
            "trace_id": schema_ref("TraceId"),
        }),
    );
    described(
        schema,
        "the schedule store is unreachable; the error is logged",
    )
}

/// A pydantic v1 model schema as `detail` serves it.
fn pydantic_schema() -> Value {
    let schema = strict(
        &["type", "properties", "required", "definitions"],
        json!({
            "type": always_str("object"),
            "properties": {"type": "object"},
            "required": {"type": "array", "items": string()},
            "definitions": {"type": "object"},
        }),
    );
    described(schema, "a pydantic v1 model schema")
}

/// `data` of an invoke whose first step ended in POLL, CALLBACK or SUCCESS.
fn invoke_ran() -> Value {
    strict(
        &["outputs", "state", "err"],
        json!({
            "outputs": described(
                json!({"type": "object"}),
                "what the plugin wrote so far: after set_outputs the fields of the version's \
                 Outputs (not validated against it), plus any key written with outputs_mut",
            ),
            "state": state(&[2, 3, 4], "2 POLL, 3 CALLBACK, 4 SUCCESS"),
            "err": always_null(),
        }),
    )
}

/// `data` of an invoke that FAILed: invalid inputs or context, a `PluginError`, a panic.
fn invoke_failed() -> Value {
    strict(
        &["outputs", "state", "err"],
        json!({
            "outputs": always_null(),
            "state": state(&[5], "5 FAIL"),
            "err": string(),
        }),
    )
}

fn invoked() -> Value {
    strict(
        &["result", "data", "message", "trace_id"],
        json!({
            "result": always_bool(true),
            "data": {"oneOf": [schema_ref("InvokeRan"), schema_ref("InvokeFailed")]},
            "message": always_str("success"),
            "trace_id": schema_ref("TraceId"),
        }),
    )
}

fn schedule_record() -> Value {
    strict(
        &[
            "trace_id",
            "plugin_version",
            "state",
            "outputs",
            "err",
            "created_at",
            "finish_at",
        ],
        json!({
            "trace_id": schema_ref("TraceId"),
            "plugin_version": string(),
            "state": state(&[2, 3, 4, 5], "2 POLL, 3 CALLBACK, 4 SUCCESS, 5 FAIL"),
            "outputs": {"type": "object"},
            "err": described(string(), "\"\" unless the state is 5"),
            "created_at": schema_ref("ShanghaiTime"),
            "finish_at": described(
                json!({"type": "string", "pattern": format!("^({TIME})?$")}),
                "\"\" until the invocation finishes, then as created_at",
            ),
        }),
    )
}

fn schedule_found() -> Value {
    strict(
        &["result", "data", "trace_id", "message"],
        json!({
            "result": always_bool(true),
            "data": schema_ref("ScheduleRecord"),
            "trace_id": schema_ref("TraceId"),
            "message": always_str(""),
        }),
    )
}

/// `cancel`'s answer: the row as `schedule` shows it.
fn cancelled() -> Value {
    strict(
        &["result", "data", "trace_id", "message"],
        json!({
            "result": always_bool(true),
            "data": schema_ref("ScheduleRecord"),
            "trace_id": schema_ref("TraceId"),
            "message": described(
                string(),
                "success, or (202) that the cancel waits for a running step",
            ),
        }),
    )
}

/// A row of the dev `schedules` list (and of `schedules list --json`).
fn schedule_summary() -> Value {
    let nullable = |mut schema: Value| {
        schema["nullable"] = true.into();
        schema
    };
    let by = strict(
        &["by", "reason"],
        json!({"by": string(), "reason": nullable(string())}),
    );
    strict(
        &[
            "trace_id",
            "plugin_version",
            "state",
            "state_name",
            "invoke_count",
            "created_at",
            "finish_at",
            "next_run_at",
            "err",
            "cancel",
        ],
        json!({
            "trace_id": schema_ref("TraceId"),
            "plugin_version": string(),
            "state": {"type": "integer", "enum": [2, 3, 4, 5]},
            "state_name": {"type": "string", "enum": ["POLL", "CALLBACK", "SUCCESS", "FAIL"]},
            "invoke_count": {"type": "integer", "minimum": 1},
            "created_at": string(),
            "finish_at": nullable(string()),
            "next_run_at": nullable(string()),
            "err": string(),
            "cancel": nullable(by),
        }),
    )
}

/// `cancel`'s optional body.
fn cancel_request() -> Value {
    let reason = json!({"type": "string", "nullable": true});
    json!({
        "type": "object",
        "properties": {"reason": described(reason, "why; appended to err after who cancelled")},
    })
}

/// The callback endpoint's own shape, `{"result", "message"}`.
fn callback_answer(accepted: bool) -> Value {
    let message = if accepted {
        always_str("callback success")
    } else {
        string()
    };
    strict(
        &["result", "message"],
        json!({"result": always_bool(accepted), "message": message}),
    )
}

fn dispatch_request() -> Value {
    let url = json!({"type": "string", "pattern": "^/bk_plugin/plugin_api/"});
    let method = json!({"type": "string", "pattern": "^([Gg][Ee][Tt]|[Pp][Oo][Ss][Tt])$"});
    let data = json!({"type": "object", "nullable": true});
    let properties = json!({
        "url": described(url, "the plugin_api route, query string allowed"),
        "method": described(method, "GET or POST, any case"),
        "username": described(string(), "the user the route sees"),
        "data": described(data, "the query (GET) or the JSON body (POST); null is {}"),
        "dumped_data": described(string(), "a JSON object as a string, merged into data"),
    });
    json!({"type": "object", "required": ["url", "method", "username"], "properties": properties})
}

/// The multipart form of a dispatch request: SOPS's form uploads.
fn dispatch_upload() -> Value {
    let file = json!({"type": "string", "format": "binary"});
    let properties = json!({
        "url": described(string(), "the plugin_api route, query string allowed"),
        "method": described(string(), "GET or POST, any case"),
        "username": described(string(), "the user the route sees"),
        "dumped_data": described(string(), "the other parameters, a JSON object as a string"),
    });
    json!({
        "type": "object",
        "required": ["url", "method", "username"],
        "properties": properties,
        "additionalProperties": described(file, "the uploaded files, by form field"),
    })
}

fn dispatch_answer() -> Value {
    strict(
        &["result", "data", "message", "trace_id"],
        json!({
            "result": always_bool(true),
            "data": described(
                json!({"nullable": true}),
                "the route's JSON, whatever its HTTP status; {\"detail\": <text>} when the \
                 route refused the request with a body that is not JSON",
            ),
            "message": always_str("success"),
            "trace_id": schema_ref("TraceId"),
        }),
    )
}

/// The request headers shared by operations, by name.
pub(super) fn parameters() -> Map<String, Value> {
    let header = |name: &str, description: &str| {
        let header = json!({"name": name, "in": "header", "required": false, "schema": string()});
        described(header, description)
    };
    let mut m = Map::new();
    m.insert(
        "Jwt".into(),
        header(
            "X-Bkapi-JWT",
            "the API gateway's JWT; required unless the environment is exempt (dev on a loopback \
             listener, stag with BK_APIGW_REQUIRE_EXEMPT)",
        ),
    );
    m.insert(
        "ScopeType".into(),
        header("Bkplugin-Scope-Type", "checked against allow_scope"),
    );
    m.insert(
        "ScopeValue".into(),
        header("Bkplugin-Scope-Value", "checked against allow_scope"),
    );
    m.insert(
        "AcceptLanguage".into(),
        header(
            "Accept-Language",
            "DRF's messages are English when it starts with en, Chinese otherwise",
        ),
    );
    m
}

/// 403 of any route of a dev server asked for a `Host` that is not a loopback name.
pub(super) fn forbidden_host() -> Value {
    response(
        "dev only: the request's Host is not localhost, 127.0.0.1 or [::1]",
        json_content(schema_ref("DrfError")),
    )
}

/// 403 of a gateway-only route: the plain-text refusal without a valid JWT, or JSON (an
/// `allow_scope` refusal, a dev server asked for another host).
pub(super) fn forbidden_gateway(scoped: bool) -> Value {
    let text = "This API can only be accessed through API gateway";
    let description = if scoped {
        "no valid gateway JWT (text); allow_scope refused the calling app, or a dev server was \
         asked for a Host that is not a loopback name (JSON)"
    } else {
        "no valid gateway JWT (text); a dev server was asked for a Host that is not a loopback \
         name (JSON)"
    };
    response(
        description,
        json!({
            "text/html": {"schema": always_str(text)},
            "application/json": {"schema": schema_ref("DrfError")},
        }),
    )
}

/// 413 / 408 of a body over `BK_PLUGIN_BODY_LIMIT` or not received within
/// `BK_PLUGIN_BODY_TIMEOUT`.
pub(super) fn body_refused(description: &str, traced: bool) -> Value {
    let name = if traced { "TracedFailure" } else { "Failure" };
    response(description, json_content(schema_ref(name)))
}

/// 415 of a non-empty body not declared JSON.
pub(super) fn unsupported_media_type() -> Value {
    response(
        "a non-empty body not declared application/json (or application/*+json)",
        json_content(schema_ref("DrfError")),
    )
}

/// 503 while the schedule store is unreachable.
pub(super) fn store_down() -> Value {
    response(
        "the schedule store is unreachable",
        json_content(schema_ref("StoreUnavailable")),
    )
}
