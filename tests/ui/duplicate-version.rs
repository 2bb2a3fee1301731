mod first {
    use bk_plugin_kit::prelude::*;

    #[plugin(version = "1.0.0")]
    pub struct First;

    impl Plugin for First {
        type Inputs = ();
        type ContextInputs = ();
        type Outputs = ();
        async fn execute(&self, _: (), _: &mut Context<Self>) -> Result<(), PluginError> {
            Ok(())
        }
    }
}

mod second {
    use bk_plugin_kit::prelude::*;

    #[plugin(version = "1.0.0")]
    pub struct Second;

    impl Plugin for Second {
        type Inputs = ();
        type ContextInputs = ();
        type Outputs = ();
        async fn execute(&self, _: (), _: &mut Context<Self>) -> Result<(), PluginError> {
            Ok(())
        }
    }
}

fn main() {}
