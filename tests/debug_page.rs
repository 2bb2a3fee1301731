//! The dev debug page (`bk-plugin-http/assets/debug.html`) is served at `/` (and under the app
//! sub-path) in dev only, as one self-contained HTML document. Its behaviour in a browser is
//! tested by `tests/browser/run.sh` (headless Chromium).

use bk_plugin_kit::http::{Config, Server};

use bk_plugin_tests::server::{dev_config as dev, serve};

async fn start(config: Config) -> String {
    serve(Server::new(config)).await
}

#[tokio::test(flavor = "multi_thread")]
async fn dev_serves_a_self_contained_page_at_the_root_and_the_sub_path() {
    let mut config = dev();
    config.sub_path = Some("/my-plugin".into());
    let base = start(config).await;
    for path in ["/", "/my-plugin", "/my-plugin/"] {
        let r = reqwest::get(format!("{base}{path}")).await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let h = r.headers();
        assert_eq!(h["content-type"], "text/html; charset=utf-8", "{path}");
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("connect-src 'self'"), "{csp}");
        assert!(!csp.contains("unsafe-eval"), "{csp}");
        let html = r.text().await.unwrap();
        assert!(html.starts_with("<!doctype html>"));
        for id in [
            "id=\"versions\"",
            "id=\"invoke-btn\"",
            "id=\"run-state\"",
            "id=\"callback-send\"",
            "id=\"logs\"",
        ] {
            assert!(html.contains(id), "{path}: no {id}");
        }
        // Self-contained: no external script, stylesheet or font, and no eval of renderform.
        assert!(!html.contains("<script src"), "{path}");
        assert!(!html.contains("stylesheet"), "{path}");
        assert!(!html.contains("eval("), "{path}");
        assert!(!html.contains("new Function"), "{path}");
    }
    // The API is untouched.
    let meta = reqwest::get(format!("{base}/bk_plugin/meta/"))
        .await
        .unwrap();
    assert_eq!(meta.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn other_environments_have_no_debug_page() {
    let mut config = dev();
    config.environment = "stag".into();
    config.app_secret = Some("s".repeat(52));
    config.require_exempt = true;
    let base = start(config).await;
    let r = reqwest::get(format!("{base}/")).await.unwrap();
    assert_eq!(r.status(), 404);
    let meta = reqwest::get(format!("{base}/bk_plugin/meta/"))
        .await
        .unwrap();
    assert_eq!(meta.status(), 200);
}
