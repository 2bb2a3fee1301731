//! Version 1.0.0: the first release.

use bk_plugin_kit::prelude::*;
use std::time::Duration;

/// Inputs of version 1.0.0.
#[derive(Inputs)]
pub struct DeployInputs {
    /// Name of the deploy task to create.
    #[field(title = "Task name")]
    pub task_name: String,
    /// Seconds between two polls of the task.
    #[field(title = "Poll interval", default = 10)]
    pub poll_interval: u32,
}

/// Supplied by the calling system, the same in every version of this plugin.
#[derive(ContextInputs)]
pub struct DeployContext {
    #[field(title = "Executor")]
    pub executor: String,
}

/// Outputs of version 1.0.0.
#[derive(Outputs)]
pub struct DeployOutputs {
    #[field(title = "Task ID")]
    pub task_id: i64,
}

/// Creates a deploy task and polls it until it ends.
#[plugin(version = "1.0.0", desc = "Deploy", form = "forms/1.x/form.js")]
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
                // A real plugin would create the task here.
                ctx.storage_mut().insert("task_id".into(), 42.into());
                ctx.wait_poll(Duration::from_secs(inputs.poll_interval.into()));
                Ok(())
            }
            State::Poll => {
                let task_id = ctx.storage()["task_id"]
                    .as_i64()
                    .ok_or_else(|| PluginError::new("no task id in storage"))?;
                ctx.set_outputs(DeployOutputs { task_id })
            }
            other => Err(PluginError::new(format!("unexpected state {other:?}"))),
        }
    }
}
