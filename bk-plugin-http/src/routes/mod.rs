//! The endpoints under `/bk_plugin/`, each in its own file, and the shared checks.

pub(crate) mod areas;
pub(crate) mod callback;
pub(crate) mod cancel;
pub(crate) mod detail;
pub(crate) mod diff;
pub(crate) mod dispatch;
pub(crate) mod dispatch_request;
pub(crate) mod invoke;
pub(crate) mod logs;
pub(crate) mod meta;
pub(crate) mod schedule;
pub(crate) mod schedules;
pub(crate) mod versions;

use axum::Router;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::MethodRouter;

use crate::app_state::AppState;
use crate::auth::Caller;
use crate::reply;

/// Registering a route with and without its trailing slash, as the Python framework's URL
/// patterns answer both.
pub(crate) trait SlashRoutes<S> {
    /// `path` and `path/` both answered by `handler`.
    fn route_both(self, path: &str, handler: MethodRouter<S>) -> Self;
}

impl<S: Clone + Send + Sync + 'static> SlashRoutes<S> for Router<S> {
    fn route_both(self, path: &str, handler: MethodRouter<S>) -> Self {
        self.route(path, handler.clone())
            .route(&format!("{path}/"), handler)
    }
}

/// 403 unless the request came through the gateway (or the environment is exempt).
pub(crate) fn require_gateway(state: &AppState, caller: &Caller) -> Result<(), Response> {
    if state.config.gateway_exempt() || caller.jwt.is_some() {
        Ok(())
    } else {
        Err(reply::gateway_required())
    }
}

/// 403 `{"detail": ..}` unless `allow_scope` lets the calling app in.
pub(crate) fn require_scope(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
) -> Result<(), Response> {
    let h = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if state.scope.allows(
        caller.app_code.as_deref(),
        h("bkplugin-scope-type"),
        h("bkplugin-scope-value"),
    ) {
        Ok(())
    } else {
        Err(reply::permission_denied(english(headers)))
    }
}

/// The checks of the gateway-only, scoped routes (invoke, cancel, dispatch), in the order of
/// docs/protocol.md: the gateway JWT ([`require_gateway`]), then [`require_scope`].
pub(crate) fn require_scoped_caller(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
) -> Result<(), Response> {
    require_gateway(state, caller)?;
    require_scope(state, caller, headers)
}

/// DRF localises its messages from `Accept-Language` (default zh-hans).
pub(crate) fn english(headers: &HeaderMap) -> bool {
    headers
        .get("accept-language")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("en"))
}
