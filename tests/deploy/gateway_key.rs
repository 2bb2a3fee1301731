//! The gateway public key without a hand step: outside dev with no `BK_APIGW_PUBLIC_KEY`, the
//! server fetches `public_key/` from the gateway (`tests/gateway.rs`, a real socket) at
//! startup, keeps it in the store for a start during a gateway outage, and fetches it again
//! when a JWT's signature fails (rotation), at most once a minute.

use bk_plugin_kit::http::axum::Router;
use bk_plugin_kit::http::axum::extract::Extension;
use bk_plugin_kit::http::axum::routing::get;
use bk_plugin_kit::http::{Caller, Config, Server};
use bk_plugin_tests::gateway::{Failure, Gateway};
use bk_plugin_tests::jwt::{Keys, jwt, keys, now};
use bk_plugin_tests::server::temp_sqlite_url;

async fn whoami(Extension(caller): Extension<Caller>) -> String {
    caller.app_code.unwrap_or_default()
}

fn config(gw: &Gateway, db: &str) -> Config {
    let mut c = Config::default();
    c.environment = "prod".into();
    c.require_exempt = false;
    c.app_code = Some("my-plugin".into());
    c.app_secret = Some("s".into());
    c.apigw_name = Some(gw.name.clone());
    c.apigw_manager_url = Some(format!("{}/api/bk-apigateway/prod", gw.base));
    c.database_url = db.to_owned();
    c
}

async fn build(config: Config) -> Result<String, String> {
    let server = Server::new(config).plugin_api(Router::new().route("/whoami", get(whoami)));
    match server.build().await {
        Ok(app) => {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let base = format!("http://{}", listener.local_addr().unwrap());
            tokio::spawn(app.serve(listener));
            Ok(base)
        }
        Err(e) => Err(e.to_string()),
    }
}

/// `(status, body)` of `plugin_api/whoami` with a token signed by `keys`.
async fn whoami_as(base: &str, keys: &Keys) -> (u16, String) {
    let token = jwt(keys, "bksops", "admin", now() + 300);
    let r = reqwest::Client::new()
        .get(format!("{base}/bk_plugin/plugin_api/whoami"))
        .header("X-Bkapi-JWT", token)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

fn key_calls(gw: &Gateway) -> usize {
    gw.take_calls()
        .iter()
        .filter(|c| c.key() == "GET public_key/")
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_key_is_fetched_stored_and_refreshed_on_rotation() {
    let (a, b, c) = (keys(), keys(), keys());
    let gw = Gateway::start("bp-my-plugin", &a.public_pem).await;
    let db = temp_sqlite_url();

    let base = build(config(&gw, &db)).await.unwrap();
    assert_eq!(key_calls(&gw), 1, "fetched at startup");
    assert_eq!(whoami_as(&base, &a).await, (200, "bksops".into()));
    assert_eq!(key_calls(&gw), 0);

    // Rotation: the first token signed with the new key makes the server fetch it.
    gw.set_public_key(&b.public_pem);
    assert_eq!(whoami_as(&base, &b).await, (200, "bksops".into()));
    assert_eq!(key_calls(&gw), 1, "refreshed once");

    // Within the minute no other fetch, whatever the tokens: C's is refused.
    gw.set_public_key(&c.public_pem);
    assert_ne!(whoami_as(&base, &c).await.0, 200);
    assert_ne!(whoami_as(&base, &a).await.0, 200);
    assert_eq!(key_calls(&gw), 0, "at most one refresh a minute");
    assert_eq!(whoami_as(&base, &b).await, (200, "bksops".into()));

    // A later start during a gateway outage uses the key stored by the refresh (B).
    gw.set_failure(Some(Failure::Down));
    let base = build(config(&gw, &db)).await.unwrap();
    assert_eq!(key_calls(&gw), 1, "tried the gateway first");
    assert_eq!(whoami_as(&base, &b).await, (200, "bksops".into()));

    // With nothing stored, the outage stops the start, saying why.
    let err = build(config(&gw, &temp_sqlite_url())).await.unwrap_err();
    assert!(
        err.contains("cannot get the API gateway's public key")
            && err.contains("HTTP 503")
            && err.contains("no key is stored"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_key_is_used_without_the_gateway() {
    let a = keys();
    let gw = Gateway::start("bp-my-plugin", "not a key").await;
    let mut c = config(&gw, &temp_sqlite_url());
    c.apigw_public_key = Some(a.public_pem.clone());
    let base = build(c).await.unwrap();
    assert_eq!(whoami_as(&base, &a).await, (200, "bksops".into()));
    assert_eq!(key_calls(&gw), 0);
}
