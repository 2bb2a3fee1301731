//! The schema lock end to end: released versions of the peer twins (`bk_plugin_tests::peer`)
//! are locked, then "edited in place" by plugins of this file declaring the same versions.
//!
//! Two `#[plugin]`s with one version cannot live in one crate (E0428), but this test file and
//! the `bk_plugin_tests` library are different crates. Both sides are built with
//! `Registry::of::<P>()`, never with the global `registry()` (which would reject the duplicate
//! versions linked into this binary).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

use bk_plugin_kit::Registry;
use bk_plugin_kit::serde_json::Value;
use bk_plugin_kit::versioning::{
    ChangeKind, Lock, LockFileError, LockMode, LockProblem, Section, check_lock_file,
};
use bk_plugin_tests::peer::{TrivialPlugin, TypedPlugin, WaitingPlugin};

fn registry_of<P: bk_plugin_kit::Plugin>() -> Registry {
    Registry::of::<P>().unwrap_or_else(|e| panic!("{e}"))
}

/// A fresh path for a lock file in the temp directory.
fn temp_lock(name: &str) -> PathBuf {
    bk_plugin_tests::support::temp_dir(&format!("versioning-{name}")).join("plugin.lock.json")
}

/// `peer::TrivialPlugin` (1.0.0) edited in place: `hello` lost its default, `world` became an
/// integer.
mod edited_1_0_0 {
    use bk_plugin_kit::prelude::*;

    /// 1.0.0 inputs.
    #[derive(Inputs)]
    pub struct HelloInputs {
        pub hello: String,
    }

    /// 1.0.0 outputs.
    #[derive(Outputs)]
    pub struct WorldOutputs {
        pub world: i64,
    }

    #[plugin(
        version = "1.0.0",
        desc = "trivial plugin, echoes inputs.hello into outputs.world"
    )]
    pub struct TrivialPlugin;

    impl Plugin for TrivialPlugin {
        type Inputs = HelloInputs;
        type ContextInputs = ();
        type Outputs = WorldOutputs;

        async fn execute(&self, _: HelloInputs, _: &mut Context<Self>) -> Result<(), PluginError> {
            Ok(())
        }
    }
}

/// `peer::TypedPlugin` (1.1.0) edited in place, every kind of change at once.
mod edited_1_1_0 {
    use bk_plugin_kit::prelude::*;
    use bk_plugin_kit::serde_json::{Map, Value};

    // Renamed from `Options`: a new definition name is not a change by itself. `name` is
    // gone, `timeout` is new. No doc comment, like the original.
    #[derive(Inputs)]
    pub struct RunOptions {
        pub value: String,
        pub timeout: Option<u32>,
    }

    /// 1.1.0 inputs.
    #[derive(Inputs)]
    pub struct TypedInputs {
        pub template_id: String,
        #[field(description = "name of the new task")]
        pub task_name: String,
        #[field(default, description = "global variables of the task")]
        pub constants: Map<String, Value>,
        pub options: RunOptions,
        #[field(default = false, description = "only pretend to run")]
        pub dry_run: bool,
        pub tag: Option<String>,
    }

    /// 1.1.0 context.
    #[derive(ContextInputs)]
    pub struct TypedContext {
        #[field(title = "business id", description = "business id in cmdb")]
        pub biz_cc_id: i64,
    }

    /// 1.1.0 outputs.
    #[derive(Outputs)]
    pub struct TypedOutputs {
        #[field(title = "task ID", description = "")]
        pub task_id: i64,
        pub finished_at: String,
    }

    #[plugin(version = "1.1.0", desc = "typed inputs, context inputs and outputs")]
    pub struct TypedPlugin;

    impl Plugin for TypedPlugin {
        type Inputs = TypedInputs;
        type ContextInputs = TypedContext;
        type Outputs = TypedOutputs;

        async fn execute(&self, _: TypedInputs, _: &mut Context<Self>) -> Result<(), PluginError> {
            Ok(())
        }
    }
}

/// `peer::WaitingPlugin` (2.0.0) with compatible changes only.
mod edited_2_0_0 {
    use bk_plugin_kit::prelude::*;
    use bk_plugin_kit::serde_json::{Map, Value};

    /// 2.0.0 inputs.
    #[derive(Inputs)]
    pub struct WaitingInputs {
        #[field(default = "poll", description = "poll | callback | fail")]
        pub mode: String,
        #[field(default = 1, description = "how many POLL re-runs before success")]
        pub polls: i64,
        #[field(default = 1, description = "seconds between polls")]
        pub interval: i64,
        pub label: Option<String>,
    }

