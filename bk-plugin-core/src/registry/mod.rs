//! The process-wide registry of plugin versions, built once from every `#[plugin]` linked in.

mod registration;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::{Value, json};

pub use registration::{Registration, detail};

use crate::model::SecretFields;
use crate::run::{Invocation, Outcome};
use crate::versioning::parse_version;
use registration::ErasedPlugin;

/// Why the registry could not be built. The HTTP runtime refuses to start on any of these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// Two plugins declare the same version (only possible across crates: within one crate it
    /// is a compile error).
    #[error(
        "plugin version {version} is registered twice, by `{first}` and by `{second}`; give each `#[plugin]` a distinct version"
    )]
    DuplicateVersion {
        /// The version.
        version: String,
        /// The first plugin type.
        first: String,
        /// The second plugin type.
        second: String,
    },
    /// A plugin's `init` function (or `Default`) failed.
    #[error("plugin version {version} (`{type_name}`) failed to initialise: {message}")]
    Init {
        /// The version.
        version: String,
        /// The plugin type.
        type_name: String,
        /// The error text.
        message: String,
    },
    /// A version that is not a plugin version ([`parse_version`]; not possible through
    /// `#[plugin]`).
    #[error("plugin version `{version}` of `{type_name}` is not valid: {reason}")]
    InvalidVersion {
        /// The version text.
        version: String,
        /// The plugin type.
        type_name: String,
        /// The parse error.
        reason: String,
    },
    /// Two plugins declare one semantic version in two spellings (`1.0.0rc1` and
    /// `1.0.0-rc1`): they could not be ordered, and callers could not tell which one is newer.
    /// Within one crate it is a compile error.
    #[error(
        "plugin versions `{first_version}` (`{first}`) and `{second_version}` (`{second}`) are one semantic version, {semver}; give each `#[plugin]` a distinct version"
    )]
    SameVersionTwoSpellings {
        /// The semantic version both stand for.
        semver: String,
        /// The first version text.
        first_version: String,
        /// The first plugin type.
        first: String,
        /// The second version text.
        second_version: String,
        /// The second plugin type.
        second: String,
    },
}

/// The requested version is not registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no plugin version {requested}; available: {}", available.join(", "))]
pub struct UnknownVersion {
    /// The version asked for.
    pub requested: String,
    /// The registered versions, newest first.
    pub available: Vec<String>,
}

/// One registered plugin version.
pub struct RegisteredPlugin {
    version: semver::Version,
    version_str: &'static str,
    type_name: &'static str,
    crate_name: Option<&'static str>,
    crate_description: Option<&'static str>,
    timeout: Option<crate::TimeLimit>,
    cancellable: bool,
    deprecated: Option<&'static str>,
    detail: Value,
    /// Where the secrets of the inputs and of the context inputs sit.
    secrets: (SecretFields, SecretFields),
    plugin: Box<dyn ErasedPlugin>,
}

impl RegisteredPlugin {
    /// The version text as the author wrote it, e.g. `1.0.0` or `1.0.0rc1`.
    pub fn version(&self) -> &'static str {
        self.version_str
    }

    /// The semantic version it is ordered by (`1.0.0rc1` is `1.0.0-rc1`;
    /// [`parse_version`]).
    pub fn semver(&self) -> &semver::Version {
        &self.version
    }

    /// The Rust path of the plugin struct.
    pub fn type_name(&self) -> &'static str {
        self.type_name
    }

    /// `#[plugin(timeout = ..)]`: how long an invocation of this version may take in all.
    pub fn timeout(&self) -> Option<crate::TimeLimit> {
        self.timeout
    }

    /// `#[plugin(cancellable)]`: callers may cancel waiting invocations of this version.
    pub fn cancellable(&self) -> bool {
        self.cancellable
    }

    /// `#[plugin(deprecated = ..)]`: the message of a retired version, `None` for a released
    /// one. `meta` does not list a deprecated version; `detail`, invoke and resumes still serve
    /// it.
    pub fn deprecated(&self) -> Option<&'static str> {
        self.deprecated
    }

    /// The `detail` JSON: `{desc, version, enable_plugin_callback, inputs, outputs,
    /// context_inputs, forms: {renderform}}`, plus `deprecated` (the message) for a deprecated
    /// version; built once at startup.
    pub fn detail(&self) -> &Value {
        &self.detail
    }

    /// Where the [`Secret`](crate::Secret)s of the inputs sit in their JSON.
    pub fn secret_inputs(&self) -> &SecretFields {
        &self.secrets.0
    }

    /// Where the [`Secret`](crate::Secret)s of the context inputs sit in their JSON.
    pub fn secret_context(&self) -> &SecretFields {
        &self.secrets.1
    }

    /// Runs one step of an invocation of this version (panics inside `execute` become FAIL).
    pub async fn run(&self, invocation: Invocation) -> Outcome {
        self.plugin.run(invocation).await
    }
}

