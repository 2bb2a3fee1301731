//! The HTTP runtime beyond the peer fixtures: gateway JWT (keys generated here), allow_scope,
//! plugin_api and its dispatch, the app sub-path, metrics, OpenAPI and the dev logs endpoint.

use bk_plugin_kit::http::axum::extract::{Extension, Path};
use bk_plugin_kit::http::axum::routing::get;
use bk_plugin_kit::http::axum::{Json, Router};
use bk_plugin_kit::http::{Caller, Config, Server};
use bk_plugin_kit::serde_json::{Value, json};

use bk_plugin_tests::jwt::{Keys, jwt, jwt_from, keys, now};
use bk_plugin_tests::server::{serve, temp_sqlite_url as temp_db};

async fn whoami(Path(biz): Path<i64>, Extension(caller): Extension<Caller>) -> Json<Value> {
    let auth: Value = bk_plugin_kit::serde_json::from_str(&caller.bkapi_authorization()).unwrap();
    Json(json!({
        "biz": biz, "user": caller.username, "app": caller.app_code,
        "user_verified": caller.user_verified, "gateway_user": caller.gateway_username,
        "forwards_jwt": auth["jwt"].as_str().is_some_and(|j| !j.is_empty()),
        "as_app": auth["bk_app_code"],
    }))
}

async fn start(config: Config) -> String {
    serve(Server::new(config).plugin_api(Router::new().route("/whoami/{biz}", get(whoami)))).await
}

/// Production as `Config::default()` gives it, with the secret and key set in code.
fn prod(keys: &Keys) -> Config {
    let mut c = Config::default();
    c.app_secret = Some("s".into());
    c.app_code = Some("my-plugin".into());
    c.apigw_public_key = Some(keys.public_pem.clone());
    c.database_url = temp_db();
    c
}

