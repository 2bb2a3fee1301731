//! What each `#[plugin]` submits to `inventory`, and how it becomes a runnable plugin.

use serde_json::{Value, json};

use crate::run::{BoxFuture, Invocation, Outcome, run};
use crate::{ContextInputs, Inputs, Outputs, Plugin, PluginError};

/// A plugin version registered by `#[plugin]`. Built by the macro; not public API.
#[doc(hidden)]
#[derive(Debug)]
pub struct Registration {
    pub(crate) version: &'static str,
    pub(crate) type_name: &'static str,
    pub(crate) crate_name: Option<&'static str>,
    pub(crate) crate_description: Option<&'static str>,
    pub(crate) timeout: Option<crate::TimeLimit>,
    pub(crate) cancellable: bool,
    pub(crate) deprecated: Option<&'static str>,
    pub(crate) build: fn() -> Result<Built, PluginError>,
}

impl Registration {
    /// The registration of plugin `P`, declared in crate `crate_name`.
    pub const fn of<P: Plugin>(
        crate_name: Option<&'static str>,
        crate_description: Option<&'static str>,
    ) -> Self {
        Registration {
            version: P::VERSION,
            type_name: P::TYPE_NAME,
            crate_name,
            crate_description,
            timeout: P::TIMEOUT,
            cancellable: P::CANCELLABLE,
            deprecated: P::DEPRECATED,
            build: build::<P>,
        }
    }
}

inventory::collect!(Registration);

/// A constructed plugin with its detail JSON.
pub(crate) struct Built {
    pub(crate) detail: Value,
    pub(crate) plugin: Box<dyn ErasedPlugin>,
}

/// A plugin with its types erased: JSON in, JSON out.
pub(crate) trait ErasedPlugin: Send + Sync {
    fn run(&self, invocation: Invocation) -> BoxFuture<'_, Outcome>;
}

struct Holder<P>(P);

impl<P: Plugin> ErasedPlugin for Holder<P> {
    fn run(&self, invocation: Invocation) -> BoxFuture<'_, Outcome> {
        Box::pin(run(&self.0, invocation))
    }
}

fn build<P: Plugin>() -> Result<Built, PluginError> {
    let plugin = P::__construct()?;
    Ok(Built {
        detail: detail::<P>(),
        plugin: Box::new(Holder(plugin)),
    })
}

/// The `detail` JSON of `P`, key for key as the Python framework's `Plugin.dict()`; a
/// deprecated version (`#[plugin(deprecated = "..")]`) has one more key at the end,
/// `"deprecated": "<message>"`.
pub fn detail<P: Plugin>() -> Value {
    let mut detail = json!({
        "desc": P::DESC,
        "version": P::VERSION,
        "enable_plugin_callback": P::ENABLE_PLUGIN_CALLBACK,
        "inputs": <P::Inputs as Inputs>::schema(),
        "outputs": <P::Outputs as Outputs>::schema(),
        "context_inputs": <P::ContextInputs as ContextInputs>::schema(),
        "forms": {"renderform": P::FORM},
    });
    if let (Some(message), Value::Object(map)) = (P::DEPRECATED, &mut detail) {
        map.insert("deprecated".into(), message.into());
    }
    detail
}
