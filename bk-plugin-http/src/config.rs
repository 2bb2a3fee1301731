//! [`Config`]: the runtime's settings, read from the BK PaaS environment.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;

use crate::engine_env::EngineEnv;

/// Why the configuration cannot be used; the server refuses to start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A variable has a value that cannot be parsed.
    #[error("environment variable {name}: {reason}")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A variable required outside dev is missing.
    #[error(
        "environment variable {0} is required when BKPAAS_ENVIRONMENT is not dev (for local development set BKPAAS_ENVIRONMENT=dev)"
    )]
    Missing(&'static str),
    /// A dev server on an address other hosts can reach, without what makes that safe.
    #[error(
        "BKPAAS_ENVIRONMENT=dev on {0}, an address other hosts can reach: set BKPAAS_APP_SECRET (or BK_PLUGIN_CALLBACK_KEY) and BK_APIGW_PUBLIC_KEY, or listen on 127.0.0.1 (BK_PLUGIN_LISTEN)"
    )]
    ExposedDev(SocketAddr),
    /// Outside dev, no durable schedule store is configured.
    #[error("{}", crate::database_env::NO_STORE)]
    NoStore,
}

/// Runtime settings. [`Config::from_env`] reads them the way the Python framework does; every
/// field can also be set in code, starting from [`Config::default`] (production rules) or
/// [`Config::dev`] (local development).
///
/// `Debug` prints secrets as `***` and the database URL without its password.
#[derive(Clone)]
#[non_exhaustive]
pub struct Config {
    /// Where to listen: `0.0.0.0:$PORT` when `PORT` is set (BK PaaS), else `127.0.0.1:8000`;
    /// `BK_PLUGIN_LISTEN` overrides both.
    pub listen: SocketAddr,
    /// `BKPAAS_ENVIRONMENT`: `dev`, `stag` or `prod`. Unset or empty means `prod`: the dev
    /// conveniences (no gateway JWT, the debug page, the dev callback key) are only ever on
    /// when asked for, and then only on a loopback listener.
    pub environment: String,
    /// `BKPAAS_APP_ID` (or `BKPAAS_APP_CODE`): `meta.code`.
    pub app_code: Option<String>,
    /// `BKPAAS_APP_SECRET` (or `BK_APP_SECRET`): derives the callback key.
    pub app_secret: Option<String>,
    /// `BK_PLUGIN_CALLBACK_KEY`: a Fernet key that overrides the derived one.
    pub callback_key: Option<String>,
    /// `BK_PLUGIN_PREVIOUS_APP_SECRETS` (comma-separated): app secrets before a rotation, whose
    /// keys still open the secret inputs they sealed.
    pub previous_app_secrets: Vec<String>,
    /// The callback URL host: `BK_APIGW_MANAGER_URL_TMPL` (or `..._TEMPL`, or `BK_API_URL_TMPL`)
    /// with `{api_name}` replaced by `BKPAAS_BK_PLUGIN_APIGW_NAME`. Empty in dev.
    pub callback_host: String,
    /// `DATABASE_URL` (or `BK_PLUGIN_DATABASE_URL`): `sqlite://path` (default
    /// `sqlite://bk_plugin.db`). Unset, [`from_env`](Config::from_env) builds it from BK
    /// PaaS's MySQL add-on variables, and outside dev refuses to start without them.
    pub database_url: String,
    /// The API gateway's RSA public key (PEM) verifying `X-Bkapi-JWT`:
    /// `BK_APIGW_PUBLIC_KEY`, or the file named by `BK_APIGW_PUBLIC_KEY_FILE`.
    pub apigw_public_key: Option<String>,
    /// `BK_APIGW_REQUIRE_EXEMPT`: serve gateway-only endpoints without a JWT in **stag**
    /// (as the Python framework). Default off; [`validate`](Config::validate) rejects it in
    /// other environments. Dev on a loopback listener is exempt without it
    /// ([`gateway_exempt`](Config::gateway_exempt)).
    pub require_exempt: bool,
    /// `BK_PLUGIN_NOTIFY_ALLOW`: the only hosts / networks finish notifications may go to
    /// (comma-separated host names, `*.suffix`, IPs, CIDRs); unset: anywhere except
    /// link-local, cloud metadata and (outside dev) loopback addresses.
    pub notify_allow: Option<String>,
    /// Largest accepted request body in bytes (`BK_PLUGIN_BODY_LIMIT`, default 10 MiB);
    /// larger bodies get 413.
    pub body_limit: usize,
    /// Largest accepted `multipart/form-data` body of `plugin_api_dispatch` (SOPS's form
    /// uploads), and of a request to the author's routes (`plugin_api`, `openapi`, `private`),
    /// in bytes (`BK_PLUGIN_UPLOAD_LIMIT`, default 32 MiB); larger bodies get 413. The whole
    /// body is held in memory.
    pub upload_limit: usize,
    /// Most connections served at once (`BK_PLUGIN_MAX_CONNECTIONS`, default 1024); beyond
    /// it new connections wait in the kernel's backlog until one closes.
    pub max_connections: usize,
    /// How long a connection may take to send a request head, and may stay idle between
    /// keep-alive requests, before it is closed (`BK_PLUGIN_HEADER_TIMEOUT`, seconds, default
    /// 10).
    pub header_timeout: Duration,
    /// How long the body of an invoke, callback or dispatch request may take to arrive
    /// (`BK_PLUGIN_BODY_TIMEOUT`, seconds, default 30); later: 408.
    pub body_timeout: Duration,
    /// Engine settings from the environment (store and step time limits, state size,
    /// retention, attempts, concurrency); what is unset keeps the engine's configuration.
    pub engine: EngineEnv,
    /// An app sub-path every route is also served under, e.g. `/my-plugin`
    /// (`BK_PLUGIN_SUB_PATH`; default: the path of the app's preallocated URL).
    pub sub_path: Option<String>,
    /// `meta.description`.
    pub description: Option<String>,
    /// `meta.allow_scope` (`BK_PLUGIN_ALLOW_SCOPE`, JSON): `{app_code: {type, value: [..]}}`.
    pub allow_scope: Value,
    /// `BKPAAS_BK_PLUGIN_APIGW_NAME`: the plugin's API gateway, whose public key the server
    /// fetches at startup when `apigw_public_key` is unset (outside dev).
    pub apigw_name: Option<String>,
    /// The gateway management API's base URL (`BK_APIGATEWAY_API_STAGE_URL`, or the gateway
    /// URL template for `bk-apigateway` + `/prod`), for that fetch.
    pub apigw_manager_url: Option<String>,
    /// `BKPAAS_APP_TENANT_ID`: sent as `X-Bk-Tenant-Id` to the management API (`system` if
    /// unset).
    pub app_tenant_id: Option<String>,
    /// `BK_PLUGIN_ALLOW_ORPHANS` (`1` or `true`), or `--allow-orphans` on the command line:
    /// start even when the store holds unfinished invocations of versions this binary does
    /// not serve (they fail at their next resume). Off: such a start is refused
    /// ([`StartError::Orphans`](crate::StartError::Orphans)).
    pub allow_orphans: bool,
}

