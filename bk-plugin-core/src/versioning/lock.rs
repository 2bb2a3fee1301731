//! [`Lock`]: the released versions' schemas, checked into the plugin crate as
//! `plugin.lock.json`, and the comparison of the compiled plugins with it.

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::bump::suggest_free;
use super::change::Change;
use super::check::{LockFileError, UPDATE_LOCK_ENV};
use super::diff::{diff, sha256_hex};
use crate::Registry;

/// The file format [`Lock`] reads and writes.
pub const LOCK_FORMAT: u64 = 1;

/// One locked version: the parts of its `detail` that callers depend on.
///
/// The form is kept as its hash, `form_sha256` (what [`from_detail`](LockEntry::from_detail),
/// and so [`Lock::update`] for a new version, writes), or as its text, `form` (written by hand:
/// the project template's lock holds its form's text with the app code still a placeholder,
/// whose hash is unknown until the template is rendered). Both compare the same, by
/// [`form_hash`](LockEntry::form_hash). A file entry has at most one of the two keys; an entry
/// read with `form` is written back with `form`, also when `update` records a compatible
/// change of it. Equal entries are written as the same text.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct LockEntry {
    /// `detail["inputs"]`.
    pub inputs: Value,
    /// `detail["context_inputs"]`.
    pub context_inputs: Value,
    /// `detail["outputs"]`.
    pub outputs: Value,
    /// SHA-256 (lowercase hex) of `detail["forms"]["renderform"]`; `None` without a form, or
    /// when the entry holds the form's text in [`form`](LockEntry::form) instead.
    pub form_sha256: Option<String>,
    /// The text of `detail["forms"]["renderform"]` (file key `form`), kept instead of its hash;
    /// `None` when the entry holds the hash, or has no form. When set, it is the form the entry
    /// locks and [`form_sha256`](LockEntry::form_sha256) is ignored.
    pub form: Option<String>,
    /// `detail["desc"]`.
    pub desc: String,
    /// `detail["enable_plugin_callback"]`.
    pub enable_plugin_callback: bool,
    /// The version's status: `detail["deprecated"]`, the message of a deprecated version, or
    /// `None` for a released one. The file key `deprecated` is written only when set, so a
    /// lock written before statuses existed reads as all released.
    pub deprecated: Option<String>,
    /// The entry was read with the key `form` (possibly `null`): written back with it.
    form_as_text: bool,
}

impl LockEntry {
    /// The entry of a `detail` JSON, with the form's hash.
    pub fn from_detail(detail: &Value) -> LockEntry {
        LockEntry {
            inputs: detail["inputs"].clone(),
            context_inputs: detail["context_inputs"].clone(),
            outputs: detail["outputs"].clone(),
            form_sha256: detail["forms"]["renderform"].as_str().map(sha256_hex),
            form: None,
            desc: detail["desc"].as_str().unwrap_or_default().to_owned(),
            enable_plugin_callback: detail["enable_plugin_callback"].as_bool().unwrap_or(false),
            deprecated: detail["deprecated"].as_str().map(str::to_owned),
            form_as_text: false,
        }
    }

    /// The SHA-256 (lowercase hex) the form is compared by: that of [`form`](LockEntry::form)
    /// when the entry holds the text, else [`form_sha256`](LockEntry::form_sha256); `None`
    /// without a form.
    pub fn form_hash(&self) -> Option<String> {
        match &self.form {
            Some(text) => Some(sha256_hex(text)),
            None => self.form_sha256.clone(),
        }
    }

    /// `true` when the entry keeps the form as its text (file key `form`).
    pub fn has_form_text(&self) -> bool {
        self.form.is_some() || (self.form_as_text && self.form_sha256.is_none())
    }

    /// The entry as JSON, keys in file order; [`diff`](super::diff) accepts it in place of a
    /// `detail`. The form is under `form` (its text) when the entry
    /// [holds the text](LockEntry::has_form_text), else under `form_sha256`.
    pub fn to_json(&self) -> Value {
        let mut json = Map::new();
        json.insert("inputs".into(), self.inputs.clone());
        json.insert("context_inputs".into(), self.context_inputs.clone());
        json.insert("outputs".into(), self.outputs.clone());
        if self.has_form_text() {
            json.insert("form".into(), json!(self.form));
        } else {
            json.insert("form_sha256".into(), json!(self.form_sha256));
        }
        json.insert("desc".into(), json!(self.desc));
        json.insert(
            "enable_plugin_callback".into(),
            json!(self.enable_plugin_callback),
        );
        if let Some(message) = &self.deprecated {
            json.insert("deprecated".into(), json!(message));
        }
        Value::Object(json)
    }

