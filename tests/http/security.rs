//! Fail-closed defaults of the HTTP runtime (docs/deployment.md, "Security"): dev only when
//! asked for and only on loopback, production rules for a configuration built in code, JSON
//! only for invoke (a cross-site `text/plain` POST runs nothing), loopback `Host` names only
//! on the dev server (DNS rebinding), store errors logged rather than answered, and secrets
//! out of `Debug`. Servers listen on 127.0.0.1; one test binds 0.0.0.0 only to be refused.

use std::collections::HashMap;
use std::sync::Arc;

use bk_plugin_engine::store::MemoryStore;
use bk_plugin_kit::http::{Config, ConfigError, Server};
use bk_plugin_kit::serde_json::{Value, json};

use bk_plugin_tests::server::{dev_config, serve, temp_sqlite_url};

/// The configuration from `vars`, with a store named (outside dev the server otherwise
/// refuses to start without one: `tests/deploy/env.rs`).
fn lookup(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let mut vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    vars.entry("DATABASE_URL".into())
        .or_insert_with(|| "sqlite://bk_plugin.db".into());
    Config::from_lookup(|name| vars.get(name).filter(|v| !v.is_empty()).cloned())
}

#[test]
fn an_unset_or_empty_environment_means_production_rules() {
    for env in [None, Some("")] {
        let mut vars = vec![("PORT", "5000")];
        if let Some(e) = env {
            vars.push(("BKPAAS_ENVIRONMENT", e));
        }
        let err = lookup(&vars).unwrap_err();
        assert!(
            matches!(err, ConfigError::Missing("BKPAAS_APP_SECRET")),
            "{err:?}"
        );
        assert!(
            err.to_string().contains("set BKPAAS_ENVIRONMENT=dev"),
            "{err}"
        );
        vars.push(("BKPAAS_APP_SECRET", "s"));
        let err = lookup(&vars).unwrap_err();
        assert!(
            matches!(err, ConfigError::Missing("BK_APIGW_PUBLIC_KEY")),
            "{err:?}"
        );
    }
    let c = lookup(&[("BKPAAS_APP_SECRET", "s"), ("BK_APIGW_PUBLIC_KEY", "pem")]).unwrap();
    assert_eq!(c.environment, "prod");
    assert!(!c.gateway_exempt() && !c.is_dev());
}

#[test]
fn dev_is_exempt_only_on_loopback_and_never_with_the_public_key_elsewhere() {
    let dev = lookup(&[("BKPAAS_ENVIRONMENT", "dev")]).unwrap();
    assert!(dev.gateway_exempt() && dev.uses_dev_callback_key());
    // BK PaaS's PORT makes the listener 0.0.0.0: dev there needs a secret and the key.
    let err = lookup(&[("BKPAAS_ENVIRONMENT", "dev"), ("PORT", "5000")]).unwrap_err();
    assert!(matches!(err, ConfigError::ExposedDev(_)), "{err:?}");
    assert!(err.to_string().contains("0.0.0.0:5000"), "{err}");
    let err = lookup(&[
        ("BKPAAS_ENVIRONMENT", "dev"),
        ("BK_PLUGIN_LISTEN", "0.0.0.0:8000"),
        ("BKPAAS_APP_SECRET", "s"),
    ])
    .unwrap_err();
    assert!(matches!(err, ConfigError::ExposedDev(_)), "{err:?}");
    let reachable = lookup(&[
        ("BKPAAS_ENVIRONMENT", "dev"),
        ("PORT", "5000"),
        ("BKPAAS_APP_SECRET", "s"),
        ("BK_APIGW_PUBLIC_KEY", "pem"),
    ])
    .unwrap();
    assert!(!reachable.gateway_exempt(), "JWTs are required there");
}

