//! Version 0.9.0, retired: the first draft, kept for the SOPS nodes still pinned to it.
//!
//! `deprecated` hides it from `meta`, so no new node picks it, while `detail`, invoke and the
//! resumes of its running invocations keep working. Once nothing uses it, delete this file
//! and its entry in `plugin.lock.json` (docs/versioning.md, "Retiring a version").

use bk_plugin_kit::prelude::*;
use std::time::Duration;

/// Inputs of the draft: only the task's name.
#[derive(Inputs)]
pub struct DraftInputs {
    pub task_name: String,
}

/// Supplied by the calling system.
#[derive(ContextInputs)]
pub struct DraftContext {
    #[field(title = "业务 cc id")]
    pub biz_cc_id: i64,
}

#[derive(Outputs)]
pub struct DraftOutputs {
    #[field(title = "标准运维任务 ID")]
    pub task_id: i64,
}

/// Creates a SOPS task and polls it once (simulated).
#[plugin(
    version = "0.9.0",
    desc = "Run a SOPS task (draft)",
    deprecated = "use 1.0.0: it takes the template id and the task options"
)]
pub struct SopsExecDraft;

impl Plugin for SopsExecDraft {
    type Inputs = DraftInputs;
    type ContextInputs = DraftContext;
    type Outputs = DraftOutputs;

    async fn execute(
        &self,
        _inputs: DraftInputs,
        ctx: &mut Context<Self>,
    ) -> Result<(), PluginError> {
        match ctx.state() {
            State::Empty => ctx.wait_poll(Duration::from_secs(1)),
            State::Poll => ctx.set_outputs(DraftOutputs { task_id: 9 })?,
            other => return Err(PluginError::new(format!("unexpected state {other:?}"))),
        }
        Ok(())
    }
}
