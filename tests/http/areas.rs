//! The author's route areas `/bk_plugin/plugin_api/`, `/bk_plugin/openapi/` and
//! `/bk_plugin/private/` through a real socket with real gateway JWTs: each reachable with the
//! verification its gateway resource requires (the user, the app, both), refused without it,
//! 404 inside an area for a path the author did not route.

use bk_plugin_kit::http::axum::extract::Extension;
use bk_plugin_kit::http::axum::routing::get;
use bk_plugin_kit::http::axum::{Json, Router};
use bk_plugin_kit::http::{Caller, Config, Server};
use bk_plugin_kit::serde_json::{Value, json};

use bk_plugin_tests::jwt::{Keys, jwt_verifying, keys};
use bk_plugin_tests::server::{dev_config, serve, temp_sqlite_url};

const GATEWAY_TEXT: &str = "This API can only be accessed through API gateway";
const DENIED_ZH: &str = "您没有执行该操作的权限。";
const DENIED_EN: &str = "You do not have permission to perform this action.";

/// A router answering `/ping` with its area's name and the caller.
fn area(name: &'static str) -> Router {
    Router::new().route(
        "/ping",
        get(move |Extension(caller): Extension<Caller>| async move {
            Json(json!({
                "area": name, "app": caller.app_code, "user": caller.username,
                "user_verified": caller.user_verified,
            }))
        }),
    )
}

fn prod(keys: &Keys) -> Config {
    let mut c = Config::default();
    c.app_secret = Some("s".into());
    c.app_code = Some("my-plugin".into());
    c.apigw_public_key = Some(keys.public_pem.clone());
    c.database_url = temp_sqlite_url();
    c
}

fn all_areas(config: Config) -> Server {
    Server::new(config)
        .plugin_api(area("plugin_api"))
        .openapi(area("openapi"))
        .private(area("private"))
}

/// `(status, content type, body)` of a GET.
async fn get_with(url: &str, jwt: Option<&str>, lang: Option<&str>) -> (u16, String, String) {
    let mut req = reqwest::Client::new().get(url);
    if let Some(t) = jwt {
        req = req.header("X-Bkapi-JWT", t);
    }
    if let Some(l) = lang {
        req = req.header("Accept-Language", l);
    }
    let r = req.send().await.unwrap();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (r.status().as_u16(), ct, r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_area_requires_its_gateway_verification() {
    let keys = keys();
    let base = serve(all_areas(prod(&keys))).await;
    let both = jwt_verifying(&keys, true, true);
    let app_only = jwt_verifying(&keys, true, false);
    let user_only = jwt_verifying(&keys, false, true);
    let neither = jwt_verifying(&keys, false, false);
    // (area, admitted JWTs, refused JWTs): plugin_api needs the user (its resource:
    // userVerifiedRequired), openapi the app (appVerifiedRequired), private both.
    let cases = [
        (
            "plugin_api",
            vec![&both, &user_only],
            vec![&app_only, &neither],
        ),
        (
            "openapi",
            vec![&both, &app_only],
            vec![&user_only, &neither],
        ),
        (
            "private",
            vec![&both],
            vec![&app_only, &user_only, &neither],
        ),
    ];
    for (name, admitted, refused) in cases {
        let url = format!("{base}/bk_plugin/{name}/ping");
        // Without a JWT: the gateway's plain-text 403.
        let (status, ct, body) = get_with(&url, None, None).await;
        assert_eq!(
            (status, body.as_str()),
            (403, GATEWAY_TEXT),
            "{name} without a JWT"
        );
        assert!(ct.starts_with("text/html"), "{name}: {ct}");
        // A forged token is no JWT.
        let forged = format!("{}x", &both[..both.len() - 1]);
        assert_eq!(get_with(&url, Some(&forged), None).await.2, GATEWAY_TEXT);
        for jwt in admitted {
            let (status, _, body) = get_with(&url, Some(jwt), None).await;
            assert_eq!(status, 200, "{name}: {body}");
            let v: Value = bk_plugin_kit::serde_json::from_str(&body).unwrap();
            assert_eq!(v["area"], name, "{body}");
            assert_eq!(v["user"], "admin", "{body}");
            // The app code is there only when the gateway verified the app.
            let app_verified = jwt == &both || jwt == &app_only;
            assert_eq!(v["app"], json!(app_verified.then_some("bk_sops")), "{body}");
        }
        for jwt in refused {
            let (status, ct, body) = get_with(&url, Some(jwt), None).await;
            assert_eq!(status, 403, "{name}: {body}");
            assert_eq!(ct, "application/json");
            assert_eq!(
                bk_plugin_kit::serde_json::from_str::<Value>(&body).unwrap(),
                json!({"detail": DENIED_ZH})
            );
            let (_, _, body) = get_with(&url, Some(jwt), Some("en-US")).await;
            assert_eq!(
                bk_plugin_kit::serde_json::from_str::<Value>(&body).unwrap(),
                json!({"detail": DENIED_EN})
            );
        }
        // A path the author did not route: 404 inside the area, once admitted.
        let (status, _, body) = get_with(
            &format!("{base}/bk_plugin/{name}/nothing"),
            Some(&both),
            None,
        )
        .await;
        assert_eq!((status, body.as_str()), (404, ""), "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_area_without_routes_is_404_and_dev_is_exempt() {
    let keys = keys();
    // Only plugin_api mounted: openapi/ and private/ do not exist, as in a Python plugin
    // without bk_plugin.openapi.urls / bk_plugin.private.urls.
    let base = serve(Server::new(prod(&keys)).plugin_api(area("plugin_api"))).await;
    let both = jwt_verifying(&keys, true, true);
    for name in ["openapi", "private"] {
        let (status, _, body) =
            get_with(&format!("{base}/bk_plugin/{name}/ping"), Some(&both), None).await;
        assert_eq!((status, body.as_str()), (404, ""), "{name}");
    }

    // Dev on a loopback listener is exempt from the gateway, as for every gateway-only route.
    let base = serve(all_areas(dev_config())).await;
    for name in ["plugin_api", "openapi", "private"] {
        let (status, _, body) =
            get_with(&format!("{base}/bk_plugin/{name}/ping"), None, None).await;
        assert_eq!(status, 200, "{name}: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn areas_are_served_under_the_sub_path_too() {
    let keys = keys();
    let mut config = prod(&keys);
    config.sub_path = Some("/my-plugin".into());
    let base = serve(all_areas(config)).await;
    let app_only = jwt_verifying(&keys, true, false);
    let (status, _, body) = get_with(
        &format!("{base}/my-plugin/bk_plugin/openapi/ping"),
        Some(&app_only),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, _, _) = get_with(
        &format!("{base}/my-plugin/bk_plugin/private/ping"),
        Some(&app_only),
        None,
    )
    .await;
    assert_eq!(status, 403);
}
