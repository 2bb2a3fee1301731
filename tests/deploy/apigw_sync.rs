//! `<plugin-binary> apigw sync` (the BK PaaS preRelease hook), the real binary against the
//! test gateway (`tests/gateway.rs`) over 127.0.0.1: a fresh sync, an unchanged redeploy
//! (skipped but for the key), changed deploys (re-release, new version), and the gateway's
//! errors reported with a non-zero exit. The state lives in a SQLite store, as it would in
//! the app's MySQL.

use std::path::Path;
use std::process::{Command, Output};

use bk_plugin_engine::store::Store;
use bk_plugin_kit::serde_json::{Value, json};
use bk_plugin_store::SqliteStore;
use bk_plugin_tests::gateway::{Call, Failure, Gateway};
use bk_plugin_tests::support::temp_dir;

/// The calls of a sync that creates a version: steps 1, 2, 3, 5 (the app and
/// `BK_APIGW_GRANTED_APPS`), 6, 7, 8, 9, 10 of the management API.
const FULL_SYNC: [&str; 10] = [
    "POST ",
    "POST stages/",
    "POST resources/",
    "POST permissions/grant/",
    "POST permissions/grant/",
    "GET resource_versions/latest",
    "GET resource_versions/",
    "POST resource_versions/",
    "POST resource_versions/release/",
    "GET public_key/",
];

const KEY: &str = "-----BEGIN PUBLIC KEY-----\ntest key\n-----END PUBLIC KEY-----\n";

struct Deploy<'a> {
    gw: &'a Gateway,
    db: String,
    vars: Vec<(&'static str, String)>,
}

impl Deploy<'_> {
    fn new<'a>(gw: &'a Gateway, dir: &Path) -> Deploy<'a> {
        Deploy {
            gw,
            db: format!("sqlite://{}", dir.join("app.db").display()),
            vars: vec![
                ("BKPAAS_ENVIRONMENT", "prod".into()),
                ("BKPAAS_APP_ID", "my-plugin".into()),
                ("BKPAAS_APP_SECRET", "s3cret".into()),
                ("BKPAAS_BK_PLUGIN_APIGW_NAME", gw.name.clone()),
                ("BK_API_URL_TMPL", gw.url_template()),
                (
                    "BKPAAS_DEFAULT_PREALLOCATED_URLS",
                    r#"{"stag": "http://apps.example.com/stag--default--my-plugin/", "prod": "http://apps.example.com/prod--default--my-plugin/"}"#.into(),
                ),
                ("BK_APIGW_GRANTED_APPS", "bksops".into()),
            ],
        }
    }

    fn set(&mut self, name: &'static str, value: &str) {
        self.vars.retain(|(k, _)| *k != name);
        self.vars.push((name, value.into()));
    }

    /// Runs `plugin-server apigw sync` (a blocking child process: the gateway runs on the
    /// test's runtime meanwhile).
    async fn sync(&self) -> (Output, Vec<Call>) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_plugin-server"));
        cmd.args(["apigw", "sync"])
            .env_clear()
            .env("DATABASE_URL", &self.db);
        for (k, v) in &self.vars {
            cmd.env(k, v);
        }
        let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
            .await
            .unwrap();
        (out, self.gw.take_calls())
    }

    async fn store(&self) -> SqliteStore {
        SqliteStore::connect(&self.db).await.unwrap()
    }
}

