//! Support for bk-plugin-kit's integration tests: the Rust twins of the Python peer's plugin
//! versions (`shared/peer/plugin_project`) and small helpers.
#![deny(missing_docs)]
#![allow(missing_debug_implementations)]

pub mod gateway;
pub mod jwt;
pub mod peer;
pub mod receiver;
pub mod rig;
pub mod server;
pub mod stores;
pub mod support;
