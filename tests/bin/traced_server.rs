//! A plugin binary for the `otel` test: one version that polls once and then reports its
//! finish to the caller, served by `bk_plugin_kit::run()` (feature `otel`).

use std::time::Duration;

use bk_plugin_kit::PluginCallbackInfo;
use bk_plugin_kit::prelude::*;

/// Polls once, then succeeds; the finish is notified to `plugin_callback_info`.
#[plugin(version = "1.0.0", enable_plugin_callback = true)]
pub struct Traced;

/// The caller's context.
#[derive(ContextInputs)]
pub struct TracedContext {
    /// Where the finish is notified.
    pub plugin_callback_info: PluginCallbackInfo,
}

impl Plugin for Traced {
    type Inputs = ();
    type ContextInputs = TracedContext;
    type Outputs = ();

    async fn execute(&self, _: (), ctx: &mut Context<Self>) -> Result<(), PluginError> {
        if ctx.state() == State::Empty {
            ctx.wait_poll(Duration::ZERO);
        }
        Ok(())
    }
}

/// Waits for one callback (its URL in the outputs), then succeeds.
#[plugin(version = "2.0.0")]
pub struct CalledBack;

/// What the caller needs to call back.
#[derive(Outputs)]
pub struct CallbackUrl {
    /// The callback URL (relative in dev).
    #[field(default)]
    pub callback_url: String,
}

impl Plugin for CalledBack {
    type Inputs = ();
    type ContextInputs = ();
    type Outputs = CallbackUrl;

    async fn execute(&self, _: (), ctx: &mut Context<Self>) -> Result<(), PluginError> {
        if ctx.state() == State::Empty {
            let prepared = ctx.prepare_callback()?;
            ctx.outputs_mut()
                .insert("callback_url".into(), prepared.url.into());
            ctx.wait_callback();
        }
        Ok(())
    }
}

fn main() -> std::process::ExitCode {
    bk_plugin_kit::run()
}
