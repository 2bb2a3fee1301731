//! The operations, one function each: the route's parameters, its body and every answer it
//! sends (the statuses in the order the route checks them).

use serde_json::{Value, json};

use super::shapes::{
    always_bool, always_str, body_refused, described, empty, forbidden_gateway, forbidden_host,
    invalid_path, invalid_url_text, json_content, parameter_ref, response, schema_ref, store_down,
    strict, string, unsupported_media_type, version,
};

/// `{"result": true, "data": <data>, "message": ""}`, the success of meta, detail and the dev
/// routes.
fn ok_envelope(data: Value) -> Value {
    strict(
        &["result", "data", "message"],
        json!({"result": always_bool(true), "data": data, "message": always_str("")}),
    )
}

/// A required path parameter.
fn path_parameter(name: &str, schema: Value, description: &str) -> Value {
    let parameter = json!({"name": name, "in": "path", "required": true, "schema": schema});
    described(parameter, description)
}

/// A JSON request body of `schema`.
fn json_body(schema: Value, description: &str) -> Value {
    json!({"required": true, "description": description, "content": json_content(schema)})
}

fn meta_data(versions: &[&str]) -> Value {
    let versions_list = json!({"type": "array", "items": version(versions)});
    let versions_list = described(
        versions_list,
        "newest first; deprecated versions are not listed (unless every version is)",
    );
    let scope_rule = json!({
        "type": "object",
        "required": ["type", "value"],
        "properties": {"type": string(), "value": {"type": "array", "items": string()}},
    });
    strict(
        &[
            "code",
            "versions",
            "language",
            "description",
            "framework_version",
            "runtime_version",
            "allow_scope",
        ],
        json!({
            "code": string(),
            "versions": versions_list,
            "language": always_str("rust"),
            "description": string(),
            "framework_version": string(),
            "runtime_version": string(),
            "allow_scope": {"type": "object", "additionalProperties": scope_rule},
        }),
    )
}

/// `GET /bk_plugin/meta/`; `versions` are the offered ones.
pub(super) fn meta(versions: &[&str]) -> Value {
    json!({"get": {
        "operationId": "meta",
        "summary": "App code, versions (newest first), framework versions, allow_scope",
        "responses": {
            "200": response("meta", json_content(ok_envelope(meta_data(versions)))),
            "403": forbidden_host(),
        },
    }})
}

fn detail_data(versions: &[&str]) -> Value {
    let renderform = described(
        json!({"type": "string", "nullable": true}),
        "form.js or null",
    );
    let forms = strict(&["renderform"], json!({ "renderform": renderform }));
    strict(
        &[
            "desc",
            "version",
            "enable_plugin_callback",
            "inputs",
            "outputs",
            "context_inputs",
            "forms",
        ],
        json!({
            "desc": string(),
            "version": version(versions),
            "enable_plugin_callback": {"type": "boolean"},
            "inputs": schema_ref("PydanticSchema"),
            "outputs": schema_ref("PydanticSchema"),
            "context_inputs": schema_ref("PydanticSchema"),
            "forms": forms,
            "deprecated": described(
                string(),
                "only in a deprecated version: what to use instead",
            ),
        }),
    )
}

/// `GET /bk_plugin/detail/{version}`; `deprecated` are the deprecated versions with their
/// messages (one operation serves every version, so they are named in its description).
pub(super) fn detail(versions: &[&str], deprecated: &[(&str, &str)]) -> Value {
    let parameter = path_parameter(
        "version",
        version(versions),
        "a served version; any other answers 404 with an empty body",
    );
    let mut description = "data.deprecated is present only for a deprecated version: it is \
                           still served to the callers pinned to it, but meta no longer lists it."
        .to_owned();
    for (v, message) in deprecated {
        description.push_str(&format!(" Version {v} is deprecated: {message}."));
    }
    json!({"get": {
        "operationId": "detail",
        "summary": "Schemas and form of a version",
        "description": description,
        "parameters": [parameter],
        "responses": {
            "200": response("detail", json_content(ok_envelope(detail_data(versions)))),
            "400": response("the version is not UTF-8 once percent-decoded", invalid_path()),
            "403": forbidden_host(),
            "404": empty("unknown version (empty body)"),
        },
    }})
}