#[test]
fn the_gateway_exemption_is_honoured_in_stag_only() {
    let base = [("BKPAAS_APP_SECRET", "s"), ("BK_APIGW_REQUIRE_EXEMPT", "1")];
    let stag = lookup(&[base[0], base[1], ("BKPAAS_ENVIRONMENT", "stag")]).unwrap();
    assert!(stag.gateway_exempt());
    // In prod the variable is not read; set in code it is refused.
    let err = lookup(&[base[0], base[1], ("BKPAAS_ENVIRONMENT", "prod")]).unwrap_err();
    assert!(
        matches!(err, ConfigError::Missing("BK_APIGW_PUBLIC_KEY")),
        "{err:?}"
    );
    let mut c = Config::default();
    c.app_secret = Some("s".into());
    c.apigw_public_key = Some("pem".into());
    assert!(!c.gateway_exempt(), "Config::default() is production");
    c.validate().unwrap();
    c.require_exempt = true;
    let err = c.validate().unwrap_err();
    assert!(err.to_string().contains("honoured in stag only"), "{err}");
}

#[tokio::test]
async fn a_dev_server_refuses_a_listener_other_hosts_can_reach() {
    let app = Server::new(dev_config()).build().await.unwrap();
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let err = app
        .serve_until(listener, std::future::pending())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("an address other hosts can reach"),
        "{err}"
    );
}

async fn get_text(url: &str) -> String {
    reqwest::get(url).await.unwrap().text().await.unwrap()
}

