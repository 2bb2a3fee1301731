//! Versioning safety: which changes to a released plugin version break its callers, and a
//! schema lock that keeps released versions from changing unnoticed.
//!
//! A caller is pinned to a version string, and running invocations are resumed with the
//! current code of their version, so a released version must keep its inputs, context inputs,
//! outputs and form (docs/versioning.md lists the rules, from the Python framework's README).
//!
//! - [`diff`] compares two `detail`s and classifies every difference as a [`Change`]:
//!   [`Severity::Breaking`] with the [`rules`] text it breaks, or [`Severity::Compatible`].
//! - [`suggest_bump`] gives the version to release the changes as instead.
//! - [`Lock`] is `plugin.lock.json`, each released version's schema, checked into the plugin
//!   crate. [`check_schema_lock`] is the one-line test that compares the compiled plugins with
//!   it; `BK_PLUGIN_UPDATE_LOCK=1 cargo test` records new versions and compatible changes,
//!   never breaking ones.
//!
//! ```no_run
//! #[test]
//! fn schema_lock() {
//!     bk_plugin_core::versioning::check_schema_lock(
//!         bk_plugin_core::registry(),
//!         concat!(env!("CARGO_MANIFEST_DIR"), "/plugin.lock.json"),
//!     );
//! }
//! ```
//!
//! A failure names the version, the field, the rule and the fix:
//!
//! ```text
//! 1.0.0: inputs.options.name: required input removed — breaks "removing a required input"; release it as 2.0.0 instead
//! ```

mod bump;
mod change;
mod check;
mod diff;
mod lock;
mod relax;
pub mod rules;
mod shape;
mod spelling;

#[cfg(test)]
mod form_tests;
#[cfg(test)]
mod tests;

pub use bump::suggest_bump;
pub use change::{Bump, Change, ChangeKind, Section, Severity};
pub use check::{LockFileError, LockMode, UPDATE_LOCK_ENV, check_lock_file, check_schema_lock};
pub use diff::{diff, sha256_hex};
pub use lock::{InvalidLock, LOCK_FORMAT, Lock, LockEntry, LockError, LockProblem};
pub use spelling::{InvalidVersion, parse_version};