    /// This entry recorded anew from `detail`, keeping the way the form is held: the text
    /// (the detail's) when this entry holds the text, else the hash.
    fn recorded_from(&self, detail: &Value) -> LockEntry {
        let mut entry = LockEntry::from_detail(detail);
        if self.has_form_text() {
            entry.form = detail["forms"]["renderform"].as_str().map(str::to_owned);
            entry.form_sha256 = None;
            entry.form_as_text = true;
        }
        entry
    }
}

/// Written as [`LockEntry::to_json`].
impl Serialize for LockEntry {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

/// Read as a lock file entry: the keys of [`LockEntry::to_json`], with the form under `form`
/// or `form_sha256` (not both); any other key is an error.
impl<'de> Deserialize<'de> for LockEntry {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let file = LockEntryFile::deserialize(deserializer)?;
        let (form_sha256, form, form_as_text) = match (file.form_sha256, file.form) {
            (Some(_), Some(_)) => {
                return Err(serde::de::Error::custom(
                    "both `form` and `form_sha256` are present; keep one: `form` holds the \
                     form's text, `form_sha256` its SHA-256",
                ));
            }
            (Some(hash), None) => (hash, None, false),
            (None, Some(text)) => (None, text, true),
            (None, None) => (None, None, false),
        };
        Ok(LockEntry {
            inputs: file.inputs,
            context_inputs: file.context_inputs,
            outputs: file.outputs,
            form_sha256,
            form,
            desc: file.desc,
            enable_plugin_callback: file.enable_plugin_callback,
            deprecated: file.deprecated,
            form_as_text,
        })
    }
}

/// A [`LockEntry`] as the file has it: `Some(None)` is a key with `null`, `None` no key.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LockEntryFile {
    inputs: Value,
    context_inputs: Value,
    outputs: Value,
    #[serde(default, deserialize_with = "present")]
    form_sha256: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    form: Option<Option<String>>,
    desc: String,
    enable_plugin_callback: bool,
    #[serde(default)]
    deprecated: Option<String>,
}

/// A key that is there, with a string or `null`.
fn present<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

/// The text is not a lock file ([`Lock::from_json_str`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
#[non_exhaustive]
pub struct InvalidLock {
    /// What is wrong: a JSON error with its line and column, an unsupported format, a version
    /// that is not a plugin version ([`parse_version`](super::parse_version)), or an entry with a missing or unknown key, or with both
    /// `form` and `form_sha256`.
    pub reason: String,
}

/// The schema lock: each released version's [`LockEntry`], newest first.
///
/// ```json
/// {
///   "format": 1,
///   "versions": {
///     "1.0.0": {
///       "inputs": {"type": "object", "properties": {..}, "required": [..], "definitions": {..}},
///       "context_inputs": {..},
///       "outputs": {..},
///       "form_sha256": "9f86d0…",
///       "desc": "Run a SOPS task",
///       "enable_plugin_callback": false
///     }
///   }
/// }
/// ```
///
/// An entry may hold the form's text instead of its hash: `"form": "(function () {…})();\n"`
/// in place of `form_sha256` ([`LockEntry`]).
///
/// [`check`](Lock::check) compares it with the compiled plugins and
/// [`update`](Lock::update) records new versions and compatible changes, never breaking ones.
/// The one-line test is [`check_schema_lock`](super::check_schema_lock).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Lock {
    /// Newest first by semantic version.
    versions: Vec<(semver::Version, String, LockEntry)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LockFile {
    format: u64,
    versions: Map<String, Value>,
}

impl Lock {
    /// The file name the one-line test uses, at the plugin crate's root.
    pub const FILE_NAME: &'static str = "plugin.lock.json";

    /// An empty lock.
    pub fn new() -> Lock {
        Lock::default()
    }

    /// A lock of every version in `registry`.
    pub fn from_registry(registry: &Registry) -> Lock {
        let mut lock = Lock::new();
        for plugin in registry.plugins() {
            lock.insert(
                plugin.semver().clone(),
                plugin.version(),
                LockEntry::from_detail(plugin.detail()),
            );
        }
        lock
    }

