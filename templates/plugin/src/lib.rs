//! The plugin versions of `{{app_code}}`, one module per version.
//!
//! A released version never changes: add a module for the next version instead
//! (README.md, "Adding a version").

pub mod v1_0_0;
