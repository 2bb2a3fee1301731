//! What every handler shares.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use bk_plugin_engine::Engine;

use crate::config::Config;
use crate::scope::AllowScope;

#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) engine: Engine,
    pub(crate) config: Config,
    pub(crate) jwt: crate::gateway_key::GatewayKey,
    pub(crate) scope: AllowScope,
    /// `meta` response body, built once.
    pub(crate) meta: Bytes,
    /// Each version's `detail` response body, built once.
    pub(crate) details: std::collections::HashMap<&'static str, Bytes>,
    /// The OpenAPI document, built once.
    pub(crate) openapi: Bytes,
    /// The author's `plugin_api` routes (for dispatch).
    pub(crate) plugin_api: Router,
    pub(crate) metrics: crate::metrics::Metrics,
}

/// Handler state.
pub(crate) type AppState = Arc<Shared>;