    /// Reads `path`.
    pub fn load(path: impl AsRef<Path>) -> Result<Lock, LockFileError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                LockFileError::NotFound {
                    path: path.to_owned(),
                }
            } else {
                LockFileError::Read {
                    path: path.to_owned(),
                    source,
                }
            }
        })?;
        Lock::from_json_str(&text).map_err(|e| LockFileError::Invalid {
            path: path.to_owned(),
            reason: e.reason,
        })
    }

    /// Parses the text of a lock file.
    pub fn from_json_str(text: &str) -> Result<Lock, InvalidLock> {
        let invalid = |reason: String| InvalidLock { reason };
        let file: LockFile = serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
        if file.format != LOCK_FORMAT {
            return Err(invalid(format!(
                "unsupported format {} (this bk-plugin-kit reads format {LOCK_FORMAT})",
                file.format
            )));
        }
        let mut lock = Lock::new();
        for (version, entry) in file.versions {
            let parsed = super::parse_version(&version).map_err(|e| invalid(e.to_string()))?;
            let entry = serde_json::from_value(entry)
                .map_err(|e| invalid(format!("versions.\"{version}\": {e}")))?;
            lock.insert(parsed, &version, entry);
        }
        Ok(lock)
    }

    /// The file text: pretty JSON, versions newest first, keys in a fixed order, a trailing
    /// newline.
    pub fn to_json_string(&self) -> String {
        let versions: Map<String, Value> = self
            .versions
            .iter()
            .map(|(_, text, entry)| (text.clone(), entry.to_json()))
            .collect();
        let file = json!({"format": LOCK_FORMAT, "versions": versions});
        let mut text = serde_json::to_string_pretty(&file).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Writes the lock to `path`, unless the file already holds exactly this text.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), LockFileError> {
        let path = path.as_ref();
        let text = self.to_json_string();
        if std::fs::read_to_string(path).is_ok_and(|old| old == text) {
            return Ok(());
        }
        std::fs::write(path, text).map_err(|source| LockFileError::Write {
            path: path.to_owned(),
            source,
        })
    }

    /// The locked versions, newest first.
    pub fn versions(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.versions.iter().map(|(_, text, _)| text.as_str())
    }

    /// The entry of `version`.
    pub fn get(&self, version: &str) -> Option<&LockEntry> {
        self.versions
            .iter()
            .find(|(_, text, _)| text == version)
            .map(|(_, _, entry)| entry)
    }

    fn insert(&mut self, version: semver::Version, text: &str, entry: LockEntry) {
        match self.versions.iter_mut().find(|(_, t, _)| t == text) {
            Some(slot) => slot.2 = entry,
            None => {
                self.versions.push((version, text.to_owned(), entry));
                self.versions.sort_by(|a, b| b.0.cmp(&a.0));
            }
        }
    }

    /// Compares the compiled plugins with the lock. Every difference is a problem, so nothing
    /// changes unnoticed:
    ///
    /// - a locked version missing from `registry` (breaking: callers still use it);
    /// - a locked version whose `detail` changed: breaking changes need a new version;
    ///   compatible ones must be recorded with [`update`](Lock::update);
    /// - a version of `registry` that is not locked yet: it must be added with `update`.
    pub fn check(&self, registry: &Registry) -> Result<(), LockError> {
        let taken: Vec<semver::Version> = self
            .versions
            .iter()
            .map(|(v, _, _)| v.clone())
            .chain(registry.plugins().map(|p| p.semver().clone()))
            .collect();
        let mut problems = Vec::new();
        for (version, text, entry) in &self.versions {
            let Some(plugin) = registry.get(text) else {
                problems.push(LockProblem::Missing {
                    version: text.clone(),
                });
                continue;
            };
            let changes = diff(&entry.to_json(), plugin.detail());
            if !changes.is_empty() {
                problems.push(LockProblem::Changed {
                    version: text.clone(),
                    suggestion: suggest_free(version, &changes, taken.iter()),
                    changes,
                });
            }
        }
        for plugin in registry.plugins() {
            if self.get(plugin.version()).is_none() {
                problems.push(LockProblem::New {
                    version: plugin.version().to_owned(),
                });
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(LockError { problems })
        }
    }

    /// Records what may be recorded: versions of `registry` that are not locked yet, and
    /// locked versions whose changes are all compatible.
    ///
    /// It never records a breaking change and never drops a locked version: those are
    /// returned as the error, and their entries stay as they were. The lock is updated in both
    /// cases. To retire a version nobody uses any more, or to accept a change the
    /// classification cannot see is harmless (a `form.js` edit that keeps the data structure),
    /// delete its entry from the file by hand; the next update adds it again if it is still
    /// compiled in, and the edit is visible in review.
    pub fn update(&mut self, registry: &Registry) -> Result<(), LockError> {
        let Err(error) = self.check(registry) else {
            return Ok(());
        };
        let mut remaining = Vec::new();
        for problem in error.problems {
            match &problem {
                LockProblem::Missing { .. } => remaining.push(problem),
                _ if problem.is_breaking() => remaining.push(problem),
                LockProblem::Changed { version, .. } | LockProblem::New { version } => {
                    if let Some(plugin) = registry.get(version) {
                        self.insert(
                            plugin.semver().clone(),
                            version,
                            self.get(version).map_or_else(
                                || LockEntry::from_detail(plugin.detail()),
                                |old| old.recorded_from(plugin.detail()),
                            ),
                        );
                    }
                }
            }
        }
        if remaining.is_empty() {
            Ok(())
        } else {
            Err(LockError {
                problems: remaining,
            })
        }
    }
}

