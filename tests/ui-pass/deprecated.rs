use bk_plugin_kit::prelude::*;

#[plugin(version = "1.0.0", deprecated = "use 2.0.0: it takes the new form")]
pub struct Old;

#[plugin(version = "2.0.0")]
pub struct New;

impl Plugin for Old {
    type Inputs = ();
    type ContextInputs = ();
    type Outputs = ();

    async fn execute(&self, _: (), _: &mut Context<Self>) -> Result<(), PluginError> {
        Ok(())
    }
}

impl Plugin for New {
    type Inputs = ();
    type ContextInputs = ();
    type Outputs = ();

    async fn execute(&self, _: (), _: &mut Context<Self>) -> Result<(), PluginError> {
        Ok(())
    }
}

fn main() {
    assert_eq!(
        <Old as bk_plugin_kit::PluginInfo>::DEPRECATED,
        Some("use 2.0.0: it takes the new form")
    );
    assert_eq!(<New as bk_plugin_kit::PluginInfo>::DEPRECATED, None);
    let registry = bk_plugin_kit::registry();
    assert_eq!(registry.versions().collect::<Vec<_>>(), ["2.0.0", "1.0.0"]);
    assert_eq!(registry.offered_versions(), ["2.0.0"]);
    assert_eq!(registry.meta()["versions"], bk_plugin_kit::serde_json::json!(["2.0.0"]));
    let old = registry.get("1.0.0").unwrap();
    assert_eq!(old.deprecated(), Some("use 2.0.0: it takes the new form"));
    assert_eq!(old.detail()["deprecated"], "use 2.0.0: it takes the new form");
    assert!(registry.detail("2.0.0").unwrap().get("deprecated").is_none());
}