    /// 2.0.0 outputs.
    #[derive(Outputs)]
    pub struct WaitingOutputs {
        #[field(title = "last phase")]
        pub phase: String,
        #[field(title = "how many times execute ran")]
        pub invoke_count: i64,
        #[field(default, title = "url to POST to (callback mode)")]
        pub callback_url: String,
        #[field(default, title = "body received by callback")]
        pub callback_data: Map<String, Value>,
        #[field(default, title = "seconds spent")]
        pub elapsed: i64,
    }

    #[plugin(version = "2.0.0", desc = "poll / callback demo, with a label")]
    pub struct WaitingPlugin;

    impl Plugin for WaitingPlugin {
        type Inputs = WaitingInputs;
        type ContextInputs = ();
        type Outputs = WaitingOutputs;

        async fn execute(
            &self,
            _: WaitingInputs,
            _: &mut Context<Self>,
        ) -> Result<(), PluginError> {
            Ok(())
        }
    }
}

#[test]
fn editing_released_1_0_0_in_place_fails_with_version_field_rule_and_fix() {
    let path = temp_lock("edit-1.0.0");
    Lock::from_registry(&registry_of::<TrivialPlugin>())
        .save(&path)
        .unwrap_or_else(|e| panic!("{e}"));
    let err = check_lock_file(
        &registry_of::<edited_1_0_0::TrivialPlugin>(),
        &path,
        LockMode::Check,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string().lines().collect::<Vec<_>>(),
        [
            format!("{} does not match the compiled plugins:", path.display()).as_str(),
            "1.0.0: inputs.hello: input became required — breaks \"adding a required input\"; \
             release it as 2.0.0 instead",
            "1.0.0: outputs.world: type changed from string to integer — breaks \"changing an \
             output's type\"; release it as 2.0.0 instead",
            "A released version must keep its inputs, context inputs, outputs and form \
             (docs/versioning.md). Breaking changes need a new version; new versions and \
             compatible changes are recorded by `BK_PLUGIN_UPDATE_LOCK=1 cargo test`.",
        ]
    );

    // The update never records them: the same lines, and the file is untouched.
    let before = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
    let err = check_lock_file(
        &registry_of::<edited_1_0_0::TrivialPlugin>(),
        &path,
        LockMode::Update,
    )
    .unwrap_err();
    let LockFileError::Mismatch { error, .. } = &err else {
        panic!("{err}");
    };
    assert!(error.is_breaking());
    assert_eq!(err.to_string().lines().count(), 4);
    assert_eq!(
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}")),
        before
    );
}

#[test]
fn every_kind_of_edit_to_1_1_0_is_named_and_classified() {
    let lock = Lock::from_registry(&registry_of::<TypedPlugin>());
    let err = lock
        .check(&registry_of::<edited_1_1_0::TypedPlugin>())
        .unwrap_err();
    assert_eq!(
        err.to_string().lines().collect::<Vec<_>>(),
        [
            "1.1.0: inputs.template_id: type changed from integer to string — breaks \"changing \
             the form data structure\"; release it as 2.0.0 instead",
            "1.1.0: inputs.task_name: description changed — compatible",
            "1.1.0: inputs.options.name: required input removed — breaks \"removing a required \
             input\"; release it as 2.0.0 instead",
            "1.1.0: inputs.options.timeout: optional input added — compatible",
            "1.1.0: inputs.dry_run: default changed from true to false — compatible, but running \
             invocations get the new default at their next resume",
            "1.1.0: inputs.tag: optional input added — compatible",
            "1.1.0: context_inputs.executor: required context input removed — breaks \"adding or \
             removing a required context input\"; release it as 2.0.0 instead",
            "1.1.0: outputs.task_id: title changed from \"task id\" to \"task ID\" — compatible",
            "1.1.0: outputs.task_url: output removed — breaks \"removing an output\"; release it \
             as 2.0.0 instead",
            "1.1.0: outputs.finished_at: output added — compatible",
            "1.1.0: desc: desc changed — compatible",
        ]
    );
    let [LockProblem::Changed { changes, .. }] = err.problems.as_slice() else {
        panic!("{err:?}");
    };
    let breaking: Vec<_> = changes
        .iter()
        .filter(|c| c.is_breaking())
        .map(|c| (c.section, c.path.as_str()))
        .collect();
    assert_eq!(
        breaking,
        [
            (Section::InputsSchema, "template_id"),
            (Section::InputsSchema, "options.name"),
            (Section::ContextInputsSchema, "executor"),
            (Section::OutputsSchema, "task_url"),
        ]
    );
}

