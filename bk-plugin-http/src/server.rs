//! [`Server`]: builds the engine and the axum router from a [`Config`], and serves them.

use std::io;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use bk_plugin_core::Registry;
use bk_plugin_engine::store::Store;
use bk_plugin_engine::{
    CallbackKey, CallbackSigner, Engine, EngineConfig, EngineHandle, SecretKey,
};
use bk_plugin_store::SqliteStore;
use serde_json::json;
use tokio::net::TcpListener;

use crate::app_state::{AppState, Shared};
use crate::config::{Config, ConfigError};
use crate::reply;
use crate::routes::areas::Area;
use crate::routes::{
    SlashRoutes, callback, cancel, detail, dispatch, invoke, logs, meta, schedule,
};
use crate::scope::AllowScope;

/// Why the server cannot start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The plugin registry cannot be built (e.g. a version registered twice).
    #[error("{0}")]
    Registry(String),
    /// No `#[plugin]` is linked into the binary.
    #[error(
        "no plugin is registered: a #[plugin] crate that is never referenced is not linked; add `use my_plugins as _;` to main.rs"
    )]
    NoPlugins,
    /// The schedule store cannot be opened.
    #[error("schedule store {url}: {message}")]
    Store {
        /// The database URL, its password replaced by `***`.
        url: String,
        /// What failed.
        message: String,
    },
    /// The gateway public key is unusable.
    #[error("{0}")]
    Jwt(String),
    /// Binding or serving failed.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The store holds unfinished invocations of versions this binary does not serve: they
    /// would fail at their next resume. Allowed by
    /// [`Config::allow_orphans`](crate::Config::allow_orphans).
    #[error(
        "the schedule store holds unfinished invocations of versions this binary does not \
         serve: {0}. They would fail at their next resume. Put those versions back (retire a \
         version with #[plugin(deprecated = \"..\")] and remove it once nothing waits on it), \
         end them (`schedules list --state waiting --version V`, then `schedules fail TRACE`), \
         or start anyway with --allow-orphans or BK_PLUGIN_ALLOW_ORPHANS=1 (docs/deployment.md)"
    )]
    Orphans(crate::orphans::Orphans),
}

/// The dev-only callback secret used when no app secret is configured (never outside dev).
const DEV_SECRET: &str = "bk-plugin-kit dev secret: set BKPAAS_APP_SECRET";

/// Builds a plugin server: the engine over the configured store plus the HTTP routes.
///
/// ```no_run
/// # async fn f() -> Result<(), bk_plugin_http::StartError> {
/// use bk_plugin_http::{Config, Server};
/// let app = Server::new(Config::from_env()?).build().await?;
/// let listener = tokio::net::TcpListener::bind(app.config().listen).await?;
/// app.serve(listener).await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Server {
    config: Config,
    registry: Option<&'static Registry>,
    plugin_api: Router,
    openapi: Option<Router>,
    private: Option<Router>,
    engine_config: EngineConfig,
    store: Option<Arc<dyn Store>>,
}

impl Server {
    /// A server with `config`, serving every plugin linked into the binary.
    pub fn new(config: Config) -> Self {
        Server {
            config,
            registry: None,
            plugin_api: Router::new(),
            openapi: None,
            private: None,
            engine_config: EngineConfig::default(),
            store: None,
        }
    }

    /// Serves `registry` instead of every linked plugin.
    pub fn registry(mut self, registry: &'static Registry) -> Self {
        self.registry = Some(registry);
        self
    }

    /// Mounts the author's routes under `/bk_plugin/plugin_api/` (also reachable through
    /// `plugin_api_dispatch`). Handlers read the caller with `Extension<Caller>`, and the
    /// caller's W3C trace context with `Extension<TraceContext>` (to pass on to the services
    /// they call).
    ///
    /// A direct call needs a gateway JWT whose user is verified (the gateway resource's
    /// rule; dispatch has checked its own caller instead). Files uploaded through
    /// `plugin_api_dispatch` arrive as a `multipart/form-data` body: read them with
    /// [`axum::extract::Multipart`], as a direct upload. Bodies may be as large as
    /// [`Config::upload_limit`].
    ///
    /// ```
    /// use bk_plugin_http::axum::extract::Multipart;
    /// use bk_plugin_http::axum::http::StatusCode;
    /// use bk_plugin_http::axum::routing::post;
    /// use bk_plugin_http::axum::{Json, Router};
    /// use serde_json::{Value, json};
    ///
    /// /// Lists the uploaded files and the other fields.
    /// async fn import(mut form: Multipart) -> Result<Json<Value>, (StatusCode, String)> {
    ///     let bad = |e: bk_plugin_http::axum::extract::multipart::MultipartError| {
    ///         (e.status(), e.body_text())
    ///     };
    ///     let (mut files, mut fields) = (Vec::new(), serde_json::Map::new());
    ///     while let Some(field) = form.next_field().await.map_err(bad)? {
    ///         let name = field.name().unwrap_or_default().to_owned();
    ///         match field.file_name().map(str::to_owned) {
    ///             Some(file_name) => {
    ///                 let content_type = field.content_type().map(str::to_owned);
    ///                 let bytes = field.bytes().await.map_err(bad)?;
    ///                 files.push(json!({"field": name, "file_name": file_name,
    ///                                   "content_type": content_type, "size": bytes.len()}));
    ///             }
    ///             None => {
    ///                 fields.insert(name, field.text().await.map_err(bad)?.into());
    ///             }
    ///         }
    ///     }
    ///     Ok(Json(json!({"files": files, "fields": fields})))
    /// }
    ///
    /// let router: Router = Router::new().route("/import", post(import));
    /// # let _ = bk_plugin_http::Server::new(bk_plugin_http::Config::dev()).plugin_api(router);
    /// ```
    pub fn plugin_api(mut self, router: Router) -> Self {
        self.plugin_api = router;
        self
    }

