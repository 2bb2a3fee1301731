//! The OpenAPI 3.0 document of the endpoints (`GET /openapi.json`, also at `/schema/` as the
//! Python framework's drf-spectacular): every route, every status and body each one sends, and
//! each version's inputs, context and outputs schemas as components. `tests/openapi/run.sh`
//! runs schemathesis from it against a running server.

mod paths;
mod shapes;

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

/// The version's inputs, context and outputs schemas as `{prefix}Inputs`,
/// `{prefix}ContextInputs` and `{prefix}Outputs`, their nested models beside them.
fn version_components(detail: &Value, prefix: &str, schemas: &mut Map<String, Value>) {
    for (key, name) in [
        ("inputs", "Inputs"),
        ("context_inputs", "ContextInputs"),
        ("outputs", "Outputs"),
    ] {
        let schema = component(&detail[key], prefix, schemas);
        schemas.insert(format!("{prefix}{name}"), schema);
    }
}

/// The component prefix of `version`: `v1_0_0_` for `1.0.0`.
fn prefix(version: &str) -> String {
    format!("v{}_", version.replace(['.', '-', '+'], "_"))
}

/// What the paths do not say: the trailing slash, the sub-path, wrong methods, unknown
/// versions, the author's routes.
const DESCRIPTION: &str = "The Python bk-plugin-framework's HTTP protocol as this plugin \
serves it: every status and body each route sends. Routes under /bk_plugin/ answer with and \
without a trailing slash, and also under {BK_PLUGIN_SUB_PATH}/bk_plugin/ when a sub-path is \
configured. A method a route does not serve is 405 {\"detail\": \"..\"} with an Allow header. \
invoke/{version} and detail/{version} of a version not served answer 404 with an empty body. \
A dev server asked for a Host that is not a loopback name answers 403 {\"detail\": \"..\"}. \
The author's routes under /bk_plugin/plugin_api/, /bk_plugin/openapi/ and /bk_plugin/private/ \
answer what their handlers return (behind the same gateway 403, and a 403 {\"detail\": \"..\"} for \
a JWT without the user or app verification the area needs) and are not listed.";

/// The paths of the framework's endpoints and the per-version invoke paths; the version
/// components go into `schemas`.
fn framework_paths(registry: &Registry, schemas: &mut Map<String, Value>) -> Map<String, Value> {
    let versions: Vec<&str> = registry.versions().collect();
    let deprecated: Vec<(&str, &str)> = registry
        .plugins()
        .filter_map(|p| Some((p.version(), p.deprecated()?)))
        .collect();
    let mut paths = Map::new();
    paths.insert(
        "/bk_plugin/meta/".into(),
        paths::meta(&registry.offered_versions()),
    );
    paths.insert(
        "/bk_plugin/detail/{version}".into(),
        paths::detail(&versions, &deprecated),
    );
    for plugin in registry.plugins() {
        let (v, detail) = (plugin.version(), plugin.detail());
        let prefix = prefix(v);
        version_components(detail, &prefix, schemas);
        let desc = detail["desc"].as_str().unwrap_or_default();
        paths.insert(
            format!("/bk_plugin/invoke/{v}"),
            paths::invoke(v, desc, &prefix, plugin.deprecated()),
        );
    }
    paths.insert("/bk_plugin/schedule/{trace_id}".into(), paths::schedule());
    paths.insert("/bk_plugin/callback/{token}/".into(), paths::callback());
    paths.insert("/bk_plugin/cancel/{trace_id}/".into(), paths::cancel());
    paths.insert("/bk_plugin/plugin_api_dispatch/".into(), paths::dispatch());
    paths
}

/// The dev-only paths: logs, diff, versions and the debug page.
fn dev_paths(registry: &Registry, paths: &mut Map<String, Value>) {
    let versions: Vec<&str> = registry.versions().collect();
    paths.insert("/bk_plugin/logs/{trace_id}".into(), paths::logs());
    paths.insert("/bk_plugin/schedules/".into(), paths::schedules_list());
    paths.insert("/bk_plugin/diff/{old}/{new}".into(), paths::diff(&versions));
    paths.insert("/bk_plugin/versions/".into(), paths::versions(&versions));
    paths.insert("/".into(), paths::debug_page());
}

/// The document for `registry`; `dev` adds the routes only a dev server has.
pub(crate) fn document(registry: &Registry, title: &str, dev: bool) -> Value {
    let mut schemas = shapes::schemas();
    let mut paths = framework_paths(registry, &mut schemas);
    paths.insert("/metrics".into(), paths::metrics());
    paths.insert("/openapi.json".into(), paths::openapi("openapi"));
    paths.insert("/schema/".into(), paths::openapi("schema"));
    if dev {
        dev_paths(registry, &mut paths);
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": title,
            "version": registry.versions().next().unwrap_or("0.0.0"),
            "description": DESCRIPTION,
        },
        "paths": paths,
        "components": {"schemas": schemas, "parameters": shapes::parameters()},
    })
}
