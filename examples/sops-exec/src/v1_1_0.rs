//! Version 1.1.0: waits for SOPS to call back instead of polling, reads its configuration
//! once at startup, and reports its own end to its caller (`enable_plugin_callback`).

use bk_plugin_kit::prelude::*;

pub use crate::v1_0_0::{ExecInputs, ExecOutputs};

/// Supplied by the calling system. `plugin_callback_info` receives the caller's finish
/// callback (required by `enable_plugin_callback = true`).
#[derive(ContextInputs)]
pub struct CallbackContext {
    #[field(title = "业务 cc id", description = "业务在 cmdb 中的 id")]
    pub biz_cc_id: i64,
    #[field(title = "任务执行人")]
    pub executor: String,
    pub plugin_callback_info: Option<PluginCallbackInfo>,
}

/// Creates a SOPS task and waits for its callback.
#[plugin(
    version = "1.1.0",
    desc = "Run a SOPS task and wait for its callback",
    enable_plugin_callback = true,
    form = "forms/callback/form.js",
    init = SopsCallbackExec::from_env
)]
pub struct SopsCallbackExec {
    /// Base URL of SOPS, read once at startup (like a Python plugin's `__init__`).
    sops_url: String,
}

impl SopsCallbackExec {
    /// Reads `SOPS_URL` (default `https://sops.example.invalid`).
    pub fn from_env() -> Result<Self, PluginError> {
        let sops_url =
            std::env::var("SOPS_URL").unwrap_or_else(|_| "https://sops.example.invalid".into());
        if !sops_url.starts_with("http") {
            return Err(PluginError::new(format!(
                "SOPS_URL must be an http(s) URL, got {sops_url:?}"
            )));
        }
        Ok(SopsCallbackExec { sops_url })
    }
}

impl Plugin for SopsCallbackExec {
    type Inputs = ExecInputs;
    type ContextInputs = CallbackContext;
    type Outputs = ExecOutputs;

    async fn execute(
        &self,
        inputs: ExecInputs,
        ctx: &mut Context<Self>,
    ) -> Result<(), PluginError> {
        match ctx.state() {
            State::Empty => {
                // A real plugin would create the task here and hand SOPS this URL.
                let callback = ctx.prepare_callback()?;
                ctx.storage_mut()
                    .insert("callback_id".into(), callback.id.into());
                ctx.outputs_mut()
                    .insert("callback_url".into(), callback.url.into());
                ctx.wait_callback();
                Ok(())
            }
            State::Callback => {
                let callback = ctx
                    .callback()
                    .ok_or_else(|| PluginError::new("resumed without callback data"))?;
                let task_id = callback.data["task_id"]
                    .as_i64()
                    .ok_or_else(|| PluginError::new("callback data has no integer task_id"))?;
                let task_url = format!(
                    "{}/taskflow/execute/{task_id}/?name={}",
                    self.sops_url, inputs.task_name
                );
                ctx.set_outputs(ExecOutputs { task_id, task_url })
            }
            other => Err(PluginError::new(format!("unexpected state {other:?}"))),
        }
    }
}
