//! [`Management`]: calls of the API gateway's management API (`/api/v2/sync/gateways/{gw}/...`)
//! with apigw-manager's headers, and its error replies turned into [`GatewayError`].

use std::time::Duration;

use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

/// A failed management call.
#[derive(Debug, thiserror::Error)]
pub(crate) enum GatewayError {
    /// The gateway could not be reached or its reply not read.
    #[error("{call}: {message}")]
    Transport {
        /// `METHOD url`.
        call: String,
        /// What failed.
        message: String,
    },
    /// The gateway answered with an error.
    #[error("{call}: HTTP {status}: {message}{hint}")]
    Reply {
        /// `METHOD url`.
        call: String,
        /// The HTTP status.
        status: u16,
        /// The error's code, message and details as the gateway gave them.
        message: String,
        /// What to check, for the errors whose cause is known.
        hint: String,
    },
}

/// The management API of one gateway.
#[derive(Clone)]
pub(crate) struct Management {
    client: Client,
    /// `{base}/api/v2/sync/gateways/{gw}/`.
    root: String,
    gateway: String,
    authorization: String,
    tenant: String,
}

impl std::fmt::Debug for Management {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the authorization header: it holds the app secret.
        f.debug_struct("Management")
            .field("root", &self.root)
            .finish_non_exhaustive()
    }
}

impl Management {
    /// The client for `gateway` at `base` (`.../prod`), authenticating as the app; each call
    /// times out after `timeout`.
    pub(crate) fn new(
        base: &str,
        gateway: &str,
        app_code: &str,
        app_secret: &str,
        tenant: &str,
        timeout: Duration,
    ) -> Result<Management, GatewayError> {
        let client =
            Client::builder()
                .timeout(timeout)
                .build()
                .map_err(|e| GatewayError::Transport {
                    call: "HTTP client".into(),
                    message: e.to_string(),
                })?;
        Ok(Management {
            client,
            root: format!("{base}/api/v2/sync/gateways/{gateway}/"),
            gateway: gateway.to_owned(),
            authorization: json!({
                "bk_app_code": app_code,
                "bk_app_secret": app_secret,
                "access_token": null,
            })
            .to_string(),
            tenant: tenant.to_owned(),
        })
    }

    /// `GET {path}` with `query`; the reply's `data`.
    pub(crate) async fn get(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<Value, GatewayError> {
        self.call(Method::GET, path, query, None).await
    }

    /// `POST {path}` with the JSON `body`; the reply's `data`.
    pub(crate) async fn post(&self, path: &str, body: &Value) -> Result<Value, GatewayError> {
        self.call(Method::POST, path, &[], Some(body)).await
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Value, GatewayError> {
        let url = format!("{}{path}", self.root);
        let call = format!("{method} {url}");
        let mut req = self
            .client
            .request(method, &url)
            .header("X-Bkapi-Authorization", &self.authorization)
            .header("X-Bk-Tenant-Id", &self.tenant);
        if !query.is_empty() {
            req = req.query(query);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let transport = |e: reqwest::Error| GatewayError::Transport {
            call: call.clone(),
            message: e.to_string(),
        };
        let reply = req.send().await.map_err(transport)?;
        let status = reply.status();
        let header = |name: &str| {
            reply
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let gateway_code = header("x-bkapi-error-code");
        let gateway_message = header("x-bkapi-error-message");
        let text = reply.text().await.map_err(transport)?;
        let json: Option<Value> = serde_json::from_str(&text).ok();
        let error = json
            .as_ref()
            .and_then(|j| j.get("error"))
            .filter(|e| !e.is_null());
        if status.is_success() && error.is_none() {
            return Ok(json
                .and_then(|mut j| j.get_mut("data").map(Value::take))
                .unwrap_or(Value::Null));
        }
        let message = match (error, gateway_code, gateway_message) {
            (Some(e), _, _) => describe(e),
            (None, Some(code), message) => {
                format!("gateway error {code}: {}", message.unwrap_or_default())
            }
            (None, None, _) => {
                let t = text.trim();
                if t.is_empty() {
                    status.canonical_reason().unwrap_or("").to_owned()
                } else {
                    t.chars().take(500).collect()
                }
            }
        };
        Err(GatewayError::Reply {
            hint: hint(status, path, &self.gateway),
            call,
            status: status.as_u16(),
            message,
        })
    }
}

/// `{"code", "message", "details", "data"}` of an error reply, as one line.
fn describe(error: &Value) -> String {
    let text = |v: Option<&Value>| match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    let mut out = text(error.get("message"));
    let code = text(error.get("code"));
    if !code.is_empty() {
        out = format!("[{code}] {out}");
    }
    let details = text(error.get("details"));
    if !details.is_empty() && details != "[]" {
        out.push_str(&format!(" (details: {details})"));
    }
    if out.is_empty() {
        error.to_string()
    } else {
        out
    }
}

fn hint(status: StatusCode, path: &str, gateway: &str) -> String {
    match status.as_u16() {
        401 | 403 => format!(
            "\n  hint: the app (BKPAAS_APP_ID / BKPAAS_APP_SECRET) must be a related app of the gateway {gateway}: BK PaaS makes the plugin app one when it creates the plugin's gateway; check BKPAAS_BK_PLUGIN_APIGW_NAME names that gateway"
        ),
        404 if path.is_empty() => format!(
            "\n  hint: the gateway {gateway} does not exist; BK PaaS creates it for a bk-plugin app (BKPAAS_BK_PLUGIN_APIGW_NAME)"
        ),
        400 if path == "stages/" => "\n  hint: the stage's backend comes from BKPAAS_DEFAULT_PREALLOCATED_URLS (host) and BK_APIGW_DEFAULT_TIMEOUT (timeout)".into(),
        _ => String::new(),
    }
}