#[test]
fn compatible_edits_fail_until_recorded_then_pass() {
    let path = temp_lock("compatible");
    Lock::from_registry(&registry_of::<WaitingPlugin>())
        .save(&path)
        .unwrap_or_else(|e| panic!("{e}"));
    let edited = registry_of::<edited_2_0_0::WaitingPlugin>();

    let err = check_lock_file(&edited, &path, LockMode::Check).unwrap_err();
    let text = err.to_string();
    let lines: Vec<_> = text.lines().skip(1).take(3).collect();
    assert_eq!(
        lines,
        [
            "2.0.0: inputs.label: optional input added — compatible; run with \
             BK_PLUGIN_UPDATE_LOCK=1 to record it in the lock",
            "2.0.0: outputs.elapsed: optional output added — compatible; run with \
             BK_PLUGIN_UPDATE_LOCK=1 \
             to record it in the lock",
            "2.0.0: desc: desc changed — compatible; run with BK_PLUGIN_UPDATE_LOCK=1 to record \
             it in the lock",
        ]
    );
    let LockFileError::Mismatch { error, .. } = &err else {
        panic!("{err}");
    };
    let [LockProblem::Changed { suggestion, .. }] = error.problems.as_slice() else {
        panic!("{error:?}");
    };
    assert_eq!(
        suggestion.as_ref().map(ToString::to_string).as_deref(),
        Some("2.1.0")
    );

    let recorded =
        check_lock_file(&edited, &path, LockMode::Update).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(recorded.len(), 3);
    assert!(
        recorded[0].ends_with(
            "plugin.lock.json: recorded 2.0.0: inputs.label: optional input added — compatible"
        ),
        "{recorded:?}"
    );
    assert_eq!(
        check_lock_file(&edited, &path, LockMode::Check).unwrap_or_else(|e| panic!("{e}")),
        Vec::<String>::new()
    );
    assert_eq!(
        Lock::load(&path).unwrap_or_else(|e| panic!("{e}")),
        Lock::from_registry(&edited)
    );
}

#[test]
fn new_versions_are_added_only_by_the_update_and_missing_ones_always_fail() {
    let path = temp_lock("new-and-missing");
    let old = registry_of::<TrivialPlugin>();
    let new = registry_of::<TypedPlugin>();

    // No file: check fails, update creates it.
    let err = check_lock_file(&old, &path, LockMode::Check).unwrap_err();
    assert!(matches!(err, LockFileError::NotFound { .. }), "{err}");
    assert!(err.to_string().ends_with(
        "plugin.lock.json does not exist; run `BK_PLUGIN_UPDATE_LOCK=1 cargo test` to create it \
         and check it in"
    ));
    let added = check_lock_file(&old, &path, LockMode::Update).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(added.len(), 1);
    assert!(
        added[0].ends_with("plugin.lock.json: added 1.0.0"),
        "{added:?}"
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
    assert!(text.starts_with("{\n  \"format\": 1,\n  \"versions\": {\n    \"1.0.0\": {"));
    assert!(text.ends_with("}\n"));

    // A binary with 1.1.0 instead of 1.0.0.
    let lock = Lock::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let err = lock.check(&new).unwrap_err();
    assert_eq!(
        err.to_string().lines().collect::<Vec<_>>(),
        [
            "1.0.0: locked version missing from the binary — callers pinned to it and its \
             running invocations fail; restore it, or delete it from the lock once nothing uses \
             it",
            "1.1.0: new version, not in the lock — run with BK_PLUGIN_UPDATE_LOCK=1 to add it",
        ]
    );
    // The update adds 1.1.0 and keeps 1.0.0, still failing for it.
    let err = check_lock_file(&new, &path, LockMode::Update).unwrap_err();
    let LockFileError::Mismatch { error, .. } = &err else {
        panic!("{err}");
    };
    assert!(
        matches!(error.problems.as_slice(), [LockProblem::Missing { version }] if version == "1.0.0")
    );
    let lock = Lock::load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(lock.versions().collect::<Vec<_>>(), ["1.1.0", "1.0.0"]);
}

#[test]
fn the_one_line_test_panics_with_the_report() {
    let path = temp_lock("one-line");
    Lock::from_registry(&registry_of::<TrivialPlugin>())
        .save(&path)
        .unwrap_or_else(|e| panic!("{e}"));
    let edited = registry_of::<edited_1_0_0::TrivialPlugin>();
    // Breaking, so it fails with or without BK_PLUGIN_UPDATE_LOCK.
    let panic = catch_unwind(AssertUnwindSafe(|| {
        bk_plugin_kit::testing::check_schema_lock(&edited, &path);
    }))
    .unwrap_err();
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        message.starts_with("schema lock check failed: "),
        "{message}"
    );
    assert!(
        message.contains(
            "\n1.0.0: inputs.hello: input became required — breaks \"adding a required input\"; \
             release it as 2.0.0 instead\n"
        ),
        "{message}"
    );
    // The unchanged plugin passes.
    bk_plugin_kit::testing::check_schema_lock(&registry_of::<TrivialPlugin>(), &path);
}

