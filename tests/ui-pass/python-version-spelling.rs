//! Versions spelled the Python framework's way (`2.0.0rc1`, no hyphen) are served under that
//! text and ordered as the semver pre-release `2.0.0-rc1`.
use bk_plugin_kit::PluginInfo;
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

version!(A, "2.0.0");
version!(B, "2.0.0rc2");
version!(C, "2.0.0rc1");
version!(D, "2.0.0b1");
version!(E, "1.10.0a1");
version!(F, "1.9.0");

fn main() {
    let registry = bk_plugin_kit::registry();
    let versions: Vec<_> = registry.versions().collect();
    assert_eq!(versions, ["2.0.0", "2.0.0rc2", "2.0.0rc1", "2.0.0b1", "1.10.0a1", "1.9.0"]);
    assert_eq!(registry.meta()["versions"][2], "2.0.0rc1");
    assert_eq!(registry.detail("2.0.0rc1").unwrap()["version"], "2.0.0rc1");
    assert!(registry.detail("2.0.0-rc1").is_none());
    assert_eq!(<C as PluginInfo>::VERSION, "2.0.0rc1");
}