    /// Mounts the author's routes under `/bk_plugin/openapi/`, for other apps (the Python
    /// framework's `bk_plugin.openapi.urls`). A call needs a gateway JWT whose app is
    /// verified; handlers read it with `Extension<Caller>` (`app_code`).
    pub fn openapi(mut self, router: Router) -> Self {
        self.openapi = Some(router);
        self
    }

    /// Mounts the author's routes under `/bk_plugin/private/`, for other apps acting for a
    /// user (the Python framework's `bk_plugin.private.urls`). A call needs a gateway JWT whose
    /// app and user are both verified; handlers read them with `Extension<Caller>`.
    pub fn private(mut self, router: Router) -> Self {
        self.private = Some(router);
        self
    }

    /// Tunes the engine.
    pub fn engine_config(mut self, config: EngineConfig) -> Self {
        self.engine_config = config;
        self
    }

    /// Uses `store` instead of opening `config.database_url`.
    pub fn store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }

    /// Opens the store, builds the engine and the router.
    pub async fn build(self) -> Result<App, StartError> {
        let config = self.config;
        config.validate()?;
        let registry = match self.registry {
            Some(r) => r,
            None => {
                bk_plugin_core::try_registry().map_err(|e| StartError::Registry(e.to_string()))?
            }
        };
        if registry.is_empty() {
            return Err(StartError::NoPlugins);
        }
        let store = match self.store {
            Some(s) => s,
            None => open_store(&config.database_url).await?,
        };
        crate::orphans::check(registry, &store, config.allow_orphans, &config.database_url).await?;
        let key = match (&config.callback_key, &config.app_secret) {
            (Some(k), _) => CallbackKey::from_base64(k).ok_or_else(|| ConfigError::Invalid {
                name: "BK_PLUGIN_CALLBACK_KEY",
                reason: "not a Fernet key (32 bytes, URL-safe base64)".into(),
            })?,
            (None, Some(secret)) => CallbackKey::from_app_secret(secret),
            // `validate` allows this in dev on a loopback listener only.
            (None, None) => {
                tracing::warn!(
                    "no BKPAAS_APP_SECRET: callback URLs are signed with a dev-only key"
                );
                CallbackKey::from_app_secret(DEV_SECRET)
            }
        };
        let mut engine_config = self.engine_config;
        engine_config.notify_policy = config.notify_policy()?;
        config.engine.apply(&mut engine_config);
        let secret_key = secret_key(&config, &key);
        let signer = CallbackSigner::new(key, &config.callback_host, &config.environment);
        let engine = Engine::builder(registry, store)
            .config(engine_config)
            .callbacks(signer)
            .secret_key(secret_key);
        #[cfg(feature = "otel")]
        let engine = engine.spans(Arc::new(crate::otel::OtelSpans));
        let engine = engine.build();
        let jwt = crate::gateway_key::GatewayKey::load(&config, engine.store())
            .await
            .map_err(StartError::Jwt)?;
        let scope =
            AllowScope::parse(&config.allow_scope).map_err(|reason| ConfigError::Invalid {
                name: "BK_PLUGIN_ALLOW_SCOPE",
                reason,
            })?;
        if registry.plugins().all(|p| p.deprecated().is_some()) {
            tracing::warn!(
                "every plugin version is deprecated: meta lists them all, since new callers \
                 need some version to pick"
            );
        }
        let defaults = registry.meta();
        let code = config
            .app_code
            .clone()
            .unwrap_or_else(|| defaults["code"].as_str().unwrap_or_default().to_owned());
        let description = config.description.clone().unwrap_or_else(|| {
            defaults["description"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        });
        let meta = json!({
            "result": true,
            "data": registry.meta_with(&code, &description, &config.allow_scope),
            "message": "",
        });
        let app_credentials = Arc::new(crate::auth::AppCredentials {
            code: config.app_code.clone().unwrap_or_default(),
            secret: config.app_secret.clone().unwrap_or_default(),
        });
        let shared = Arc::new(Shared {
            engine: engine.clone(),
            meta: serde_json::to_vec(&meta).unwrap_or_default().into(),
            details: registry
                .plugins()
                .map(|p| {
                    let body = json!({"result": true, "data": p.detail(), "message": ""});
                    (
                        p.version(),
                        serde_json::to_vec(&body).unwrap_or_default().into(),
                    )
                })
                .collect(),
            openapi: serde_json::to_vec(&crate::openapi::document(
                registry,
                &code,
                config.is_dev(),
            ))
            .unwrap_or_default()
            .into(),
            config,
            jwt,
            scope,
            dispatch_target: self.plugin_api.clone().layer(DefaultBodyLimit::disable()),
            areas: [
                (Area::PluginApi, Some(self.plugin_api)),
                (Area::OpenApi, self.openapi),
                (Area::Private, self.private),
            ]
            .into_iter()
            .filter_map(|(area, router)| Some((area, router?)))
            .collect(),
            metrics: crate::metrics::Metrics::new(),
            app_credentials,
        });
        Ok(App {
            router: router(shared.clone()),
            shared,
        })
    }
}

