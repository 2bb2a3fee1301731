//! Version 1.0.0: the plugin from the README, polling until the task ends.

use bk_plugin_kit::prelude::*;
use bk_plugin_kit::serde_json;
use std::time::Duration;

/// Inputs of the SOPS task plugin (end user fills these in).
#[derive(Inputs)]
pub struct ExecInputs {
    /// Template to instantiate.
    pub template_id: i64,
    pub task_name: String,
    /// Global constants of the task.
    #[field(default)]
    pub constants: serde_json::Map<String, serde_json::Value>,
    pub options: ExecOptions, // nested model
    pub tag: Option<String>,  // optional field
}

#[derive(Inputs)]
pub struct ExecOptions {
    pub name: String,
    pub value: String,
}

/// Supplied by the calling system, not the end user.
#[derive(ContextInputs)]
pub struct ExecContext {
    #[field(title = "业务 cc id", description = "业务在 cmdb 中的 id")]
    pub biz_cc_id: i64,
    #[field(title = "任务执行人")]
    pub executor: String,
}

#[derive(Outputs)]
pub struct ExecOutputs {
    #[field(title = "标准运维任务 ID")]
    pub task_id: i64,
    #[field(title = "标准运维任务 URL")]
    pub task_url: String,
}

/// Creates a SOPS task and polls it until it ends.
#[plugin(version = "1.0.0", desc = "Run a SOPS task")]
pub struct SopsExec;

impl Plugin for SopsExec {
    type Inputs = ExecInputs;
    type ContextInputs = ExecContext;
    type Outputs = ExecOutputs;

    async fn execute(
        &self,
        inputs: ExecInputs,
        ctx: &mut Context<Self>,
    ) -> Result<(), PluginError> {
        match ctx.state() {
            State::Empty => {
                ctx.storage_mut().insert("task_id".into(), 42.into());
                ctx.wait_poll(Duration::from_secs(5));
            }
            State::Poll => ctx.set_outputs(ExecOutputs {
                task_id: 42,
                task_url: inputs.task_name,
            })?,
            other => return Err(PluginError::new(format!("unexpected state {other:?}"))),
        }
        Ok(())
    }
}