/// `POST /bk_plugin/invoke/{version}` of one served version; `prefix` names its components;
/// `deprecated` is the version's deprecation message (the operation is then `deprecated`).
pub(super) fn invoke(version: &str, desc: &str, prefix: &str, deprecated: Option<&str>) -> Value {
    let body = json!({
        "type": "object",
        "required": ["inputs", "context"],
        "properties": {
            "inputs": schema_ref(&format!("{prefix}Inputs")),
            "context": schema_ref(&format!("{prefix}ContextInputs")),
        },
    });
    let ran = format!(
        "the first step ran; data.outputs holds what the plugin wrote (after set_outputs the \
         fields of {prefix}Outputs). Invalid inputs or context, a PluginError and a panic are \
         state 5 with err and outputs null"
    );
    let mut ok = response(&ran, json_content(schema_ref("Invoked")));
    ok["links"] = json!({"schedule": {
        "operationId": "schedule",
        "parameters": {"trace_id": "$response.body#/trace_id"},
    }});
    let malformed = json!({"oneOf": [schema_ref("DrfError"), schema_ref("Failure")]});
    let mut operation = json!({
        "operationId": format!("invoke_{}", prefix.trim_end_matches('_')),
        "summary": format!("Invoke version {version}: {desc}"),
        "parameters": gateway_parameters(true),
        "requestBody": json_body(body, "inputs and context (other keys are ignored)"),
        "responses": {
            "200": ok,
            "400": response(
                "not JSON ({\"detail\": \"JSON parse error - ..\"}), or not an object with \
                 object inputs and context (\"输入不合法: ..\", no trace_id)",
                json_content(malformed),
            ),
            "403": forbidden_gateway(true),
            "408": body_refused("the body did not arrive within BK_PLUGIN_BODY_TIMEOUT", false),
            "413": body_refused("the body is larger than BK_PLUGIN_BODY_LIMIT", false),
            "415": unsupported_media_type(),
            "503": store_down(),
        },
    });
    if let Some(message) = deprecated {
        operation["deprecated"] = true.into();
        operation["description"] = format!(
            "Deprecated: {message}. Still served to the callers pinned to {version}; meta no \
             longer lists it for new ones."
        )
        .into();
    }
    json!({ "post": operation })
}

/// The headers a gateway-only route reads.
fn gateway_parameters(scoped: bool) -> Vec<Value> {
    let mut names = vec!["Jwt"];
    if scoped {
        names.extend(["ScopeType", "ScopeValue"]);
    }
    names.push("AcceptLanguage");
    names.into_iter().map(parameter_ref).collect()
}

/// `GET /bk_plugin/schedule/{trace_id}`.
pub(super) fn schedule() -> Value {
    let parameter = path_parameter(
        "trace_id",
        schema_ref("TraceId"),
        "the trace_id an invoke answered",
    );
    let answer = json!({"oneOf": [schema_ref("ScheduleFound"), schema_ref("TracedFailure")]});
    json!({"get": {
        "operationId": "schedule",
        "summary": "The stored state of an invocation",
        "parameters": [parameter],
        "responses": {
            "200": response(
                "the row, or result false: no row (an invocation that ended inside invoke has \
                 none; finished rows are deleted after 30 days) or the store failed",
                json_content(answer),
            ),
            "400": response("the trace_id is not UTF-8 once percent-decoded", invalid_path()),
            "403": forbidden_host(),
            "503": store_down(),
        },
    }})
}

/// `POST /bk_plugin/callback/{token}/`.
pub(super) fn callback() -> Value {
    let token = json!({"type": "string", "pattern": "^[A-Za-z0-9_-]+=*$"});
    let token = path_parameter(
        "token",
        token,
        "the Fernet token (URL-safe base64) in the URL prepare_callback() returned",
    );
    let mut parameters = vec![token];
    parameters.extend(gateway_parameters(false));
    let refused = json!({
        "application/json": {"schema": schema_ref("CallbackRefused")},
        "text/plain": invalid_url_text(),
    });
    json!({"post": {
        "operationId": "callback",
        "summary": "Resume an invocation waiting in CALLBACK",
        "parameters": parameters,
        "requestBody": json_body(json!({}), "any JSON: the plugin reads it as ctx.callback().data"),
        "responses": {
            "200": response(
                "queued, or already queued",
                json_content(schema_ref("CallbackAccepted")),
            ),
            "400": response(
                "the token is invalid or not for the current wait, the body is not JSON, the \
                 invocation is not waiting in CALLBACK; text when the token is not UTF-8",
                refused,
            ),
            "403": forbidden_gateway(false),
            "408": body_refused("the body did not arrive within BK_PLUGIN_BODY_TIMEOUT", false),
            "413": body_refused("the body is larger than BK_PLUGIN_BODY_LIMIT", false),
            "415": unsupported_media_type(),
            "503": store_down(),
        },
    }})
}

