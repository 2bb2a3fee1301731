//! The three plugin versions of the Python peer, written with bk-plugin-kit. Their `detail`
//! and invoke results are compared with the responses captured from the peer.
//!
//! Fields carry no doc comments on purpose: docs become schema descriptions, and the peer's
//! fields have none.
#![allow(missing_docs)]

use std::time::Duration;

use bk_plugin_kit::prelude::*;
use bk_plugin_kit::serde_json::{Map, Value};

/// 1.0.0 inputs.
#[derive(Inputs)]
pub struct HelloInputs {
    #[field(default = "world")]
    pub hello: String,
}

/// 1.0.0 outputs.
#[derive(Outputs)]
pub struct WorldOutputs {
    pub world: String,
}

/// Smallest useful plugin: copies one input into one output.
#[plugin(
    version = "1.0.0",
    desc = "trivial plugin, echoes inputs.hello into outputs.world"
)]
pub struct TrivialPlugin;

impl Plugin for TrivialPlugin {
    type Inputs = HelloInputs;
    type ContextInputs = ();
    type Outputs = WorldOutputs;

    async fn execute(
        &self,
        inputs: HelloInputs,
        ctx: &mut Context<Self>,
    ) -> Result<(), PluginError> {
        ctx.set_outputs(WorldOutputs {
            world: inputs.hello,
        })
    }
}

// ---- 1.1.0 ----

// Nested options: no doc comment, like the peer's docstring-less class.
#[derive(Inputs)]
pub struct Options {
    pub name: String,
    pub value: String,
}

/// 1.1.0 inputs.
#[derive(Inputs)]
pub struct TypedInputs {
    pub template_id: i64,
    pub task_name: String,
    #[field(default, description = "global variables of the task")]
    pub constants: Map<String, Value>,
    pub options: Options,
    #[field(default = true, description = "only pretend to run")]
    pub dry_run: bool,
}

/// 1.1.0 context.
#[derive(ContextInputs)]
pub struct TypedContext {
    #[field(title = "business id", description = "business id in cmdb")]
    pub biz_cc_id: i64,
    #[field(title = "executor")]
    pub executor: String,
}

/// 1.1.0 outputs.
#[derive(Outputs)]
pub struct TypedOutputs {
    #[field(title = "task id", description = "")]
    pub task_id: i64,
    #[field(title = "task url", description = "")]
    pub task_url: String,
}

/// Exercises the schema generator: required/optional fields, nested model, titles.
#[plugin(
    version = "1.1.0",
    desc = "typed inputs, context inputs and titled outputs"
)]
pub struct TypedPlugin;

impl Plugin for TypedPlugin {
    type Inputs = TypedInputs;
    type ContextInputs = TypedContext;
    type Outputs = TypedOutputs;

    async fn execute(
        &self,
        inputs: TypedInputs,
        ctx: &mut Context<Self>,
    ) -> Result<(), PluginError> {
        if inputs.template_id < 0 {
            return Err(PluginError::new("template_id must not be negative"));
        }
        let data = ctx.data();
        let outputs = TypedOutputs {
            task_id: inputs.template_id * 10 + data.biz_cc_id,
            task_url: format!(
                "https://example.invalid/biz/{}/task/{}/{}?{}={}",
                data.biz_cc_id,
                inputs.task_name,
                data.executor,
                inputs.options.name,
                inputs.options.value
            ),
        };
        ctx.set_outputs(outputs)
    }
}

// ---- 2.0.0 ----

/// 2.0.0 inputs.
#[derive(Inputs)]
pub struct WaitingInputs {
    #[field(default = "poll", description = "poll | callback | fail")]
    pub mode: String,
    #[field(default = 1, description = "how many POLL re-runs before success")]
    pub polls: i64,
    #[field(default = 1, description = "seconds between polls")]
    pub interval: i64,
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
}

/// Enters POLL or CALLBACK so that resumes can be observed.
#[plugin(version = "2.0.0", desc = "poll / callback demo")]
pub struct WaitingPlugin;

impl Plugin for WaitingPlugin {
    type Inputs = WaitingInputs;
    type ContextInputs = ();
    type Outputs = WaitingOutputs;

    async fn execute(
        &self,
        inputs: WaitingInputs,
        ctx: &mut Context<Self>,
    ) -> Result<(), PluginError> {
        let count = ctx.invoke_count();
        let outputs = ctx.outputs_mut();
        outputs.insert("invoke_count".into(), count.into());
        match inputs.mode.as_str() {
            "fail" => return Err(PluginError::new("asked to fail")),
            "callback" => {
                if ctx.state() == State::Empty {
                    let prep = ctx.prepare_callback()?;
                    ctx.storage_mut()
                        .insert("callback_id".into(), prep.id.into());
                    ctx.outputs_mut()
                        .insert("callback_url".into(), prep.url.into());
                    ctx.outputs_mut()
                        .insert("phase".into(), "waiting_callback".into());
                    ctx.wait_callback();
                } else {
                    let callback = ctx.callback().cloned();
                    let matches = callback
                        .as_ref()
                        .map(|c| Value::from(c.id.clone()))
                        .as_ref()
                        == ctx.storage().get("callback_id");
                    let outputs = ctx.outputs_mut();
                    outputs.insert("phase".into(), "called_back".into());
                    outputs.insert(
                        "callback_data".into(),
                        callback
                            .map(|c| c.data)
                            .unwrap_or_else(|| Value::Object(Map::new())),
                    );
                    outputs.insert("callback_id_matches".into(), matches.into());
                }
                return Ok(());
            }
            _ => {}
        }
        let remaining = ctx
            .storage()
            .get("remaining")
            .and_then(Value::as_i64)
            .unwrap_or(inputs.polls);
        if remaining > 0 {
            ctx.storage_mut()
                .insert("remaining".into(), (remaining - 1).into());
            ctx.outputs_mut().insert("phase".into(), "polling".into());
            ctx.wait_poll(Duration::from_secs(inputs.interval.max(0) as u64));
        } else {
            ctx.outputs_mut().insert("phase".into(), "done".into());
        }
        Ok(())
    }
}
