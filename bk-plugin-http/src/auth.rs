//! Gateway authentication: `X-Bkapi-JWT` verified with the gateway's RSA public key
//! (protocol.md §2.3). The verified app and user are attached to the request as [`Caller`].

use std::sync::Arc;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

/// Who is calling, from the verified gateway JWT. Available to `plugin_api` handlers as an
/// extension: `Extension(caller): Extension<Caller>`.
///
/// Through `plugin_api_dispatch` the caller (SOPS) names the user in the body. When that name
/// differs from the user the gateway verified, `username` is the named user,
/// `user_verified` is `false` and [`gateway_username`](Caller::gateway_username) keeps the
/// verified one: only trust `username` for access decisions when `user_verified` is `true`.
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Caller {
    /// The calling app (`app.bk_app_code` / `app.app_code`), when the JWT verified it.
    pub app_code: Option<String>,
    /// The user (`user.username`), verified or not.
    pub username: Option<String>,
    /// Whether the gateway verified the user.
    pub user_verified: bool,
    /// The raw `X-Bkapi-JWT`, to forward to other BlueKing APIs.
    pub jwt: Option<String>,
    /// The user named in the gateway JWT, when `plugin_api_dispatch` replaced `username`
    /// with another name (`None` otherwise).
    pub gateway_username: Option<String>,
    /// This app's code and secret, for [`bkapi_authorization`](Caller::bkapi_authorization)
    /// (shared by every request's caller).
    app_credentials: Option<Arc<AppCredentials>>,
}

/// This app's code and secret (`Config::app_code`, `Config::app_secret`); `Debug` hides the
/// secret.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct AppCredentials {
    pub(crate) code: String,
    pub(crate) secret: String,
}

impl std::fmt::Debug for AppCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppCredentials")
            .field("code", &self.code)
            .field("secret", &"***")
            .finish()
    }
}

impl std::fmt::Debug for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caller")
            .field("app_code", &self.app_code)
            .field("username", &self.username)
            .field("user_verified", &self.user_verified)
            .field("gateway_username", &self.gateway_username)
            .field("jwt", &self.jwt.as_ref().map(|_| ".."))
            .finish_non_exhaustive()
    }
}

impl Caller {
    /// This caller acting for `username` (`plugin_api_dispatch`): a different name than the
    /// verified one is unverified.
    pub(crate) fn acting_for(mut self, username: &str) -> Self {
        if self.username.as_deref() != Some(username) {
            self.gateway_username = self.username.take();
            self.user_verified = false;
            self.username = Some(username.to_owned());
        }
        self
    }

    pub(crate) fn with_app_credentials(mut self, credentials: Arc<AppCredentials>) -> Self {
        self.app_credentials = Some(credentials);
        self
    }

    /// The `X-Bkapi-Authorization` header value for calling other BlueKing APIs on behalf of
    /// this caller, as the Python framework's `get_bkapi_authorization_info`:
    /// `{"bk_app_code", "bk_app_secret", "jwt"}`.
    pub fn bkapi_authorization(&self) -> String {
        let AppCredentials { code, secret } =
            self.app_credentials.as_deref().cloned().unwrap_or_default();
        serde_json::json!({
            "bk_app_code": code,
            "bk_app_secret": secret,
            "jwt": self.jwt.clone().unwrap_or_default(),
        })
        .to_string()
    }
}

/// Verifies gateway JWTs.
#[derive(Clone)]
pub(crate) struct JwtVerifier {
    key: DecodingKey,
}

impl std::fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwtVerifier(..)")
    }
}

impl JwtVerifier {
    pub(crate) fn from_pem(pem: &str) -> Result<Self, String> {
        DecodingKey::from_rsa_pem(pem.as_bytes())
            .map(|key| JwtVerifier { key })
            .map_err(|e| format!("the API gateway public key is not an RSA PEM key: {e}"))
    }

    /// The caller, if `token` is a valid gateway JWT (signature, RSA algorithm, expiry);
    /// else whether it failed on its signature alone (the key may have been rotated).
    pub(crate) fn check(&self, token: &str) -> Result<Caller, Rejected> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| Rejected::Invalid)?;
        if !matches!(
            header.alg,
            Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::PS256
                | Algorithm::PS384
                | Algorithm::PS512
        ) {
            return Err(Rejected::Invalid);
        }
        let mut validation = Validation::new(header.alg);
        validation.validate_aud = false;
        // A token is not accepted before its `nbf` (as after its `exp`).
        validation.validate_nbf = true;
        let data =
            jsonwebtoken::decode::<Value>(token, &self.key, &validation).map_err(|e| {
                match e.kind() {
                    jsonwebtoken::errors::ErrorKind::InvalidSignature => Rejected::Signature,
                    _ => Rejected::Invalid,
                }
            })?;
        let claims = data.claims;
        let app = claims.get("app");
        let app_verified = app
            .and_then(|a| a.get("verified"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let app_code = app
            .and_then(|a| a.get("bk_app_code").or_else(|| a.get("app_code")))
            .and_then(Value::as_str)
            .filter(|_| app_verified)
            .map(str::to_owned);
        let user = claims.get("user");
        let username = user
            .and_then(|u| u.get("username").or_else(|| u.get("bk_username")))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let user_verified = user
            .and_then(|u| u.get("verified"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        Ok(Caller {
            app_code,
            username,
            user_verified,
            jwt: Some(token.to_owned()),
            gateway_username: None,
            app_credentials: None,
        })
    }
}

/// Why a token was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rejected {
    /// Its signature does not verify with the key.
    Signature,
    /// Anything else: malformed, wrong algorithm, expired.
    Invalid,
}