async fn call(
    method: &str,
    url: &str,
    jwt: Option<&str>,
    body: Option<&Value>,
    headers: &[(&str, &str)],
) -> (u16, String) {
    let client = reqwest::Client::new();
    let mut req = if method == "GET" {
        client.get(url)
    } else {
        client.post(url)
    };
    if let Some(t) = jwt {
        req = req.header("X-Bkapi-JWT", t);
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(b) = body {
        req = req.json(b);
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

fn invoke_body() -> Value {
    json!({"inputs": {"hello": "x"}, "context": {}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_requires_a_valid_gateway_jwt() {
    let keys = keys();
    let other = keys_other();
    let base = start(prod(&keys)).await;
    let invoke = format!("{base}/bk_plugin/invoke/1.0.0");
    let gateway_text = "This API can only be accessed through API gateway";

    // Open endpoints.
    assert_eq!(
        call("GET", &format!("{base}/bk_plugin/meta/"), None, None, &[])
            .await
            .0,
        200
    );
    assert_eq!(
        call(
            "GET",
            &format!("{base}/bk_plugin/detail/1.0.0"),
            None,
            None,
            &[]
        )
        .await
        .0,
        200
    );
    assert_eq!(
        call(
            "GET",
            &format!("{base}/bk_plugin/schedule/x"),
            None,
            None,
            &[]
        )
        .await
        .0,
        200
    );

    // Gateway-only endpoints without a JWT.
    for (m, url) in [
        ("POST", invoke.clone()),
        ("POST", format!("{base}/bk_plugin/callback/not-a-token/")),
        ("POST", format!("{base}/bk_plugin/plugin_api_dispatch/")),
        ("GET", format!("{base}/bk_plugin/plugin_api/whoami/1")),
    ] {
        assert_eq!(
            call(m, &url, None, Some(&invoke_body()), &[]).await,
            (403, gateway_text.to_owned()),
            "{url}"
        );
    }

    // A valid token passes; expired, wrong-key and tampered ones do not.
    let good = jwt(&keys, "bk_sops", "admin", now() + 300);
    let (status, text) = call("POST", &invoke, Some(&good), Some(&invoke_body()), &[]).await;
    assert_eq!(status, 200, "{text}");
    let expired = jwt(&keys, "bk_sops", "admin", now() - 120);
    let not_yet = jwt_from(&keys, "bk_sops", "admin", now() + 600, now() + 300);
    let wrong_key = jwt(&other, "bk_sops", "admin", now() + 300);
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    parts[1] = {
        use base64_like::encode;
        encode(
            &json!({"app": {"bk_app_code": "evil", "verified": true}, "exp": now() + 300})
                .to_string(),
        )
    };
    let tampered = parts.join(".");
    for bad in [expired, not_yet, wrong_key, tampered, "garbage".to_owned()] {
        assert_eq!(
            call("POST", &invoke, Some(&bad), Some(&invoke_body()), &[]).await,
            (403, gateway_text.to_owned())
        );
    }

    // plugin_api sees the verified user and app.
    let (status, text) = call(
        "GET",
        &format!("{base}/bk_plugin/plugin_api/whoami/7"),
        Some(&good),
        None,
        &[],
    )
    .await;
    assert_eq!(
        (
            status,
            bk_plugin_kit::serde_json::from_str::<Value>(&text).unwrap()
        ),
        (
            200,
            json!({"biz": 7, "user": "admin", "app": "bk_sops", "user_verified": true, "gateway_user": null, "forwards_jwt": true, "as_app": "my-plugin"})
        )
    );
    // Dispatch forwards as the named user and wraps the answer. A name other than the
    // verified one is not verified; the verified one is kept beside it.
    let (status, text) = call(
        "POST",
        &format!("{base}/bk_plugin/plugin_api_dispatch/"),
        Some(&good),
        Some(&json!({"url": "/bk_plugin/plugin_api/whoami/9", "method": "GET", "username": "someone"})),
        &[],
    )
    .await;
    let v: Value = bk_plugin_kit::serde_json::from_str(&text).unwrap();
    assert_eq!(status, 200, "{text}");
    assert_eq!(
        v["data"],
        json!({"biz": 9, "user": "someone", "app": "bk_sops", "user_verified": false, "gateway_user": "admin", "forwards_jwt": true, "as_app": "my-plugin"})
    );
    let (_, text) = call(
        "POST",
        &format!("{base}/bk_plugin/plugin_api_dispatch/"),
        Some(&good),
        Some(
            &json!({"url": "/bk_plugin/plugin_api/whoami/9", "method": "GET", "username": "admin"}),
        ),
        &[],
    )
    .await;
    let v: Value = bk_plugin_kit::serde_json::from_str(&text).unwrap();
    assert_eq!(
        (
            &v["data"]["user"],
            &v["data"]["user_verified"],
            &v["data"]["gateway_user"]
        ),
        (&json!("admin"), &json!(true), &Value::Null),
        "the verified user named again stays verified"
    );
    assert_eq!(v["message"], "success");
    let (status, text) = call(
        "POST",
        &format!("{base}/bk_plugin/plugin_api_dispatch/"),
        Some(&good),
        Some(&json!({"url": "/bk_plugin/plugin_api/nothing", "method": "GET", "username": "u"})),
        &[],
    )
    .await;
    assert_eq!(status, 404, "{text}");
    assert_eq!(
        bk_plugin_kit::serde_json::from_str::<Value>(&text).unwrap()["message"],
        "404 error: /bk_plugin/plugin_api/nothing"
    );
    // A route's own rejection (a path parameter of the wrong type) is the caller's mistake:
    // 200 with DRF's `{"detail": ...}` in data, never a 500.
    let (status, text) = call(
        "POST",
        &format!("{base}/bk_plugin/plugin_api_dispatch/"),
        Some(&good),
        Some(&json!({"url": "/bk_plugin/plugin_api/whoami/abc", "method": "GET", "username": "u"})),
        &[],
    )
    .await;
    assert_eq!(status, 200, "{text}");
    let v: Value = bk_plugin_kit::serde_json::from_str(&text).unwrap();
    assert!(
        v["data"]["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{text}"
    );
    // An empty invoke body: both fields missing, as DRF answers an empty form.
    let (status, text) = call("POST", &invoke, Some(&good), None, &[]).await;
    assert_eq!(status, 400, "{text}");
    assert_eq!(
        bk_plugin_kit::serde_json::from_str::<Value>(&text).unwrap()["message"],
        "输入不合法: {'inputs': [ErrorDetail(string='该字段是必填项。', code='required')], 'context': [ErrorDetail(string='该字段是必填项。', code='required')]}"
    );
}

/// A second key pair, for "signed by someone else".
fn keys_other() -> Keys {
    keys()
}

/// base64url without padding (JWT segments), for the tampered token.
mod base64_like {
    pub(super) fn encode(s: &str) -> String {
        const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let b = s.as_bytes();
        let mut out = String::new();
        for chunk in b.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |acc, (i, &x)| acc | (u32::from(x) << (16 - 8 * i)));
            for i in 0..=chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_scope_limits_listed_apps_only() {
    let keys = keys();
    let mut config = prod(&keys);
    config.allow_scope = json!({"bk_sops": {"type": "project", "value": ["1", "2"]}});
    let base = start(config).await;
    let invoke = format!("{base}/bk_plugin/invoke/1.0.0");
    let sops = jwt(&keys, "bk_sops", "admin", now() + 300);
    let other = jwt(&keys, "bk_other", "admin", now() + 300);
    let denied = call("POST", &invoke, Some(&sops), Some(&invoke_body()), &[]).await;
    assert_eq!(denied.0, 403);
    assert!(denied.1.contains("detail"), "{}", denied.1);
    let scoped = [
        ("Bkplugin-Scope-Type", "project"),
        ("Bkplugin-Scope-Value", "2"),
    ];
    assert_eq!(
        call("POST", &invoke, Some(&sops), Some(&invoke_body()), &scoped)
            .await
            .0,
        200
    );
    let wrong = [
        ("Bkplugin-Scope-Type", "project"),
        ("Bkplugin-Scope-Value", "3"),
    ];
    assert_eq!(
        call("POST", &invoke, Some(&sops), Some(&invoke_body()), &wrong)
            .await
            .0,
        403
    );
    assert_eq!(
        call("POST", &invoke, Some(&other), Some(&invoke_body()), &[])
            .await
            .0,
        200
    );
    let (_, meta) = call("GET", &format!("{base}/bk_plugin/meta/"), None, None, &[]).await;
    let meta: Value = bk_plugin_kit::serde_json::from_str(&meta).unwrap();
    assert_eq!(meta["data"]["allow_scope"]["bk_sops"]["type"], "project");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sub_path_metrics_openapi_and_dev_logs() {
    let _logs = bk_plugin_kit::http::init_logging(true);
    let mut config = Config::dev();
    config.database_url = temp_db();
    config.sub_path = Some("/my-plugin".into());
    let base = start(config).await;

    // The app sub-path serves the same routes.
    let (status, a) = call(
        "GET",
        &format!("{base}/my-plugin/bk_plugin/meta/"),
        None,
        None,
        &[],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        a,
        call("GET", &format!("{base}/bk_plugin/meta"), None, None, &[])
            .await
            .1
    );

    // Invoke, then read its log lines and the metrics.
    let (_, text) = call(
        "POST",
        &format!("{base}/bk_plugin/invoke/1.0.0"),
        None,
        Some(&invoke_body()),
        &[],
    )
    .await;
    let trace = bk_plugin_kit::serde_json::from_str::<Value>(&text).unwrap()["trace_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, logs) = call(
        "GET",
        &format!("{base}/bk_plugin/logs/{trace}"),
        None,
        None,
        &[],
    )
    .await;
    assert_eq!(status, 200);
    let log = bk_plugin_kit::serde_json::from_str::<Value>(&logs).unwrap()["data"]["log"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        log.starts_with(
            "DEBUG [execute] plugin start execute\nINFO [execute] plugin execute success"
        ),
        "{log}"
    );

    let (status, metrics) = call("GET", &format!("{base}/metrics"), None, None, &[]).await;
    assert_eq!(status, 200);
    assert!(
        metrics.contains("bk_plugin_invocations_total{version=\"1.0.0\",state=\"SUCCESS\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("bk_plugin_invoke_duration_seconds_count{version=\"1.0.0\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("bk_plugin_schedules_polling 0"),
        "{metrics}"
    );

    // OpenAPI: every version's invoke path, the dev routes, every $ref resolvable.
    let (status, doc) = call("GET", &format!("{base}/openapi.json"), None, None, &[]).await;
    assert_eq!(status, 200);
    let doc: Value = bk_plugin_kit::serde_json::from_str(&doc).unwrap();
    for v in ["1.0.0", "1.1.0", "2.0.0"] {
        assert!(
            doc["paths"][format!("/bk_plugin/invoke/{v}")]["post"].is_object(),
            "{v}"
        );
    }
    for dev in [
        "/bk_plugin/logs/{trace_id}",
        "/bk_plugin/diff/{old}/{new}",
        "/",
    ] {
        assert!(doc["paths"][dev]["get"].is_object(), "{dev}");
    }
    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    out.push(r.clone());
                }
                m.values().for_each(|x| refs(x, out));
            }
            Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(all.len() >= 9, "{all:?}");
    for r in all {
        let (kind, name) = r
            .strip_prefix("#/components/")
            .and_then(|r| r.split_once('/'))
            .unwrap_or_else(|| panic!("{r}"));
        assert!(doc["components"][kind][name].is_object(), "dangling {r}");
    }
}

/// The document says what is sent: `null` where `null` is sent, every error status of each
/// route, the parameters' formats; a production server's has no dev route.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_describes_every_answer() {
    let keys = keys();
    let base = start(prod(&keys)).await;
    let (status, doc) = call("GET", &format!("{base}/schema/"), None, None, &[]).await;
    assert_eq!(status, 200);
    let doc: Value = bk_plugin_kit::serde_json::from_str(&doc).unwrap();
    let schemas = &doc["components"]["schemas"];
    let paths = &doc["paths"];
    let statuses = |path: &str, method: &str| -> Vec<String> {
        let responses = paths[path][method]["responses"].as_object().unwrap();
        responses.keys().cloned().collect()
    };

    // invoke: state 5 has `outputs: null`, the others `err: null`; every error status.
    let null = json!({"nullable": true, "enum": [null]});
    assert_eq!(schemas["InvokeFailed"]["properties"]["outputs"], null);
    assert_eq!(schemas["InvokeRan"]["properties"]["err"], null);
    assert_eq!(
        statuses("/bk_plugin/invoke/1.0.0", "post"),
        ["200", "400", "403", "408", "413", "415", "503"]
    );
    let forbidden = &paths["/bk_plugin/invoke/1.0.0"]["post"]["responses"]["403"]["content"];
    assert!(forbidden["text/html"].is_object() && forbidden["application/json"].is_object());

    // schedule: `data: null` when there is no row.
    assert_eq!(schemas["TracedFailure"]["properties"]["data"], null);
    assert_eq!(
        paths["/bk_plugin/schedule/{trace_id}"]["get"]["responses"]["200"]["content"]["application/json"]
            ["schema"]["oneOf"],
        json!([
            {"$ref": "#/components/schemas/ScheduleFound"},
            {"$ref": "#/components/schemas/TracedFailure"}
        ])
    );
    assert_eq!(schemas["TraceId"]["pattern"], "^[0-9a-f]{32}$");

    // callback, dispatch and schedule also answer 503 when the store is unreachable.
    for (path, method) in [
        ("/bk_plugin/callback/{token}/", "post"),
        ("/bk_plugin/plugin_api_dispatch/", "post"),
        ("/bk_plugin/schedule/{trace_id}", "get"),
    ] {
        assert!(statuses(path, method).contains(&"503".to_owned()), "{path}");
    }

    // detail takes a served version; dev routes only on a dev server.
    let versions: Vec<Value> = ["3.0.0", "2.0.0", "1.1.0", "1.0.0"]
        .into_iter()
        .map(Value::from)
        .collect();
    let version = &paths["/bk_plugin/detail/{version}"]["get"]["parameters"][0]["schema"];
    assert_eq!(version["enum"], Value::from(versions));
    assert!(paths["/bk_plugin/logs/{trace_id}"].is_null());
    assert!(paths["/"].is_null());
}

/// Sleeps, so a request is in flight when the server is asked to stop; `SLOW_STARTED` is
/// notified when it starts.
#[derive(Default)]
#[bk_plugin_kit::plugin(version = "3.0.0")]
pub struct Slow;

static SLOW_STARTED: tokio::sync::Notify = tokio::sync::Notify::const_new();

impl bk_plugin_kit::Plugin for Slow {
    type Inputs = ();
    type ContextInputs = ();
    type Outputs = ();
    async fn execute(
        &self,
        _: (),
        ctx: &mut bk_plugin_kit::Context<Self>,
    ) -> Result<(), bk_plugin_kit::PluginError> {
        SLOW_STARTED.notify_one();
        tokio::time::sleep(std::time::Duration::from_millis(600)).await;
        ctx.outputs_mut().insert("slept".into(), true.into());
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_finishes_in_flight_requests() {
    let mut config = Config::dev();
    config.database_url = temp_db();
    let app = Server::new(config).build().await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.serve_until(listener, async {
        let _ = stopped.await;
    }));
    let in_flight = tokio::spawn(async move {
        call(
            "POST",
            &format!("http://{addr}/bk_plugin/invoke/3.0.0"),
            None,
            Some(&json!({"inputs": {}, "context": {}})),
            &[],
        )
        .await
    });
    // Stop once the request is being served (a fixed wait raced a loaded machine).
    SLOW_STARTED.notified().await;
    stop.send(()).unwrap();
    let (status, text) = in_flight.await.unwrap();
    assert_eq!(status, 200, "{text}");
    let body: Value = bk_plugin_kit::serde_json::from_str(&text).unwrap();
    assert_eq!(body["data"]["outputs"]["slept"], true);
    server.await.unwrap().unwrap();
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "still accepting after shutdown"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_url_selects_postgres() {
    // Runs when CI provides PostgreSQL (BK_PLUGIN_REQUIRE_POSTGRES=1 makes its absence fail).
    let Some(url) = bk_plugin_tests::stores::postgres_url().await else {
        return;
    };
    a_poll_runs_to_success_on(url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_url_selects_mysql() {
    // Runs when CI provides MariaDB (BK_PLUGIN_REQUIRE_MYSQL=1 makes its absence fail).
    let Some(url) = bk_plugin_tests::stores::mysql_url().await else {
        return;
    };
    // `mariadb://` is a synonym of `mysql://`.
    let url = url.replacen("mysql://", "mariadb://", 1);
    a_poll_runs_to_success_on(url).await;
}

#[tokio::test]
async fn an_unsupported_database_url_is_a_clear_startup_error() {
    let mut config = Config::dev();
    config.database_url = "redis://127.0.0.1:6379/0".into();
    let err = Server::new(config).build().await.unwrap_err().to_string();
    assert!(
        err.contains("redis://127.0.0.1:6379/0")
            && err.contains("sqlite://path, postgres://..., mysql://..."),
        "{err}"
    );
}

/// A server on `database_url` runs a polling invocation to SUCCESS.
async fn a_poll_runs_to_success_on(database_url: String) {
    let mut config = Config::dev();
    config.database_url = database_url;
    let base = start(config).await;
    let body = json!({"inputs": {"mode": "poll", "polls": 1, "interval": 0}, "context": {}});
    let (status, text) = call(
        "POST",
        &format!("{base}/bk_plugin/invoke/2.0.0"),
        None,
        Some(&body),
        &[],
    )
    .await;
    assert_eq!(status, 200, "{text}");
    let trace = bk_plugin_kit::serde_json::from_str::<Value>(&text).unwrap()["trace_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let (_, text) = call(
            "GET",
            &format!("{base}/bk_plugin/schedule/{trace}"),
            None,
            None,
            &[],
        )
        .await;
        let v: Value = bk_plugin_kit::serde_json::from_str(&text).unwrap();
        if v["data"]["state"] == 4 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{text}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
