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

#[tokio::test(flavor = "multi_thread")]
async fn the_page_compares_versions_through_the_dev_diff_endpoint() {
    let base = start(dev()).await;
    let page = reqwest::get(format!("{base}/"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("data-testid=\"diff-btn\""));
    let r = reqwest::get(format!("{base}/bk_plugin/diff/1.0.0/1.1.0"))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: bk_plugin_kit::serde_json::Value = r.json().await.unwrap();
    let report = body["data"]["report"].as_str().unwrap();
    assert!(report.starts_with("1.0.0 -> 1.1.0: "), "{report}");
    assert!(
        report.contains("suggested version after 1.0.0: 2.0.0"),
        "{report}"
    );
    let r = reqwest::get(format!("{base}/bk_plugin/diff/1.0.0/9.9.9"))
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // Outside dev the endpoint does not exist.
    let mut stag = dev();
    stag.environment = "stag".into();
    stag.app_secret = Some("s".into());
    stag.require_exempt = true;
    let base = start(stag).await;
    let r = reqwest::get(format!("{base}/bk_plugin/diff/1.0.0/1.1.0"))
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}
