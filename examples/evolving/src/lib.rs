//! Example plugin crate: one plugin evolved the way docs/versioning.md asks, each released
//! version kept as its own `#[plugin]` module and recorded in `plugin.lock.json`.
//!
//! - [`v1_0_0`]: the first release. Creates a deploy task and polls it until it ends.
//! - [`v1_1_0`]: compatible with 1.0.0. Adds an optional input (`tag`) and an output
//!   (`task_url`). Callers of 1.0.0 could have stayed on 1.0.0 unharmed, and 1.0.0 stays
//!   unchanged for them.
//! - [`v2_0_0`]: breaking. Adds a required input (`biz_id`) and changes the type of the output
//!   `task_id` from integer to string. That is why it is a new major version instead of an
//!   edit of 1.1.0.
//!
//! The README next to Cargo.toml walks through the steps. The deploy system is simulated: the
//! example must run anywhere.

pub mod v1_0_0;
pub mod v1_1_0;
pub mod v2_0_0;
