//! The OpenAPI 3.0 document of the endpoints, with each version's inputs, context and outputs
//! schemas (`GET /openapi.json`, also at `/schema/` as the Python framework's drf-spectacular).

use bk_plugin_core::Registry;
use serde_json::{Map, Value, json};

/// Moves a pydantic schema's `definitions` into `components` under `prefix`, rewriting refs.
fn component(schema: &Value, prefix: &str, components: &mut Map<String, Value>) -> Value {
    fn rewrite(v: &mut Value, prefix: &str) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get_mut("$ref")
                    && let Some(name) = r.strip_prefix("#/definitions/")
                {
                    *r = format!("#/components/schemas/{prefix}{name}");
                }
                m.values_mut().for_each(|x| rewrite(x, prefix));
            }
            Value::Array(a) => a.iter_mut().for_each(|x| rewrite(x, prefix)),
            _ => {}
        }
    }
    let mut s = schema.clone();
    if let Some(Value::Object(defs)) = s.as_object_mut().and_then(|m| m.remove("definitions")) {
        for (name, mut def) in defs {
            rewrite(&mut def, prefix);
            components.insert(format!("{prefix}{name}"), def);
        }
    }
    rewrite(&mut s, prefix);
    s
}

fn envelope(data: Value, with_trace: bool) -> Value {
    let mut props = json!({
        "result": {"type": "boolean"},
        "data": data,
        "message": {"type": "string"},
    });
    if with_trace {
        props["trace_id"] = json!({"type": "string", "description": "32 hex"});
    }
    json!({"type": "object", "properties": props})
}

/// The document for `registry`.
pub(crate) fn document(registry: &Registry, title: &str) -> Value {
    let mut paths = Map::new();
    let mut components = Map::new();
    let ok = |desc: &str, schema: Value| json!({"description": desc, "content": {"application/json": {"schema": schema}}});
    paths.insert(
        "/bk_plugin/meta/".into(),
        json!({"get": {"summary": "App code, versions (newest first), framework versions", "responses": {"200": ok("meta", envelope(json!({"type": "object"}), false))}}}),
    );
    for plugin in registry.plugins() {
        let v = plugin.version();
        let prefix = format!("v{}_", v.replace(['.', '-', '+'], "_"));
        let d = plugin.detail();
        let inputs = component(&d["inputs"], &prefix, &mut components);
        let context = component(&d["context_inputs"], &prefix, &mut components);
        let outputs = component(&d["outputs"], &prefix, &mut components);
        components.insert(format!("{prefix}Inputs"), inputs);
        components.insert(format!("{prefix}ContextInputs"), context);
        components.insert(format!("{prefix}Outputs"), outputs);
        let r = |n: &str| json!({"$ref": format!("#/components/schemas/{prefix}{n}")});
        paths.insert(
            format!("/bk_plugin/detail/{v}"),
            json!({"get": {"summary": format!("Schemas and form of version {v}: {}", d["desc"].as_str().unwrap_or_default()), "responses": {"200": ok("detail", envelope(json!({"type": "object"}), false)), "404": {"description": "unknown version (empty body)"}}}}),
        );
        paths.insert(
            format!("/bk_plugin/invoke/{v}"),
            json!({"post": {
                "summary": format!("Invoke version {v}"),
                "requestBody": {"required": true, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["inputs", "context"],
                    "properties": {"inputs": r("Inputs"), "context": r("ContextInputs")}}}}},
                "responses": {
                    "200": ok("state 2-5; invalid inputs are state 5 with err", envelope(json!({"type": "object", "properties": {
                        "outputs": r("Outputs"), "state": {"type": "integer", "enum": [2, 3, 4, 5]}, "err": {"type": "string", "nullable": true}}}), true)),
                    "400": {"description": "malformed envelope"},
                    "403": {"description": "not through the API gateway"},
                    "404": {"description": "unknown version (empty body)"},
                    "413": {"description": "body too large"}}}}),
        );
    }
    paths.insert(
        "/bk_plugin/schedule/{trace_id}".into(),
        json!({"get": {"summary": "State of an invocation", "parameters": [{"name": "trace_id", "in": "path", "required": true, "schema": {"type": "string"}}],
            "responses": {"200": ok("result false when unknown", envelope(json!({"type": "object", "properties": {
                "trace_id": {"type": "string"}, "plugin_version": {"type": "string"}, "state": {"type": "integer"},
                "outputs": {"type": "object"}, "err": {"type": "string"},
                "created_at": {"type": "string"}, "finish_at": {"type": "string"}}}), true))}}}),
    );
    paths.insert(
        "/bk_plugin/callback/{token}/".into(),
        json!({"post": {"summary": "Resume an invocation waiting in CALLBACK", "parameters": [{"name": "token", "in": "path", "required": true, "schema": {"type": "string"}}],
            "requestBody": {"content": {"application/json": {"schema": {}}}},
            "responses": {"200": {"description": "callback success"}, "400": {"description": "invalid token, body, or not waiting"}}}}),
    );
    paths.insert(
        "/bk_plugin/plugin_api_dispatch/".into(),
        json!({"post": {"summary": "Proxy a call to a plugin_api route", "requestBody": {"content": {"application/json": {"schema": {
            "type": "object", "required": ["url", "method", "username"],
            "properties": {"url": {"type": "string"}, "method": {"type": "string", "enum": ["GET", "POST"]}, "username": {"type": "string"}, "data": {"type": "object"}}}}}},
            "responses": {"200": {"description": "the route's JSON in data"}, "400": {"description": "bad parameters"}, "404": {"description": "no such route"}}}}),
    );
    json!({
        "openapi": "3.0.3",
        "info": {"title": title, "version": registry.versions().next().unwrap_or("0.0.0")},
        "paths": paths,
        "components": {"schemas": components},
    })
}