impl Default for Config {
    /// Production rules (`environment` `prod`), listening on `127.0.0.1:8000`, SQLite file
    /// `bk_plugin.db`.
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8000)),
            environment: "prod".into(),
            app_code: None,
            app_secret: None,
            callback_key: None,
            previous_app_secrets: Vec::new(),
            callback_host: String::new(),
            database_url: "sqlite://bk_plugin.db".into(),
            apigw_public_key: None,
            require_exempt: false,
            notify_allow: None,
            body_limit: 10 * 1024 * 1024,
            upload_limit: 32 * 1024 * 1024,
            max_connections: 1024,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            engine: EngineEnv::default(),
            sub_path: None,
            description: None,
            allow_scope: Value::Object(Default::default()),
            apigw_name: None,
            apigw_manager_url: None,
            app_tenant_id: None,
            allow_orphans: false,
        }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::redact::secret;
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("environment", &self.environment)
            .field("app_code", &self.app_code)
            .field("app_secret", &secret(&self.app_secret))
            .field("callback_key", &secret(&self.callback_key))
            .field(
                "previous_app_secrets",
                &format!("{} secret(s)", self.previous_app_secrets.len()),
            )
            .field("callback_host", &self.callback_host)
            .field(
                "database_url",
                &crate::redact::database_url(&self.database_url),
            )
            .field(
                "apigw_public_key",
                &self.apigw_public_key.as_ref().map(|_| "<PEM>"),
            )
            .field("require_exempt", &self.require_exempt)
            .field("notify_allow", &self.notify_allow)
            .field("body_limit", &self.body_limit)
            .field("upload_limit", &self.upload_limit)
            .field("max_connections", &self.max_connections)
            .field("header_timeout", &self.header_timeout)
            .field("body_timeout", &self.body_timeout)
            .field("engine", &self.engine)
            .field("sub_path", &self.sub_path)
            .field("description", &self.description)
            .field("allow_scope", &self.allow_scope)
            .field("allow_orphans", &self.allow_orphans)
            .finish()
    }
}

/// A positive number of seconds (fractions allowed).
pub(crate) fn positive(name: &'static str, value: &str) -> Result<usize, ConfigError> {
    value
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| ConfigError::Invalid {
            name,
            reason: format!("{value:?} is not a positive integer"),
        })
}

