//! The three versions of the evolving plugin: each runs on the real engine, the lock holds all
//! three, and the classification agrees with the version numbers chosen.

use std::time::Duration;

use bk_plugin_kit::serde_json::{Value, json};
use bk_plugin_kit::testing::{self, TestRunner};
use bk_plugin_kit::versioning::{ChangeKind, Section, diff, rules, suggest_bump};
use bk_plugin_kit::{State, registry};
use evolving::{v1_0_0, v1_1_0, v2_0_0};

fn context() -> Value {
    json!({"executor": "admin"})
}

#[test]
fn all_three_versions_are_served_newest_first() {
    assert_eq!(
        registry().versions().collect::<Vec<_>>(),
        ["2.0.0", "1.1.0", "1.0.0"]
    );
}

#[test]
fn v1_0_0_polls_then_succeeds() {
    let runner = TestRunner::<v1_0_0::Deploy>::new();
    let mut run = runner.invoke(json!({"task_name": "deploy"}), context());
    assert_eq!(run.state(), State::Poll);
    assert_eq!(run.last().poll_interval, Some(Duration::from_secs(10)));
    run.finish();
    assert_eq!(run.states(), [State::Poll, State::Success]);
    assert_eq!(Value::Object(run.outputs()), json!({"task_id": 42}));
}

#[test]
fn v1_1_0_accepts_what_v1_0_0_callers_send_and_adds_an_output() {
    let runner = TestRunner::<v1_1_0::Deploy>::new();
    // A 1.0.0 caller's inputs, without the new optional `tag`, are still valid.
    let mut run = runner.invoke(
        json!({"task_name": "deploy", "poll_interval": "3"}),
        context(),
    );
    assert_eq!(run.last().poll_interval, Some(Duration::from_secs(3)));
    run.finish();
    assert_eq!(
        Value::Object(run.outputs()),
        json!({"task_id": 42, "task_url": "https://deploy.example.invalid/tasks/42"})
    );

    let tagged = runner.invoke(json!({"task_name": "deploy", "tag": "canary"}), context());
    assert_eq!(tagged.storage()["tag"], "canary");
}

#[test]
fn v2_0_0_requires_biz_id_and_outputs_a_string_task_id() {
    let runner = TestRunner::<v2_0_0::Deploy>::new();
    // What a 1.x caller sends fails 2.0.0's validation: the reason 2.0.0 is a new version.
    let old = runner.invoke(json!({"task_name": "deploy"}), context());
    assert_eq!(old.state(), State::Fail);
    assert_eq!(
        old.err(),
        Some(
            "inputs validation error: 1 validation error for Inputs\nbiz_id\n  field required (type=value_error.missing)"
        )
    );

    let mut run = runner.invoke(json!({"biz_id": 7, "task_name": "deploy"}), context());
    run.finish();
    assert_eq!(run.states(), [State::Poll, State::Success]);
    assert_eq!(run.outputs()["task_id"], "7-42");
    assert_eq!(
        run.outputs()["task_url"],
        "https://deploy.example.invalid/biz/7/tasks/7-42"
    );
}

/// 1.0.0 → 1.1.0 only adds what no caller can miss; 1.1.0 → 2.0.0 breaks three rules.
#[test]
fn classification_agrees_with_the_version_numbers() {
    let detail = |v| registry().detail(v).unwrap();
    let semver = |v| registry().get(v).unwrap().semver();

    let minor = diff(detail("1.0.0"), detail("1.1.0"));
    let found: Vec<_> = minor.iter().map(|c| (c.location(), &c.kind)).collect();
    assert_eq!(
        found,
        [
            ("inputs.tag".to_owned(), &ChangeKind::OptionalAdded),
            ("outputs.task_url".to_owned(), &ChangeKind::RequiredAdded),
        ]
    );
    assert!(minor.iter().all(|c| !c.is_breaking()), "{minor:#?}");
    assert_eq!(
        suggest_bump(semver("1.0.0"), &minor).unwrap().to_string(),
        "1.1.0"
    );

    let major = diff(detail("1.1.0"), detail("2.0.0"));
    let breaking: Vec<_> = major
        .iter()
        .filter(|c| c.is_breaking())
        .map(|c| (c.section, c.path.as_str(), c.rule.unwrap()))
        .collect();
    assert_eq!(
        breaking,
        [
            (Section::InputsSchema, "biz_id", rules::ADD_REQUIRED_INPUT),
            (Section::OutputsSchema, "task_id", rules::CHANGE_OUTPUT_TYPE),
            (
                Section::Form,
                "renderform",
                rules::CHANGE_FORM_DATA_STRUCTURE
            ),
        ]
    );
    let lines: Vec<_> = major.iter().map(ToString::to_string).collect();
    assert!(lines.contains(
        &"outputs.task_id: type changed from integer to string — breaks \"changing an output's type\""
            .to_owned()
    ));
    assert_eq!(
        suggest_bump(semver("1.1.0"), &major).unwrap().to_string(),
        "2.0.0"
    );
}

/// Released versions keep their schemas: `plugin.lock.json` holds all three. A new version is
/// recorded with `BK_PLUGIN_UPDATE_LOCK=1 cargo test -p evolving`.
#[test]
fn schema_lock_is_current() {
    testing::check_schema_lock(
        registry(),
        concat!(env!("CARGO_MANIFEST_DIR"), "/plugin.lock.json"),
    );
}
