//! What every handler shares.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use bk_plugin_engine::Engine;

use crate::config::Config;
use crate::routes::areas::Area;
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
    /// The author's routes, by area (mounted behind their gates by the router).
    pub(crate) areas: Vec<(Area, Router)>,
    /// The author's `plugin_api` routes as dispatch calls them: no gate, no body limit (the
    /// forwarded body is already in memory, bounded by dispatch).
    pub(crate) dispatch_target: Router,
    pub(crate) metrics: crate::metrics::Metrics,
    /// This app's code and secret, given to every request's [`Caller`](crate::Caller).
    pub(crate) app_credentials: Arc<crate::auth::AppCredentials>,
}

/// Handler state.
pub(crate) type AppState = Arc<Shared>;
