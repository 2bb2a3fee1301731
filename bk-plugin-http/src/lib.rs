//! HTTP runtime of [bk-plugin-kit](https://docs.rs/bk-plugin-kit): serves the plugins linked
//! into the binary with the Python bk-plugin-framework's wire protocol, so BlueKing SOPS and
//! other callers need no change.
//!
//! Plugin authors call [`run`] (re-exported as `bk_plugin_kit::run`) from `main`; embedders
//! use [`Server`] to get an [`axum::Router`] and the [`Engine`](bk_plugin_engine::Engine).
#![deny(missing_docs)]
// Checks return `Result<_, Response>` (axum's idiom); the response is built once per request.
#![allow(clippy::result_large_err)]

mod apigw;
mod app_state;
mod auth;
mod body;
mod cli;
mod config;
mod database_env;
mod debug;
mod engine_env;
mod gateway_key;
mod logging;
mod metrics;
mod multipart;
mod openapi;
mod orphans;
#[cfg(feature = "otel")]
mod otel;
mod redact;
mod reply;
mod routes;
mod run;
mod schedules;
mod scope;
mod serve;
mod server;
#[cfg(test)]
mod test_env;
mod time;
mod trace_context;

pub use auth::Caller;
pub use cli::diff_report;
pub use config::{Config, ConfigError};
pub use engine_env::EngineEnv;
pub use logging::{LogGuard, init_logging};
pub use orphans::Orphans;
pub use run::{run, run_with};
pub use server::{App, Server, StartError};
pub use trace_context::TraceContext;

/// axum, for `plugin_api` routes (`bk_plugin_kit::http::axum::Router`).
pub use axum;
