//! Versions are ordered by semantic version, not as strings: 10.0.0 > 9.0.0, 1.10.0 > 1.9.0,
//! a release above its pre-releases, and pre-release numbers compare numerically (rc.10 > rc.2).
use bk_plugin_kit::prelude::*;

macro_rules! version {
    ($name:ident, $v:literal) => {
        #[plugin(version = $v)]
        pub struct $name;
        impl Plugin for $name {
            type Inputs = ();
            type ContextInputs = ();
            type Outputs = ();
            async fn execute(&self, _: (), _: &mut Context<Self>) -> Result<(), PluginError> {
                Ok(())
            }
        }
    };
}

version!(A, "1.9.0");
version!(B, "1.10.0");
version!(C, "1.9.0-rc.2");
version!(D, "1.9.0-rc.10");
version!(E, "10.0.0");
version!(F, "9.0.0");

fn main() {
    let versions: Vec<_> = bk_plugin_kit::registry().versions().collect();
    assert_eq!(versions, ["10.0.0", "9.0.0", "1.10.0", "1.9.0", "1.9.0-rc.10", "1.9.0-rc.2"]);
    assert_eq!(bk_plugin_kit::registry().meta()["versions"][0], "10.0.0");
}