pub(crate) async fn open_store(url: &str) -> Result<Arc<dyn Store>, StartError> {
    let err = |message: String| StartError::Store {
        url: crate::redact::database_url(url),
        message,
    };
    if url.starts_with("sqlite:") || !url.contains("://") {
        let store = SqliteStore::connect(url)
            .await
            .map_err(|e| err(e.to_string()))?;
        return Ok(Arc::new(store));
    }
    #[cfg(feature = "postgres")]
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let store = bk_plugin_store::PostgresStore::connect(url)
            .await
            .map_err(|e| err(e.to_string()))?;
        return Ok(Arc::new(store));
    }
    #[cfg(feature = "mysql")]
    if url.starts_with("mysql://") || url.starts_with("mariadb://") {
        let store = bk_plugin_store::MySqlStore::connect(url)
            .await
            .map_err(|e| err(e.to_string()))?;
        return Ok(Arc::new(store));
    }
    let mut supported = vec!["sqlite://path"];
    if cfg!(feature = "postgres") {
        supported.push("postgres://...");
    }
    if cfg!(feature = "mysql") {
        supported.push("mysql://... (or mariadb://...)");
    }
    let mut message = format!("supported: {}", supported.join(", "));
    if !cfg!(all(feature = "postgres", feature = "mysql")) {
        message
            .push_str(" (the kit's `postgres` and `mysql` features add postgres:// and mysql://)");
    }
    Err(err(message))
}

/// A built server: the router and the engine behind it.
#[derive(Debug)]
pub struct App {
    router: Router,
    shared: AppState,
}