/// `POST /bk_plugin/cancel/{trace_id}/` (not in the Python framework).
pub(super) fn cancel() -> Value {
    let mut parameters = vec![path_parameter(
        "trace_id",
        schema_ref("TraceId"),
        "the trace_id an invoke answered",
    )];
    parameters.extend(gateway_parameters(true));
    let failed =
        |description: &str| response(description, json_content(schema_ref("TracedFailure")));
    let body = json!({
        "required": false,
        "description": "optional: why (an empty body gives no reason)",
        "content": json_content(schema_ref("CancelRequest")),
    });
    json!({"post": {
        "operationId": "cancel",
        "summary": "End a waiting invocation as FAIL (an addition to the Python protocol)",
        "description": "Runs the plugin's on_cancel, then stores the invocation as FAIL with \
            err naming who cancelled (the app and user of the gateway's JWT) and sends the \
            finish notification. Allowed for versions declared #[plugin(cancellable)], or for \
            all with BK_PLUGIN_ALLOW_CANCEL. Idempotent: a finished invocation is answered as \
            it ended.",
        "parameters": parameters,
        "requestBody": body,
        "responses": {
            "200": response(
                "the invocation is finished: by this cancel (FAIL) or before it",
                json_content(schema_ref("Cancelled")),
            ),
            "202": response(
                "a step is running; the invocation ends as FAIL once it is stored",
                json_content(schema_ref("Cancelled")),
            ),
            "400": response(
                "the body is not empty nor {\"reason\": <text>} (JSON); the trace_id is not \
                 UTF-8 once percent-decoded (text)",
                json!({
                    "application/json": {"schema": schema_ref("TracedFailure")},
                    "text/plain": invalid_url_text(),
                }),
            ),
            "403": forbidden_gateway(true),
            "404": failed("no stored invocation has this trace_id"),
            "408": body_refused("the body did not arrive within BK_PLUGIN_BODY_TIMEOUT", true),
            "413": body_refused("the body is larger than BK_PLUGIN_BODY_LIMIT", true),
            "415": unsupported_media_type(),
            "503": store_down(),
        },
    }})
}

/// `POST /bk_plugin/plugin_api_dispatch/`.
pub(super) fn dispatch() -> Value {
    let failed =
        |description: &str| response(description, json_content(schema_ref("TracedFailure")));
    json!({"post": {
        "operationId": "plugin_api_dispatch",
        "summary": "Proxy a call to a plugin_api route",
        "parameters": gateway_parameters(true),
        "requestBody": {
            "required": true,
            "description": "the route to call: JSON, or multipart/form-data when a SOPS form \
                            uploads files (the other parameters in dumped_data)",
            "content": {
                "application/json": {"schema": schema_ref("DispatchRequest")},
                "multipart/form-data": {"schema": schema_ref("DispatchUpload")},
            },
        },
        "responses": {
            "200": response(
                "the route answered JSON (its HTTP status is not passed on), or refused the \
                 request with a body that is not JSON",
                json_content(schema_ref("DispatchAnswer")),
            ),
            "400": failed("the body is not a valid dispatch request (\"输入不合法: ..\")"),
            "403": forbidden_gateway(true),
            "404": failed("no such plugin_api route (\"404 error: <url>\")"),
            "408": body_refused("the body did not arrive within BK_PLUGIN_BODY_TIMEOUT", true),
            "413": body_refused(
                "the body is larger than BK_PLUGIN_BODY_LIMIT (multipart: BK_PLUGIN_UPLOAD_LIMIT)",
                true,
            ),
            "500": failed("the route answered a 2xx or 5xx body that is not JSON"),
            "503": store_down(),
        },
    }})
}

/// `GET /metrics`.
pub(super) fn metrics() -> Value {
    let text = json!({"application/openmetrics-text": {"schema": {"type": "string"}}});
    json!({"get": {
        "operationId": "metrics",
        "summary": "Prometheus metrics (OpenMetrics text)",
        "responses": {
            "200": response("the bk_plugin_* metrics", text),
            "403": forbidden_host(),
            "500": empty("encoding the metrics failed (empty body)"),
        },
    }})
}

/// `GET /openapi.json` or `GET /schema/` (`id` tells them apart).
pub(super) fn openapi(id: &str) -> Value {
    let document =
        json!({"type": "object", "required": ["openapi", "info", "paths", "components"]});
    json!({"get": {
        "operationId": id,
        "summary": "This document",
        "responses": {
            "200": response("OpenAPI 3.0.3", json_content(document)),
            "403": forbidden_host(),
        },
    }})
}

