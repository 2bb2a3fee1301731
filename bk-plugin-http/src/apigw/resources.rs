//! `resources.yaml`: the gateway resources of the plugin, in the OpenAPI 3.0 form the gateway
//! imports (`x-bk-apigateway-resource` per operation), as the Python framework's
//! `support-files/resources.yaml` defines them — for the route areas this binary serves.
//!
//! All seven of the Python framework's resources: `callback`, `invoke`, `schedule`,
//! `plugin_api_dispatch`, and the author's areas `plugin_api`, `plugin_openapi` and
//! `plugin_private` (registered, as in Python, whether or not the plugin mounts routes there:
//! an area without routes answers 404). The areas' `authConfig` is the verification their gate
//! enforces (`routes/areas.rs`).

use serde_json::{Value, json};

use crate::routes::areas::Area;

/// One gateway resource.
struct Resource {
    operation_id: &'static str,
    /// `post`, `get`, or `any` (`x-bk-apigateway-method-any`).
    method: &'static str,
    front_path: &'static str,
    /// The backend path after `/bk_plugin`.
    backend_path: &'static str,
    match_subpath: bool,
    summary: &'static str,
    description: &'static str,
    description_en: &'static str,
    /// `(userVerifiedRequired, appVerifiedRequired, resourcePermissionRequired)`; `None`:
    /// the key is absent, as in the Python definition.
    auth: (bool, bool, Option<bool>),
    /// The request body's component, if any.
    body: Option<&'static str>,
    /// The path parameter, if any.
    param: Option<(&'static str, &'static str)>,
}

const RESOURCES: &[Resource] = &[
    Resource {
        operation_id: "callback",
        method: "post",
        front_path: "/callback/{token}/",
        backend_path: "/callback/{token}/",
        match_subpath: false,
        summary: "插件回调",
        description: "插件异步执行完成后的回调接口",
        description_en: "plugin callback",
        auth: (false, true, Some(true)),
        body: Some("PluginCallbackParams"),
        param: Some(("token", "回调令牌")),
    },
    Resource {
        operation_id: "invoke",
        method: "post",
        front_path: "/invoke/{version}/",
        backend_path: "/invoke/{version}",
        match_subpath: false,
        summary: "调用指定版本插件",
        description: "调用指定版本的插件执行任务",
        description_en: "Invoke specific version plugin",
        auth: (false, true, Some(true)),
        body: Some("InvokeParams"),
        param: Some(("version", "插件版本号")),
    },
    Resource {
        operation_id: "schedule",
        method: "get",
        front_path: "/bk_plugin/schedule/{id}",
        backend_path: "/schedule/{id}",
        match_subpath: false,
        summary: "获取插件调度详情",
        description: "根据 trace_id 获取插件调度详情",
        description_en: "Get plugin schedule detail with trace_id",
        auth: (false, true, Some(false)),
        body: None,
        param: Some(("id", "插件调用 trace id")),
    },
    Resource {
        operation_id: "plugin_api",
        method: "any",
        front_path: "/bk_plugin/plugin_api/",
        backend_path: "/plugin_api/",
        match_subpath: true,
        summary: "插件自定义API",
        description: "插件自定义 API 入口，支持子路径匹配",
        description_en: "Plugin custom API entry",
        auth: area_auth(Area::PluginApi, None),
        body: None,
        param: None,
    },
    Resource {
        operation_id: "plugin_openapi",
        method: "any",
        front_path: "/bk_plugin/openapi/",
        backend_path: "/openapi/",
        match_subpath: true,
        summary: "插件开放API",
        description: "插件开放 API 入口，支持子路径匹配",
        description_en: "Plugin open API entry",
        auth: area_auth(Area::OpenApi, None),
        body: None,
        param: None,
    },
    Resource {
        operation_id: "plugin_private",
        method: "any",
        front_path: "/bk_plugin/private/",
        backend_path: "/private/",
        match_subpath: true,
        summary: "插件私有API",
        description: "插件私有 API 入口，支持子路径匹配",
        description_en: "Plugin private API entry",
        auth: area_auth(Area::Private, Some(false)),
        body: None,
        param: None,
    },
    Resource {
        operation_id: "plugin_api_dispatch",
        method: "post",
        front_path: "/plugin_api_dispatch",
        backend_path: "/plugin_api_dispatch/",
        match_subpath: false,
        summary: "插件API分发",
        description: "分发请求到插件的自定义 API",
        description_en: "Plugin API dispatch",
        auth: (false, true, Some(true)),
        body: Some("PluginAPIDispatchParams"),
        param: None,
    },
];

/// An area's `authConfig`: its gate's verification, and `resourcePermissionRequired` as the
/// Python definition gives it.
const fn area_auth(area: Area, permission: Option<bool>) -> (bool, bool, Option<bool>) {
    let need = area.requires();
    (need.user, need.app, permission)
}

