//! `detail` JSON of the Rust twins equals what the Python peer served for the same models
//! (`fixtures/peer/detail_*.json`), key order included.

use bk_plugin_kit::registry;
use bk_plugin_kit::serde_json;
use bk_plugin_tests::support::fixture;

fn assert_detail(version: &str) {
    let expected = &fixture(&format!("peer/detail_{version}.json"))["data"];
    let actual = registry().detail(version).expect("version registered");
    assert_eq!(actual, expected, "detail {version} differs from the peer");
    // Same text too: key order matters to people diffing the two servers.
    assert_eq!(
        serde_json::to_string(actual).unwrap(),
        serde_json::to_string(expected).unwrap()
    );
}

#[test]
fn detail_1_0_0_matches_peer_including_form() {
    assert_detail("1.0.0");
    // forms/1.0.0/form.js next to Cargo.toml was picked up by convention.
    let form = registry().detail("1.0.0").unwrap()["forms"]["renderform"].clone();
    assert!(
        form.as_str()
            .unwrap()
            .contains("minimal renderform for version 1.0.0")
    );
}

#[test]
fn detail_1_1_0_matches_peer() {
    assert_detail("1.1.0");
}

#[test]
fn detail_2_0_0_matches_peer() {
    assert_detail("2.0.0");
}

#[test]
fn empty_models_give_the_peer_empty_schema() {
    let detail = registry().detail("2.0.0").unwrap();
    assert_eq!(
        detail["context_inputs"],
        serde_json::json!({"type": "object", "properties": {}, "required": [], "definitions": {}})
    );
}

#[test]
fn meta_lists_versions_like_the_peer() {
    let expected = fixture("peer/meta.json");
    let meta = registry().meta_with(
        "bk-plugin-peer",
        "local peer plugin used to record reference responses",
        &serde_json::json!({}),
    );
    assert_eq!(meta["versions"], expected["data"]["versions"]);
    assert_eq!(meta["code"], expected["data"]["code"]);
    assert_eq!(meta["description"], expected["data"]["description"]);
    assert_eq!(meta["language"], "rust");
    assert_eq!(meta["allow_scope"], expected["data"]["allow_scope"]);
    let keys: Vec<_> = meta.as_object().unwrap().keys().collect();
    let peer_keys: Vec<_> = expected["data"].as_object().unwrap().keys().collect();
    assert_eq!(keys, peer_keys);
}
