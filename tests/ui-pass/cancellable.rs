use bk_plugin_kit::prelude::*;

#[plugin(version = "1.0.0", cancellable)]
pub struct Bare;

#[plugin(version = "2.0.0", cancellable = false)]
pub struct Off;

#[plugin(version = "3.0.0")]
pub struct Unset;

macro_rules! plain {
    ($($t:ty),*) => {$(
        impl Plugin for $t {
            type Inputs = ();
            type ContextInputs = ();
            type Outputs = ();

            async fn execute(&self, _: (), _: &mut Context<Self>) -> Result<(), PluginError> {
                Ok(())
            }
        }
    )*};
}
plain!(Off, Unset);

// An `async fn on_cancel` satisfies the trait's `Send` future.
impl Plugin for Bare {
    type Inputs = ();
    type ContextInputs = ();
    type Outputs = ();

    async fn execute(&self, _: (), ctx: &mut Context<Self>) -> Result<(), PluginError> {
        ctx.wait_callback();
        Ok(())
    }

    async fn on_cancel(
        &self,
        _: (),
        cancel: &Cancellation,
        ctx: &mut Context<Self>,
    ) -> Result<(), PluginError> {
        ctx.storage_mut().insert("cancelled".into(), cancel.to_string().into());
        Ok(())
    }
}

fn main() {
    assert!(<Bare as bk_plugin_kit::PluginInfo>::CANCELLABLE);
    assert!(!<Off as bk_plugin_kit::PluginInfo>::CANCELLABLE);
    assert!(!<Unset as bk_plugin_kit::PluginInfo>::CANCELLABLE);
}