#[test]
fn a_lock_entry_equals_the_detail_it_was_made_from() {
    let registry = registry_of::<TypedPlugin>();
    let lock = Lock::from_registry(&registry);
    let detail = registry.detail("1.1.0").unwrap_or_else(|| unreachable!());
    let entry = lock.get("1.1.0").unwrap_or_else(|| unreachable!());
    assert_eq!(entry.inputs, detail["inputs"]);
    assert_eq!(entry.form_sha256, None);
    assert!(bk_plugin_kit::versioning::diff(&entry.to_json(), detail).is_empty());
    let c = bk_plugin_kit::versioning::diff(
        &entry.to_json(),
        registry_of::<edited_1_1_0::TypedPlugin>()
            .detail("1.1.0")
            .unwrap_or_else(|| unreachable!()),
    );
    assert_eq!(
        c[0].kind,
        ChangeKind::TypeChanged {
            old: "integer".into(),
            new: "string".into()
        }
    );
}

#[test]
fn a_lock_holding_the_form_text_checks_like_its_hash_and_keeps_the_text() {
    let path = temp_lock("form-text");
    let registry = registry_of::<TrivialPlugin>();
    let detail = registry.detail("1.0.0").unwrap_or_else(|| unreachable!());
    let form = detail["forms"]["renderform"]
        .as_str()
        .unwrap_or_else(|| unreachable!())
        .to_owned();
    // The lock the template ships: the form's text in place of its hash, and (to be recorded)
    // an older desc.
    let hashed = Lock::from_registry(&registry).to_json_string();
    let text = hashed
        .replace(
            &format!(
                "\"form_sha256\": \"{}\"",
                bk_plugin_kit::versioning::sha256_hex(&form)
            ),
            &format!("\"form\": {}", Value::String(form.clone())),
        )
        .replace("trivial plugin, echoes", "trivial plugin, copies");
    assert_ne!(text, hashed);
    std::fs::write(&path, &text).unwrap_or_else(|e| panic!("{e}"));
    let lock = Lock::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let entry = lock.get("1.0.0").unwrap_or_else(|| unreachable!());
    assert_eq!(entry.form.as_deref(), Some(form.as_str()));
    assert_eq!(
        entry.form_hash(),
        Lock::from_registry(&registry)
            .get("1.0.0")
            .and_then(|e| e.form_sha256.clone())
    );

    // Only the desc differs: the form's text is the compiled form.
    let err = check_lock_file(&registry, &path, LockMode::Check).unwrap_err();
    let LockFileError::Mismatch { error, .. } = &err else {
        panic!("{err}");
    };
    let [LockProblem::Changed { changes, .. }] = error.problems.as_slice() else {
        panic!("{error:?}");
    };
    assert_eq!(
        changes.iter().map(|c| c.path.as_str()).collect::<Vec<_>>(),
        ["desc"]
    );

    // Recording it keeps the text.
    check_lock_file(&registry, &path, LockMode::Update).unwrap_or_else(|e| panic!("{e}"));
    let updated = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        updated,
        text.replace("trivial plugin, copies", "trivial plugin, echoes")
    );
    check_lock_file(&registry, &path, LockMode::Check).unwrap_or_else(|e| panic!("{e}"));

    // An edited form fails as with a hash.
    let edited = updated.replace(&Value::String(form.clone()).to_string(), "\"[]\"");
    assert_ne!(edited, updated);
    std::fs::write(&path, &edited).unwrap_or_else(|e| panic!("{e}"));
    let err = check_lock_file(&registry, &path, LockMode::Check).unwrap_err();
    assert!(
        err.to_string().contains(
            "\n1.0.0: forms.renderform: form changed — breaks \"changing the form data \
             structure\"; release it as 2.0.0 instead\n"
        ),
        "{err}"
    );
}