fn operation(r: &Resource, sub_path: bool) -> Value {
    let prefix = if sub_path {
        "/{env.api_sub_path}/bk_plugin"
    } else {
        "/bk_plugin"
    };
    let mut auth = json!({
        "userVerifiedRequired": r.auth.0,
        "appVerifiedRequired": r.auth.1,
    });
    if let Some(p) = r.auth.2 {
        auth["resourcePermissionRequired"] = p.into();
    }
    let mut op = json!({
        "operationId": r.operation_id,
        "summary": r.summary,
        "description": r.description,
        "tags": [r.operation_id],
    });
    if let Some((name, description)) = r.param {
        op["parameters"] = json!([{
            "in": "path", "name": name, "schema": {"type": "string"},
            "required": true, "description": description,
        }]);
    }
    if let Some(body) = r.body {
        let schema = json!({"schema": {"$ref": format!("#/components/schemas/{body}")}});
        op["requestBody"] = json!({
            "content": {
                "application/json": schema,
                "application/x-www-form-urlencoded": schema,
                "multipart/form-data": schema,
            },
            "required": true,
        });
    }
    op["responses"] = json!({"default": {"description": r.description_en}});
    op["x-bk-apigateway-resource"] = json!({
        "isPublic": true,
        "matchSubpath": r.match_subpath,
        "backend": {
            "type": "HTTP",
            "name": "default",
            "method": r.method,
            "path": format!("{prefix}{}", r.backend_path),
            "matchSubpath": r.match_subpath,
            "timeout": 0,
            "upstreams": {},
            "transformHeaders": {},
        },
        "allowApplyPermission": true,
        "authConfig": auth,
        "disabledStages": [],
        "descriptionEn": r.description_en,
    });
    if r.method != "any" {
        // The Python definition gives the other resources an empty list, the ANY ones none.
        op["x-bk-apigateway-resource"]["pluginConfigs"] = json!([]);
    }
    op
}

fn components() -> Value {
    let any_object = |description: &str| json!({"type": "object", "additionalProperties": {}, "description": description});
    let string = |description: &str| json!({"type": "string", "description": description});
    json!({"schemas": {
        "InvokeParams": {
            "type": "object",
            "description": "插件调用请求参数",
            "properties": {"inputs": any_object("插件调用参数"), "context": any_object("插件执行上下文")},
            "required": ["context", "inputs"],
        },
        "PluginCallbackParams": {
            "type": "object",
            "description": "插件回调请求参数",
            "properties": {"token": string("插件回调token")},
            "required": ["token"],
        },
        "PluginAPIDispatchParams": {
            "type": "object",
            "description": "插件API分发请求参数",
            "properties": {
                "url": string("数据接口 URL"),
                "method": string("调用方法"),
                "username": string("用户名"),
                "data": any_object("接口数据"),
                "dumped_data": string("json dumps后的接口数据"),
            },
            "required": ["method", "url", "username"],
        },
    }})
}

/// The resources document. `sub_path`: the app is served under a sub-path, so backend paths
/// start with the stage variable `{env.api_sub_path}`.
pub(crate) fn resources(sub_path: bool) -> Value {
    let mut paths = serde_json::Map::new();
    for r in RESOURCES {
        let method = if r.method == "any" {
            "x-bk-apigateway-method-any"
        } else {
            r.method
        };
        paths.insert(
            r.front_path.to_owned(),
            json!({ method: operation(r, sub_path) }),
        );
    }
    json!({
        "openapi": "3.0.3",
        "info": {"title": "BK Plugin API", "version": "1.0.0", "description": "蓝鲸插件服务 API"},
        "paths": paths,
        "components": components(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_paths_follow_the_sub_path() {
        let plain = resources(false);
        let sub = resources(true);
        let path = |doc: &Value, front: &str, method: &str| {
            doc["paths"][front][method]["x-bk-apigateway-resource"]["backend"]["path"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        assert_eq!(
            path(&plain, "/invoke/{version}/", "post"),
            "/bk_plugin/invoke/{version}"
        );
        assert_eq!(
            path(&sub, "/bk_plugin/plugin_api/", "x-bk-apigateway-method-any"),
            "/{env.api_sub_path}/bk_plugin/plugin_api/"
        );
        assert_eq!(plain["paths"].as_object().unwrap().len(), 7);
        let auth = &plain["paths"]["/bk_plugin/plugin_api/"]["x-bk-apigateway-method-any"]["x-bk-apigateway-resource"]
            ["authConfig"];
        assert_eq!(
            auth,
            &json!({"userVerifiedRequired": true, "appVerifiedRequired": false})
        );
        let auth = |front: &str| {
            plain["paths"][front]["x-bk-apigateway-method-any"]["x-bk-apigateway-resource"]
                ["authConfig"]
                .clone()
        };
        assert_eq!(
            auth("/bk_plugin/openapi/"),
            json!({"userVerifiedRequired": false, "appVerifiedRequired": true})
        );
        assert_eq!(
            auth("/bk_plugin/private/"),
            json!({"userVerifiedRequired": true, "appVerifiedRequired": true, "resourcePermissionRequired": false})
        );
    }
}