impl std::fmt::Debug for RegisteredPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegisteredPlugin")
            .field("version", &self.version_str)
            .field("type_name", &self.type_name)
            .finish_non_exhaustive()
    }
}

/// Every plugin version linked into this binary, newest first.
///
/// ```
/// let registry = bk_plugin_core::registry();
/// for version in registry.versions() {
///     let detail = registry.detail(version).unwrap();
///     assert_eq!(detail["version"], version);
/// }
/// ```
#[derive(Debug)]
pub struct Registry {
    plugins: Vec<RegisteredPlugin>,
    index: HashMap<&'static str, usize>,
}

impl Registry {
    /// Builds a registry from every `#[plugin]` linked into the binary: checks versions are
    /// unique and constructs each plugin once. Prefer [`registry()`], which does this once.
    pub fn from_inventory() -> Result<Registry, RegistryError> {
        Registry::build(inventory::iter::<Registration>.into_iter())
    }

    /// A registry holding only plugin `P`: for tests (the `testing` harness uses it) and for
    /// binaries that serve an explicit set of plugins instead of everything linked in.
    pub fn of<P: crate::Plugin>() -> Result<Registry, RegistryError> {
        let reg = Registration::of::<P>(None, None);
        Registry::build(std::iter::once(&reg))
    }

