//! The dev debug page at `/`: the Python framework's `rundebugserver` panel, as one
//! self-contained HTML file (`assets/debug.html`: HTML, CSS and vanilla JS, no build step, no
//! CDN). It lists the versions, shows their schemas, generates forms, invokes, follows the
//! schedule live, delivers callbacks and shows the logs, all through the `/bk_plugin/`
//! endpoints. Served only in the dev environment.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::app_state::AppState;
use crate::routes::SlashRoutes;

/// The page, embedded at build time.
const PAGE: &str = include_str!("../assets/debug.html");

/// The page runs its own inline script and talks only to this origin; it never evaluates the
/// plugin's `forms.renderform`, and the policy makes sure nothing else is loaded or run.
const CSP: &str = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
                   connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; \
                   frame-ancestors 'none'";

async fn page() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        PAGE,
    )
}

/// `GET /` (and `GET {sub_path}/`) serving the debug page in dev; no route in any other
/// environment.
pub(crate) fn routes(state: &AppState) -> Router {
    let mut router = Router::new();
    if !state.config.is_dev() {
        return router;
    }
    router = router.route("/", get(page));
    if let Some(sub) = &state.config.sub_path {
        router = router.route_both(sub, get(page));
    }
    router
}
