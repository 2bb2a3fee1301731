//! Version 1.3.0: as 1.2.0, creating the task with the user's own SOPS API token (a `Secret`: a
//! password box in SOPS, sealed at rest while the task is polled), with the form widgets of an
//! InputsForm, and polling the task until it ends.

use std::time::Duration;

use bk_plugin_kit::prelude::*;

pub use crate::v1_0_0::{ExecContext, ExecOutputs};
pub use crate::v1_2_0::Priority;

#[derive(Inputs)]
pub struct TokenInputs {
    /// Template to instantiate.
    #[field(form = {
        "ui:component": {"name": "bk-select", "props": {"searchable": true}},
        "ui:rules": ["required"],
    })]
    pub template_id: i64,
    #[field(min_length = 1, max_length = 64, form = {
        "ui:component": {"name": "bk-input", "props": {"placeholder": "deploy-2026-12"}},
    })]
    pub task_name: String,
    #[field(default = Priority::Normal, form = {"ui:component": {"name": "bk-radio-group"}})]
    pub priority: Priority,
    /// Your SOPS API token: the task is created in your name.
    #[field(form = {"ui:rules": ["required"]})]
    pub api_token: Secret,
}

/// Creates the SOPS task with the caller's token, then polls it until it ends (the SOPS calls
/// are simulated: the token must merely be given).
#[plugin(
    version = "1.3.0",
    desc = "Run a SOPS task with your API token, a priority and form widgets"
)]
pub struct SopsTokenExec;

impl Plugin for SopsTokenExec {
    type Inputs = TokenInputs;
    type ContextInputs = ExecContext;
    type Outputs = ExecOutputs;

    async fn execute(
        &self,
        inputs: TokenInputs,
        ctx: &mut Context<Self>,
    ) -> Result<(), PluginError> {
        // A real plugin sends the token to SOPS here (an `Authorization` header); it never
        // writes it to the storage, an output or a log line.
        if inputs.api_token.is_empty() {
            return Err(PluginError::new("api_token is empty"));
        }
        match ctx.state() {
            State::Empty => {
                let priority = Choice::value(&inputs.priority).to_json();
                ctx.storage_mut().insert("priority".into(), priority);
                ctx.storage_mut().insert("task_id".into(), 44.into());
                ctx.wait_poll(Duration::from_secs(5));
            }
            State::Poll => ctx.set_outputs(ExecOutputs {
                task_id: 44,
                task_url: inputs.task_name,
            })?,
            other => return Err(PluginError::new(format!("unexpected state {other:?}"))),
        }
        Ok(())
    }
}