fn keys(calls: &[Call]) -> Vec<String> {
    calls.iter().map(Call::key).collect()
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn body<'a>(calls: &'a [Call], key: &str) -> &'a Value {
    &calls.iter().find(|c| c.key() == key).unwrap().body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fresh_unchanged_and_changed_deploys() {
    let gw = Gateway::start("bp-my-plugin", KEY).await;
    let dir = temp_dir("apigw-sync");
    let mut deploy = Deploy::new(&gw, &dir);

    // 1. Fresh: steps 1, 2, 3, 5 (the app and BK_APIGW_GRANTED_APPS), 6, 7, 8, 9, 10.
    let (out, calls) = deploy.sync().await;
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(keys(&calls), FULL_SYNC);
    for c in &calls {
        assert_eq!(
            c.authorization,
            json!({"bk_app_code": "my-plugin", "bk_app_secret": "s3cret", "access_token": null}),
            "{}",
            c.key()
        );
        assert_eq!(c.tenant, "system");
    }
    assert_eq!(
        body(&calls, "POST "),
        &json!({"description": "", "description_en": "", "is_public": true, "api_type": 10, "maintainers": ["admin"]})
    );
    let stage = body(&calls, "POST stages/");
    assert_eq!(stage["name"], "prod");
    assert_eq!(
        stage["vars"],
        json!({"api_sub_path": "prod--default--my-plugin"})
    );
    assert_eq!(
        stage["backends"],
        json!([{"name": "default", "config": {"timeout": 60, "loadbalance": "roundrobin",
            "hosts": [{"host": "http://apps.example.com", "weight": 100}]}}])
    );
    assert_eq!(stage["plugin_configs"][0]["type"], "bk-cors");
    let resources = body(&calls, "POST resources/");
    assert_eq!(resources["delete"], true);
    let content = resources["content"].as_str().unwrap();
    assert!(
        content.contains("path: /{env.api_sub_path}/bk_plugin/invoke/{version}"),
        "{content}"
    );
    let grants: Vec<&Value> = calls
        .iter()
        .filter(|c| c.key() == "POST permissions/grant/")
        .map(|c| &c.body)
        .collect();
    assert_eq!(
        grants,
        [
            &json!({"target_app_code": "my-plugin", "grant_dimension": "gateway"}),
            &json!({"target_app_code": "bksops", "grant_dimension": "gateway"}),
        ]
    );
    assert_eq!(calls[6].query, "version=1.0.0%2Bprod");
    assert_eq!(
        body(&calls, "POST resource_versions/"),
        &json!({"version": "1.0.0+prod", "comment": "auto release by bk-apigw-plugin-runtime(stage=prod)"})
    );
    assert_eq!(
        body(&calls, "POST resource_versions/release/"),
        &json!({"version": "1.0.0+prod", "comment": "", "stage_names": ["prod"]})
    );
    let store = deploy.store().await;
    assert_eq!(
        store
            .get_setting("apigw.public_key:bp-my-plugin")
            .await
            .unwrap()
            .as_deref(),
        Some(KEY)
    );

    // 2. The same deploy again: nothing to sync, the key is fetched and stored anyway.
    gw.set_public_key("rotated");
    let (out, calls) = deploy.sync().await;
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(keys(&calls), ["GET public_key/"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("skipping the sync"));
    assert_eq!(
        store
            .get_setting("apigw.public_key:bp-my-plugin")
            .await
            .unwrap()
            .as_deref(),
        Some("rotated")
    );

    // 3. The stage changed, the resources did not: synced, the latest version re-released.
    deploy.set("BK_APIGW_DEFAULT_TIMEOUT", "30");
    let (out, calls) = deploy.sync().await;
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        keys(&calls),
        FULL_SYNC
            .iter()
            .copied()
            .filter(|c| !matches!(*c, "GET resource_versions/" | "POST resource_versions/"))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        body(&calls, "POST stages/")["backends"][0]["config"]["timeout"],
        30
    );
    assert_eq!(gw.versions(), ["1.0.0+prod"]);

    // 4. The resources changed (the app lost its sub-path): a new version; 1.0.0+prod exists,
    //    so it is 1.0.0+<timestamp>.
    deploy.set(
        "BKPAAS_DEFAULT_PREALLOCATED_URLS",
        r#"{"prod": "http://my-plugin.apps.example.com/"}"#,
    );
    let (out, calls) = deploy.sync().await;
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(keys(&calls), FULL_SYNC);
    let versions = gw.versions();
    assert_eq!(versions.len(), 2, "{versions:?}");
    let (public, stamp) = versions[1].split_once('+').unwrap();
    assert_eq!(public, "1.0.0");
    assert!(
        stamp.len() == 14 && stamp.bytes().all(|b| b.is_ascii_digit()),
        "{stamp}"
    );
    assert_eq!(
        body(&calls, "POST resource_versions/release/")["version"],
        versions[1].as_str()
    );
    assert_eq!(body(&calls, "POST stages/")["vars"], json!({}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_errors_fail_the_hook_and_leave_the_next_sync_to_retry() {
    let gw = Gateway::start("bp-my-plugin", KEY).await;
    let dir = temp_dir("apigw-sync-errors");
    let deploy = Deploy::new(&gw, &dir);

    gw.set_failure(Some(Failure::NotRelatedApp));
    let (out, calls) = deploy.sync().await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(keys(&calls), ["POST "]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("HTTP 403: [NO_PERMISSION] 应用无操作网关权限"),
        "{stderr}"
    );
    assert!(
        stderr.contains("must be a related app of the gateway bp-my-plugin"),
        "{stderr}"
    );

    gw.set_failure(Some(Failure::StageBackends));
    let (out, calls) = deploy.sync().await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(keys(&calls), ["POST ", "POST stages/"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("stages/: HTTP 400: [INVALID_ARGS] backends 必须配置"),
        "{stderr}"
    );
    assert!(
        stderr.contains("BKPAAS_DEFAULT_PREALLOCATED_URLS"),
        "{stderr}"
    );

    // The failed syncs stored no hash: the next deploy syncs everything.
    gw.set_failure(None);
    let (out, calls) = deploy.sync().await;
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(calls.len(), 10, "{:?}", keys(&calls));

    // A missing gateway name is reported before any call.
    let mut deploy = Deploy::new(&gw, &dir);
    deploy
        .vars
        .retain(|(k, _)| *k != "BKPAAS_BK_PLUGIN_APIGW_NAME");
    let (out, calls) = deploy.sync().await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(calls.is_empty());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("BKPAAS_BK_PLUGIN_APIGW_NAME is not set")
    );
}
