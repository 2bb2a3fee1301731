//! The author's route areas under `/bk_plugin/`: `plugin_api/`, `openapi/` and `private/`
//! (protocol.md §1.1, §3.7), each behind the verification its gateway resource requires
//! (`authConfig` in the Python framework's `resources.yaml`, and in ours:
//! `apigw/resources.rs` reads it from here).

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;

use super::{english, require_gateway};
use crate::app_state::AppState;
use crate::auth::Caller;
use crate::reply;

/// One of the author's route areas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Area {
    /// `/bk_plugin/plugin_api/`: form data sources, called by SOPS through
    /// `plugin_api_dispatch` (which skips this gate) or by the browser through the gateway.
    PluginApi,
    /// `/bk_plugin/openapi/`: for other apps ("应用态", app state).
    OpenApi,
    /// `/bk_plugin/private/`: for other apps acting for a logged-in user.
    Private,
}

/// What the gateway verified about a caller, as a resource's `authConfig` demands it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Verification {
    /// `userVerifiedRequired`.
    pub(crate) user: bool,
    /// `appVerifiedRequired`.
    pub(crate) app: bool,
}

impl Area {
    /// The path under `/bk_plugin`.
    pub(crate) const fn prefix(self) -> &'static str {
        match self {
            Area::PluginApi => "/plugin_api",
            Area::OpenApi => "/openapi",
            Area::Private => "/private",
        }
    }

    /// The verification the gateway resource requires (the Python framework's
    /// `resources.yaml`): the user for `plugin_api`, the app for `openapi`, both for
    /// `private`.
    pub(crate) const fn requires(self) -> Verification {
        match self {
            Area::PluginApi => Verification {
                user: true,
                app: false,
            },
            Area::OpenApi => Verification {
                user: false,
                app: true,
            },
            Area::Private => Verification {
                user: true,
                app: true,
            },
        }
    }

    /// Whether `caller`'s JWT carries what this area requires.
    fn admits(self, caller: &Caller) -> bool {
        let need = self.requires();
        (!need.user || caller.user_verified) && (!need.app || caller.app_code.is_some())
    }

    /// `router` behind this area's gate, with bodies up to `upload_limit` for axum's
    /// extractors (`Json`, `Multipart`; their own default is 2 MB). A limit the author sets
    /// inside `router` wins.
    pub(crate) fn mount(self, state: &AppState, router: Router) -> Router {
        router
            .layer(DefaultBodyLimit::max(state.config.upload_limit))
            .layer(middleware::from_fn_with_state((state.clone(), self), gate))
    }
}

/// Without a valid JWT: the gateway 403 (plain text), unless the environment is exempt. With
/// one that lacks the area's verification: 403 `{"detail": ..}`, DRF's permission refusal.
async fn gate(State((state, area)): State<(AppState, Area)>, req: Request, next: Next) -> Response {
    let caller = req
        .extensions()
        .get::<Caller>()
        .cloned()
        .unwrap_or_default();
    if caller.jwt.is_none() {
        if let Err(r) = require_gateway(&state, &caller) {
            return r;
        }
    } else if !area.admits(&caller) {
        return reply::permission_denied(english(req.headers()));
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(user_verified: bool, app: bool) -> Caller {
        let mut c = Caller::default();
        c.user_verified = user_verified;
        c.app_code = app.then(|| "bk_sops".to_owned());
        c
    }

    #[test]
    fn each_area_admits_what_its_resource_requires() {
        use Area::*;
        for (area, user_only, app_only, both) in [
            (PluginApi, true, false, true),
            (OpenApi, false, true, true),
            (Private, false, false, true),
        ] {
            assert_eq!(area.admits(&caller(true, false)), user_only, "{area:?}");
            assert_eq!(area.admits(&caller(false, true)), app_only, "{area:?}");
            assert_eq!(area.admits(&caller(true, true)), both, "{area:?}");
            assert!(!area.admits(&caller(false, false)), "{area:?}");
        }
    }
}
