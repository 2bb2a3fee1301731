//! Version 1.2.0: as 1.0.0, with the task's priority picked from a list (a select box in SOPS)
//! and a bounded timeout, checked before `execute` runs.

use bk_plugin_kit::prelude::*;

pub use crate::v1_0_0::{ExecContext, ExecOutputs};

/// How urgently SOPS should run the task.
#[derive(Choice, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    #[choice(rename = "low")]
    Low,
    #[choice(rename = "normal")]
    Normal,
    #[choice(rename = "high")]
    High,
}

#[derive(Inputs)]
pub struct PrioritisedInputs {
    /// Template to instantiate.
    pub template_id: i64,
    #[field(min_length = 1, max_length = 64)]
    pub task_name: String,
    #[field(default = Priority::Normal)]
    pub priority: Priority,
    /// Seconds before the task is given up.
    #[field(default = 600, ge = 1, le = 86400)]
    pub timeout_secs: u32,
}

/// Creates a SOPS task with a priority; finishes at once (the SOPS call is simulated).
#[plugin(
    version = "1.2.0",
    desc = "Run a SOPS task with a priority and a timeout"
)]
pub struct SopsPrioritisedExec;

impl Plugin for SopsPrioritisedExec {
    type Inputs = PrioritisedInputs;
    type ContextInputs = ExecContext;
    type Outputs = ExecOutputs;

    async fn execute(
        &self,
        inputs: PrioritisedInputs,
        ctx: &mut Context<Self>,
    ) -> Result<(), PluginError> {
        let priority = Choice::value(&inputs.priority).to_json();
        ctx.storage_mut().insert("priority".into(), priority);
        ctx.set_outputs(ExecOutputs {
            task_id: 43,
            task_url: format!("{}?timeout={}", inputs.task_name, inputs.timeout_secs),
        })?;
        Ok(())
    }
}