/// How the compiled plugins differ from the [`Lock`]: one [`LockProblem`] per version.
///
/// Its `Display` is the report, one line per change:
///
/// ```text
/// 1.0.0: inputs.options.name: required input removed — breaks "removing a required input"; release it as 2.0.0 instead
/// 1.0.0: inputs.tag: description changed — compatible
/// 1.2.0: new version, not in the lock — run with BK_PLUGIN_UPDATE_LOCK=1 to add it
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", lines(.problems))]
#[non_exhaustive]
pub struct LockError {
    /// The problems, locked versions (newest first) before new ones.
    pub problems: Vec<LockProblem>,
}

impl LockError {
    /// `true` when some problem cannot be recorded by [`Lock::update`].
    pub fn is_breaking(&self) -> bool {
        self.problems.iter().any(LockProblem::is_breaking)
    }
}

fn lines(problems: &[LockProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// One version's difference between the compiled plugins and the [`Lock`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum LockProblem {
    /// A locked version is no longer compiled in. Breaking: callers pinned to it and its
    /// running invocations fail.
    Missing {
        /// The version.
        version: String,
    },
    /// A locked version's `detail` changed.
    Changed {
        /// The version.
        version: String,
        /// Its changes, in [`diff`](super::diff) order.
        changes: Vec<Change>,
        /// The version to release the changes as: [`suggest_bump`](super::suggest_bump), moved
        /// past versions already in the lock or the binary.
        suggestion: Option<semver::Version>,
    },
    /// A compiled version is not in the lock yet.
    New {
        /// The version.
        version: String,
    },
}

impl LockProblem {
    /// The version concerned.
    pub fn version(&self) -> &str {
        match self {
            LockProblem::Missing { version }
            | LockProblem::Changed { version, .. }
            | LockProblem::New { version } => version,
        }
    }

    /// `true` for a missing version and for a change set with a breaking change.
    pub fn is_breaking(&self) -> bool {
        match self {
            LockProblem::Missing { .. } => true,
            LockProblem::Changed { changes, .. } => changes.iter().any(Change::is_breaking),
            LockProblem::New { .. } => false,
        }
    }
}

/// One line per change: `{version}: {change}` and the fix. A breaking change's fix is the new
/// version to release instead; a compatible change in a version without breaking ones is
/// fixed by recording it.
impl fmt::Display for LockProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LockProblem::Missing { version } => write!(
                f,
                "{version}: locked version missing from the binary — callers pinned to it and its \
                 running invocations fail; restore it, or delete it from the lock once nothing \
                 uses it"
            ),
            LockProblem::New { version } => write!(
                f,
                "{version}: new version, not in the lock — run with {UPDATE_LOCK_ENV}=1 to add it"
            ),
            LockProblem::Changed {
                version,
                changes,
                suggestion,
            } => {
                let breaking = self.is_breaking();
                let target = match suggestion {
                    Some(v) => v.to_string(),
                    None => "a new version".to_owned(),
                };
                for (i, change) in changes.iter().enumerate() {
                    if i > 0 {
                        f.write_str("\n")?;
                    }
                    write!(f, "{version}: {change}")?;
                    if change.is_breaking() {
                        write!(f, "; release it as {target} instead")?;
                    } else if !breaking {
                        write!(f, "; run with {UPDATE_LOCK_ENV}=1 to record it in the lock")?;
                    }
                }
                Ok(())
            }
        }
    }
}
