//! Version 1.0.0.

use bk_plugin_kit::prelude::*;
use std::time::Duration;

/// What the end user fills in (the form is forms/1.0.0/form.js).
#[derive(Inputs)]
pub struct HelloInputs {
    /// Who to greet.
    #[field(title = "Name")]
    pub name: String,
    /// Seconds to wait before greeting.
    #[field(title = "Delay", default = 5)]
    pub delay: u32,
}

/// What the calling system (SOPS) supplies.
#[derive(ContextInputs)]
pub struct HelloContext {
    #[field(title = "Executor")]
    pub executor: String,
}

/// What the plugin produces; callers read these by key.
#[derive(Outputs)]
pub struct HelloOutputs {
    #[field(title = "Greeting")]
    pub greeting: String,
    #[field(title = "Greeted by")]
    pub greeted_by: String,
}

/// Waits `delay` seconds (POLL), then greets `name` (SUCCESS).
#[plugin(version = "1.0.0", desc = "Say hello")]
pub struct Hello;

impl Plugin for Hello {
    type Inputs = HelloInputs;
    type ContextInputs = HelloContext;
    type Outputs = HelloOutputs;

    async fn execute(
        &self,
        inputs: HelloInputs,
        ctx: &mut Context<Self>,
    ) -> Result<(), PluginError> {
        match ctx.state() {
            State::Empty => {
                // Start the work here, keep what the next run needs in storage, and ask to be
                // resumed.
                ctx.wait_poll(Duration::from_secs(inputs.delay.into()));
                Ok(())
            }
            State::Poll => {
                let greeted_by = ctx.data().executor.clone();
                ctx.set_outputs(HelloOutputs {
                    greeting: format!("Hello, {}!", inputs.name),
                    greeted_by,
                })
            }
            other => Err(PluginError::new(format!("unexpected state {other:?}"))),
        }
    }
}
