//! What happens when a released version is edited in place instead of being released as a
//! new one: the schema lock names the version, the field, the rule and the fix.
//!
//! `EditedV100` is version 1.0.0 with two edits: `poll_interval` lost its default (so it
//! became required) and `task_id` became a string. It lives in this test crate because two
//! `#[plugin(version = "1.0.0")]` in one crate are a compile error. This binary therefore links
//! two 1.0.0s and must not build the process-wide `registry()`; it uses `Registry::of`.

use bk_plugin_kit::Registry;
use bk_plugin_kit::testing::TestRunner;
use bk_plugin_kit::versioning::{Lock, LockMode, check_lock_file};
use bk_plugin_kit::{State, serde_json::json};

mod edited {
    //! A copy of `evolving::v1_0_0`, edited in place.

    use bk_plugin_kit::prelude::*;
    use std::time::Duration;

    pub use evolving::v1_0_0::DeployContext;

    #[derive(Inputs)]
    pub struct DeployInputs {
        /// Name of the deploy task to create.
        #[field(title = "Task name")]
        pub task_name: String,
        /// Seconds between two polls of the task.
        #[field(title = "Poll interval")] // edit 1: `default = 10` removed
        pub poll_interval: u32,
    }

    #[derive(Outputs)]
    pub struct DeployOutputs {
        #[field(title = "Task ID")]
        pub task_id: String, // edit 2: was i64
    }

    #[plugin(version = "1.0.0", desc = "Deploy", form = "forms/1.x/form.js")]
    pub struct EditedV100;

    impl Plugin for EditedV100 {
        type Inputs = DeployInputs;
        type ContextInputs = DeployContext;
        type Outputs = DeployOutputs;

        async fn execute(
            &self,
            inputs: DeployInputs,
            ctx: &mut Context<Self>,
        ) -> Result<(), PluginError> {
            if ctx.state() == State::Empty {
                ctx.wait_poll(Duration::from_secs(inputs.poll_interval.into()));
                return Ok(());
            }
            ctx.set_outputs(DeployOutputs {
                task_id: "42".into(),
            })
        }
    }
}

use edited::EditedV100;

/// The released 1.0.0, as `plugin.lock.json` records it.
fn released_lock() -> Lock {
    let released = Registry::of::<evolving::v1_0_0::Deploy>().unwrap();
    Lock::from_registry(&released)
}

#[test]
fn the_lock_names_version_field_rule_and_fix() {
    let edited = Registry::of::<EditedV100>().unwrap();
    let error = released_lock().check(&edited).unwrap_err();
    assert!(error.is_breaking());
    assert_eq!(
        error.to_string(),
        "1.0.0: inputs.poll_interval: input became required — breaks \"adding a required input\"; release it as 2.0.0 instead\n\
         1.0.0: outputs.task_id: type changed from integer to string — breaks \"changing an output's type\"; release it as 2.0.0 instead"
    );
}

#[test]
fn the_lock_file_check_fails_and_update_refuses_to_record_it() {
    let dir = std::env::temp_dir().join(format!("evolving-edited-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(Lock::FILE_NAME);
    released_lock().save(&path).unwrap();
    let before = std::fs::read_to_string(&path).unwrap();
    let edited = Registry::of::<EditedV100>().unwrap();

    // What `cargo test` prints for the one-line `check_schema_lock` test.
    let message = check_lock_file(&edited, &path, LockMode::Check)
        .unwrap_err()
        .to_string();
    assert!(message.contains("does not match the compiled plugins:\n1.0.0: inputs.poll_interval: input became required"), "{message}");
    assert!(
        message.contains("Breaking changes need a new version"),
        "{message}"
    );

    // `BK_PLUGIN_UPDATE_LOCK=1` does not record a breaking change either.
    let message = check_lock_file(&edited, &path, LockMode::Update)
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("breaking changes are never recorded"),
        "{message}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Why the rule exists: an invocation started with 1.0.0's inputs (no `poll_interval`, the
/// default filled it in) would fail with the edited code. TestRunner shows it on a new invoke.
#[test]
fn callers_of_the_released_version_break() {
    let runner = TestRunner::<EditedV100>::new();
    let run = runner.invoke(json!({"task_name": "deploy"}), json!({"executor": "admin"}));
    assert_eq!(run.state(), State::Fail);
    assert!(
        run.err()
            .unwrap()
            .ends_with("poll_interval\n  field required (type=value_error.missing)"),
        "{:?}",
        run.err()
    );
}
