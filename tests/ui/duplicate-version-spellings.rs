// One semantic version in two spellings (the Python framework's and semver's) clashes like a
// duplicate version: the two could not be ordered.
mod first {
    use bk_plugin_kit::prelude::*;

    #[plugin(version = "1.0.0rc1")]
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

    #[plugin(version = "1.0.0-rc1")]
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