    fn build<'a>(regs: impl Iterator<Item = &'a Registration>) -> Result<Registry, RegistryError> {
        let mut seen: HashMap<&'static str, &'static str> = HashMap::new();
        let mut regs: Vec<&Registration> = regs.collect();
        // inventory's order is unspecified; sort so errors and output are deterministic.
        regs.sort_by_key(|r| (r.version, r.type_name));
        let mut plugins = Vec::with_capacity(regs.len());
        for reg in regs {
            if let Some(first) = seen.insert(reg.version, reg.type_name) {
                return Err(RegistryError::DuplicateVersion {
                    version: reg.version.to_owned(),
                    first: first.to_owned(),
                    second: reg.type_name.to_owned(),
                });
            }
            let version =
                parse_version(reg.version).map_err(|e| RegistryError::InvalidVersion {
                    version: reg.version.to_owned(),
                    type_name: reg.type_name.to_owned(),
                    reason: e.reason,
                })?;
            if let Some(other) = plugins
                .iter()
                .find(|p: &&RegisteredPlugin| p.version == version)
            {
                return Err(RegistryError::SameVersionTwoSpellings {
                    semver: version.to_string(),
                    first_version: other.version_str.to_owned(),
                    first: other.type_name.to_owned(),
                    second_version: reg.version.to_owned(),
                    second: reg.type_name.to_owned(),
                });
            }
            let built = (reg.build)().map_err(|e| RegistryError::Init {
                version: reg.version.to_owned(),
                type_name: reg.type_name.to_owned(),
                message: e.to_string(),
            })?;
            plugins.push(RegisteredPlugin {
                version,
                version_str: reg.version,
                type_name: reg.type_name,
                crate_name: reg.crate_name,
                crate_description: reg.crate_description,
                timeout: reg.timeout,
                cancellable: reg.cancellable,
                deprecated: reg.deprecated,
                secrets: (
                    SecretFields::of(&built.detail["inputs"]),
                    SecretFields::of(&built.detail["context_inputs"]),
                ),
                detail: built.detail,
                plugin: built.plugin,
            });
        }
        plugins.sort_by(|a, b| b.version.cmp(&a.version));
        let index = plugins
            .iter()
            .enumerate()
            .map(|(i, p)| (p.version_str, i))
            .collect();
        Ok(Registry { plugins, index })
    }

    /// Registered versions, newest first by semantic version (`1.10.0` before `1.9.0`).
    pub fn versions(&self) -> impl ExactSizeIterator<Item = &'static str> + '_ {
        self.plugins.iter().map(|p| p.version_str)
    }

    /// Registered plugins, newest first.
    pub fn plugins(&self) -> impl ExactSizeIterator<Item = &RegisteredPlugin> + '_ {
        self.plugins.iter()
    }

    /// Number of registered versions.
    pub fn len(&self) -> usize {
        self.plugins.len()
    }

    /// `true` when no plugin is linked in (a `#[plugin]` crate that is never referenced is
    /// not linked: mention it, e.g. `use my_plugins as _;`).
    pub fn is_empty(&self) -> bool {
        self.plugins.is_empty()
    }

    /// The plugin registered as `version`, exactly as its `#[plugin(version)]` spells it:
    /// `1.0.0rc1` finds the plugin declared `1.0.0rc1`, `1.0.0-rc1` does not (callers are
    /// pinned to the text; the Python framework answers 404 for the other spelling too).
    pub fn get(&self, version: &str) -> Option<&RegisteredPlugin> {
        self.index.get(version).map(|&i| &self.plugins[i])
    }

    /// The `detail` JSON of `version`.
    pub fn detail(&self, version: &str) -> Option<&Value> {
        self.get(version).map(RegisteredPlugin::detail)
    }

    /// The `meta` JSON with the app information from the environment and the plugin crate:
    /// `code` from `BKPAAS_APP_ID` (else the crate name), `description` from the plugin
    /// crate's `description` in Cargo.toml.
    pub fn meta(&self) -> Value {
        let first = self.plugins.first();
        let code = std::env::var("BKPAAS_APP_ID")
            .ok()
            .or_else(|| first.and_then(|p| p.crate_name).map(str::to_owned))
            .unwrap_or_default();
        let description = first.and_then(|p| p.crate_description).unwrap_or_default();
        self.meta_with(&code, description, &json!({}))
    }

    /// The versions `meta` lists, newest first: every version that is not deprecated, for
    /// new callers to pick from. When every version is deprecated, all of them (an empty list
    /// leaves SOPS no default version for a new node; retire the whole plugin on the platform
    /// instead).
    pub fn offered_versions(&self) -> Vec<&'static str> {
        let released: Vec<&'static str> = self
            .plugins
            .iter()
            .filter(|p| p.deprecated.is_none())
            .map(|p| p.version_str)
            .collect();
        if released.is_empty() {
            self.versions().collect()
        } else {
            released
        }
    }

    /// The `meta` JSON with explicit app code, description and `allow_scope`. `versions` are
    /// the [offered versions](Registry::offered_versions): deprecated ones are left out.
    pub fn meta_with(&self, code: &str, description: &str, allow_scope: &Value) -> Value {
        json!({
            "code": code,
            "versions": self.offered_versions(),
            "language": "rust",
            "description": description,
            "framework_version": crate::FRAMEWORK_VERSION,
            "runtime_version": crate::FRAMEWORK_VERSION,
            "allow_scope": allow_scope,
        })
    }

    /// Runs one step of an invocation of `version`, JSON in and JSON out.
    pub async fn run(
        &self,
        version: &str,
        invocation: Invocation,
    ) -> Result<Outcome, UnknownVersion> {
        match self.get(version) {
            Some(plugin) => Ok(plugin.run(invocation).await),
            None => Err(self.unknown(version)),
        }
    }

    /// The error for an unknown `version`, listing the available ones.
    pub fn unknown(&self, version: &str) -> UnknownVersion {
        UnknownVersion {
            requested: version.to_owned(),
            available: self.versions().map(str::to_owned).collect(),
        }
    }
}

static REGISTRY: OnceLock<Result<Registry, RegistryError>> = OnceLock::new();

/// The process-wide registry, built on first use.
///
/// # Panics
///
/// If the registry cannot be built ([`RegistryError`]); use [`try_registry`] to handle that.
pub fn registry() -> &'static Registry {
    match try_registry() {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    }
}

/// The process-wide registry, or why it cannot be built.
pub fn try_registry() -> Result<&'static Registry, &'static RegistryError> {
    REGISTRY.get_or_init(Registry::from_inventory).as_ref()
}
