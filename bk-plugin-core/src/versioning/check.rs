//! The lock file check behind the one-line test: [`check_schema_lock`].

use std::path::{Path, PathBuf};

use super::lock::{Lock, LockError, LockProblem};
use crate::Registry;

/// The environment variable that turns the check into an update: `BK_PLUGIN_UPDATE_LOCK=1`.
pub const UPDATE_LOCK_ENV: &str = "BK_PLUGIN_UPDATE_LOCK";

/// Whether [`check_lock_file`] only compares, or also records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// Compare only; any difference is an error.
    Check,
    /// Create the file if missing, record new versions and compatible changes
    /// ([`Lock::update`]); breaking changes and missing versions are still errors.
    Update,
}

impl LockMode {
    /// [`Update`](LockMode::Update) when `BK_PLUGIN_UPDATE_LOCK` is `1` or `true`, else
    /// [`Check`](LockMode::Check).
    pub fn from_env() -> LockMode {
        match std::env::var(UPDATE_LOCK_ENV).as_deref() {
            Ok("1" | "true") => LockMode::Update,
            _ => LockMode::Check,
        }
    }
}

/// Why [`check_lock_file`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LockFileError {
    /// The lock file does not exist (in [`LockMode::Check`]).
    #[error(
        "{} does not exist; run `{UPDATE_LOCK_ENV}=1 cargo test` to create it and check it in",
        path.display()
    )]
    NotFound {
        /// The file.
        path: PathBuf,
    },
    /// The lock file cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The lock file cannot be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The lock file is not a lock.
    #[error("{} is not a valid plugin lock: {reason}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The compiled plugins differ from the lock. In [`LockMode::Update`], only what could not
    /// be recorded is listed (the rest was written).
    #[error(
        "{} does not match the compiled plugins:\n{error}\n{}",
        path.display(),
        footer(*mode, error)
    )]
    Mismatch {
        /// The file.
        path: PathBuf,
        /// The differences.
        error: LockError,
        /// The mode the check ran in.
        mode: LockMode,
    },
}

fn footer(mode: LockMode, error: &LockError) -> String {
    let rules = "A released version must keep its inputs, context inputs, outputs and form \
                 (docs/versioning.md).";
    match mode {
        LockMode::Update => format!(
            "{rules} The lock was updated except for the lines above: breaking changes are \
             never recorded; keep the released version as it was and release the change as \
             the suggested version."
        ),
        LockMode::Check if error.is_breaking() => format!(
            "{rules} Breaking changes need a new version; new versions and compatible changes \
             are recorded by `{UPDATE_LOCK_ENV}=1 cargo test`."
        ),
        LockMode::Check => format!(
            "{rules} Record new versions and compatible changes with `{UPDATE_LOCK_ENV}=1 cargo \
             test`, and check the lock in."
        ),
    }
}

/// Compares `registry` with the lock file at `path` ([`Lock::check`]) or, in
/// [`LockMode::Update`], records new versions and compatible changes in it, creating it if
/// needed ([`Lock::update`]).
///
/// Returns what was recorded, one line per added version or recorded change (empty when
/// nothing changed).
pub fn check_lock_file(
    registry: &Registry,
    path: &Path,
    mode: LockMode,
) -> Result<Vec<String>, LockFileError> {
    let mismatch = |error| LockFileError::Mismatch {
        path: path.to_owned(),
        error,
        mode,
    };
    let loaded = Lock::load(path);
    match mode {
        LockMode::Check => {
            loaded?.check(registry).map_err(mismatch)?;
            Ok(Vec::new())
        }
        LockMode::Update => {
            let mut lock = match loaded {
                Err(LockFileError::NotFound { .. }) => Lock::new(),
                other => other?,
            };
            let before = lock.check(registry).err();
            let result = lock.update(registry);
            lock.save(path)?;
            let recorded = before
                .map(|e| e.problems)
                .unwrap_or_default()
                .iter()
                .filter(|p| !p.is_breaking())
                .flat_map(|p| recorded_lines(path, p))
                .collect();
            result.map_err(mismatch)?;
            Ok(recorded)
        }
    }
}

/// What [`Lock::update`] wrote for `problem` (one that is not breaking).
fn recorded_lines(path: &Path, problem: &LockProblem) -> Vec<String> {
    let file = path.display();
    match problem {
        LockProblem::Changed {
            version, changes, ..
        } => changes
            .iter()
            .map(|c| format!("{file}: recorded {version}: {c}"))
            .collect(),
        other => vec![format!("{file}: added {}", other.version())],
    }
}

/// The one-line schema lock test: panics with the full report when the compiled plugins
/// differ from the lock file at `lock_path`.
///
/// With `BK_PLUGIN_UPDATE_LOCK=1` in the environment it records new versions and compatible
/// changes instead (creating the file if missing) and passes, unless a locked version has a
/// breaking change or is missing: those always fail. Check the file in with the plugin crate.
///
/// ```no_run
/// #[test]
/// fn schema_lock() {
///     bk_plugin_core::versioning::check_schema_lock(
///         bk_plugin_core::registry(),
///         concat!(env!("CARGO_MANIFEST_DIR"), "/plugin.lock.json"),
///     );
/// }
/// ```
///
/// # Panics
///
/// On any difference in check mode, on a breaking difference in update mode, and when the
/// file cannot be read, parsed or written.
#[track_caller]
pub fn check_schema_lock(registry: &Registry, lock_path: impl AsRef<Path>) {
    match check_lock_file(registry, lock_path.as_ref(), LockMode::from_env()) {
        Ok(recorded) => {
            for line in recorded {
                eprintln!("{line}");
            }
        }
        Err(e) => panic!("schema lock check failed: {e}"),
    }
}
