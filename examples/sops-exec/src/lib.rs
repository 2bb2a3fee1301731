//! Example plugin crate: two versions of a plugin that runs a BlueKing SOPS task.
//!
//! - [`v1_0_0`]: creates the task, then polls it until it ends (POLL).
//! - [`v1_1_0`]: creates the task, then waits for SOPS to call back (CALLBACK), and declares
//!   `enable_plugin_callback` so its own caller is told when it finishes.
//!
//! The SOPS calls are simulated: the example must run anywhere.

pub mod v1_0_0;
pub mod v1_1_0;
