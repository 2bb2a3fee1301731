//! The registry's version rules: texts kept as written, ordered as semantic versions, one
//! semantic version per binary.

use super::{Registration, Registry, RegistryError};
use crate::{Context, Plugin, PluginError, PluginInfo};

macro_rules! plugin {
    ($name:ident, $version:literal) => {
        struct $name;
        impl PluginInfo for $name {
            const VERSION: &'static str = $version;
            const DESC: &'static str = "";
            const ENABLE_PLUGIN_CALLBACK: bool = false;
            const FORM: Option<&'static str> = None;
            const TYPE_NAME: &'static str = stringify!($name);
            fn __construct() -> Result<Self, PluginError> {
                Ok($name)
            }
        }
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

plugin!(Python, "1.0.0rc1");
plugin!(Hyphen, "1.0.0-rc1");
plugin!(Release, "1.0.0");
plugin!(Beta, "1.0.0b2");

fn build(regs: &[Registration]) -> Result<Registry, RegistryError> {
    Registry::build(regs.iter())
}

#[test]
fn python_spelled_versions_keep_their_text_and_sort_as_semver() {
    let registry = build(&[
        Registration::of::<Python>(None, None),
        Registration::of::<Release>(None, None),
        Registration::of::<Beta>(None, None),
    ])
    .unwrap();
    let versions: Vec<_> = registry.versions().collect();
    assert_eq!(versions, ["1.0.0", "1.0.0rc1", "1.0.0b2"]);
    assert_eq!(registry.detail("1.0.0rc1").unwrap()["version"], "1.0.0rc1");
    assert!(
        registry.get("1.0.0-rc1").is_none(),
        "only the text as written"
    );
    assert_eq!(
        registry.get("1.0.0rc1").unwrap().semver(),
        &semver::Version::parse("1.0.0-rc1").unwrap()
    );
}

#[test]
fn one_semantic_version_in_two_spellings_is_refused() {
    let err = build(&[
        Registration::of::<Python>(None, None),
        Registration::of::<Hyphen>(None, None),
    ])
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "plugin versions `1.0.0-rc1` (`Hyphen`) and `1.0.0rc1` (`Python`) are one semantic \
         version, 1.0.0-rc1; give each `#[plugin]` a distinct version"
    );
}
