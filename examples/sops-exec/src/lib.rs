//! Example plugin crate: versions of a plugin that runs a BlueKing SOPS task.
//!
//! - [`v0_9_0`]: a retired draft (`deprecated`): not in `meta`, still served to the nodes
//!   pinned to it.
//! - [`v1_0_0`]: creates the task, then polls it until it ends (POLL).
//! - [`v1_1_0`]: creates the task, then waits for SOPS to call back (CALLBACK), and declares
//!   `enable_plugin_callback` so its own caller is told when it finishes.
//! - [`v1_2_0`]: as 1.0.0, with a priority picked from a list (`#[derive(Choice)]`) and
//!   constrained inputs (`#[field(max_length = .., ge = .., le = ..)]`).
//! - [`v1_3_0`]: the user's SOPS API token as a `Secret` (a password box, sealed at rest while
//!   the task is polled) and form widgets (`#[field(form = {..})]`, the Python `InputsForm`).
//!
//! The SOPS calls are simulated: the example must run anywhere.

pub mod v0_9_0;
pub mod v1_0_0;
pub mod v1_1_0;
pub mod v1_2_0;
pub mod v1_3_0;
