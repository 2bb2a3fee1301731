//! A test stand-in of the API gateway's management API (`/api/v2/sync/gateways/{gw}/...`) on a
//! real 127.0.0.1 socket, recording every request and answering with the reply shapes of the
//! real gateway (blueking-apigateway `apis/v2/sync`): resources added on the first sync and
//! updated after, resource versions kept, the public key replaceable (rotation), and two
//! failure modes.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use bk_plugin_kit::http::axum::body::{Body, to_bytes};
use bk_plugin_kit::http::axum::extract::{Request, State};
use bk_plugin_kit::http::axum::http::StatusCode;
use bk_plugin_kit::http::axum::http::request::Parts;
use bk_plugin_kit::http::axum::response::{IntoResponse, Response};
use bk_plugin_kit::http::axum::{Json, Router};
use bk_plugin_kit::serde_json::{Value, json};

/// One recorded request.
#[derive(Debug, Clone)]
pub struct Call {
    /// `GET` / `POST`.
    pub method: String,
    /// The path after `/api/v2/sync/gateways/{gw}/` (e.g. `stages/`; `""` for the gateway).
    pub path: String,
    /// The raw query string.
    pub query: String,
    /// `X-Bkapi-Authorization`, parsed.
    pub authorization: Value,
    /// `X-Bk-Tenant-Id`.
    pub tenant: String,
    /// The JSON body (`Null` without one).
    pub body: Value,
}

impl Call {
    /// `"METHOD path"`, e.g. `"POST stages/"`.
    pub fn key(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// How the gateway fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Every call answers 403: the app is not a related app of the gateway.
    NotRelatedApp,
    /// The stage call answers 400 (its backends are rejected).
    StageBackends,
    /// Every call answers 503 (the gateway is down).
    Down,
}

#[derive(Default)]
struct Inner {
    calls: Vec<Call>,
    resources: BTreeSet<String>,
    versions: Vec<String>,
    public_key: String,
    failure: Option<Failure>,
}

/// The running test gateway.
#[derive(Clone)]
pub struct Gateway {
    inner: Arc<Mutex<Inner>>,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// The gateway's name (the path segment after `gateways/`).
    pub name: String,
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({"error": {"code": code, "message": message, "details": [], "data": {}}});
    (status, Json(body)).into_response()
}

async fn handle(State(gw): State<Gateway>, req: Request<Body>) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, 1 << 20).await.unwrap_or_default();
    respond(&gw, &parts, &bytes)
}

