//! Version 2.0.0: breaking, released as a new major version.
//!
//! Against 1.1.0 it adds a required input (`biz_id`), changes the output `task_id` from an
//! integer to a string (the deploy system moved to string ids), and has a new form with the
//! `biz_id` field. Each of these breaks a rule of docs/versioning.md: a stored 1.1.0
//! invocation has no `biz_id` and would fail at its next resume, and callers reading
//! `task_id` as a number would break. So 1.0.0 and 1.1.0 stay as they are, next to 2.0.0.

use bk_plugin_kit::prelude::*;
use std::time::Duration;

pub use crate::v1_0_0::DeployContext;

/// Inputs of version 2.0.0.
#[derive(Inputs)]
pub struct DeployInputs {
    /// Business the task belongs to. New in 2.0.0, **required**.
    #[field(title = "Business ID")]
    pub biz_id: i64,
    /// Name of the deploy task to create.
    #[field(title = "Task name")]
    pub task_name: String,
    /// Seconds between two polls of the task.
    #[field(title = "Poll interval", default = 10)]
    pub poll_interval: u32,
    /// Tag the task with this label.
    #[field(title = "Tag")]
    pub tag: Option<String>,
}

/// Outputs of version 2.0.0.
#[derive(Outputs)]
pub struct DeployOutputs {
    /// A string since 2.0.0 (an integer before).
    #[field(title = "Task ID")]
    pub task_id: String,
    #[field(title = "Task URL")]
    pub task_url: String,
}

/// Creates a deploy task in a business and polls it until it ends.
#[plugin(version = "2.0.0", desc = "Deploy")]
pub struct Deploy;

impl Plugin for Deploy {
    type Inputs = DeployInputs;
    type ContextInputs = DeployContext;
    type Outputs = DeployOutputs;

    async fn execute(
        &self,
        inputs: DeployInputs,
        ctx: &mut Context<Self>,
    ) -> Result<(), PluginError> {
        match ctx.state() {
            State::Empty => {
                let task_id = format!("{}-42", inputs.biz_id);
                ctx.storage_mut().insert("task_id".into(), task_id.into());
                ctx.wait_poll(Duration::from_secs(inputs.poll_interval.into()));
                Ok(())
            }
            State::Poll => {
                let task_id = ctx.storage()["task_id"]
                    .as_str()
                    .ok_or_else(|| PluginError::new("no task id in storage"))?
                    .to_owned();
                let task_url = format!(
                    "https://deploy.example.invalid/biz/{}/tasks/{task_id}",
                    inputs.biz_id
                );
                ctx.set_outputs(DeployOutputs { task_id, task_url })
            }
            other => Err(PluginError::new(format!("unexpected state {other:?}"))),
        }
    }
}