impl App {
    /// The axum router (to embed in your own server; then run the engine with
    /// [`engine`](App::engine)`().start()`). The dev configuration's JWT exemption assumes the
    /// loopback listener of [`Config::listen`]: serve this router only there, or use
    /// [`serve`](App::serve), which refuses any other listener for it, and which also applies
    /// the connection limits.
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.shared.engine
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.shared.config
    }

    /// Starts the engine's loops and serves on `listener` until Ctrl-C or SIGTERM; then stops
    /// accepting, lets in-flight requests and runs finish, and returns. Unfinished schedules
    /// stay in the store.
    pub async fn serve(self, listener: TcpListener) -> io::Result<()> {
        self.serve_until(listener, shutdown_signal()).await
    }

    /// [`serve`](App::serve), stopping gracefully when `signal` completes instead of on
    /// Ctrl-C / SIGTERM.
    pub async fn serve_until(
        self,
        listener: TcpListener,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> io::Result<()> {
        let config = &self.shared.config;
        if config.is_dev() && (config.gateway_exempt() || config.uses_dev_callback_key()) {
            let addr = listener.local_addr()?;
            if !addr.ip().is_loopback() {
                return Err(io::Error::other(ConfigError::ExposedDev(addr)));
            }
        }
        let handle: EngineHandle = self.shared.engine.start();
        let limits = crate::serve::Limits {
            max_connections: config.max_connections,
            header_timeout: config.header_timeout,
        };
        let result = crate::serve::serve(listener, self.router, limits, signal).await;
        handle.shutdown().await;
        result
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
    tracing::info!("shutting down: finishing in-flight requests and runs");
}

/// Verifies `X-Bkapi-JWT` (when a key is configured) and attaches the [`Caller`].
async fn caller_layer(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let token = req
        .headers()
        .get("x-bkapi-jwt")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let caller = match token {
        Some(token) => state.jwt.caller(&token).await,
        None => None,
    };
    let caller = caller
        .unwrap_or_default()
        .with_app_credentials(state.app_credentials.clone());
    req.extensions_mut().insert(caller);
    next.run(req).await
}

/// Without the gateway's JWT (dev on a loopback listener), only requests addressed to a
/// loopback name are served: a web page cannot reach the dev server by pointing its own DNS
/// name at 127.0.0.1 (DNS rebinding).
async fn loopback_host_only(req: Request, next: Next) -> Response {
    let host = req
        .headers()
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if is_loopback_host(host) {
        next.run(req).await
    } else {
        reply::detail(
            StatusCode::FORBIDDEN,
            "the dev server answers only requests addressed to localhost, 127.0.0.1 or [::1]",
        )
    }
}

/// `localhost`, `*.localhost`, `127.x.x.x` or `[::1]`, with or without a port.
fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(h, _)| h),
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost"
        || name.ends_with(".localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The key secret inputs are sealed with at rest: derived from the app secret (or from
/// `BK_PLUGIN_CALLBACK_KEY`, or the dev key, as the callback key is), opening with the keys of
/// `BK_PLUGIN_PREVIOUS_APP_SECRETS` too.
fn secret_key(config: &Config, callback_key: &CallbackKey) -> SecretKey {
    let key = match &config.app_secret {
        Some(secret) => SecretKey::from_app_secret(secret),
        None => SecretKey::from_app_secret(callback_key.to_base64()),
    };
    config
        .previous_app_secrets
        .iter()
        .fold(key, |key, old| key.with_previous(old))
}

async fn openapi(State(state): State<AppState>) -> Response {
    reply::json_bytes(state.openapi.clone())
}

async fn method_not_allowed(req: Request<Body>) -> Response {
    let en = crate::routes::english(req.headers());
    let m = req.method().as_str().to_owned();
    let msg = if en {
        format!("Method \"{m}\" not allowed.")
    } else {
        format!("方法 “{m}” 不被允许。")
    };
    reply::detail(StatusCode::METHOD_NOT_ALLOWED, &msg)
}

fn api(state: AppState) -> Router {
    let dev_only = if state.config.is_dev() {
        Router::new()
            .route_both("/logs/{trace_id}", get(logs::logs))
            .route("/diff/{old}/{new}", get(crate::routes::diff::diff))
            .route_both("/schedules", get(crate::routes::schedules::schedules))
            .route_both("/versions", get(crate::routes::versions::versions))
    } else {
        Router::new()
    };
    let mut api = Router::new()
        .route_both("/meta", get(meta::meta))
        .route_both("/detail/{version}", get(detail::detail))
        .route_both("/invoke/{version}", post(invoke::invoke))
        .route_both("/schedule/{trace_id}", get(schedule::schedule))
        .route_both("/callback/{token}", post(callback::callback))
        .route_both("/cancel/{trace_id}", post(cancel::cancel))
        .route_both("/plugin_api_dispatch", post(dispatch::dispatch))
        .merge(dev_only)
        .method_not_allowed_fallback(method_not_allowed);
    for (area, router) in &state.areas {
        api = api.nest_service(area.prefix(), area.mount(&state, router.clone()));
    }
    api.with_state(state)
}

fn router(state: AppState) -> Router {
    let mut root = Router::new().nest("/bk_plugin", api(state.clone()));
    if let Some(sub) = &state.config.sub_path {
        root = root.nest(&format!("{sub}/bk_plugin"), api(state.clone()));
    }
    root = root
        .route(
            "/metrics",
            get(crate::metrics::metrics).with_state(state.clone()),
        )
        .route("/openapi.json", get(openapi).with_state(state.clone()))
        .route("/schema/", get(openapi).with_state(state.clone()));
    root = root.merge(crate::debug::routes(&state));
    let exempt_dev = state.config.is_dev() && state.config.gateway_exempt();
    let root = root
        .layer(middleware::from_fn_with_state(state, caller_layer))
        .layer(middleware::from_fn(crate::trace_context::layer));
    if exempt_dev {
        root.layer(middleware::from_fn(loopback_host_only))
    } else {
        root
    }
}

#[cfg(test)]
mod tests {
    use super::is_loopback_host;

    #[test]
    fn loopback_hosts() {
        for h in [
            "localhost",
            "localhost:8000",
            "127.0.0.1:8000",
            "127.9.9.9",
            "[::1]:80",
            "[::1]",
            "app.localhost:1",
            "LOCALHOST",
        ] {
            assert!(is_loopback_host(h), "{h}");
        }
        for h in [
            "",
            "evil.example.com",
            "evil.example.com:8000",
            "127.0.0.1.evil.com",
            "10.0.0.1:8000",
            "[::2]:80",
            "localhost.evil.com",
        ] {
            assert!(!is_loopback_host(h), "{h}");
        }
    }
}