/// A size in bytes.
fn bytes(name: &'static str, value: &str) -> Result<usize, ConfigError> {
    value.parse().map_err(|e| ConfigError::Invalid {
        name,
        reason: format!("{e}"),
    })
}

/// A yes/no setting: `1` or `true`, `0` or `false` (any case); anything else is an error
/// rather than a guess.
pub(crate) fn boolean(name: &'static str, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(ConfigError::Invalid {
            name,
            reason: format!("{value:?}: write 1 or true, 0 or false"),
        }),
    }
}

pub(crate) fn seconds(name: &'static str, value: &str) -> Result<Duration, ConfigError> {
    value
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s > 0.0)
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .ok_or_else(|| ConfigError::Invalid {
            name,
            reason: format!("{value:?} is not a positive number of seconds"),
        })
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Config {
    /// The configuration for local development: [`Config::default`] with `environment`
    /// `dev` (no gateway JWT needed on the loopback listener, the debug page, a dev-only
    /// callback key when no secret is set).
    pub fn dev() -> Config {
        Config {
            environment: "dev".into(),
            ..Config::default()
        }
    }

    /// Reads the configuration from the environment (see each field).
    pub fn from_env() -> Result<Config, ConfigError> {
        Self::from_lookup(var)
    }

    /// Reads the configuration through `get` (for tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let mut c = Config::default();
        if let Some(port) = get("PORT") {
            let port: u16 = port.parse().map_err(|e| ConfigError::Invalid {
                name: "PORT",
                reason: format!("{e}"),
            })?;
            c.listen = SocketAddr::from(([0, 0, 0, 0], port));
        }
        if let Some(listen) = get("BK_PLUGIN_LISTEN") {
            c.listen = listen.parse().map_err(|e| ConfigError::Invalid {
                name: "BK_PLUGIN_LISTEN",
                reason: format!("{e}"),
            })?;
        }
        if let Some(env) = get("BKPAAS_ENVIRONMENT") {
            c.environment = env;
        }
        c.app_code = get("BKPAAS_APP_ID").or_else(|| get("BKPAAS_APP_CODE"));
        c.app_secret = get("BKPAAS_APP_SECRET").or_else(|| get("BK_APP_SECRET"));
        c.callback_key = get("BK_PLUGIN_CALLBACK_KEY");
        c.previous_app_secrets = get("BK_PLUGIN_PREVIOUS_APP_SECRETS")
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let tmpl = get("BK_APIGW_MANAGER_URL_TMPL")
            .or_else(|| get("BK_APIGW_MANAGER_URL_TEMPL"))
            .or_else(|| get("BK_API_URL_TMPL"));
        if let (Some(tmpl), Some(name)) = (tmpl, get("BKPAAS_BK_PLUGIN_APIGW_NAME")) {
            c.callback_host = tmpl.replace("{api_name}", &name);
        }
        if let Some(url) = get("DATABASE_URL").or_else(|| get("BK_PLUGIN_DATABASE_URL")) {
            c.database_url = url;
        } else if let Some(url) = crate::database_env::from_addon(&get) {
            c.database_url = url?;
        } else if !c.is_dev() {
            return Err(ConfigError::NoStore);
        }
        c.apigw_name = get("BKPAAS_BK_PLUGIN_APIGW_NAME");
        c.apigw_manager_url = crate::apigw::management_base(&get);
        c.app_tenant_id = get("BKPAAS_APP_TENANT_ID");
        c.apigw_public_key = match get("BK_APIGW_PUBLIC_KEY") {
            Some(k) => Some(k),
            None => match get("BK_APIGW_PUBLIC_KEY_FILE") {
                Some(path) => {
                    Some(
                        std::fs::read_to_string(&path).map_err(|e| ConfigError::Invalid {
                            name: "BK_APIGW_PUBLIC_KEY_FILE",
                            reason: format!("{path}: {e}"),
                        })?,
                    )
                }
                None => None,
            },
        };
        // Read in stag only, as the Python framework's stag settings.
        c.require_exempt = c.environment == "stag" && get("BK_APIGW_REQUIRE_EXEMPT").is_some();
        c.notify_allow = get("BK_PLUGIN_NOTIFY_ALLOW");
        c.allow_orphans = get("BK_PLUGIN_ALLOW_ORPHANS")
            .map(|v| boolean("BK_PLUGIN_ALLOW_ORPHANS", &v))
            .transpose()?
            .unwrap_or(false);
        if let Some(limit) = get("BK_PLUGIN_BODY_LIMIT") {
            c.body_limit = bytes("BK_PLUGIN_BODY_LIMIT", &limit)?;
        }
        if let Some(limit) = get("BK_PLUGIN_UPLOAD_LIMIT") {
            c.upload_limit = bytes("BK_PLUGIN_UPLOAD_LIMIT", &limit)?;
        }
        if let Some(n) = get("BK_PLUGIN_MAX_CONNECTIONS") {
            c.max_connections = positive("BK_PLUGIN_MAX_CONNECTIONS", &n)?;
        }
        if let Some(s) = get("BK_PLUGIN_HEADER_TIMEOUT") {
            c.header_timeout = seconds("BK_PLUGIN_HEADER_TIMEOUT", &s)?;
        }
        if let Some(s) = get("BK_PLUGIN_BODY_TIMEOUT") {
            c.body_timeout = seconds("BK_PLUGIN_BODY_TIMEOUT", &s)?;
        }
        c.engine = EngineEnv::from_lookup(&get)?;
        // BK PaaS's ingress strips the app's sub-path (and sets X-Script-Name); serving the
        // routes under the preallocated URL's sub-path too keeps them reachable where it
        // does not.
        let preallocated = crate::apigw::preallocated(&get, &c.environment)
            .ok()
            .flatten()
            .and_then(|(_, sub)| sub);
        c.sub_path = get("BK_PLUGIN_SUB_PATH")
            .or(preallocated)
            .map(|p| format!("/{}", p.trim_matches('/')))
            .filter(|p| p != "/");
        c.description = get("BK_PLUGIN_DESCRIPTION");
        if let Some(scope) = get("BK_PLUGIN_ALLOW_SCOPE") {
            c.allow_scope = serde_json::from_str(&scope).map_err(|e| ConfigError::Invalid {
                name: "BK_PLUGIN_ALLOW_SCOPE",
                reason: e.to_string(),
            })?;
        }
        c.validate()?;
        Ok(c)
    }

    /// `true` in the `dev` environment.
    pub fn is_dev(&self) -> bool {
        self.environment == "dev"
    }

    /// Whether gateway-only endpoints (invoke, callback, dispatch, `plugin_api`) are served
    /// without a gateway JWT: in dev on a loopback listener, and in stag with
    /// [`require_exempt`](Config::require_exempt). Never in prod.
    pub fn gateway_exempt(&self) -> bool {
        (self.is_dev() && self.listen.ip().is_loopback())
            || (self.environment == "stag" && self.require_exempt)
    }

    /// Whether callback tokens would be signed with the public dev-only key (dev with no app
    /// secret and no callback key).
    pub fn uses_dev_callback_key(&self) -> bool {
        self.app_secret.is_none() && self.callback_key.is_none()
    }

    /// Whether the server fetches the gateway's public key at startup: outside dev, with no
    /// `apigw_public_key` but the gateway's name and management URL.
    pub fn fetches_public_key(&self) -> bool {
        !self.is_dev()
            && self.apigw_public_key.is_none()
            && self.apigw_name.is_some()
            && self.apigw_manager_url.is_some()
    }

    /// Checks the settings that must hold before serving.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.is_dev() && !self.listen.ip().is_loopback() {
            if self.uses_dev_callback_key() || self.apigw_public_key.is_none() {
                return Err(ConfigError::ExposedDev(self.listen));
            }
        } else if !self.is_dev() && self.uses_dev_callback_key() {
            return Err(ConfigError::Missing("BKPAAS_APP_SECRET"));
        }
        if self.require_exempt && self.environment != "stag" {
            return Err(ConfigError::Invalid {
                name: "BK_APIGW_REQUIRE_EXEMPT",
                reason: format!(
                    "the gateway exemption is honoured in stag only (environment is {:?})",
                    self.environment
                ),
            });
        }
        if !self.gateway_exempt() && self.apigw_public_key.is_none() && !self.fetches_public_key() {
            return Err(ConfigError::Missing("BK_APIGW_PUBLIC_KEY"));
        }
        self.notify_policy()?;
        crate::scope::AllowScope::parse(&self.allow_scope).map_err(|reason| {
            ConfigError::Invalid {
                name: "BK_PLUGIN_ALLOW_SCOPE",
                reason,
            }
        })?;
        Ok(())
    }

    /// Where finish notifications may go: [`notify_allow`](Config::notify_allow), loopback
    /// in dev only.
    pub fn notify_policy(&self) -> Result<bk_plugin_engine::NotifyPolicy, ConfigError> {
        let policy = bk_plugin_engine::NotifyPolicy::new().allow_loopback(self.is_dev());
        match &self.notify_allow {
            None => Ok(policy),
            Some(list) => policy.allow(list).map_err(|reason| ConfigError::Invalid {
                name: "BK_PLUGIN_NOTIFY_ALLOW",
                reason,
            }),
        }
    }
}
