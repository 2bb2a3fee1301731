//! `definition.yaml`: the gateway, its stage, the grants and the release, in apigw-manager's
//! `spec_version: 2` form — what the Python framework's `generate_definition_yaml --render`
//! writes from the runtime's settings.

use serde_json::{Value, json};

use super::settings::GatewaySettings;

/// The stage plugin the Python runtime configures (default.py): `bk-cors` allowing every
/// origin, method and header, with credentials. Its `yaml` is what apigw-manager's
/// `build_bk_cors` dumps.
const BK_CORS: &str = "allow_origins: '**'\nallow_origins_by_regex: null\nallow_methods: '**'\nallow_headers: '**'\nexpose_headers: '--'\nmax_age: 86400\nallow_credential: true\n";

/// The `apigateway` namespace: the body of the gateway call (step 1).
pub(crate) fn apigateway(s: &GatewaySettings) -> Value {
    json!({
        "description": "",
        "description_en": "",
        "is_public": s.is_public,
        "api_type": s.api_type,
        "maintainers": s.maintainers,
    })
}

/// The stage: the body of the stage call (step 2).
pub(crate) fn stage(s: &GatewaySettings) -> Value {
    let (description, description_en) = match s.stage.as_str() {
        "stag" => ("预发布环境", "Staging Env"),
        "prod" => ("生产环境", "Production Env"),
        _ => ("", ""),
    };
    let vars = match &s.sub_path {
        Some(p) => json!({"api_sub_path": p}),
        None => json!({}),
    };
    json!({
        "name": s.stage,
        "description": description,
        "description_en": description_en,
        "vars": vars,
        "backends": [{
            "name": "default",
            "config": {
                "timeout": s.timeout,
                "loadbalance": "roundrobin",
                "hosts": [{"host": s.backend_host, "weight": 100}],
            },
        }],
        "plugin_configs": [{"type": "bk-cors", "yaml": BK_CORS}],
    })
}

/// The grants (step 5): the whole gateway to each granted app.
pub(crate) fn grant_permissions(s: &GatewaySettings) -> Vec<Value> {
    s.granted_apps
        .iter()
        .map(|code| json!({"bk_app_code": code, "grant_dimension": "gateway"}))
        .collect()
}

/// The whole `definition.yaml` document.
pub(crate) fn definition(s: &GatewaySettings) -> Value {
    json!({
        "spec_version": 2,
        "release": {
            "version": s.release_version,
            "title": s.release_title,
            "comment": s.release_comment,
        },
        "apigateway": apigateway(s),
        "stages": [stage(s)],
        "grant_permissions": grant_permissions(s),
        "related_apps": [s.app_code],
    })
}