async fn post(url: &str, body: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let mut req = reqwest::Client::new().post(url).body(body.to_owned());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoke_takes_json_only_so_a_cross_site_post_runs_nothing() {
    let base = serve(Server::new(dev_config())).await;
    let invoke = format!("{base}/bk_plugin/invoke/2.0.0");
    let body = r#"{"inputs": {"mode": "poll", "polls": 1, "interval": 0}, "context": {}}"#;
    for ct in [
        Some("text/plain"),
        Some("text/plain;charset=UTF-8"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        None,
    ] {
        let headers: Vec<(&str, &str)> = ct.iter().map(|c| ("content-type", *c)).collect();
        let (status, text) = post(&invoke, body, &headers).await;
        assert_eq!(status, 415, "{ct:?}: {text}");
        let v: Value = bk_plugin_kit::serde_json::from_str(&text).unwrap();
        let shown = ct.unwrap_or("");
        assert_eq!(
            v,
            json!({"detail": format!("不支持请求中的媒体类型 “{shown}”。")})
        );
    }
    let (status, text) = post(
        &invoke,
        body,
        &[("content-type", "text/plain"), ("accept-language", "en")],
    )
    .await;
    assert_eq!(
        (status, text.as_str()),
        (
            415,
            r#"{"detail":"Unsupported media type \"text/plain\" in request."}"#
        )
    );
    // Nothing ran: no invocation was answered, none is polling.
    let metrics = get_text(&format!("{base}/metrics")).await;
    assert!(
        !metrics.contains("bk_plugin_invocations_total{"),
        "{metrics}"
    );
    assert!(
        metrics.contains("bk_plugin_schedules_polling 0"),
        "{metrics}"
    );
    for ct in [
        "application/json",
        "application/json; charset=utf-8",
        "application/vnd.api+json",
    ] {
        let (status, text) = post(&invoke, body, &[("content-type", ct)]).await;
        assert_eq!(status, 200, "{ct}: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dev_server_answers_loopback_host_names_only() {
    let base = serve(Server::new(dev_config())).await;
    let client = reqwest::Client::new();
    let meta = format!("{base}/bk_plugin/meta/");
    for host in [
        "evil.example.com",
        "evil.example.com:8000",
        "127.0.0.1.nip.io",
    ] {
        let r = client.get(&meta).header("host", host).send().await.unwrap();
        assert_eq!(r.status(), 403, "{host}");
    }
    let port = base.rsplit(':').next().unwrap();
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        "localhost".into(),
    ] {
        let r = client
            .get(&meta)
            .header("host", &host)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{host}");
    }
    // Outside dev the gateway's JWT protects the endpoints; any Host is served.
    let mut stag = dev_config();
    stag.environment = "stag".into();
    stag.app_secret = Some("s".into());
    stag.require_exempt = true;
    let base = serve(Server::new(stag)).await;
    let r = client
        .get(format!("{base}/bk_plugin/meta/"))
        .header("host", "my-plugin.apps.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_errors_are_logged_not_answered() {
    let url = temp_sqlite_url();
    let mut config = dev_config();
    config.database_url = url.clone();
    config.app_secret = Some("s".repeat(52));
    let base = serve(Server::new(config)).await;
    let invoke = format!("{base}/bk_plugin/invoke/2.0.0");
    let json_ct = [("content-type", "application/json")];
    // A waiting invocation, for its callback URL and trace.
    let (_, text) = post(
        &format!("{base}/bk_plugin/invoke/2.0.0"),
        r#"{"inputs": {"mode": "callback"}, "context": {}}"#,
        &json_ct,
    )
    .await;
    let waiting: Value = bk_plugin_kit::serde_json::from_str(&text).unwrap();
    let trace = waiting["trace_id"].as_str().unwrap().to_owned();
    let callback = waiting["data"]["outputs"]["callback_url"]
        .as_str()
        .expect("waiting for a callback")
        .to_owned();

    // Break the store under the running server: every statement now fails with an error
    // that names the table.
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query("DROP TABLE bk_plugin_schedule")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;

    let (status, text) = post(
        &invoke,
        r#"{"inputs": {"mode": "poll", "polls": 1, "interval": 0}, "context": {}}"#,
        &json_ct,
    )
    .await;
    assert_eq!(status, 200, "{text}");
    let v: Value = bk_plugin_kit::serde_json::from_str(&text).unwrap();
    assert_eq!(v["data"]["state"], 5, "{text}");
    let err = v["data"]["err"].as_str().unwrap();
    assert!(err.starts_with("schedule create error: "), "{err}");
    let schedule = get_text(&format!("{base}/bk_plugin/schedule/{trace}")).await;
    assert!(
        schedule.contains("the schedule store is unavailable"),
        "{schedule}"
    );
    let token = callback.trim_end_matches('/').rsplit('/').next().unwrap();
    let (status, answer) = post(
        &format!("{base}/bk_plugin/callback/{token}/"),
        "{}",
        &json_ct,
    )
    .await;
    assert_eq!(status, 503, "{answer}");
    for a in [&text, &schedule, &answer] {
        for leak in ["bk_plugin_schedule", "no such table", "sqlite"] {
            assert!(!a.contains(leak), "{leak} in {a}");
        }
    }
}

#[tokio::test]
async fn debug_output_hides_every_secret() {
    const APP_SECRET: &str = "app-secret-4f9c";
    const DB_PASSWORD: &str = "db/pa?ss#word";
    let key = bk_plugin_engine::CallbackKey::from_app_secret("another secret");
    let mut config = Config::default();
    config.app_secret = Some(APP_SECRET.into());
    config.callback_key = Some(key.to_base64().to_owned());
    config.database_url = format!("mysql://bk:{DB_PASSWORD}@db.internal:3306/plugin");
    config.apigw_public_key = Some("-----BEGIN PUBLIC KEY-----".into());
    let shown_config = format!("{config:?} {config:#?}");
    let server = Server::new(config.clone()).store(Arc::new(MemoryStore::new()));
    let shown_server = format!("{server:?}");
    let mut built = config.clone();
    built.apigw_public_key = None;
    built.environment = "dev".into();
    let app = Server::new(built)
        .store(Arc::new(MemoryStore::new()))
        .build()
        .await
        .unwrap();
    let shown_app = format!("{app:?}");
    for shown in [&shown_config, &shown_server, &shown_app] {
        for secret in [APP_SECRET, key.to_base64(), DB_PASSWORD, "pa?ss"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(
            shown.contains("db.internal"),
            "the rest stays readable: {shown}"
        );
    }
    // A startup error names the database without its password.
    config.database_url = format!("redis://bk:{DB_PASSWORD}@db.internal:6379/0");
    let err = Server::new(config).build().await.unwrap_err().to_string();
    assert!(
        !err.contains(DB_PASSWORD) && err.contains("redis://bk:***@db.internal"),
        "{err}"
    );
}
