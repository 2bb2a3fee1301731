//! InputsForm and Python-spelled versions, against the Python peer: `detail` of the Rust twins
//! equals what the peer served for `fixtures/peer-forms/versions/*.py` (captured with
//! `fixtures/peer-forms/capture.py`), key order included; `meta` and the HTTP routes serve
//! the version under the text the author wrote.

use bk_plugin_kit::http::Server;
use bk_plugin_kit::prelude::*;
use bk_plugin_kit::registry;
use bk_plugin_kit::serde_json::{self, Value, json};
use bk_plugin_tests::peer::{HelloInputs, WorldOutputs};
use bk_plugin_tests::server::{dev_config, serve};
use bk_plugin_tests::support::fixture;

// ---- 1.2.0: an InputsForm. No doc comments: the peer's fields have no descriptions. ----

#[derive(Inputs)]
pub struct Target {
    pub host: String,
}

#[derive(Inputs)]
pub struct FormInputs {
    #[field(form = {
        "ui:component": {"name": "bk-input", "props": {"placeholder": "task name"}},
        "ui:rules": ["required"],
    })]
    pub task_name: String,
    // The peer's InputsForm overwrites the title ("business") with dict.update; here the
    // title is the field's own.
    #[field(title = "业务", form = {"ui:component": {"name": "bk-select"}})]
    pub biz_id: i64,
    #[field(
        default = "fast",
        description = "how to run",
        form = {"ui:props": {"options": [
            {"label": "fast", "value": "fast"},
            {"label": "slow", "value": "slow"},
        ]}}
    )]
    pub mode: String,
    #[field(form = {"ui:component": {"name": "bk-target"}})]
    pub target: Target,
    #[field(
        title = "source",
        form = {
            "ui:component": {"name": "bk-target"},
            "ui:props": {"max": 1.5, "min": -2, "clearable": true, "hint": null},
        }
    )]
    pub source: Target,
    #[field(default, form = {"ui:component": {"name": "bk-tag-input"}})]
    pub hosts: Vec<String>,
    #[field(default)]
    pub note: String,
}

#[derive(Outputs)]
pub struct OkOutputs {
    pub ok: bool,
}

#[plugin(version = "1.2.0", desc = "inputs with an InputsForm")]
pub struct FormPlugin;

impl Plugin for FormPlugin {
    type Inputs = FormInputs;
    type ContextInputs = ();
    type Outputs = OkOutputs;

    async fn execute(&self, _: FormInputs, ctx: &mut Context<Self>) -> Result<(), PluginError> {
        ctx.set_outputs(OkOutputs { ok: true })
    }
}

// ---- 1.2.0rc1: the Python framework's spelling of a pre-release ----

#[plugin(version = "1.2.0rc1", desc = "pre-release spelled the Python way")]
pub struct PreReleasePlugin;

impl Plugin for PreReleasePlugin {
    type Inputs = HelloInputs;
    type ContextInputs = ();
    type Outputs = WorldOutputs;

    async fn execute(
        &self,
        inputs: HelloInputs,
        ctx: &mut Context<Self>,
    ) -> Result<(), PluginError> {
        ctx.set_outputs(WorldOutputs {
            world: inputs.hello,
        })
    }
}

fn peer(case: &str) -> Value {
    fixture(&format!("peer-forms/{case}.json"))
}

fn assert_same_text(actual: &Value, expected: &Value) {
    assert_eq!(actual, expected);
    // Key order too: `ui:*` keys follow the schema's keys, as dict.update appends them.
    assert_eq!(
        serde_json::to_string(actual).unwrap(),
        serde_json::to_string(expected).unwrap()
    );
}

#[test]
fn inputs_form_detail_equals_the_peer() {
    assert_same_text(
        registry().detail("1.2.0").unwrap(),
        &peer("detail_1.2.0")["data"],
    );
}

#[test]
fn python_spelled_version_detail_equals_the_peer() {
    assert_same_text(
        registry().detail("1.2.0rc1").unwrap(),
        &peer("detail_1.2.0rc1")["data"],
    );
    // The peer answers 404 for the other spelling; so does the registry.
    assert_eq!(peer("detail_1.2.0-rc1"), Value::Null);
    assert!(registry().detail("1.2.0-rc1").is_none());
}

/// The peer sorts version strings in reverse (`1.2.0rc1` before `1.2.0`); the registry sorts
/// semantic versions, so the release comes before its pre-release. Same texts otherwise.
fn semver_order_of_the_peers_versions() -> Value {
    let peer_versions = peer("meta")["data"]["versions"].clone();
    assert_eq!(
        peer_versions,
        json!(["2.0.0", "1.2.0rc1", "1.2.0", "1.1.0", "1.0.0"])
    );
    json!(["2.0.0", "1.2.0", "1.2.0rc1", "1.1.0", "1.0.0"])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn served_over_http_under_the_text_as_written() {
    let base = serve(Server::new(dev_config())).await;
    let client = reqwest::Client::new();
    let get = |path: &str| {
        let request = client.get(format!("{base}/bk_plugin/{path}"));
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    let json = |text: &str| serde_json::from_str::<Value>(text).unwrap();

    for version in ["1.2.0", "1.2.0rc1"] {
        let (status, text) = get(&format!("detail/{version}")).await;
        assert_eq!(status, 200, "detail/{version}");
        assert_same_text(&json(&text), &peer(&format!("detail_{version}")));
    }
    assert_eq!(get("detail/1.2.0-rc1").await, (404, String::new()));

    let (status, meta) = get("meta/").await;
    assert_eq!(status, 200);
    assert_eq!(
        json(&meta)["data"]["versions"],
        semver_order_of_the_peers_versions()
    );

    let invoked = client
        .post(format!("{base}/bk_plugin/invoke/1.2.0rc1"))
        .json(&json!({"inputs": {"hello": "rc"}, "context": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(invoked.status().as_u16(), 200);
    let body: Value = invoked.json().await.unwrap();
    assert_eq!(body["data"]["state"], 4);
    assert_eq!(body["data"]["outputs"], json!({"world": "rc"}));
}

#[test]
fn the_lock_keeps_the_texts_and_records_the_form() {
    use bk_plugin_kit::versioning::{ChangeKind, Lock, diff};

    let lock = Lock::from_registry(registry());
    assert!(lock.check(registry()).is_ok());
    // Keyed by the text as written, newest first by semantic version, read back unchanged.
    let text = lock.to_json_string();
    let keys: Vec<String> = serde_json::from_str::<Value>(&text).unwrap()["versions"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(keys, ["2.0.0", "1.2.0", "1.2.0rc1", "1.1.0", "1.0.0"]);
    assert_eq!(Lock::from_json_str(&text), Ok(lock.clone()));

    // An edited `ui:rules` is a form change, breaking; the field's type is unchanged.
    let locked = lock.get("1.2.0").unwrap().to_json();
    let mut edited = registry().detail("1.2.0").unwrap().clone();
    edited["inputs"]["properties"]["task_name"]["ui:rules"] = json!([]);
    let changes = diff(&locked, &edited);
    assert_eq!(changes.len(), 1, "{changes:#?}");
    assert_eq!(
        changes[0].kind,
        ChangeKind::FieldFormChanged {
            keys: vec!["ui:rules".into()]
        }
    );
    assert_eq!(
        changes[0].to_string(),
        "inputs.task_name: form key ui:rules changed — breaks \"changing the form data structure\""
    );
}
