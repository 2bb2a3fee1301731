//! A deprecated version (`#[plugin(deprecated = "..")]`) over HTTP: `meta` no longer lists it,
//! `detail` still answers with the message added, invoke and resumes keep working, the OpenAPI
//! document marks its invoke operation, the dev `versions/` route (the debug page's list)
//! includes it, and the schema lock records the status.
//!
//! The version is declared in this test binary only, beside the peer's three versions.

use std::time::Duration;

use bk_plugin_kit::http::{Config, Server};
use bk_plugin_kit::prelude::*;
use bk_plugin_kit::serde_json::{Value, json};
use bk_plugin_kit::versioning::Lock;

use bk_plugin_tests::server::{dev_config, serve};

const MESSAGE: &str = "use 2.0.0: it validates the task name";

#[derive(Inputs)]
pub struct OldInputs {
    pub name: String,
}

#[derive(Outputs)]
pub struct OldOutputs {
    pub greeting: String,
}

/// Polls once, then greets.
#[plugin(
    version = "0.1.0",
    desc = "the retired greeter",
    deprecated = "use 2.0.0: it validates the task name"
)]
pub struct Retired;

impl Plugin for Retired {
    type Inputs = OldInputs;
    type ContextInputs = ();
    type Outputs = OldOutputs;

    async fn execute(&self, inputs: OldInputs, ctx: &mut Context<Self>) -> Result<(), PluginError> {
        match ctx.state() {
            State::Empty => ctx.wait_poll(Duration::from_millis(10)),
            _ => ctx.set_outputs(OldOutputs {
                greeting: format!("hello {}", inputs.name),
            })?,
        }
        Ok(())
    }
}

async fn get(base: &str, path: &str) -> (u16, Value) {
    let r = reqwest::get(format!("{base}{path}")).await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn start(config: Config) -> String {
    serve(Server::new(config)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deprecated_version_is_hidden_from_meta_and_served_to_pinned_callers() {
    let base = start(dev_config()).await;

    let (status, meta) = get(&base, "/bk_plugin/meta").await;
    assert_eq!(status, 200);
    assert_eq!(meta["data"]["versions"], json!(["2.0.0", "1.1.0", "1.0.0"]));

    // detail: every key of a released version, unchanged, then the message.
    let (status, detail) = get(&base, "/bk_plugin/detail/0.1.0").await;
    assert_eq!(status, 200);
    let data = detail["data"].as_object().unwrap();
    assert_eq!(
        data.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "desc",
            "version",
            "enable_plugin_callback",
            "inputs",
            "outputs",
            "context_inputs",
            "forms",
            "deprecated"
        ]
    );
    assert_eq!(data["deprecated"], MESSAGE);
    let (_, released) = get(&base, "/bk_plugin/detail/1.0.0").await;
    assert!(released["data"].get("deprecated").is_none(), "{released}");

    // invoke, then the poll resume, to SUCCESS.
    let r = reqwest::Client::new()
        .post(format!("{base}/bk_plugin/invoke/0.1.0"))
        .json(&json!({"inputs": {"name": "sops"}, "context": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let invoked: Value = r.json().await.unwrap();
    assert_eq!(invoked["data"]["state"], 2, "{invoked}");
    let trace = invoked["trace_id"].as_str().unwrap().to_owned();
    let mut last = Value::Null;
    for _ in 0..200 {
        let (_, s) = get(&base, &format!("/bk_plugin/schedule/{trace}")).await;
        last = s;
        if last["data"]["state"] == 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(last["data"]["state"], 4, "{last}");
    assert_eq!(last["data"]["outputs"], json!({"greeting": "hello sops"}));

    // The debug page's list: every version, the deprecated one with its message.
    let (status, versions) = get(&base, "/bk_plugin/versions/").await;
    assert_eq!(status, 200);
    assert_eq!(
        versions["data"]["versions"],
        json!([
            {"version": "2.0.0", "deprecated": null},
            {"version": "1.1.0", "deprecated": null},
            {"version": "1.0.0", "deprecated": null},
            {"version": "0.1.0", "deprecated": MESSAGE},
        ])
    );

    // OpenAPI: the invoke operation is deprecated with the message; meta's enum leaves the
    // version out, detail's takes it.
    let (_, doc) = get(&base, "/openapi.json").await;
    let invoke = &doc["paths"]["/bk_plugin/invoke/0.1.0"]["post"];
    assert_eq!(invoke["deprecated"], true);
    assert!(
        invoke["description"].as_str().unwrap().contains(MESSAGE),
        "{invoke}"
    );
    assert!(
        doc["paths"]["/bk_plugin/invoke/1.0.0"]["post"]
            .get("deprecated")
            .is_none()
    );
    let meta_ok = &doc["paths"]["/bk_plugin/meta/"]["get"]["responses"]["200"]["content"]["application/json"]
        ["schema"]["properties"]["data"];
    assert_eq!(
        meta_ok["properties"]["versions"]["items"]["enum"],
        json!(["2.0.0", "1.1.0", "1.0.0"])
    );
    let detail_op = &doc["paths"]["/bk_plugin/detail/{version}"]["get"];
    assert!(
        detail_op["description"]
            .as_str()
            .unwrap()
            .contains(&format!("Version 0.1.0 is deprecated: {MESSAGE}")),
        "{detail_op}"
    );
    assert!(
        detail_op["parameters"][0]["schema"]["enum"]
            .as_array()
            .unwrap()
            .contains(&json!("0.1.0"))
    );
    assert!(doc["paths"]["/bk_plugin/versions/"]["get"].is_object());

    // The schema lock records the status.
    let lock = Lock::from_registry(bk_plugin_kit::registry());
    assert_eq!(
        lock.get("0.1.0").unwrap().deprecated.as_deref(),
        Some(MESSAGE)
    );
    assert_eq!(lock.get("1.0.0").unwrap().deprecated, None);
    assert!(
        lock.to_json_string()
            .contains(&format!("\"deprecated\": \"{MESSAGE}\""))
    );
}

/// Deprecating a locked version: `lock check` reports the status change as compatible, and
/// the update records it.
#[test]
fn the_lock_reports_and_records_a_deprecation() {
    let registry = bk_plugin_kit::registry();
    // The lock as it was before 0.1.0 was deprecated.
    let text = Lock::from_registry(registry)
        .to_json_string()
        .replace(&format!(",\n      \"deprecated\": \"{MESSAGE}\""), "");
    assert!(!text.contains("\"deprecated\""), "{text}");
    let mut lock = Lock::from_json_str(&text).unwrap();
    assert_eq!(lock.get("0.1.0").unwrap().deprecated, None);

    let error = lock.check(registry).unwrap_err();
    assert!(!error.is_breaking(), "{error}");
    assert_eq!(
        error.to_string(),
        format!(
            "0.1.0: deprecated: status changed from released to deprecated ({MESSAGE:?}) — \
             compatible; run with BK_PLUGIN_UPDATE_LOCK=1 to record it in the lock"
        )
    );
    lock.update(registry).unwrap();
    assert_eq!(
        lock.get("0.1.0").unwrap().deprecated.as_deref(),
        Some(MESSAGE)
    );
    assert_eq!(lock.check(registry), Ok(()));
}