fn respond(gw: &Gateway, parts: &Parts, bytes: &[u8]) -> Response {
    let prefix = format!("/api/bk-apigateway/prod/api/v2/sync/gateways/{}/", gw.name);
    let path = parts.uri.path().to_owned();
    let Some(rest) = path.strip_prefix(&prefix).map(str::to_owned) else {
        return error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            &format!("no route {path}"),
        );
    };
    let header = |n: &str| {
        parts
            .headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (authorization, tenant) = (header("x-bkapi-authorization"), header("x-bk-tenant-id"));
    let method = parts.method.as_str().to_owned();
    let query = parts.uri.query().unwrap_or_default().to_owned();
    let body: Value = bk_plugin_kit::serde_json::from_slice(bytes).unwrap_or(Value::Null);
    let mut inner = gw.inner.lock().unwrap();
    inner.calls.push(Call {
        method: method.clone(),
        path: rest.clone(),
        query: query.clone(),
        authorization: bk_plugin_kit::serde_json::from_str(&authorization).unwrap_or(Value::Null),
        tenant,
        body: body.clone(),
    });
    match inner.failure {
        Some(Failure::NotRelatedApp) => {
            return error(StatusCode::FORBIDDEN, "NO_PERMISSION", "应用无操作网关权限");
        }
        Some(Failure::Down) => return (StatusCode::SERVICE_UNAVAILABLE, "down").into_response(),
        Some(Failure::StageBackends) if rest == "stages/" => {
            return error(StatusCode::BAD_REQUEST, "INVALID_ARGS", "backends 必须配置");
        }
        _ => {}
    }
    let data = match (method.as_str(), rest.as_str()) {
        ("POST", "") => json!({"id": 1, "name": gw.name, "kind": 0}),
        ("POST", "stages/") => json!({"id": 1, "name": body["name"]}),
        ("POST", "resources/") => {
            let paths: BTreeSet<String> = body["content"]
                .as_str()
                .map(parse_yaml_paths)
                .unwrap_or_default()
                .into_iter()
                .collect();
            let ids = |set: Vec<&String>| -> Vec<Value> {
                set.iter().map(|p| json!({"id": p, "path": p})).collect()
            };
            let added = ids(paths.difference(&inner.resources).collect());
            let updated = ids(paths.intersection(&inner.resources).collect());
            let deleted = ids(inner.resources.difference(&paths).collect());
            inner.resources = paths;
            json!({"added": added, "updated": updated, "deleted": deleted})
        }
        ("POST", "permissions/grant/") => {
            return (StatusCode::CREATED, Json(json!({"data": {}}))).into_response();
        }
        ("GET", "resource_versions/latest") => match inner.versions.last() {
            Some(v) => json!({"version": v}),
            None => json!({}),
        },
        ("GET", "resource_versions/") => {
            let wanted = query
                .strip_prefix("version=")
                .unwrap_or_default()
                .replace("%2B", "+");
            let results: Vec<Value> = inner
                .versions
                .iter()
                .filter(|v| **v == wanted)
                .map(|v| json!({"version": v}))
                .collect();
            json!({"count": results.len(), "results": results})
        }
        ("POST", "resource_versions/") => {
            let v = body["version"].as_str().unwrap_or_default().to_owned();
            if inner.versions.contains(&v) {
                return error(
                    StatusCode::BAD_REQUEST,
                    "INVALID_ARGS",
                    &format!("版本 {v} 已存在。"),
                );
            }
            inner.versions.push(v.clone());
            json!({"id": inner.versions.len(), "version": v})
        }
        ("POST", "resource_versions/release/") => {
            json!({"version": body["version"], "stage_names": body["stage_names"]})
        }
        ("GET", "public_key/") => json!({"issuer": "APIGW", "public_key": inner.public_key}),
        _ => {
            return error(
                StatusCode::NOT_FOUND,
                "NOT_FOUND",
                &format!("{method} {rest}"),
            );
        }
    };
    Json(json!({"data": data})).into_response()
}

/// The operation paths of a resources document (`  /path:` lines two spaces in under
/// `paths:`): enough to count the resources without a YAML parser.
fn parse_yaml_paths(content: &str) -> Vec<String> {
    let mut in_paths = false;
    let mut out = Vec::new();
    for line in content.lines() {
        if line == "paths:" {
            in_paths = true;
        } else if in_paths && !line.starts_with(' ') {
            in_paths = false;
        } else if in_paths && line.starts_with("  /") && !line.starts_with("   ") {
            out.push(line.trim().trim_end_matches(':').to_owned());
        }
    }
    out
}

impl Gateway {
    /// Starts a gateway named `name` with `public_key` on a free port, on the current tokio
    /// runtime.
    pub async fn start(name: &str, public_key: &str) -> Gateway {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let gw = Gateway {
            inner: Arc::new(Mutex::new(Inner {
                public_key: public_key.to_owned(),
                ..Inner::default()
            })),
            base: format!("http://{}", listener.local_addr().unwrap()),
            name: name.to_owned(),
        };
        let app = Router::new().fallback(handle).with_state(gw.clone());
        tokio::spawn(async move { bk_plugin_kit::http::axum::serve(listener, app).await });
        gw
    }

    /// `BK_API_URL_TMPL` pointing at this gateway.
    pub fn url_template(&self) -> String {
        format!("{}/api/{{api_name}}/", self.base)
    }

    /// The calls so far, and forgets them.
    pub fn take_calls(&self) -> Vec<Call> {
        std::mem::take(&mut self.inner.lock().unwrap().calls)
    }

    /// The resource versions created so far.
    pub fn versions(&self) -> Vec<String> {
        self.inner.lock().unwrap().versions.clone()
    }

    /// Replaces the public key (a key rotation).
    pub fn set_public_key(&self, pem: &str) {
        self.inner.lock().unwrap().public_key = pem.to_owned();
    }

    /// Makes the gateway fail (`None`: work again).
    pub fn set_failure(&self, failure: Option<Failure>) {
        self.inner.lock().unwrap().failure = failure;
    }
}
