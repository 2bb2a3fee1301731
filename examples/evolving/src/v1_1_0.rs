//! Version 1.1.0: compatible with 1.0.0, released as a minor version.
//!
//! Against 1.0.0 it adds an input that is not required (`tag`) and an output (`task_url`).
//! Both are "safe in place" (docs/versioning.md), so `suggest_bump` proposes 1.1.0. It is a
//! new version anyway, not an edit of 1.0.0: the lock keeps released versions unchanged, and
//! callers choose when to move. It keeps the form of 1.0.0, because the lock treats every
//! `form.js` edit as breaking; `tag` is set through a variable or left out.

use bk_plugin_kit::prelude::*;
use std::time::Duration;

pub use crate::v1_0_0::DeployContext;

/// Inputs of version 1.1.0: those of 1.0.0 plus an optional `tag`.
#[derive(Inputs)]
pub struct DeployInputs {
    /// Name of the deploy task to create.
    #[field(title = "Task name")]
    pub task_name: String,
    /// Seconds between two polls of the task.
    #[field(title = "Poll interval", default = 10)]
    pub poll_interval: u32,
    /// Tag the task with this label. New in 1.1.0, not required.
    #[field(title = "Tag")]
    pub tag: Option<String>,
}

/// Outputs of version 1.1.0: those of 1.0.0 plus `task_url`.
#[derive(Outputs)]
pub struct DeployOutputs {
    #[field(title = "Task ID")]
    pub task_id: i64,
    /// New in 1.1.0.
    #[field(title = "Task URL")]
    pub task_url: String,
}

/// Creates a deploy task, optionally tagged, and polls it until it ends.
#[plugin(version = "1.1.0", desc = "Deploy", form = "forms/1.x/form.js")]
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
                ctx.storage_mut().insert("task_id".into(), 42.into());
                if let Some(tag) = inputs.tag {
                    ctx.storage_mut().insert("tag".into(), tag.into());
                }
                ctx.wait_poll(Duration::from_secs(inputs.poll_interval.into()));
                Ok(())
            }
            State::Poll => {
                let task_id = ctx.storage()["task_id"]
                    .as_i64()
                    .ok_or_else(|| PluginError::new("no task id in storage"))?;
                let task_url = format!("https://deploy.example.invalid/tasks/{task_id}");
                ctx.set_outputs(DeployOutputs { task_id, task_url })
            }
            other => Err(PluginError::new(format!("unexpected state {other:?}"))),
        }
    }
}