/// `GET /bk_plugin/logs/{trace_id}` (dev).
pub(super) fn logs() -> Value {
    let parameter = path_parameter(
        "trace_id",
        schema_ref("TraceId"),
        "an invocation's trace_id",
    );
    let log = described(
        string(),
        "\"<LEVEL> [<function>] <message>\" lines joined by \\n; \"\" for an unknown trace",
    );
    let data = strict(&["log"], json!({ "log": log }));
    json!({"get": {
        "operationId": "logs",
        "summary": "Log lines of an invocation (dev only)",
        "parameters": [parameter],
        "responses": {
            "200": response("the lines kept in memory", json_content(ok_envelope(data))),
            "400": response("the trace_id is not UTF-8 once percent-decoded", invalid_path()),
            "403": forbidden_host(),
        },
    }})
}

/// `GET /bk_plugin/schedules/` (dev).
pub(super) fn schedules_list() -> Value {
    let query = |name: &str, schema: Value, description: &str| {
        described(
            json!({"name": name, "in": "query", "required": false, "schema": schema}),
            description,
        )
    };
    let states = "(poll|callback|success|fail|waiting|finished)";
    let state = json!({"type": "string", "pattern": format!("^{states}(,{states})*$")});
    let age = json!({"type": "string", "pattern": "^([0-9]{1,6}(s|m|h|d|w))+$"});
    let parameters = [
        query(
            "state",
            state,
            "comma-separated: poll, callback, success, fail, waiting, finished",
        ),
        query("version", string(), "only this plugin version"),
        query(
            "older_than",
            age,
            "only created longer ago: numbers (at most 6 digits) with units s, m, h, d, w \
             (1h30m, 7d)",
        ),
        query(
            "limit",
            json!({"type": "integer", "minimum": 1, "maximum": 500}),
            "at most this many (default 50)",
        ),
    ];
    let rows = json!({"type": "array", "items": schema_ref("ScheduleSummary")});
    let envelope = strict(
        &["result", "data", "message", "trace_id"],
        json!({
            "result": {"type": "boolean", "enum": [true]},
            "data": rows,
            "message": string(),
            "trace_id": schema_ref("TraceId"),
        }),
    );
    json!({"get": {
        "operationId": "schedules",
        "summary": "The invocations in the store, newest first (dev only)",
        "parameters": parameters,
        "responses": {
            "200": response("the rows", json_content(envelope)),
            "400": response(
                "a filter is not valid",
                json_content(schema_ref("TracedFailure")),
            ),
            "403": forbidden_host(),
            "503": store_down(),
        },
    }})
}

/// `GET /bk_plugin/diff/{old}/{new}` (dev).
pub(super) fn diff(versions: &[&str]) -> Value {
    let old = path_parameter("old", version(versions), "a served version");
    let new = path_parameter("new", version(versions), "a served version");
    let data = strict(&["report"], json!({ "report": string() }));
    json!({"get": {
        "operationId": "diff",
        "summary": "The diff subcommand's report between two versions (dev only)",
        "parameters": [old, new],
        "responses": {
            "200": response("the report", json_content(ok_envelope(data))),
            "400": response("a version is not UTF-8 once percent-decoded", invalid_path()),
            "403": forbidden_host(),
            "404": empty("an unknown version (empty body)"),
        },
    }})
}

/// `GET /bk_plugin/versions/` (dev).
pub(super) fn versions(versions: &[&str]) -> Value {
    let entry = strict(
        &["version", "deprecated"],
        json!({
            "version": version(versions),
            "deprecated": described(
                json!({"type": "string", "nullable": true}),
                "the deprecation message, or null for a released version",
            ),
        }),
    );
    let list = described(
        json!({"type": "array", "items": entry}),
        "every served version, newest first, deprecated ones included",
    );
    let data = strict(&["versions"], json!({ "versions": list }));
    json!({"get": {
        "operationId": "versions",
        "summary": "Every served version with its status, for the debug page (dev only)",
        "responses": {
            "200": response("the versions", json_content(ok_envelope(data))),
            "403": forbidden_host(),
        },
    }})
}

/// `GET /` (dev).
pub(super) fn debug_page() -> Value {
    let html = json!({"text/html": {"schema": {"type": "string"}}});
    json!({"get": {
        "operationId": "debug_page",
        "summary": "The debug page (dev only)",
        "responses": {
            "200": response("one self-contained HTML page", html),
            "403": forbidden_host(),
        },
    }})
}
